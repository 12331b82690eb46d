/** The retry budget: over a sliding window, retries stay under the configured share of calls plus a small floor. */
import { describe, expect, it } from "vitest";
import { createRetryBudget } from "../../service/src/route/retry-budget.js";

describe("retry budget", () => {
  it("allows the floor, then one retry per 1/ratio calls of the window", () => {
    let t = 0;
    const budget = createRetryBudget({ ratio: 0.2, minPerSecond: 1, now: () => t });
    let retries = 0;
    for (let call = 0; call < 1000; call++) {
      t += 5; // 200 calls per second, all inside one 10 s window
      budget.deposit();
      if (budget.withdraw()) retries++; // every call fails and wants to retry
    }
    expect(retries).toBeGreaterThanOrEqual(0.2 * 1000);
    expect(retries).toBeLessThanOrEqual(0.2 * 1000 + 10);
  });

  it("lets a burst of failures after a healthy spell retry from the window's balance, then refuses", () => {
    let t = 0;
    const budget = createRetryBudget({ ratio: 0.2, minPerSecond: 1, now: () => t });
    for (let call = 0; call < 2000; call++) {
      t += 4; // 8 s of healthy calls
      budget.deposit();
    }
    let burst = 0;
    while (budget.withdraw()) burst++;
    expect(burst).toBe(0.2 * 2000 + 10); // 400 from the calls, 10 from the floor
  });

  it("forgets calls and retries that left the window", () => {
    let t = 0;
    const budget = createRetryBudget({ ratio: 0.5, minPerSecond: 0, now: () => t });
    for (let call = 0; call < 100; call++) budget.deposit();
    expect(budget.balance).toBe(50);
    t += 11_000;
    expect(budget.balance).toBe(0);
    expect(budget.withdraw()).toBe(false);
  });
});
