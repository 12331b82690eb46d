/**
 * The usage ledger writes one add per counter and turn of the event loop: the calls that finished in one turn are
 * summed, written on the next, and nothing is lost or counted twice on the way.
 */
import { describe, expect, it } from "vitest";
import { createUsageLedger } from "../../service/src/accounting/usage.js";
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
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

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
  it("sums the calls of one turn into one add per counter, written on the next turn", async () => {
    const { store, adds } = countingStore();
    const ledger = createUsageLedger(store, { tenants: ["acme"], models: [MODEL] }, () => undefined);
    for (let i = 0; i < 50; i++) ledger.add("acme", MODEL, tokens(10, 5), undefined);
    expect(adds).toHaveLength(0); // not yet: the turn is not over
    await nextTurn();
    // requests, input, output × day and month: six counters, each added once, with the turn's sum.
    expect(adds).toHaveLength(6);
    const byName = (suffix: string) => adds.filter((a) => a.ref.name.endsWith(`:${suffix}`)).map((a) => a.amount);
    expect(byName("requests")).toEqual([50, 50]);
    expect(byName("input")).toEqual([500, 500]);
    expect(byName("output")).toEqual([250, 250]);
    const summary = await ledger.summary("day", T0);
    expect(summary.tenants.acme!.total).toMatchObject({ requests: 50, tokens: { input: 500, output: 250 } });
  });

  it("a summary read in the same turn includes that turn's calls", async () => {
    const { store } = countingStore();
    const ledger = createUsageLedger(store, { tenants: ["acme"], models: [MODEL] }, () => undefined);
    ledger.add("acme", MODEL, tokens(7, 3), undefined);
    const summary = await ledger.summary("month", T0);
    expect(summary.tenants.acme!.total.requests).toBe(1);
    await nextTurn();
    expect((await ledger.summary("month", T0)).tenants.acme!.total.requests).toBe(1); // and not twice
  });

  it("keeps what the store refused and adds it once the store answers again", async () => {
    const { store } = countingStore();
    const add = store.counters.add.bind(store.counters);
    let down = true;
    store.counters.add = (ref, amount) => (down ? Promise.reject(new StoreUnavailableError("down")) : add(ref, amount));
    const outages: unknown[] = [];
    const ledger = createUsageLedger(store, { tenants: ["acme"], models: [MODEL] }, (e) => outages.push(e));
    ledger.add("acme", MODEL, tokens(1, 1), undefined);
    await nextTurn();
    await nextTurn();
    expect(outages.length).toBeGreaterThan(0);
    down = false;
    await ledger.flush();
    expect((await ledger.summary("day", T0)).tenants.acme!.total.requests).toBe(1);
  });
});
