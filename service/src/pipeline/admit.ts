/**
 * Stage: admit. Decides, before anything is spent, whether a call may go upstream now, later or not at all:
 *
 * 1. the budget kill switch (budget/kill-switch.ts): a project budget past its threshold pauses batch traffic, past
 *    100% all but allow-listed tenants — a local check, no I/O;
 * 2. spend limits (`usdPerDay`, `usdPerMonth`): the spend so far (accounting/usage.ts counters, read at most once a
 *    second per tenant) plus this call's estimated cost must stay within the limit. A read, then the call: calls can
 *    overshoot by their own estimated costs and a second's spend, the price of not serializing a tenant's calls;
 * 3. the shared windows (quota/windows.ts): the tenant's requests per minute and per day, the upstream capacity of
 *    the model (with batch kept out of the interactive reserve), and tokens per minute, where the call's estimate is
 *    held as a reservation and reconciled to the actual usage after the call (`settle`). One store round trip.
 *
 * Refused by a window → the call waits in this instance's queue (quota/wait-queue.ts) up to its deadline; when the
 * queue is full or the deadline cannot be met → 429 RESOURCE_EXHAUSTED with Retry-After and RetryInfo, naming the
 * limit. When the store cannot answer: fail-open (default) limits locally to this instance's share of each window
 * (the limit divided by the instances last seen alive) and skips spend checks; fail-closed refuses with 429. Never a
 * 5xx because of Redis.
 */
import { usdMicros } from "../accounting/cost.js";
import { usageCounterName } from "../accounting/usage.js";
import { capacityFor, type Capacity } from "../config/capacity.js";
import type { Priority, Tenant, TenantLimits } from "../config/tenants.js";
import { createMemoryStore } from "../store/memory.js";
import type { Reservation, Store, WindowState } from "../store/store.js";
import { StoreUnavailableError } from "../store/store.js";
import { errors, type GatewayError } from "../wire/errors.js";
import { asCharges, asWindows, callWindows, NO_WINDOWS, shareOf, type CallWindows } from "../quota/windows.js";
import { createWaitQueue, type TryResult } from "../quota/wait-queue.js";

export interface AdmitOptions {
  store: Store;
  storeFailure: "open" | "closed";
  /** How long a reservation outlives its call at most (the upstream timeout plus a margin). */
  reservationTtlMs: number;
  /** Told about every store failure (metrics, a rate-limited log line). */
  onStoreError: (err: StoreUnavailableError) => void;
  /** Served models: a tenant's spend is the sum of its usage counters over them. */
  models: readonly string[];
  capacity: Capacity;
  /** The region a model's calls are sent to first (capacity entries may be per region). */
  regionOf: (model: string) => string;
  queueMax: number;
  /** Told when a call enters or leaves the queue. */
  onQueueDepth: (priority: Priority, delta: 1 | -1) => void;
  /** Gateway instances last seen alive (store presence): the divisor of the fail-open local share. */
  instances: () => number;
  /** The budget kill switch; undefined when not configured. */
  budget?: { refusal(tenantId: string, priority: Priority): GatewayError | undefined } | undefined;
}

/** What admission needs to know about a call before it is made. */
export interface AdmitCall {
  tenant: Tenant;
  model: string;
  priority: Priority;
  /** Estimated tokens and cost; only computed when a window or spend limit needs it. */
  estimate: () => CallEstimate;
  /** Epoch ms after which the call is no longer worth making (X-Server-Timeout or the configured default). */
  deadline: number;
  /** The client going away. */
  signal: AbortSignal;
}

export interface CallEstimate {
  tokens: number;
  usdMicros: number;
}

/** A token reservation and the store that holds it (the shared one, or the local one during an outage). */
export interface Hold {
  reservation: Reservation;
  store: Store;
}

export type Admission =
  | {
      admitted: true;
      /** The token hold to settle after the call; null when no token window applies. */
      hold: Hold | null;
      /** Rate-limit response headers (x-ratelimit-*). */
      headers: Record<string, string>;
      /** Time spent waiting in the queue. */
      queuedMs: number;
    }
  | {
      admitted: false;
      /**
       * `tenant`/`capacity`: a window; `queue`: the queue was full; `spend`: a USD limit; `budget`: the project budget
       * kill switch; `store`: the store is down and limits fail closed.
       */
      scope: "tenant" | "capacity" | "queue" | "spend" | "budget" | "store";
      error: GatewayError;
    };

type Decision = TryResult<{
  hold: Hold | null;
  headers: Record<string, string>;
  refusal?: GatewayError;
  scope?: "tenant" | "capacity";
}>;

const NOTHING_HELD: Admission = Object.freeze({ admitted: true, hold: null, headers: {}, queuedMs: 0 }) as Admission;

export function createAdmission(o: AdmitOptions) {
  // The fail-open limiter: this instance's share of every window, kept in memory while the store is unreachable.
  const local = createMemoryStore();
  const spent = spendReader(o);
  const queue = createWaitQueue<Decision["value"]>({
    max: o.queueMax,
    onDepth: o.onQueueDepth,
    release: (v) => {
      if (v.hold) settle(v.hold, 0);
    },
  });

  function settle(hold: Hold | null, actualTokens: number): void {
    if (!hold) return;
    hold.store.windows.reconcile(hold.reservation, actualTokens).catch((err: unknown) => {
      if (err instanceof StoreUnavailableError) o.onStoreError(err);
    });
  }

  /** One try against the windows: the shared store, else (fail-open) this instance's share in memory. */
  async function decide(tenant: Tenant, w: CallWindows, tokens: number): Promise<Decision | "store-down"> {
    try {
      return await decideOn(o.store, tenant, w, tokens);
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      o.onStoreError(err);
      if (o.storeFailure === "closed") return "store-down";
      const n = Math.max(1, o.instances());
      const shared: CallWindows = {
        requests: w.requests.map((x) => shareOf(x, n, 1)),
        tokens: w.tokens.map((x) => shareOf(x, n, tokens)),
      };
      return decideOn(local, tenant, shared, tokens);
    }
  }

  async function decideOn(store: Store, tenant: Tenant, w: CallWindows, tokens: number): Promise<Decision> {
    const d = await store.windows.admit(
      asCharges(w.requests, 1),
      w.tokens.length ? { windows: asWindows(w.tokens), amount: tokens, ttlMs: o.reservationTtlMs } : undefined,
    );
    const headers = rateLimitHeaders(tenant.limits, d.windows);
    if (d.admitted) {
      return { admitted: true, value: { hold: d.reservation && { reservation: d.reservation, store }, headers } };
    }
    const refused = [...w.requests, ...w.tokens].find((x) => x.key === d.refusedBy);
    const label = refused?.label ?? d.refusedBy;
    const message =
      d.retryAfterMs === null
        ? `This request's estimated ${tokens} tokens exceed ${label}; lower maxOutputTokens or the prompt.`
        : `Quota exceeded: ${label}. Retry after ${Math.ceil(d.retryAfterMs / 1000)} s.`;
    return {
      admitted: false,
      refusedBy: d.refusedBy,
      retryAfterMs: d.retryAfterMs,
      value: {
        hold: null,
        headers,
        refusal: errors.rateLimited(message, d.retryAfterMs, headers),
        scope: refused?.scope ?? "tenant",
      },
    };
  }

  return {
    /** Decides, waiting in the queue when a window has no room yet; a refusal carries the 429 to answer with. */
    async admit(call: AdmitCall): Promise<Admission> {
      const { tenant, priority } = call;
      const budgetRefusal = o.budget?.refusal(tenant.id, priority);
      if (budgetRefusal) return { admitted: false, scope: "budget", error: budgetRefusal };
      const limits = tenant.limits;
      const entry = capacityFor(o.capacity, call.model, o.regionOf(call.model));
      const spendLimited = !!(limits?.usdPerDay || limits?.usdPerMonth);
      if (!entry && !limits) return NOTHING_HELD;
      const estimate = call.estimate();
      if (spendLimited) {
        try {
          const error = await checkSpend(o, spent, tenant.id, limits!, estimate.usdMicros);
          if (error) return { admitted: false, scope: "spend", error };
          spent.charge(tenant.id, estimate.usdMicros);
        } catch (err) {
          if (!(err instanceof StoreUnavailableError)) throw err;
          o.onStoreError(err);
          if (o.storeFailure === "closed") return storeDown();
          // Fail-open: spend so far is unknown while the store is down; the call goes on to the window checks.
        }
      }
      const capacity = entry && {
        entry,
        key: `${entry.model}@${entry.region ?? "*"}`,
        reservedShare: o.capacity.reservedInteractiveShare,
      };
      const w = callWindows(tenant.id, limits, capacity, priority, estimate.tokens);
      if (w === NO_WINDOWS) return NOTHING_HELD;

      const first = await decide(tenant, w, estimate.tokens);
      if (first === "store-down") return storeDown();
      if (first.admitted) return { admitted: true, ...first.value, queuedMs: 0 };
      if (first.retryAfterMs === null) return refusedBy(first.value);

      const started = Date.now();
      const waited = await queue.wait(
        { refusedBy: first.refusedBy, retryAfterMs: first.retryAfterMs, value: first.value },
        { priority, deadline: call.deadline, signal: call.signal },
        async () => {
          const d = await decide(tenant, w, estimate.tokens);
          // Fail-closed while waiting: give up at the deadline rather than spin on a down store.
          return d === "store-down"
            ? { admitted: false, refusedBy: "store", retryAfterMs: 1000, value: { hold: null, headers: {} } }
            : d;
        },
      );
      if (waited.admitted) return { admitted: true, ...waited.value, queuedMs: Date.now() - started };
      if (waited.reason === "full") {
        const error = waited.last.refusal ?? errors.rateLimited("The gateway's admission queue is full.", 1000);
        return {
          admitted: false,
          scope: "queue",
          error: errors.rateLimited(
            `${error.message} The gateway's admission queue is full (${o.queueMax} calls waiting).`,
            retryAfterOf(error),
            waited.last.headers,
          ),
        };
      }
      if (waited.last.refusal) return refusedBy(waited.last);
      return storeDown();
    },

    /** Corrects the token hold to what the call used; errors are reported, never thrown (the answer is sent). */
    settle,

    /** Calls waiting now. */
    get queued(): number {
      return queue.size;
    },
  };
}

export type AdmissionStage = ReturnType<typeof createAdmission>;

function refusedBy(v: Decision["value"]): Admission {
  return { admitted: false, scope: v.scope ?? "tenant", error: v.refusal! };
}

function storeDown(): Admission {
  return {
    admitted: false,
    scope: "store",
    error: errors.rateLimited("The gateway's quota store is unavailable; retry shortly.", 1000),
  };
}

function retryAfterOf(e: GatewayError): number | null {
  const s = e.headers?.["retry-after"];
  return s === undefined ? null : Number(s) * 1000;
}

/** The 429 when the spend so far plus this call's estimate would cross a day or month limit; else undefined. */
async function checkSpend(
  o: AdmitOptions,
  spent: SpendReader,
  tenant: string,
  l: TenantLimits,
  estimateMicros: number,
): Promise<GatewayError | undefined> {
  const periods = [
    ...(l.usdPerDay ? [{ period: "day" as const, usd: l.usdPerDay }] : []),
    ...(l.usdPerMonth ? [{ period: "month" as const, usd: l.usdPerMonth }] : []),
  ];
  for (const { period, usd } of periods) {
    const soFar = await spent.spent(tenant, period);
    if (soFar + estimateMicros <= usdMicros(usd)) continue;
    const now = new Date();
    const reset =
      period === "day"
        ? Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1)
        : Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
    return errors.rateLimited(
      `Spend limit reached: tenant "${tenant}" has spent $${(soFar / 1e6).toFixed(4)} of its $${usd} per ${period} ` +
        `(this call is estimated at $${(estimateMicros / 1e6).toFixed(4)}); the limit resets at ` +
        `${new Date(reset).toISOString()}.`,
      reset - now.getTime(),
    );
  }
  return undefined;
}

/** A tenant's spend so far in the UTC day or month, in USD micros; and what this instance admitted since it read. */
interface SpendReader {
  spent(tenant: string, period: "day" | "month"): Promise<number>;
  /** A call admitted: its estimated cost counts until the next read includes what it really cost. */
  charge(tenant: string, micros: number): void;
}

/**
 * Spend so far, read from the usage counters at most once a second per tenant and period (concurrent calls share the
 * read), plus the estimated cost of the calls this instance admitted since: the hot path does not pay a store round
 * trip per call, and a single instance is as exact as before. What other instances spent in the last second is what
 * can be missed — a second's spend against a daily or monthly amount. A failed read is not cached.
 */
function spendReader(o: AdmitOptions, maxAgeMs = 1_000): SpendReader {
  const cache = new Map<string, { at: number; read: Promise<number>; since: number }>();
  const keyOf = (tenant: string, period: string) => `${tenant}\u0000${period}`;
  return {
    async spent(tenant, period) {
      const key = keyOf(tenant, period);
      let entry = cache.get(key);
      const now = Date.now();
      if (!entry || now - entry.at >= maxAgeMs) {
        const refs = o.models.map((model) => ({ name: usageCounterName(tenant, model, "usd_micros"), period }));
        const read = o.store.counters.readMany(refs).then((values) => values.reduce((a, b) => a + b, 0));
        entry = { at: now, read, since: 0 };
        cache.set(key, entry);
        read.catch(() => cache.delete(key));
      }
      return (await entry.read) + entry.since;
    },
    charge(tenant, micros) {
      for (const period of ["day", "month"]) {
        const entry = cache.get(keyOf(tenant, period));
        if (entry) entry.since += micros;
      }
    },
  };
}

/** `x-ratelimit-*` for the tenant's request and token windows: limit, what is left now, seconds until refilled. */
function rateLimitHeaders(l: TenantLimits | undefined, windows: readonly WindowState[]): Record<string, string> {
  const headers: Record<string, string> = {};
  if (!l) return headers;
  for (const w of windows) {
    const kind =
      w.key.endsWith(":rpm") && w.key.startsWith("t:")
        ? "requests"
        : w.key.endsWith(":tpm") && w.key.startsWith("t:")
          ? "tokens"
          : undefined;
    if (!kind) continue;
    headers[`x-ratelimit-limit-${kind}`] = String(kind === "requests" ? l.requestsPerMinute : l.tokensPerMinute);
    headers[`x-ratelimit-remaining-${kind}`] = String(w.remaining);
    headers[`x-ratelimit-reset-${kind}`] = `${(w.resetMs / 1000).toFixed(3)}s`;
  }
  return headers;
}
