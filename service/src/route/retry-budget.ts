/**
 * A retry budget, as Finagle defines it: over a sliding window (10 s), retries may number at most `ratio` of the
 * calls made in that window, plus a small floor (`minPerSecond` × window) so a quiet instance can still retry. Every
 * call deposits, every retry withdraws; both expire when they leave the window. Extra attempts therefore stay below
 * `ratio` of traffic however badly an upstream fails — retries help with turbulence but cannot multiply the load on an
 * upstream that is down — while a burst of failures right after a quiet spell can still be retried from the window's
 * balance (a plain token bucket with a small cap refuses exactly those). Per instance.
 *
 * Hand-written: cockatiel has retries and breakers but no budget shared across calls (decision 0009).
 */
export interface RetryBudget {
  /** Counts a call (first attempt). */
  deposit(): void;
  /** Takes one retry from the budget; false when it is spent. */
  withdraw(): boolean;
  /** Retries allowed now (for tests and metrics). */
  readonly balance: number;
}

export interface RetryBudgetOptions {
  ratio: number;
  /** Retries per second allowed whatever the traffic. Default 1. */
  minPerSecond?: number;
  /** Default 10 s. */
  windowMs?: number;
  now?: () => number;
}

const SLOTS = 10;

export function createRetryBudget(o: RetryBudgetOptions): RetryBudget {
  const windowMs = o.windowMs ?? 10_000;
  const slotMs = windowMs / SLOTS;
  const floor = (o.minPerSecond ?? 1) * (windowMs / 1000);
  const now = o.now ?? Date.now;
  // Ring of slots: calls and retries per slot, and the slot's start (to know when it expired).
  const calls = new Array<number>(SLOTS).fill(0);
  const retries = new Array<number>(SLOTS).fill(0);
  const starts = new Array<number>(SLOTS).fill(-Infinity);

  const slot = (): number => {
    const t = now();
    const start = Math.floor(t / slotMs) * slotMs;
    const i = Math.floor(t / slotMs) % SLOTS;
    if (starts[i] !== start) {
      starts[i] = start;
      calls[i] = 0;
      retries[i] = 0;
    }
    return i;
  };
  const balance = (): number => {
    const oldest = now() - windowMs;
    let c = 0;
    let r = 0;
    for (let i = 0; i < SLOTS; i++) {
      if (starts[i]! <= oldest) continue;
      c += calls[i]!;
      r += retries[i]!;
    }
    return floor + o.ratio * c - r;
  };

  return {
    deposit() {
      calls[slot()]!++;
    },
    withdraw() {
      const i = slot();
      if (balance() < 1) return false;
      retries[i]!++;
      return true;
    },
    get balance() {
      slot();
      return balance();
    },
  };
}
