/** The retry budget: extra attempts stay under the configured share of calls, after a small reserve. */
import { describe, expect, it } from "vitest";
import { createRetryBudget } from "../../service/src/route/retry-budget.js";

describe("retry budget", () => {
  it("allows the reserve at once, then one retry per 1/ratio calls", () => {
    const budget = createRetryBudget(0.2, 10);
    let retries = 0;
    for (let call = 0; call < 1000; call++) {
      budget.deposit();
      // Every call fails and wants to retry.
      if (budget.withdraw()) retries++;
    }
    expect(retries).toBeGreaterThanOrEqual(0.2 * 1000);
    expect(retries).toBeLessThanOrEqual(0.2 * 1000 + 10);
  });

  it("cannot bank more than its reserve during a healthy spell", () => {
    const budget = createRetryBudget(0.5, 4);
    for (let call = 0; call < 10_000; call++) budget.deposit();
    expect(budget.balance).toBe(4);
    let burst = 0;
    while (budget.withdraw()) burst++;
    expect(burst).toBe(4);
  });
});
