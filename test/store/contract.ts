/**
 * The store contract: one suite every implementation passes (memory.test.ts, redis.test.ts). Keys are unique per
 * test, so a suite may share one store or one server. Time: the memory store's injected clock is moved by `advance`;
 * the Redis store reads Redis TIME, so there `advance` sleeps and windows are short. `slackMs` is how far real time
 * may drift between two calls of one test (0 with an injected clock): retry-after values are exact up to it.
 * Presence is one set per store, not per key: each harness's store must see no other test's beats.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Admission, Charge, OwnedResource, Store, Window } from "../../service/src/store/store.js";

export interface StoreHarness {
  store: Store;
  now(): number;
  advance(ms: number): Promise<void>;
  slackMs: number;
  close(): Promise<void>;
}

const MINUTE = 60_000;
/** Token windows are per hour in these tests: a unit drains every 3.6 s, so real time between calls never refills one. */
const HOUR = 3_600_000;
const DAY = 86_400_000;
let serial = 0;

/** `retryAfterMs` is `expected`, or less by at most the real time that passed (never more). */
function expectRetryAfter(a: Admission, refusedBy: string, expected: number, slackMs: number): void {
  expect(a.admitted).toBe(false);
  if (a.admitted) return;
  expect(a.refusedBy).toBe(refusedBy);
  expect(a.retryAfterMs).not.toBeNull();
  expect(a.retryAfterMs!).toBeLessThanOrEqual(expected);
  expect(a.retryAfterMs!).toBeGreaterThanOrEqual(expected - slackMs);
}

export function storeContract(name: string, makeHarness: () => Promise<StoreHarness>): void {
  describe(`store contract: ${name}`, () => {
    let h: StoreHarness;
    let id: string;
    const win = (key: string, limit: number, periodMs: number): Window => ({ key: `${id}:${key}`, limit, periodMs });
    /** The same window (same key, same state), admitted under another burst. */
    const withBurst = (w: Window, burst: number): Window => ({ ...w, burst });
    const charge = (w: Window, cost: number): Charge => ({ ...w, cost });
    const admitted = async (charges: Charge[], times: number) => {
      let n = 0;
      for (let i = 0; i < times; i++) if ((await h.store.windows.admit(charges)).admitted) n++;
      return n;
    };

    beforeEach(async () => {
      h = await makeHarness();
      id = `t${++serial}-${Math.random().toString(36).slice(2, 8)}`;
    });
    afterEach(async () => h.close());

    describe("rate windows", () => {
      it("admits exactly `limit` units, then refuses with the wait until one unit has drained", async () => {
        const rpm = win("rpm", 5, MINUTE);
        expect(await admitted([charge(rpm, 1)], 8)).toBe(5);
        expectRetryAfter(await h.store.windows.admit([charge(rpm, 1)]), rpm.key, MINUTE / 5, h.slackMs);
      });

      it("charges token costs, refuses a cost that does not fit, and says a cost above the limit never fits", async () => {
        const tpm = win("tph", 1000, HOUR);
        expect((await h.store.windows.admit([charge(tpm, 600)])).admitted).toBe(true);
        // 600 + 500 − 1000 = 100 units over, 3.6 s each.
        expectRetryAfter(await h.store.windows.admit([charge(tpm, 500)]), tpm.key, 360_000, h.slackMs);
        expect((await h.store.windows.admit([charge(tpm, 400)])).admitted).toBe(true);
        expect((await h.store.windows.admit([charge(tpm, 1)])).admitted).toBe(false);
        const never = await h.store.windows.admit([charge(win("tiny", 10, MINUTE), 11)]);
        expect(never).toMatchObject({ admitted: false, refusedBy: `${id}:tiny`, retryAfterMs: null });
      });

      it("charges all windows or none, and names the window with the longest wait", async () => {
        const a = win("a", 3, MINUTE);
        const b = win("b", 5, MINUTE);
        expect(await admitted([charge(a, 1), charge(b, 1)], 4)).toBe(3);
        const refused = await h.store.windows.admit([charge(a, 1), charge(b, 1)]);
        expectRetryAfter(refused, a.key, MINUTE / 3, h.slackMs);
        expect(refused.windows.find((w) => w.key === b.key)?.remaining).toBe(2);
        expect(await admitted([charge(b, 1)], 5)).toBe(2); // b was charged 3 times, not 4
        const fast = win("fast", 10, 1000);
        await admitted([charge(fast, 1)], 10);
        const both = await h.store.windows.admit([charge(fast, 1), charge(a, 1), charge(b, 1)]);
        expectRetryAfter(both, a.key, MINUTE / 3, h.slackMs); // a waits 20 s, fast 100 ms, b 12 s
      });

      it("reports remaining and reset per window for rate-limit headers; cost 0 only reads", async () => {
        const rpm = win("rpm", 5, MINUTE);
        const tpm = win("tph", 1000, HOUR);
        const a = await h.store.windows.admit([charge(rpm, 3), charge(tpm, 250)]);
        expect(a.admitted).toBe(true);
        expect(a.windows).toEqual([
          { key: rpm.key, limit: 5, remaining: 2, resetMs: 36_000 },
          { key: tpm.key, limit: 1000, remaining: 750, resetMs: 900_000 },
        ]);
        const read = await h.store.windows.admit([charge(rpm, 0)]);
        expect(read.admitted && read.windows[0]!.remaining).toBe(2);
        expect(read.windows[0]!.resetMs).toBeLessThanOrEqual(36_000);
        expect(read.windows[0]!.resetMs).toBeGreaterThanOrEqual(36_000 - h.slackMs);
      });

      it("refills continuously: one unit after its wait, the whole limit after a period", async () => {
        const w = win("short", 2, 1000);
        expect(await admitted([charge(w, 1)], 3)).toBe(2);
        const refused = await h.store.windows.admit([charge(w, 1)]);
        expectRetryAfter(refused, w.key, 500, h.slackMs);
        await h.advance(refused.admitted ? 0 : refused.retryAfterMs!);
        expect(await admitted([charge(w, 1)], 1)).toBe(1);
        await h.advance(1000);
        expect(await admitted([charge(w, 1)], 3)).toBe(2);
      });

      it("stays exact at large limits (integer state beyond 14 digits)", async () => {
        const tpd = win("tpd", 100_000_000, DAY);
        expect((await h.store.windows.admit([charge(tpd, 100_000_000)])).admitted).toBe(true);
        const refused = await h.store.windows.admit([charge(tpd, 1)]);
        // 1 unit × 86,400,000 ms / 100,000,000 per ms → 1 ms (0 once a millisecond has passed).
        expect(refused.admitted ? -1 : refused.retryAfterMs).toBeLessThanOrEqual(1);
        await expect(h.store.windows.admit([charge(win("huge", 1e9, DAY), 1)])).rejects.toThrow(RangeError);
      });

      it("admits exactly the limit out of many concurrent calls", async () => {
        const w = win("burst", 150, MINUTE);
        const results = await Promise.all(Array.from({ length: 200 }, () => h.store.windows.admit([charge(w, 1)])));
        expect(results.filter((r) => r.admitted)).toHaveLength(150);
      });

      it("spreads a period's units with a burst below the limit, at the same rate", async () => {
        const rpm = withBurst(win("rpm", 60, MINUTE), 1);
        const first = await h.store.windows.admit([charge(rpm, 1)]);
        expect(first.windows).toEqual([{ key: rpm.key, limit: 60, remaining: 0, resetMs: 1000 }]);
        const second = await h.store.windows.admit([charge(rpm, 1)]);
        expectRetryAfter(second, rpm.key, 1000, h.slackMs); // one unit's worth of the rate: 60 000 / 60
        expect(second.windows[0]!.remaining).toBe(0);
        expect(await h.store.windows.admit([charge(rpm, 2)])).toMatchObject({ admitted: false, retryAfterMs: null });
        await h.advance(1000);
        expect(await admitted([charge(rpm, 1)], 2)).toBe(1);
      });

      it("lets calls share one window under different bursts: a smaller burst leaves a reserve", async () => {
        const interactive = win("shared-rpm", 10, MINUTE); // burst 10: the limit
        const batch = withBurst(interactive, 8); // 0.8 × the burst: 2 units stay for interactive calls
        expect(await admitted([charge(batch, 1)], 10)).toBe(8);
        const refused = await h.store.windows.admit([charge(batch, 1)]);
        // 8 outstanding + 1 − 8 = 1 unit over the batch burst: 6 s at 10 per minute.
        expectRetryAfter(refused, batch.key, 6000, h.slackMs);
        expect(refused.windows[0]!.remaining).toBe(0);
        const read = await h.store.windows.admit([charge(interactive, 0)]);
        expect(read.windows[0]!.remaining).toBe(2);
        expect(await admitted([charge(interactive, 1)], 5)).toBe(2);
        // 10 outstanding: batch waits for 3 units to drain, interactive for 1.
        expectRetryAfter(await h.store.windows.admit([charge(batch, 1)]), batch.key, 18_000, h.slackMs);
        expectRetryAfter(await h.store.windows.admit([charge(interactive, 1)]), interactive.key, 6000, h.slackMs);
      });

      it("refuses malformed admissions with a RangeError before touching anything", async () => {
        const w = win("w", 5, MINUTE);
        await expect(h.store.windows.admit([charge(withBurst(w, 0), 1)])).rejects.toThrow(RangeError);
        await expect(h.store.windows.admit([charge(withBurst(w, 2.5), 1)])).rejects.toThrow(RangeError);
        await expect(h.store.windows.admit([charge(withBurst(w, 6), 1)])).rejects.toThrow(/burst.*limit/);
        await expect(h.store.windows.admit([], { windows: [withBurst(w, 6)], amount: 1, ttlMs: 1 })).rejects.toThrow(
          RangeError,
        );
        await expect(h.store.windows.admit([charge(w, 1.5)])).rejects.toThrow(RangeError);
        await expect(h.store.windows.admit([charge(w, -1)])).rejects.toThrow(RangeError);
        await expect(h.store.windows.admit([charge(w, 1), charge(w, 1)])).rejects.toThrow(/twice/);
        await expect(h.store.windows.admit([charge(win("z", 0, MINUTE), 1)])).rejects.toThrow(RangeError);
        await expect(h.store.windows.admit([], { windows: [w], amount: 1, ttlMs: 0 })).rejects.toThrow(RangeError);
        expect(await admitted([charge(w, 1)], 6)).toBe(5);
      });
    });

    describe("reservations", () => {
      const hold = (windows: Window[], amount: number, ttlMs = MINUTE) => ({ windows, amount, ttlMs });

      it("holds the estimate with the exact charges, and refunds on reconcile down", async () => {
        const rpm = win("rpm", 10, MINUTE);
        const tpm = win("tph", 1000, HOUR);
        const r = await h.store.windows.admit([charge(rpm, 1)], hold([tpm], 600));
        expect(r.admitted).toBe(true);
        if (!r.admitted) return;
        expect(r.reservation).toMatchObject({ amount: 600, windows: [tpm] });
        expect(r.windows.map((w) => w.remaining)).toEqual([9, 400]);
        expect(await h.store.windows.reconcile(r.reservation!, 200)).toBe("reconciled");
        expect((await h.store.windows.admit([charge(tpm, 800)])).admitted).toBe(true);
        expect((await h.store.windows.admit([charge(tpm, 1)])).admitted).toBe(false);
        const rpmNow = await h.store.windows.admit([charge(rpm, 0)]);
        expect(rpmNow.windows[0]!.remaining).toBe(9); // the request charge is not reconciled
      });

      it("charges the difference on reconcile up, past the limit after the fact, once", async () => {
        const tpm = win("tph", 1000, HOUR);
        const global = win("global-tph", 5000, HOUR);
        const r = await h.store.windows.admit([], hold([tpm, global], 300));
        if (!r.admitted) throw new Error("not admitted");
        expect(await h.store.windows.reconcile(r.reservation!, 1500)).toBe("reconciled");
        expect(await h.store.windows.reconcile(r.reservation!, 1500)).toBe("expired");
        // 1500 outstanding + 1 − 1000 = 501 units over, 3.6 s each.
        expectRetryAfter(await h.store.windows.admit([charge(tpm, 1)]), tpm.key, 1_803_600, h.slackMs);
        expect((await h.store.windows.admit([charge(global, 0)])).windows[0]!.remaining).toBe(3500);
      });

      it("holds within each hold window's burst, and reconciles against the limit", async () => {
        const tpm = win("tph", 1000, HOUR);
        const batchTpm = withBurst(tpm, 800);
        const r = await h.store.windows.admit([], hold([batchTpm], 700));
        if (!r.admitted) throw new Error("not admitted");
        expect(r.windows[0]).toMatchObject({ limit: 1000, remaining: 100 });
        // 700 + 200 − 800 = 100 units over the batch burst, 3.6 s each; under the full burst it fits.
        expectRetryAfter(await h.store.windows.admit([], hold([batchTpm], 200)), tpm.key, 360_000, h.slackMs);
        expect((await h.store.windows.admit([], hold([tpm], 200))).admitted).toBe(true);
        const never = await h.store.windows.admit([], hold([batchTpm], 900));
        expect(never).toMatchObject({ admitted: false, retryAfterMs: null }); // above the burst: never fits
        expect(await h.store.windows.reconcile(r.reservation!, 100)).toBe("reconciled");
        const after = await h.store.windows.admit([charge(tpm, 0)]);
        expect(after.windows[0]!.remaining).toBe(700); // 100 + 200 outstanding
      });

      it("refuses the whole call when the hold does not fit, charging nothing", async () => {
        const rpm = win("rpm", 10, MINUTE);
        const tpm = win("tph", 1000, HOUR);
        await h.store.windows.admit([charge(tpm, 900)]);
        const r = await h.store.windows.admit([charge(rpm, 1)], hold([tpm], 200));
        expectRetryAfter(r, tpm.key, 360_000, h.slackMs);
        expect(r.admitted ? null : r.windows.map((w) => w.remaining)).toEqual([10, 100]);
        expect((await h.store.windows.admit([charge(rpm, 1)], hold([tpm], 5000))).admitted).toBe(false);
      });

      it("forgets a reservation after its TTL: the estimate stays charged and reconcile says so", async () => {
        const tpm = win("tph", 1000, HOUR);
        const r = await h.store.windows.admit([], hold([tpm], 700, 300));
        if (!r.admitted) throw new Error("not admitted");
        expect(r.reservation!.expiresAt - h.now()).toBeLessThanOrEqual(300);
        await h.advance(350);
        expect(await h.store.windows.reconcile(r.reservation!, 0)).toBe("expired");
        const after = await h.store.windows.admit([charge(tpm, 0)]);
        expect(after.windows[0]!.remaining).toBeGreaterThanOrEqual(300); // 700 held, 350 ms drained 0.1 of a unit
        expect(after.windows[0]!.remaining).toBeLessThanOrEqual(301); // not refunded
      });
    });

    describe("counters", () => {
      const DAY_AGO = () => h.now() - DAY;
      it("adds and reads per day and per month, many at once", async () => {
        // Two days of the current month, both within the margin: yesterday and today (today and tomorrow on the 1st).
        const d = new Date(h.now());
        const today = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), 12);
        const [day1, day2] = d.getUTCDate() > 1 ? [today - DAY, today] : [today, today + DAY];
        const spend = `${id}:spend`;
        expect(await h.store.counters.add({ name: spend, period: "day", at: day1 }, 1_250_000)).toBe(1_250_000);
        expect(await h.store.counters.add({ name: spend, period: "day", at: day1 + 3600_000 }, 750_000)).toBe(2e6);
        await h.store.counters.add({ name: spend, period: "day", at: day2 }, 5);
        await h.store.counters.add({ name: spend, period: "month", at: day1 }, 2_000_000);
        await h.store.counters.add({ name: spend, period: "month", at: day2 }, 5);
        expect(await h.store.counters.read({ name: spend, period: "day", at: day1 - 3600_000 })).toBe(2_000_000);
        expect(
          await h.store.counters.readMany([
            { name: spend, period: "day", at: day1 },
            { name: spend, period: "day", at: day2 },
            { name: spend, period: "month", at: day1 },
            { name: `${id}:never`, period: "month" },
          ]),
        ).toEqual([2_000_000, 5, 2_000_005, 0]);
        await h.store.counters.add({ name: `${id}:refunds`, period: "day" }, -5); // default: now
        expect(await h.store.counters.read({ name: `${id}:refunds`, period: "day", at: h.now() })).toBe(-5);
        expect(await h.store.counters.readMany([])).toEqual([]);
      });

      it("keeps a period's counter for its margin after it ends, then drops it", async () => {
        const tokens = `${id}:tokens`;
        await h.store.counters.add({ name: tokens, period: "day", at: DAY_AGO() }, 42);
        expect(await h.store.counters.read({ name: tokens, period: "day", at: DAY_AGO() })).toBe(42);
        const longAgo = h.now() - 400 * DAY;
        expect(await h.store.counters.add({ name: tokens, period: "month", at: longAgo }, 7)).toBe(7);
        expect(await h.store.counters.read({ name: tokens, period: "month", at: longAgo })).toBe(0);
        await expect(h.store.counters.add({ name: tokens, period: "day" }, 0.5)).rejects.toThrow(RangeError);
      });
    });

    describe("key-value", () => {
      it("sets, overwrites and reads values until their TTL passes", async () => {
        const key = `${id}:kill-switch`;
        expect(await h.store.kv.get(key)).toBeNull();
        await h.store.kv.set(key, '{"state":"batch-off"}', 60_000);
        await h.store.kv.set(key, '{"state":"all-off"}', 300);
        expect(await h.store.kv.get(key)).toBe('{"state":"all-off"}');
        await h.advance(350);
        expect(await h.store.kv.get(key)).toBeNull();
        await expect(h.store.kv.set(key, "x", 0)).rejects.toThrow(RangeError);
      });

      it("claims a key only while it is absent, and again once its TTL has passed", async () => {
        const key = `${id}:lease`;
        expect(await h.store.kv.claim(key, "holder-a", 300)).toBe(true);
        expect(await h.store.kv.claim(key, "holder-b", 60_000)).toBe(false);
        expect(await h.store.kv.get(key)).toBe("holder-a"); // one namespace with get/set; b changed nothing
        await h.advance(350);
        expect(await h.store.kv.claim(key, "holder-b", 60_000)).toBe(true);
        expect(await h.store.kv.get(key)).toBe("holder-b");
        await h.store.kv.set(`${id}:plain`, "v", 60_000);
        expect(await h.store.kv.claim(`${id}:plain`, "holder-c", 60_000)).toBe(false); // a set key is taken too
        await expect(h.store.kv.claim(`${id}:bad`, "x", 0)).rejects.toThrow(RangeError);
        await expect(h.store.kv.claim(`${id}:bad`, "x", 1.5)).rejects.toThrow(RangeError);
      });

      it("lets many concurrent claims of one key succeed exactly once", async () => {
        const key = `${id}:contended`;
        const won = await Promise.all(Array.from({ length: 50 }, (_, i) => h.store.kv.claim(key, `h${i}`, 60_000)));
        expect(won.filter(Boolean)).toHaveLength(1);
      });

      it("releases a key only for the value that holds it", async () => {
        const key = `${id}:lease`;
        expect(await h.store.kv.claim(key, "holder-a", 60_000)).toBe(true);
        await h.store.kv.release(key, "holder-b"); // not b's lease: nothing happens
        expect(await h.store.kv.get(key)).toBe("holder-a");
        expect(await h.store.kv.claim(key, "holder-b", 60_000)).toBe(false);
        await h.store.kv.release(key, "holder-a");
        expect(await h.store.kv.get(key)).toBeNull();
        await h.store.kv.release(key, "holder-a"); // already gone: still nothing
        await h.store.kv.release(`${id}:never`, "x");
        expect(await h.store.kv.claim(key, "holder-b", 60_000)).toBe(true);
      });
    });

    describe("tallies", () => {
      it("adds amounts to fields, integers and fractions, and reads them all back", async () => {
        const key = `${id}:variant`;
        expect(await h.store.tallies.read(key)).toEqual({});
        await h.store.tallies.add(key, { requests: 1, cost_usd: 0.000125 }, MINUTE);
        await h.store.tallies.add(key, { requests: 1, cost_usd: 0.5, "m:resolved:n": 1 }, MINUTE);
        const t = await h.store.tallies.read(key);
        expect(t.requests).toBe(2);
        expect(t.cost_usd).toBeCloseTo(0.500125, 12);
        expect(t["m:resolved:n"]).toBe(1);
        await expect(h.store.tallies.add(key, { x: Number.NaN }, MINUTE)).rejects.toThrow(RangeError);
        await expect(h.store.tallies.add(key, { x: 1 }, 0)).rejects.toThrow(RangeError);
      });

      it("loses nothing to concurrent adds, and forgets a tally once its TTL passes without an add", async () => {
        const key = `${id}:busy`;
        await Promise.all(Array.from({ length: 50 }, () => h.store.tallies.add(key, { n: 1, half: 0.5 }, 300)));
        expect(await h.store.tallies.read(key)).toEqual({ n: 50, half: 25 });
        await h.advance(350);
        expect(await h.store.tallies.read(key)).toEqual({});
      });
    });

    describe("presence", () => {
      it("counts each live instance once, until its TTL passes", async () => {
        expect(await h.store.presence.beat(`${id}:a`, 300)).toBe(1);
        expect(await h.store.presence.beat(`${id}:b`, MINUTE)).toBe(2);
        expect(await h.store.presence.beat(`${id}:a`, 300)).toBe(2); // a beat again: still one instance
        await h.advance(350);
        // a has stopped beating; b's longer TTL outlives a's shorter one (a short beat never drops the others).
        expect(await h.store.presence.beat(`${id}:c`, 300)).toBe(2);
        expect(await h.store.presence.beat(`${id}:a`, 300)).toBe(3); // back
      });

      it("refuses a beat without an id or a positive TTL", async () => {
        await expect(h.store.presence.beat("", 1000)).rejects.toThrow(RangeError);
        await expect(h.store.presence.beat(`${id}:a`, 0)).rejects.toThrow(RangeError);
        await expect(h.store.presence.beat(`${id}:a`, 1.5)).rejects.toThrow(RangeError);
      });
    });

    describe("ownership registry", () => {
      const record = (over: Partial<OwnedResource> = {}): OwnedResource => ({
        kind: "cachedContent",
        id: `${id}-c1`,
        tenant: "acme",
        upstream: "us",
        model: "gemini-2.5-flash",
        createdAt: h.now(),
        expiresAt: h.now() + HOUR,
        data: { tokens: 4096 },
        ...over,
      });

      it("records who owns a resource and where it lives, by kind and id", async () => {
        const r = record();
        await h.store.resources.put(r);
        expect(await h.store.resources.get("cachedContent", `${id}-c1`)).toEqual(r);
        expect(await h.store.resources.get("interaction", `${id}-c1`)).toBeNull(); // ids are per kind
        expect(await h.store.resources.get("cachedContent", `${id}-none`)).toBeNull();
        await h.store.resources.put(record({ upstream: "eu" })); // replaced
        expect((await h.store.resources.get("cachedContent", `${id}-c1`))?.upstream).toBe("eu");
      });

      it("lists a tenant's own records of one kind, oldest first, and no one else's", async () => {
        const t = h.now(); // once: real time moves between the puts
        await h.store.resources.put(record({ id: `${id}-b`, createdAt: t + 2 }));
        await h.store.resources.put(record({ id: `${id}-a`, createdAt: t + 1 }));
        await h.store.resources.put(record({ id: `${id}-x`, tenant: "globex" }));
        await h.store.resources.put(record({ id: `${id}-i`, kind: "interaction" }));
        const mine = await h.store.resources.list("cachedContent", "acme");
        expect(mine.map((r) => r.id).filter((x) => x.startsWith(id))).toEqual([`${id}-a`, `${id}-b`]);
        expect((await h.store.resources.list("cachedContent", "globex")).map((r) => r.id)).toContain(`${id}-x`);
        expect((await h.store.resources.list("interaction", "acme")).map((r) => r.id)).toContain(`${id}-i`);
      });

      it("deletes once, and then the resource is absent everywhere", async () => {
        await h.store.resources.put(record());
        expect(await h.store.resources.delete("cachedContent", `${id}-c1`)).toBe(true);
        expect(await h.store.resources.delete("cachedContent", `${id}-c1`)).toBe(false);
        expect(await h.store.resources.get("cachedContent", `${id}-c1`)).toBeNull();
        expect((await h.store.resources.list("cachedContent", "acme")).map((r) => r.id)).not.toContain(`${id}-c1`);
      });

      it("honours expiry: an expired record is absent, and one already expired is not stored", async () => {
        await h.store.resources.put(record({ expiresAt: h.now() + 300 }));
        await h.store.resources.put(record({ id: `${id}-past`, expiresAt: h.now() - 1 }));
        expect(await h.store.resources.get("cachedContent", `${id}-c1`)).not.toBeNull();
        expect(await h.store.resources.get("cachedContent", `${id}-past`)).toBeNull();
        await h.advance(350);
        expect(await h.store.resources.get("cachedContent", `${id}-c1`)).toBeNull();
        expect((await h.store.resources.list("cachedContent", "acme")).map((r) => r.id)).not.toContain(`${id}-c1`);
      });

      it("refuses a record without its owner or upstream", async () => {
        await expect(h.store.resources.put(record({ tenant: "" }))).rejects.toThrow(RangeError);
        await expect(h.store.resources.put(record({ upstream: "" }))).rejects.toThrow(RangeError);
        await expect(h.store.resources.put(record({ expiresAt: 1.5 }))).rejects.toThrow(RangeError);
      });
    });

    it("is healthy while open", async () => {
      expect(await h.store.health()).toMatchObject({ kind: h.store.kind, ok: true });
    });
  });
}
