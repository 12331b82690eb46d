import { describe, expect, it } from "vitest";
import { createUsageWatch, type UsageAnomaly } from "../../service/src/telemetry/usage-watch.js";

const MINUTE = 60_000;

function watch(options: { factor?: number; minTokensPerMinute?: number } = {}) {
  let now = Date.parse("2026-11-25T00:00:00Z");
  const anomalies: UsageAnomaly[] = [];
  const w = createUsageWatch({
    factor: options.factor ?? 5,
    minTokensPerMinute: options.minTokensPerMinute ?? 1000,
    now: () => now,
    onAnomaly: (a) => anomalies.push(a),
  });
  return { w, anomalies, advance: (minutes: number) => (now += minutes * MINUTE) };
}

describe("unusual-usage watch", () => {
  it("stays quiet during warm-up, even for a big first minute", () => {
    const { w, anomalies, advance } = watch();
    w.add("acme", 50_000);
    for (let m = 0; m < 5; m++) {
      advance(1);
      w.add("acme", 100);
    }
    expect(anomalies).toEqual([]);
  });

  it("flags a minute far above the tenant's own baseline, once, and says by how much", () => {
    const { w, anomalies, advance } = watch();
    for (let m = 0; m < 15; m++) {
      w.add("acme", 400);
      advance(1);
    }
    w.add("acme", 1500); // under 5 × ~400
    expect(anomalies).toEqual([]);
    w.add("acme", 1000); // 2,500 > 5 × 400
    w.add("acme", 5000); // same minute: not flagged again
    expect(anomalies).toHaveLength(1);
    expect(anomalies[0]).toMatchObject({ tenant: "acme", tokensThisMinute: 2500 });
    expect(anomalies[0]!.baselinePerMinute).toBeGreaterThan(350);
    expect(anomalies[0]!.baselinePerMinute).toBeLessThan(450);
    advance(1);
    w.add("acme", 9000); // a new minute is judged again
    expect(anomalies).toHaveLength(2);
  });

  it("keeps tenants apart, ignores small absolute numbers, and lets the baseline decay over idle minutes", () => {
    const { w, anomalies, advance } = watch({ minTokensPerMinute: 1000 });
    for (let m = 0; m < 12; m++) {
      w.add("big", 10_000);
      w.add("small", 10);
      advance(1);
    }
    w.add("small", 500); // 50 × its baseline, but under the absolute floor
    w.add("big", 12_000); // busy, but normal for big
    expect(anomalies).toEqual([]);
    advance(600); // ten idle hours: big's baseline decays to almost nothing
    w.add("big", 10_000);
    expect(anomalies.map((a) => a.tenant)).toEqual(["big"]);
  });
});
