import { describe, expect, it } from "vitest";
import { createStore } from "../../service/src/store/index.js";
import { createMemoryStore } from "../../service/src/store/memory.js";
import { StoreUnavailableError } from "../../service/src/store/store.js";
import { storeContract } from "./contract.js";

storeContract("memory", async () => {
  let now = Date.parse("2026-11-25T12:00:00Z");
  const store = createMemoryStore({ now: () => now });
  return {
    store,
    now: () => now,
    advance: async (ms) => void (now += ms),
    slackMs: 0,
    close: () => store.close(),
  };
});

describe("memory store", () => {
  it("is what createStore gives without a Redis URL", async () => {
    const store = await createStore({ redisUrl: "" });
    expect(store.kind).toBe("memory");
    await store.close();
  });

  it("rejects every operation with StoreUnavailableError once closed", async () => {
    const store = createMemoryStore();
    await store.close();
    await expect(store.kv.get("k")).rejects.toThrow(StoreUnavailableError);
    await expect(store.presence.beat("i", 1000)).rejects.toThrow(StoreUnavailableError);
    await expect(store.windows.admit([{ key: "w", limit: 1, periodMs: 1000, cost: 1 }])).rejects.toThrow(
      StoreUnavailableError,
    );
    expect(await store.health()).toMatchObject({ ok: false });
  });

  it("does not count time twice when the clock steps back", async () => {
    let now = 1_000_000;
    const store = createMemoryStore({ now: () => now });
    const w = { key: "w", limit: 4, periodMs: 1000 }; // one unit drains every 250 ms
    expect((await store.windows.admit([{ ...w, cost: 2 }])).admitted).toBe(true);
    now -= 5000; // an NTP step back: nothing drains, and the window keeps its later time
    expect((await store.windows.admit([{ ...w, cost: 1 }])).admitted).toBe(true);
    now = 1_000_250; // one unit drained since the first call, not 21
    const after = await store.windows.admit([{ ...w, cost: 0 }]);
    expect(after.windows[0]!.remaining).toBe(2);
  });
});
