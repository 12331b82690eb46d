/**
 * The per-instance admission queue: calls the shared windows refused wait here, up to their deadline, instead of
 * getting a 429 at once. Bounded (GATEWAY_QUEUE_MAX calls in all); when it is full or a call's deadline falls before
 * the window could have room for it, the call is refused straight away with the window's Retry-After.
 *
 * Waiting calls are kept in lanes, one per refusing window, so a tenant waiting on its own limit never holds up
 * another tenant's calls. A lane is served in priority order (interactive before batch, then arrival): only its head
 * retries, when the store said the window will have room, so a lane of a thousand waiters costs one store round
 * trip per admission, not a thousand. A head refused by another window moves to that window's lane.
 *
 * Hand-written: no queue library knows about retry times set by a shared store (decision 0008).
 */
import type { Priority } from "../config/tenants.js";

/** One try at admission, as the admit stage runs it. */
export type TryResult<T> =
  { admitted: true; value: T } | { admitted: false; refusedBy: string; retryAfterMs: number | null; value: T };

export type WaitResult<T> =
  | { admitted: true; value: T }
  /** `full`: no room in the queue · `deadline`: the window will not have room in time · `aborted`: the client left. */
  | { admitted: false; reason: "full" | "deadline" | "aborted"; last: T };

interface Entry<T> {
  priority: Priority;
  seq: number;
  deadline: number;
  attempt: () => Promise<TryResult<T>>;
  finish: (r: WaitResult<T>) => void;
  last: T;
  done: boolean;
  timer: NodeJS.Timeout | undefined;
  onAbort: (() => void) | undefined;
  signal: AbortSignal;
}

interface Lane<T> {
  key: string;
  entries: Entry<T>[];
  timer: NodeJS.Timeout | undefined;
  wakeAt: number;
  busy: boolean;
}

export interface WaitQueueOptions<T> {
  max: number;
  /** Told when a call enters (+1) or leaves (−1) the queue: the queue-depth gauge. */
  onDepth: (priority: Priority, delta: 1 | -1) => void;
  /** Gives back what an admission took when its caller stopped waiting meanwhile (client gone, deadline passed). */
  release: (value: T) => void;
  now?: () => number;
}

export interface WaitQueue<T> {
  readonly size: number;
  /**
   * Waits for admission after a first refusal: `attempt` is retried when the refusing window should have room. Never
   * rejects: a failing attempt must itself answer (the admit stage turns store errors into decisions).
   */
  wait(
    first: { refusedBy: string; retryAfterMs: number; value: T },
    call: { priority: Priority; deadline: number; signal: AbortSignal },
    attempt: () => Promise<TryResult<T>>,
  ): Promise<WaitResult<T>>;
}

const RANK: Record<Priority, number> = { interactive: 0, batch: 1 };

export function createWaitQueue<T>(o: WaitQueueOptions<T>): WaitQueue<T> {
  const now = o.now ?? Date.now;
  const lanes = new Map<string, Lane<T>>();
  let size = 0;
  let seq = 0;

  function leave(e: Entry<T>, r: WaitResult<T>): void {
    if (e.done) return;
    e.done = true;
    clearTimeout(e.timer);
    if (e.onAbort) e.signal.removeEventListener("abort", e.onAbort);
    size--;
    o.onDepth(e.priority, -1);
    e.finish(r);
  }

  function remove(lane: Lane<T>, e: Entry<T>): void {
    const i = lane.entries.indexOf(e);
    if (i !== -1) lane.entries.splice(i, 1);
    dropIfEmpty(lane);
  }

  function dropIfEmpty(lane: Lane<T>): void {
    if (lane.entries.length > 0 || lane.busy) return;
    clearTimeout(lane.timer);
    lane.wakeAt = Infinity;
    if (lanes.get(lane.key) === lane) lanes.delete(lane.key);
  }

  function join(key: string, e: Entry<T>, retryAfterMs: number): void {
    let lane = lanes.get(key);
    if (!lane) {
      lane = { key, entries: [], timer: undefined, wakeAt: Infinity, busy: false };
      lanes.set(key, lane);
    }
    // Sorted by priority, then arrival: the head is the next to try.
    const at = lane.entries.findIndex(
      (x) => RANK[x.priority] > RANK[e.priority] || (x.priority === e.priority && x.seq > e.seq),
    );
    if (at === -1) lane.entries.push(e);
    else lane.entries.splice(at, 0, e);
    const l = lane;
    clearTimeout(e.timer);
    e.timer = setTimeout(
      () => {
        remove(l, e);
        leave(e, { admitted: false, reason: "deadline", last: e.last });
      },
      Math.max(0, e.deadline - now()),
    );
    schedule(lane, retryAfterMs);
  }

  function schedule(lane: Lane<T>, inMs: number): void {
    const at = now() + Math.max(0, inMs);
    if (lane.busy || at >= lane.wakeAt) return;
    clearTimeout(lane.timer);
    lane.wakeAt = at;
    lane.timer = setTimeout(() => void pump(lane), Math.max(0, inMs) + 1);
  }

  async function pump(lane: Lane<T>): Promise<void> {
    lane.wakeAt = Infinity;
    lane.timer = undefined;
    lane.busy = true;
    try {
      for (;;) {
        const head = lane.entries[0];
        if (!head) break;
        const r = await head.attempt();
        if (head.done) {
          // The caller left while its attempt was in flight: give back what was taken, try the next.
          if (r.admitted) o.release(r.value);
          remove(lane, head);
          continue;
        }
        head.last = r.value;
        if (r.admitted) {
          remove(lane, head);
          leave(head, { admitted: true, value: r.value });
          continue;
        }
        if (r.retryAfterMs === null) {
          remove(lane, head);
          leave(head, { admitted: false, reason: "deadline", last: r.value });
          continue;
        }
        if (r.refusedBy !== lane.key) {
          remove(lane, head);
          join(r.refusedBy, head, r.retryAfterMs);
          continue;
        }
        // Nobody in this lane can be admitted before the head: whoever's deadline comes first is told now.
        const ready = now() + r.retryAfterMs;
        for (const e of [...lane.entries]) {
          if (e.deadline < ready) {
            remove(lane, e);
            leave(e, { admitted: false, reason: "deadline", last: e === head ? r.value : e.last });
          }
        }
        lane.busy = false;
        if (lane.entries.length) schedule(lane, r.retryAfterMs);
        break;
      }
    } finally {
      lane.busy = false;
      dropIfEmpty(lane);
    }
  }

  return {
    get size() {
      return size;
    },
    wait(first, call, attempt) {
      if (size >= o.max) return Promise.resolve({ admitted: false, reason: "full", last: first.value });
      if (call.deadline < now() + first.retryAfterMs) {
        return Promise.resolve({ admitted: false, reason: "deadline", last: first.value });
      }
      if (call.signal.aborted) return Promise.resolve({ admitted: false, reason: "aborted", last: first.value });
      return new Promise<WaitResult<T>>((finish) => {
        const e: Entry<T> = {
          priority: call.priority,
          seq: ++seq,
          deadline: call.deadline,
          attempt,
          finish,
          last: first.value,
          done: false,
          timer: undefined,
          onAbort: undefined,
          signal: call.signal,
        };
        size++;
        o.onDepth(e.priority, 1);
        e.onAbort = () => {
          for (const lane of lanes.values()) if (lane.entries.includes(e)) remove(lane, e);
          leave(e, { admitted: false, reason: "aborted", last: e.last });
        };
        call.signal.addEventListener("abort", e.onAbort, { once: true });
        join(first.refusedBy, e, first.retryAfterMs);
      });
    },
  };
}
