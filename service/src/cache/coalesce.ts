/**
 * Request coalescing (single flight): when many identical cacheable calls arrive at once — a cold cache after a
 * deploy, a popular prompt, a retry storm — one of them calls the model and the others wait for its answer, instead
 * of each paying for the same tokens. No peer gateway offers this (shared/reference/gateway-peers.md: "Request
 * coalescing ...: none of them"); their caches let every concurrent miss through to the provider.
 *
 * Semantics of `run(key, leader, follower)`:
 * - Within one process, concurrent calls with the same key share one flight: the first caller's flight runs, later
 *   callers await the same promise and get role "follower" with the same value — or the same rejection, since the
 *   answer they were waiting for failed. The flight ends when its promise settles; a call after that starts anew.
 * - Across processes (with a shared store): before leading, a flight claims the lease `lease:<key>` for `leaseMs`
 *   (Leases.claim, SET NX PX) with a random token. If another instance holds it, the flight polls `follower()` — the
 *   caller's "look in the shared cache" — every `pollMs` until it returns a value (role "follower"), or until the lease
 *   can be claimed again because its holder released it or it expired (then this flight leads, after one last look:
 *   a holder stores its answer before releasing, so the look after a successful claim cannot miss it).
 * - The leader releases its lease when `leader()` settles, by compare-and-delete (Leases.release), so a leader that
 *   outlived its lease never frees the next holder's lease.
 * - The lease is short on purpose: it is not renewed, so a crashed leader delays the others by at most `leaseMs`, and
 *   a leader slower than `leaseMs` just lets one more instance lead (duplicate work, never a stuck call).
 * - The store is an optimisation, never a dependency: a store error while claiming just leads, an error releasing
 *   only leaves the lease to expire, and a `follower()` that throws is treated as "the shared answer cannot be read"
 *   and leads too. No call fails because of the lease.
 *
 * What the caller must make of it: the value is shared by every follower, so it should be data that can be replayed
 * to each client (the cache entry), not something consumed once (a response stream). And a leader whose answer is not
 * cacheable (an error) leaves nothing for remote followers to find: they lead in turn once the lease is released.
 */
import { randomUUID } from "node:crypto";
import type { Leases } from "../store/store.js";

export type CoalesceRole = "leader" | "follower";

export interface Coalesced<T> {
  role: CoalesceRole;
  value: T;
}

export interface CoalescerOptions {
  /** The shared store's leases; absent: coalescing within this process only. */
  kv?: Leases;
  /** How long a lease holds before another instance may lead (set it near a typical call's duration). */
  leaseMs: number;
  /** How often a waiting instance looks for the leader's answer; default 50 ms. */
  pollMs?: number;
  /** Called with each store error (the call then leads, or the lease expires by itself). */
  onStoreError?: (err: unknown) => void;
}

export interface Coalescer {
  /**
   * `waitUntil` (epoch ms) bounds how long this call waits on another instance's lease: past it, it leads (makes the
   * call itself) rather than wait out a slow or crashed leader beyond its own deadline.
   */
  run<T>(
    key: string,
    leader: () => Promise<T>,
    follower: () => Promise<T | undefined>,
    waitUntil?: number,
  ): Promise<Coalesced<T>>;
}

const DEFAULT_POLL_MS = 50;
const LEASE_PREFIX = "lease:";
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createCoalescer(options: CoalescerOptions): Coalescer {
  const { kv, leaseMs, onStoreError } = options;
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  if (!Number.isSafeInteger(leaseMs) || leaseMs <= 0) throw new RangeError(`leaseMs must be a positive integer`);
  if (!Number.isFinite(pollMs) || pollMs <= 0) throw new RangeError(`pollMs must be positive`);
  /** Flights in progress in this process, by key. Values are typed per call site; the map itself cannot be. */
  const flights = new Map<string, Promise<Coalesced<unknown>>>();
  const report = (err: unknown) => {
    try {
      onStoreError?.(err);
    } catch {
      // A failing reporter must not fail the call.
    }
  };

  /** One flight: leads, or waits for another instance's answer. Only the flight's first caller sees its role. */
  async function fly<T>(
    key: string,
    leader: () => Promise<T>,
    follower: () => Promise<T | undefined>,
    waitUntil: number,
  ): Promise<Coalesced<T>> {
    const lead = async (): Promise<Coalesced<T>> => ({ role: "leader", value: await leader() });
    if (!kv) return lead();
    const lease = LEASE_PREFIX + key;
    const token = randomUUID();
    /** true: this flight holds the lease; false: another instance does; undefined: the store failed. */
    const claim = async (): Promise<boolean | undefined> => {
      try {
        return await kv.claim(lease, token, leaseMs);
      } catch (err) {
        report(err);
        return undefined;
      }
    };
    /** The shared answer, or undefined; a follower() that throws counts as a miss (and this flight then leads). */
    const look = async (): Promise<{ value: T } | undefined | "failed"> => {
      try {
        const value = await follower();
        return value === undefined ? undefined : { value };
      } catch {
        return "failed";
      }
    };
    const leadHolding = async (): Promise<Coalesced<T>> => {
      try {
        return await lead();
      } finally {
        kv.release(lease, token).catch(report);
      }
    };

    let claimed = await claim();
    if (claimed === undefined) return lead();
    if (claimed) return leadHolding();
    for (;;) {
      await sleep(Math.max(0, Math.min(pollMs, waitUntil - Date.now())));
      const found = await look();
      if (found === "failed") return lead();
      if (found) return { role: "follower", value: found.value };
      if (Date.now() >= waitUntil) return lead(); // waited as long as this call may: make it without the lease
      claimed = await claim();
      if (claimed === undefined) return lead();
      if (claimed) {
        // The previous holder stores its answer before releasing: look once more before paying for the call again.
        const late = await look();
        if (late && late !== "failed") {
          kv.release(lease, token).catch(report);
          return { role: "follower", value: late.value };
        }
        return leadHolding();
      }
    }
  }

  return {
    async run<T>(
      key: string,
      leader: () => Promise<T>,
      follower: () => Promise<T | undefined>,
      waitUntil = Infinity,
    ): Promise<Coalesced<T>> {
      const inFlight = flights.get(key) as Promise<Coalesced<T>> | undefined;
      if (inFlight) return { role: "follower", value: (await inFlight).value };
      const flight = fly(key, leader, follower, waitUntil);
      flights.set(key, flight);
      try {
        return await flight;
      } finally {
        flights.delete(key);
      }
    },
  };
}
