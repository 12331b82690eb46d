/**
 * Stage: admit. A tenant's shared limits, decided in one store round trip before anything is spent:
 *
 * - requests per minute, as a GCRA window with the same rate but a burst of one second's worth (limit b ≈ rpm/60
 *   over 60,000 × b / rpm ms). A burst of a whole minute would let ~2 × the limit through in a tenant's first
 *   minute, more than an upstream with the same per-minute quota accepts;
 * - requests per day (rolling day);
 * - tokens per minute: the call's estimate (accounting/estimate.ts) is held as a reservation and reconciled to the
 *   actual usage after the call (`settle`).
 *
 * - spend per UTC day and month (`usdPerDay`, `usdPerMonth`): the spend so far (accounting/usage.ts counters) plus
 *   this call's estimated cost must stay within the limit. A read, then the call: concurrent calls can overshoot by
 *   at most their own estimated costs, which is the price of not serializing a tenant's calls.
 *
 * Refused → 429 RESOURCE_EXHAUSTED with Retry-After and a RetryInfo detail, naming the limit. A tenant without
 * limits costs nothing here. When the store cannot answer: fail-open (default) admits and counts it, fail-closed
 * refuses with 429 — never a 5xx because of Redis.
 */
import { usdMicros } from "../accounting/cost.js";
import { usageCounterName } from "../accounting/usage.js";
import type { Tenant, TenantLimits } from "../config/tenants.js";
import type { Charge, Reservation, Store, Window, WindowState } from "../store/store.js";
import { StoreUnavailableError } from "../store/store.js";
import { errors, type GatewayError } from "../wire/errors.js";

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

export interface AdmitOptions {
  store: Store;
  storeFailure: "open" | "closed";
  /** How long a reservation outlives its call at most (the upstream timeout plus a margin). */
  reservationTtlMs: number;
  /** Told about every store failure (metrics, a rate-limited log line). */
  onStoreError: (err: StoreUnavailableError) => void;
  /** Served models: a tenant's spend is the sum of its usage counters over them. */
  models: readonly string[];
}

/** What admission needs to know about the call before it is made. */
export interface CallEstimate {
  tokens: number;
  usdMicros: number;
}

export type Admission =
  | {
      admitted: true;
      /** The token hold to settle after the call; null when no token limit applies or the store was bypassed. */
      reservation: Reservation | null;
      /** Rate-limit response headers (x-ratelimit-*). */
      headers: Record<string, string>;
    }
  /** `rate`: a request or token limit; `spend`: a USD limit; `store`: the store is down and limits fail closed. */
  | { admitted: false; scope: "rate" | "spend" | "store"; error: GatewayError };

const NO_LIMITS: Admission = Object.freeze({ admitted: true, reservation: null, headers: {} }) as Admission;

export function createAdmission(o: AdmitOptions) {
  return {
    /** Decides; a refusal carries the 429 to answer with. */
    async admit(tenant: Tenant, estimate: CallEstimate): Promise<Admission> {
      const limits = tenant.limits;
      if (!limits) return NO_LIMITS;
      const { charges, tokens } = windowsOf(tenant.id, limits);
      try {
        if (limits.usdPerDay || limits.usdPerMonth) {
          const error = await checkSpend(o, tenant.id, limits, estimate.usdMicros);
          if (error) return { admitted: false, scope: "spend", error };
        }
        if (!charges.length && !tokens) return NO_LIMITS;
        const decision = await o.store.windows.admit(
          charges,
          tokens ? { windows: [tokens], amount: estimate.tokens, ttlMs: o.reservationTtlMs } : undefined,
        );
        const headers = rateLimitHeaders(limits, decision.windows);
        if (!decision.admitted) {
          return {
            admitted: false,
            scope: "rate",
            error: refusal(limits, decision.refusedBy, decision.retryAfterMs, headers),
          };
        }
        return { admitted: true, reservation: decision.reservation, headers };
      } catch (err) {
        if (!(err instanceof StoreUnavailableError)) throw err;
        o.onStoreError(err);
        if (o.storeFailure === "open") return NO_LIMITS;
        const error = errors.rateLimited("The gateway's quota store is unavailable; retry shortly.", 1000);
        return { admitted: false, scope: "store", error };
      }
    },

    /** Corrects the token hold to what the call used; errors are reported, never thrown (the answer is sent). */
    settle(reservation: Reservation | null, actualTokens: number): void {
      if (!reservation) return;
      o.store.windows.reconcile(reservation, actualTokens).catch((err: unknown) => {
        if (err instanceof StoreUnavailableError) o.onStoreError(err);
      });
    },
  };
}

export type AdmissionStage = ReturnType<typeof createAdmission>;

/** The 429 when the spend so far plus this call's estimate would cross a day or month limit; else undefined. */
async function checkSpend(
  o: AdmitOptions,
  tenant: string,
  l: TenantLimits,
  estimateMicros: number,
): Promise<GatewayError | undefined> {
  const periods = [
    ...(l.usdPerDay ? [{ period: "day" as const, usd: l.usdPerDay }] : []),
    ...(l.usdPerMonth ? [{ period: "month" as const, usd: l.usdPerMonth }] : []),
  ];
  const refs = periods.flatMap(({ period }) =>
    o.models.map((model) => ({ name: usageCounterName(tenant, model, "usd_micros"), period })),
  );
  const values = await o.store.counters.readMany(refs);
  for (const [p, { period, usd }] of periods.entries()) {
    let spent = 0;
    for (let m = 0; m < o.models.length; m++) spent += values[p * o.models.length + m] ?? 0;
    if (spent + estimateMicros <= usdMicros(usd)) continue;
    const now = new Date();
    const reset =
      period === "day"
        ? Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1)
        : Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
    return errors.rateLimited(
      `Spend limit reached: tenant "${tenant}" has spent $${(spent / 1e6).toFixed(4)} of its $${usd} per ${period} ` +
        `(this call is estimated at $${(estimateMicros / 1e6).toFixed(4)}); the limit resets at ` +
        `${new Date(reset).toISOString()}.`,
      reset - now.getTime(),
    );
  }
  return undefined;
}

function windowsOf(tenant: string, l: TenantLimits): { charges: Charge[]; tokens: Window | undefined } {
  const charges: Charge[] = [];
  if (l.requestsPerMinute) {
    const burst = Math.max(1, Math.ceil(l.requestsPerMinute / 60));
    const periodMs = Math.max(1, Math.round((MINUTE_MS * burst) / l.requestsPerMinute));
    // The period is part of the key: a window's key must keep its period (store.ts).
    charges.push({ key: `t:${tenant}:rpm:${periodMs}`, limit: burst, periodMs, cost: 1 });
  }
  if (l.requestsPerDay) charges.push({ key: `t:${tenant}:rpd`, limit: l.requestsPerDay, periodMs: DAY_MS, cost: 1 });
  const tokens = l.tokensPerMinute
    ? { key: `t:${tenant}:tpm`, limit: l.tokensPerMinute, periodMs: MINUTE_MS }
    : undefined;
  return { charges, tokens };
}

function refusal(
  l: TenantLimits,
  refusedBy: string,
  retryAfterMs: number | null,
  headers: Record<string, string>,
): GatewayError {
  const what = refusedBy.includes(":rpm:")
    ? `${l.requestsPerMinute} requests per minute`
    : refusedBy.endsWith(":rpd")
      ? `${l.requestsPerDay} requests per day`
      : `${l.tokensPerMinute} tokens per minute`;
  const message =
    retryAfterMs === null
      ? `This request's estimated tokens exceed the tenant's limit of ${what}; lower maxOutputTokens or the prompt.`
      : `Quota exceeded: the tenant's limit of ${what}. Retry after ${Math.ceil(retryAfterMs / 1000)} s.`;
  return errors.rateLimited(message, retryAfterMs, headers);
}

/** `x-ratelimit-*` for the request and token windows: limit, what is left now, seconds until fully refilled. */
function rateLimitHeaders(l: TenantLimits, windows: readonly WindowState[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const w of windows) {
    const kind = w.key.includes(":rpm:") ? "requests" : w.key.endsWith(":tpm") ? "tokens" : undefined;
    if (!kind) continue;
    headers[`x-ratelimit-limit-${kind}`] = String(kind === "requests" ? l.requestsPerMinute : l.tokensPerMinute);
    headers[`x-ratelimit-remaining-${kind}`] = String(w.remaining);
    headers[`x-ratelimit-reset-${kind}`] = `${(w.resetMs / 1000).toFixed(3)}s`;
  }
  return headers;
}
