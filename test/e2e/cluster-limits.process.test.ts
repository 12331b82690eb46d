/**
 * A limit shared by three gateway processes on a Redis Cluster of three primaries (leased admission, windows spread
 * over the shards): R requests per second offered at 3 R for 5 s; accepted within R × duration plus one burst and one
 * lease per instance, and at least 95% of R × duration; the upstream sees no 429.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newKey, sha256Hex } from "../../service/src/config/tenants.js";
import { startEmulator, type RunningEmulator } from "../../service/src/emulator/server.js";
import { offerLoad } from "../support/load.js";
import { spawnGateway, type GatewayProcess } from "../support/process.js";
import { startRedisCluster, type RedisCluster } from "../support/redis-cluster.js";

const R = 20;
const DURATION_S = 5;
const LEASE = R / 2;
const key = newKey();
let cluster: RedisCluster;
let emulator: RunningEmulator;
let gateways: GatewayProcess[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster();
  emulator = await startEmulator({ port: 0, settings: { quota: { requestsPerMinute: 60 * R } } });
  const tenants = join(mkdtempSync(join(tmpdir(), "ggw-")), "tenants.json");
  writeFileSync(
    tenants,
    JSON.stringify({
      tenants: [{ id: "acme", keySha256: sha256Hex(key), models: ["*"], limits: { requestsPerMinute: 60 * R } }],
    }),
  );
  const env = {
    GATEWAY_UPSTREAM: "emulator",
    GATEWAY_VERTEX_BASE_URL: emulator.url,
    GATEWAY_TENANTS_FILE: tenants,
    REDIS_URL: cluster.url,
    REDIS_CLUSTER: "true",
    GATEWAY_QUEUE_TIMEOUT_MS: "1000",
  };
  gateways = await Promise.all([spawnGateway(env), spawnGateway(env), spawnGateway(env)]);
}, 90_000);

afterAll(async () => {
  for (const g of gateways) g.child.kill("SIGKILL");
  await emulator?.close();
  await cluster?.close();
});

describe("a limit shared by three gateway processes on a Redis Cluster", () => {
  it("admits R × duration (+ one burst and one lease per instance) of 3 R offered; the upstream sees no 429", async () => {
    const body = JSON.stringify({ contents: [{ role: "user", parts: [{ text: "hi" }] }] });
    const { statuses, elapsedS } = await offerLoad(gateways, 3 * R, DURATION_S, { key, body });
    const accepted = statuses[200] ?? 0;
    expect(Object.keys(statuses).sort()).toEqual(["200", "429"]);
    expect(accepted).toBeLessThanOrEqual(Math.ceil(R * elapsedS) + R + 3 * LEASE);
    expect(accepted).toBeGreaterThanOrEqual(0.95 * R * DURATION_S);
    expect(emulator.stats().requests.byStatus["429"] ?? 0).toBe(0);
    expect(emulator.stats().requests.total).toBe(accepted);
  }, 60_000);
});
