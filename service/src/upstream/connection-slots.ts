/**
 * The connections one gateway instance may have open to one upstream, as visible slots. undici's pool would queue a
 * request that finds every connection busy, silently and past the call's deadline; here a call takes a slot before
 * it is sent, and one that finds none free waits in this FIFO — counted (`waiting`), bounded by its wait deadline,
 * and refused then with 503 + Retry-After (`errors.upstreamSaturated`), which is the gateway's limit, not the
 * upstream's failure. The slot is held until the response body is fully read or destroyed (a stream holds its
 * connection to the end), so the undici pool behind it, sized the same, never has to queue.
 *
 * Hand-written: a counting semaphore whose waiters each have their own deadline and abort signal is shorter than
 * adapting a queue library to both.
 */
import { errors } from "../wire/errors.js";

/** Gives the slot back; safe to call more than once. */
export type Release = () => void;

export interface ConnectionSlots {
  readonly max: number;
  readonly inUse: number;
  readonly waiting: number;
  /**
   * A slot now if one is free, else when one frees up. Rejects with 503 (`upstreamSaturated`) at `deadline` (epoch
   * ms), or with the signal's reason when the caller gives up (the client left).
   */
  acquire(deadline: number, signal: AbortSignal): Promise<Release>;
}

interface Waiter {
  grant: (release: Release) => void;
  fail: (err: unknown) => void;
}

export function createConnectionSlots(o: {
  max: number;
  /** Names the upstream in the refusal. */
  upstream: string;
  /** Told about each refusal at the deadline (a metric). */
  onSaturated?: () => void;
  now?: () => number;
}): ConnectionSlots {
  const now = o.now ?? Date.now;
  let inUse = 0;
  const waiters = new Set<Waiter>(); // FIFO (a Set keeps insertion order); entries leave on grant, deadline or abort

  const releaser = (): Release => {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = waiters.values().next();
      if (next.done) inUse--;
      else next.value.grant(releaser()); // the slot passes straight to the longest waiter
    };
  };

  return {
    max: o.max,
    get inUse() {
      return inUse;
    },
    get waiting() {
      return waiters.size;
    },
    acquire(deadline, signal) {
      if (signal.aborted) return Promise.reject(signal.reason);
      if (inUse < o.max) {
        inUse++;
        return Promise.resolve(releaser());
      }
      if (deadline <= now()) {
        o.onSaturated?.();
        return Promise.reject(errors.upstreamSaturated(o.upstream, o.max));
      }
      return new Promise<Release>((resolve, reject) => {
        const leave = () => {
          clearTimeout(timer);
          signal.removeEventListener("abort", onAbort);
          waiters.delete(waiter);
        };
        const waiter: Waiter = {
          grant(release) {
            leave();
            resolve(release);
          },
          fail(err) {
            leave();
            reject(err);
          },
        };
        const onAbort = () => waiter.fail(signal.reason);
        const timer = setTimeout(() => {
          o.onSaturated?.();
          waiter.fail(errors.upstreamSaturated(o.upstream, o.max));
        }, deadline - now());
        signal.addEventListener("abort", onAbort, { once: true });
        waiters.add(waiter);
      });
    },
  };
}
