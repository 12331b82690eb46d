/**
 * The gateway's Prometheus metric names that alerts and the dashboard query (service/src/telemetry/metrics.ts is the
 * source of truth; a test checks every name here is registered there). In Cloud Monitoring they live as
 * prometheus.googleapis.com/<name>/<kind>, and PromQL addresses them by these names.
 */
export const GATEWAY_METRICS = {
  requests: "gateway_requests_total",
  requestDuration: "gateway_request_duration_seconds",
  upstreamDuration: "gateway_upstream_duration_seconds",
  timeToFirstToken: "gateway_time_to_first_token_seconds",
  tokens: "gateway_tokens_total",
  cost: "gateway_cost_usd_total",
  rateLimitRejections: "gateway_rate_limit_rejections_total",
  budgetRejections: "gateway_budget_rejections_total",
  queueDepth: "gateway_queue_depth",
  storeErrors: "gateway_store_errors_total",
  overhead: "gateway_overhead_seconds",
  inflight: "gateway_inflight_requests",
} as const;

/** Label values the queries filter on (docs/metrics.md: bounded label values). */
export const METRIC_LABELS = {
  codeClass5xx: "5xx",
  codeClass2xx: "2xx",
  outcomeRateLimited: "rate_limited",
} as const;

/**
 * Bucket bounds (seconds) of the histograms the latency SLOs read, mirrored from service/src/telemetry/metrics.ts (a
 * test reads them from the service's own registry): an SLO threshold must be one of them (infra/config.ts).
 */
export const OVERHEAD_BUCKETS_SECONDS = [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1] as const;
export const TTFT_BUCKETS_SECONDS = [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30] as const;

/** Cloud Monitoring's names of the Prometheus series Managed Service for Prometheus writes (prometheus.googleapis.com). */
export const promMetricType = (name: string, kind: "counter" | "histogram" | "gauge"): string =>
  `prometheus.googleapis.com/${name}/${kind}`;
