// Prompt templates end to end (docs/prompts.md): the repository's example prompts (prompts/) served by a real gateway
// calling a real emulator — rendering, variables refused by name, versions and labels (moved without a restart),
// experiments (sticky variants, forced variants, feedback, the admin report), the OpenAI surface, the audit record and
// metrics without content, and the reviewed answer of a critical prompt when every upstream is down.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { sha256Hex } from "../../service/src/config/tenants.js";
import { postJson, startStack, type Stack } from "../support/stack.js";

const ADMIN_KEY = "prompts-admin-key";
let stack: Stack;
let base: string;

beforeAll(async () => {
  stack = await startStack({
    env: { GATEWAY_PROMPTS_DIR: "prompts", GATEWAY_ADMIN_KEY_SHA256: sha256Hex(ADMIN_KEY) },
    tenants: [{ id: "other", models: ["*"], features: ["support-chat"] }],
  });
  base = stack.gateway.url;
});
afterAll(() => stack.close());
beforeEach(() => {
  stack.emulator.configure({ errors: null });
});

const key = (tenant = "acme") => ({ "x-goog-api-key": stack.keys[tenant]! });
const admin = { authorization: `Bearer ${ADMIN_KEY}` };
const call = (ref: string, variables: unknown, headers: Record<string, string> = {}, method = "generateContent") =>
  postJson(`${base}/v1beta/prompts/${ref}:${method}`, { variables }, { ...key(), ...headers });
const textOf = (json: unknown) =>
  ((json as { candidates: { content: { parts: { text: string }[] } }[] }).candidates[0]!.content.parts ?? [])
    .map((p) => p.text)
    .join("");
const auditRecords = () =>
  stack.logs
    .filter((l) => l.includes('"gateway-audit"'))
    .map((l) => JSON.parse(l) as Record<string, unknown> & { requestId: string });
const upstreamBodies = () =>
  stack.emulator
    .requests()
    .filter((r) => r.path.includes(":generateContent") || r.path.includes(":streamGenerateContent"))
    .map((r) => JSON.parse(r.body) as Record<string, unknown>);

describe("prompt calls", () => {
  it("render the template, run it on the variant's model, and say which prompt, version and variant answered", async () => {
    const res = await call(
      "support-answer",
      { question: "How long do I have to return my boots?" },
      { "x-gateway-subject": "user-1" },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("x-gateway-prompt")).toBe("support-answer");
    expect(res.headers.get("x-gateway-prompt-version")).toBe("1");
    expect(res.headers.get("x-gateway-experiment")).toBe("support-answer-lite");
    expect(["control", "flash-lite", "holdout"]).toContain(res.headers.get("x-gateway-prompt-variant"));
    expect(textOf(res.json)).toBe("Unused items can be returned within 30 days of delivery for a full refund.");
    const sent = upstreamBodies().at(-1)!;
    expect(sent.contents).toEqual([
      { role: "user", parts: [{ text: "Customer question: How long do I have to return my boots?" }] },
    ]);
    expect(JSON.stringify(sent.systemInstruction)).toContain("Write in a friendly tone.");
    expect(sent.generationConfig).toMatchObject({ temperature: 0, maxOutputTokens: 256 });
  });

  it("are sticky per subject: the same subject always gets the same variant, different subjects spread", async () => {
    const variantOf = async (subject: string) =>
      (
        await call("support-answer", { question: "Can I pay with PayPal?" }, { "x-gateway-subject": subject })
      ).headers.get("x-gateway-prompt-variant");
    const first = await variantOf("sticky-user");
    for (let i = 0; i < 3; i++) expect(await variantOf("sticky-user")).toBe(first);
    const seen = new Set<string | null>();
    for (let i = 0; i < 30; i++) seen.add(await variantOf(`spread-${i}`));
    expect(seen.has("control") && seen.has("flash-lite")).toBe(true);
  });

  it("pinned to a version or a label, outside the experiment", async () => {
    const pinned = await call("support-answer@2", { question: "Do gift cards expire?" });
    expect(pinned.status).toBe(200);
    expect(pinned.headers.get("x-gateway-prompt-version")).toBe("2");
    expect(pinned.headers.get("x-gateway-prompt-variant")).toBe("v2");
    expect(pinned.headers.get("x-gateway-experiment")).toBeNull();
    expect(textOf(pinned.json)).toBe("Gift cards never expire.");
    const staging = await call("support-answer@staging", { question: "Do gift cards expire?" });
    expect(staging.headers.get("x-gateway-prompt-version")).toBe("2");
    expect((await call("support-answer@9", { question: "x" })).status).toBe(404);
    expect((await call("support-answer@nope", { question: "x" })).status).toBe(404);
    expect((await call("no-such-prompt", { question: "x" })).status).toBe(404);
  });

  it("refuse bad variables with a 400 naming each one", async () => {
    const res = await call("support-answer", { tone: 5, colour: "blue" });
    expect(res.status).toBe(400);
    const error = (res.json as { error: { message: string; details: { fieldViolations: { field: string }[] }[] } })
      .error;
    expect(error.message).toContain("variables.question is missing");
    expect(error.message).toContain("variables.tone must be a string, got a number");
    expect(error.message).toContain("variables.colour is not a variable of support-answer@1");
    expect(error.details[0]!.fieldViolations.map((v) => v.field).sort()).toEqual([
      "variables.colour",
      "variables.question",
      "variables.tone",
    ]);
    const enumBad = await call("support-answer", { question: "q", tone: "sarcastic" });
    expect((enumBad.json as { error: { message: string } }).error.message).toContain(
      "variables.tone must be one of friendly, formal",
    );
    const extraField = await postJson(
      `${base}/v1beta/prompts/support-answer:generateContent`,
      { variables: { question: "q" }, contents: [] },
      key(),
    );
    expect(extraField.status).toBe(400);
  });

  it("insert a value as text: placeholders inside a value are not expanded", async () => {
    await call("support-answer@1", { question: "{{tone}} and }} and {{question}}" });
    const sent = upstreamBodies().at(-1)!;
    expect(sent.contents).toEqual([
      { role: "user", parts: [{ text: "Customer question: {{tone}} and }} and {{question}}" }] },
    ]);
  });

  it("stream like any Gemini stream (SSE), with the same headers", async () => {
    const res = await fetch(`${base}/v1beta/prompts/support-answer@1:streamGenerateContent?alt=sse`, {
      method: "POST",
      headers: { ...key(), "content-type": "application/json" },
      body: JSON.stringify({ variables: { question: "How long does express shipping take?" } }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    expect(res.headers.get("x-gateway-prompt-version")).toBe("1");
    const text = (await res.text())
      .split("\r\n\r\n")
      .filter((e) => e.startsWith("data: "))
      .map((e) => textOf(JSON.parse(e.slice(6))))
      .join("");
    expect(text).toBe("Standard shipping takes 3 to 5 business days and express shipping takes 1 to 2 business days.");
  });

  it("on the OpenAI surface as model prompt:{ref}, with variables beside it", async () => {
    const res = await postJson(
      `${base}/v1beta/openai/chat/completions`,
      { model: "prompt:support-answer@1", variables: { question: "Can I pay with PayPal?" }, messages: [] },
      { authorization: `Bearer ${stack.keys.acme}` },
    );
    expect(res.status).toBe(200);
    const completion = res.json as { model: string; choices: { message: { content: string } }[] };
    expect(completion.choices[0]!.message.content).toBe("We accept credit cards, PayPal and gift cards.");
    expect(completion.model).toBe("gemini-2.5-flash");
    expect(res.headers.get("x-gateway-prompt")).toBe("support-answer");
    const bad = await postJson(
      `${base}/v1beta/openai/chat/completions`,
      { model: "prompt:support-answer", variables: {}, temperature: 1 },
      { authorization: `Bearer ${stack.keys.acme}` },
    );
    expect(bad.status).toBe(400);
    expect((bad.json as { error: { param: string } }).error.param).toBe("temperature");
    const missing = await postJson(
      `${base}/v1beta/openai/chat/completions`,
      { model: "prompt:support-answer", variables: {} },
      { authorization: `Bearer ${stack.keys.acme}` },
    );
    expect((missing.json as { error: { param: string } }).error.param).toBe("variables.question");
  });

  it("write prompt, version and variant to the audit record and metrics, never the template or the values", async () => {
    const res = await call("support-answer@1", { question: "A very private question about my tent seam" });
    const id = res.headers.get("x-request-id")!;
    const record = auditRecords().find((r) => r.requestId === id)!;
    expect(record.prompt).toEqual({ name: "support-answer", version: 1, variant: "v1" });
    const line = stack.logs.find((l) => l.includes(id) && l.includes("gateway-audit"))!;
    expect(line).not.toContain("private question");
    expect(line).not.toContain("Acme Outdoor");
    const metrics = await fetch(`${base}/metrics`, { headers: admin }).then((r) => r.text());
    expect(metrics).toMatch(
      /gateway_prompt_requests_total\{prompt="support-answer",version="1",variant="v1",code_class="2xx"\} \d+/,
    );
    expect(metrics).not.toContain("private question");
  });
});

describe("labels", () => {
  it("move without a restart (admin), and back to prompt.json's version", async () => {
    const version = async () =>
      (await call("support-answer@staging", { question: "Can I pay with PayPal?" })).headers.get(
        "x-gateway-prompt-version",
      );
    expect(await version()).toBe("2");
    const moved = await fetch(`${base}/admin/prompts/support-answer/labels/staging`, {
      method: "PUT",
      headers: { ...admin, "content-type": "application/json" },
      body: JSON.stringify({ version: 1 }),
    });
    expect(moved.status).toBe(200);
    expect(await version()).toBe("1");
    expect(stack.logs.some((l) => l.includes("prompt label moved: support-answer staging v2 → v1"))).toBe(true);
    const view = (await fetch(`${base}/admin/prompts/support-answer`, { headers: admin }).then((r) => r.json())) as {
      labels: Record<string, { version: number; source: string }>;
    };
    expect(view.labels.staging).toEqual({ version: 1, source: "store" });
    expect(view.labels.production).toEqual({ version: 1, source: "file" });
    const reset = await fetch(`${base}/admin/prompts/support-answer/labels/staging`, {
      method: "DELETE",
      headers: admin,
    });
    expect(reset.status).toBe(200);
    expect(await version()).toBe("2");
    const bad = await fetch(`${base}/admin/prompts/support-answer/labels/staging`, {
      method: "PUT",
      headers: { ...admin, "content-type": "application/json" },
      body: JSON.stringify({ version: 7 }),
    });
    expect(bad.status).toBe(400);
    expect((await fetch(`${base}/admin/prompts/support-answer/labels/staging`, { method: "PUT" })).status).toBe(401);
  });
});

describe("experiments and feedback", () => {
  it("accept one outcome per call and metric from the calling tenant only, and report it per variant", async () => {
    const res = await call(
      "support-answer",
      { question: "Is my tent covered if a seam fails?" },
      {
        "x-gateway-subject": "feedback-user",
        "x-gateway-feature": "support-chat",
        "x-goog-api-key": stack.keys.other!,
      },
    );
    expect(res.status).toBe(200);
    const responseId = res.headers.get("x-request-id")!;
    const variant = res.headers.get("x-gateway-prompt-variant")!;
    const feedback = (tenant: string, body: unknown) => postJson(`${base}/v1beta/feedback`, body, key(tenant));

    const stranger = await feedback("acme", { responseId, metric: "resolved", value: true });
    expect(stranger.status).toBe(404);
    const ok = await feedback("other", { responseId, metric: "resolved", value: true });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ recorded: { experiment: "support-answer-lite", variant, metric: "resolved" } });
    expect((await feedback("other", { responseId, metric: "resolved", value: false })).status).toBe(409);
    expect((await feedback("other", { responseId, metric: "rating", value: "five" })).status).toBe(400);
    expect((await feedback("other", { responseId, metric: "nps", value: 3 })).status).toBe(400);
    expect((await feedback("other", { responseId, metric: "rating", value: 5 })).status).toBe(200);

    const report = (await fetch(`${base}/admin/experiments/support-answer-lite`, { headers: admin }).then((r) =>
      r.json(),
    )) as {
      metric: { name: string };
      variants: {
        name: string;
        requests: number;
        outcomes: Record<string, { n: number; successes: number }>;
        byFeature: Record<string, { requests: number }>;
      }[];
      comparisons: { variant: string; sequential: { pValue: number; samplesStillNeeded: number | null } }[];
    };
    expect(report.metric.name).toBe("resolved");
    const v = report.variants.find((x) => x.name === variant)!;
    expect(v.requests).toBeGreaterThanOrEqual(1);
    expect(v.outcomes.resolved).toMatchObject({ n: 1, successes: 1 });
    expect(v.outcomes.rating).toMatchObject({ n: 1, successes: 1 });
    expect(v.byFeature["support-chat"]!.requests).toBe(1);
    expect(report.comparisons.map((c) => c.variant)).toEqual(["flash-lite"]);
    expect(report.comparisons[0]!.sequential.pValue).toBeLessThanOrEqual(1);
    const latency = await fetch(`${base}/admin/experiments/support-answer-lite?metric=latency_ms`, { headers: admin });
    expect(latency.status).toBe(200);
    expect((await fetch(`${base}/admin/experiments/support-answer-lite?metric=nps`, { headers: admin })).status).toBe(
      400,
    );
    expect((await fetch(`${base}/admin/experiments/nope`, { headers: admin })).status).toBe(404);
  });

  it("a forced variant answers, but is kept out of the statistics and takes no feedback", async () => {
    const before = (await fetch(`${base}/admin/experiments/support-answer-lite`, { headers: admin }).then((r) =>
      r.json(),
    )) as { variants: { name: string; requests: number }[] };
    const res = await call(
      "support-answer",
      { question: "Can I pay with a gift card? (forced)" },
      { "x-gateway-prompt-variant": "flash-lite" },
    );
    expect(res.headers.get("x-gateway-prompt-variant")).toBe("flash-lite");
    expect(res.headers.get("x-gateway-upstream")).toContain("gemini-2.5-flash-lite");
    const after = (await fetch(`${base}/admin/experiments/support-answer-lite`, { headers: admin }).then((r) =>
      r.json(),
    )) as { variants: { name: string; requests: number }[] };
    const count = (r: typeof after) => r.variants.find((v) => v.name === "flash-lite")!.requests;
    expect(count(after)).toBe(count(before));
    const fb = await postJson(
      `${base}/v1beta/feedback`,
      { responseId: res.headers.get("x-request-id"), metric: "resolved", value: true },
      key(),
    );
    expect(fb.status).toBe(404);
    expect((await call("support-answer", { question: "q" }, { "x-gateway-prompt-variant": "nope" })).status).toBe(400);
  });
});

describe("reviewed answers of critical prompts", () => {
  it("answer with the version's pregenerated answer (marked) only when every upstream fails", async () => {
    stack.emulator.configure({ errors: { "503": 1 } });
    const formal = await call("support-answer@1", { question: "Where is my order?", tone: "formal" });
    expect(formal.status).toBe(200);
    expect(formal.headers.get("x-gateway-fallback")).toBe("pregenerated");
    expect(textOf(formal.json)).toMatch(/^We are unable to answer automatically at present\./);
    const friendly = await call("support-answer@1", { question: "Where is my order?" });
    expect(textOf(friendly.json)).toMatch(/^We can't answer automatically right now/);
    const record = auditRecords().find((r) => r.requestId === formal.headers.get("x-request-id"))!;
    expect(record).toMatchObject({
      httpRequest: { status: 200 },
      upstream: { status: 503 },
      prompt: { name: "support-answer", pregenerated: true },
    });
    expect(record.costUsd).toBeUndefined();

    const streamed = await fetch(`${base}/v1beta/prompts/support-answer@1:streamGenerateContent?alt=sse`, {
      method: "POST",
      headers: { ...key(), "content-type": "application/json" },
      body: JSON.stringify({ variables: { question: "Where is my order?" } }),
    });
    expect(streamed.status).toBe(200);
    expect(streamed.headers.get("x-gateway-fallback")).toBe("pregenerated");
    expect(await streamed.text()).toContain("We can't answer automatically right now");

    // Not critical (no fallback in the version): fails as any call does.
    const triage = await call("ticket-triage", { ticket: "My tent arrived torn." });
    expect(triage.status).toBe(503);
    expect(triage.headers.get("x-gateway-fallback")).toBeNull();
    const metrics = await fetch(`${base}/metrics`, { headers: admin }).then((r) => r.text());
    expect(metrics).toMatch(/gateway_prompt_pregenerated_total\{prompt="support-answer"\} [1-9]/);
  });

  it("are not served while the upstream answers", async () => {
    const res = await call("support-answer@1", { question: "Where is my order?" });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-gateway-fallback")).toBeNull();
    expect(textOf(res.json)).toMatch(/^I'm sorry, but I can't help with that/);
  });
});

describe("the tenant's view of a prompt", () => {
  it("lists labels, versions, variables and the experiment's variants, without any template text", async () => {
    const res = await fetch(`${base}/v1beta/prompts/support-answer`, { headers: key() });
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(JSON.parse(body)).toMatchObject({
      name: "support-answer",
      labels: { production: 1, staging: 2 },
      experiment: { name: "support-answer-lite", variants: ["control", "flash-lite"], holdout: 0.05 },
    });
    expect(body).not.toContain("Write in a");
    expect(body).not.toContain("Customer question:");
    expect((await fetch(`${base}/v1beta/prompts/support-answer`)).status).toBe(401);
  });
});
