/**
 * The usage ledger writes one add per counter every USAGE_WRITE_MS: the calls of that time are summed, written at its
 * end (or when a reader or shutdown flushes first), and nothing is lost or counted twice on the way. Fake time.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createUsageLedger, USAGE_WRITE_MS } from "../../service/src/accounting/usage.js";
import type { TokenUsage } from "../../service/src/accounting/cost.js";
import { createMemoryStore } from "../../service/src/store/memory.js";
import { StoreUnavailableError, type CounterRef } from "../../service/src/store/store.js";

const MODEL = "gemini-2.5-flash";
const T0 = Date.UTC(2026, 11, 6, 12, 0, 0);
const tokens = (input: number, output: number): TokenUsage => ({
  input,
  cachedInput: 0,
  output,
  thinking: 0,
  toolUsePrompt: 0,
});

function countingStore() {
  const store = createMemoryStore({ now: () => T0 });
  const adds: { ref: CounterRef; amount: number }[] = [];
  const add = store.counters.add.bind(store.counters);
  store.counters.add = (ref, amount) => {
    adds.push({ ref, amount });
    return add(ref, amount);
  };
  return { store, adds };
}

describe("usage ledger", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("sums the calls of USAGE_WRITE_MS into one add per counter, written at its end", async () => {
    const { store, adds } = countingStore();
    const ledger = createUsageLedger(store, { tenants: ["acme"], models: [MODEL] }, () => undefined);
    for (let i = 0; i < 50; i++) {
      ledger.add("acme", MODEL, tokens(10, 5), undefined);
      await vi.advanceTimersByTimeAsync(1); // calls spread over the window
    }
    expect(adds).toHaveLength(0); // not yet: the window is not over
    await vi.advanceTimersByTimeAsync(USAGE_WRITE_MS);
    // requests, input, output × day and month: six counters, each added once, with the turn's sum.
    expect(adds).toHaveLength(6);
    const byName = (suffix: string) => adds.filter((a) => a.ref.name.endsWith(`:${suffix}`)).map((a) => a.amount);
    expect(byName("requests")).toEqual([50, 50]);
    expect(byName("input")).toEqual([500, 500]);
    expect(byName("output")).toEqual([250, 250]);
    const summary = await ledger.summary("day", T0);
    expect(summary.tenants.acme!.total).toMatchObject({ requests: 50, tokens: { input: 500, output: 250 } });
  });

  it("a summary includes the calls not written yet, and they are not written twice", async () => {
    const { store, adds } = countingStore();
    const ledger = createUsageLedger(store, { tenants: ["acme"], models: [MODEL] }, () => undefined);
    ledger.add("acme", MODEL, tokens(7, 3), undefined);
    const summary = await ledger.summary("month", T0);
    expect(summary.tenants.acme!.total.requests).toBe(1);
    const written = adds.length;
    await vi.advanceTimersByTimeAsync(USAGE_WRITE_MS * 3);
    expect(adds).toHaveLength(written);
    expect((await ledger.summary("month", T0)).tenants.acme!.total.requests).toBe(1);
  });

  it("flush writes at once (shutdown, /admin/tenants)", async () => {
    const { store, adds } = countingStore();
    const ledger = createUsageLedger(store, { tenants: ["acme"], models: [MODEL] }, () => undefined);
    ledger.add("acme", MODEL, tokens(1, 1), undefined);
    await ledger.flush();
    expect(adds.length).toBe(6);
  });

  it("keeps what the store refused and adds it once the store answers again", async () => {
    const { store } = countingStore();
    const add = store.counters.add.bind(store.counters);
    let down = true;
    store.counters.add = (ref, amount) => (down ? Promise.reject(new StoreUnavailableError("down")) : add(ref, amount));
    const outages: unknown[] = [];
    const ledger = createUsageLedger(store, { tenants: ["acme"], models: [MODEL] }, (e) => outages.push(e));
    ledger.add("acme", MODEL, tokens(1, 1), undefined);
    await vi.advanceTimersByTimeAsync(USAGE_WRITE_MS);
    expect(outages.length).toBeGreaterThan(0);
    down = false;
    await ledger.flush();
    expect((await ledger.summary("day", T0)).tenants.acme!.total.requests).toBe(1);
  });
});
