/**
 * Tenant-owned resources end to end, through the official client: `@google/genai` in Developer API mode (and Vertex
 * mode below) against the gateway, the emulator standing in for Vertex AI and its Cloud Storage. Two tenants: what
 * acme makes, globex can neither see, use, continue nor delete (404, as if absent).
 */
import { randomBytes } from "node:crypto";
import { ApiError, type GoogleGenAI } from "@google/genai";
import { Storage } from "@google-cloud/storage";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { sha256Hex } from "../../service/src/config/tenants.js";
import { developerClient, postJson, startStack, vertexClient, type Stack } from "../support/stack.js";

const ADMIN_KEY = `admin_${randomBytes(16).toString("hex")}`;
const MODEL = "gemini-2.5-flash";
const LONG = "The tide pool holds anemones, crabs and small fish. ".repeat(180); // ~2,300 tokens
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    env: { GATEWAY_ADMIN_KEY_SHA256: sha256Hex(ADMIN_KEY) },
    emulator: { resources: { batchStepMs: 30, backgroundMs: 30 } },
    tenants: [{ id: "globex", models: ["*"] }],
  });
});
afterAll(() => stack.close());
beforeEach(() => stack.emulator.reset());

const status = (p: Promise<unknown>) =>
  p.then(
    () => 200,
    (e: unknown) => (e instanceof ApiError ? e.status : ((e as { status?: number }).status ?? -1)),
  );

async function usage(): Promise<Record<string, { kinds: Record<string, { usd: number; storageUsd?: number }> }>> {
  const res = await fetch(`${stack.gateway.url}/admin/usage`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  return ((await res.json()) as { tenants: never }).tenants;
}

async function settle<T>(read: () => Promise<T>, done: (t: T) => boolean, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const t = await read();
    if (done(t) || Date.now() > until) return t;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.each([
  ["Developer API mode", developerClient],
  ["Vertex mode", vertexClient],
] as const)("@google/genai in %s", (_mode, makeClient) => {
  const acme = () => makeClient(stack.gateway.url, stack.keys.acme) as GoogleGenAI;
  const globex = () => makeClient(stack.gateway.url, stack.keys.globex!) as GoogleGenAI;

  it("context caches: generate reports cached tokens; another tenant cannot get, list, use or delete one", async () => {
    const cache = await acme().caches.create({ model: MODEL, config: { contents: LONG, ttl: "600s" } });
    expect(cache.name).toMatch(/cachedContents\/\d+$/);
    expect(cache.name).not.toContain("emulator-project"); // the gateway's own project never shows
    const tokens = cache.usageMetadata!.totalTokenCount!;
    const res = await acme().models.generateContent({
      model: MODEL,
      contents: "What lives there?",
      config: { cachedContent: cache.name! },
    });
    expect(res.usageMetadata?.cachedContentTokenCount).toBe(tokens);
    expect((await acme().caches.get({ name: cache.name! })).name).toBe(cache.name);
    const mine = [];
    for await (const c of await acme().caches.list()) mine.push(c.name);
    expect(mine).toContain(cache.name);

    expect(await status(globex().caches.get({ name: cache.name! }))).toBe(404);
    const theirs = [];
    for await (const c of await globex().caches.list()) theirs.push(c.name);
    expect(theirs).not.toContain(cache.name);
    const before = stack.emulator.stats().requests.total;
    expect(
      await status(
        globex().models.generateContent({ model: MODEL, contents: "x", config: { cachedContent: cache.name! } }),
      ),
    ).toBe(404);
    expect(await status(globex().caches.update({ name: cache.name!, config: { ttl: "60s" } }))).toBe(404);
    expect(await status(globex().caches.delete({ name: cache.name! }))).toBe(404);
    expect(stack.emulator.stats().requests.total).toBe(before); // refused before any upstream call

    const updated = await acme().caches.update({ name: cache.name!, config: { ttl: "1200s" } });
    expect(Date.parse(updated.expireTime!)).toBeGreaterThan(Date.parse(cache.expireTime!));
    await acme().caches.delete({ name: cache.name! });
    expect(await status(acme().caches.get({ name: cache.name! }))).toBe(404);
  });

  it("a cache under the model's minimum is a 400 naming both sizes, and nothing is created", async () => {
    const err = await acme()
      .caches.create({ model: MODEL, config: { contents: "too short" } })
      .catch((e: ApiError) => e);
    expect((err as ApiError).status).toBe(400);
    expect((err as ApiError).message).toMatch(/3 tokens; gemini-2.5-flash caches at least 2048 tokens/);
  });

  it("interactions: create, continue with previous_interaction_id, stream; another tenant cannot get or continue", async () => {
    const first = await acme().interactions.create({ model: MODEL, input: "Name a tide pool animal." });
    expect(first.status).toBe("completed");
    expect(first.output_text).toBeTruthy();
    const second = await acme().interactions.create({
      model: MODEL,
      input: "And another?",
      previous_interaction_id: first.id,
    });
    expect(second.usage!.total_input_tokens!).toBeGreaterThan(first.usage!.total_input_tokens!);
    const events = [];
    for await (const e of await acme().interactions.create({ model: MODEL, input: "Stream it.", stream: true })) {
      events.push(e);
    }
    expect(events.at(-1)).toMatchObject({ event_type: "interaction.completed" });
    const id = (events[0] as { interaction: { id: string } }).interaction.id;
    expect((await acme().interactions.get(id)).status).toBe("completed");

    expect(await status(globex().interactions.get(first.id))).toBe(404);
    expect(
      await status(globex().interactions.create({ model: MODEL, input: "Hijack.", previous_interaction_id: first.id })),
    ).toBe(404);
    expect(await status(globex().interactions.delete(first.id))).toBe(404);
    await acme().interactions.delete(first.id);
    expect(await status(acme().interactions.get(first.id))).toBe(404);
    // store: false leaves nothing behind
    const unstored = await acme().interactions.create({ model: MODEL, input: "Forget me.", store: false });
    expect(await status(acme().interactions.get(unstored.id))).toBe(404);
  });
});

describe("batch jobs", () => {
  it("Batch API (Developer mode): 3 inline requests reach SUCCEEDED with 3 responses; another tenant cannot see it", async () => {
    const ai = developerClient(stack.gateway.url, stack.keys.acme);
    const job = await ai.batches.create({
      model: MODEL,
      src: ["one", "two", "three"].map((t) => ({ contents: [{ role: "user", parts: [{ text: `Say ${t}.` }] }] })),
      config: { displayName: "three" },
    });
    expect(job.name).toMatch(/^batches\/\d+$/);
    expect(job.state).toBe("JOB_STATE_PENDING");
    const done = await settle(
      () => ai.batches.get({ name: job.name! }),
      (j) => j.state === "JOB_STATE_SUCCEEDED" || j.state === "JOB_STATE_FAILED",
    );
    expect(done.state).toBe("JOB_STATE_SUCCEEDED");
    const responses = done.dest?.inlinedResponses ?? [];
    expect(responses).toHaveLength(3);
    expect(responses.every((r) => r.response?.candidates?.[0]?.content?.parts?.[0]?.text)).toBe(true);
    const other = developerClient(stack.gateway.url, stack.keys.globex!);
    expect(await status(other.batches.get({ name: job.name! }))).toBe(404);
    const listed = [];
    for await (const j of await other.batches.list()) listed.push(j.name);
    expect(listed).not.toContain(job.name);
    expect(await status(other.batches.delete({ name: job.name! }))).toBe(404);
    // The requests were staged as JSONL in the bucket under the tenant's prefix, with attribution labels.
    const staged = stack.emulator.objects("gateway-batch", "tenants/acme/batches/");
    const input = staged.find((o) => o.name.endsWith("input.jsonl"))!;
    expect(JSON.parse(input.data.toString().split("\n")[0]!).request.labels).toMatchObject({
      "gateway-tenant": "acme",
    });
    await ai.batches.delete({ name: job.name! });
    expect(await status(ai.batches.get({ name: job.name! }))).toBe(404);
  });

  it("Vertex batch prediction: 3 requests in a JSONL file in the tenant's prefix reach SUCCEEDED with 3 predictions; another tenant cannot get, list, cancel or delete the job", async () => {
    // Vertex takes no inline requests (the SDK refuses them in Vertex mode): the same 3 requests, as a JSONL file.
    const storage = new Storage({ apiEndpoint: stack.emulator.url, projectId: "p" });
    const lines = ["one", "two", "three"].map((t) =>
      JSON.stringify({ request: { contents: [{ role: "user", parts: [{ text: `Say ${t}.` }] }] } }),
    );
    await storage.bucket("gateway-batch").file("tenants/acme/in.jsonl").save(lines.join("\n"), { resumable: false });
    const ai = vertexClient(stack.gateway.url, stack.keys.acme);
    const job = await ai.batches.create({ model: MODEL, src: "gs://gateway-batch/tenants/acme/in.jsonl" });
    expect(job.name).toMatch(/^projects\/client-side-project\/locations\/us-central1\/batchPredictionJobs\/\d+$/);
    const done = await settle(
      () => ai.batches.get({ name: job.name! }),
      (j) => j.state === "JOB_STATE_SUCCEEDED" || j.state === "JOB_STATE_FAILED",
    );
    expect(done.state).toBe("JOB_STATE_SUCCEEDED");
    expect(done.completionStats).toMatchObject({ successfulCount: "3" });
    // The predictions: written under the tenant's prefix, one answered line per request.
    const out = done.outputInfo!.gcsOutputDirectory!;
    expect(out).toMatch(/^gs:\/\/gateway-batch\/tenants\/acme\/batches\/[^/]+\/output\//);
    const written = stack.emulator
      .objects("gateway-batch", out.replace("gs://gateway-batch/", ""))
      .filter((o) => o.name.endsWith("predictions.jsonl"));
    expect(written).toHaveLength(1);
    const predictions = written[0]!.data
      .toString()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { response?: { candidates?: { content?: { parts?: { text?: string }[] } }[] } });
    expect(predictions).toHaveLength(3);
    expect(predictions.every((p) => p.response?.candidates?.[0]?.content?.parts?.[0]?.text)).toBe(true);

    // globex: as if the job did not exist — get, cancel and delete 404, absent from its list.
    const other = vertexClient(stack.gateway.url, stack.keys.globex!);
    const upstreamCalls = stack.emulator.stats().requests.total;
    expect(await status(other.batches.get({ name: job.name! }))).toBe(404);
    expect(await status(other.batches.cancel({ name: job.name! }))).toBe(404);
    expect(await status(other.batches.delete({ name: job.name! }))).toBe(404);
    expect(stack.emulator.stats().requests.total).toBe(upstreamCalls); // refused before any upstream call
    const listed = [];
    for await (const j of await other.batches.list()) listed.push(j.name);
    expect(listed).not.toContain(job.name);
    const own = [];
    for await (const j of await ai.batches.list()) own.push(j.name);
    expect(own).toContain(job.name);
    // Another tenant may not point a job at acme's files in the gateway's bucket either.
    const theirs = await other.batches
      .create({ model: MODEL, src: "gs://gateway-batch/tenants/acme/in.jsonl" })
      .catch((e: ApiError) => e);
    expect((theirs as ApiError).status).toBe(400);

    // Nothing globex did touched it: acme still reads it, then deletes it.
    expect((await ai.batches.get({ name: job.name! })).state).toBe("JOB_STATE_SUCCEEDED");
    await ai.batches.delete({ name: job.name! });
    expect(await status(ai.batches.get({ name: job.name! }))).toBe(404);
  });
});

describe("interactions are metered like model calls", () => {
  const audit = () =>
    stack.logs
      .filter((l) => l.includes('"gateway-audit"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r) => String(r.method).startsWith("interactions."));

  it("an audit record with usage and cost per interaction; a cut stream is charged what was relayed", async () => {
    const ai = developerClient(stack.gateway.url, stack.keys.acme);
    const whole = await ai.interactions.create({ model: MODEL, input: "Count the crabs." });
    const record = audit().at(-1)!;
    expect(record).toMatchObject({
      tenant: "acme",
      model: MODEL,
      method: "interactions.create",
      httpRequest: { status: 200 },
    });
    expect(record.tokens).toMatchObject({ output: whole.usage!.total_output_tokens });
    expect(record.costUsd).toBeGreaterThan(0);

    stack.emulator.configure({ streamBreakAfterChunks: 4 }); // created, start, two deltas, then the connection dies
    try {
      const res = await postJson(
        `${stack.gateway.url}/v1beta/interactions`,
        { model: MODEL, input: "Count the crabs, streamed.", stream: true },
        { "x-goog-api-key": stack.keys.acme },
      );
      expect(res.status).toBe(200);
      expect(res.text).toContain('"event_type":"error"');
    } finally {
      stack.emulator.configure({ streamBreakAfterChunks: null });
    }
    const cut = await settle(
      async () => audit().at(-1)!,
      (r) => r.method === "interactions.stream",
    );
    expect(cut).toMatchObject({ method: "interactions.stream", usageEstimated: true });
    expect((cut.tokens as { output: number }).output).toBe(16); // two deltas of 8 words, 1 token each
  });
});

describe("/admin/usage", () => {
  it("shows the cache, interaction and batch spend per tenant, cache storage apart", async () => {
    // A cache kept for an hour: its storage (tokens × 1 h × $1 per 1M tokens per hour) is charged at creation; the
    // caches above were deleted, and their unused storage refunded.
    await developerClient(stack.gateway.url, stack.keys.acme).caches.create({
      model: MODEL,
      config: { contents: LONG, ttl: "3600s" },
    });
    const kinds = (await settle(usage, (u) => Object.keys(u.acme?.kinds ?? {}).length === 3)).acme!.kinds;
    expect(kinds.cache!.usd).toBeGreaterThan(0);
    expect(kinds.cache!.storageUsd).toBeCloseTo((Math.ceil(LONG.length / 4) * 1) / 1e6, 5);
    expect(kinds.interaction!.usd).toBeGreaterThan(0);
    expect(kinds.batch!.usd).toBeGreaterThan(0);
  });
});

describe("wire", () => {
  it("answers 405 for a verb a resource does not take, and 401 without a key", async () => {
    const res = await postJson(`${stack.gateway.url}/v1beta/batches`, {}, { "x-goog-api-key": stack.keys.acme });
    expect(res.status).toBe(405);
    const anon = await fetch(`${stack.gateway.url}/v1beta/cachedContents`);
    expect(anon.status).toBe(401);
  });
});
