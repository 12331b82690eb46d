/**
 * Unusual-usage flags: a tenant whose tokens in the current minute are far above its own recent baseline (a leaked
 * key, a runaway loop, scraping). The baseline is an exponentially weighted average of the tenant's tokens per
 * minute (half-life one hour, empty minutes count as zero); a minute is flagged once, as soon as its count exceeds
 * `factor` × baseline and `minTokensPerMinute`, and only after the tenant has `warmupMinutes` of history, so a new
 * tenant's first traffic is not an anomaly. Per instance: with N instances each sees about 1/N of a tenant's
 * traffic, and ratios survive that split. Hand-written: it is twenty lines of arithmetic, not a library's job.
 */

export interface UsageWatchOptions {
  factor: number;
  minTokensPerMinute: number;
  warmupMinutes?: number;
  halfLifeMinutes?: number;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
  onAnomaly: (anomaly: UsageAnomaly) => void;
}

export interface UsageAnomaly {
  tenant: string;
  tokensThisMinute: number;
  baselinePerMinute: number;
}

export interface UsageWatch {
  add(tenant: string, tokens: number): void;
}

interface TenantUsage {
  minute: number;
  count: number;
  baseline: number;
  minutesSeen: number;
  flagged: boolean;
}

const MINUTE_MS = 60_000;

export function createUsageWatch(o: UsageWatchOptions): UsageWatch {
  const warmup = o.warmupMinutes ?? 10;
  const keep = 2 ** (-1 / (o.halfLifeMinutes ?? 60)); // share of the baseline kept after one minute
  const now = o.now ?? Date.now;
  const tenants = new Map<string, TenantUsage>();

  return {
    add(tenant, tokens) {
      if (!(tokens > 0)) return;
      const minute = Math.floor(now() / MINUTE_MS);
      let u = tenants.get(tenant);
      if (!u) {
        u = { minute, count: 0, baseline: 0, minutesSeen: 0, flagged: false };
        tenants.set(tenant, u);
      }
      if (minute > u.minute) {
        // Close the finished minute, then decay through the empty minutes since.
        const gap = minute - u.minute;
        u.baseline = u.minutesSeen === 0 ? u.count : u.baseline * keep + u.count * (1 - keep);
        if (gap > 1) u.baseline *= keep ** (gap - 1);
        u.minutesSeen += gap;
        u.minute = minute;
        u.count = 0;
        u.flagged = false;
      }
      u.count += tokens;
      if (!u.flagged && u.minutesSeen >= warmup && u.count >= o.minTokensPerMinute && u.count > o.factor * u.baseline) {
        u.flagged = true;
        o.onAnomaly({ tenant, tokensThisMinute: u.count, baselinePerMinute: Math.round(u.baseline) });
      }
    },
  };
}
