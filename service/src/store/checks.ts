/**
 * What both store implementations share: argument checks (bad arguments are RangeErrors, a programming error, never a
 * StoreUnavailableError), UTC period arithmetic for counters, and the window-state arithmetic of GCRA (with burst).
 */
import type { Charge, CounterRef, Hold, Period, Reservation, Window, WindowState } from "./store.js";

const DAY_MS = 86_400_000;
/** Counters stay readable this long after their period ends (last month's totals early in the new month). */
export const DEFAULT_COUNTER_MARGIN_MS = 7 * DAY_MS;

function positiveInt(name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`${name} must be a positive integer, got ${n}`);
}

function amountInt(name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} must be a non-negative integer, got ${n}`);
}

/**
 * Window state is `units outstanding × periodMs`, an integer; it drains by `limit` per millisecond. Integer arithmetic
 * is what makes the decisions exact, so `limit × periodMs` (and `cost × periodMs`) must stay below 2^53.
 */
function checkWindow(w: Window): void {
  if (typeof w.key !== "string" || w.key === "") throw new RangeError("a window needs a non-empty key");
  positiveInt(`limit of ${w.key}`, w.limit);
  positiveInt(`periodMs of ${w.key}`, w.periodMs);
  if (!Number.isSafeInteger(w.limit * w.periodMs)) {
    throw new RangeError(`${w.key}: limit × periodMs must stay below 2^53 for exact arithmetic; shorten the period`);
  }
  if (w.burst !== undefined) {
    positiveInt(`burst of ${w.key}`, w.burst);
    if (w.burst > w.limit) {
      throw new RangeError(`burst of ${w.key} must not exceed its limit (${w.limit}), got ${w.burst}`);
    }
  }
}

/** The most units a window may have outstanding right after an admission: its burst, by default its limit. */
export const burstOf = (w: Window): number => w.burst ?? w.limit;

/** Checks an admission's arguments and flattens charges and hold into one list (hold windows cost the held amount). */
export function admissionItems(charges: readonly Charge[], hold: Hold | undefined): Charge[] {
  const items: Charge[] = [...charges];
  if (hold) {
    amountInt("hold amount", hold.amount);
    positiveInt("hold ttlMs", hold.ttlMs);
    for (const w of hold.windows) {
      const { key, limit, periodMs, burst } = w;
      items.push({ key, limit, periodMs, ...(burst === undefined ? {} : { burst }), cost: hold.amount });
    }
  }
  const seen = new Set<string>();
  for (const c of items) {
    checkWindow(c);
    amountInt(`cost on ${c.key}`, c.cost);
    if (!Number.isSafeInteger(c.cost * c.periodMs)) throw new RangeError(`cost on ${c.key} is too large`);
    if (seen.has(c.key)) throw new RangeError(`window ${c.key} appears twice in one admission`);
    seen.add(c.key);
  }
  return items;
}

export function checkReconcile(reservation: Reservation, actual: number): void {
  amountInt("actual amount", actual);
  for (const w of reservation.windows) {
    checkWindow(w);
    if (!Number.isSafeInteger(actual * w.periodMs)) throw new RangeError(`actual amount on ${w.key} is too large`);
  }
}

export function checkCounter(ref: CounterRef): void {
  if (typeof ref.name !== "string" || ref.name === "") throw new RangeError("a counter needs a non-empty name");
  if (ref.period !== "day" && ref.period !== "month") throw new RangeError(`unknown period ${String(ref.period)}`);
  if (ref.at !== undefined && !Number.isFinite(ref.at)) throw new RangeError(`counter time must be finite`);
}

export function checkAdd(amount: number): void {
  if (!Number.isSafeInteger(amount)) throw new RangeError(`counter amount must be an integer, got ${amount}`);
}

export function checkTtl(ttlMs: number): void {
  positiveInt("ttlMs", ttlMs);
}

export function checkBeat(instanceId: string, ttlMs: number): void {
  if (typeof instanceId !== "string" || instanceId === "") throw new RangeError("an instance needs a non-empty id");
  positiveInt("presence ttlMs", ttlMs);
}

/** The UTC period containing `at`: an id for key names (`d2026-11-25`, `m2026-11`) and when it ends. */
export function periodOf(period: Period, at: number): { id: string; endsAt: number } {
  const d = new Date(at);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const mm = String(m + 1).padStart(2, "0");
  if (period === "month") return { id: `m${y}-${mm}`, endsAt: Date.UTC(y, m + 1, 1) };
  const day = d.getUTCDate();
  return { id: `d${y}-${mm}-${String(day).padStart(2, "0")}`, endsAt: Date.UTC(y, m, day + 1) };
}

/** Whole milliseconds until `over` (units × ms) drains at `limit` per ms; exact for integers below 2^53. */
export const drainMs = (over: number, limit: number) => Math.ceil(over / limit);

/** The window after a decision; `remaining` counts against the burst this call was admitted under. */
export function stateOf(c: Window, outstanding: number): WindowState {
  const remaining = Math.floor((burstOf(c) * c.periodMs - outstanding) / c.periodMs);
  return { key: c.key, limit: c.limit, remaining: Math.max(0, remaining), resetMs: drainMs(outstanding, c.limit) };
}

/** A registry record must name its kind, id, tenant and upstream, and expire at a real time. */
export function checkResource(r: {
  kind: string;
  id: string;
  tenant: string;
  upstream: string;
  createdAt: number;
  expiresAt: number;
}): void {
  for (const field of ["kind", "id", "tenant", "upstream"] as const) {
    if (typeof r[field] !== "string" || r[field] === "" || r[field].includes("\u0000")) {
      throw new RangeError(`a resource needs a non-empty ${field}`);
    }
  }
  if (!Number.isSafeInteger(r.createdAt) || !Number.isSafeInteger(r.expiresAt)) {
    throw new RangeError("a resource's createdAt and expiresAt are epoch milliseconds");
  }
}

/** Tally amounts: finite numbers, at least one field. */
export function checkTally(amounts: Readonly<Record<string, number>>, ttlMs: number): void {
  checkTtl(ttlMs);
  for (const [field, amount] of Object.entries(amounts)) {
    if (!Number.isFinite(amount)) throw new RangeError(`tally field ${field}: amount must be finite, got ${amount}`);
  }
}
