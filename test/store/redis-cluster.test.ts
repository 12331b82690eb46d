/**
 * The Redis store on a local Redis Cluster of three primaries: the same contract as a single server (an admission over
 * several windows runs per shard, all or none), keys spread over the shards, and leased admission (every hold on one
 * window, so every script on one shard).
 */
import { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLeasedWindows } from "../../service/src/quota/leased-windows.js";
import { createRedisStore } from "../../service/src/store/redis.js";
import { startRedisCluster, type RedisCluster } from "../support/redis-cluster.js";
import { storeContract } from "./contract.js";

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);
afterAll(async () => cluster?.close());

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
let harnesses = 0;
const open = (prefix: string) =>
  createRedisStore({ url: cluster.url, cluster: true, prefix, commandTimeoutMs: 500, reconnectMaxMs: 200 });

storeContract("redis cluster", async () => {
  const store = await open(`cluster${++harnesses}:`);
  return {
    store,
    now: () => Date.now(),
    advance: (ms) => sleep(ms + 5),
    slackMs: 250,
    close: () => store.close(),
  };
});

describe("redis cluster", () => {
  it("spreads windows over the shards, and leased admission runs every script on one shard", async () => {
    const store = await open("spread:");
    const leased = createLeasedWindows(store.windows, { leaseMs: 2_000, share: 0.5, lowWater: 0.5 });
    // Windows of 20 tenants, each a call over a request window and a token hold.
    for (let t = 0; t < 20; t++) {
      const rpm = { key: `t:tenant${t}:rpm`, limit: 600, periodMs: 60_000, burst: 10, cost: 1 };
      const tpm = { key: `t:tenant${t}:tpm`, limit: 60_000, periodMs: 60_000, burst: 1_000 };
      const a = await leased.admit([rpm], { windows: [tpm], amount: 100, ttlMs: 60_000 });
      expect(a.admitted).toBe(true);
    }
    const raw = new Cluster([{ host: "127.0.0.1", port: cluster.ports[0]! }]);
    await new Promise((resolve) => raw.once("ready", resolve));
    const perShard = await Promise.all(raw.nodes("master").map((n) => n.keys("spread:*")));
    raw.disconnect();
    expect(perShard.flat().length).toBeGreaterThanOrEqual(40);
    expect(perShard.filter((keys) => keys.length > 0).length).toBe(3); // every primary holds some windows
    await leased.drain();
    await store.close();
  });
});
