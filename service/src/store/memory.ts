/**
 * The in-memory store: one process's quotas (and presence, normally this one instance), the embedded default without
 * REDIS_URL. It is also the reference for the semantics redis.ts implements in Lua (same integer arithmetic, same
 * answers; shared checks in checks.ts). Every operation is synchronous inside, hence atomic.
 *
 * Clock: `now` stands where Redis TIME stands in the Redis store; tests inject it to move time without sleeping.
 */
import { randomUUID } from "node:crypto";
import {
  StoreUnavailableError,
  type Admission,
  type CounterRef,
  type OwnedResource,
  type Reconciliation,
  type Reservation,
  type Store,
  type StoreHealth,
  type Window,
} from "./store.js";
import {
  admissionItems,
  burstOf,
  checkAdd,
  checkBeat,
  checkCounter,
  checkReconcile,
  checkTally,
  checkTtl,
  checkResource,
  DEFAULT_COUNTER_MARGIN_MS,
  drainMs,
  periodOf,
  stateOf,
} from "./checks.js";

const SWEEP_EVERY_MS = 10_000;

export interface MemoryStoreOptions {
  now?: () => number;
  counterMarginMs?: number;
}

// ── the memory store ───────────────────────────────────────────────────────────────────────────────────────────────

/** `d`: units outstanding × periodMs at time `t`; dropped at `gcAt` (drained plus one period, like the Redis TTL). */
interface WindowRecord {
  d: number;
  t: number;
  gcAt: number;
}

interface Expiring<T> {
  value: T;
  expiresAt: number;
}

export function createMemoryStore(options: MemoryStoreOptions = {}): Store {
  const now = options.now ?? Date.now;
  const margin = options.counterMarginMs ?? DEFAULT_COUNTER_MARGIN_MS;
  const windows = new Map<string, WindowRecord>();
  const reservations = new Map<string, Expiring<number>>();
  const counters = new Map<string, Expiring<number>>();
  const kv = new Map<string, Expiring<string>>();
  const tallies = new Map<string, Expiring<Map<string, number>>>();
  /** Instance id → when its last beat runs out. */
  const instances = new Map<string, number>();
  /** kind NUL id → record (JSON, so callers never share an object with the store). */
  const resources = new Map<string, string>();
  let closed = false;
  let nextSweep = 0;

  const outstanding = (w: Window, at: number): number => {
    const r = windows.get(w.key);
    if (!r) return 0;
    return Math.max(0, r.d - Math.max(0, at - r.t) * w.limit);
  };
  // Never store a time earlier than the last one: a clock stepping back then decays nothing rather than twice.
  const write = (w: Window, d: number, at: number) => {
    const t = Math.max(at, windows.get(w.key)?.t ?? at);
    if (d <= 0) windows.delete(w.key);
    else windows.set(w.key, { d, t, gcAt: t + drainMs(d, w.limit) + w.periodMs });
  };
  const live = <T>(map: Map<string, Expiring<T>>, key: string, at: number): Expiring<T> | undefined => {
    const e = map.get(key);
    if (e && e.expiresAt <= at) {
      map.delete(key);
      return undefined;
    }
    return e;
  };

  /** Every operation starts here: refuses after close, and drops what has expired now and then (O(n), amortised). */
  const begin = (): number => {
    if (closed) throw new StoreUnavailableError("the memory store is closed");
    const at = now();
    if (at >= nextSweep) {
      nextSweep = at + SWEEP_EVERY_MS;
      for (const map of [reservations, counters, kv, tallies] as Map<string, Expiring<unknown>>[]) {
        for (const [k, e] of map) if (e.expiresAt <= at) map.delete(k);
      }
      for (const [k, r] of windows) if (r.gcAt <= at) windows.delete(k);
      for (const [k, expiresAt] of instances) if (expiresAt <= at) instances.delete(k);
      for (const [k, json] of resources) if ((JSON.parse(json) as OwnedResource).expiresAt <= at) resources.delete(k);
    }
    return at;
  };

  const counterKey = (ref: CounterRef, at: number) => {
    const p = periodOf(ref.period, ref.at ?? at);
    return { key: `${ref.name}\u0000${p.id}`, expiresAt: p.endsAt + margin };
  };

  return {
    kind: "memory",
    windows: {
      async admit(charges, hold): Promise<Admission> {
        const items = admissionItems(charges, hold);
        const at = begin();
        const d = items.map((c) => outstanding(c, at));
        let refused = -1;
        let wait: number | null = 0;
        items.forEach((c, i) => {
          const burst = burstOf(c);
          const over = d[i]! + c.cost * c.periodMs - burst * c.periodMs;
          if (over <= 0) return;
          const w = c.cost > burst ? null : drainMs(over, c.limit);
          if (refused < 0 || (wait !== null && (w === null || w > wait))) [refused, wait] = [i, w];
        });
        if (refused >= 0) {
          const states = items.map((c, i) => stateOf(c, d[i]!));
          return { admitted: false, refusedBy: items[refused]!.key, retryAfterMs: wait, windows: states };
        }
        const states = items.map((c, i) => {
          const after = d[i]! + c.cost * c.periodMs;
          if (c.cost > 0) write(c, after, at);
          return stateOf(c, after);
        });
        let reservation: Reservation | null = null;
        if (hold) {
          reservation = { id: randomUUID(), windows: hold.windows, amount: hold.amount, expiresAt: at + hold.ttlMs };
          reservations.set(reservation.id, { value: hold.amount, expiresAt: reservation.expiresAt });
        }
        return { admitted: true, reservation, windows: states };
      },

      async reconcile(reservation, actual): Promise<Reconciliation> {
        checkReconcile(reservation, actual);
        const at = begin();
        const held = live(reservations, reservation.id, at);
        if (!held) return "expired";
        reservations.delete(reservation.id);
        const delta = actual - held.value;
        if (delta !== 0) {
          for (const w of reservation.windows) write(w, Math.max(0, outstanding(w, at) + delta * w.periodMs), at);
        }
        return "reconciled";
      },
    },

    counters: {
      async add(ref, amount) {
        checkCounter(ref);
        checkAdd(amount);
        const at = begin();
        const { key, expiresAt } = counterKey(ref, at);
        const total = (live(counters, key, at)?.value ?? 0) + amount;
        // A period already past its margin is gone at once, as Redis drops a key whose PEXPIREAT is past.
        if (expiresAt > at) counters.set(key, { value: total, expiresAt });
        return total;
      },
      async read(ref) {
        checkCounter(ref);
        const at = begin();
        return live(counters, counterKey(ref, at).key, at)?.value ?? 0;
      },
      async readMany(refs) {
        refs.forEach(checkCounter);
        const at = begin();
        return refs.map((ref) => live(counters, counterKey(ref, at).key, at)?.value ?? 0);
      },
    },

    kv: {
      async get(key) {
        const at = begin();
        return live(kv, key, at)?.value ?? null;
      },
      async set(key, value, ttlMs) {
        checkTtl(ttlMs);
        const at = begin();
        kv.set(key, { value, expiresAt: at + ttlMs });
      },
      async claim(key, value, ttlMs) {
        checkTtl(ttlMs);
        const at = begin();
        if (live(kv, key, at)) return false;
        kv.set(key, { value, expiresAt: at + ttlMs });
        return true;
      },
      async release(key, value) {
        const at = begin();
        if (live(kv, key, at)?.value === value) kv.delete(key);
      },
    },

    tallies: {
      async add(key, amounts, ttlMs) {
        checkTally(amounts, ttlMs);
        const at = begin();
        const fields = live(tallies, key, at)?.value ?? new Map<string, number>();
        for (const [field, amount] of Object.entries(amounts)) fields.set(field, (fields.get(field) ?? 0) + amount);
        tallies.set(key, { value: fields, expiresAt: at + ttlMs });
      },
      async read(key) {
        const at = begin();
        return Object.fromEntries(live(tallies, key, at)?.value ?? []);
      },
    },

    presence: {
      async beat(instanceId, ttlMs) {
        checkBeat(instanceId, ttlMs);
        const at = begin();
        instances.set(instanceId, at + ttlMs);
        let alive = 0;
        for (const [k, expiresAt] of instances) {
          if (expiresAt > at) alive++;
          else instances.delete(k);
        }
        return alive;
      },
    },

    resources: {
      async put(r) {
        checkResource(r);
        begin();
        resources.set(`${r.kind}\u0000${r.id}`, JSON.stringify(r));
      },
      async get(kind, id) {
        const at = begin();
        const json = resources.get(`${kind}\u0000${id}`);
        if (json === undefined) return null;
        const r = JSON.parse(json) as OwnedResource;
        if (r.expiresAt > at) return r;
        resources.delete(`${kind}\u0000${id}`);
        return null;
      },
      async list(kind, tenant) {
        const at = begin();
        const out: OwnedResource[] = [];
        for (const json of resources.values()) {
          const r = JSON.parse(json) as OwnedResource;
          if (r.kind === kind && r.tenant === tenant && r.expiresAt > at) out.push(r);
        }
        return out.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
      },
      async delete(kind, id) {
        const at = begin();
        const key = `${kind}\u0000${id}`;
        const json = resources.get(key);
        resources.delete(key);
        return json !== undefined && (JSON.parse(json) as OwnedResource).expiresAt > at;
      },
    },

    async health(): Promise<StoreHealth> {
      return closed
        ? { kind: "memory", ok: false, latencyMs: null, detail: "closed" }
        : { kind: "memory", ok: true, latencyMs: 0 };
    },

    async close() {
      closed = true;
      windows.clear();
      reservations.clear();
      counters.clear();
      kv.clear();
      tallies.clear();
      instances.clear();
      resources.clear();
    },
  };
}
