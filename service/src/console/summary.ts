/**
 * `GET /admin/summary`: the overview's request counts, error counts, latency percentiles and upstream attempts, read
 * from this instance's Prometheus registry — the numbers `/metrics` exposes, not a second count. They are this
 * instance's since it started (fleet-wide figures are Cloud Monitoring's, which scrapes every instance); spend comes
 * from `/admin/usage`, which is fleet-wide.
 *
 * Percentiles are estimated from the histogram's buckets as Prometheus's histogram_quantile does: linear within the
 * bucket that holds the rank, so they are as fine as the buckets (telemetry/metrics.ts).
 */
import type { Registry } from "prom-client";

export interface SummaryInputs {
  registry: Registry;
  /** Circuit breaker states, `upstream|model` → state (router.states(), as /readyz shows them). */
  circuits: () => Record<string, string>;
  /** How long an open circuit waits before a probe call (the breaker's cool-down). */
  coolDownMs: number;
  /** Upstreams cooling after a Retry-After / RetryInfo: id → when it ends (epoch ms) (router.coolingDown()). */
  coolingDown?: () => Record<string, number>;
  startedAt: number;
  now?: () => number;
}

export interface AdminSummary {
  scope: "instance";
  at: string;
  startedAt: string;
  requests: { total: number; byClass: Record<string, number>; bySurface: Record<string, number> };
  errors: { clientErrors: number; serverErrors: number; rateLimited: number; overBudget: number };
  latencySeconds: { p50: number | null; p90: number | null; p99: number | null; count: number };
  cache: Record<string, number>;
  /** Upstream calls by where they went (`provider region`, the metric's labels) and the last attempt's outcome. */
  upstreamCalls: Record<string, { calls: number; byOutcome: Record<string, number> }>;
  /** Retries and failovers, by the upstream whose attempt failed (its provider/region, the metric's label), and why. */
  retries: Record<string, { total: number; byReason: Record<string, number> }>;
  circuits: { upstream: string; model: string; state: string }[];
  coolDownSeconds: number;
  /** Upstreams no new call starts at until the time they asked for (429/503 with Retry-After or RetryInfo). */
  coolingDown: { upstream: string; until: string; remainingSeconds: number }[];
}

interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/** The q-quantile of a cumulative histogram given as (upper bound, cumulative count) pairs; null without data. */
export function quantile(q: number, buckets: readonly (readonly [number, number])[]): number | null {
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  const total = sorted.at(-1)?.[1] ?? 0;
  if (total === 0) return null;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [le, count] of sorted) {
    if (count >= rank) {
      // Above the last finite bucket the estimate is that bucket's bound (Prometheus does the same).
      if (!Number.isFinite(le)) return lowerBound;
      return lowerBound + (le - lowerBound) * ((rank - lowerCount) / Math.max(count - lowerCount, 1e-12));
    }
    lowerBound = le;
    lowerCount = count;
  }
  return lowerBound;
}

export async function adminSummary(inputs: SummaryInputs): Promise<AdminSummary> {
  const metrics = new Map((await inputs.registry.getMetricsAsJSON()).map((m) => [m.name, m.values as MetricValue[]]));
  const values = (name: string, suffix?: string) =>
    (metrics.get(name) ?? []).filter((v) => suffix === undefined || v.metricName === name + suffix);
  const sumBy = (rows: readonly MetricValue[], label: string) => {
    const out: Record<string, number> = {};
    for (const r of rows) {
      const key = String(r.labels[label] ?? "");
      out[key] = (out[key] ?? 0) + r.value;
    }
    return out;
  };
  const total = (rows: readonly MetricValue[]) => rows.reduce((s, r) => s + r.value, 0);

  const requests = values("gateway_requests_total");
  const byClass = sumBy(requests, "code_class");
  const buckets = sumBy(values("gateway_request_duration_seconds", "_bucket"), "le");
  const pairs = Object.entries(buckets).map(([le, n]) => [le === "+Inf" ? Infinity : Number(le), n] as const);
  const count = total(values("gateway_request_duration_seconds", "_count"));

  const upstreamCalls: AdminSummary["upstreamCalls"] = {};
  for (const r of values("gateway_upstream_duration_seconds", "_count")) {
    const u = (upstreamCalls[`${r.labels.provider} ${r.labels.region}`] ??= { calls: 0, byOutcome: {} });
    const outcome = String(r.labels.outcome);
    u.calls += r.value;
    u.byOutcome[outcome] = (u.byOutcome[outcome] ?? 0) + r.value;
  }
  const retries: AdminSummary["retries"] = {};
  for (const r of values("gateway_retries_total")) {
    const u = (retries[String(r.labels.upstream)] ??= { total: 0, byReason: {} });
    const reason = String(r.labels.reason);
    u.total += r.value;
    u.byReason[reason] = (u.byReason[reason] ?? 0) + r.value;
  }
  const now = (inputs.now ?? Date.now)();
  return {
    scope: "instance",
    at: new Date(now).toISOString(),
    startedAt: new Date(inputs.startedAt).toISOString(),
    requests: { total: total(requests), byClass, bySurface: sumBy(requests, "surface") },
    errors: {
      clientErrors: byClass["4xx"] ?? 0,
      serverErrors: byClass["5xx"] ?? 0,
      rateLimited: total(values("gateway_rate_limit_rejections_total")),
      overBudget: total(values("gateway_budget_rejections_total")),
    },
    latencySeconds: {
      p50: quantile(0.5, pairs),
      p90: quantile(0.9, pairs),
      p99: quantile(0.99, pairs),
      count,
    },
    cache: sumBy(values("gateway_cache_results_total"), "result"),
    upstreamCalls,
    retries,
    circuits: Object.entries(inputs.circuits()).map(([key, state]) => {
      const bar = key.indexOf("|");
      return { upstream: key.slice(0, bar), model: key.slice(bar + 1), state };
    }),
    coolDownSeconds: inputs.coolDownMs / 1000,
    coolingDown: Object.entries(inputs.coolingDown?.() ?? {}).map(([upstream, until]) => ({
      upstream,
      until: new Date(until).toISOString(),
      remainingSeconds: Math.max(0, Math.ceil((until - now) / 1000)),
    })),
  };
}
