/**
 * The store layer's contracts: the few atomic operations the admission stage needs so that quotas, reservations and
 * spend hold exactly across every gateway instance (docs/decisions/0007-shared-quota-store.md). Two implementations:
 * memory.ts (one process, the embedded default) and redis.ts (shared by all instances).
 *
 * Leaf module: imports nothing, so stages and both implementations depend on it without an import cycle. Its only
 * value is StoreUnavailableError, which callers must be able to catch by type. Times are epoch milliseconds of the
 * store's clock (Redis TIME for the Redis store); amounts are integers (tokens, requests, micro-dollars).
 */

import { errors, toGatewayError, type GatewayError } from "../wire/errors.js";

/** A rate window: at most `limit` units per `periodMs`, refilled continuously (GCRA; see the decision record). */
export interface Window {
  /**
   * Names the window, e.g. `t:acme:rpm` or `m:gemini-2.5-pro:tpm`. A key must keep its period (put the period in the
   * name); its limit may change at any time, since the state kept is the units still outstanding.
   */
  key: string;
  /** Units per period: the rate is `limit / periodMs`, refilled continuously. */
  limit: number;
  periodMs: number;
  /**
   * The most units that may be outstanding right after an admission; default `limit`. The rate stays limit/periodMs:
   * a smaller burst spreads a period's units evenly (no period's worth at once), and a caller may pass a smaller
   * burst for some calls to keep headroom for others (a priority reserve on a shared window). Never above `limit`.
   */
  burst?: number;
}

/** What one call takes from a window: 1 for a request, a token count for tokens. A cost of 0 only reads the window. */
export interface Charge extends Window {
  cost: number;
}

/** An estimated amount held on some windows until `reconcile` corrects it to the actual amount. */
export interface Hold {
  windows: readonly Window[];
  amount: number;
  /** How long the store remembers the reservation; set it above the longest call (upstream timeout plus margin). */
  ttlMs: number;
}

/** A window as it stands after the decision (for rate-limit headers: limit, remaining, reset). */
export interface WindowState {
  key: string;
  limit: number;
  /** Whole units that could be admitted now within this call's burst (0 when the window is full or overdrawn). */
  remaining: number;
  /** Milliseconds until the window is completely refilled. */
  resetMs: number;
}

/** A hold the store remembers; plain data, so it can be logged or passed on. */
export interface Reservation {
  id: string;
  windows: readonly Window[];
  amount: number;
  /** Store time at which the store forgets it: its estimate then stays charged, and reconcile answers "expired". */
  expiresAt: number;
}

export type Admission =
  | {
      admitted: true;
      /** The hold, when one was asked for; null otherwise. */
      reservation: Reservation | null;
      windows: WindowState[];
    }
  | {
      admitted: false;
      /** The key of the window that refused: the one with the longest wait when several did. */
      refusedBy: string;
      /** When every window will have room for this call; null when a cost exceeds a window's burst (never). */
      retryAfterMs: number | null;
      /** Nothing was charged: these are the windows as they were. */
      windows: WindowState[];
    };

/** "expired": the store no longer holds the reservation (its TTL passed, or it was already reconciled). */
export type Reconciliation = "reconciled" | "expired";

/** Rate windows: one atomic decision over several windows at once (one Redis round trip). */
export interface RateWindows {
  /**
   * Admits the call only if every window has room for its cost within its burst (and the hold's windows for the held
   * amount): then all are charged, otherwise none is. Keys must be distinct across `charges` and `hold.windows`. One
   * key may be admitted with different bursts by different calls (a priority reserve).
   */
  admit(charges: readonly Charge[], hold?: Hold): Promise<Admission>;
  /**
   * Corrects a reservation's windows from the held amount to `actual`: refunds what was over-estimated (as far as it
   * is still outstanding) or charges the difference, which may take a window past its limit after the fact — later
   * calls then wait longer. Applies at most once.
   */
  reconcile(reservation: Reservation, actual: number): Promise<Reconciliation>;
}

/** Calendar periods in UTC. */
export type Period = "day" | "month";

/** One counter in one period. */
export interface CounterRef {
  /** e.g. `spend:acme` (micro-dollars) or `tokens:acme:gemini-2.5-pro`. */
  name: string;
  period: Period;
  /** A time inside the period meant; default: the store's clock now. */
  at?: number;
}

/** Integer counters per period; each expires when its period ends plus a margin (the store's `counterMarginMs`). */
export interface Counters {
  /** Adds (or, with a negative amount, subtracts) and returns the new total. */
  add(ref: CounterRef, amount: number): Promise<number>;
  /** The total, or 0 for a counter never added to or expired. */
  read(ref: CounterRef): Promise<number>;
  /** Many totals in one round trip, in the order asked (a usage summary). */
  readMany(refs: readonly CounterRef[]): Promise<number[]>;
}

/** A small key-value store whose entries expire (e.g. the budget kill-switch state). */
export interface KeyValue {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
}

/**
 * Leases on the same keys as KeyValue (one namespace: `get` reads a claimed key's value). A holder claims with a value
 * only it knows (a random token) and releases with that value, so a holder whose lease expired and was claimed by
 * another never frees the other's lease. Used for request coalescing across instances (cache/coalesce.ts).
 *
 * Kept apart from KeyValue so that a KeyValue stub (get/set only, as the budget tests write them) stays a KeyValue;
 * the store's `kv` offers both.
 */
export interface Leases {
  /** Sets `key` to `value` for `ttlMs` only if it is absent (Redis `SET NX PX`); true when this caller got it. */
  claim(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Deletes `key` only if it still holds `value` (compare-and-delete); otherwise does nothing. */
  release(key: string, value: string): Promise<void>;
}

/**
 * Named sums that outlive periods (experiment statistics: requests, cost, outcomes per variant): each tally is a set of
 * fields, each a float that only ever has amounts added to it. One `add` is one round trip and atomic (Redis MULTI of
 * HINCRBYFLOAT); the tally's TTL is pushed back on every add.
 */
export interface Tallies {
  /** Adds each amount to its field of `key` (a missing field or tally starts at 0). Amounts must be finite. */
  add(key: string, amounts: Readonly<Record<string, number>>, ttlMs: number): Promise<void>;
  /** Every field of `key`; {} when it was never added to or has expired. */
  read(key: string): Promise<Record<string, number>>;
}

/** Live gateway instances, so that each can take its share of a limit when the shared store is unreachable. */
export interface Presence {
  /**
   * Records that `instanceId` is alive for `ttlMs`, and returns how many instances are alive now (this one included).
   * Beat well within the TTL; an instance that stops beating stops being counted once its TTL has passed.
   */
  beat(instanceId: string, ttlMs: number): Promise<number>;
}

/**
 * An upstream resource a tenant made through the gateway — a context cache, a stored interaction, a batch job — and
 * where it lives: the ownership registry's record (docs/decisions/0020-ownership-registry.md). Plain data.
 */
export interface OwnedResource {
  /** `cachedContent`, `interaction` or `batch`: ids are unique within a kind. */
  kind: string;
  /** The id the client names it by (the last segment of the upstream name). */
  id: string;
  tenant: string;
  /** The upstream (config/upstreams.ts id) that holds it: every call that uses it goes there and nowhere else. */
  upstream: string;
  model: string;
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms after which it no longer exists (a cache's expireTime, the retention of the others). */
  expiresAt: number;
  /** Small per-kind facts (a cache's token count, a batch's staging prefix), JSON-serialisable. */
  data?: Record<string, unknown>;
}

/**
 * The ownership registry: who owns which upstream resource. A record past its `expiresAt` is absent for every
 * operation (and dropped by the store), as the resource is upstream.
 */
export interface ResourceRegistry {
  /** Records (or replaces) a resource. */
  put(resource: OwnedResource): Promise<void>;
  /** The record, or null when there is none or it has expired. */
  get(kind: string, id: string): Promise<OwnedResource | null>;
  /** A tenant's live records of one kind, oldest first. */
  list(kind: string, tenant: string): Promise<OwnedResource[]>;
  /** Removes the record; true when there was one. */
  delete(kind: string, id: string): Promise<boolean>;
}

export interface StoreHealth {
  kind: Store["kind"];
  /** Reachable and answering now: readiness and fail-open decisions are made on this. */
  ok: boolean;
  /** Round trip of the health probe; null when it failed. */
  latencyMs: number | null;
  /** Why not ok: connection state and the last error. */
  detail?: string;
}

export interface Store {
  readonly kind: "memory" | "redis";
  readonly windows: RateWindows;
  readonly counters: Counters;
  readonly kv: KeyValue & Leases;
  readonly tallies: Tallies;
  readonly presence: Presence;
  readonly resources: ResourceRegistry;
  /** Never rejects. */
  health(): Promise<StoreHealth>;
  close(): Promise<void>;
}

/**
 * Every store operation rejects with this, promptly (a bounded timeout), when the store cannot answer: Redis down,
 * unreachable, too slow, loading, read-only after a failover, or the store closed. Invalid arguments are RangeErrors.
 */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StoreUnavailableError";
  }
}

/** What a failed store-backed operation tells the caller: a store outage is 503 UNAVAILABLE, never a 500. */
export function storeAwareError(err: unknown): GatewayError {
  return err instanceof StoreUnavailableError ? errors.storeUnavailable() : toGatewayError(err);
}
