/**
 * What the rules know about the gateway itself. The pack is self-contained (it is published and run from
 * policies/ alone), so it mirrors the service's environment variable names instead of importing them; a test
 * (test/policies/gateway.test.ts) fails when this copy and service/src/config/env.ts `ENV` drift apart.
 */

/** Mirror of `ENV` in service/src/config/env.ts. */
export const GATEWAY_ENV = {
  PORT: "PORT",
  HOST: "GATEWAY_HOST",
  CLOUD_RUN_SERVICE: "K_SERVICE",
  UPSTREAM: "GATEWAY_UPSTREAM",
  PROJECT: "GOOGLE_CLOUD_PROJECT",
  LOCATION: "GOOGLE_CLOUD_LOCATION",
  VERTEX_BASE_URL: "GATEWAY_VERTEX_BASE_URL",
  TENANTS_FILE: "GATEWAY_TENANTS_FILE",
  UPSTREAMS_FILE: "GATEWAY_UPSTREAMS_FILE",
  MODELS: "GATEWAY_MODELS",
  MAX_BODY_BYTES: "GATEWAY_MAX_BODY_BYTES",
  BODY_TIMEOUT_MS: "GATEWAY_BODY_TIMEOUT_MS",
  MAX_JSON_VALUES: "GATEWAY_MAX_JSON_VALUES",
  UPSTREAM_TIMEOUT_MS: "GATEWAY_UPSTREAM_TIMEOUT_MS",
  UPSTREAM_CONNECTIONS: "GATEWAY_UPSTREAM_CONNECTIONS",
  UPSTREAM_PROTOCOL: "GATEWAY_UPSTREAM_PROTOCOL",
  SHUTDOWN_TIMEOUT_MS: "GATEWAY_SHUTDOWN_TIMEOUT_MS",
  HEADERS_TIMEOUT_MS: "GATEWAY_HEADERS_TIMEOUT_MS",
  LOG_LEVEL: "LOG_LEVEL",
  EMULATOR_PORT: "EMULATOR_PORT",
  METRICS_PORT: "GATEWAY_METRICS_PORT",
  ADMIN_KEY_SHA256: "GATEWAY_ADMIN_KEY_SHA256",
  CONSOLE_SESSION_TTL_SECONDS: "GATEWAY_CONSOLE_SESSION_TTL_SECONDS",
  TRACE_EXPORTER: "GATEWAY_TRACE_EXPORTER",
  TRACE_SAMPLE_RATIO: "GATEWAY_TRACE_SAMPLE_RATIO",
  PRICES_FILE: "GATEWAY_PRICES_FILE",
  USAGE_ANOMALY_FACTOR: "GATEWAY_USAGE_ANOMALY_FACTOR",
  USAGE_ANOMALY_MIN_TOKENS: "GATEWAY_USAGE_ANOMALY_MIN_TOKENS",
  REDIS_URL: "REDIS_URL",
  REDIS_TLS_CA_FILE: "REDIS_TLS_CA_FILE",
  REDIS_CLUSTER: "REDIS_CLUSTER",
  STORE_FAILURE: "GATEWAY_STORE_FAILURE",
  DEFAULT_OUTPUT_TOKENS: "GATEWAY_DEFAULT_OUTPUT_TOKENS",
  CAPACITY: "GATEWAY_CAPACITY",
  CACHE_MAX_BYTES: "GATEWAY_CACHE_MAX_BYTES",
  CACHE_TTL_SECONDS: "GATEWAY_CACHE_TTL_SECONDS",
  QUEUE_MAX: "GATEWAY_QUEUE_MAX",
  QUEUE_TIMEOUT_MS: "GATEWAY_QUEUE_TIMEOUT_MS",
  ADMISSION: "GATEWAY_ADMISSION",
  LEASE_MS: "GATEWAY_LEASE_MS",
  BUDGET_PUSH_AUDIENCE: "GATEWAY_BUDGET_PUSH_AUDIENCE",
  BUDGET_PUSH_SERVICE_ACCOUNT: "GATEWAY_BUDGET_PUSH_SERVICE_ACCOUNT",
  BUDGET_BATCH_THRESHOLD: "GATEWAY_BUDGET_BATCH_THRESHOLD",
  BUDGET_ALLOWLIST: "GATEWAY_BUDGET_ALLOWLIST",
  BATCH_BUCKET: "GATEWAY_BATCH_BUCKET",
  STORAGE_BASE_URL: "GATEWAY_STORAGE_BASE_URL",
  PROMPTS_DIR: "GATEWAY_PROMPTS_DIR",
  FEEDBACK_WINDOW_SECONDS: "GATEWAY_FEEDBACK_WINDOW_SECONDS",
  KEYS_SECRET: "GATEWAY_KEYS_SECRET",
  SECRET_MANAGER_BASE_URL: "GATEWAY_SECRET_MANAGER_BASE_URL",
  KEYS_POLL_MS: "GATEWAY_KEYS_POLL_MS",
} as const;

/** The push endpoint of the budget kill switch (service/src/budget, docs/budget-kill-switch.md). */
export const BUDGET_ALERTS_PATH = "/internal/budget-alerts";

export interface CapacityEntry {
  model: string;
  region: string | undefined;
  requestsPerMinute: number | undefined;
  tokensPerMinute: number | undefined;
}

/**
 * Reads GATEWAY_CAPACITY's JSON ({"models":[{"model","region?","requestsPerMinute?","tokensPerMinute?"}]}, see
 * service/src/config/capacity.ts). Lenient on purpose: the service validates the document strictly at start-up;
 * the rule only needs the numbers. Returns an error message for a document it cannot read.
 */
export function parseCapacityEnvelope(json: string): { models: CapacityEntry[] } | { error: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (err) {
    return { error: `is not valid JSON (${(err as Error).message})` };
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return { error: "is not a JSON object" };
  const models = (doc as { models?: unknown }).models ?? [];
  if (!Array.isArray(models)) return { error: "has a `models` that is not an array" };
  const out: CapacityEntry[] = [];
  for (const [i, m] of (models as unknown[]).entries()) {
    if (typeof m !== "object" || m === null) return { error: `models[${i}] is not an object` };
    const e = m as Record<string, unknown>;
    const rpm = e["requestsPerMinute"];
    const tpm = e["tokensPerMinute"];
    if (rpm !== undefined && typeof rpm !== "number")
      return { error: `models[${i}].requestsPerMinute is not a number` };
    if (tpm !== undefined && typeof tpm !== "number") return { error: `models[${i}].tokensPerMinute is not a number` };
    out.push({
      model: typeof e["model"] === "string" ? e["model"] : `models[${i}]`,
      region: typeof e["region"] === "string" ? e["region"] : undefined,
      requestsPerMinute: rpm,
      tokensPerMinute: tpm,
    });
  }
  return { models: out };
}
