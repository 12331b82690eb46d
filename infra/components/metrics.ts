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
} as const;

/** Label values the queries filter on (docs/metrics.md: bounded label values). */
export const METRIC_LABELS = {
  codeClass5xx: "5xx",
  codeClass2xx: "2xx",
  outcomeRateLimited: "rate_limited",
} as const;
