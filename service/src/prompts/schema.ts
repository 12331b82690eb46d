/**
 * The files of the prompts folder (docs/prompts.md), as zod schemas: one folder per prompt, holding `prompt.json`
 * (labels, metrics, the experiment) and one immutable file per version, `v<N>.json` (variables, system instruction,
 * user template, generation config, allowed models, the reviewed fallback answer). Unknown fields are refused, as in
 * the tenants file: a typo is an error, not a silently ignored setting.
 */
import { z } from "zod";
import { MODEL_ID_PATTERN } from "../wire/gemini.js";

/** Prompt, experiment, variant and metric names: lowercase, digits and `-`, starting with a letter. */
export const NAME_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;
/** Labels (`production`, `staging`, …). */
export const LABEL_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;
/** Variable names, as they appear in `{{name}}`. */
export const VARIABLE_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

const name = () => z.string().regex(NAME_PATTERN, "names are lowercase letters, digits and -, starting with a letter");
const label = () => z.string().regex(LABEL_PATTERN, "labels are lowercase letters, digits, _ and -");
const model = () => z.string().regex(MODEL_ID_PATTERN, "a model id such as gemini-2.5-flash");
const version = () => z.number().int().min(1);
const generationConfig = () => z.record(z.string(), z.unknown());

export const VariableSpecSchema = z
  .object({
    type: z.enum(["string", "number", "integer", "boolean"]),
    description: z.string().max(500).optional(),
    /** Strings only: the values allowed. Only enum variables may appear in the system instruction. */
    enum: z.array(z.string().min(1).max(200)).min(1).max(100).optional(),
    /** Strings: at most this many characters (default 10,000). */
    maxLength: z.number().int().min(1).max(1_000_000).optional(),
    minLength: z.number().int().min(0).optional(),
    minimum: z.number().optional(),
    maximum: z.number().optional(),
    /** May be left out by the caller; then `default` is used, or the placeholder renders empty. */
    optional: z.boolean().optional(),
    default: z.union([z.string(), z.number(), z.boolean()]).optional(),
  })
  .strict();
export type VariableSpec = z.infer<typeof VariableSpecSchema>;

const FallbackCaseSchema = z
  .object({
    /** Exact values of variables (enum, boolean, integer variables are the useful ones). */
    when: z.record(z.string().regex(VARIABLE_PATTERN), z.union([z.string(), z.number(), z.boolean()])),
    answer: z.string().min(1).max(20_000),
  })
  .strict();

/** A reviewed answer served only when every upstream, fallback model and stale cache entry failed. */
export const FallbackSpecSchema = z
  .object({
    answer: z.string().min(1).max(20_000).optional(),
    cases: z.array(FallbackCaseSchema).max(100).optional(),
  })
  .strict()
  .refine((f) => f.answer !== undefined || (f.cases?.length ?? 0) > 0, "a fallback needs an answer or cases");
export type FallbackSpec = z.infer<typeof FallbackSpecSchema>;

export const VersionFileSchema = z
  .object({
    description: z.string().max(2000).optional(),
    variables: z.record(z.string().regex(VARIABLE_PATTERN, "variable names are identifiers"), VariableSpecSchema),
    /** The system instruction; `{{name}}` only for enum variables (values the template's reviewers have seen). */
    system: z.string().max(100_000).optional(),
    /** The user turn; any variable may appear. */
    user: z.string().min(1).max(100_000),
    generationConfig: generationConfig().optional(),
    /** The models this version may run on; the first is its default. */
    models: z.array(model()).min(1).max(20),
    fallback: FallbackSpecSchema.optional(),
  })
  .strict();
export type VersionFile = z.infer<typeof VersionFileSchema>;

export const MetricSpecSchema = z
  .object({
    type: z.enum(["boolean", "float"]),
    optimize: z.enum(["max", "min"]),
    /** Float metrics: a value at or past this counts as a successful outcome (cost per success). */
    successAtLeast: z.number().optional(),
    successAtMost: z.number().optional(),
    /** The smallest difference worth detecting (absolute); sizes the sequential test. Default: 0.05 for booleans. */
    mde: z.number().positive().optional(),
  })
  .strict();
export type MetricSpec = z.infer<typeof MetricSpecSchema>;

export const VariantSchema = z
  .object({
    name: name(),
    version: version(),
    /** Default: the version's first model. Must be one of the version's models. */
    model: model().optional(),
    /** Merged over the version's generation config. */
    generationConfig: generationConfig().optional(),
    weight: z.number().min(0),
  })
  .strict();
export type Variant = z.infer<typeof VariantSchema>;

export const ExperimentSchema = z
  .object({
    name: name(),
    /** Calls that resolve through this label take part; calls pinned to a version never do. */
    label: label().default("production"),
    /** Share of subjects kept out of the experiment: they get the label's version on its default model. */
    holdout: z.number().min(0).max(0.5).default(0),
    variants: z.array(VariantSchema).min(1).max(20),
    /** The variant the others are compared with; default the first. */
    control: name().optional(),
    stop: z
      .object({
        metric: z.string().min(1),
        alpha: z.number().gt(0).lt(0.5).default(0.05),
        minSamplesPerVariant: z.number().int().min(1).default(100),
        /** Move this label to the winner's version when the rule stops the experiment. */
        promote: label().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type Experiment = z.infer<typeof ExperimentSchema>;

export const PromptFileSchema = z
  .object({
    description: z.string().max(2000).optional(),
    /** Label → version. `production` is what a call without a label gets. */
    labels: z.record(label(), version()).refine((l) => "production" in l, "labels must include production"),
    metrics: z.record(name(), MetricSpecSchema).optional(),
    experiment: ExperimentSchema.optional(),
  })
  .strict();
export type PromptFile = z.infer<typeof PromptFileSchema>;
