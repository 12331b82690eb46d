/**
 * The ownership registry across instances: two real gateway processes share one real redis-server. A cache, an
 * interaction and a batch job made through one instance are used, read and deleted through the other — and another
 * tenant gets 404 from either. And across a restart: what a process made is usable through the process that
 * replaces it on the same Redis.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newKey, sha256Hex } from "../../service/src/config/tenants.js";
import { startEmulator, type RunningEmulator } from "../../service/src/emulator/server.js";
import { spawnGateway, type GatewayProcess } from "../support/process.js";
import { startRedisServer, type RedisServer } from "../support/redis-server.js";
import { developerClient } from "../support/stack.js";

const acmeKey = newKey();
const globexKey = newKey();
const MODEL = "gemini-2.5-flash";
const LONG = "Mangroves shelter crabs, herons and young fish. ".repeat(190);
let redis: RedisServer;
let emulator: RunningEmulator;
let gateways: GatewayProcess[] = [];
let env: Record<string, string>;

beforeAll(async () => {
  redis = await startRedisServer();
  emulator = await startEmulator({ settings: { resources: { batchStepMs: 20 } } });
  const tenants = join(mkdtempSync(join(tmpdir(), "ggw-")), "tenants.json");
  writeFileSync(
    tenants,
    JSON.stringify({
      tenants: [
        { id: "acme", keySha256: sha256Hex(acmeKey), models: ["*"] },
        { id: "globex", keySha256: sha256Hex(globexKey), models: ["*"] },
      ],
    }),
  );
  env = {
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

describe("resources made through one gateway instance, used through another", () => {
  it("cache, interaction and batch job: created on A, used, read and deleted on B; globex gets 404 on both", async () => {
    const [a, b] = gateways.map((g) => developerClient(g.url, acmeKey));
    const cache = await a!.caches.create({ model: MODEL, config: { contents: LONG } });
    const res = await b!.models.generateContent({
      model: MODEL,
      contents: "Who?",
      config: { cachedContent: cache.name! },
    });
    expect(res.usageMetadata?.cachedContentTokenCount).toBe(cache.usageMetadata!.totalTokenCount);
    for (const g of gateways) {
      await expect(developerClient(g.url, globexKey).caches.get({ name: cache.name! })).rejects.toMatchObject({
        status: 404,
      });
    }
    await b!.caches.delete({ name: cache.name! });
    await expect(a!.caches.get({ name: cache.name! })).rejects.toMatchObject({ status: 404 });

    const first = await a!.interactions.create({ model: MODEL, input: "Name one." });
    const second = await b!.interactions.create({ model: MODEL, input: "Another.", previous_interaction_id: first.id });
    expect(second.status).toBe("completed");
    await b!.interactions.delete(first.id);
    await expect(a!.interactions.get(first.id)).rejects.toMatchObject({ status: 404 });

    const job = await a!.batches.create({
      model: MODEL,
      src: [{ contents: [{ role: "user", parts: [{ text: "x" }] }] }],
    });
    let state = job.state as string;
    for (let i = 0; i < 200 && state !== "JOB_STATE_SUCCEEDED"; i++) {
      await new Promise((r) => setTimeout(r, 25));
      state = (await b!.batches.get({ name: job.name! })).state as string;
    }
    expect(state).toBe("JOB_STATE_SUCCEEDED");
    await expect(developerClient(gateways[1]!.url, globexKey).batches.get({ name: job.name! })).rejects.toMatchObject({
      status: 404,
    });
    await b!.batches.delete({ name: job.name! });
    await expect(a!.batches.get({ name: job.name! })).rejects.toMatchObject({ status: 404 });
  }, 60_000);
});

describe("a gateway restart", () => {
  it("leaves a cache and an interaction made through the stopped process usable through its successor on the same Redis", async () => {
    const first = await spawnGateway(env);
    const made = developerClient(first.url, acmeKey);
    const cache = await made.caches.create({ model: MODEL, config: { contents: LONG } });
    const interaction = await made.interactions.create({ model: MODEL, input: "Name a mangrove bird." });
    first.child.kill("SIGTERM");
    expect(await first.exited).toBe(0);

    const next = await spawnGateway(env);
    try {
      const acme = developerClient(next.url, acmeKey);
      expect((await acme.caches.get({ name: cache.name! })).usageMetadata?.totalTokenCount).toBe(
        cache.usageMetadata!.totalTokenCount,
      );
      const res = await acme.models.generateContent({
        model: MODEL,
        contents: "Who lives there?",
        config: { cachedContent: cache.name! },
      });
      expect(res.usageMetadata?.cachedContentTokenCount).toBe(cache.usageMetadata!.totalTokenCount);
      const continued = await acme.interactions.create({
        model: MODEL,
        input: "Another.",
        previous_interaction_id: interaction.id,
      });
      expect(continued.status).toBe("completed");
      // Ownership came back with the records: globex still gets 404.
      const globex = developerClient(next.url, globexKey);
      await expect(globex.caches.get({ name: cache.name! })).rejects.toMatchObject({ status: 404 });
      await expect(globex.interactions.get(interaction.id)).rejects.toMatchObject({ status: 404 });
      await acme.caches.delete({ name: cache.name! });
    } finally {
      next.child.kill("SIGKILL");
    }
  }, 60_000);
});
