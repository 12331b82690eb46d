/**
 * Shared limits on the request path: requests per minute (with a one-second burst), tokens per minute with a
 * reservation reconciled after the call, 429 RESOURCE_EXHAUSTED with Retry-After and RetryInfo, rate-limit headers,
 * the same limits shared by two gateways over one real Redis, and fail-open while that Redis is down.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../service/src/config/env.js";
import { newKey, parseTenants, sha256Hex } from "../../service/src/config/tenants.js";
import { startEmulator, type RunningEmulator } from "../../service/src/emulator/server.js";
import { startGateway, type RunningGateway } from "../../service/src/gateway.js";
import { createLogger } from "../../service/src/telemetry/logger.js";
import { staticToken } from "../../service/src/upstream/credentials.js";
import { delta, parsePrometheus } from "../support/prometheus.js";
import { startRedisServer, type RedisServer } from "../support/redis-server.js";
import { postJson, startStack, type Stack } from "../support/stack.js";

const MODEL = "gemini-2.5-flash";
const ADMIN_KEY = newKey();
const path = `/v1beta/models/${MODEL}:generateContent`;
const body = (maxOutputTokens?: number) => ({
  contents: [{ role: "user", parts: [{ text: "Say hello." }] }],
  ...(maxOutputTokens ? { generationConfig: { maxOutputTokens } } : {}),
});
type Envelope = { error: { code: number; status: string; message: string; details?: { "@type": string }[] } };

describe("limits in one gateway (in-memory store)", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      // No waiting for admission here: a refused call answers 429 at once (the queue has its own tests).
      env: { GATEWAY_METRICS_PORT: "0", GATEWAY_ADMIN_KEY_SHA256: sha256Hex(ADMIN_KEY), GATEWAY_QUEUE_TIMEOUT_MS: "0" },
      tenants: [
        { id: "rpm", models: ["*"], limits: { requestsPerMinute: 120 } },
        { id: "tpm", models: ["*"], limits: { tokensPerMinute: 2000 } },
        { id: "spender", models: ["*"], limits: { usdPerDay: 0.0005 } },
      ],
    });
  });
  afterAll(() => stack?.close());

  it("requests per minute: a one-second burst passes, the rest get 429 with Retry-After and RetryInfo", async () => {
    stack.emulator.reset();
    const metrics = async () => parsePrometheus(await (await fetch(stack.gateway.metricsUrl!)).text());
    const before = await metrics();
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        postJson(stack.gateway.url + path, body(), { "x-goog-api-key": stack.keys.rpm! }),
      ),
    );
    const ok = results.filter((r) => r.status === 200);
    const limited = results.filter((r) => r.status === 429);
    expect(ok).toHaveLength(2); // 120 per minute = 2 per second, burst 2
    expect(limited).toHaveLength(3);
    expect(stack.emulator.stats().requests.total).toBe(2);
    for (const r of limited) {
      const e = (r.json as Envelope).error;
      expect(e).toMatchObject({ code: 429, status: "RESOURCE_EXHAUSTED" });
      expect(e.message).toContain("120 requests per minute");
      expect(e.details?.[0]?.["@type"]).toBe("type.googleapis.com/google.rpc.RetryInfo");
      expect(Number(r.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(r.headers.get("x-ratelimit-limit-requests")).toBe("120");
      expect(r.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    }
    expect(ok[0]!.headers.get("x-ratelimit-limit-requests")).toBe("120");
    const after = await metrics();
    expect(delta(before, after, "gateway_rate_limit_rejections_total", { scope: "tenant" })).toBe(3);

    await new Promise((r) => setTimeout(r, 1100)); // the window refills at 2 per second
    expect((await postJson(stack.gateway.url + path, body(), { "x-goog-api-key": stack.keys.rpm! })).status).toBe(200);
  });

  it("tokens per minute: the estimate is held during the call and reconciled to the actual usage after it", async () => {
    const key = { "x-goog-api-key": stack.keys.tpm! };
    // An estimate above the whole limit can never fit: no Retry-After, and a message that says what to change.
    const never = await postJson(stack.gateway.url + path, body(5000), key);
    expect(never.status).toBe(429);
    expect(never.headers.get("retry-after")).toBeNull();
    expect((never.json as Envelope).error.message).toMatch(/lower maxOutputTokens/);

    // Two concurrent calls reserving ~1,200 each against 2,000: one waits for the other's reservation.
    const [a, b] = await Promise.all([
      postJson(stack.gateway.url + path, body(1200), key),
      postJson(stack.gateway.url + path, body(1200), key),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 429]);
    // After the call, its hold shrinks to the tokens actually used (51): once less than one second's worth (34) is
    // outstanding — 0.5 s at 2,000 per minute — another call of any size up to the limit fits.
    await new Promise((r) => setTimeout(r, 700));
    const c = await postJson(stack.gateway.url + path, body(1200), key);
    expect(c.status).toBe(200);
    expect(Number(c.headers.get("x-ratelimit-remaining-tokens"))).toBeLessThan(2000 - 1200);
  });

  it("spend per day: calls stop before the day's spend would cross the limit, with a clear 429", async () => {
    const key = { "x-goog-api-key": stack.keys.spender! };
    const metrics = async () => parsePrometheus(await (await fetch(stack.gateway.metricsUrl!)).text());
    const before = await metrics();
    let refused: Awaited<ReturnType<typeof postJson>> | undefined;
    let admitted = 0;
    for (let i = 0; i < 30 && !refused; i++) {
      const res = await postJson(stack.gateway.url + path, body(100), key);
      if (res.status === 200) admitted++;
      else refused = res;
      await new Promise((r) => setTimeout(r, 10)); // usage counters are added after each answer
    }
    expect(admitted).toBeGreaterThan(0);
    expect(refused?.status).toBe(429);
    expect((refused!.json as Envelope).error.message).toMatch(/Spend limit reached: tenant "spender" .* per day/);
    expect(Number(refused!.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(delta(before, await metrics(), "gateway_budget_rejections_total", { scope: "spend" })).toBe(1);
    const usage = await fetch(`${stack.gateway.url}/admin/usage?period=day`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    const spent = ((await usage.json()) as { tenants: Record<string, { total: { usd: number } }> }).tenants.spender!;
    expect(spent.total.usd).toBeGreaterThan(0);
    expect(spent.total.usd).toBeLessThanOrEqual(0.0005); // the cap held: each call fit, estimate included
  });

  it("tenants without limits are not limited, and countTokens is never charged", async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        postJson(stack.gateway.url + path, body(), { "x-goog-api-key": stack.keys.acme }),
      ),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(results[0]!.headers.get("x-ratelimit-limit-requests")).toBeNull();
    const counts = await Promise.all(
      Array.from({ length: 5 }, () =>
        postJson(`${stack.gateway.url}/v1beta/models/${MODEL}:countTokens`, body(), {
          "x-goog-api-key": stack.keys.rpm!,
        }),
      ),
    );
    expect(counts.every((r) => r.status === 200)).toBe(true);
  });
});

describe("limits shared by two gateways over one Redis", () => {
  let redis: RedisServer;
  let emulator: RunningEmulator;
  let gateways: RunningGateway[];
  const key = newKey();

  beforeAll(async () => {
    redis = await startRedisServer();
    emulator = await startEmulator({ port: 0, host: "127.0.0.1" });
    const config = loadConfig({
      PORT: "0",
      GATEWAY_HOST: "127.0.0.1",
      GATEWAY_UPSTREAM: "emulator",
      GATEWAY_VERTEX_BASE_URL: emulator.url,
      GATEWAY_METRICS_PORT: "0",
      REDIS_URL: redis.socketPath,
      GATEWAY_ADMIN_KEY_SHA256: sha256Hex(ADMIN_KEY),
      GATEWAY_QUEUE_TIMEOUT_MS: "0",
      LOG_LEVEL: "silent",
    });
    const tenants = parseTenants(
      { tenants: [{ id: "shared", keySha256: sha256Hex(key), models: ["*"], limits: { requestsPerMinute: 180 } }] },
      config.models,
    );
    const start = () =>
      startGateway({
        config,
        tenants,
        tokens: staticToken("emulator"),
        logger: createLogger("silent", { write: () => undefined }),
      });
    gateways = [await start(), await start()];
  });
  afterAll(async () => {
    await Promise.all((gateways ?? []).map((g) => g.shutdown()));
    await emulator?.close();
    await redis?.close();
  });

  const usageOf = async (g: RunningGateway) => {
    const res = await fetch(`${g.url}/admin/usage?period=day`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(res.status).toBe(200);
    const summary = (await res.json()) as {
      tenants: Record<string, { total: { requests: number; tokens: { input: number; output: number }; usd: number } }>;
    };
    return summary.tenants.shared!.total;
  };

  const burst = () =>
    Promise.all(
      gateways.flatMap((g) =>
        Array.from({ length: 4 }, () => postJson(g.url + path, body(), { "x-goog-api-key": key })),
      ),
    );

  it("admits exactly one burst across both instances", async () => {
    emulator.reset();
    const results = await burst();
    expect(results.filter((r) => r.status === 200)).toHaveLength(3); // 180 per minute = 3 per second, burst 3
    expect(results.filter((r) => r.status === 429)).toHaveLength(5);
    expect(emulator.stats().requests.total).toBe(3);
  });

  it("counts usage and spend for the whole fleet: GET /admin/usage equals what the upstream reported", async () => {
    await new Promise((r) => setTimeout(r, 1100)); // the burst refills
    emulator.reset();
    const before = await usageOf(gateways[1]!);
    const results = await burst();
    expect(results.filter((r) => r.status === 200)).toHaveLength(3);
    await new Promise((r) => setTimeout(r, 100)); // counters are added after the answers went out
    const after = await usageOf(gateways[1]!);
    const stats = emulator.stats();
    expect(after.requests - before.requests).toBe(stats.requests.total);
    expect(after.tokens.input - before.tokens.input).toBe(stats.tokens.input);
    expect(after.tokens.output - before.tokens.output).toBe(stats.tokens.output);
    expect(after.usd).toBeGreaterThan(before.usd);
    const denied = await fetch(`${gateways[0]!.url}/admin/usage`, { headers: { authorization: `Bearer ${key}` } });
    expect(denied.status).toBe(401);
  });

  it("fails open to each instance's share while Redis is down (no 5xx, counted), and shares limits again once it is back", async () => {
    await new Promise((r) => setTimeout(r, 1100)); // the burst refills, and both instances have said they are alive
    emulator.reset();
    await redis.stop();
    const during = await burst();
    // Two instances seen alive: each admits its share of the one-second allowance, ⌊3 / 2⌋ = 1, from memory.
    expect(during.filter((r) => r.status === 200)).toHaveLength(2);
    expect(during.filter((r) => r.status === 429)).toHaveLength(6);
    const text = await (await fetch(gateways[0]!.metricsUrl!)).text();
    expect(parsePrometheus(text).get('gateway_store_errors_total{store="redis"}')).toBeGreaterThan(0);

    await redis.restart();
    await new Promise((r) => setTimeout(r, 1200)); // reconnect backoff, and any earlier window refilled
    const after = await burst();
    expect(after.filter((r) => r.status === 200)).toHaveLength(3);
    expect(after.some((r) => r.status >= 500)).toBe(false);
    // The restarted Redis is empty: its counters now hold the calls made during the outage (counted in memory and
    // added back) and after it — exactly what the upstream served.
    await new Promise((r) => setTimeout(r, 100));
    const usage = await usageOf(gateways[0]!);
    const stats = emulator.stats();
    expect(stats.requests.total).toBe(5);
    expect(usage.requests).toBe(stats.requests.total);
    expect(usage.tokens.input).toBe(stats.tokens.input);
    expect(usage.tokens.output).toBe(stats.tokens.output);
  });
});
