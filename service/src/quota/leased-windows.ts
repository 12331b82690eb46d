/**
 * Leased admission: the hot path decides in memory while the fleet stays within its limits.
 *
 * Per-call admission asks the shared store about every call: one Redis round trip per call (+0.2–0.3 ms here, a
 * cross-region round trip for a second region, and a ceiling on how many calls one Redis primary can decide). Instead,
 * each instance holds a **lease** on every window it is using: units already charged to the shared window (a hold on
 * it, in the store's own terms), which it then spends on calls without asking anyone. A lease is refilled in the
 * background before it runs dry, and whatever is left of it is given back when it expires or the instance drains —
 * the design of YouTube's Doorman and of Envoy's global rate limit with local token buckets.
 *
 * Guarantees: the shared window never charges more than GCRA allows (leases are charges), so over any interval the
 * fleet admits at most what per-call admission would, plus what the instances had leased but not yet spent when the
 * interval began — at most one lease per instance per window. Unspent units go back to the window. An instance that
 * dies keeps its lease charged until the store forgets the hold (the lease's TTL plus a margin): conservative.
 *
 * This module is a `RateWindows` over another `RateWindows`, so admission (pipeline/admit.ts), its queue and its
 * fail-open path are unchanged: a call the leases cannot cover waits for the refill the same way it would wait for the
 * shared window. The rate-limit headers are computed from this instance's view (what it holds, plus what the shared
 * window had left at its last refill).
 */
import { randomUUID } from "node:crypto";
import { admissionItems, burstOf } from "../store/checks.js";
import type {
  Admission,
  Charge,
  RateWindows,
  Reconciliation,
  Reservation,
  Window,
  WindowState,
} from "../store/store.js";

export interface LeaseOptions {
  /** A lease not spent within this long is given back (what is left of it); also what a lease is sized to cover. */
  leaseMs: number;
  /**
   * The most of a window's burst (the units it may have outstanding at once: a second's worth for paced windows) one
   * lease may take: smaller leases waste less when instances are many, larger ones refill less often.
   */
  share: number;
  /** Refill in the background when what is left falls under this share of a lease. */
  lowWater: number;
  now?: () => number;
  /** Told about failures of background work (refills, returns): the calls that need the store report outages. */
  onError?: (err: unknown) => void;
}

export const DEFAULT_LEASES: LeaseOptions = { leaseMs: 2_000, share: 0.5, lowWater: 0.5 };

/** How long the store keeps a lease's hold after the lease itself ends: time to give it back. */
const HOLD_MARGIN_MS = 30_000;

interface Lease {
  reservation: Reservation;
  granted: number;
  used: number;
  expiresAt: number;
  timer: NodeJS.Timeout;
}

interface Held {
  window: Window;
  leases: Lease[];
  /** One acquisition at a time per window; callers that need more wait for it and look again. */
  acquiring: Promise<Admission> | undefined;
  /** The shared window as it stood after the last acquisition (for the rate-limit headers). */
  shared: WindowState | undefined;
}

export interface LeasedWindows extends RateWindows {
  /** Units this instance holds and has not spent, per window key (tests, metrics). */
  held(): Record<string, number>;
  /** Gives every lease back (what is left of it); then the shared window is as if the unspent units were never leased. */
  drain(): Promise<void>;
}

export function createLeasedWindows(shared: RateWindows, o: LeaseOptions = DEFAULT_LEASES): LeasedWindows {
  const now = o.now ?? Date.now;
  const held = new Map<string, Held>();

  const heldOf = (w: Window): Held => {
    let h = held.get(w.key);
    if (!h) {
      h = { window: w, leases: [], acquiring: undefined, shared: undefined };
      held.set(w.key, h);
    }
    h.window = w; // limits may change; the key keeps its period
    return h;
  };
  const available = (h: Held): number => h.leases.reduce((n, l) => n + l.granted - l.used, 0);
  /**
   * A lease covers what the window refills in a lease's time, at most `share` of its burst (a day window's burst is
   * its whole day: a lease must not hold a quarter of it), at least one unit and at least what the caller needs now.
   */
  const sizeOf = (w: Window, need: number): number =>
    Math.max(need, 1, Math.min(Math.floor(burstOf(w) * o.share), Math.ceil((w.limit / w.periodMs) * o.leaseMs)));

  /** Spends `cost` from the oldest leases first (they expire first); the newest may go into debt (a settle). */
  function spend(h: Held, cost: number): void {
    let left = cost;
    for (const l of h.leases) {
      if (left <= 0) break;
      const take = Math.min(left, Math.max(0, l.granted - l.used));
      l.used += take;
      left -= take;
    }
    if (left > 0 && h.leases.length) h.leases[h.leases.length - 1]!.used += left;
  }

  /** Gives a lease back: its hold is reconciled to what was spent from it. */
  function giveBack(h: Held, l: Lease): Promise<Reconciliation | void> {
    clearTimeout(l.timer);
    const i = h.leases.indexOf(l);
    if (i >= 0) h.leases.splice(i, 1);
    if (!h.leases.length && !h.acquiring) held.delete(h.window.key);
    return shared.reconcile(l.reservation, l.used).catch((err: unknown) => o.onError?.(err));
  }

  /** Takes a new lease of at least `need` units; resolves with the shared store's answer. */
  function acquire(h: Held, need: number): Promise<Admission> {
    const w = h.window;
    const amount = sizeOf(w, need);
    const attempt = shared
      .admit([], { windows: [w], amount, ttlMs: o.leaseMs + HOLD_MARGIN_MS })
      .then((a) => {
        const shared = a.windows.find((s) => s.key === w.key);
        if (shared) h.shared = shared;
        if (a.admitted && a.reservation) {
          const lease: Lease = {
            reservation: a.reservation,
            granted: amount,
            used: 0,
            expiresAt: now() + o.leaseMs,
            timer: setTimeout(() => void giveBack(h, lease), o.leaseMs),
          };
          lease.timer.unref?.();
          h.leases.push(lease);
        }
        return a;
      })
      .finally(() => {
        if (h.acquiring === attempt) h.acquiring = undefined;
      });
    h.acquiring = attempt;
    return attempt;
  }

  /** Refills ahead of need: when what is left falls under the low-water mark, a lease is taken in the background. */
  function topUp(h: Held): void {
    if (h.acquiring || available(h) >= sizeOf(h.window, 0) * o.lowWater) return;
    acquire(h, 0).catch((err: unknown) => o.onError?.(err));
  }

  function states(items: readonly Charge[]): WindowState[] {
    return items.map((c) => {
      const h = held.get(c.key);
      const mine = h ? Math.max(0, available(h)) : 0;
      return {
        key: c.key,
        limit: c.limit,
        remaining: Math.floor(mine + (h?.shared?.remaining ?? 0)),
        resetMs: h?.shared?.resetMs ?? 0,
      };
    });
  }

  return {
    async admit(charges, hold): Promise<Admission> {
      const items = admissionItems(charges, hold);
      // A few rounds at most: a refill another call was waiting for may be spent before this one looks again.
      for (let round = 0; round < 4; round++) {
        const short = items.map((c) => heldOf(c)).filter((h, i) => available(h) < items[i]!.cost);
        if (short.length === 0) {
          for (const c of items) {
            const h = held.get(c.key)!;
            spend(h, c.cost);
            topUp(h);
          }
          const reservation: Reservation | null = hold
            ? { id: randomUUID(), windows: hold.windows, amount: hold.amount, expiresAt: now() + hold.ttlMs }
            : null;
          return { admitted: true, reservation, windows: states(items) };
        }
        // Ask for what is missing, one acquisition per window at a time; a refusal is the call's refusal.
        const answers = await Promise.all(
          short.map((h) => {
            const cost = items.find((c) => c.key === h.window.key)!.cost;
            return h.acquiring ?? acquire(h, cost - Math.max(0, available(h)));
          }),
        );
        const refused = answers.find((a) => !a.admitted);
        if (refused && !refused.admitted) return { ...refused, windows: states(items) };
      }
      const [first] = items;
      return { admitted: false, refusedBy: first!.key, retryAfterMs: 10, windows: states(items) };
    },

    /** A call's hold, settled: the difference between actual and estimate is spent from (or given back to) the lease. */
    async reconcile(reservation, actual): Promise<Reconciliation> {
      const delta = actual - reservation.amount;
      if (delta === 0) return "reconciled";
      for (const w of reservation.windows) {
        const h = held.get(w.key);
        if (!h || !h.leases.length) {
          // The lease it came from was given back already: settle on the shared window directly (a small hold).
          if (delta > 0) {
            const a = await shared.admit([], { windows: [w], amount: 0, ttlMs: 1_000 });
            if (a.admitted && a.reservation) await shared.reconcile(a.reservation, delta);
          }
          continue;
        }
        if (delta > 0) spend(h, delta);
        else {
          // Unused tokens go back to the newest lease (down to nothing spent).
          const l = h.leases[h.leases.length - 1]!;
          l.used = Math.max(0, l.used + delta);
        }
      }
      return "reconciled";
    },

    held() {
      const out: Record<string, number> = {};
      for (const [key, h] of held) out[key] = available(h);
      return out;
    },

    async drain() {
      const all = [...held.values()].flatMap((h) => h.leases.map((l) => [h, l] as const));
      await Promise.all(all.map(([h, l]) => giveBack(h, l)));
    },
  };
}
