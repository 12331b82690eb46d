/**
 * The gateway's configuration: every environment variable it reads is named once here (the infra program imports
 * `ENV` to set Cloud Run env, so names cannot drift), validated by one zod schema at start-up, and frozen.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { GEMINI_MODELS, MODEL_ID_PATTERN } from "../wire/gemini.js";
import { DEFAULT_EMBEDDING_MODELS } from "../wire/models.js";
import { parseCapacity, type Capacity } from "./capacity.js";

/** Trace exporters (telemetry/tracing.ts implements them; named here so config does not import telemetry). */
export const TRACE_EXPORTERS = ["none", "cloud-trace"] as const;
export type TraceExporterName = (typeof TRACE_EXPORTERS)[number];

/**
 * How the gateway talks to its upstreams (upstream/http.ts): http1 = a keep-alive HTTP/1.1 connection per call in
 * flight; http2 = calls multiplexed as streams over a few HTTP/2 connections (ALPN on https, prior knowledge on http).
 */
export const UPSTREAM_PROTOCOLS = ["http1", "http2"] as const;
export type UpstreamProtocol = (typeof UPSTREAM_PROTOCOLS)[number];

/** Environment variable names, with what each means. The README's configuration table mirrors this object. */
export const ENV = {
  PORT: "PORT", // listening port (Cloud Run sets it)
  HOST: "GATEWAY_HOST", // listening address; default 127.0.0.1, or 0.0.0.0 on Cloud Run (K_SERVICE set)
  CLOUD_RUN_SERVICE: "K_SERVICE", // set by Cloud Run (read only to detect it; never set it yourself)
  UPSTREAM: "GATEWAY_UPSTREAM", // vertex | emulator
  PROJECT: "GOOGLE_CLOUD_PROJECT", // the Vertex AI project (same name the Google SDKs read)
  LOCATION: "GOOGLE_CLOUD_LOCATION", // the Vertex AI region, or "global"
  VERTEX_BASE_URL: "GATEWAY_VERTEX_BASE_URL", // endpoint override: Private Service Connect, or an emulator process
  TENANTS_FILE: "GATEWAY_TENANTS_FILE",
  UPSTREAMS_FILE: "GATEWAY_UPSTREAMS_FILE", // upstreams, routes, retries, breakers (config/upstreams.ts); unset = one

  MODELS: "GATEWAY_MODELS", // comma-separated model ids the gateway serves
  MAX_BODY_BYTES: "GATEWAY_MAX_BODY_BYTES",
  BODY_TIMEOUT_MS: "GATEWAY_BODY_TIMEOUT_MS", // time allowed to receive a whole request body (408 after)
  MAX_JSON_VALUES: "GATEWAY_MAX_JSON_VALUES", // JSON values a request body may hold (413 above): the parse budget
  UPSTREAM_TIMEOUT_MS: "GATEWAY_UPSTREAM_TIMEOUT_MS",
  UPSTREAM_CONNECTIONS: "GATEWAY_UPSTREAM_CONNECTIONS",
  UPSTREAM_PROTOCOL: "GATEWAY_UPSTREAM_PROTOCOL", // http1 | http2: how model calls reach the upstreams
  SHUTDOWN_TIMEOUT_MS: "GATEWAY_SHUTDOWN_TIMEOUT_MS",
  HEADERS_TIMEOUT_MS: "GATEWAY_HEADERS_TIMEOUT_MS", // time a client has to send a request's headers (408 after)
  LOG_LEVEL: "LOG_LEVEL",
  EMULATOR_PORT: "EMULATOR_PORT", // port of the embedded emulator (emulator mode without GATEWAY_VERTEX_BASE_URL)
  METRICS_PORT: "GATEWAY_METRICS_PORT", // separate listener for GET /metrics (no auth: keep it private)
  ADMIN_KEY_SHA256: "GATEWAY_ADMIN_KEY_SHA256", // SHA-256 of the admin key that may read /metrics on the main port
  CONSOLE_SESSION_TTL_SECONDS: "GATEWAY_CONSOLE_SESSION_TTL_SECONDS", // how long a console login lasts
  TRACE_EXPORTER: "GATEWAY_TRACE_EXPORTER", // none | cloud-trace
  TRACE_SAMPLE_RATIO: "GATEWAY_TRACE_SAMPLE_RATIO", // share of new traces recorded (a caller's sampled flag wins)
  PRICES_FILE: "GATEWAY_PRICES_FILE", // a price table replacing the bundled list prices
  USAGE_ANOMALY_FACTOR: "GATEWAY_USAGE_ANOMALY_FACTOR", // a tenant's tokens/minute above this × its baseline is flagged
  USAGE_ANOMALY_MIN_TOKENS: "GATEWAY_USAGE_ANOMALY_MIN_TOKENS", // ...and above this many tokens in the minute
  REDIS_URL: "REDIS_URL", // shared quota state: redis://, rediss:// or a unix socket path; unset = in memory
  REDIS_TLS_CA_FILE: "REDIS_TLS_CA_FILE", // PEM of the server CA for rediss:// (Memorystore in-transit encryption)
  REDIS_CLUSTER: "REDIS_CLUSTER", // true: REDIS_URL names a node of a Redis Cluster (Memorystore for Redis Cluster)
  STORE_FAILURE: "GATEWAY_STORE_FAILURE", // open | closed: what limits do while Redis is unreachable
  DEFAULT_OUTPUT_TOKENS: "GATEWAY_DEFAULT_OUTPUT_TOKENS", // output tokens reserved when a request sets no maximum
  CAPACITY: "GATEWAY_CAPACITY", // JSON: upstream capacity per model (and region) shared by all instances; see README
  CACHE_MAX_BYTES: "GATEWAY_CACHE_MAX_BYTES", // size of the in-process tier of the response cache
  CACHE_TTL_SECONDS: "GATEWAY_CACHE_TTL_SECONDS", // how long a cached answer is served (a tenant may set its own)
  QUEUE_MAX: "GATEWAY_QUEUE_MAX", // calls one instance may hold waiting for capacity
  QUEUE_TIMEOUT_MS: "GATEWAY_QUEUE_TIMEOUT_MS", // a call's deadline when the client sends no X-Server-Timeout
  ADMISSION: "GATEWAY_ADMISSION", // leased | per-call: how shared windows are consulted (quota/leased-windows.ts)
  LEASE_MS: "GATEWAY_LEASE_MS", // how long a quota lease lasts before what is left of it goes back
  BUDGET_PUSH_AUDIENCE: "GATEWAY_BUDGET_PUSH_AUDIENCE", // the OIDC audience of budget alerts pushed by Pub/Sub
  BUDGET_PUSH_SERVICE_ACCOUNT: "GATEWAY_BUDGET_PUSH_SERVICE_ACCOUNT", // the push subscription's service account
  BUDGET_BATCH_THRESHOLD: "GATEWAY_BUDGET_BATCH_THRESHOLD", // share of the budget spent at which batch is paused
  BUDGET_ALLOWLIST: "GATEWAY_BUDGET_ALLOWLIST", // comma-separated tenant ids still served when the budget is spent
  BATCH_BUCKET: "GATEWAY_BATCH_BUCKET", // Cloud Storage bucket where batch jobs are staged (infra's batch bucket)
  STORAGE_BASE_URL: "GATEWAY_STORAGE_BASE_URL", // Cloud Storage JSON API endpoint override (the emulator's, in tests)
  PROMPTS_DIR: "GATEWAY_PROMPTS_DIR", // the prompts folder (docs/prompts.md); npm start / the image use ./prompts
  FEEDBACK_WINDOW_SECONDS: "GATEWAY_FEEDBACK_WINDOW_SECONDS", // how long after a prompt call its feedback is taken
  KEYS_SECRET: "GATEWAY_KEYS_SECRET", // projects/{p}/secrets/{s}: managed key records (hashes), a version per change
  SECRET_MANAGER_BASE_URL: "GATEWAY_SECRET_MANAGER_BASE_URL", // Secret Manager endpoint override (the emulator's)
  KEYS_POLL_MS: "GATEWAY_KEYS_POLL_MS", // how often an instance checks whether the keys changed
} as const;

/** Models served unless GATEWAY_MODELS says otherwise: the current Gemini family and gemini-embedding-001. */
export const DEFAULT_MODELS: readonly string[] = [...GEMINI_MODELS, ...DEFAULT_EMBEDDING_MODELS];

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
/** "a, b,c" → ["a", "b", "c"] (blanks dropped). */
const commaList = () =>
  z.string().transform((s) =>
    s
      .split(",")
      .map((item) => item.trim())
      .filter(Boolean),
  );

const EnvSchema = z
  .object({
    [ENV.PORT]: int(0, 65535).default(8080),
    [ENV.HOST]: z.string().min(1).optional(),
    [ENV.CLOUD_RUN_SERVICE]: z.string().min(1).optional(),
    [ENV.UPSTREAM]: z.enum(["vertex", "emulator"]).optional(),
    [ENV.PROJECT]: z
      .string()
      .regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, "must be a Google Cloud project id")
      .optional(),
    [ENV.LOCATION]: z
      .string()
      .regex(/^(global|[a-z]+-[a-z]+\d+)$/, 'must be a region such as "us-central1", or "global"')
      .default("us-central1"),
    [ENV.VERTEX_BASE_URL]: z.url({ protocol: /^https?$/ }).optional(),
    [ENV.TENANTS_FILE]: z.string().min(1).optional(),
    [ENV.UPSTREAMS_FILE]: z.string().min(1).optional(),
    [ENV.MODELS]: commaList()
      .pipe(z.array(z.string().regex(MODEL_ID_PATTERN, "model ids are lowercase like gemini-2.5-flash")).min(1))
      .optional(),
    [ENV.MAX_BODY_BYTES]: int(1024, 512 * 1024 * 1024).default(20 * 1024 * 1024),
    // 30 s: 20 MiB at ~5.6 Mbit/s; a client that stops mid-body holds a connection no longer than this.
    [ENV.BODY_TIMEOUT_MS]: int(100, 3_600_000).default(30_000),
    // 100,000: 8× the largest real requests counted; parsed, the costliest shape takes ~0.25 s and ~45 MB
    // (docs/benchmarks.md, "Amplification bodies").
    [ENV.MAX_JSON_VALUES]: int(1_000, 100_000_000).default(100_000),
    [ENV.UPSTREAM_TIMEOUT_MS]: int(1000, 3_600_000).default(300_000),
    [ENV.UPSTREAM_CONNECTIONS]: int(1, 100_000).optional(),
    [ENV.UPSTREAM_PROTOCOL]: z
      .enum(UPSTREAM_PROTOCOLS, {
        message:
          'must be "http1" (an HTTP/1.1 connection per upstream call) or "http2" (calls share HTTP/2 connections)',
      })
      .default("http1"),
    [ENV.SHUTDOWN_TIMEOUT_MS]: int(0, 3_600_000).default(9_000),
    [ENV.HEADERS_TIMEOUT_MS]: int(1000, 600_000).default(10_000),
    [ENV.LOG_LEVEL]: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    [ENV.EMULATOR_PORT]: int(0, 65535).optional(),
    [ENV.METRICS_PORT]: int(0, 65535).optional(),
    [ENV.ADMIN_KEY_SHA256]: z
      .string()
      .regex(/^[0-9a-f]{64}$/, "must be the lowercase hex SHA-256 of the admin key (npm run keys -- hash <key>)")
      .optional(),
    // 8 hours: a working day; at most a week.
    [ENV.CONSOLE_SESSION_TTL_SECONDS]: int(60, 7 * 86_400).default(8 * 3600),
    [ENV.TRACE_EXPORTER]: z.enum(TRACE_EXPORTERS).default("none"),
    [ENV.TRACE_SAMPLE_RATIO]: z.coerce.number().min(0).max(1).default(0.1),
    [ENV.PRICES_FILE]: z.string().min(1).optional(),
    [ENV.USAGE_ANOMALY_FACTOR]: z.coerce.number().min(1.5).max(1000).default(5),
    [ENV.USAGE_ANOMALY_MIN_TOKENS]: int(0, 1_000_000_000).default(10_000),
    [ENV.REDIS_URL]: z
      .string()
      .regex(/^(rediss?:\/\/|\/)/, "must be redis://…, rediss://… or the path of a unix socket")
      .optional(),
    [ENV.REDIS_TLS_CA_FILE]: z.string().min(1).optional(),
    [ENV.REDIS_CLUSTER]: z
      .enum(["true", "false"], { message: 'must be "true" or "false"' })
      .transform((v) => v === "true")
      .optional(),
    [ENV.STORE_FAILURE]: z.enum(["open", "closed"]).default("open"),
    [ENV.DEFAULT_OUTPUT_TOKENS]: int(1, 1_000_000).default(1024),
    [ENV.CAPACITY]: z.string().min(1).optional(),
    [ENV.CACHE_MAX_BYTES]: int(1024 * 1024, 16 * 1024 * 1024 * 1024).default(64 * 1024 * 1024),
    [ENV.CACHE_TTL_SECONDS]: int(1, 30 * 86_400).default(300),
    [ENV.QUEUE_MAX]: int(0, 100_000).default(512),
    [ENV.QUEUE_TIMEOUT_MS]: int(0, 600_000).default(5_000),
    [ENV.ADMISSION]: z.enum(["leased", "per-call"]).optional(),
    [ENV.LEASE_MS]: int(200, 60_000).default(2_000),
    [ENV.BUDGET_PUSH_AUDIENCE]: z.string().min(1).optional(),
    [ENV.BUDGET_PUSH_SERVICE_ACCOUNT]: z
      .string()
      .regex(/^[a-z0-9-]+@[a-z0-9-]+\.iam\.gserviceaccount\.com$/, "must be a service account email")
      .optional(),
    [ENV.BUDGET_BATCH_THRESHOLD]: z.coerce.number().gt(0).max(1).default(0.8),
    [ENV.BUDGET_ALLOWLIST]: commaList().optional(),
    [ENV.BATCH_BUCKET]: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/, "must be a Cloud Storage bucket name")
      .optional(),
    [ENV.STORAGE_BASE_URL]: z.url({ protocol: /^https?$/ }).optional(),
    [ENV.PROMPTS_DIR]: z.string().min(1).optional(),
    [ENV.FEEDBACK_WINDOW_SECONDS]: int(60, 90 * 86_400).default(7 * 86_400),
    [ENV.KEYS_SECRET]: z
      .string()
      .regex(
        /^projects\/[a-z0-9-]{1,63}\/secrets\/[A-Za-z0-9_-]{1,255}$/,
        "must be a Secret Manager secret name: projects/{project}/secrets/{secret}",
      )
      .optional(),
    [ENV.SECRET_MANAGER_BASE_URL]: z.url({ protocol: /^https?$/ }).optional(),
    [ENV.KEYS_POLL_MS]: int(100, 60_000).default(1_000),
  })
  .superRefine((env, ctx) => {
    if (env[ENV.REDIS_CLUSTER] && !/^rediss?:\/\//.test(env[ENV.REDIS_URL] ?? "")) {
      ctx.addIssue({
        code: "custom",
        path: [ENV.REDIS_CLUSTER],
        message: "needs REDIS_URL as redis://host:port (or rediss://) of a cluster node",
      });
    }
    if (env[ENV.REDIS_TLS_CA_FILE] && !env[ENV.REDIS_URL]?.startsWith("rediss://")) {
      ctx.addIssue({ code: "custom", path: [ENV.REDIS_TLS_CA_FILE], message: "needs a rediss:// REDIS_URL" });
    }
    if (env[ENV.TRACE_EXPORTER] === "cloud-trace" && !env[ENV.PROJECT]) {
      ctx.addIssue({
        code: "custom",
        path: [ENV.PROJECT],
        message: `is required when ${ENV.TRACE_EXPORTER}=cloud-trace (the project that receives the spans)`,
      });
    }
    if (!env[ENV.BUDGET_PUSH_AUDIENCE] !== !env[ENV.BUDGET_PUSH_SERVICE_ACCOUNT]) {
      ctx.addIssue({
        code: "custom",
        path: [env[ENV.BUDGET_PUSH_AUDIENCE] ? ENV.BUDGET_PUSH_SERVICE_ACCOUNT : ENV.BUDGET_PUSH_AUDIENCE],
        message: `budget alerts need both ${ENV.BUDGET_PUSH_AUDIENCE} and ${ENV.BUDGET_PUSH_SERVICE_ACCOUNT}`,
      });
    }
    if (env[ENV.UPSTREAM] === "vertex" && !env[ENV.PROJECT]) {
      ctx.addIssue({
        code: "custom",
        path: [ENV.PROJECT],
        message: `is required when ${ENV.UPSTREAM}=vertex (the project that calls Vertex AI)`,
      });
    }
  });

export interface Config {
  readonly port: number;
  /** Loopback unless configured, or on Cloud Run (which must reach the container on every interface). */
  readonly host: string;
  readonly upstream: {
    readonly kind: "vertex" | "emulator";
    readonly project: string;
    readonly location: string;
    /** Undefined in emulator mode means "start the embedded emulator". */
    readonly baseUrl: string | undefined;
    readonly timeoutMs: number;
    /**
     * Upstream calls in flight per upstream (its connection slots); undefined = as many as the open-file limit allows,
     * up to 10,000 (config/connections.ts). With http1 each is a connection; with http2 they share connections.
     */
    readonly connections: number | undefined;
    readonly protocol: UpstreamProtocol;
  };
  readonly tenantsFile: string | undefined;
  /** Upstreams and routes; undefined = the single upstream above. */
  readonly upstreamsFile: string | undefined;
  readonly models: readonly string[];
  /** Request body limits (pipeline/read-body.ts). */
  readonly body: {
    /** 413 above this many bytes. */
    readonly maxBytes: number;
    /** 408 when the body is not complete this long after reading began. */
    readonly timeoutMs: number;
    /** 413 above this many JSON values: bounds parsing and every walk over the parsed request. */
    readonly maxJsonValues: number;
  };
  readonly shutdownTimeoutMs: number;
  /** How long a client may take to send a request's headers before it gets 408 and the connection closes. */
  readonly headersTimeoutMs: number;
  readonly logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  readonly emulatorPort: number;
  readonly metrics: {
    /** Separate listener for /metrics; undefined = none. */
    readonly port: number | undefined;
    /** When set, /metrics on the main port answers callers presenting this key (Bearer). */
    readonly adminKeySha256: string | undefined;
  };
  readonly tracing: { readonly exporter: TraceExporterName; readonly sampleRatio: number };
  readonly pricesFile: string | undefined;
  readonly usageAnomaly: { readonly factor: number; readonly minTokensPerMinute: number };
  readonly quota: {
    /** Undefined: the in-memory store (one instance). */
    readonly redisUrl: string | undefined;
    readonly redisTlsCaFile: string | undefined;
    /** REDIS_URL is a node of a Redis Cluster. */
    readonly redisCluster: boolean;
    /**
     * open: while the store is unreachable, limit locally to this instance's share of each limit (the limit divided by
     * the instances last seen alive); closed: refuse limited tenants with 429.
     */
    readonly storeFailure: "open" | "closed";
    readonly defaultOutputTokens: number;
    /** Upstream capacity shared by every instance (config/capacity.ts); empty = none configured. */
    readonly capacity: Capacity;
    /** Calls one instance may hold waiting for capacity; 0 = refuse at once. */
    readonly queueMax: number;
    /** How long a call may wait when the client sends no X-Server-Timeout. */
    readonly queueTimeoutMs: number;
    /**
     * leased: this instance holds leases on the shared windows and decides calls in memory (quota/leased-windows.ts);
     * per-call: every call is one store round trip. Default leased with Redis, per-call in memory (one instance).
     */
    readonly admission: "leased" | "per-call";
    readonly leaseMs: number;
  };
  readonly cache: {
    /** In-process tier (LRU) size; the shared tier is the store. */
    readonly maxBytes: number;
    readonly ttlSeconds: number;
  };
  /**
   * Batch jobs' staging bucket and the Cloud Storage endpoint; in emulator mode both default to the emulator's own
   * Cloud Storage (bucket `gateway-batch`). Undefined bucket: batch jobs answer 503 naming the setting.
   */
  readonly batch: { readonly bucket: string | undefined; readonly storageBaseUrl: string | undefined };
  /** Prompt templates: the folder (undefined: none) and how long feedback on a call is accepted. */
  readonly prompts: { readonly dir: string | undefined; readonly feedbackWindowSeconds: number };
  /** The operator console: how long a login lasts (its session's TTL in the store and the cookie's Max-Age). */
  readonly console: { readonly sessionTtlSeconds: number };
  /**
   * Managed keys (docs/keys.md): the Secret Manager secret holding them (undefined: the quota store holds them), its
   * endpoint override (the emulator's; in emulator mode the embedded or configured emulator by default), and how often
   * an instance checks for changes.
   */
  readonly keys: {
    readonly secret: string | undefined;
    readonly secretManagerBaseUrl: string | undefined;
    readonly pollMs: number;
  };
  /** The budget kill switch (POST /internal/budget-alerts); undefined when not configured (the endpoint is 404). */
  readonly budget:
    | {
        readonly pushAudience: string;
        readonly pushServiceAccount: string;
        readonly batchThreshold: number;
        readonly allowlist: readonly string[];
      }
    | undefined;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Reads and parses the JSON file an env var names; a ConfigError naming the variable when it cannot. */
export function readJsonFile(path: string, envName: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(`Cannot read ${envName} "${path}": ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${envName} "${path}" is not valid JSON: ${(err as Error).message}`);
  }
}

/** Reads and validates the environment. Throws ConfigError listing every bad variable. */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): Config {
  // Empty strings mean "unset": `FOO= npm start` should not fail validation.
  const present = Object.fromEntries(
    Object.values(ENV)
      .map((name) => [name, env[name]] as const)
      .filter(([, v]) => v !== undefined && v !== ""),
  );
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const name = String(i.path[0] ?? "(environment)");
      const value = present[name];
      return `  ${name}${value !== undefined ? `=${JSON.stringify(value)}` : ""}: ${i.message}`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
  }
  const e = parsed.data;
  let capacity: Capacity;
  try {
    capacity = parseCapacity(e[ENV.CAPACITY], ENV.CAPACITY);
  } catch (err) {
    throw new ConfigError(`Invalid configuration:\n  ${(err as Error).message}`);
  }
  const kind = e[ENV.UPSTREAM] ?? (e[ENV.PROJECT] ? "vertex" : "emulator");
  const config: Config = {
    port: e[ENV.PORT],
    host: e[ENV.HOST] ?? (e[ENV.CLOUD_RUN_SERVICE] ? "0.0.0.0" : "127.0.0.1"),
    upstream: {
      kind,
      project: e[ENV.PROJECT] ?? "emulator-project",
      location: e[ENV.LOCATION],
      baseUrl: e[ENV.VERTEX_BASE_URL]?.replace(/\/+$/, ""),
      timeoutMs: e[ENV.UPSTREAM_TIMEOUT_MS],
      connections: e[ENV.UPSTREAM_CONNECTIONS],
      protocol: e[ENV.UPSTREAM_PROTOCOL],
    },
    tenantsFile: e[ENV.TENANTS_FILE],
    upstreamsFile: e[ENV.UPSTREAMS_FILE],
    models: e[ENV.MODELS] ?? [...DEFAULT_MODELS],
    body: {
      maxBytes: e[ENV.MAX_BODY_BYTES],
      timeoutMs: e[ENV.BODY_TIMEOUT_MS],
      maxJsonValues: e[ENV.MAX_JSON_VALUES],
    },
    shutdownTimeoutMs: e[ENV.SHUTDOWN_TIMEOUT_MS],
    headersTimeoutMs: e[ENV.HEADERS_TIMEOUT_MS],
    logLevel: e[ENV.LOG_LEVEL],
    emulatorPort: e[ENV.EMULATOR_PORT] ?? 0,
    metrics: { port: e[ENV.METRICS_PORT], adminKeySha256: e[ENV.ADMIN_KEY_SHA256] },
    tracing: { exporter: e[ENV.TRACE_EXPORTER], sampleRatio: e[ENV.TRACE_SAMPLE_RATIO] },
    pricesFile: e[ENV.PRICES_FILE],
    usageAnomaly: { factor: e[ENV.USAGE_ANOMALY_FACTOR], minTokensPerMinute: e[ENV.USAGE_ANOMALY_MIN_TOKENS] },
    quota: {
      redisUrl: e[ENV.REDIS_URL],
      redisTlsCaFile: e[ENV.REDIS_TLS_CA_FILE],
      redisCluster: e[ENV.REDIS_CLUSTER] ?? false,
      storeFailure: e[ENV.STORE_FAILURE],
      defaultOutputTokens: e[ENV.DEFAULT_OUTPUT_TOKENS],
      capacity,
      queueMax: e[ENV.QUEUE_MAX],
      queueTimeoutMs: e[ENV.QUEUE_TIMEOUT_MS],
      admission: e[ENV.ADMISSION] ?? (e[ENV.REDIS_URL] ? "leased" : "per-call"),
      leaseMs: e[ENV.LEASE_MS],
    },
    cache: { maxBytes: e[ENV.CACHE_MAX_BYTES], ttlSeconds: e[ENV.CACHE_TTL_SECONDS] },
    batch: {
      bucket: e[ENV.BATCH_BUCKET] ?? (kind === "emulator" ? "gateway-batch" : undefined),
      storageBaseUrl: e[ENV.STORAGE_BASE_URL]?.replace(/\/+$/, ""),
    },
    prompts: { dir: e[ENV.PROMPTS_DIR], feedbackWindowSeconds: e[ENV.FEEDBACK_WINDOW_SECONDS] },
    console: { sessionTtlSeconds: e[ENV.CONSOLE_SESSION_TTL_SECONDS] },
    keys: {
      secret: e[ENV.KEYS_SECRET],
      secretManagerBaseUrl: e[ENV.SECRET_MANAGER_BASE_URL]?.replace(/\/+$/, ""),
      pollMs: e[ENV.KEYS_POLL_MS],
    },
    budget: budgetOf(e[ENV.BUDGET_PUSH_AUDIENCE], e[ENV.BUDGET_PUSH_SERVICE_ACCOUNT], {
      batchThreshold: e[ENV.BUDGET_BATCH_THRESHOLD],
      allowlist: e[ENV.BUDGET_ALLOWLIST] ?? [],
    }),
  };
  return deepFreeze(config);
}

function budgetOf(
  pushAudience: string | undefined,
  pushServiceAccount: string | undefined,
  rest: { batchThreshold: number; allowlist: readonly string[] },
): Config["budget"] {
  return pushAudience && pushServiceAccount ? { pushAudience, pushServiceAccount, ...rest } : undefined;
}

function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (v && typeof v === "object") deepFreeze(v as object);
  return Object.freeze(o);
}
