/**
 * Upstreams and routes, from the JSON file named by GATEWAY_UPSTREAMS_FILE: which model services the gateway may
 * call, in which order for each model, and how hard to try (retries, retry budget, circuit breakers).
 *
 *   {"upstreams": [{"id": "us", "provider": "vertex", "region": "us-central1"},
 *                  {"id": "eu", "provider": "vertex", "region": "europe-west4"},
 *                  {"id": "oss", "provider": "openai", "baseUrl": "http://vllm:8000", "apiKeyEnv": "OSS_API_KEY",
 *                   "models": {"gemini-2.5-flash": "served-model-name"}}],
 *    "routes": {"gemini-2.5-flash": ["us", "eu", "oss"], "*": ["us", "eu"]},
 *    "retry": {"maxAttempts": 3, "budgetRatio": 0.2}, "breaker": {"failureRatio": 0.5}}
 *
 * A Vertex upstream may name another project (`project`) and an endpoint override (`baseUrl`: Private Service
 * Connect, or an emulator in tests). An OpenAI-compatible upstream names the env var holding its API key, never the
 * key itself. A model without a route of its own uses `"*"`, else every Vertex upstream in file order. Without the
 * file, the core configuration's single upstream is the only one (`defaultUpstreams`).
 */
import { z } from "zod";
import { ConfigError, ENV, readJsonFile } from "./env.js";
import { MODEL_ID_PATTERN } from "../wire/gemini.js";

const REGION = /^(global|[a-z]+-[a-z]+\d+)$/;
const ID = /^[a-z][a-z0-9-]{0,30}$/;

const UpstreamSchema = z.discriminatedUnion("provider", [
  z.strictObject({
    id: z.string().regex(ID, "upstream ids are lowercase letters, digits or -, starting with a letter"),
    provider: z.literal("vertex"),
    region: z.string().regex(REGION, 'must be a region such as "us-central1", or "global"'),
    /** Another Google Cloud project than GOOGLE_CLOUD_PROJECT (its own quota and billing). */
    project: z
      .string()
      .regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, "must be a Google Cloud project id")
      .optional(),
    baseUrl: z.url({ protocol: /^https?$/ }).optional(),
  }),
  z.strictObject({
    id: z.string().regex(ID, "upstream ids are lowercase letters, digits or -, starting with a letter"),
    provider: z.literal("openai"),
    baseUrl: z.url({ protocol: /^https?$/ }),
    /** Name of the environment variable holding the API key (from Secret Manager on Cloud Run). */
    apiKeyEnv: z
      .string()
      .regex(/^[A-Z][A-Z0-9_]*$/, "must be an environment variable name")
      .optional(),
    /** Gemini model id → the model name the server serves. Only these models are routed to it. */
    models: z.record(z.string().regex(MODEL_ID_PATTERN), z.string().min(1)),
  }),
]);

const RetrySchema = z.strictObject({
  /** Attempts per call, the first included. */
  maxAttempts: z.number().int().min(1).max(10).default(3),
  /** Extra attempts allowed, as a share of the last 10 s of calls (route/retry-budget.ts): a bad upstream is not hammered. */
  budgetRatio: z.number().min(0).max(1).default(0.2),
  /** Backoff before retrying the same upstream: full jitter over base × 2^n, capped. */
  baseDelayMs: z.number().int().min(0).max(60_000).default(100),
  maxDelayMs: z.number().int().min(0).max(300_000).default(5_000),
  /** Bound on one attempt until the response head; default: GATEWAY_UPSTREAM_TIMEOUT_MS. */
  attemptTimeoutMs: z.number().int().min(100).max(3_600_000).optional(),
});

const BreakerSchema = z.strictObject({
  /** Opens after this many failures in a row… */
  consecutiveFailures: z.number().int().min(1).max(1000).default(5),
  /** …or when this share of the last `window` calls failed (with at least `minimumCalls` of them). */
  failureRatio: z.number().gt(0).lt(1).default(0.5), // cockatiel refuses a threshold of 1
  window: z.number().int().min(2).max(10_000).default(20),
  minimumCalls: z.number().int().min(1).max(10_000).default(10),
  /** Open for this long, then one probe call decides (half-open). */
  halfOpenAfterMs: z.number().int().min(100).max(3_600_000).default(10_000),
});

const UpstreamsFileSchema = z.strictObject({
  upstreams: z.array(UpstreamSchema).min(1),
  routes: z.record(z.string(), z.array(z.string()).min(1)).default({}),
  retry: RetrySchema.default(RetrySchema.parse({})),
  breaker: BreakerSchema.default(BreakerSchema.parse({})),
});

export type UpstreamConfig = z.infer<typeof UpstreamSchema>;
export type RetryConfig = z.infer<typeof RetrySchema>;
export type BreakerConfig = z.infer<typeof BreakerSchema>;

export interface Upstreams {
  readonly upstreams: readonly UpstreamConfig[];
  /** Model (or "*") → upstream ids in order. */
  readonly routes: Readonly<Record<string, readonly string[]>>;
  readonly retry: RetryConfig;
  readonly breaker: BreakerConfig;
}

/** The core configuration's one upstream, when there is no upstreams file. */
export function defaultUpstreams(region: string, baseUrl: string | undefined): Upstreams {
  return {
    upstreams: [{ id: "default", provider: "vertex", region, ...(baseUrl ? { baseUrl } : {}) }],
    routes: {},
    retry: RetrySchema.parse({}),
    breaker: BreakerSchema.parse({}),
  };
}

/** Validates an upstreams document against the schema and the served models. */
export function parseUpstreams(doc: unknown, servedModels: readonly string[], source = "upstreams file"): Upstreams {
  const parsed = UpstreamsFileSchema.safeParse(doc);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new ConfigError(`Invalid ${source}:\n${lines.join("\n")}`);
  }
  const u = parsed.data;
  const problems: string[] = [];
  const ids = new Set<string>();
  for (const [i, up] of u.upstreams.entries()) {
    if (ids.has(up.id)) problems.push(`  upstreams.${i}.id: duplicate upstream id "${up.id}"`);
    ids.add(up.id);
  }
  const served = new Set(servedModels);
  for (const [model, route] of Object.entries(u.routes)) {
    if (model !== "*" && !served.has(model)) {
      problems.push(`  routes.${model}: not a served model (GATEWAY_MODELS: ${servedModels.join(", ")})`);
    }
    for (const id of route) if (!ids.has(id)) problems.push(`  routes.${model}: unknown upstream "${id}"`);
  }
  if (u.retry.maxDelayMs < u.retry.baseDelayMs) problems.push("  retry.maxDelayMs: must be at least baseDelayMs");
  if (u.breaker.minimumCalls > u.breaker.window) problems.push("  breaker.minimumCalls: must not exceed window");
  if (problems.length) throw new ConfigError(`Invalid ${source}:\n${problems.join("\n")}`);
  return u;
}

export function loadUpstreamsFile(path: string, servedModels: readonly string[]): Upstreams {
  const doc = readJsonFile(path, ENV.UPSTREAMS_FILE);
  return parseUpstreams(doc, servedModels, `upstreams file "${path}"`);
}

/** The upstream ids a model is routed to, in order. */
export function routeOf(u: Upstreams, model: string): readonly string[] {
  return u.routes[model] ?? u.routes["*"] ?? u.upstreams.filter((x) => x.provider === "vertex").map((x) => x.id);
}
