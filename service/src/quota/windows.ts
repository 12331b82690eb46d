/**
 * Which shared windows one call is charged against, and how they are shaped. Every window keeps its configured rate
 * (units per minute or day) but a small burst — the most that may be outstanding at once — so a tenant cannot spend a
 * whole minute's worth in its first second (docs/decisions/0008-priority-admission.md):
 *
 * - requests per minute: a call is admitted while less than one second's worth (⌈rpm/60⌉) is outstanding;
 * - tokens per minute: while less than one second's worth (⌈tpm/60⌉) is outstanding, whatever the call's own size
 *   (a call's estimate is often larger than a second's worth; one above the whole limit never fits);
 * - requests per day: the day's count (no pacing within a day).
 *
 * So any sliding minute admits at most the limit plus that allowance (plus one call's tokens) — the price of not
 * making the first calls after a quiet spell wait.
 *
 * Tenant windows (`t:`) come from the tenant's `limits`; capacity windows (`c:`) from GATEWAY_CAPACITY, shared by
 * all tenants. Batch calls see capacity windows with a burst lowered by the reserved interactive share, and are also
 * charged a batch-only window whose rate is the unreserved share: under overload interactive calls find room first,
 * and batch never takes more than (1 − reserved share) of a capacity.
 */
import type { ModelCapacity } from "../config/capacity.js";
import type { Priority, TenantLimits } from "../config/tenants.js";
import type { Charge, Window } from "../store/store.js";

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** A window plus what to call it in a refusal message and whose it is. */
export interface LabelledWindow extends Window {
  /** e.g. `tenant "acme": 600 requests per minute`. */
  label: string;
  scope: "tenant" | "capacity";
  kind: "requests" | "tokens";
}

export interface CallWindows {
  /** Request windows: each charged 1. */
  requests: LabelledWindow[];
  /** Token windows: the call's estimate is held on these and reconciled after the call. */
  tokens: LabelledWindow[];
}

export const NO_WINDOWS: CallWindows = Object.freeze({ requests: [], tokens: [] }) as CallWindows;

export function callWindows(
  tenantId: string,
  limits: TenantLimits | undefined,
  capacity: { entry: ModelCapacity; key: string; reservedShare: number } | undefined,
  priority: Priority,
  estimateTokens: number,
): CallWindows {
  const requests: LabelledWindow[] = [];
  const tokens: LabelledWindow[] = [];
  const t = `tenant "${tenantId}"`;
  if (limits?.requestsPerMinute) {
    const rpm = limits.requestsPerMinute;
    requests.push(paced(`t:${tenantId}:rpm`, rpm, 1, 1, `${t}: ${rpm} requests per minute`, "tenant", "requests"));
  }
  if (limits?.requestsPerDay) {
    const rpd = limits.requestsPerDay;
    requests.push({
      key: `t:${tenantId}:rpd`,
      limit: rpd,
      periodMs: DAY_MS,
      label: `${t}: ${rpd} requests per day`,
      scope: "tenant",
      kind: "requests",
    });
  }
  if (limits?.tokensPerMinute) {
    const tpm = limits.tokensPerMinute;
    tokens.push(
      paced(`t:${tenantId}:tpm`, tpm, estimateTokens, 1, `${t}: ${tpm} tokens per minute`, "tenant", "tokens"),
    );
  }
  if (capacity) {
    const { entry, key, reservedShare } = capacity;
    const where = `${entry.model}${entry.region ? ` in ${entry.region}` : ""}`;
    const batch = priority === "batch" && reservedShare > 0;
    // Batch is admitted on a shared window only while its backlog is under the unreserved part of the allowance.
    const share = batch ? 1 - reservedShare : 1;
    const dimensions = [
      { kind: "requests", unit: "rpm", perMinute: entry.requestsPerMinute, cost: 1, into: requests },
      { kind: "tokens", unit: "tpm", perMinute: entry.tokensPerMinute, cost: estimateTokens, into: tokens },
    ] as const;
    for (const { kind, unit, perMinute, cost, into } of dimensions) {
      if (!perMinute) continue;
      const label = `the upstream capacity of ${perMinute} ${kind} per minute for ${where}`;
      into.push(paced(`c:${key}:${unit}`, perMinute, cost, share, label, "capacity", kind));
      if (batch) {
        const most = Math.max(1, Math.floor(perMinute * share));
        const batchLabel = `the batch share (${most} ${kind} per minute) of ${where}'s capacity`;
        into.push(paced(`c:${key}:${unit}:batch`, most, cost, 1, batchLabel, "capacity", kind));
      }
    }
  }
  return requests.length || tokens.length ? { requests, tokens } : NO_WINDOWS;
}

/**
 * A per-minute window paced to one second: a call is admitted while the units outstanding are under a second's worth
 * × `share` (the allowance), whatever its own size — so the burst is the allowance less one plus the call's cost,
 * never above the limit (a call bigger than the limit never fits).
 */
function paced(
  key: string,
  limit: number,
  cost: number,
  share: number,
  label: string,
  scope: LabelledWindow["scope"],
  kind: LabelledWindow["kind"],
): LabelledWindow {
  const allowance = Math.max(1, Math.floor(Math.ceil(limit / 60) * share));
  return { key, limit, periodMs: MINUTE_MS, burst: Math.min(limit, allowance - 1 + cost), label, scope, kind };
}

/**
 * This instance's share of a window while the shared store is unreachable: the rate and the allowance divided by the
 * number of instances last seen alive (at least one unit each).
 */
export function shareOf(w: LabelledWindow, instances: number, cost: number): LabelledWindow {
  if (instances <= 1) return w;
  const limit = Math.max(1, Math.floor(w.limit / instances));
  const allowance = Math.max(1, Math.floor(((w.burst ?? w.limit) - cost + 1) / instances));
  return { ...w, limit, burst: Math.min(limit, allowance - 1 + cost) };
}

/** Drops the labels: what the store is given. */
export function asCharges(ws: readonly LabelledWindow[], cost: number): Charge[] {
  return ws.map(({ key, limit, periodMs, burst }) => ({
    key,
    limit,
    periodMs,
    cost,
    ...(burst !== undefined ? { burst } : {}),
  }));
}

export function asWindows(ws: readonly LabelledWindow[]): Window[] {
  return ws.map(({ key, limit, periodMs, burst }) => ({
    key,
    limit,
    periodMs,
    ...(burst !== undefined ? { burst } : {}),
  }));
}
