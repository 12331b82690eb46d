/**
 * Admission observed from outside, over real HTTP against a real emulator: priority classes and the reserved
 * interactive share of an upstream capacity, the bounded queue and deadlines, the priority and feature headers,
 * streams cut mid-way charged what was produced, and the budget kill switch driven by signed Pub/Sub pushes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePrometheus } from "../support/prometheus.js";
import { certs, newSigningKey, signIdToken } from "../support/oidc.js";
import { postJson, startStack, type Stack } from "../support/stack.js";
import { sha256Hex } from "../../service/src/config/tenants.js";

const ADMIN_KEY = "admin-key-for-admission-tests";
const path = "/v1beta/models/gemini-2.5-flash:generateContent";
const streamPath = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";
const body = { contents: [{ role: "user", parts: [{ text: "Say hello." }] }] };
type Envelope = { error: { code: number; status: string; message: string } };

const auditsOf = (stack: Stack) =>
  stack.logs
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => (l["logging.googleapis.com/labels"] as { log?: string } | undefined)?.log === "gateway-audit");
const metricsOf = async (stack: Stack) => parsePrometheus(await (await fetch(stack.gateway.metricsUrl!)).text());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("priority admission on a shared upstream capacity", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      env: {
        GATEWAY_METRICS_PORT: "0",
        GATEWAY_ADMIN_KEY_SHA256: sha256Hex(ADMIN_KEY),
        // 600 requests per minute: 10 per second, at most one second's worth (10) outstanding; batch only while
        // fewer than 5 are outstanding, and never more than 300 per minute.
        GATEWAY_CAPACITY: JSON.stringify({
          reservedInteractiveShare: 0.5,
          models: [{ model: "gemini-2.5-flash", requestsPerMinute: 600 }],
        }),
      },
      tenants: [
        { id: "ui", models: ["*"] },
        { id: "etl", models: ["*"], priority: "batch" },
        { id: "app", models: ["*"], features: ["chat", "search"] },
      ],
    });
  });
  afterAll(() => stack?.close());

  it("under overload admits waiting interactive calls before batch, and batch stays out of the reserved share", async () => {
    const t0 = performance.now();
    const call = async (tenant: "ui" | "etl", i: number) => {
      const res = await postJson(stack.gateway.url + path, body, {
        "x-goog-api-key": stack.keys[tenant]!,
        "x-server-timeout": "15",
        "x-request-id": `prio-${tenant}-${i}`,
      });
      return { tenant, i, status: res.status, doneMs: performance.now() - t0 };
    };
    // Batch arrives first, then interactive: 40 calls against 10 per second.
    const results = await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => call("etl", i)),
      ...Array.from({ length: 20 }, (_, i) => call("ui", i)),
    ]);
    expect(results.map((r) => r.status)).toEqual(Array(40).fill(200));

    const audits = auditsOf(stack).filter((a) => String(a.requestId).startsWith("prio-"));
    const queued = (tenant: string) =>
      results.filter((r) => {
        const a = audits.find((x) => x.requestId === `prio-${r.tenant}-${r.i}`);
        return r.tenant === tenant && Number(a?.queuedMs ?? 0) > 0;
      });
    const queuedUi = queued("ui");
    const queuedEtl = queued("etl");
    expect(queuedUi.length).toBeGreaterThan(5);
    expect(queuedEtl.length).toBeGreaterThan(5);
    // Every interactive call that had to wait was admitted before any batch call that had to wait.
    const lastUi = Math.max(...queuedUi.map((r) => r.doneMs));
    const firstEtl = Math.min(...queuedEtl.map((r) => r.doneMs));
    expect(lastUi).toBeLessThan(firstEtl);
    // Batch got in at once only while less than half the allowance was used: at most 5 of its 20 — plus what its share
    // (5 per second) refilled while the 40 calls were still arriving, which on a loaded machine can take a while.
    const starts = audits.map((a) => Date.parse(String(a.time)) - Number(a.durationMs));
    const arrivalSpanS = (Math.max(...starts) - Math.min(...starts)) / 1000;
    expect(20 - queuedEtl.length).toBeLessThanOrEqual(5 + Math.floor(5 * arrivalSpanS));
    // And over the run batch stayed within its share: 300 per minute (5 per second) plus its 5 allowance.
    const etlSpan = (Math.max(...queuedEtl.map((r) => r.doneMs)) - firstEtl) / 1000;
    expect(queuedEtl.length).toBeLessThanOrEqual(Math.ceil(5 * etlSpan) + 5);
    expect(audits.find((a) => a.requestId === "prio-etl-0")?.priority).toBe("batch");
    expect(audits.find((a) => a.requestId === "prio-ui-0")?.priority).toBe("interactive");
    // The upstream saw the capacity respected: 40 calls took at least 3 s at 10 per second after the first 10.
    expect(Math.max(...results.map((r) => r.doneMs))).toBeGreaterThanOrEqual(2900);
  }, 30_000);

  it("lets a client lower its priority with x-gateway-priority, never raise it, and refuses other values", async () => {
    await sleep(1100);
    const lowered = await postJson(stack.gateway.url + path, body, {
      "x-goog-api-key": stack.keys.ui!,
      "x-gateway-priority": "batch",
      "x-request-id": "lowered",
    });
    const raised = await postJson(stack.gateway.url + path, body, {
      "x-goog-api-key": stack.keys.etl!,
      "x-gateway-priority": "interactive",
      "x-request-id": "raised",
    });
    const bad = await postJson(stack.gateway.url + path, body, {
      "x-goog-api-key": stack.keys.ui!,
      "x-gateway-priority": "urgent",
    });
    expect([lowered.status, raised.status]).toEqual([200, 200]);
    const audits = auditsOf(stack);
    expect(audits.find((a) => a.requestId === "lowered")?.priority).toBe("batch");
    expect(audits.find((a) => a.requestId === "raised")?.priority).toBe("batch");
    expect(bad.status).toBe(400);
    expect((bad.json as Envelope).error.message).toMatch(/x-gateway-priority must be "interactive" or "batch"/);
  });

  it("attributes usage to a feature label from the tenant's list, labels the upstream call, and refuses others", async () => {
    stack.emulator.reset();
    const ok = await postJson(stack.gateway.url + path, body, {
      "x-goog-api-key": stack.keys.app!,
      "x-gateway-feature": "chat",
    });
    expect(ok.status).toBe(200);
    const sent = JSON.parse(stack.emulator.requests().at(-1)!.body) as { labels: Record<string, string> };
    expect(sent.labels).toMatchObject({ "gateway-tenant": "app", "gateway-feature": "chat" });
    await sleep(50);
    const usage = (await (
      await fetch(`${stack.gateway.url}/admin/usage`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })
    ).json()) as {
      tenants: Record<string, { features: Record<string, { requests: number; tokens: { output: number } }> }>;
    };
    expect(usage.tenants.app!.features.chat).toMatchObject({ requests: 1, tokens: { output: 48 } });
    expect(usage.tenants.app!.features.search).toBeUndefined();

    const unknown = await postJson(stack.gateway.url + path, body, {
      "x-goog-api-key": stack.keys.app!,
      "x-gateway-feature": "billing",
    });
    expect(unknown.status).toBe(400);
    expect((unknown.json as Envelope).error.message).toMatch(/not one of tenant "app"'s feature labels: chat, search/);
    const none = await postJson(stack.gateway.url + path, body, {
      "x-goog-api-key": stack.keys.ui!,
      "x-gateway-feature": "chat",
    });
    expect(none.status).toBe(400);
    expect((none.json as Envelope).error.message).toMatch(/Tenant "ui" has no feature labels configured/);
  });
});

describe("the admission queue: bounded, and honest about deadlines", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      env: { GATEWAY_METRICS_PORT: "0", GATEWAY_QUEUE_MAX: "2" },
      tenants: [{ id: "slow", models: ["*"], limits: { requestsPerMinute: 60 } }], // one per second
    });
  });
  afterAll(() => stack?.close());

  it("queues up to GATEWAY_QUEUE_MAX calls and admits them as the window refills; the rest get 429 at once", async () => {
    const before = await metricsOf(stack);
    const t0 = performance.now();
    const results = await Promise.all(
      Array.from({ length: 5 }, async () => {
        const res = await postJson(stack.gateway.url + path, body, {
          "x-goog-api-key": stack.keys.slow!,
          "x-server-timeout": "10",
        });
        return { res, ms: performance.now() - t0 };
      }),
    );
    const ok = results.filter((r) => r.res.status === 200).sort((a, b) => a.ms - b.ms);
    const full = results.filter((r) => r.res.status === 429);
    expect(ok).toHaveLength(3); // one now, two from the queue
    expect(full).toHaveLength(2);
    for (const r of full) {
      expect(r.ms).toBeLessThan(500);
      expect((r.res.json as Envelope).error.message).toMatch(/admission queue is full \(2 calls waiting\)/);
      expect(Number(r.res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    }
    // Paced at one per second.
    expect(ok[1]!.ms).toBeGreaterThanOrEqual(900);
    expect(ok[2]!.ms).toBeGreaterThanOrEqual(1900);
    const after = await metricsOf(stack);
    const scope = (m: Map<string, number>) => m.get('gateway_rate_limit_rejections_total{scope="queue"}') ?? 0;
    expect(scope(after) - scope(before)).toBe(2);
    expect(after.get('gateway_queue_depth{priority="interactive"}')).toBe(0);
  }, 20_000);

  it("refuses at once a call whose deadline falls before the window has room", async () => {
    await postJson(stack.gateway.url + path, body, { "x-goog-api-key": stack.keys.slow!, "x-server-timeout": "5" });
    const t0 = performance.now();
    const res = await postJson(stack.gateway.url + path, body, {
      "x-goog-api-key": stack.keys.slow!,
      "x-server-timeout": "0.3",
    });
    expect(res.status).toBe(429);
    expect(performance.now() - t0).toBeLessThan(250);
    expect((res.json as Envelope).error.message).toMatch(/tenant "slow": 60 requests per minute/);
    expect(res.headers.get("retry-after")).toBe("1");
  });
});

describe("a stream cut mid-way is charged what was produced", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      env: { GATEWAY_ADMIN_KEY_SHA256: sha256Hex(ADMIN_KEY) },
      emulator: { latency: { perChunkMs: 150 }, chunkTokens: 8, responseTokens: 48 },
      tenants: [{ id: "tok", models: ["*"], limits: { tokensPerMinute: 1_000_000 } }],
    });
  });
  afterAll(() => stack?.close());

  it("charges the prompt and the chunks relayed; the day's counters equal the emulator's usage exactly", async () => {
    stack.emulator.reset();
    const headers = { "x-goog-api-key": stack.keys.tok!, "content-type": "application/json" };
    // Two whole answers: one unary, one stream.
    expect((await postJson(stack.gateway.url + path, body, headers)).status).toBe(200);
    const whole = await fetch(stack.gateway.url + streamPath, { method: "POST", headers, body: JSON.stringify(body) });
    await whole.text();

    // A stream the client leaves after two of its six chunks.
    const abort = new AbortController();
    const res = await fetch(stack.gateway.url + streamPath, {
      method: "POST",
      headers: { ...headers, "x-request-id": "cut-stream" },
      body: JSON.stringify(body),
      signal: abort.signal,
    });
    const reader = res.body!.getReader();
    let text = "";
    while ((text.match(/data: /g) ?? []).length < 2) text += new TextDecoder().decode((await reader.read()).value);
    abort.abort();
    await sleep(400);

    const stats = stack.emulator.stats();
    expect(stats.tokens.output).toBe(48 + 48 + 16); // the emulator produced two chunks of 8 for the cut stream
    const usage = (await (
      await fetch(`${stack.gateway.url}/admin/usage?period=day`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })
    ).json()) as {
      tenants: Record<string, { total: { requests: number; tokens: { input: number; output: number } } }>;
    };
    expect(usage.tenants.tok!.total).toMatchObject({
      requests: 3,
      tokens: { input: stats.tokens.input, output: stats.tokens.output },
    });
    const cut = auditsOf(stack).find((a) => a.requestId === "cut-stream")!;
    expect(cut).toMatchObject({ httpRequest: { status: 499 }, usageEstimated: true });
    expect((cut.tokens as { output: number }).output).toBe(16);
  });
});

describe("the budget kill switch", () => {
  const AUDIENCE = "https://gateway.example.com/internal/budget-alerts";
  const PUSHER = "budget-push@gw-test.iam.gserviceaccount.com";
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      env: {
        GATEWAY_METRICS_PORT: "0",
        GATEWAY_ADMIN_KEY_SHA256: sha256Hex(ADMIN_KEY),
        GATEWAY_BUDGET_PUSH_AUDIENCE: AUDIENCE,
        GATEWAY_BUDGET_PUSH_SERVICE_ACCOUNT: PUSHER,
        GATEWAY_BUDGET_BATCH_THRESHOLD: "0.8",
        GATEWAY_BUDGET_ALLOWLIST: "ops",
      },
      tenants: [
        { id: "ui", models: ["*"] },
        { id: "etl", models: ["*"], priority: "batch" },
        { id: "ops", models: ["*"] },
      ],
      budgetPushCerts: certs,
    });
  });
  afterAll(() => stack?.close());

  const notification = (costAmount: number) => {
    const start = new Date();
    const data = {
      budgetDisplayName: "gemini-gateway-prod",
      costAmount,
      costIntervalStart: new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), 1, 8)).toISOString(),
      budgetAmount: 1000,
      budgetAmountType: "SPECIFIED_AMOUNT",
      currencyCode: "USD",
      alertThresholdExceeded: costAmount / 1000,
    };
    return JSON.stringify({
      message: {
        data: Buffer.from(JSON.stringify(data)).toString("base64"),
        attributes: { budgetId: "budget-1", billingAccountId: "01A2B3-C4D5E6-F7A8B9", schemaVersion: "1.0" },
        messageId: String(Math.random()),
        publishTime: new Date().toISOString(),
      },
      subscription: "projects/gw-test/subscriptions/budget-alerts",
    });
  };
  const push = (costAmount: number, token: string | undefined) =>
    fetch(`${stack.gateway.url}/internal/budget-alerts`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: notification(costAmount),
    });
  const status = async (tenant: "ui" | "etl" | "ops") =>
    (await postJson(stack.gateway.url + path, body, { "x-goog-api-key": stack.keys[tenant]! })).status;
  const good = () => signIdToken({ aud: AUDIENCE, email: PUSHER });

  it("rejects unsigned and wrongly signed notifications with 401 and changes nothing", async () => {
    expect((await push(990, undefined)).status).toBe(401);
    expect((await push(990, signIdToken({ aud: AUDIENCE, email: PUSHER }, { key: newSigningKey() }))).status).toBe(401);
    expect((await push(990, signIdToken({ aud: "https://elsewhere.example.com", email: PUSHER }))).status).toBe(401);
    expect(
      (await push(990, signIdToken({ aud: AUDIENCE, email: "intruder@gw-test.iam.gserviceaccount.com" }))).status,
    ).toBe(403);
    expect([await status("ui"), await status("etl")]).toEqual([200, 200]);
  });

  it("stops batch over the threshold, everything but allow-listed tenants over 100%, until an operator resets", async () => {
    expect((await push(850, good())).status).toBe(204);
    expect([await status("ui"), await status("etl"), await status("ops")]).toEqual([200, 429, 200]);
    const refused = await postJson(stack.gateway.url + path, body, { "x-goog-api-key": stack.keys.etl! });
    expect((refused.json as Envelope).error.message).toMatch(/budget "gemini-gateway-prod" is at 85%/);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    // A batch job is batch traffic whoever sends it: paused at the threshold, while the same tenant's calls go on.
    const job = await postJson(
      `${stack.gateway.url}/v1beta/models/gemini-2.5-flash:batchGenerateContent`,
      { batch: { inputConfig: { requests: { requests: [{ request: { contents: [{ parts: [{ text: "x" }] }] } }] } } } },
      { "x-goog-api-key": stack.keys.ui! },
    );
    expect(job.status).toBe(429);
    expect((job.json as Envelope).error.message).toMatch(/budget "gemini-gateway-prod" is at 85%/);

    expect((await push(1010, good())).status).toBe(204);
    expect([await status("ui"), await status("etl"), await status("ops")]).toEqual([429, 429, 200]);
    const admin = { authorization: `Bearer ${ADMIN_KEY}` };
    const state = (await (await fetch(`${stack.gateway.url}/admin/budget`, { headers: admin })).json()) as {
      state: { level: string };
    };
    expect(state.state.level).toBe("paused");
    const m = await metricsOf(stack);
    expect(m.get('gateway_budget_rejections_total{scope="budget"}')).toBeGreaterThanOrEqual(3);

    expect((await fetch(`${stack.gateway.url}/admin/budget/reset`, { method: "POST", headers: admin })).status).toBe(
      200,
    );
    expect([await status("ui"), await status("etl")]).toEqual([200, 200]);
  });
});
