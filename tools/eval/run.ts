/**
 * Runs suites against a gateway: expands each prompt case into one run per variant of the experiment its label runs
 * (every variant will answer real users; forced with `x-gateway-prompt-variant`, which keeps evaluation traffic out
 * of the experiment's statistics), calls the gateway `concurrency` at a time, checks each answer, and compares the
 * results with a baseline report when one is given.
 */
import { cosine, similarityResult, textCheck, type Answer, type CheckResult } from "./checks.js";
import { GatewayClient, type PromptDescription } from "./client.js";
import type { Case, Suite } from "./suite.js";

export interface EvalOptions {
  baseUrl: string;
  key: string;
  suites: Suite[];
  concurrency: number;
  profile: string;
  timeoutMs: number;
  /** A previous report to compare with (regressions), or undefined. */
  baseline: EvalReport | undefined;
  /** A similarity score this far below the baseline's is a regression even above the threshold. */
  tolerance: number;
  /** Called as cases finish (the progress bar). */
  onProgress?: (done: number, total: number, result: CaseResult) => void;
}

export interface CaseResult {
  suite: string;
  id: string;
  /** The prompt ref or model called. */
  target: string;
  variant: string | undefined;
  version: string | undefined;
  status: "pass" | "fail" | "error";
  durationMs: number;
  checks: CheckResult[];
  error?: string;
  /** The first 300 characters of a failing answer, to read in the report. */
  answerExcerpt?: string;
  /** Why this case regressed from the baseline. */
  regressions: string[];
}

export interface EvalReport {
  tool: "gemini-gateway eval";
  startedAt: string;
  durationMs: number;
  baseUrl: string;
  profile: string;
  suites: string[];
  summary: { cases: number; passed: number; failed: number; errors: number; regressions: number; rateLimited: number };
  baseline: { compared: number; missing: string[] } | null;
  cases: CaseResult[];
}

interface Job {
  suite: Suite;
  c: Case;
  id: string;
  variant: string | undefined;
}

export async function runEval(o: EvalOptions): Promise<EvalReport> {
  const started = Date.now();
  const client = new GatewayClient({ baseUrl: o.baseUrl, key: o.key, timeoutMs: o.timeoutMs });
  const jobs = await expand(o.suites, client);
  const results: CaseResult[] = new Array(jobs.length);
  const embeddings = new Map<string, Promise<number[]>>();
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await runJob(jobs[i]!, client, o, embeddings);
      o.onProgress?.(++done, jobs.length, results[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency, jobs.length)) }, worker));
  const baseline = o.baseline ? compare(results, o.baseline, o.tolerance) : null;
  return {
    tool: "gemini-gateway eval",
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    baseUrl: o.baseUrl,
    profile: o.profile,
    suites: o.suites.map((s) => s.name),
    summary: {
      cases: results.length,
      passed: results.filter((r) => r.status === "pass").length,
      failed: results.filter((r) => r.status === "fail").length,
      errors: results.filter((r) => r.status === "error").length,
      regressions: results.filter((r) => r.regressions.length > 0).length,
      rateLimited: client.rateLimited,
    },
    baseline,
    cases: results,
  };
}

/** One job per case, or per variant of the experiment a prompt case's label runs. */
async function expand(suites: readonly Suite[], client: GatewayClient): Promise<Job[]> {
  const described = new Map<string, Promise<PromptDescription>>();
  const jobs: Job[] = [];
  for (const suite of suites) {
    for (const c of suite.cases) {
      if (c.prompt === undefined || c.variant !== undefined) {
        jobs.push({ suite, c, id: c.variant ? `${c.id}[${c.variant}]` : c.id, variant: c.variant });
        continue;
      }
      const [name, suffix = "production"] = c.prompt.split("@") as [string, string?];
      if (!described.has(name)) described.set(name, client.describe(name));
      const x = (await described.get(name)!).experiment;
      if (!x || x.label !== suffix) {
        jobs.push({ suite, c, id: c.id, variant: undefined });
        continue;
      }
      for (const variant of [...x.variants, ...(x.holdout > 0 ? ["holdout"] : [])]) {
        jobs.push({ suite, c, id: `${c.id}[${variant}]`, variant });
      }
    }
  }
  return jobs;
}

async function runJob(
  job: Job,
  client: GatewayClient,
  o: EvalOptions,
  embeddings: Map<string, Promise<number[]>>,
): Promise<CaseResult> {
  const { suite, c } = job;
  const started = Date.now();
  const base = {
    suite: suite.name,
    id: job.id,
    target: c.prompt ?? c.model!,
    variant: job.variant,
    regressions: [] as string[],
  };
  try {
    const outcome = c.prompt
      ? await client.prompt(c.prompt, c.variables ?? {}, job.variant)
      : await client.model(c.model!, modelBody(c));
    const version = outcome.headers.get("x-gateway-prompt-version") ?? undefined;
    if (!outcome.answer) {
      return { ...base, version, status: "error", durationMs: Date.now() - started, checks: [], error: outcome.error };
    }
    const checks = await runChecks(c, outcome.answer, suite.embeddingModel, client, o.profile, embeddings);
    const pass = checks.every((k) => k.pass);
    return {
      ...base,
      variant: job.variant ?? outcome.headers.get("x-gateway-prompt-variant") ?? undefined,
      version,
      status: pass ? "pass" : "fail",
      durationMs: Date.now() - started,
      checks,
      ...(pass ? {} : { answerExcerpt: outcome.answer.text.slice(0, 300) }),
    };
  } catch (err) {
    return {
      ...base,
      version: undefined,
      status: "error",
      durationMs: Date.now() - started,
      checks: [],
      error: (err as Error).message,
    };
  }
}

function modelBody(c: Case): Record<string, unknown> {
  const contents =
    typeof c.contents === "string" ? [{ role: "user", parts: [{ text: c.contents }] }] : (c.contents ?? []);
  return {
    contents,
    ...(c.system ? { systemInstruction: { parts: [{ text: c.system }] } } : {}),
    ...(c.generationConfig ? { generationConfig: c.generationConfig } : {}),
  };
}

async function runChecks(
  c: Case,
  answer: Answer,
  embeddingModel: string,
  client: GatewayClient,
  profile: string,
  cache: Map<string, Promise<number[]>>,
): Promise<CheckResult[]> {
  const similarity = c.checks.filter((k) => k.type === "similarity");
  let answerVector: number[] | undefined;
  if (similarity.length) {
    // The answer and every expected text not embedded yet, in one call; expected vectors are shared across cases.
    const missing = [...new Set(similarity.map((k) => k.expected))].filter((t) => !cache.has(`${embeddingModel}|${t}`));
    const batch = client.embed(embeddingModel, [answer.text || " ", ...missing]);
    missing.forEach((t, i) =>
      cache.set(
        `${embeddingModel}|${t}`,
        batch.then((v) => v[i + 1]!),
      ),
    );
    answerVector = (await batch)[0]!;
  }
  const results: CheckResult[] = [];
  for (const check of c.checks) {
    if (check.type === "similarity") {
      const expected = await cache.get(`${embeddingModel}|${check.expected}`)!;
      results.push(similarityResult(check, cosine(answerVector!, expected), profile));
    } else {
      results.push(textCheck(check, answer));
    }
  }
  return results;
}

/** Marks regressions against the baseline: a case that passed now fails, or a similarity fell past the tolerance. */
function compare(results: CaseResult[], baseline: EvalReport, tolerance: number): EvalReport["baseline"] {
  const before = new Map(baseline.cases.map((r) => [`${r.suite}/${r.id}`, r]));
  let compared = 0;
  for (const r of results) {
    const b = before.get(`${r.suite}/${r.id}`);
    if (!b) continue;
    compared++;
    if (b.status === "pass" && r.status !== "pass") r.regressions.push(`passed in the baseline, now ${r.status}`);
    r.checks.forEach((k, i) => {
      const old = b.checks[i];
      if (k.type === "similarity" && old?.type === "similarity" && old.score !== undefined && k.score !== undefined) {
        if (k.score < old.score - tolerance) {
          r.regressions.push(
            `similarity ${k.score.toFixed(3)} fell from ${old.score.toFixed(3)} (tolerance ${tolerance})`,
          );
        }
      }
    });
  }
  const now = new Set(results.map((r) => `${r.suite}/${r.id}`));
  return { compared, missing: [...before.keys()].filter((k) => !now.has(k)) };
}

/** 0: every case passed and nothing regressed; 1 otherwise. */
export function exitCodeOf(report: EvalReport): 0 | 1 {
  const s = report.summary;
  return s.failed === 0 && s.errors === 0 && s.regressions === 0 ? 0 : 1;
}
