/**
 * The admission queue on its own, on fake time: order within a lane, lanes that do not block each other, the bound,
 * deadlines, clients leaving, and giving back what an admission took when its caller had already left.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Priority } from "../../service/src/config/tenants.js";
import { createWaitQueue, type TryResult } from "../../service/src/quota/wait-queue.js";

beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
afterEach(() => vi.useRealTimers());
/** Fake time moves only here. */
const advance = (ms: number) => vi.advanceTimersByTimeAsync(ms);

/** A window that opens `slots` at a time on demand: refuses with a fixed retry time until opened. */
function gate(key: string, retryAfterMs = 20) {
  let slots = 0;
  const order: string[] = [];
  return {
    order,
    open(n: number) {
      slots += n;
    },
    attempt: (name: string) => async (): Promise<TryResult<string>> => {
      if (slots > 0) {
        slots--;
        order.push(name);
        return { admitted: true, value: name };
      }
      return { admitted: false, refusedBy: key, retryAfterMs, value: name };
    },
  };
}

function queue(max = 100) {
  const depth: Record<Priority, number> = { interactive: 0, batch: 0 };
  const released: string[] = [];
  const q = createWaitQueue<string>({
    max,
    onDepth: (p, d) => (depth[p] += d),
    release: (v) => released.push(v),
  });
  return { q, depth, released };
}

const call = (priority: Priority, deadlineMs = 5000, signal = new AbortController().signal) => ({
  priority,
  deadline: Date.now() + deadlineMs,
  signal,
});

describe("admission wait queue", () => {
  it("serves a lane interactive first, then by arrival, and counts its depth", async () => {
    const { q, depth } = queue();
    const g = gate("w");
    const waits = [
      q.wait({ refusedBy: "w", retryAfterMs: 20, value: "b1" }, call("batch"), g.attempt("b1")),
      q.wait({ refusedBy: "w", retryAfterMs: 20, value: "i1" }, call("interactive"), g.attempt("i1")),
      q.wait({ refusedBy: "w", retryAfterMs: 20, value: "b2" }, call("batch"), g.attempt("b2")),
      q.wait({ refusedBy: "w", retryAfterMs: 20, value: "i2" }, call("interactive"), g.attempt("i2")),
    ];
    expect(q.size).toBe(4);
    expect(depth).toEqual({ interactive: 2, batch: 2 });
    g.open(4);
    await advance(21); // the lane's head retries just after the window said it would have room
    const results = await Promise.all(waits);
    expect(results.every((r) => r.admitted)).toBe(true);
    expect(g.order).toEqual(["i1", "i2", "b1", "b2"]);
    expect(q.size).toBe(0);
    expect(depth).toEqual({ interactive: 0, batch: 0 });
  });

  it("keeps lanes apart: a call waiting on one window does not hold up another's", async () => {
    const { q } = queue();
    const slow = gate("tenant-a");
    const fast = gate("tenant-b");
    const a = q.wait(
      { refusedBy: "tenant-a", retryAfterMs: 20, value: "a" },
      call("interactive", 300),
      slow.attempt("a"),
    );
    const b = q.wait({ refusedBy: "tenant-b", retryAfterMs: 20, value: "b" }, call("batch"), fast.attempt("b"));
    fast.open(1);
    await advance(21);
    expect(await b).toEqual({ admitted: true, value: "b" }); // at 21 ms, while a still waits
    await advance(279);
    expect(await a).toEqual({ admitted: false, reason: "deadline", last: "a" });
  });

  it("refuses at once when full, or when the deadline is before the window's retry time", async () => {
    const { q } = queue(1);
    const g = gate("w");
    const held = q.wait({ refusedBy: "w", retryAfterMs: 20, value: "x" }, call("interactive"), g.attempt("x"));
    expect(await q.wait({ refusedBy: "w", retryAfterMs: 20, value: "y" }, call("interactive"), g.attempt("y"))).toEqual(
      {
        admitted: false,
        reason: "full",
        last: "y",
      },
    );
    const { q: q2 } = queue();
    expect(
      await q2.wait({ refusedBy: "w", retryAfterMs: 1000, value: "z" }, call("interactive", 100), g.attempt("z")),
    ).toEqual({ admitted: false, reason: "deadline", last: "z" });
    g.open(1);
    await advance(21);
    expect((await held).admitted).toBe(true);
  });

  it("tells every waiter whose deadline falls before the head's retry time, without waiting for it", async () => {
    const { q } = queue();
    const g = gate("w", 500);
    const started = Date.now();
    const head = q.wait({ refusedBy: "w", retryAfterMs: 10, value: "h" }, call("interactive", 2000), g.attempt("h"));
    let shortAt: number | undefined;
    const short = q
      .wait({ refusedBy: "w", retryAfterMs: 10, value: "s" }, call("interactive", 200), g.attempt("s"))
      .then((r) => ((shortAt = Date.now() - started), r));
    await advance(11);
    expect(await short).toEqual({ admitted: false, reason: "deadline", last: "s" });
    expect(shortAt).toBe(11); // refused at the head's first retry (the window now says 500 ms), not at 200 ms
    g.open(1);
    await advance(501);
    expect((await head).admitted).toBe(true);
  });

  it("moves a head refused by another window to that window's lane", async () => {
    const { q } = queue();
    let tries = 0;
    const second = gate("second");
    const result = q.wait({ refusedBy: "first", retryAfterMs: 5, value: "m" }, call("interactive"), async () => {
      tries++;
      if (tries === 1) return { admitted: false, refusedBy: "second", retryAfterMs: 5, value: "m" };
      return second.attempt("m")();
    });
    await advance(30);
    second.open(1);
    await advance(6);
    expect(await result).toEqual({ admitted: true, value: "m" });
  });

  it("lets a client leave, and gives back an admission that came after its caller had left", async () => {
    const { q, released, depth } = queue();
    const gone = new AbortController();
    const g = gate("w");
    const left = q.wait(
      { refusedBy: "w", retryAfterMs: 20, value: "l" },
      call("batch", 5000, gone.signal),
      g.attempt("l"),
    );
    gone.abort();
    expect(await left).toEqual({ admitted: false, reason: "aborted", last: "l" });
    expect(depth.batch).toBe(0);

    // The caller leaves while its attempt is in flight, and the attempt then succeeds: what it took is released.
    const late = new AbortController();
    let finishAttempt!: (r: TryResult<string>) => void;
    const waiting = q.wait(
      { refusedBy: "w2", retryAfterMs: 1, value: "t" },
      call("interactive", 5000, late.signal),
      () => new Promise<TryResult<string>>((resolve) => (finishAttempt = resolve)),
    );
    await advance(20);
    late.abort();
    expect(await waiting).toMatchObject({ admitted: false, reason: "aborted" });
    finishAttempt({ admitted: true, value: "took-a-slot" });
    await advance(0);
    expect(released).toEqual(["took-a-slot"]);
  });
});
