/** An upstream's connection slots (upstream/connection-slots.ts), on fake time. */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createConnectionSlots } from "../../service/src/upstream/connection-slots.js";
import { GatewayError } from "../../service/src/wire/errors.js";

beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
afterEach(() => vi.useRealTimers());

const never = new AbortController().signal;

describe("connection slots", () => {
  it("grants up to the limit at once, then queues in arrival order and passes each freed slot on", async () => {
    const saturated = vi.fn();
    const slots = createConnectionSlots({ max: 2, upstream: "u", onSaturated: saturated });
    const a = await slots.acquire(Date.now() + 1000, never);
    const b = await slots.acquire(Date.now() + 1000, never);
    const order: string[] = [];
    const c = slots.acquire(Date.now() + 1000, never).then((r) => (order.push("c"), r));
    const d = slots.acquire(Date.now() + 1000, never).then((r) => (order.push("d"), r));
    expect([slots.inUse, slots.waiting]).toEqual([2, 2]);
    a();
    a(); // a second release of the same slot changes nothing
    await vi.advanceTimersByTimeAsync(0);
    expect(order).toEqual(["c"]);
    expect([slots.inUse, slots.waiting]).toEqual([2, 1]);
    b();
    const [rc, rd] = await Promise.all([c, d]);
    expect(order).toEqual(["c", "d"]);
    rc();
    rd();
    expect([slots.inUse, slots.waiting]).toEqual([0, 0]);
    expect(saturated).not.toHaveBeenCalled();
  });

  it("refuses a waiter at its deadline with 503 UNAVAILABLE + Retry-After, counted, and not as an upstream fault", async () => {
    const saturated = vi.fn();
    const slots = createConnectionSlots({ max: 1, upstream: "vertex/us-central1", onSaturated: saturated });
    const held = await slots.acquire(Date.now() + 1000, never);
    const waiting = slots.acquire(Date.now() + 250, never).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(249);
    expect(slots.waiting).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    const err = (await waiting) as GatewayError;
    expect(err).toBeInstanceOf(GatewayError);
    expect([err.httpCode, err.status, err.headers?.["retry-after"], err.kind]).toEqual([
      503,
      "UNAVAILABLE",
      "1",
      "gateway",
    ]);
    expect(err.upstreamFault).toBe(false);
    expect(err.message).toContain("vertex/us-central1");
    expect(saturated).toHaveBeenCalledTimes(1);
    expect(slots.waiting).toBe(0);
    held();
    expect(slots.inUse).toBe(0); // the refused waiter did not take the freed slot
  });

  it("refuses at once when the deadline has already passed, and leaves the queue when the caller aborts", async () => {
    const slots = createConnectionSlots({ max: 1, upstream: "u" });
    const held = await slots.acquire(Date.now() + 1000, never);
    await expect(slots.acquire(Date.now(), never)).rejects.toMatchObject({ httpCode: 503 });
    const abort = new AbortController();
    const waiting = slots.acquire(Date.now() + 10_000, abort.signal).catch((e: unknown) => e);
    abort.abort(new Error("client left"));
    expect(((await waiting) as Error).message).toBe("client left");
    expect(slots.waiting).toBe(0);
    held();
    expect(slots.inUse).toBe(0);
  });
});
