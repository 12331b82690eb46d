/**
 * Limits that hold across instances: three real gateway processes share one real redis-server, 10 ms away (a proxy
 * delays each direction by 5 ms, as a Redis in another zone would be), with leased admission (the default with
 * Redis: quota/leased-windows.ts). One tenant is limited to R requests per second (requestsPerMinute = 60 R) and
 * offered about 3 R for 10 s by concurrent clients spread over the three. Accepted must stay within R × duration plus
 * one window of slack (the one-second allowance) plus one lease per instance, and reach at least 95% of R × duration;
 * the emulator, given the same per-minute quota, answers no 429. The same for a tokens-per-minute limit. Calls may
 * wait up to 1 s in each instance's admission queue (GATEWAY_QUEUE_TIMEOUT_MS), so the duration counted is until the
 * last answer.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newKey, sha256Hex } from "../../service/src/config/tenants.js";
import { startEmulator, type RunningEmulator } from "../../service/src/emulator/server.js";
import { offerLoad } from "../support/load.js";
import { spawnGateway, type GatewayProcess } from "../support/process.js";
import { startRedisServer, type RedisServer } from "../support/redis-server.js";
import { startDelayProxy, type DelayProxy } from "../support/delay-proxy.js";

const R = 20; // requests per second
const HI = JSON.stringify({ contents: [{ role: "user", parts: [{ text: "hi" }] }] });
const DURATION_S = 10;
const key = newKey();
const tokenKey = newKey();
// Tokens: each call is "hi" (1 prompt token) answered with the emulator's 48 words (48 tokens) = 49 tokens, reserved
// as 1 + maxOutputTokens 64 = 65 and reconciled to 49. The limit is R such calls per second.
const CALL_TOKENS = 49;
const TPM = 60 * R * CALL_TOKENS;
let redis: RedisServer;
let proxy: DelayProxy;
let emulator: RunningEmulator;
/** A lease on a paced window is at most half its one-second allowance (quota/leased-windows.ts DEFAULT_LEASES). */
const LEASE = R / 2;
let gateways: GatewayProcess[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  proxy = await startDelayProxy(redis.socketPath, 5);
  emulator = await startEmulator({ port: 0, settings: { quota: { requestsPerMinute: 60 * R } } });
  const dir = mkdtempSync(join(tmpdir(), "ggw-"));
  const tenants = join(dir, "tenants.json");
  writeFileSync(
    tenants,
    JSON.stringify({
      tenants: [
        { id: "acme", keySha256: sha256Hex(key), models: ["*"], limits: { requestsPerMinute: 60 * R } },
        { id: "tokens", keySha256: sha256Hex(tokenKey), models: ["*"], limits: { tokensPerMinute: TPM } },
      ],
    }),
  );
  const env = {
    GATEWAY_UPSTREAM: "emulator",
    GATEWAY_VERTEX_BASE_URL: emulator.url,
    GATEWAY_TENANTS_FILE: tenants,
    REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
    GATEWAY_QUEUE_TIMEOUT_MS: "1000",
    LOG_LEVEL: "info", // spawnGateway waits for the "listening" line
  };
  gateways = await Promise.all([spawnGateway(env), spawnGateway(env), spawnGateway(env)]);
}, 60_000);

afterAll(async () => {
  for (const g of gateways) g.child.kill("SIGKILL");
  await emulator?.close();
  await proxy?.close();
  await redis?.close();
});

/** Open-loop load over the three gateways (test/support/load.ts). */
const offer = (
  rate: number,
  seconds: number,
  during?: (i: number) => void,
  as: { key: string; body: string } = { key, body: HI },
) => offerLoad(gateways, rate, seconds, as, during);

describe("a requests-per-second limit shared by three gateway processes", () => {
  it("admits R × duration (+ one burst and one lease per instance) of 3 R offered; the upstream sees no 429", async () => {
    const { statuses, elapsedS } = await offer(3 * R, DURATION_S);
    const accepted = statuses[200] ?? 0;
    const expected = R * elapsedS;
    expect(Object.keys(statuses).sort()).toEqual(["200", "429"]); // nothing else: no 5xx
    // + one window (the one-second burst) + what each instance had leased and not yet spent
    expect(accepted).toBeLessThanOrEqual(Math.ceil(expected) + R + 3 * LEASE);
    expect(accepted).toBeGreaterThanOrEqual(0.95 * R * DURATION_S);
    expect(emulator.stats().requests.byStatus["429"] ?? 0).toBe(0);
    expect(emulator.stats().requests.total).toBe(accepted);
  }, 60_000);

  it("admits TPM × duration (+ one second's worth and one call) of 3× the tokens offered; the upstream sees no 429", async () => {
    emulator.reset();
    emulator.configure({ quota: { requestsPerMinute: null, tokensPerMinute: TPM } });
    const body = JSON.stringify({
      contents: [{ role: "user", parts: [{ text: "hi" }] }],
      generationConfig: { maxOutputTokens: 64 },
    });
    const { statuses, elapsedS } = await offer(3 * R, DURATION_S, undefined, { key: tokenKey, body });
    const stats = emulator.stats();
    const tokens = stats.tokens.input + stats.tokens.output;
    const expected = (TPM / 60) * elapsedS;
    expect(Object.keys(statuses).sort()).toEqual(["200", "429"]);
    expect(stats.requests.total).toBe(statuses[200]);
    expect(tokens).toBe(statuses[200]! * CALL_TOKENS);
    expect(tokens).toBeLessThanOrEqual(Math.ceil(expected) + Math.ceil(TPM / 60) + 65);
    expect(tokens).toBeGreaterThanOrEqual(0.95 * (TPM / 60) * DURATION_S);
    expect(stats.requests.byStatus["429"] ?? 0).toBe(0);
    emulator.configure({ quota: { requestsPerMinute: 60 * R, tokensPerMinute: null } });
  }, 60_000);

  it("keeps serving with zero 5xx when Redis is killed under load, and shares limits again once it is back", async () => {
    let killed: Promise<void> | undefined;
    const outage = await offer(3 * R, 4, (i) => {
      if (i === 3 * R) killed = redis.stop(); // one second in
    });
    await killed;
    expect(Object.keys(outage.statuses).filter((s) => Number(s) >= 500 || s === "0")).toEqual([]);
    // Fail-open to each instance's share: three instances were alive, so each admits R / 3 per second from memory —
    // still about R per second for the fleet (plus the fresh local allowances).
    const during = outage.statuses[200] ?? 0;
    expect(during).toBeGreaterThanOrEqual(0.8 * R * 4);
    expect(during).toBeLessThanOrEqual(Math.ceil(R * outage.elapsedS) + 2 * R);

    await redis.restart();
    await new Promise((r) => setTimeout(r, 2500)); // reconnect backoff (capped at 2 s)
    const after = await offer(3 * R, 3);
    const accepted = after.statuses[200] ?? 0;
    expect(Object.keys(after.statuses).sort()).toEqual(["200", "429"]);
    expect(accepted).toBeLessThanOrEqual(Math.ceil(R * after.elapsedS) + R);
    expect(accepted).toBeGreaterThanOrEqual(0.9 * R * 3);
  }, 60_000);
});
