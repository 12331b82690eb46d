/**
 * The store layer: rate windows (one atomic admission over several limits, with reservations reconciled later),
 * period counters, a small key-value store and the count of live instances (presence) — the shared state the
 * admission, reconcile and budget stages need (contracts in store.ts; decision 0007). With a Redis URL (the REDIS_URL
 * setting) every instance shares one Redis; without, an in-memory store serves this one process, which is the embedded
 * default for `npm start` and tests. Options are plain values: reading the environment is config/env.ts's job.
 */
import { createMemoryStore, type MemoryStoreOptions } from "./memory.js";
import { createRedisStore, type RedisStoreOptions } from "./redis.js";
import type { Store } from "./store.js";

export * from "./store.js";

export interface StoreOptions extends Omit<RedisStoreOptions, "url">, MemoryStoreOptions {
  /** Set → the Redis store (`redis://`, `rediss://` or a unix socket path); absent or empty → in memory. */
  redisUrl?: string;
}

/**
 * Resolves once Redis answered or the first connection attempt failed (bounded by `connectTimeoutMs`): an outage at
 * start-up is not an error here, `health()` reports it and operations reject with StoreUnavailableError until it ends.
 */
export async function createStore(options: StoreOptions = {}): Promise<Store> {
  const { redisUrl, now, ...rest } = options;
  if (redisUrl) return createRedisStore({ ...rest, url: redisUrl });
  return createMemoryStore({ now, counterMarginMs: options.counterMarginMs });
}
