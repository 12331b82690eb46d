/**
 * The circuit breaker of one upstream × model. Counting is cockatiel's (`ConsecutiveBreaker` and `CountBreaker`,
 * combined: open when either would); the state machine around it is ours, for two reasons cockatiel's
 * `CircuitBreakerPolicy` cannot serve:
 *
 * - **Three outcomes, not two.** A call can end in a way that says nothing about the upstream: the client's own
 *   deadline passed, the client left, the gateway had no connection free. cockatiel either counts an error or, when
 *   its filter declines it, treats a half-open probe that ended so as a success and closes the circuit ("task failed
 *   successfully"). Here such an outcome is `neutral`: never counted, and a probe that ends neutral leaves the circuit
 *   open, ready for the next probe at once. Otherwise one tenant's zero-deadline calls could open (or close) the
 *   circuit every tenant shares.
 * - **An injected clock**, so its timing is tested with fake time.
 *
 * Half-open: after `halfOpenAfterMs` the next caller becomes the one probe; others are refused meanwhile (the router
 * sends them elsewhere rather than queueing them behind the probe).
 */
import { CircuitState, ConsecutiveBreaker, CountBreaker, type IBreaker } from "cockatiel";

export type BreakerState = "closed" | "open" | "half-open";
/**
 * What a call's end says about the upstream. `busy`: it answered, at capacity (429) — not counted, but a probe that
 * gets it shows the upstream is up; `neutral`: nothing (the client's deadline or cancel, the gateway's own limits).
 */
export type BreakerOutcome = "success" | "failure" | "busy" | "neutral";

export interface BreakerOptions {
  /** Opens after this many failures in a row… */
  consecutiveFailures: number;
  /** …or when more than this share of the last `window` calls failed (with at least `minimumCalls` of them). */
  failureRatio: number;
  window: number;
  minimumCalls: number;
  /** Open for this long, then one probe call decides. */
  halfOpenAfterMs: number;
  now: () => number;
  onStateChange: (state: BreakerState) => void;
}

/** A ticket for one admitted call: report its outcome once. `probe` is true for the half-open probe. */
export interface BreakerTicket {
  readonly probe: boolean;
  end(outcome: BreakerOutcome): void;
}

export interface CircuitBreaker {
  readonly state: BreakerState;
  /** Whether a call could go now (closed, or open with its pause over so a probe may go), without taking a ticket. */
  available(): boolean;
  /** A ticket when a call may go to this upstream now; undefined while open, or half-open with a probe in flight. */
  tryAcquire(): BreakerTicket | undefined;
}

export function createBreaker(o: BreakerOptions): CircuitBreaker {
  const counts: IBreaker[] = [
    new ConsecutiveBreaker(o.consecutiveFailures),
    new CountBreaker({ threshold: o.failureRatio, size: o.window, minimumNumberOfCalls: o.minimumCalls }),
  ];
  let state: BreakerState = "closed";
  let openedAt = 0;

  const move = (next: BreakerState) => {
    if (next === state) return;
    state = next;
    o.onStateChange(next);
  };

  const closedTicket: BreakerTicket = {
    probe: false,
    end(outcome) {
      // A call admitted while closed may end after the circuit opened (slow calls): it no longer counts.
      if (state !== "closed" || outcome === "neutral" || outcome === "busy") return;
      if (outcome === "success") {
        for (const c of counts) c.success(CircuitState.Closed);
        return;
      }
      let trip = false;
      for (const c of counts) trip = c.failure(CircuitState.Closed) || trip;
      if (trip) {
        openedAt = o.now();
        move("open");
      }
    },
  };

  function probeTicket(): BreakerTicket {
    let ended = false;
    return {
      probe: true,
      end(outcome) {
        if (ended) return;
        ended = true;
        if (outcome === "success" || outcome === "busy") {
          for (const c of counts) c.success(CircuitState.HalfOpen); // resets the window and the run of failures
          move("closed");
        } else if (outcome === "failure") {
          for (const c of counts) c.failure(CircuitState.HalfOpen);
          openedAt = o.now();
          move("open");
        } else {
          // Nothing learnt: still open, and the next caller may probe at once (openedAt is already old enough).
          move("open");
        }
      },
    };
  }

  return {
    get state() {
      return state;
    },
    available() {
      return state === "closed" || (state === "open" && o.now() - openedAt >= o.halfOpenAfterMs);
    },
    tryAcquire() {
      if (state === "closed") return closedTicket;
      if (state === "half-open" || o.now() - openedAt < o.halfOpenAfterMs) return undefined;
      move("half-open");
      return probeTicket();
    },
  };
}

/** The breakers of one instance, one per upstream × model, made on first use. */
export interface Breakers {
  of(upstreamId: string, model: string): CircuitBreaker;
  /** For /readyz and the circuit metric: `upstream|model` → state. */
  states(): Record<string, BreakerState>;
}

export function createBreakers(
  config: Omit<BreakerOptions, "now" | "onStateChange">,
  now: () => number,
  onStateChange: (upstreamId: string, model: string, state: BreakerState) => void,
): Breakers {
  const breakers = new Map<string, CircuitBreaker>();
  return {
    of(upstreamId, model) {
      const key = `${upstreamId}|${model}`;
      let b = breakers.get(key);
      if (!b) {
        b = createBreaker({ ...config, now, onStateChange: (state) => onStateChange(upstreamId, model, state) });
        breakers.set(key, b);
      }
      return b;
    },
    states() {
      const out: Record<string, BreakerState> = {};
      for (const [key, b] of breakers) out[key] = b.state;
      return out;
    },
  };
}
