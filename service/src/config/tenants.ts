/**
 * Tenants and their keys, from the JSON file named by GATEWAY_TENANTS_FILE. Keys are stored only as SHA-256 hex
 * digests; the file is validated strictly at start-up (a typo in a field name is an error, not a silently ignored
 * setting). Later features add optional fields to the same entries; the minimal four-field entry keeps working.
 */
import { createHash, randomBytes } from "node:crypto";
import { z } from "zod";
import { ConfigError, ENV, readJsonFile } from "./env.js";

const SHA256_HEX = /^[0-9a-f]{64}$/;

export const PRIORITIES = ["interactive", "batch"] as const;
export type Priority = (typeof PRIORITIES)[number];

/** off: not scored · log: score in the audit record · flag: also a response header · block: refuse with 400. */
export const INJECTION_ACTIONS = ["off", "log", "flag", "block"] as const;
export type InjectionAction = (typeof INJECTION_ACTIONS)[number];

/** A feature label is a Vertex label value and a counter name part. */
export const FEATURE_PATTERN = /^[a-z][a-z0-9_-]{0,62}$/;
export const MAX_FEATURES = 50;

const ARMOR_TEMPLATE = /^projects\/[a-z0-9-]+\/locations\/[a-z0-9-]+\/templates\/[A-Za-z0-9_-]+$/;

const TenantSchema = z.strictObject({
  /** Used as a Vertex label value and a metric label, so it follows Vertex label rules. */
  id: z
    .string()
    .regex(/^[a-z][a-z0-9_-]{0,62}$/, "tenant ids are lowercase letters, digits, _ or -, starting with a letter"),
  /** One digest, or several while a key is being rotated. */
  keySha256: z.union([
    z.string().regex(SHA256_HEX, "must be the lowercase hex SHA-256 of the key (npm run keys -- hash)"),
    z.array(z.string().regex(SHA256_HEX, "must be the lowercase hex SHA-256 of the key")).min(1),
  ]),
  /** Model ids the tenant may call; "*" allows every model the gateway serves. */
  models: z.array(z.string().min(1)).min(1),
  priority: z.enum(PRIORITIES).default("interactive"),
  /** Shared limits across every gateway instance; absent (or a field absent) = no limit. */
  limits: z
    .strictObject({
      requestsPerMinute: z.number().int().positive().optional(),
      tokensPerMinute: z.number().int().positive().optional(),
      requestsPerDay: z.number().int().positive().optional(),
      /** US dollars at the price table; checked before each call against the UTC day's / month's spend so far. */
      usdPerDay: z.number().positive().optional(),
      usdPerMonth: z.number().positive().optional(),
    })
    .optional(),
  /**
   * Feature labels this tenant's clients may send in `x-gateway-feature` (usage and spend are then also counted per
   * feature). A closed list keeps the label bounded; absent = the header is refused.
   */
  features: z
    .array(
      z
        .string()
        .regex(
          FEATURE_PATTERN,
          "feature labels are lowercase letters, digits, _ or -, starting with a letter (at most 63)",
        ),
    )
    .max(MAX_FEATURES, `at most ${MAX_FEATURES} feature labels per tenant`)
    .optional(),
  /**
   * Model fallback: when every upstream of a model failed (a 5xx or 429 after retries), the call is answered by the
   * next model of its list, e.g. {"gemini-2.5-pro": ["gemini-2.5-flash"]}. Opt-in; every model must be the tenant's.
   */
  fallback: z.record(z.string(), z.array(z.string()).min(1)).optional(),
  /**
   * The response cache (deterministic requests, or `x-gateway-cache: use`): how long an answer is served, and how long
   * past that it may still be served when every upstream fails (0 = never stale). Default: GATEWAY_CACHE_TTL_SECONDS.
   */
  cache: z
    .strictObject({
      ttlSeconds: z
        .number()
        .int()
        .min(1)
        .max(30 * 86_400)
        .optional(),
      staleSeconds: z
        .number()
        .int()
        .min(0)
        .max(30 * 86_400)
        .optional(),
    })
    .optional(),
  /** The gateway's prompt-injection scorer: what to do with a flagged prompt. Default: log it in the audit record. */
  injection: z
    .strictObject({
      action: z.enum(INJECTION_ACTIONS),
      /** Score at or above which a prompt is flagged; default: the scorer's own (guard/injection.ts). */
      threshold: z.number().gt(0).max(1).optional(),
    })
    .optional(),
  /**
   * Google Model Armor screening, attached to every request as Vertex `modelArmorConfig`. Template names are
   * `projects/{project}/locations/{location}/templates/{template}` (the infrastructure provisions them).
   */
  modelArmor: z
    .strictObject({
      promptTemplate: z.string().regex(ARMOR_TEMPLATE, "must be projects/{p}/locations/{l}/templates/{t}"),
      responseTemplate: z.string().regex(ARMOR_TEMPLATE, "must be projects/{p}/locations/{l}/templates/{t}").optional(),
    })
    .optional(),
});

const TenantsFileSchema = z.strictObject({ tenants: z.array(TenantSchema).min(1) });

export interface Tenant {
  readonly id: string;
  readonly keySha256: readonly string[];
  /** Undefined means every served model ("*"). */
  readonly models: ReadonlySet<string> | undefined;
  readonly priority: Priority;
  /** Model → models to fall back to, in order (empty map = no fallback). */
  readonly fallback: ReadonlyMap<string, readonly string[]>;
  /** Response cache: TTL, and how long past it an answer may be served when every upstream fails. */
  readonly cache: { readonly ttlSeconds: number; readonly staleSeconds: number };
  /** Feature labels the tenant may send in `x-gateway-feature`; empty = none. */
  readonly features: ReadonlySet<string>;
  readonly injection: { readonly action: InjectionAction; readonly threshold: number | undefined };
  /** Undefined when the tenant has no limit at all (then admission costs nothing). */
  readonly limits: TenantLimits | undefined;
  /** Vertex `modelArmorConfig` for this tenant's requests; undefined = none. */
  readonly modelArmor: { readonly promptTemplateName: string; readonly responseTemplateName?: string } | undefined;
}

export type TenantsFile = z.input<typeof TenantsFileSchema>;

export interface TenantLimits {
  readonly requestsPerMinute?: number | undefined;
  readonly tokensPerMinute?: number | undefined;
  readonly requestsPerDay?: number | undefined;
  readonly usdPerDay?: number | undefined;
  readonly usdPerMonth?: number | undefined;
}

export function sha256Hex(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/** A fresh gateway key: prefix for secret scanners, then 256 random bits. */
export function newKey(): string {
  return `ggw_${randomBytes(32).toString("base64url")}`;
}

/** Validates a parsed tenants document against the schema and the served models. */
export interface TenantDefaults {
  /** GATEWAY_CACHE_TTL_SECONDS. */
  cacheTtlSeconds: number;
}

export const TENANT_DEFAULTS: TenantDefaults = { cacheTtlSeconds: 300 };

export function parseTenants(
  doc: unknown,
  servedModels: readonly string[],
  source = "tenants file",
  defaults: TenantDefaults = TENANT_DEFAULTS,
): Tenant[] {
  const parsed = TenantsFileSchema.safeParse(doc);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new ConfigError(`Invalid ${source}:\n${lines.join("\n")}`);
  }
  const problems: string[] = [];
  const ids = new Set<string>();
  const hashes = new Set<string>();
  const served = new Set(servedModels);
  const tenants = parsed.data.tenants.map((t, i) => {
    if (ids.has(t.id)) problems.push(`  tenants.${i}.id: duplicate tenant id "${t.id}"`);
    ids.add(t.id);
    const keys = typeof t.keySha256 === "string" ? [t.keySha256] : t.keySha256;
    for (const k of keys) {
      if (hashes.has(k)) problems.push(`  tenants.${i}.keySha256: the same key is listed twice`);
      hashes.add(k);
    }
    const allowed = (m: string) => served.has(m) && (t.models.includes("*") || t.models.includes(m));
    for (const [from, to] of Object.entries(t.fallback ?? {})) {
      for (const m of [from, ...to]) {
        if (!allowed(m)) problems.push(`  tenants.${i}.fallback: "${m}" is not a model this tenant may use`);
      }
      if (to.includes(from)) problems.push(`  tenants.${i}.fallback.${from}: a model cannot fall back to itself`);
    }
    for (const m of t.models) {
      if (m !== "*" && !served.has(m)) {
        problems.push(
          `  tenants.${i}.models: "${m}" is not a served model (GATEWAY_MODELS: ${servedModels.join(", ")})`,
        );
      }
    }
    const tenant: Tenant = {
      id: t.id,
      keySha256: keys,
      models: t.models.includes("*") ? undefined : new Set(t.models),
      priority: t.priority,
      features: new Set(t.features ?? []),
      fallback: new Map(Object.entries(t.fallback ?? {})),
      cache: { ttlSeconds: t.cache?.ttlSeconds ?? defaults.cacheTtlSeconds, staleSeconds: t.cache?.staleSeconds ?? 0 },
      injection: { action: t.injection?.action ?? "log", threshold: t.injection?.threshold },
      limits: t.limits && Object.values(t.limits).some((v) => v !== undefined) ? { ...t.limits } : undefined,
      modelArmor: t.modelArmor && {
        promptTemplateName: t.modelArmor.promptTemplate,
        ...(t.modelArmor.responseTemplate ? { responseTemplateName: t.modelArmor.responseTemplate } : {}),
      },
    };
    return Object.freeze(tenant);
  });
  if (problems.length) throw new ConfigError(`Invalid ${source}:\n${problems.join("\n")}`);
  return tenants;
}

export function loadTenantsFile(
  path: string,
  servedModels: readonly string[],
  defaults: TenantDefaults = TENANT_DEFAULTS,
): Tenant[] {
  const doc = readJsonFile(path, ENV.TENANTS_FILE);
  return parseTenants(doc, servedModels, `tenants file "${path}"`, defaults);
}
