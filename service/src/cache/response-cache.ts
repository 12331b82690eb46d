/**
 * The response cache: answers kept in two tiers, an LRU in this process (bounded by bytes) in front of the shared
 * store's KeyValue (every instance sees what one stored). An entry is the answer as the client saw it, in a form both
 * kinds of call can replay: the recorded chunks (one for a unary answer, one per stream chunk), each a Gemini
 * GenerateContentResponse in JSON. `unaryBody` merges a streamed answer into one response and `streamChunks` replays a
 * unary answer as a one-chunk stream, which is why the key ignores the method (cache-key.ts).
 *
 * Freshness: an entry is fresh for `ttlMs` after it was stored (`entry.storedAt`) and may still be served stale for
 * `graceMs` after that (the caller decides whether stale is good enough, e.g. while the upstream is failing); after
 * ttl + grace it is gone from both tiers. The shared tier is best effort: a store error is a miss (get) or a skipped
 * write (set), reported through `onStoreError` and never thrown — the cache must never fail a call the upstream could
 * answer. Entries over 1 MiB (serialised) are not cached: they would crowd out the LRU and make the shared store's
 * round trips slow for everybody.
 */
import { LRUCache } from "lru-cache";
import type { GenerateContentResponseWire, UsageMetadataWire } from "../wire/gemini.js";
import type { KeyValue } from "../store/store.js";

/** The largest entry cached, serialised (bytes). */
export const MAX_ENTRY_BYTES = 1024 * 1024;

/** Entries live in the shared store under `cache:<key>`. */
const KV_PREFIX = "cache:";
/** The serialised record's format; a record of another version is a miss. */
const RECORD_VERSION = 1;

/** One cached answer. */
export interface CacheEntry {
  /** Gemini GenerateContentResponse JSON strings: one for a unary answer, one per chunk for a streamed one. */
  readonly chunks: readonly string[];
  readonly model: string;
  /** The answer's usageMetadata (what the original call was billed), for the record of a hit. */
  readonly usage: UsageMetadataWire | undefined;
  readonly costUsd: number | undefined;
  /** Epoch ms when the answer was produced; the entry's age counts from here. */
  readonly storedAt: number;
}

export interface CacheHit {
  entry: CacheEntry;
  ageMs: number;
  /** Younger than its TTL; otherwise stale but within its grace. */
  fresh: boolean;
}

export interface ResponseCache {
  /** LRU first, then the shared store (a hit there fills the LRU). Never rejects. */
  get(key: string): Promise<CacheHit | undefined>;
  /**
   * Stores in both tiers: fresh for `ttlMs` from `entry.storedAt`, kept `graceMs` longer to be served stale. An entry
   * over MAX_ENTRY_BYTES, or already past ttl + grace, is not stored. Rejects only on invalid arguments (RangeError).
   */
  set(key: string, entry: CacheEntry, ttlMs: number, graceMs: number): Promise<void>;
}

export interface ResponseCacheOptions {
  /** The shared tier; absent: this process's LRU only. */
  kv?: KeyValue;
  /** The LRU tier's size, in bytes of serialised entries. */
  maxBytes: number;
  /** Called with each shared-store error (or unreadable record), which is then treated as a miss. */
  onStoreError?: (err: unknown) => void;
  /** Epoch ms clock for ages and expiry; tests inject one. Default Date.now. */
  now?: () => number;
}

/** What both tiers hold: the entry, its TTL (to tell fresh from stale) and its serialised size. */
interface CacheRecord {
  entry: CacheEntry;
  ttlMs: number;
  expiresAt: number;
  bytes: number;
}

export function createResponseCache(options: ResponseCacheOptions): ResponseCache {
  const { kv, onStoreError } = options;
  const now = options.now ?? Date.now;
  if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes <= 0) {
    throw new RangeError(`maxBytes must be a positive integer, got ${options.maxBytes}`);
  }
  // Expiry is checked here on read rather than by lru-cache's TTL, so that both tiers use the one injected clock.
  const lru = new LRUCache<string, CacheRecord>({
    maxSize: options.maxBytes,
    sizeCalculation: (r) => Math.max(1, r.bytes),
  });
  const report = (err: unknown) => {
    try {
      onStoreError?.(err);
    } catch {
      // A failing reporter must not turn a cache miss into a failed call.
    }
  };
  const hit = (r: CacheRecord, at: number): CacheHit => {
    const ageMs = Math.max(0, at - r.entry.storedAt);
    return { entry: r.entry, ageMs, fresh: ageMs < r.ttlMs };
  };

  async function fromStore(key: string, at: number): Promise<CacheRecord | undefined> {
    if (!kv) return undefined;
    let raw: string | null;
    try {
      raw = await kv.get(KV_PREFIX + key);
    } catch (err) {
      report(err);
      return undefined;
    }
    if (raw === null) return undefined;
    const record = parseRecord(raw);
    if (!record) {
      report(new Error(`unreadable response cache record under ${KV_PREFIX}${key}`));
      return undefined;
    }
    return record.expiresAt > at ? record : undefined;
  }

  return {
    async get(key) {
      const at = now();
      const local = lru.get(key);
      if (local && local.expiresAt <= at) lru.delete(key);
      const live = local && local.expiresAt > at ? local : undefined;
      if (live && hit(live, at).fresh) return hit(live, at);
      // Missing or stale here: another instance may have stored a newer answer since.
      const shared = await fromStore(key, at);
      const best = shared && (!live || shared.entry.storedAt > live.entry.storedAt) ? shared : live;
      if (!best) return undefined;
      if (best === shared) lru.set(key, shared);
      return hit(best, at);
    },

    async set(key, entry, ttlMs, graceMs) {
      if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) throw new RangeError(`ttlMs must be a positive integer`);
      if (!Number.isSafeInteger(graceMs) || graceMs < 0) throw new RangeError(`graceMs must be a non-negative integer`);
      if (entry.chunks.length === 0) throw new RangeError("a cache entry needs at least one chunk");
      const expiresAt = entry.storedAt + ttlMs + graceMs;
      const remainingMs = expiresAt - now();
      if (remainingMs <= 0) return;
      const serialised = JSON.stringify({ v: RECORD_VERSION, ttlMs, expiresAt, entry });
      const bytes = Buffer.byteLength(serialised);
      if (bytes > MAX_ENTRY_BYTES) return;
      lru.set(key, { entry, ttlMs, expiresAt, bytes });
      if (!kv) return;
      try {
        // The store's own TTL (from now; ttl + grace less the entry's age) drops it when even stale is too old.
        await kv.set(KV_PREFIX + key, serialised, Math.ceil(remainingMs));
      } catch (err) {
        report(err);
      }
    },
  };
}

/** A record read from the shared store, checked field by field: another version or a corrupt value is a miss. */
function parseRecord(raw: string): CacheRecord | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!isObject(parsed) || parsed.v !== RECORD_VERSION) return undefined;
  const { ttlMs, expiresAt, entry } = parsed;
  if (typeof ttlMs !== "number" || typeof expiresAt !== "number" || !isObject(entry)) return undefined;
  const { chunks, model, usage, costUsd, storedAt } = entry;
  if (!Array.isArray(chunks) || chunks.length === 0 || !chunks.every((c) => typeof c === "string")) return undefined;
  if (typeof model !== "string" || typeof storedAt !== "number") return undefined;
  if (usage !== undefined && !isObject(usage)) return undefined;
  if (costUsd !== undefined && typeof costUsd !== "number") return undefined;
  return {
    entry: { chunks, model, usage: usage as UsageMetadataWire | undefined, costUsd, storedAt },
    ttlMs,
    expiresAt,
    bytes: Buffer.byteLength(raw),
  };
}

// ── replay ─────────────────────────────────────────────────────────────────────────────────────────────────────────

/**
 * The entry as one unary response body. A unary answer is its single chunk as stored. A streamed answer is merged:
 * per candidate (by `index`), consecutive text parts of the same kind (thought or not) are concatenated in order and
 * other parts (function calls, inline data) kept in place; each candidate keeps the last values its chunks gave
 * (finishReason, safetyRatings, …); the response keeps the last chunk's usageMetadata, modelVersion and responseId.
 */
export function unaryBody(entry: CacheEntry): string {
  if (entry.chunks.length === 1) return entry.chunks[0]!;
  return JSON.stringify(mergeChunks(entry.chunks.map((c) => JSON.parse(c) as GenerateContentResponseWire)));
}

/**
 * The entry as stream chunks: the recorded chunks, or a unary answer as one chunk. Each is on one line: a unary body
 * may be pretty-printed (Vertex's are), and a newline inside an SSE `data:` field would split the event.
 */
export function streamChunks(entry: CacheEntry): string[] {
  return entry.chunks.map((c) => (/[\r\n]/.test(c) ? JSON.stringify(JSON.parse(c)) : c));
}

type Candidate = NonNullable<GenerateContentResponseWire["candidates"]>[number];
type ContentPart = NonNullable<NonNullable<Candidate["content"]>["parts"]>[number];

function mergeChunks(chunks: readonly GenerateContentResponseWire[]): GenerateContentResponseWire {
  const merged: GenerateContentResponseWire = {};
  const candidates = new Map<number, { candidate: Candidate; parts: ContentPart[] }>();
  for (const chunk of chunks) {
    if (chunk.promptFeedback !== undefined && merged.promptFeedback === undefined) {
      merged.promptFeedback = chunk.promptFeedback;
    }
    if (chunk.usageMetadata !== undefined) merged.usageMetadata = chunk.usageMetadata;
    if (chunk.modelVersion !== undefined) merged.modelVersion = chunk.modelVersion;
    if (chunk.responseId !== undefined) merged.responseId = chunk.responseId;
    if (chunk.createTime !== undefined && merged.createTime === undefined) merged.createTime = chunk.createTime;
    (chunk.candidates ?? []).forEach((c, position) => {
      const index = c.index ?? position;
      let slot = candidates.get(index);
      if (!slot) candidates.set(index, (slot = { candidate: {}, parts: [] }));
      const { content, ...rest } = c;
      Object.assign(slot.candidate, rest); // later chunks win: finishReason, safetyRatings, citations, …
      if (content?.role !== undefined) slot.candidate.content = { role: content.role };
      for (const part of content?.parts ?? []) appendPart(slot.parts, part);
    });
  }
  if (candidates.size > 0) {
    merged.candidates = [...candidates.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, { candidate, parts }]) => {
        const { content, ...rest } = candidate;
        return { ...rest, content: { ...content, parts } };
      });
  }
  return merged;
}

/** Appends a streamed part: text continues the previous text part of the same kind; anything else starts a new part. */
function appendPart(parts: ContentPart[], part: ContentPart): void {
  const last = parts[parts.length - 1];
  if (last && isTextOnly(last) && isTextOnly(part) && Boolean(last.thought) === Boolean(part.thought)) {
    // Other fields of the later part (a thoughtSignature usually comes on the last chunk) are kept too.
    parts[parts.length - 1] = { ...last, ...part, text: (last.text ?? "") + (part.text ?? "") };
    return;
  }
  parts.push({ ...part });
}

function isTextOnly(part: ContentPart): boolean {
  return (
    typeof part.text === "string" &&
    part.functionCall === undefined &&
    part.functionResponse === undefined &&
    part.inlineData === undefined &&
    part.fileData === undefined &&
    part.executableCode === undefined &&
    part.codeExecutionResult === undefined
  );
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
