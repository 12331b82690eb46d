/**
 * The admit stage (pipeline/admit.ts) on its own, on fake time, over the in-memory store: a refused call waits in the
 * queue until its window has room, or is refused at once with the wait it would need; the queue's bound; batch kept
 * out of the interactive reserve; the budget kill switch; and what happens when the shared store is down (fail open to
 * this instance's share, or fail closed). The same behaviour over real HTTP and Redis is in test/e2e/admission.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { NO_CAPACITY, parseCapacity, type Capacity } from "../../service/src/config/capacity.js";
import { parseTenants, sha256Hex, type Tenant } from "../../service/src/config/tenants.js";
import { createAdmission, type Admission, type AdmitCall } from "../../service/src/pipeline/admit.js";
import { createMemoryStore } from "../../service/src/store/memory.js";
import { StoreUnavailableError, type Store } from "../../service/src/store/store.js";
import { errors } from "../../service/src/wire/errors.js";

const MODEL = "gemini-2.5-flash";

beforeEach(() => vi.useFakeTimers({ now: Date.UTC(2026, 11, 6, 12) }));
afterEach(() => vi.useRealTimers());

function tenant(entry: Record<string, unknown>): Tenant {
  return parseTenants({ tenants: [{ id: "acme", keySha256: sha256Hex("k"), models: ["*"], ...entry }] }, [MODEL])[0]!;
}

function admission(o: { store?: Store; capacity?: Capacity; queueMax?: number; failure?: "open" | "closed" } = {}) {
  const depth = { interactive: 0, batch: 0 };
  const storeErrors: Error[] = [];
  const budget = { refusal: vi.fn<(t: string, p: string) => ReturnType<typeof errors.rateLimited> | undefined>() };
  const a = createAdmission({
    store: o.store ?? createMemoryStore(),
    storeFailure: o.failure ?? "open",
    reservationTtlMs: 60_000,
    onStoreError: (e) => storeErrors.push(e),
    models: [MODEL],
    capacity: o.capacity ?? NO_CAPACITY,
    regionOf: () => "us-central1",
    queueMax: o.queueMax ?? 100,
    onQueueDepth: (p, d) => (depth[p] += d),
    instances: () => 2,
    budget,
  });
  return { a, depth, storeErrors, budget };
}

const call = (t: Tenant, overrides: Partial<AdmitCall> = {}): AdmitCall => ({
  tenant: t,
  model: MODEL,
  priority: "interactive",
  estimate: () => ({ tokens: 100, usdMicros: 10 }),
  deadline: Date.now() + 5_000,
  signal: new AbortController().signal,
  ...overrides,
});

/** Settles a promise while fake time moves in small steps (the queue's head retries on timers). */
async function run<T>(p: Promise<T>, ms: number): Promise<T> {
  let done = false;
  void p.then(() => (done = true));
  for (let t = 0; t < ms && !done; t += 10) await vi.advanceTimersByTimeAsync(10);
  return p;
}

const refusal = (r: Admission) => (r.admitted ? undefined : { scope: r.scope, status: r.error.httpCode });

describe("admission", () => {
  it("admits a call within the tenant's window, with rate-limit headers and a token hold", async () => {
    const { a } = admission();
    const t = tenant({ limits: { requestsPerMinute: 60, tokensPerMinute: 60_000 } });
    const r = await a.admit(call(t));
    expect(r.admitted).toBe(true);
    if (!r.admitted) return;
    expect(r.queuedMs).toBe(0);
    expect(r.hold?.reservation.amount).toBe(100);
    expect(r.headers).toMatchObject({ "x-ratelimit-limit-requests": "60", "x-ratelimit-limit-tokens": "60000" });
  });

  it("queues a call its window refuses, and admits it once a second's worth has drained (60 rpm: 1 per second)", async () => {
    const { a, depth } = admission();
    const t = tenant({ limits: { requestsPerMinute: 60 } });
    expect((await a.admit(call(t))).admitted).toBe(true);
    const second = a.admit(call(t));
    await vi.advanceTimersByTimeAsync(0);
    expect(depth.interactive).toBe(1);
    const r = await run(second, 2_000);
    expect(r.admitted).toBe(true);
    if (r.admitted) expect(r.queuedMs).toBeGreaterThanOrEqual(990);
    expect(depth.interactive).toBe(0);
  });

  it("refuses at once, with Retry-After, when the window cannot have room before the call's deadline", async () => {
    const { a, depth } = admission();
    const t = tenant({ limits: { requestsPerMinute: 60 } });
    await a.admit(call(t));
    const r = await a.admit(call(t, { deadline: Date.now() + 200 }));
    expect(refusal(r)).toEqual({ scope: "tenant", status: 429 });
    if (!r.admitted) expect(r.error.headers?.["retry-after"]).toBe("1");
    expect(depth.interactive).toBe(0); // never queued
  });

  it("refuses with scope queue when the instance's queue is full", async () => {
    const { a } = admission({ queueMax: 0 });
    const t = tenant({ limits: { requestsPerMinute: 60 } });
    await a.admit(call(t));
    const r = await a.admit(call(t));
    expect(refusal(r)).toEqual({ scope: "queue", status: 429 });
    if (!r.admitted) expect(r.error.message).toContain("queue is full");
  });

  it("keeps batch calls out of the capacity reserved for interactive ones", async () => {
    const capacity = parseCapacity(
      JSON.stringify({ reservedInteractiveShare: 0.5, models: [{ model: MODEL, requestsPerMinute: 240 }] }),
      "GATEWAY_CAPACITY",
    );
    const { a } = admission({ capacity, queueMax: 0 });
    const t = tenant({});
    // 240 rpm: 4 may be outstanding; batch only while under half of that.
    const batch: Admission[] = [];
    for (let i = 0; i < 4; i++) batch.push(await a.admit(call(t, { priority: "batch" })));
    expect(batch.map((r) => r.admitted)).toEqual([true, true, false, false]);
    const interactive: Admission[] = [];
    for (let i = 0; i < 3; i++) interactive.push(await a.admit(call(t)));
    expect(interactive.map((r) => r.admitted)).toEqual([true, true, false]);
  });

  it("refuses what the budget kill switch refuses, before any window is charged", async () => {
    const { a, budget } = admission();
    budget.refusal.mockReturnValue(errors.rateLimited("The project budget is spent.", 3_600_000));
    const t = tenant({ limits: { requestsPerMinute: 60 } });
    expect(refusal(await a.admit(call(t)))).toEqual({ scope: "budget", status: 429 });
    budget.refusal.mockReturnValue(undefined);
    expect((await a.admit(call(t))).admitted).toBe(true); // the refused call took nothing from the window
  });

  describe("with the shared store down", () => {
    const down = (): Store => {
      const store = createMemoryStore();
      const fail = () => Promise.reject(new StoreUnavailableError("redis down"));
      return { ...store, windows: { admit: fail, reconcile: fail } };
    };

    it("fails open to this instance's share of the limit (the limit divided by the instances alive)", async () => {
      const { a, storeErrors } = admission({ store: down(), queueMax: 0 });
      const t = tenant({ limits: { requestsPerMinute: 240 } }); // 4 outstanding fleet-wide; 2 here (2 instances)
      const results: boolean[] = [];
      for (let i = 0; i < 3; i++) results.push((await a.admit(call(t))).admitted);
      expect(results).toEqual([true, true, false]);
      expect(storeErrors.length).toBe(3);
    });

    it("fails closed with 429 (scope store) when configured so", async () => {
      const { a } = admission({ store: down(), failure: "closed" });
      const t = tenant({ limits: { requestsPerMinute: 240 } });
      const r = await a.admit(call(t));
      expect(refusal(r)).toEqual({ scope: "store", status: 429 });
      if (!r.admitted) expect(r.error.headers?.["retry-after"]).toBe("1");
    });
  });
});
