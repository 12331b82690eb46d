/**
 * The price table: list prices per model as data (prices.json, with its date and source), validated by one zod schema
 * when it is loaded, never on the hot path. Operators with negotiated prices point the gateway at a table of their own
 * in the same shape (docs/decisions/0005-price-table-as-data.md); cost.ts turns a call's usage into USD with it.
 *
 * Shape, per model: `input`, `output`, `cachedInput` and optional `audioInput`, `imageInput`, `videoInput`, each USD
 * per 1M tokens, either one number or tiers by prompt size: `[{ "maxPromptTokens": 200000, "price": 1.25 },
 * { "price": 2.5 }]` means prompts up to 200,000 tokens pay 1.25 and larger ones pay 2.5 for every token of that kind
 * in the request (Google bills a long prompt's whole request at the higher rate, not just the tokens above the
 * threshold).
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { ConfigError } from "../config/env.js";
import { MODEL_ID_PATTERN } from "../wire/gemini.js";
// Imported rather than read by path so that `tsc` copies it into dist/ beside the compiled module (tsc copies only
// the .json files a module imports). JSON modules are stable, without an ExperimentalWarning, since Node 20.18.3;
// package.json asks for 20.19 or later.
import bundledTable from "./prices.json" with { type: "json" };

export interface PriceTier {
  /** This tier applies while promptTokenCount <= maxPromptTokens; absent on the last, open-ended tier. */
  readonly maxPromptTokens?: number;
  /** USD per 1M tokens. */
  readonly price: number;
}

/** USD per 1M tokens: one price, or tiers by prompt size in ascending order. */
export type Price = number | readonly PriceTier[];

export interface ModelPrices {
  /** Uncached prompt tokens and tool-use prompt tokens. */
  readonly input: Price;
  /** Candidate and thinking tokens alike. */
  readonly output: Price;
  /** Prompt tokens served from a context cache, implicit or explicit. */
  readonly cachedInput: Price;
  /** Uncached AUDIO prompt tokens, for models that price them apart; absent means the `input` price. */
  readonly audioInput?: Price;
  /** Uncached IMAGE and VIDEO prompt tokens, likewise (gemini-embedding-2). */
  readonly imageInput?: Price;
  readonly videoInput?: Price;
  /** Batch jobs (the Batch API, Vertex batch prediction): their input and output prices; absent = not batch-priced. */
  readonly batchInput?: Price;
  readonly batchOutput?: Price;
  /** Context cache storage: USD per 1M tokens per hour, tiered by the cache's size like the others. */
  readonly cacheStorage?: Price;
}

export interface PriceTable {
  /** The date the prices were taken from their source (YYYY-MM-DD). */
  readonly asOf: string;
  readonly source: string;
  readonly currency: "USD";
  readonly unit: "per 1M tokens";
  readonly models: Readonly<Record<string, ModelPrices>>;
}

const UsdPer1M = z.number().nonnegative("must be a non-negative USD price per 1M tokens");

const TierSchema = z.strictObject({
  maxPromptTokens: z.number().int().positive().optional(),
  price: UsdPer1M,
});

const TiersSchema = z
  .array(TierSchema)
  .min(1, "needs at least one tier")
  .superRefine((tiers, ctx) => {
    let previous = 0;
    tiers.forEach((tier, i) => {
      const last = i === tiers.length - 1;
      if (last && tier.maxPromptTokens !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: [i, "maxPromptTokens"],
          message: "the last tier must be open-ended (no maxPromptTokens) so that every prompt size has a price",
        });
      } else if (!last && tier.maxPromptTokens === undefined) {
        ctx.addIssue({
          code: "custom",
          path: [i, "maxPromptTokens"],
          message: "every tier but the last needs maxPromptTokens",
        });
      } else if (tier.maxPromptTokens !== undefined) {
        if (tier.maxPromptTokens <= previous) {
          ctx.addIssue({
            code: "custom",
            path: [i, "maxPromptTokens"],
            message: "tiers must be in ascending order of maxPromptTokens",
          });
        }
        previous = tier.maxPromptTokens;
      }
    });
  });

/**
 * A number or a tier list. Dispatching on the JSON type (rather than z.union) keeps the error about the branch the
 * author meant: a bad tier is reported at its own field, not as "invalid input" for the whole price.
 */
const PriceSchema = z.unknown().transform((value, ctx): Price => {
  const parsed = Array.isArray(value) ? TiersSchema.safeParse(value) : UsdPer1M.safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    ctx.addIssue({
      code: "custom",
      path: issue.path,
      message:
        issue.code === "invalid_type" && issue.path.length === 0
          ? value === undefined
            ? "is required (a USD price per 1M tokens, or a list of tiers)"
            : "must be a USD price per 1M tokens, or a list of tiers"
          : issue.message,
    });
  }
  return z.NEVER;
});

const ModelPricesSchema = z.strictObject({
  input: PriceSchema,
  output: PriceSchema,
  cachedInput: PriceSchema,
  audioInput: PriceSchema.optional(),
  imageInput: PriceSchema.optional(),
  videoInput: PriceSchema.optional(),
  batchInput: PriceSchema.optional(),
  batchOutput: PriceSchema.optional(),
  cacheStorage: PriceSchema.optional(),
});

export const PriceTableSchema = z.strictObject({
  asOf: z.iso.date("must be the date the prices were taken, YYYY-MM-DD"),
  source: z.string().min(1, "must say where the prices come from"),
  // Costs are summed in metrics and compared with budgets as USD; a table in another currency would be silently wrong.
  currency: z.literal("USD"),
  unit: z.literal("per 1M tokens"),
  models: z.record(
    z.string().regex(MODEL_ID_PATTERN, "model ids are lowercase like gemini-2.5-flash"),
    ModelPricesSchema,
  ),
});

/** The price table shipped with the gateway (prices.json). */
export const BUNDLED_PRICES_NAME = "bundled price table (service/src/accounting/prices.json)";

/**
 * The price table at `path`, or the bundled one without a path. Throws ConfigError naming the file and each bad field.
 * The result is deeply frozen: it is shared by every call for the life of the process.
 */
export function loadPriceTable(path?: string): PriceTable {
  if (path === undefined) return parsePriceTable(bundledTable, BUNDLED_PRICES_NAME);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(`Cannot read price table "${path}": ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`Price table "${path}" is not valid JSON: ${(err as Error).message}`);
  }
  return parsePriceTable(doc, `price table "${path}"`);
}

/** Validates a parsed price table document; `source` names it in errors. */
export function parsePriceTable(doc: unknown, source = "price table"): PriceTable {
  const parsed = PriceTableSchema.safeParse(doc);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      // A bad record key nests the key schema's own message; zod's outer one is only "Invalid key in record".
      const message = i.code === "invalid_key" ? (i.issues[0]?.message ?? i.message) : i.message;
      return `  ${fieldPath(i.path)}: ${message}`;
    });
    throw new ConfigError(`Invalid ${source}:\n${lines.join("\n")}`);
  }
  const table: PriceTable = parsed.data;
  return deepFreeze(table);
}

/** `models["gemini-2.5-pro"].input[1].price`: model ids contain dots, so a plain dotted path would be ambiguous. */
function fieldPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "(root)";
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "string" && /^[A-Za-z_$][\w$]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (v && typeof v === "object") deepFreeze(v as object);
  return Object.freeze(o);
}
