/**
 * Leased admission (quota/leased-windows.ts) over the in-memory store, on fake time: calls decided in memory, leases
 * refilled ahead of need and given back, and a fleet of three instances within limit + one lease each.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createLeasedWindows } from "../../service/src/quota/leased-windows.js";
import { createMemoryStore } from "../../service/src/store/memory.js";
import { StoreUnavailableError, type Charge, type RateWindows } from "../../service/src/store/store.js";

beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
afterEach(() => vi.useRealTimers());

/** 600 per minute, paced: at most 10 outstanding (a second's worth). */
const RPM: Charge = { key: "t:acme:rpm", limit: 600, periodMs: 60_000, burst: 10, cost: 1 };
const OPTIONS = { leaseMs: 2_000, share: 0.5, lowWater: 0.5 };

/** The shared windows, with a count of the calls that reach them. */
function sharedWindows() {
  const store = createMemoryStore();
  const calls = { admit: 0, reconcile: 0 };
  const windows: RateWindows = {
    admit: (c, h) => (calls.admit++, store.windows.admit(c, h)),
    reconcile: (r, a) => (calls.reconcile++, store.windows.reconcile(r, a)),
  };
  /** Units outstanding on the shared window now (what a zero-cost look sees). */
  const outstanding = async (w: Charge) => {
    const a = await store.windows.admit([{ ...w, cost: 0 }]);
    return w.burst! - a.windows[0]!.remaining;
  };
  return { windows, calls, outstanding };
}

describe("leased windows", () => {
  it("decides most calls in memory: one shared round trip per lease, refilled before it runs dry", async () => {
    const shared = sharedWindows();
    const leased = createLeasedWindows(shared.windows, OPTIONS);
    let admitted = 0;
    for (let i = 0; i < 100; i++) {
      // 5 calls per second, under the 10 per second limit.
      if ((await leased.admit([RPM])).admitted) admitted++;
      await vi.advanceTimersByTimeAsync(200);
    }
    expect(admitted).toBe(100);
    // A lease is 5 units (half the burst; the window refills 20 in a lease's 2 s): about one shared call per 5 calls.
    expect(shared.calls.admit).toBeLessThanOrEqual(25);
    expect(shared.calls.admit).toBeGreaterThanOrEqual(15);
  });

  it("gives back what a lease did not spend when it expires, and everything on drain", async () => {
    const shared = sharedWindows();
    const leased = createLeasedWindows(shared.windows, OPTIONS);
    await leased.admit([RPM]); // takes a lease of 5, spends 1
    expect(leased.held()[RPM.key]).toBe(4);
    expect(await shared.outstanding(RPM)).toBe(5);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(leased.held()[RPM.key]).toBeUndefined();
    expect(await shared.outstanding(RPM)).toBeLessThanOrEqual(1); // the 4 unspent came back (and 1 drained)
    await leased.admit([RPM]);
    await leased.drain();
    expect(leased.held()).toEqual({});
    expect(shared.calls.reconcile).toBe(2);
  });

  it("refuses, with the shared window's wait, what no lease can cover", async () => {
    const shared = sharedWindows();
    const leased = createLeasedWindows(shared.windows, OPTIONS);
    const results = [];
    for (let i = 0; i < 12; i++) results.push(await leased.admit([RPM]));
    const refused = results.filter((r) => !r.admitted);
    expect(results.filter((r) => r.admitted).length).toBe(10); // the burst, leased in two bites
    expect(refused.length).toBe(2);
    expect(refused[0]).toMatchObject({ refusedBy: RPM.key });
    expect(refused[0]!.admitted === false && refused[0]!.retryAfterMs).toBeGreaterThan(0);
  });

  it("settles a token hold on the lease: unused tokens go back, extra ones are spent", async () => {
    const shared = sharedWindows();
    const leased = createLeasedWindows(shared.windows, { leaseMs: 2_000, share: 0.5, lowWater: 0 });
    const TPM = { key: "t:acme:tpm", limit: 600_000, periodMs: 60_000, burst: 10_000 };
    const a = await leased.admit([], { windows: [TPM], amount: 1_000, ttlMs: 60_000 });
    expect(a.admitted).toBe(true);
    const lease = leased.held()[TPM.key]!;
    if (!a.admitted) return;
    await leased.reconcile(a.reservation!, 400);
    expect(leased.held()[TPM.key]).toBe(lease + 600);
    const b = await leased.admit([], { windows: [TPM], amount: 1_000, ttlMs: 60_000 });
    if (!b.admitted) throw new Error("refused");
    await leased.reconcile(b.reservation!, 1_500);
    expect(leased.held()[TPM.key]).toBe(lease + 600 - 1_500);
  });

  it("keeps a fleet of three within the limit plus one lease each", async () => {
    const shared = sharedWindows();
    const fleet = [0, 1, 2].map(() => createLeasedWindows(shared.windows, OPTIONS));
    let admitted = 0;
    const seconds = 20;
    // Each instance offers 10 calls per second (3× the limit), for 20 s.
    for (let t = 0; t < seconds * 10; t++) {
      for (const instance of fleet) if ((await instance.admit([RPM])).admitted) admitted++;
      await vi.advanceTimersByTimeAsync(100);
    }
    const lease = 5;
    expect(admitted).toBeLessThanOrEqual(10 * seconds + RPM.burst! + 3 * lease);
    expect(admitted).toBeGreaterThanOrEqual(10 * seconds * 0.9); // and it does not starve the fleet either
  });

  it("passes the shared store's outage on, so admission can fail open or closed", async () => {
    const failing: RateWindows = {
      admit: () => Promise.reject(new StoreUnavailableError("redis down")),
      reconcile: () => Promise.reject(new StoreUnavailableError("redis down")),
    };
    const leased = createLeasedWindows(failing, OPTIONS);
    await expect(leased.admit([RPM])).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});
