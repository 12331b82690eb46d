/**
 * The emulator's knobs: their types, defaults, validation (zod), the deep merge used by `configure()` and
 * `POST /__emulator/config`, and the environment variables `main.ts` reads. Everything that changes behaviour at run
 * time lives in one `EmulatorSettings` object so a test, a benchmark or a curl can see and change it in one place.
 */
import { z } from "zod";
import { GatewayError } from "../wire/errors.js";

export interface EmulatorSettings {
  /** Sent as `x-emulator-region` on every response, so a multi-region test can tell which emulator answered. */
  region: string;
  /** Wait before the first chunk (and before a non-stream answer), and between stream chunks; jitter adds 0..jitterMs. */
  latency: { firstTokenMs: number; perChunkMs: number; jitterMs: number };
  /** HTTP code -> probability 0..1 of answering a model call with that error instead (sum at most 1). */
  errors: Record<string, number>;
  /** `RetryInfo.retryDelay` (seconds) on injected and quota 429s. */
  retryDelaySeconds: number;
  /** Sliding 60 s window limits; null = unlimited. Tokens are prompt + output of admitted requests. */
  quota: { requestsPerMinute: number | null; tokensPerMinute: number | null };
  /** Case-insensitive regex on the prompt's text; a match answers with a MODEL_ARMOR prompt block. */
  modelArmor: { blockPattern: string | null };
  /** Natural length of an answer, in tokens (= words), when maxOutputTokens does not cut it. */
  responseTokens: number;
  /** Tokens (= words) per stream chunk. */
  chunkTokens: number;
  /** A stream breaks (the connection is cut) after this many chunks; null = streams finish. */
  streamBreakAfterChunks: number | null;
  /**
   * Seeds the draws of injected errors and latency jitter, so a run is repeatable; null = Math.random. Every change of
   * settings restarts the sequence from the seed.
   */
  seed: number | null;
  /**
   * Tenant-owned resources (resources.ts): a batch job moves through each state (QUEUED, PENDING, RUNNING) in
   * `batchStepMs` (time compression: Vertex takes hours) and ends as `batchOutcome`; a background interaction
   * completes `backgroundMs` after it was created.
   */
  resources: { batchStepMs: number; batchOutcome: "succeeded" | "failed" | "partial"; backgroundMs: number };
}

/**
 * A partial update. Nested groups merge field by field; `null` for a group (latency, errors, quota, modelArmor)
 * resets that group to its default. Within `errors`, a probability of 0 removes that code.
 */
export type EmulatorSettingsPatch = {
  [K in keyof EmulatorSettings]?: EmulatorSettings[K] extends object
    ? Partial<EmulatorSettings[K]> | null
    : EmulatorSettings[K];
};

/** The codes the errors knob may inject (the ones Vertex answers generateContent with). */
export const INJECTABLE_ERROR_CODES = ["400", "403", "404", "429", "500", "503", "504"] as const;

export function defaultSettings(): EmulatorSettings {
  return {
    region: "us-central1",
    latency: { firstTokenMs: 0, perChunkMs: 0, jitterMs: 0 },
    errors: {},
    retryDelaySeconds: 1,
    quota: { requestsPerMinute: null, tokensPerMinute: null },
    modelArmor: { blockPattern: null },
    responseTokens: 48,
    chunkTokens: 8,
    streamBreakAfterChunks: null,
    seed: null,
    resources: { batchStepMs: 50, batchOutcome: "succeeded", backgroundMs: 50 },
  };
}

// Ten minutes bounds every wait so a typo cannot hang a test run for hours.
const ms = z.number().finite().min(0).max(600_000);
const limit = z.number().int().min(0).nullable();
const probability = z.number().finite().min(0).max(1);

function validRegex(pattern: string): boolean {
  try {
    new RegExp(pattern, "i");
    return true;
  } catch {
    return false;
  }
}

/** Strict on purpose: a misspelt knob in a test must fail loudly instead of silently doing nothing. */
export const SettingsPatchSchema = z.strictObject({
  resources: z
    .strictObject({
      batchStepMs: ms.optional(),
      batchOutcome: z.enum(["succeeded", "failed", "partial"]).optional(),
      backgroundMs: ms.optional(),
    })
    .nullable()
    .optional(),
  region: z.string().min(1).max(64).optional(),
  latency: z
    .strictObject({ firstTokenMs: ms.optional(), perChunkMs: ms.optional(), jitterMs: ms.optional() })
    .nullable()
    .optional(),
  errors: z.partialRecord(z.enum(INJECTABLE_ERROR_CODES), probability).nullable().optional(),
  retryDelaySeconds: z.number().finite().min(0).max(3600).optional(),
  quota: z
    .strictObject({ requestsPerMinute: limit.optional(), tokensPerMinute: limit.optional() })
    .nullable()
    .optional(),
  modelArmor: z
    .strictObject({
      blockPattern: z
        .string()
        .min(1)
        .max(4096)
        .refine(validRegex, "not a valid regular expression")
        .nullable()
        .optional(),
    })
    .nullable()
    .optional(),
  responseTokens: z.number().int().min(1).max(65_536).optional(),
  chunkTokens: z.number().int().min(1).max(65_536).optional(),
  streamBreakAfterChunks: z.number().int().min(1).max(65_536).nullable().optional(),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .nullable()
    .optional(),
});

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => {
      const path = i.path.length ? i.path.join(".") : "(body)";
      const hint = i.path[0] === "errors" ? ` (allowed codes: ${INJECTABLE_ERROR_CODES.join(", ")})` : "";
      return `${path}: ${i.message}${hint}`;
    })
    .join("; ");
}

/** Validates an untrusted patch (JSON body or programmatic); throws a 400 GatewayError naming the bad field. */
export function parseSettingsPatch(input: unknown): EmulatorSettingsPatch {
  const parsed = SettingsPatchSchema.safeParse(input);
  if (!parsed.success) {
    throw new GatewayError(400, "INVALID_ARGUMENT", `Invalid emulator config: ${describe(parsed.error)}`);
  }
  return parsed.data;
}

/** Applies a validated patch to a copy of `base`; throws a 400 GatewayError if the result is inconsistent. */
export function mergeSettings(base: EmulatorSettings, patch: EmulatorSettingsPatch): EmulatorSettings {
  const d = defaultSettings();
  const next: EmulatorSettings = {
    region: patch.region ?? base.region,
    latency: patch.latency === null ? d.latency : { ...base.latency, ...stripUndefined(patch.latency) },
    // stripUndefined removed the undefined values the Partial type still allows.
    errors:
      patch.errors === null
        ? d.errors
        : { ...base.errors, ...(stripUndefined(patch.errors) as Record<string, number>) },
    retryDelaySeconds: patch.retryDelaySeconds ?? base.retryDelaySeconds,
    quota: patch.quota === null ? d.quota : { ...base.quota, ...stripUndefined(patch.quota) },
    modelArmor: patch.modelArmor === null ? d.modelArmor : { ...base.modelArmor, ...stripUndefined(patch.modelArmor) },
    responseTokens: patch.responseTokens ?? base.responseTokens,
    chunkTokens: patch.chunkTokens ?? base.chunkTokens,
    streamBreakAfterChunks:
      patch.streamBreakAfterChunks === undefined ? base.streamBreakAfterChunks : patch.streamBreakAfterChunks,
    seed: patch.seed === undefined ? base.seed : patch.seed,
    resources: patch.resources === null ? d.resources : { ...base.resources, ...stripUndefined(patch.resources) },
  };
  for (const [code, p] of Object.entries(next.errors)) if (p === 0) delete next.errors[code];
  const sum = Object.values(next.errors).reduce((a, b) => a + b, 0);
  // A little slack for decimal fractions like 0.1 + 0.2 + 0.7.
  if (sum > 1 + 1e-9) {
    throw new GatewayError(
      400,
      "INVALID_ARGUMENT",
      `Invalid emulator config: errors: probabilities add up to ${sum}, they must add up to at most 1.`,
    );
  }
  return next;
}

/** `{a: undefined}` in a patch means "not given", never "set to undefined". */
function stripUndefined<T extends object>(o: T | undefined): Partial<T> {
  if (!o) return {};
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

// ---- environment ---------------------------------------------------------------------------------------------------

const envNumber = (name: string, schema: z.ZodNumber) => (raw: string) => {
  // Number("") is 0 and Number(" 1") is 1; only plain decimal literals are accepted.
  if (!/^-?\d+(\.\d+)?$/.test(raw.trim())) throw new Error(`${name} must be a number, got "${raw}"`);
  const r = schema.safeParse(Number(raw));
  if (!r.success) throw new Error(`${name}: ${r.error.issues[0]?.message ?? "invalid"} (got "${raw}")`);
  return r.data;
};

/** A per-minute limit: a non-negative integer, or "none"/"unlimited" for no limit. */
const envLimit = (name: string) => (raw: string) => {
  if (/^(none|unlimited|null)$/i.test(raw.trim())) return null;
  return envNumber(name, z.number().int().min(0))(raw);
};

/**
 * Reads the EMULATOR_* variables into a patch. Unset or empty variables are left out. A bad value throws an Error
 * whose message starts with the variable's name, so a misconfigured container fails at start with a clear reason.
 */
export function settingsFromEnv(env: NodeJS.ProcessEnv): EmulatorSettingsPatch {
  const get = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === "" ? undefined : v;
  };
  const patch: EmulatorSettingsPatch = {};
  const msNum = (name: string) => envNumber(name, ms);

  const region = get("EMULATOR_REGION");
  if (region !== undefined) {
    if (!/^[a-z0-9-]{1,64}$/.test(region))
      throw new Error(`EMULATOR_REGION must look like "us-central1", got "${region}"`);
    patch.region = region;
  }

  const latency: Partial<EmulatorSettings["latency"]> = {};
  const latencyVars = [
    ["EMULATOR_FIRST_TOKEN_MS", "firstTokenMs"],
    ["EMULATOR_PER_CHUNK_MS", "perChunkMs"],
    ["EMULATOR_JITTER_MS", "jitterMs"],
  ] as const;
  for (const [name, key] of latencyVars) {
    const raw = get(name);
    if (raw !== undefined) latency[key] = msNum(name)(raw);
  }
  if (Object.keys(latency).length) patch.latency = latency;

  const errors: Record<string, number> = {};
  for (const code of ["429", "500", "503"] as const) {
    const name = `EMULATOR_ERROR_${code}`;
    const raw = get(name);
    if (raw !== undefined) errors[code] = envNumber(name, probability)(raw);
  }
  const sum = Object.values(errors).reduce((a, b) => a + b, 0);
  if (sum > 1 + 1e-9) {
    throw new Error(
      `EMULATOR_ERROR_429 + EMULATOR_ERROR_500 + EMULATOR_ERROR_503 must add up to at most 1, got ${sum}`,
    );
  }
  if (Object.keys(errors).length) patch.errors = errors;

  const quota: Partial<EmulatorSettings["quota"]> = {};
  const rpm = get("EMULATOR_RPM");
  if (rpm !== undefined) quota.requestsPerMinute = envLimit("EMULATOR_RPM")(rpm);
  const tpm = get("EMULATOR_TPM");
  if (tpm !== undefined) quota.tokensPerMinute = envLimit("EMULATOR_TPM")(tpm);
  if (Object.keys(quota).length) patch.quota = quota;

  const pattern = get("EMULATOR_MODEL_ARMOR_PATTERN");
  if (pattern !== undefined) {
    if (!validRegex(pattern))
      throw new Error(`EMULATOR_MODEL_ARMOR_PATTERN is not a valid regular expression: "${pattern}"`);
    patch.modelArmor = { blockPattern: pattern };
  }

  const tokens = get("EMULATOR_RESPONSE_TOKENS");
  if (tokens !== undefined) {
    patch.responseTokens = envNumber("EMULATOR_RESPONSE_TOKENS", z.number().int().min(1).max(65_536))(tokens);
  }
  const seed = get("EMULATOR_SEED");
  if (seed !== undefined)
    patch.seed = envNumber(
      "EMULATOR_SEED",
      z
        .number()
        .int()
        .min(0)
        .max(2 ** 32 - 1),
    )(seed);
  return patch;
}
