/**
 * The emulator's tenant-owned resources on a Vertex location — context caches, interactions, batch prediction jobs —
 * and the Cloud Storage JSON API they use, exercised with the real clients: `@google/genai` in Vertex mode and
 * `@google-cloud/storage`.
 */
import { Storage } from "@google-cloud/storage";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../service/src/emulator/server.js";
import { vertexClient } from "../support/stack.js";

let emulator: RunningEmulator;
let storage: Storage;
const BUCKET = "ggw-test-batch";
const LONG = "The tide pool holds anemones, crabs and small fish. ".repeat(180); // ~2,300 tokens (text / 4)
const base = () => `${emulator.url}/v1beta1/projects/p/locations/us-central1`;
const auth = { authorization: "Bearer t", "content-type": "application/json" };

beforeAll(async () => {
  emulator = await startEmulator({ settings: { resources: { batchStepMs: 0, backgroundMs: 0 } } });
  storage = new Storage({ apiEndpoint: emulator.url, projectId: "p" });
});
afterAll(() => emulator.close());
beforeEach(() => {
  emulator.configure({
    resources: { batchStepMs: 0, backgroundMs: 0, batchOutcome: "succeeded" },
    streamBreakAfterChunks: null,
  });
  emulator.resetResources();
});

describe("Cloud Storage JSON API, through @google-cloud/storage", () => {
  it("saves (multipart and resumable), reads, lists, deletes and answers 404 for what is not there", async () => {
    const bucket = storage.bucket(BUCKET);
    await bucket.file("a/in.jsonl").save('{"x":1}\n', { resumable: false, contentType: "application/jsonl" });
    await bucket.file("a/big.jsonl").save(Buffer.alloc(300_000, 97), { resumable: true });
    const [data] = await bucket.file("a/in.jsonl").download();
    expect(data.toString()).toBe('{"x":1}\n');
    expect((await bucket.file("a/big.jsonl").download())[0].length).toBe(300_000);
    const [meta] = await bucket.file("a/in.jsonl").getMetadata();
    expect(meta).toMatchObject({ name: "a/in.jsonl", size: "8", contentType: "application/jsonl" });
    const [files] = await bucket.getFiles({ prefix: "a/" });
    expect(files.map((f) => f.name)).toEqual(["a/big.jsonl", "a/in.jsonl"]);
    await bucket.file("a/in.jsonl").delete();
    expect((await bucket.file("a/in.jsonl").exists())[0]).toBe(false);
    await expect(bucket.file("a/missing").download()).rejects.toMatchObject({ code: 404 });
  });
});

describe("context caches", () => {
  it("create, get, list, patch, delete; a generate call that uses one reports cachedContentTokenCount", async () => {
    const ai = vertexClient(emulator.url, "t");
    const cache = await ai.caches.create({
      model: "gemini-2.5-flash",
      config: { contents: [{ role: "user", parts: [{ text: LONG }] }], ttl: "600s", displayName: "pools" },
    });
    expect(cache.name).toMatch(/^projects\/client-side-project\/locations\/us-central1\/cachedContents\/\d+$/);
    const tokens = cache.usageMetadata!.totalTokenCount!;
    expect(tokens).toBe(Math.ceil(LONG.length / 4));
    expect((await ai.caches.get({ name: cache.name! })).displayName).toBe("pools");
    const listed = [];
    for await (const c of await ai.caches.list()) listed.push(c.name);
    expect(listed).toEqual([cache.name]);
    const res = await ai.models.generateContent({
      model: "gemini-2.5-flash",
      contents: "What lives there?",
      config: { cachedContent: cache.name! },
    });
    expect(res.usageMetadata?.cachedContentTokenCount).toBe(tokens);
    expect(res.usageMetadata?.promptTokenCount).toBe(tokens + Math.ceil("What lives there?".length / 4));
    const later = Date.parse((await ai.caches.update({ name: cache.name!, config: { ttl: "7200s" } })).expireTime!);
    expect(later).toBeGreaterThan(Date.parse(cache.expireTime!));
    await ai.caches.delete({ name: cache.name! });
    await expect(ai.caches.get({ name: cache.name! })).rejects.toMatchObject({ status: 404 });
  });

  it("refuses a cache under 2,048 tokens, another model's use, and a request with its own system instruction", async () => {
    const small = await fetch(`${base()}/cachedContents`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({
        model: "publishers/google/models/gemini-2.5-flash",
        contents: [{ parts: [{ text: "hi" }] }],
      }),
    });
    expect(small.status).toBe(400);
    expect(await small.text()).toContain("min_total_token_count=2048");
    const ai = vertexClient(emulator.url, "t");
    const cache = await ai.caches.create({ model: "gemini-2.5-flash", config: { contents: LONG } });
    await expect(
      ai.models.generateContent({ model: "gemini-2.5-pro", contents: "x", config: { cachedContent: cache.name! } }),
    ).rejects.toMatchObject({ status: 400 });
    await expect(
      ai.models.generateContent({
        model: "gemini-2.5-flash",
        contents: "x",
        config: { cachedContent: cache.name!, systemInstruction: "be brief" },
      }),
    ).rejects.toMatchObject({ status: 400 });
  });
});

describe("interactions", () => {
  it("creates, chains with previous_interaction_id, streams with event ids, resumes, cancels and deletes", async () => {
    const ai = vertexClient(emulator.url, "t");
    const first = await ai.interactions.create({ model: "gemini-2.5-flash", input: "Name a tide pool animal." });
    expect(first.status).toBe("completed");
    expect(first.output_text).toBeTruthy();
    expect(first.usage?.total_output_tokens).toBe(48);
    const second = await ai.interactions.create({
      model: "gemini-2.5-flash",
      input: "And another?",
      previous_interaction_id: first.id,
    });
    expect(second.usage!.total_input_tokens!).toBeGreaterThan(first.usage!.total_input_tokens!); // the chain is context
    const events = [];
    for await (const e of await ai.interactions.create({
      model: "gemini-2.5-flash",
      input: "Stream it.",
      stream: true,
    })) {
      events.push(e);
    }
    expect(events[0]).toMatchObject({ event_type: "interaction.created" });
    expect(events.at(-1)).toMatchObject({ event_type: "interaction.completed", interaction: { status: "completed" } });
    const id = (events[0] as { interaction: { id: string } }).interaction.id;
    const resumed = [];
    const from = (events[2] as { event_id: string }).event_id;
    for await (const e of await ai.interactions.get(id, { stream: true, last_event_id: from })) resumed.push(e);
    expect(resumed).toEqual(events.slice(3));
    emulator.configure({ resources: { backgroundMs: 60_000 } });
    const bg = await ai.interactions.create({ model: "gemini-2.5-flash", input: "Later.", background: true });
    expect(bg.status).toBe("in_progress");
    expect((await ai.interactions.cancel(bg.id)).status).toBe("cancelled");
    await ai.interactions.delete(first.id);
    await expect(ai.interactions.get(first.id)).rejects.toMatchObject({ status: 404 });
    const unstored = await ai.interactions.create({ model: "gemini-2.5-flash", input: "Forget me.", store: false });
    await expect(ai.interactions.get(unstored.id)).rejects.toMatchObject({ status: 404 });
  });
});

describe("batch prediction jobs", () => {
  const lines = ["one", "two", "three"].map((t, i) =>
    JSON.stringify({ key: `k${i}`, request: { contents: [{ role: "user", parts: [{ text: t }] }] } }),
  );

  it("reads the JSONL input from Cloud Storage and writes one output line per request, through to SUCCEEDED", async () => {
    await storage.bucket(BUCKET).file("t/in.jsonl").save(lines.join("\n"), { resumable: false });
    emulator.configure({ resources: { batchStepMs: 40 } });
    const ai = vertexClient(emulator.url, "t");
    const job = await ai.batches.create({
      model: "gemini-2.5-flash",
      src: `gs://${BUCKET}/t/in.jsonl`,
      config: { dest: `gs://${BUCKET}/t/out` },
    });
    expect(job.state).toBe("JOB_STATE_QUEUED");
    const seen = new Set<string>();
    let state = job.state as string;
    while (!["JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED"].includes(state)) {
      await new Promise((r) => setTimeout(r, 15));
      state = (await ai.batches.get({ name: job.name! })).state as string;
      seen.add(state);
    }
    expect([...seen]).toEqual(expect.arrayContaining(["JOB_STATE_RUNNING", "JOB_STATE_SUCCEEDED"]));
    const done = await ai.batches.get({ name: job.name! });
    expect(done.completionStats).toMatchObject({ successfulCount: "3", failedCount: "0" });
    const [files] = await storage.bucket(BUCKET).getFiles({ prefix: "t/out/" });
    expect(files).toHaveLength(1);
    const out = (await files[0]!.download())[0]
      .toString()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(out.map((l) => l.key)).toEqual(["k0", "k1", "k2"]);
    expect(out[0].response.usageMetadata.candidatesTokenCount).toBe(48);
  });

  it("fails on request, cancels, and deletes", async () => {
    await storage.bucket(BUCKET).file("t/in.jsonl").save(lines.join("\n"), { resumable: false });
    const ai = vertexClient(emulator.url, "t");
    emulator.configure({ resources: { batchOutcome: "failed" } });
    const failed = await ai.batches.create({
      model: "gemini-2.5-flash",
      src: `gs://${BUCKET}/t/in.jsonl`,
      config: { dest: `gs://${BUCKET}/t/f` },
    });
    expect((await ai.batches.get({ name: failed.name! })).state).toBe("JOB_STATE_FAILED");
    emulator.configure({ resources: { batchOutcome: "partial" } });
    const partial = await ai.batches.create({
      model: "gemini-2.5-flash",
      src: `gs://${BUCKET}/t/in.jsonl`,
      config: { dest: `gs://${BUCKET}/t/p` },
    });
    expect((await ai.batches.get({ name: partial.name! })).state).toBe("JOB_STATE_PARTIALLY_SUCCEEDED");
    emulator.configure({ resources: { batchStepMs: 60_000, batchOutcome: "succeeded" } });
    const slow = await ai.batches.create({
      model: "gemini-2.5-flash",
      src: `gs://${BUCKET}/t/in.jsonl`,
      config: { dest: `gs://${BUCKET}/t/s` },
    });
    await ai.batches.cancel({ name: slow.name! });
    expect((await ai.batches.get({ name: slow.name! })).state).toBe("JOB_STATE_CANCELLED");
    await ai.batches.delete({ name: slow.name! });
    await expect(ai.batches.get({ name: slow.name! })).rejects.toMatchObject({ status: 404 });
  });
});
