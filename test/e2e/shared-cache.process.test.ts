/**
 * Coalescing across instances: two real gateway processes share one real redis-server. Fifty identical concurrent
 * cacheable requests, spread over both, cause at most two upstream calls (one per instance at worst; the Redis lease
 * usually makes it one), and every client gets the same answer.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newKey, sha256Hex } from "../../service/src/config/tenants.js";
import { startEmulator, type RunningEmulator } from "../../service/src/emulator/server.js";
import { spawnGateway, type GatewayProcess } from "../support/process.js";
import { startRedisServer, type RedisServer } from "../support/redis-server.js";
import { postJson } from "../support/stack.js";

const key = newKey();
let redis: RedisServer;
let emulator: RunningEmulator;
let gateways: GatewayProcess[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  emulator = await startEmulator({ port: 0, settings: { latency: { firstTokenMs: 300 } } });
  const dir = mkdtempSync(join(tmpdir(), "ggw-"));
  const tenants = join(dir, "tenants.json");
  writeFileSync(tenants, JSON.stringify({ tenants: [{ id: "acme", keySha256: sha256Hex(key), models: ["*"] }] }));
  const env = {
    GATEWAY_UPSTREAM: "emulator",
    GATEWAY_VERTEX_BASE_URL: emulator.url,
    GATEWAY_TENANTS_FILE: tenants,
    REDIS_URL: redis.socketPath,
  };
  gateways = await Promise.all([spawnGateway(env), spawnGateway(env)]);
}, 60_000);

afterAll(async () => {
  for (const g of gateways) g.child.kill("SIGKILL");
  await emulator?.close();
  await redis?.close();
});

describe("request coalescing across two gateway processes sharing Redis", () => {
  it("turns 50 identical concurrent requests into at most 2 upstream calls, and each again into a cache hit", async () => {
    const body = {
      contents: [{ role: "user", parts: [{ text: "everyone asks this" }] }],
      generationConfig: { temperature: 0 },
    };
    const send = (i: number) =>
      postJson(`${gateways[i % 2]!.url}/v1beta/models/gemini-2.5-flash:generateContent`, body, {
        "x-goog-api-key": key,
      });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => send(i)));
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(new Set(results.map((r) => r.text)).size).toBe(1);
    expect(emulator.stats().requests.total).toBeGreaterThanOrEqual(1);
    expect(emulator.stats().requests.total).toBeLessThanOrEqual(2);
    // Both instances read the answer from the shared tier now.
    const again = await Promise.all([send(0), send(1)]);
    expect(again.map((r) => r.headers.get("x-gateway-cache"))).toEqual(["hit", "hit"]);
    expect(emulator.stats().requests.total).toBeLessThanOrEqual(2);
  }, 30_000);
});
