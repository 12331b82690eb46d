/**
 * Every Prometheus metric the gateway exposes, in one registry per gateway instance (not prom-client's global one,
 * so several gateways in one test process keep separate counts). docs/metrics.md lists each metric, its labels and
 * PromQL for dashboards and alerts; keep the two in step.
 *
 * Label values are bounded by construction: tenant ids come from the tenants file, models from the served-model
 * allowlist (anything else is "other"), surfaces, outcomes and categories from fixed lists. Nothing from request
 * text ever becomes a label. Names follow Prometheus conventions (base units, `_total` counters); where the
 * OpenTelemetry GenAI conventions define a measurement, the docs map ours to theirs and label values use theirs
 * (token types input / output / cached_input / reasoning).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** How an upstream call ended: by HTTP class, or without a response. */
export type UpstreamOutcome = "ok" | "client_error" | "rate_limited" | "server_error" | "network_error" | "cancelled";

export type CodeClass = "2xx" | "4xx" | "5xx";

/** One upstream's connection slots (upstream/connection-slots.ts), read when metrics are scraped. */
export interface ConnectionStats {
  upstream: string;
  max: number;
  inUse: number;
  waiting: number;
}

export interface MetricLabelBounds {
  tenants: readonly string[];
  models: readonly string[];
}

/** A label value for a model: the id when it is on the allowlist, else "other" (unknown models are client typos). */
export type ModelLabel = (model: string | undefined) => string;

export interface GatewayMetrics {
  readonly registry: Registry;
  readonly modelLabel: ModelLabel;
  readonly requests: Counter<"surface" | "model" | "tenant" | "code_class">;
  readonly requestDuration: Histogram<"surface" | "model" | "code_class">;
  readonly overhead: Histogram<"surface">;
  readonly upstreamDuration: Histogram<"provider" | "region" | "model" | "outcome">;
  readonly timeToFirstToken: Histogram<"provider" | "model">;
  readonly tokens: Counter<"model" | "tenant" | "type">;
  readonly costUsd: Counter<"model" | "tenant">;
  readonly unpricedCalls: Counter<"model">;
  readonly rateLimitRejections: Counter<"scope">;
  readonly budgetRejections: Counter<"scope">;
  readonly queueDepth: Gauge<"priority">;
  readonly cacheResults: Counter<"result">;
  readonly cacheSavedUsd: Counter<"tenant">;
  readonly circuitState: Gauge<"upstream" | "model">;
  readonly retries: Counter<"upstream" | "reason">;
  readonly injectionDetections: Counter<"tenant" | "category" | "action">;
  readonly modelArmorBlocks: Counter<"tenant" | "model" | "stage">;
  readonly usageAnomalies: Counter<"tenant">;
  readonly streamErrors: Counter<"model">;
  readonly inflight: Gauge;
  readonly storeErrors: Counter<"store">;
  readonly upstreamConnections: Gauge<"upstream" | "state">;
  readonly upstreamSaturated: Counter<"upstream">;
  readonly promptRequests: Counter<"prompt" | "version" | "variant" | "code_class">;
  readonly promptCostUsd: Counter<"prompt" | "variant">;
  readonly promptPregenerated: Counter<"prompt">;
  /** Where `gateway_upstream_connections` reads its values at scrape time (the providers' slots). */
  watchConnections(source: () => Iterable<ConnectionStats>): void;
}

// Seconds. Model calls run from ~50 ms to minutes; the overhead histogram resolves tens of microseconds.
const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300];
const OVERHEAD_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1];
const TTFT_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30];

export function createMetrics(bounds: MetricLabelBounds): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const allowed = new Set(bounds.models);
  const modelLabel: ModelLabel = (model) => (model !== undefined && allowed.has(model) ? model : "other");
  const registers = [registry];
  let connectionSource: (() => Iterable<ConnectionStats>) | undefined;

  const metrics: GatewayMetrics = {
    registry,
    modelLabel,
    requests: new Counter({
      name: "gateway_requests_total",
      help: "Model calls answered, by client surface, model, tenant and HTTP status class.",
      labelNames: ["surface", "model", "tenant", "code_class"],
      registers,
    }),
    requestDuration: new Histogram({
      name: "gateway_request_duration_seconds",
      help: "Model call duration seen by the gateway, first byte in to last byte out (OTel gen_ai.server.request.duration).",
      labelNames: ["surface", "model", "code_class"],
      buckets: DURATION_BUCKETS,
      registers,
    }),
    overhead: new Histogram({
      name: "gateway_overhead_seconds",
      help: "Time spent in the gateway itself: request duration minus the time waiting on the upstream.",
      labelNames: ["surface"],
      buckets: OVERHEAD_BUCKETS,
      registers,
    }),
    upstreamDuration: new Histogram({
      name: "gateway_upstream_duration_seconds",
      help: "Upstream call duration, request sent to response (or stream) complete, by provider, region, model, outcome.",
      labelNames: ["provider", "region", "model", "outcome"],
      buckets: DURATION_BUCKETS,
      registers,
    }),
    timeToFirstToken: new Histogram({
      name: "gateway_time_to_first_token_seconds",
      help: "Streamed calls: request received to first chunk sent to the client (OTel gen_ai.server.time_to_first_token).",
      labelNames: ["provider", "model"],
      buckets: TTFT_BUCKETS,
      registers,
    }),
    tokens: new Counter({
      name: "gateway_tokens_total",
      help: "Tokens by OTel gen_ai.token.type: input (uncached prompt), output, cached_input, reasoning (thinking).",
      labelNames: ["model", "tenant", "type"],
      registers,
    }),
    costUsd: new Counter({
      name: "gateway_cost_usd_total",
      help: "Cost of model calls in US dollars at the configured price table, by model and tenant.",
      labelNames: ["model", "tenant"],
      registers,
    }),
    unpricedCalls: new Counter({
      name: "gateway_unpriced_calls_total",
      help: "Calls whose model has no entry in the price table (their cost is not in gateway_cost_usd_total).",
      labelNames: ["model"],
      registers,
    }),
    rateLimitRejections: new Counter({
      name: "gateway_rate_limit_rejections_total",
      help: "Calls refused by the gateway's quota, by scope (tenant, capacity, queue, store).",
      labelNames: ["scope"],
      registers,
    }),
    budgetRejections: new Counter({
      name: "gateway_budget_rejections_total",
      help: "Calls refused for spend, by scope (spend: a tenant's USD limit; budget: the project budget kill switch).",
      labelNames: ["scope"],
      registers,
    }),
    queueDepth: new Gauge({
      name: "gateway_queue_depth",
      help: "Calls waiting for admission, by priority.",
      labelNames: ["priority"],
      registers,
    }),
    cacheResults: new Counter({
      name: "gateway_cache_results_total",
      help: "Model calls by response cache result (hit, coalesced, stale, miss, bypass).",
      labelNames: ["result"],
      registers,
    }),
    cacheSavedUsd: new Counter({
      name: "gateway_cache_saved_usd_total",
      help: "What the answers served from the response cache would have cost upstream, in USD, by tenant.",
      labelNames: ["tenant"],
      registers,
    }),
    circuitState: new Gauge({
      name: "gateway_circuit_state",
      help: "Circuit breaker state per upstream and model: 0 closed, 1 half-open, 2 open.",
      labelNames: ["upstream", "model"],
      registers,
    }),
    retries: new Counter({
      name: "gateway_retries_total",
      help: "Upstream calls retried, by upstream and reason.",
      labelNames: ["upstream", "reason"],
      registers,
    }),
    injectionDetections: new Counter({
      name: "gateway_injection_detections_total",
      help: "Prompts the injection scorer flagged, by tenant, category and the tenant's action (log, flag, block).",
      labelNames: ["tenant", "category", "action"],
      registers,
    }),
    modelArmorBlocks: new Counter({
      name: "gateway_model_armor_blocks_total",
      help: "Calls Model Armor blocked (blockReason / finishReason MODEL_ARMOR), by tenant, model and stage.",
      labelNames: ["tenant", "model", "stage"],
      registers,
    }),
    usageAnomalies: new Counter({
      name: "gateway_usage_anomalies_total",
      help: "Minutes in which a tenant's token rate was far above its own recent baseline.",
      labelNames: ["tenant"],
      registers,
    }),
    streamErrors: new Counter({
      name: "gateway_stream_errors_total",
      help: "Streams that broke after they had started (the client got an error event).",
      labelNames: ["model"],
      registers,
    }),
    storeErrors: new Counter({
      name: "gateway_store_errors_total",
      help: "Quota-store operations that failed (Redis unreachable or too slow); limits then fail open or closed.",
      labelNames: ["store"],
      registers,
    }),
    inflight: new Gauge({
      name: "gateway_inflight_requests",
      help: "Model calls in progress on this instance.",
      registers,
    }),
    upstreamConnections: new Gauge({
      name: "gateway_upstream_connections",
      help: "Connections to each upstream: in_use, waiting (calls queued for one) and limit (GATEWAY_UPSTREAM_CONNECTIONS).",
      labelNames: ["upstream", "state"],
      registers,
      collect() {
        for (const c of connectionSource?.() ?? []) {
          this.set({ upstream: c.upstream, state: "in_use" }, c.inUse);
          this.set({ upstream: c.upstream, state: "waiting" }, c.waiting);
          this.set({ upstream: c.upstream, state: "limit" }, c.max);
        }
      },
    }),
    upstreamSaturated: new Counter({
      name: "gateway_upstream_saturated_total",
      help: "Calls refused (503) because every connection to the upstream stayed busy until their wait deadline.",
      labelNames: ["upstream"],
      registers,
    }),
    // Prompt templates (prompts/): names, versions and variants come from the repository's prompts folder (bounded).
    promptRequests: new Counter({
      name: "gateway_prompt_requests_total",
      help: "Prompt template calls, by prompt, version, variant (experiment variant, holdout, or v<N>) and status class.",
      labelNames: ["prompt", "version", "variant", "code_class"],
      registers,
    }),
    promptCostUsd: new Counter({
      name: "gateway_prompt_cost_usd_total",
      help: "Cost of prompt template calls in US dollars, by prompt and variant.",
      labelNames: ["prompt", "variant"],
      registers,
    }),
    promptPregenerated: new Counter({
      name: "gateway_prompt_pregenerated_total",
      help: "Prompt calls answered with the version's reviewed answer because every upstream failed.",
      labelNames: ["prompt"],
      registers,
    }),
    watchConnections(source) {
      connectionSource = source;
    },
  };
  // Series that exist before anything happens, so dashboards and absent() alerts see zeros, not gaps.
  for (const tenant of bounds.tenants) {
    for (const model of bounds.models) metrics.costUsd.inc({ model, tenant }, 0);
  }
  return metrics;
}

/**
 * The class a call counts in: its status's, except that the client's own deadline (a 504 no upstream caused, error
 * kind `deadline`) counts as 4xx, like a 499 — error-rate alerts and SLOs must not burn, nor audit records read as
 * errors, because a client asked for less time than a model needs.
 */
export function codeClass(status: number, errorKind?: string): CodeClass {
  if (errorKind === "deadline") return "4xx";
  return status >= 500 ? "5xx" : status >= 400 ? "4xx" : "2xx";
}

export function upstreamOutcome(status: number | undefined, cancelled: boolean): UpstreamOutcome {
  if (cancelled) return "cancelled";
  if (status === undefined) return "network_error";
  if (status === 429) return "rate_limited";
  if (status >= 500) return "server_error";
  if (status >= 400) return "client_error";
  return "ok";
}
