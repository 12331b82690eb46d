/**
 * Evaluation suites (docs/evaluation.md): JSON files of cases, each a prompt template call (`prompt` + `variables`) or
 * a plain model call (`model` + `contents`, optionally `system`), with the checks its answer must pass. Thresholds may
 * be one number or one per profile (`{"default": 0.8, "emulator": 0.6}`): an embedding model's similarity scale is its
 * own, so a suite run against the emulator (`--profile emulator`) and against Gemini each have theirs.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { z } from "zod";

const Threshold = z.union([z.number().min(-1).max(1), z.record(z.string(), z.number().min(-1).max(1))]);

export const CheckSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("similarity"), expected: z.string().min(1), threshold: Threshold }).strict(),
  z.object({ type: z.literal("contains"), value: z.string().min(1), caseSensitive: z.boolean().optional() }).strict(),
  z
    .object({ type: z.literal("notContains"), value: z.string().min(1), caseSensitive: z.boolean().optional() })
    .strict(),
  z.object({ type: z.literal("regex"), pattern: z.string().min(1), flags: z.string().optional() }).strict(),
  z.object({ type: z.literal("jsonSchema"), schema: z.record(z.string(), z.unknown()) }).strict(),
  z.object({ type: z.literal("refusal"), expected: z.boolean().default(true) }).strict(),
]);
export type Check = z.infer<typeof CheckSchema>;

export const CaseSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9._-]{1,80}$/, "case ids are letters, digits, . _ -"),
    description: z.string().optional(),
    /** A prompt template: `name`, `name@label` or `name@<version>`. */
    prompt: z.string().min(1).optional(),
    variables: z.record(z.string(), z.unknown()).optional(),
    /** Only this experiment variant (else every variant of the label's experiment is evaluated). */
    variant: z.string().optional(),
    /** A plain model call instead. */
    model: z.string().optional(),
    contents: z.union([z.string(), z.array(z.unknown())]).optional(),
    system: z.string().optional(),
    generationConfig: z.record(z.string(), z.unknown()).optional(),
    checks: z.array(CheckSchema).min(1),
  })
  .strict()
  .refine((c) => (c.prompt === undefined) !== (c.model === undefined), "a case has either prompt or model")
  .refine((c) => c.model === undefined || c.contents !== undefined, "a model case needs contents");
export type Case = z.infer<typeof CaseSchema>;

export const SuiteSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9._-]{1,80}$/),
    description: z.string().optional(),
    /** The gateway's embedding model used for similarity. */
    embeddingModel: z.string().default("gemini-embedding-001"),
    cases: z.array(CaseSchema).min(1),
  })
  .strict()
  .refine((s) => new Set(s.cases.map((c) => c.id)).size === s.cases.length, "case ids must be unique in a suite");
export type Suite = z.infer<typeof SuiteSchema>;

/** Suites from files and folders (every .json in a folder), in a stable order; throws naming the file on an error. */
export function loadSuites(paths: readonly string[]): Suite[] {
  const files = paths.flatMap((p) =>
    statSync(p).isDirectory()
      ? readdirSync(p)
          .filter((f) => f.endsWith(".json"))
          .sort()
          .map((f) => join(p, f))
      : [p],
  );
  const suites = files.map((file) => {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, "utf8"));
    } catch (err) {
      throw new Error(`${file}: ${(err as Error).message}`);
    }
    const parsed = SuiteSchema.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(suite)"}: ${i.message}`);
      throw new Error(`${basename(file)}: ${issues.slice(0, 5).join("; ")}`);
    }
    return parsed.data;
  });
  const names = suites.map((s) => s.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new Error(`two suites are named ${dup}`);
  return suites;
}

/** A check's threshold for the profile: its own entry, else `default`. */
export function thresholdFor(threshold: number | Record<string, number>, profile: string): number {
  if (typeof threshold === "number") return threshold;
  const t = threshold[profile] ?? threshold.default;
  if (t === undefined) throw new Error(`a threshold has neither a "${profile}" nor a "default" entry`);
  return t;
}
