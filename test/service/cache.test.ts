/**
 * The response cache and request coalescing (service/src/cache): key canonicalisation and the use/bypass decision,
 * the two tiers (LRU + shared store) with the memory store and a real Redis, freshness and grace, the replay helpers
 * that let either kind of call use either kind of entry, and single flight within a process and across two
 * instances sharing one Redis.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { cacheDecision, cacheKey, canonicalJson } from "../../service/src/cache/cache-key.js";
import { createCoalescer } from "../../service/src/cache/coalesce.js";
import {
  createResponseCache,
  MAX_ENTRY_BYTES,
  streamChunks,
  unaryBody,
  type CacheEntry,
} from "../../service/src/cache/response-cache.js";
import { createMemoryStore } from "../../service/src/store/memory.js";
import { createRedisStore } from "../../service/src/store/redis.js";
import type { KeyValue, Leases, Store } from "../../service/src/store/store.js";
import { GatewayError } from "../../service/src/wire/errors.js";
import { startRedisServer, type RedisServer } from "../support/redis-server.js";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const T0 = Date.parse("2026-11-25T12:00:00Z");

let server: RedisServer;
let prefixes = 0;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => server?.close());
/** A Redis store client of its own; `prefix` shared by clients meant to see each other's keys. */
const openRedis = (prefix: string) => createRedisStore({ url: server.socketPath, prefix, commandTimeoutMs: 500 });
const freshPrefix = () => `cache${++prefixes}-${Math.random().toString(36).slice(2, 8)}:`;

/** A one-chunk (unary) entry whose chunk is about `bytes` long. */
function unaryEntry(text: string, storedAt: number, bytes = 0): CacheEntry {
  const padded = text + "x".repeat(Math.max(0, bytes - text.length));
  const chunk = JSON.stringify({
    candidates: [{ content: { role: "model", parts: [{ text: padded }] }, finishReason: "STOP", index: 0 }],
    usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 2, totalTokenCount: 5 },
    modelVersion: "gemini-2.5-flash",
  });
  return {
    chunks: [chunk],
    model: "gemini-2.5-flash",
    usage: { promptTokenCount: 3, candidatesTokenCount: 2, totalTokenCount: 5 },
    costUsd: 0.000012,
    storedAt,
  };
}

/** A KeyValue that counts the calls reaching it. */
function counting(kv: KeyValue): KeyValue & { gets: number; sets: number } {
  const c = {
    gets: 0,
    sets: 0,
    get: (k: string) => (c.gets++, kv.get(k)),
    set: (k: string, v: string, ttl: number) => (c.sets++, kv.set(k, v, ttl)),
  };
  return c;
}

// ── key and decision ───────────────────────────────────────────────────────────────────────────────────────────────

describe("cacheKey", () => {
  const doc = {
    contents: [{ role: "user", parts: [{ text: "What is 2 + 2?" }] }],
    systemInstruction: { parts: [{ text: "Answer briefly." }] },
    generationConfig: { temperature: 0, maxOutputTokens: 64, stopSequences: ["\n\n"] },
    tools: [{ functionDeclarations: [{ name: "add", parameters: { type: "OBJECT" } }] }],
    toolConfig: { functionCallingConfig: { mode: "AUTO" } },
    safetySettings: [{ category: "HARM_CATEGORY_HARASSMENT", threshold: "BLOCK_NONE" }],
  };
  const key = (d: Record<string, unknown>, tenant = "acme", model = "gemini-2.5-flash") => cacheKey(tenant, model, d);

  it("is a SHA-256 hex digest that ignores key order at every depth", () => {
    expect(key(doc)).toMatch(/^[0-9a-f]{64}$/);
    const reordered = {
      safetySettings: [{ threshold: "BLOCK_NONE", category: "HARM_CATEGORY_HARASSMENT" }],
      toolConfig: { functionCallingConfig: { mode: "AUTO" } },
      tools: [{ functionDeclarations: [{ parameters: { type: "OBJECT" }, name: "add" }] }],
      generationConfig: { stopSequences: ["\n\n"], maxOutputTokens: 64, temperature: 0 },
      systemInstruction: { parts: [{ text: "Answer briefly." }] },
      contents: [{ parts: [{ text: "What is 2 + 2?" }], role: "user" }],
    };
    expect(key(reordered)).toBe(key(doc));
    expect(key(JSON.parse(JSON.stringify(doc, null, 2)) as Record<string, unknown>)).toBe(key(doc));
    expect(canonicalJson({ b: [2, { d: 1, c: undefined }], a: null })).toBe('{"a":null,"b":[2,{"d":1}]}');
  });

  it("separates tenants and models", () => {
    expect(key(doc, "globex")).not.toBe(key(doc));
    expect(key(doc, "acme", "gemini-2.5-pro")).not.toBe(key(doc));
    // No ambiguity between a tenant and the fields: each is a separate member of the hashed object.
    expect(cacheKey("a", "bc", doc)).not.toBe(cacheKey("ab", "c", doc));
  });

  it("changes with every field that shapes the answer, and with the order of contents", () => {
    const variants: Record<string, unknown>[] = [
      { ...doc, contents: [{ role: "user", parts: [{ text: "What is 2 + 3?" }] }] },
      { ...doc, systemInstruction: { parts: [{ text: "Answer at length." }] } },
      { ...doc, generationConfig: { ...doc.generationConfig, maxOutputTokens: 65 } },
      { ...doc, tools: [{ functionDeclarations: [{ name: "sub", parameters: { type: "OBJECT" } }] }] },
      { ...doc, toolConfig: { functionCallingConfig: { mode: "ANY" } } },
      { ...doc, safetySettings: [{ category: "HARM_CATEGORY_HARASSMENT", threshold: "BLOCK_LOW_AND_ABOVE" }] },
      { ...doc, cachedContent: "projects/p/locations/l/cachedContents/123" },
      {
        ...doc,
        contents: [
          { role: "user", parts: [{ text: "a" }] },
          { role: "model", parts: [{ text: "b" }] },
        ],
      },
      {
        ...doc,
        contents: [
          { role: "model", parts: [{ text: "b" }] },
          { role: "user", parts: [{ text: "a" }] },
        ],
      },
    ];
    const keys = new Set([key(doc), ...variants.map((v) => key(v))]);
    expect(keys.size).toBe(variants.length + 1);
    for (const field of ["systemInstruction", "generationConfig", "tools", "toolConfig", "safetySettings"]) {
      const without: Record<string, unknown> = { ...doc };
      delete without[field];
      expect(key(without), field).not.toBe(key(doc));
    }
  });

  it("ignores labels and absent vs undefined, and keys every other field, even ones it does not know", () => {
    expect(key({ ...doc, labels: { team: "search" } })).toBe(key(doc));
    // A field Google reads may change the answer: leaving it out would serve one request another's answer.
    expect(key({ ...doc, somethingNew: 1 })).not.toBe(key(doc));
    expect(key({ ...doc, serviceTier: "priority" })).not.toBe(key(doc));
    expect(key(JSON.parse('{"__proto__":{"a":1}}') as Record<string, unknown>)).not.toBe(key({}));
    expect(key({ ...doc, tools: undefined })).toBe(key({ ...doc, tools: undefined, toolConfig: doc.toolConfig }));
    const { tools: _tools, ...noTools } = doc;
    expect(key({ ...doc, tools: undefined })).toBe(key(noTools));
  });
});

describe("cacheDecision", () => {
  const deterministic = { contents: [], generationConfig: { temperature: 0 } };
  const creative = { contents: [], generationConfig: { temperature: 0.7 } };

  it("uses the cache for deterministic requests (temperature 0) unless the client opts out", () => {
    expect(cacheDecision(deterministic, {})).toBe("use");
    expect(cacheDecision({ contents: [], generationConfig: { temperature: 0.0 } }, {})).toBe("use");
    expect(cacheDecision(creative, {})).toBe("bypass");
    expect(cacheDecision({ contents: [] }, {})).toBe("bypass"); // the model's default temperature is not 0
    expect(cacheDecision({ contents: [], generationConfig: { temperature: "0" } }, {})).toBe("bypass");
    expect(cacheDecision(deterministic, { xGatewayCache: "bypass" })).toBe("bypass");
    expect(cacheDecision(deterministic, { cacheControl: "no-store" })).toBe("bypass");
    expect(cacheDecision(deterministic, { cacheControl: "max-age=0, No-Store" })).toBe("bypass");
    expect(cacheDecision(deterministic, { cacheControl: "no-cache" })).toBe("use");
    expect(cacheDecision(deterministic, { xGatewayCache: "" })).toBe("use"); // empty: as if absent
  });

  it("uses the cache for any request when asked with x-gateway-cache: use", () => {
    expect(cacheDecision(creative, { xGatewayCache: "use" })).toBe("use");
    expect(cacheDecision(creative, { xGatewayCache: " USE " })).toBe("use");
    expect(cacheDecision(creative, { xGatewayCache: "use", cacheControl: "no-store" })).toBe("use");
  });

  it("answers 400 INVALID_ARGUMENT for any other x-gateway-cache value", () => {
    let err: unknown;
    try {
      cacheDecision(deterministic, { xGatewayCache: "always" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GatewayError);
    expect(err).toMatchObject({ httpCode: 400, status: "INVALID_ARGUMENT" });
    expect((err as Error).message).toMatch(/x-gateway-cache must be "use" or "bypass", got "always"/);
  });
});

// ── response cache ─────────────────────────────────────────────────────────────────────────────────────────────────

describe("response cache", () => {
  it("serves what was set from this process's LRU alone", async () => {
    let now = T0;
    const cache = createResponseCache({ maxBytes: 1 << 20, now: () => now });
    expect(await cache.get("k")).toBeUndefined();
    const entry = unaryEntry("four", T0);
    await cache.set("k", entry, 60_000, 10_000);
    now += 1234;
    expect(await cache.get("k")).toEqual({ entry, ageMs: 1234, fresh: true });
  });

  it("shares entries through the store's kv, and fills the LRU from a kv hit", async () => {
    let now = T0;
    const store = createMemoryStore({ now: () => now });
    const kvA = counting(store.kv);
    const kvB = counting(store.kv);
    const a = createResponseCache({ kv: kvA, maxBytes: 1 << 20, now: () => now });
    const b = createResponseCache({ kv: kvB, maxBytes: 1 << 20, now: () => now });
    const entry = unaryEntry("four", T0);
    await a.set("k", entry, 60_000, 10_000);
    expect(kvA.sets).toBe(1);
    expect(await a.get("k")).toMatchObject({ fresh: true });
    expect(kvA.gets).toBe(0); // a fresh LRU hit does not ask the store
    now += 10;
    expect(await b.get("k")).toEqual({ entry, ageMs: 10, fresh: true });
    expect(kvB.gets).toBe(1);
    expect(await b.get("k")).toMatchObject({ fresh: true });
    expect(kvB.gets).toBe(1); // now in b's LRU
  });

  it("is fresh for its TTL, stale within its grace, and gone from both tiers after", async () => {
    let now = T0;
    const store = createMemoryStore({ now: () => now });
    const cache = createResponseCache({ kv: store.kv, maxBytes: 1 << 20, now: () => now });
    const viaStore = () => createResponseCache({ kv: store.kv, maxBytes: 1 << 20, now: () => now }).get("k");
    await cache.set("k", unaryEntry("four", T0), 1000, 500);
    now = T0 + 999;
    expect(await cache.get("k")).toMatchObject({ fresh: true, ageMs: 999 });
    expect(await viaStore()).toMatchObject({ fresh: true, ageMs: 999 });
    now = T0 + 1000;
    expect(await cache.get("k")).toMatchObject({ fresh: false, ageMs: 1000 });
    now = T0 + 1499;
    expect(await cache.get("k")).toMatchObject({ fresh: false, ageMs: 1499 });
    expect(await viaStore()).toMatchObject({ fresh: false, ageMs: 1499 });
    now = T0 + 1500;
    expect(await cache.get("k")).toBeUndefined();
    expect(await viaStore()).toBeUndefined();
    // An answer already older than ttl + grace is not stored at all.
    await cache.set("old", unaryEntry("old", T0 - 2000), 1000, 500);
    expect(await cache.get("old")).toBeUndefined();
  });

  it("prefers a newer answer from the store over a stale one in its LRU", async () => {
    let now = T0;
    const store = createMemoryStore({ now: () => now });
    const a = createResponseCache({ kv: store.kv, maxBytes: 1 << 20, now: () => now });
    const b = createResponseCache({ kv: store.kv, maxBytes: 1 << 20, now: () => now });
    await a.set("k", unaryEntry("old", T0), 1000, 5000);
    now = T0 + 2000;
    expect(await a.get("k")).toMatchObject({ fresh: false });
    await b.set("k", unaryEntry("new", now), 1000, 5000); // another instance refreshed it
    const hit = await a.get("k");
    expect(hit).toMatchObject({ fresh: true, ageMs: 0 });
    expect(hit!.entry.chunks[0]).toContain('"new');
  });

  it("evicts the least recently used entries by bytes", async () => {
    const cache = createResponseCache({ maxBytes: 3000, now: () => T0 });
    for (const k of ["a", "b"]) await cache.set(k, unaryEntry(k, T0, 1000), 60_000, 0);
    expect(await cache.get("a")).toBeDefined(); // a is now more recent than b
    await cache.set("c", unaryEntry("c", T0, 1000), 60_000, 0); // ~1.5 kB each serialised: room for two
    expect(await cache.get("b")).toBeUndefined();
    expect(await cache.get("a")).toBeDefined();
    expect(await cache.get("c")).toBeDefined();
    // Counted in bytes, not entries: six small ones (~0.5 kB) fit where two large ones did, and push them out.
    for (let i = 0; i < 6; i++) await cache.set(`s${i}`, unaryEntry(`s${i}`, T0), 60_000, 0);
    const small = await Promise.all(Array.from({ length: 6 }, (_, i) => cache.get(`s${i}`)));
    expect(small.every(Boolean)).toBe(true);
    expect(await cache.get("a")).toBeUndefined();
    expect(await cache.get("c")).toBeUndefined();
  });

  it("does not cache an entry over 1 MiB, in either tier", async () => {
    const kv = counting(createMemoryStore().kv);
    const cache = createResponseCache({ kv, maxBytes: 8 << 20 });
    await cache.set("big", unaryEntry("big", Date.now(), MAX_ENTRY_BYTES), 60_000, 0);
    expect(await cache.get("big")).toBeUndefined();
    expect(kv.sets).toBe(0);
    await cache.set("fits", unaryEntry("fits", Date.now(), MAX_ENTRY_BYTES - 1000), 60_000, 0);
    expect(await cache.get("fits")).toBeDefined();
    expect(kv.sets).toBe(1);
  });

  it("treats store errors and unreadable records as misses, reports them, and never throws", async () => {
    const closed = createMemoryStore();
    await closed.close();
    const reported: unknown[] = [];
    const cache = createResponseCache({ kv: closed.kv, maxBytes: 1 << 20, onStoreError: (e) => reported.push(e) });
    expect(await cache.get("k")).toBeUndefined();
    await cache.set("k", unaryEntry("four", Date.now()), 60_000, 0); // resolves; the LRU still has it
    expect(await cache.get("k")).toMatchObject({ fresh: true });
    expect(reported.map((e) => (e as Error).name)).toEqual(["StoreUnavailableError", "StoreUnavailableError"]);

    const store = createMemoryStore();
    await store.kv.set("cache:corrupt", "{not json", 60_000);
    await store.kv.set("cache:other-version", JSON.stringify({ v: 99, entry: {} }), 60_000);
    const throwing = createResponseCache({
      kv: store.kv,
      maxBytes: 1 << 20,
      onStoreError: () => {
        throw new Error("a broken reporter");
      },
    });
    expect(await throwing.get("corrupt")).toBeUndefined();
    expect(await throwing.get("other-version")).toBeUndefined();
  });

  it("refuses invalid arguments", async () => {
    expect(() => createResponseCache({ maxBytes: 0 })).toThrow(RangeError);
    const cache = createResponseCache({ maxBytes: 1 << 20 });
    await expect(cache.set("k", unaryEntry("x", Date.now()), 0, 0)).rejects.toThrow(RangeError);
    await expect(cache.set("k", unaryEntry("x", Date.now()), 1000, -1)).rejects.toThrow(RangeError);
    await expect(cache.set("k", { ...unaryEntry("x", Date.now()), chunks: [] }, 1000, 0)).rejects.toThrow(RangeError);
  });

  describe("with Redis", () => {
    const stores: Store[] = [];
    afterAll(async () => {
      await Promise.all(stores.map((s) => s.close()));
    });

    it("shares entries between two instances (two clients), fresh, then stale, then gone", async () => {
      const prefix = freshPrefix();
      stores.push(await openRedis(prefix), await openRedis(prefix));
      const reported: unknown[] = [];
      const onStoreError = (e: unknown) => reported.push(e);
      const a = createResponseCache({ kv: stores[0]!.kv, maxBytes: 1 << 20, onStoreError });
      const b = () => createResponseCache({ kv: stores[1]!.kv, maxBytes: 1 << 20, onStoreError });
      const entry = unaryEntry("four", Date.now());
      await a.set("k", entry, 300, 700);
      const first = await b().get("k");
      expect(first).toMatchObject({ entry, fresh: true });
      await sleep(350);
      expect(await b().get("k")).toMatchObject({ fresh: false });
      await sleep(700);
      expect(await b().get("k")).toBeUndefined(); // Redis dropped it (PX ttl + grace)
      expect(reported).toEqual([]);
    });

    it("is a miss, reported, when Redis cannot be reached", async () => {
      const down = await createRedisStore({ url: `${server.socketPath}.absent`, connectTimeoutMs: 200 });
      stores.push(down);
      const reported: unknown[] = [];
      const cache = createResponseCache({ kv: down.kv, maxBytes: 1 << 20, onStoreError: (e) => reported.push(e) });
      expect(await cache.get("k")).toBeUndefined();
      await cache.set("k", unaryEntry("four", Date.now()), 60_000, 0);
      expect(await cache.get("k")).toMatchObject({ fresh: true });
      expect(reported.length).toBe(2);
    });
  });
});

describe("replay", () => {
  const entryOf = (chunks: unknown[]): CacheEntry => ({
    chunks: chunks.map((c) => JSON.stringify(c)),
    model: "gemini-2.5-flash",
    usage: undefined,
    costUsd: undefined,
    storedAt: T0,
  });

  it("merges a streamed answer into one unary response", () => {
    const streamed = entryOf([
      {
        candidates: [{ content: { role: "model", parts: [{ text: "Let me think", thought: true }] }, index: 0 }],
        modelVersion: "gemini-2.5-flash",
        responseId: "r-1",
        createTime: "2026-11-25T12:00:00Z",
      },
      {
        candidates: [
          { content: { role: "model", parts: [{ text: "…", thought: true }, { text: "Two plus" }] }, index: 0 },
        ],
        modelVersion: "gemini-2.5-flash",
        responseId: "r-1",
      },
      {
        candidates: [
          {
            content: { role: "model", parts: [{ text: " two is four." }, { functionCall: { name: "log", args: {} } }] },
            index: 0,
            safetyRatings: [{ category: "HARM_CATEGORY_HARASSMENT", probability: "NEGLIGIBLE" }],
          },
        ],
        modelVersion: "gemini-2.5-flash",
        responseId: "r-1",
      },
      {
        candidates: [
          {
            content: { role: "model", parts: [{ text: "Done.", thoughtSignature: "sig" }] },
            finishReason: "STOP",
            index: 0,
          },
        ],
        usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 9, totalTokenCount: 14 },
        modelVersion: "gemini-2.5-flash-001",
        responseId: "r-1",
      },
    ]);
    expect(JSON.parse(unaryBody(streamed))).toEqual({
      candidates: [
        {
          index: 0,
          finishReason: "STOP",
          safetyRatings: [{ category: "HARM_CATEGORY_HARASSMENT", probability: "NEGLIGIBLE" }],
          content: {
            role: "model",
            parts: [
              { text: "Let me think…", thought: true },
              { text: "Two plus two is four." },
              { functionCall: { name: "log", args: {} } },
              { text: "Done.", thoughtSignature: "sig" },
            ],
          },
        },
      ],
      usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 9, totalTokenCount: 14 },
      modelVersion: "gemini-2.5-flash-001",
      responseId: "r-1",
      createTime: "2026-11-25T12:00:00Z",
    });
  });

  it("merges each candidate on its own, by index", () => {
    const text = (index: number, t: string, finishReason?: string) => ({
      content: { role: "model", parts: [{ text: t }] },
      index,
      ...(finishReason ? { finishReason } : {}),
    });
    const streamed = entryOf([
      { candidates: [text(0, "A1"), text(1, "B1")] },
      { candidates: [text(1, "B2", "STOP")] },
      { candidates: [text(0, "A2", "MAX_TOKENS")] },
    ]);
    const merged = JSON.parse(unaryBody(streamed)) as { candidates: { content: { parts: unknown[] } }[] };
    expect(merged.candidates).toEqual([
      { index: 0, finishReason: "MAX_TOKENS", content: { role: "model", parts: [{ text: "A1A2" }] } },
      { index: 1, finishReason: "STOP", content: { role: "model", parts: [{ text: "B1B2" }] } },
    ]);
  });

  it("replays a unary answer as is, and as a one-chunk stream on one line", () => {
    const pretty = JSON.stringify(JSON.parse(unaryEntry("four", T0).chunks[0]!), null, 2);
    const entry: CacheEntry = { ...unaryEntry("four", T0), chunks: [pretty] };
    expect(unaryBody(entry)).toBe(pretty);
    const chunks = streamChunks(entry);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]).not.toMatch(/[\r\n]/);
    expect(JSON.parse(chunks[0]!)).toEqual(JSON.parse(pretty));
  });

  it("replays a streamed answer chunk by chunk", () => {
    const streamed = entryOf([{ candidates: [] }, { usageMetadata: { totalTokenCount: 1 } }]);
    expect(streamChunks(streamed)).toEqual(streamed.chunks);
  });
});

// ── coalescing ─────────────────────────────────────────────────────────────────────────────────────────────────────

describe("coalescer", () => {
  /** A promise with its resolve/reject outside. */
  function deferred<T>() {
    let resolve!: (v: T) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
    return { promise, resolve, reject };
  }

  it("runs one leader for 50 concurrent calls with one key, in this process", async () => {
    for (const kv of [undefined, createMemoryStore().kv]) {
      const coalescer = createCoalescer({ kv, leaseMs: 5000 });
      let leaders = 0;
      const gate = deferred<string>();
      const calls = Array.from({ length: 50 }, () =>
        coalescer.run(
          "k",
          () => (leaders++, gate.promise),
          async () => undefined,
        ),
      );
      await sleep(10);
      gate.resolve("four");
      const results = await Promise.all(calls);
      expect(leaders).toBe(1);
      expect(results.filter((r) => r.role === "leader")).toHaveLength(1);
      expect(results.every((r) => r.value === "four")).toBe(true);
      // The flight is over: the next call leads again, and the lease was released.
      expect(
        await coalescer.run(
          "k",
          async () => "again",
          async () => undefined,
        ),
      ).toEqual({
        role: "leader",
        value: "again",
      });
      expect(leaders).toBe(1);
    }
  });

  it("keeps different keys apart", async () => {
    const coalescer = createCoalescer({ leaseMs: 5000 });
    const results = await Promise.all(
      ["a", "b", "a"].map((k) =>
        coalescer.run(
          k,
          async () => `${k}!`,
          async () => undefined,
        ),
      ),
    );
    expect(results).toEqual([
      { role: "leader", value: "a!" },
      { role: "leader", value: "b!" },
      { role: "follower", value: "a!" },
    ]);
  });

  it("gives the leader's rejection to every follower, and starts anew afterwards", async () => {
    const coalescer = createCoalescer({ kv: createMemoryStore().kv, leaseMs: 5000 });
    const gate = deferred<string>();
    const calls = Array.from({ length: 5 }, () =>
      coalescer.run(
        "k",
        () => gate.promise,
        async () => undefined,
      ),
    );
    await sleep(5);
    gate.reject(new Error("upstream 503"));
    const settled = await Promise.allSettled(calls);
    expect(settled.every((s) => s.status === "rejected" && (s.reason as Error).message === "upstream 503")).toBe(true);
    expect(
      await coalescer.run(
        "k",
        async () => "ok",
        async () => undefined,
      ),
    ).toEqual({ role: "leader", value: "ok" });
  });

  it("leads when the store is down, reporting the error", async () => {
    const closed = createMemoryStore();
    await closed.close();
    const down = await createRedisStore({ url: `${server.socketPath}.absent`, connectTimeoutMs: 200 });
    try {
      for (const kv of [closed.kv, down.kv]) {
        const reported: unknown[] = [];
        const coalescer = createCoalescer({ kv, leaseMs: 5000, onStoreError: (e) => reported.push(e) });
        expect(
          await coalescer.run(
            "k",
            async () => 4,
            async () => undefined,
          ),
        ).toEqual({ role: "leader", value: 4 });
        expect(reported).toHaveLength(1);
        expect((reported[0] as Error).name).toBe("StoreUnavailableError");
      }
    } finally {
      await down.close();
    }
  });

  it("leads when follower() fails, rather than failing the call", async () => {
    const kv = createMemoryStore().kv;
    await kv.claim("lease:k", "another-instance", 60_000);
    const coalescer = createCoalescer({ kv, leaseMs: 5000, pollMs: 5 });
    const result = await coalescer.run(
      "k",
      async () => "mine",
      async () => {
        throw new Error("cache unreadable");
      },
    );
    expect(result).toEqual({ role: "leader", value: "mine" });
  });

  describe("across two instances sharing one Redis", () => {
    const stores: Store[] = [];
    afterAll(async () => {
      await Promise.all(stores.map((s) => s.close()));
    });
    const twoInstances = async () => {
      const prefix = freshPrefix();
      const s = [await openRedis(prefix), await openRedis(prefix)];
      stores.push(...s);
      return s.map((store) => ({
        store,
        cache: createResponseCache({ kv: store.kv, maxBytes: 1 << 20 }),
        coalescer: createCoalescer({ kv: store.kv, leaseMs: 5000, pollMs: 20 }),
      }));
    };

    it("runs exactly one leader; the other instance follows once the answer is in the shared cache", async () => {
      const [a, b] = await twoInstances();
      const key = cacheKey("acme", "gemini-2.5-flash", { contents: [{ parts: [{ text: "2+2?" }] }] });
      const leaders: string[] = [];
      const gate = deferred<void>();
      const call = (i: typeof a, name: string) =>
        i!.coalescer.run(
          key,
          async () => {
            leaders.push(name);
            await gate.promise; // the model is thinking
            const entry = unaryEntry("four", Date.now());
            await i!.cache.set(key, entry, 60_000, 0);
            return entry;
          },
          async () => (await i!.cache.get(key))?.entry,
        );
      const first = call(a, "a");
      while ((await a!.store.kv.get(`lease:${key}`)) === null) await sleep(5); // a has claimed the lease
      const second = Promise.all(Array.from({ length: 10 }, () => call(b, "b")));
      await sleep(100); // b polls meanwhile
      expect(leaders).toEqual(["a"]);
      gate.resolve();
      const [ra, rb] = await Promise.all([first, second]);
      expect(leaders).toEqual(["a"]);
      expect(ra.role).toBe("leader");
      expect(rb.every((r) => r.role === "follower")).toBe(true);
      expect(rb[0]!.value).toEqual(ra.value);
      // released: after the leader settles, by a compare-and-delete the leader does not wait for (coalesce.ts)
      await vi.waitFor(async () => expect(await a!.store.kv.get(`lease:${key}`)).toBeNull());
    });

    it("leads once a crashed leader's lease expires", async () => {
      const [a, b] = await twoInstances();
      expect(await a!.store.kv.claim("lease:crashed", "dead-instance", 300)).toBe(true); // and never released
      const started = performance.now();
      const result = await b!.coalescer.run(
        "crashed",
        async () => "mine",
        async () => undefined,
      );
      const waited = performance.now() - started;
      expect(result).toEqual({ role: "leader", value: "mine" });
      expect(waited).toBeGreaterThanOrEqual(250);
      expect(waited).toBeLessThan(1500);
    });

    it("stops waiting on another instance's lease at its own deadline, and makes the call itself", async () => {
      const [a, b] = await twoInstances();
      expect(await a!.store.kv.claim("lease:held", "busy-instance", 60_000)).toBe(true); // a slow leader elsewhere
      const started = performance.now();
      const result = await b!.coalescer.run(
        "held",
        async () => "mine",
        async () => undefined,
        Date.now() + 200,
      );
      const waited = performance.now() - started;
      expect(result).toEqual({ role: "leader", value: "mine" });
      expect(waited).toBeGreaterThanOrEqual(150);
      expect(waited).toBeLessThan(1500);
    });

    it("releases only its own lease: a leader that outlived its lease leaves the next holder's alone", async () => {
      const [a, b] = await twoInstances();
      const slow = createCoalescer({ kv: a!.store.kv, leaseMs: 100, pollMs: 20 });
      const gate = deferred<string>();
      const run = slow.run(
        "slow",
        () => gate.promise,
        async () => undefined,
      );
      await sleep(150); // a's lease has expired, a still leads
      const leases: Leases = b!.store.kv;
      expect(await leases.claim("lease:slow", "next-holder", 60_000)).toBe(true);
      gate.resolve("late");
      expect(await run).toEqual({ role: "leader", value: "late" });
      await sleep(20);
      expect(await b!.store.kv.get("lease:slow")).toBe("next-holder");
    });
  });
});
