import { Redis } from "ioredis";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStore } from "../../service/src/store/index.js";
import { connectionOptions, createRedisStore, type RedisStoreOptions } from "../../service/src/store/redis.js";
import { StoreUnavailableError, type Store } from "../../service/src/store/store.js";
import { startRedisServer, type RedisServer } from "../support/redis-server.js";
import { storeContract } from "./contract.js";

const COMMAND_TIMEOUT_MS = 200;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => server?.close());

const open = (o: Partial<RedisStoreOptions> = {}) =>
  createRedisStore({ url: server.socketPath, commandTimeoutMs: COMMAND_TIMEOUT_MS, reconnectMaxMs: 200, ...o });

let harnesses = 0;
storeContract("redis", async () => {
  // Windows are keyed per test; presence is one set per prefix, so each test's store gets its own prefix.
  const store = await open({ prefix: `contract${++harnesses}:` });
  return {
    store,
    now: () => Date.now(),
    // Redis keeps its own time: wait it out (+5 ms: Redis TIME and node timers round milliseconds differently).
    advance: (ms) => sleep(ms + 5),
    slackMs: 250,
    close: () => store.close(),
  };
});

describe("redis store", () => {
  it("never over-admits across instances: 3 clients × 200 concurrent calls against a limit of 150", async () => {
    const stores = await Promise.all([open(), open(), open()]);
    const w = { key: `burst-${Date.now()}`, limit: 150, periodMs: 60_000, cost: 1 };
    const tokens = { key: `tokens-${Date.now()}`, limit: 5000, periodMs: 86_400_000 }; // a unit drains every 17 s
    const results = await Promise.all(
      stores.flatMap((s, i) =>
        Array.from({ length: 200 }, (_, j) =>
          s.windows.admit([w], { windows: [tokens], amount: 1 + ((i + j) % 7), ttlMs: 60_000 }),
        ),
      ),
    );
    const admitted = results.filter((r) => r.admitted);
    expect(admitted).toHaveLength(150);
    const held = admitted.reduce((sum, r) => sum + (r.admitted ? r.reservation!.amount : 0), 0);
    const check = await stores[0]!.windows.admit([{ ...tokens, cost: 0 }]);
    expect(check.windows[0]!.remaining).toBe(5000 - held);
    await Promise.all(stores.map((s) => s.close()));
  });

  it("keeps every key under the prefix, with a hash tag per window, record, counter and entry", async () => {
    const store = await open({ prefix: "keys-test:" });
    const win = { key: "acme:rpm", limit: 10, periodMs: 60_000 };
    await store.windows.admit([{ ...win, cost: 1 }], {
      windows: [{ ...win, key: "acme:tpm" }],
      amount: 5,
      ttlMs: 9000,
    });
    await store.counters.add({ name: "spend:acme", period: "month" }, 3);
    await store.kv.set("budget", "on", 9000);
    expect(await store.presence.beat("instance-1", 9000)).toBe(1);
    const raw = new Redis(server.socketPath);
    const keys = (await raw.keys("keys-test:*")).sort();
    raw.disconnect();
    expect(keys).toHaveLength(6);
    // Each window is its own hash tag (windows spread over a cluster's shards); a hold's record goes with its first
    // window; counters and kv entries are single keys with their own tags.
    expect(keys).toContain("keys-test:{w:acme:rpm}");
    expect(keys).toContain("keys-test:{w:acme:tpm}");
    expect(keys.filter((k) => k.startsWith("keys-test:{w:acme:tpm}:r:"))).toHaveLength(1);
    expect(keys.filter((k) => /^keys-test:\{c:spend:acme:m\d{4}-\d\d\}$/.test(k))).toHaveLength(1);
    expect(keys).toContain("keys-test:{kv:budget}");
    expect(keys).toContain("keys-test:{p}:presence");
    await store.close();
    await expect(open({ prefix: "bad{" })).rejects.toThrow(RangeError);
  });

  it("builds TLS options from rediss:// and a CA file, and refuses a CA file without TLS", () => {
    const dir = mkdtempSync(join(tmpdir(), "ggw-ca-"));
    const ca = join(dir, "server-ca.pem");
    writeFileSync(ca, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    try {
      const tls = connectionOptions({ url: "rediss://10.0.0.3:6378", tlsCaFile: ca });
      expect(tls.tls).toEqual({ ca: expect.stringContaining("BEGIN CERTIFICATE") });
      expect(tls).toMatchObject({ enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 250 });
      expect(() => connectionOptions({ url: "redis://10.0.0.3:6379", tlsCaFile: ca })).toThrow(/rediss/);
      expect(() => connectionOptions({ url: "http://10.0.0.3" })).toThrow(RangeError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("is what createStore gives with a Redis URL (a unix socket path)", async () => {
    const store = await createStore({ redisUrl: server.socketPath });
    expect(store.kind).toBe("redis");
    expect(await store.health()).toMatchObject({ kind: "redis", ok: true });
    await store.close();
  });
});

// Last: it takes the server down. Same client throughout: it must come back by itself.
describe("redis outage", () => {
  let store: Store;
  const w = { key: `outage-${Date.now()}`, limit: 1000, periodMs: 60_000 };
  const admitOne = () => store.windows.admit([{ ...w, cost: 1 }]);
  async function rejectsPromptly(op: () => Promise<unknown>): Promise<number> {
    const started = performance.now();
    await expect(op()).rejects.toThrow(StoreUnavailableError);
    return performance.now() - started;
  }

  beforeAll(async () => {
    store = await open();
  });
  afterAll(async () => store?.close());

  it("rejects within the command timeout while the server is frozen (connected, silent)", async () => {
    expect((await admitOne()).admitted).toBe(true);
    server.freeze();
    try {
      const elapsed = await rejectsPromptly(admitOne);
      expect(elapsed).toBeLessThan(COMMAND_TIMEOUT_MS + 300);
      expect(elapsed).toBeGreaterThanOrEqual(COMMAND_TIMEOUT_MS - 5);
      expect(await store.health()).toMatchObject({ ok: false, latencyMs: null });
    } finally {
      server.thaw();
    }
    await eventually(async () => expect((await admitOne()).admitted).toBe(true));
  });

  it("rejects every operation at once while the server is down, then works again after a restart", async () => {
    await server.stop("SIGKILL");
    await eventually(async () => expect(await store.health()).toMatchObject({ ok: false }));
    for (const op of [
      admitOne,
      () => store.kv.get("k"),
      () => store.counters.read({ name: "n", period: "day" }),
      () => store.presence.beat("i", 1000),
    ]) {
      expect(await rejectsPromptly(op)).toBeLessThan(COMMAND_TIMEOUT_MS + 300);
    }
    await server.restart(); // empty: the script cache is gone too (NOSCRIPT → EVAL)
    await eventually(async () => expect(await store.health()).toMatchObject({ ok: true }));
    expect((await admitOne()).admitted).toBe(true);
    expect(await store.counters.add({ name: "after-restart", period: "day" }, 2)).toBe(2);
  });
});

async function eventually(check: () => Promise<void>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(50);
    }
  }
}
