/**
 * The prompts folder, loaded once at start-up and checked as a whole (docs/prompts.md): every prompt's `prompt.json`,
 * every version file, the lock (lock.ts), the templates' placeholders, the labels, the experiment and the fallback
 * answers. A problem anywhere stops the gateway with a message naming each, as the tenants and upstreams files do: a
 * prompt that could fail on its first call must fail at deploy instead.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { z } from "zod";
import { describeIssues } from "../wire/gemini.js";
import { checkLock, contentHash, LOCK_FILE, lockKey, type LockFile } from "./lock.js";
import {
  NAME_PATTERN,
  PromptFileSchema,
  VersionFileSchema,
  type Experiment,
  type PromptFile,
  type VersionFile,
} from "./schema.js";
import { templateProblems } from "./template.js";

export interface PromptVersion {
  prompt: string;
  version: number;
  file: VersionFile;
  /** The locked content hash (first 12 hex digits name the version in logs). */
  sha256: string;
}

export interface PromptDef {
  name: string;
  file: PromptFile;
  versions: ReadonlyMap<number, PromptVersion>;
  experiment: Experiment | undefined;
}

export interface PromptRegistry {
  readonly dir: string | undefined;
  readonly prompts: ReadonlyMap<string, PromptDef>;
}

export class PromptsError extends Error {
  override name = "PromptsError";
}

/** Built-in metrics every experiment can be compared on, measured by the gateway itself. */
export const BUILTIN_METRICS = ["error", "latency_ms", "cost_usd"] as const;

const VERSION_FILE = /^v([1-9][0-9]{0,5})\.json$/;

export const EMPTY_REGISTRY: PromptRegistry = { dir: undefined, prompts: new Map() };

/** Every version file's key and content hash, parsed JSON included (for the lock command and the loader). */
export function scanVersions(dir: string): Map<string, { hash: string; json: unknown; path: string }> {
  const out = new Map<string, { hash: string; json: unknown; path: string }>();
  for (const name of promptFolders(dir)) {
    for (const f of readdirSync(join(dir, name)).sort()) {
      const m = VERSION_FILE.exec(f);
      if (!m) continue;
      const path = join(dir, name, f);
      const json = readJson(path);
      out.set(lockKey(name, Number(m[1])), { hash: contentHash(json), json, path });
    }
  }
  return out;
}

export function readLock(dir: string): LockFile {
  const path = join(dir, LOCK_FILE);
  if (!existsSync(path)) return { versions: {} };
  const json = readJson(path) as Partial<LockFile> | null;
  if (!json || typeof json.versions !== "object" || json.versions === null) {
    throw new PromptsError(`${path} must be {"versions": {"<prompt>@<n>": "<sha256>"}}`);
  }
  return { versions: json.versions };
}

/** Loads and checks the whole folder; servedModels are the models the gateway serves (GATEWAY_MODELS). */
export function loadPrompts(dir: string, servedModels: readonly string[]): PromptRegistry {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new PromptsError(`prompts folder ${dir} not found`);
  const problems: string[] = [];
  const served = new Set(servedModels);
  const scanned = scanVersions(dir);
  const lock = readLock(dir);
  const { changed, unlocked } = checkLock(new Map([...scanned].map(([k, v]) => [k, v.hash])), lock);
  for (const key of changed) {
    problems.push(`${key} differs from its locked content: a version is immutable, put the change in a new version`);
  }
  if (unlocked.length) {
    problems.push(`not locked yet: ${unlocked.join(", ")} (run \`npm run prompts -- lock\` and commit ${LOCK_FILE})`);
  }

  const prompts = new Map<string, PromptDef>();
  for (const name of promptFolders(dir)) {
    const where = `${name}/prompt.json`;
    const promptPath = join(dir, name, "prompt.json");
    if (!existsSync(promptPath)) {
      problems.push(`${name}/ has no prompt.json`);
      continue;
    }
    const file = parse(PromptFileSchema, readJson(promptPath), where, problems);
    const versions = new Map<number, PromptVersion>();
    for (const [key, found] of scanned) {
      const [p, n] = key.split("@");
      if (p !== name) continue;
      const version = Number(n);
      const vf = parse(VersionFileSchema, found.json, `${name}/v${version}.json`, problems);
      if (!vf) continue;
      problems.push(...versionProblems(name, version, vf, served));
      versions.set(version, { prompt: name, version, file: vf, sha256: found.hash });
    }
    if (!file) continue;
    if (versions.size === 0) problems.push(`${name}/ has no version file (v1.json, …)`);
    for (const [label, v] of Object.entries(file.labels)) {
      if (!versions.has(v)) problems.push(`${where}: label ${label} points to v${v}, which does not exist`);
    }
    problems.push(...experimentProblems(name, file, versions));
    prompts.set(name, { name, file, versions, experiment: file.experiment });
  }
  if (problems.length) throw new PromptsError(`Invalid prompts folder ${dir}:\n  ${problems.join("\n  ")}`);
  return { dir, prompts };
}

function promptFolders(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && NAME_PATTERN.test(e.name))
    .map((e) => e.name)
    .sort();
}

function versionProblems(name: string, version: number, vf: VersionFile, served: ReadonlySet<string>): string[] {
  const where = `${name}/v${version}.json`;
  const problems = [
    ...(vf.system !== undefined ? templateProblems(vf.system, `${where} system`, vf.variables, true) : []),
    ...templateProblems(vf.user, `${where} user`, vf.variables, false),
  ];
  for (const m of vf.models) if (!served.has(m)) problems.push(`${where}: model ${m} is not served (GATEWAY_MODELS)`);
  for (const [v, spec] of Object.entries(vf.variables)) {
    if (spec.enum && spec.type !== "string") problems.push(`${where}: variable ${v} has an enum but is not a string`);
  }
  for (const [i, c] of (vf.fallback?.cases ?? []).entries()) {
    for (const v of Object.keys(c.when)) {
      if (!vf.variables[v]) problems.push(`${where}: fallback case ${i} names ${v}, which is not a declared variable`);
    }
  }
  return problems;
}

function experimentProblems(name: string, file: PromptFile, versions: ReadonlyMap<number, PromptVersion>): string[] {
  const x = file.experiment;
  if (!x) return [];
  const where = `${name}/prompt.json experiment ${x.name}`;
  const problems: string[] = [];
  const names = new Set<string>();
  for (const v of x.variants) {
    if (names.has(v.name) || v.name === "holdout") problems.push(`${where}: variant name ${v.name} is used twice`);
    names.add(v.name);
    const pv = versions.get(v.version);
    if (!pv) problems.push(`${where}: variant ${v.name} uses v${v.version}, which does not exist`);
    else if (v.model && !pv.file.models.includes(v.model)) {
      problems.push(`${where}: variant ${v.name} uses ${v.model}, not one of v${v.version}'s models`);
    }
  }
  if (!x.variants.some((v) => v.weight > 0)) problems.push(`${where}: no variant has a weight above 0`);
  if (!(x.label in file.labels)) problems.push(`${where}: label ${x.label} is not one of the prompt's labels`);
  if (x.control && !names.has(x.control)) problems.push(`${where}: control ${x.control} is not a variant`);
  const metric = x.stop?.metric;
  if (metric && !file.metrics?.[metric] && !(BUILTIN_METRICS as readonly string[]).includes(metric)) {
    problems.push(
      `${where}: stop metric ${metric} is neither a metric of the prompt nor ${BUILTIN_METRICS.join(", ")}`,
    );
  }
  if (x.stop?.promote && !(x.stop.promote in file.labels)) {
    problems.push(`${where}: stop.promote names label ${x.stop.promote}, which the prompt does not have`);
  }
  return problems;
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new PromptsError(`${path}: ${(err as Error).message}`);
  }
}

function parse<T>(schema: z.ZodType<T>, json: unknown, where: string, problems: string[]): T | undefined {
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  problems.push(`${where}: ${describeIssues(parsed.error)}`);
  return undefined;
}
