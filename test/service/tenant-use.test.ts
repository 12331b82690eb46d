// How much of its limits a tenant has used, read from the counters admission decides on, on fake time: calls admitted
// by the real admission stage show up in the request and token windows and decay at the limit's rate; spend counted by
// the real usage ledger shows up per day and month; nothing is read for limits a tenant does not have.
import { describe, expect, it } from "vitest";
import { createUsageLedger } from "../../service/src/accounting/usage.js";
import { parseTenants } from "../../service/src/config/tenants.js";
import { createAdmission } from "../../service/src/pipeline/admit.js";
import { readTenantUse } from "../../service/src/quota/tenant-use.js";
import { createMemoryStore } from "../../service/src/store/memory.js";
import type { Store } from "../../service/src/store/store.js";

const MODEL = "gemini-2.5-flash";
const T0 = Date.parse("2026-12-06T12:00:00Z");
const [acme, free] = parseTenants(
  {
    tenants: [
      {
        id: "acme",
        keySha256: "a".repeat(64),
        models: ["*"],
        limits: {
          requestsPerMinute: 600,
          tokensPerMinute: 60_000,
          requestsPerDay: 1000,
          usdPerDay: 5,
          usdPerMonth: 50,
        },
      },
      { id: "free", keySha256: "b".repeat(64), models: ["*"] },
    ],
  },
  [MODEL],
);

function setup() {
  let t = T0;
  const store = createMemoryStore({ now: () => t });
  const admission = createAdmission({
    store,
    storeFailure: "open",
    reservationTtlMs: 600_000,
    onStoreError: (e) => {
      throw e;
    },
    models: [MODEL],
    capacity: { models: [] } as never,
    regionOf: () => "us-central1",
    queueMax: 10,
    onQueueDepth: () => undefined,
    instances: () => 1,
  });
  const admit = () =>
    admission.admit({
      tenant: acme!,
      model: MODEL,
      priority: "interactive",
      estimate: () => ({ tokens: 100, usdMicros: 10 }),
      deadline: t + 5_000,
      signal: new AbortController().signal,
    });
  return { store, admit, advance: (ms: number) => (t += ms) };
}

describe("readTenantUse", () => {
  it("counts what admission charged: requests per minute and day, tokens held; the minute drains at its rate", async () => {
    const { store, admit, advance } = setup();
    for (let i = 0; i < 3; i++) expect((await admit()).admitted).toBe(true);
    const use = await readTenantUse(store, "acme", acme!.limits, [MODEL]);
    expect(use).toMatchObject({ requestsPerMinute: 3, requestsPerDay: 3, tokensPerMinute: 300 });
    advance(200); // 600 rpm refills 10 per second: 2 of the 3
    expect(await readTenantUse(store, "acme", acme!.limits, [MODEL])).toMatchObject({
      requestsPerMinute: 1,
      requestsPerDay: 3,
      tokensPerMinute: 100, // 60,000 per minute = 1,000 per second
    });
    advance(60_000);
    expect(await readTenantUse(store, "acme", acme!.limits, [MODEL])).toMatchObject({
      requestsPerMinute: 0,
      requestsPerDay: 2, // the day window refills continuously too: 1,000 a day is 0.69 a minute (3 − 0.69 ≈ 2)
      tokensPerMinute: 0,
    });
  });

  it("reading charges nothing: admission still has the same room after many reads", async () => {
    const { store, admit } = setup();
    await admit();
    for (let i = 0; i < 20; i++) await readTenantUse(store, "acme", acme!.limits, [MODEL]);
    expect((await readTenantUse(store, "acme", acme!.limits, [MODEL])).requestsPerMinute).toBe(1);
  });

  it("spend per day and month from the usage ledger's counters, summed over the models", async () => {
    const { store } = setup();
    const ledger = createUsageLedger(store, { tenants: ["acme"], models: [MODEL, "gemini-2.5-pro"] }, () => undefined);
    ledger.addStorage("acme", MODEL, 0.25);
    ledger.addStorage("acme", "gemini-2.5-pro", 0.5);
    await ledger.flush();
    const use = await readTenantUse(store, "acme", acme!.limits, [MODEL, "gemini-2.5-pro"]);
    expect(use.usdPerDay).toBeCloseTo(0.75, 9);
    expect(use.usdPerMonth).toBeCloseTo(0.75, 9);
    const summary = await ledger.summary("day", T0);
    expect(JSON.stringify(summary)).toContain("0.75");
  });

  it("a tenant without limits: nothing is read", async () => {
    const untouchable = {
      windows: {
        admit: () => Promise.reject(new Error("read")),
        reconcile: () => Promise.reject(new Error("read")),
      },
      counters: { readMany: () => Promise.reject(new Error("read")) },
    } as unknown as Pick<Store, "windows" | "counters">;
    expect(await readTenantUse(untouchable, "free", free!.limits, [MODEL])).toEqual({});
  });
});
