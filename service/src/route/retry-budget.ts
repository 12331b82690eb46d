/**
 * A retry budget (as in Finagle and Envoy): every call deposits `ratio` of a token, every retry takes one whole
 * token, so extra attempts stay below `ratio` of traffic over time however badly an upstream fails — retries help
 * with turbulence but cannot multiply the load on an upstream that is down. A small reserve lets the first failures
 * after a quiet spell be retried. Per instance: each instance bounds its own share.
 *
 * Hand-written: cockatiel has retries and breakers but no budget shared across calls (decision 0009).
 */
export interface RetryBudget {
  /** Counts a call (first attempt). */
  deposit(): void;
  /** Takes a token for one retry; false when the budget is spent. */
  withdraw(): boolean;
  /** Tokens now (for tests and metrics). */
  readonly balance: number;
}

export function createRetryBudget(ratio: number, reserve = 10): RetryBudget {
  // The reserve is also the cap, so a long quiet (or healthy) spell cannot bank an unbounded retry storm.
  const cap = Math.max(reserve, 1);
  let balance = cap;
  return {
    deposit() {
      balance = Math.min(cap, balance + ratio);
    },
    withdraw() {
      if (balance < 1) return false;
      balance -= 1;
      return true;
    },
    get balance() {
      return balance;
    },
  };
}
