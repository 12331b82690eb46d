/**
 * Stack configuration: every key is declared in Pulumi.yaml (type, meaning, default) and validated here by one zod
 * schema, so a typo, a bad value or a forgotten placeholder stops the run with one message listing every bad key.
 * `Config.requireObject` does no validation, hence the schema (cloud-foundation-fabric style: typed inputs checked at
 * the boundary with explicit messages).
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { parseCapacity } from "../service/src/config/capacity.js";
import { MODEL_ARMOR_VERTEX_LOCATIONS } from "./model-armor-locations.js";
import { OVERHEAD_BUCKETS_SECONDS, TTFT_BUCKETS_SECONDS } from "./components/metrics.js";

/** The Pulumi project name, which is also the config namespace (`gemini-gateway:<key>`). */
export const PROJECT_NAME = "gemini-gateway";

/** Stack files ship with `REPLACE_WITH_…` (or `replace-with-…` where the value must be lowercase) placeholders. */
export const PLACEHOLDER = /replace[_-]with[_-]/i;

/** Set to 1 by mocked runs (tests, the offline policy check): placeholders are accepted there and only there. */
export const ALLOW_PLACEHOLDERS_ENV = "GGW_ALLOW_PLACEHOLDERS";

/** Secret ids the program itself owns; the tenants secret id must not collide with them. */
export const FIXED_SECRET_IDS = [
  "gateway-admin-key-sha256",
  "redis-url",
  "redis-ca",
  "gmp-config",
  "gateway-keys",
] as const;

export class StackConfigError extends Error {
  override name = "StackConfigError";
}

/** A value an operator must supply: the real shape, or an obvious placeholder (refused later outside mocked runs). */
export const orPlaceholder = (schema: z.ZodType<string>) =>
  z.string().superRefine((value, ctx) => {
    if (PLACEHOLDER.test(value)) return;
    const checked = schema.safeParse(value);
    if (!checked.success) {
      for (const issue of checked.error.issues)
        ctx.addIssue({ code: "custom", message: issue.message, path: issue.path });
    }
  });

const emptyToUndefined = (v: unknown) => (typeof v === "string" && v.trim() === "" ? undefined : v);
export const optional = <T extends z.ZodType>(schema: T) => z.preprocess(emptyToUndefined, schema.optional());
export const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
export const bool = z.preprocess((v) => (v === "true" ? true : v === "false" ? false : v), z.boolean());
export const list = <T extends z.ZodType>(item: T) =>
  z.preprocess((v) => {
    if (typeof v !== "string") return v;
    try {
      return JSON.parse(v) as unknown;
    } catch {
      return v;
    }
  }, z.array(item));

export const REGION = /^[a-z]+-[a-z]+\d+$/;
export const LABEL_VALUE = /^[a-z0-9_-]{1,63}$/;
export const PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const IMAGE_REF = /^[a-z0-9]+(?:[._/-][a-z0-9]+)*(?:@sha256:[0-9a-f]{64}|:[A-Za-z0-9_][A-Za-z0-9._-]{0,127})$/;
const HOSTNAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
export const PRINCIPAL = /^(user|group|serviceAccount|domain|principal|principalSet):\S+$/;
const VERSION_NUMBER = /^[1-9]\d*$/;

/** GATEWAY_CAPACITY, checked by the service's own parser and compacted to one line of JSON. */
const capacityJson = z
  .string()
  .superRefine((json, ctx) => {
    try {
      parseCapacity(json, "capacity");
    } catch (err) {
      const message = (err as Error).message.replace(/:\s*\n\s*/g, ": ").replace(/\n\s*/g, "; ");
      ctx.addIssue({ code: "custom", message });
    }
  })
  .transform((json) => JSON.stringify(JSON.parse(json)));

/** An SLO target in percent, as a string ("99.9"): Pulumi's typed config has no non-integer numbers. */
const percent = z.coerce
  .number()
  .gt(50, "must be a percentage above 50")
  .lt(100, "must be below 100 (a 100% target leaves no error budget to alert on)");

/**
 * A latency threshold in ms that is a bucket bound of the histogram the SLO reads: Cloud Monitoring counts good events
 * from whole buckets, so any other value would silently round to the bucket below.
 */
const bucketBound = (metric: string, boundsSeconds: readonly number[]) =>
  z.coerce.number().refine((ms) => boundsSeconds.some((b) => Math.abs(b * 1000 - ms) < 1e-9), {
    message: `must be a bucket bound of ${metric} in ms: ${boundsSeconds.map((b) => +(b * 1000).toFixed(4)).join(", ")}`,
  });

const invoker = z
  .string()
  .refine((p) => !/^(allUsers|allAuthenticatedUsers)$/.test(p), {
    message: "public invokers are not allowed (the guardrails forbid them): see infra/README.md, Access",
  })
  .pipe(z.string().regex(PRINCIPAL, "must be user:, group:, serviceAccount:, domain:, principal: or principalSet:"));

export const StackConfigSchema = z
  .strictObject({
    environment: z.enum(["dev", "prod"]),
    projectId: z.string().regex(PROJECT_ID, "must be a Google Cloud project id"),
    bootstrapStack: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, "must be <organization>/<project>/<stack>"),
    folderId: optional(orPlaceholder(z.string().regex(/^\d{6,}$/, "must be a numeric folder id"))),
    orgId: optional(orPlaceholder(z.string().regex(/^\d{6,}$/, "must be a numeric organisation id"))),
    billingAccount: orPlaceholder(
      z.string().regex(/^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$/, "must look like 012345-6789AB-CDEF01"),
    ),
    quotaProject: optional(z.string().regex(PROJECT_ID, "must be a Google Cloud project id")),
    regions: list(z.string().regex(REGION, 'must be a region such as "europe-west4"'))
      .refine((r) => r.length >= 1 && r.length <= 3, "give one to three regions, primary first")
      .refine((r) => new Set(r).size === r.length, "regions must be distinct"),
    owner: z.string().regex(LABEL_VALUE, "must be a label value: lowercase letters, digits, _ or -"),
    costCenter: z.string().regex(LABEL_VALUE, "must be a label value: lowercase letters, digits, _ or -"),
    deletionProtection: bool,

    deployGateway: bool,
    // A release, not a setting: empty keeps what the stack runs (infra/release.ts).
    image: optional(orPlaceholder(z.string().regex(IMAGE_REF, "must be name@sha256:<64 hex> or name:tag"))),
    collectorImage: z.string().regex(IMAGE_REF, "must be name@sha256:<64 hex> or name:tag"),
    minInstances: int(0, 100),
    maxInstances: int(1, 1000),
    concurrency: int(1, 1000),
    cpu: z.string().regex(/^(\d+|\d+m)$/, 'must be a CPU limit such as "1", "2" or "1000m"'),
    memory: z.string().regex(/^\d+(Mi|Gi)$/, 'must be a memory limit such as "512Mi" or "2Gi"'),
    cpuIdle: bool,
    requestTimeoutSeconds: int(1, 3600),
    logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]),
    vertexLocation: optional(z.string().regex(/^(global|[a-z]+-[a-z]+\d+)$/, 'must be a region or "global"')),
    capacity: capacityJson,
    tenantsSecretId: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,255}$/, "must be a Secret Manager secret id")
      .refine((id) => !(FIXED_SECRET_IDS as readonly string[]).includes(id), "is a secret id the program owns"),
    tenantsSecretVersion: z.string().regex(VERSION_NUMBER, 'must be a version number (pinned; "latest" is refused)'),
    adminKeySecretVersion: z.string().regex(VERSION_NUMBER, 'must be a version number (pinned; "latest" is refused)'),
    invokers: list(orPlaceholder(invoker)),

    redisTier: z.enum(["BASIC", "STANDARD_HA"]),
    redisMemoryGb: int(1, 300),
    redisVersion: z.string().regex(/^REDIS_\d+_\d+$/, 'must be a Memorystore version such as "REDIS_7_2"'),

    domain: optional(z.string().regex(HOSTNAME, "must be a lowercase host name such as gateway.example.com")),
    edgeRateLimitPerMinute: int(10, 100_000),
    edgeBanSeconds: int(60, 86_400),

    modelArmorLocation: optional(z.string().regex(REGION, 'must be a region such as "europe-west4"')),
    modelArmorConfidence: z.enum(["LOW_AND_ABOVE", "MEDIUM_AND_ABOVE", "HIGH"]),

    budgetAmount: int(1, 10_000_000),
    budgetCurrency: z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 currency code"),
    budgetCurrentThresholdsPercent: list(int(1, 1000)),
    budgetForecastThresholdsPercent: list(int(1, 1000)).refine(
      (t) => t.length >= 1,
      "give at least one forecast threshold (the guardrails require a FORECASTED_SPEND rule)",
    ),

    alertEmails: list(orPlaceholder(z.email("must be an e-mail address"))).refine(
      (e) => e.length >= 1,
      "give at least one address: every alert policy needs a notification channel",
    ),
    alertLatencyP95Ms: int(100, 3_600_000),
    alert5xxPercent: int(1, 100),
    alertUpstream429Percent: int(1, 100),
    alertInstancesPercent: int(1, 100),
    alertRedisMemoryPercent: int(1, 100),
    alertSpendUsdPerHour: int(1, 1_000_000),

    sloPeriodDays: int(1, 30),
    sloAvailabilityPercent: percent,
    sloOverheadMs: bucketBound("gateway_overhead_seconds", OVERHEAD_BUCKETS_SECONDS),
    sloOverheadPercent: percent,
    sloFirstTokenMs: bucketBound("gateway_time_to_first_token_seconds", TTFT_BUCKETS_SECONDS),
    sloFirstTokenPercent: percent,

    apiPropagationSeconds: int(0, 600),
    iamPropagationSeconds: int(0, 600),
  })
  .superRefine((c, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: "custom", path: [path], message });
    if (!c.folderId === !c.orgId) issue("folderId", "set exactly one of folderId and orgId");
    if (c.minInstances > c.maxInstances) issue("minInstances", `is above maxInstances (${c.maxInstances})`);
    if (c.regions.length > 1 && !c.domain) {
      issue("domain", "is required with more than one region (the regions are served behind a load balancer)");
    }
    // Model Armor where each gateway runs: tenants name one template (projects/…/locations/L/templates/…), and Vertex
    // screens a call only with templates in the location it serves, so every region's Vertex location must be L, and L
    // a location of Vertex AI's Model Armor integration.
    const armor = modelArmorPlacement(c);
    if (!(MODEL_ARMOR_VERTEX_LOCATIONS as readonly string[]).includes(armor.location)) {
      issue(
        c.modelArmorLocation ? "modelArmorLocation" : "vertexLocation",
        `Model Armor templates would live in ${armor.location}, where Vertex AI's Model Armor integration is not ` +
          `offered (${MODEL_ARMOR_VERTEX_LOCATIONS.join(", ")}): set vertexLocation to one of those`,
      );
    }
    for (const [region, vertex] of Object.entries(armor.vertexByRegion)) {
      if (vertex !== armor.location) {
        issue(
          "vertexLocation",
          `the ${region} gateway would call Vertex AI in ${vertex}, where no Model Armor template exists (templates: ` +
            `${armor.location}); set vertexLocation: ${armor.location} so every region screens with them`,
        );
      }
    }
    if (c.environment === "prod") {
      if (!c.deletionProtection) issue("deletionProtection", "must be true in prod");
      if (c.minInstances < 1) issue("minInstances", "must be at least 1 in prod (no cold starts)");
      if (c.redisTier !== "STANDARD_HA") issue("redisTier", "must be STANDARD_HA in prod");
      if (c.regions.length < 2) issue("regions", "prod runs in two regions behind the load balancer");
      if (!c.domain) issue("domain", "is required in prod (the load balancer's certificate)");
      if (c.image && !c.image.includes("@sha256:")) issue("image", "must be pinned by digest in prod (name@sha256:…)");
    }
  });

export type StackConfig = z.output<typeof StackConfigSchema>;

/**
 * Where Model Armor templates live and where each region's gateway calls Vertex AI: templates in modelArmorLocation,
 * else in the primary region's Vertex location; each region calls Vertex in vertexLocation, else its own region.
 */
export function modelArmorPlacement(c: Pick<StackConfig, "regions" | "vertexLocation" | "modelArmorLocation">): {
  location: string;
  vertexByRegion: Record<string, string>;
} {
  const vertexByRegion = Object.fromEntries(c.regions.map((r) => [r, c.vertexLocation ?? r]));
  return { location: c.modelArmorLocation ?? vertexByRegion[c.regions[0]!]!, vertexByRegion };
}

/** The declared keys, for error messages and the test that Pulumi.yaml declares exactly these. */
export const CONFIG_KEYS = Object.keys(StackConfigSchema.shape) as (keyof StackConfig)[];

/** Reads `<project>:*` from the engine's config (the CLI merges Pulumi.yaml defaults into it). */
export function readEngineConfig(project: string = PROJECT_NAME): Record<string, string> {
  const prefix = `${project}:`;
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
    if (key.startsWith(prefix)) out[key.slice(prefix.length)] = value;
  }
  return out;
}

/**
 * Validates a program's configuration with its schema. Throws StackConfigError naming every bad key (as
 * `<project>:<key>`); then, unless GGW_ALLOW_PLACEHOLDERS=1, refuses placeholders naming every key that still holds one.
 */
export function parseConfig<S extends z.ZodType<Record<string, unknown>>>(
  schema: S,
  project: string,
  raw: Record<string, string>,
  env: Readonly<Record<string, string | undefined>>,
): Readonly<z.output<S>> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      if (i.code === "unrecognized_keys") {
        return i.keys.map((k) => `  ${project}:${k}: unknown key (not declared in Pulumi.yaml)`).join("\n");
      }
      const key = i.path.map((p, n) => (typeof p === "number" ? `[${p}]` : `${n ? "." : ""}${String(p)}`)).join("");
      const missing = i.path.length === 1 && raw[String(i.path[0])] === undefined;
      const message = missing ? "is required" : i.message;
      return `  ${project}:${key || "(root)"}: ${message}`;
    });
    throw new StackConfigError(`Invalid stack configuration:\n${lines.join("\n")}`);
  }
  const config = parsed.data;
  if (env[ALLOW_PLACEHOLDERS_ENV] !== "1") {
    const found = placeholdersIn(config);
    if (found.length) {
      throw new StackConfigError(
        [
          "Stack configuration still holds placeholders; set real values (pulumi config set <key> <value>):",
          ...found.map(([key, value]) => `  ${project}:${key} = ${JSON.stringify(value)}`),
          `(Only mocked runs, with ${ALLOW_PLACEHOLDERS_ENV}=1, accept placeholders.)`,
        ].join("\n"),
      );
    }
  }
  return Object.freeze(config);
}

/**
 * Validates the stack configuration. Throws StackConfigError naming every bad key; then, unless
 * GGW_ALLOW_PLACEHOLDERS=1, refuses placeholders naming every key that still holds one.
 */
export function loadStackConfig(
  raw: Record<string, string> = readEngineConfig(),
  env: Readonly<Record<string, string | undefined>> = process.env,
): StackConfig {
  return parseConfig(StackConfigSchema, PROJECT_NAME, raw, env);
}

/** Every [key path, value] whose string value is a placeholder. */
export function placeholdersIn(config: Readonly<Record<string, unknown>>): [string, string][] {
  const found: [string, string][] = [];
  for (const [key, value] of Object.entries(config)) {
    if (typeof value === "string" && PLACEHOLDER.test(value)) found.push([key, value]);
    if (Array.isArray(value)) {
      value.forEach((v, i) => {
        if (typeof v === "string" && PLACEHOLDER.test(v)) found.push([`${key}[${i}]`, v]);
      });
    }
  }
  return found;
}
