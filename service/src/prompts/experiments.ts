/**
 * Experiment statistics in the shared store, so that every instance counts into the same numbers:
 *
 * - every call of an experiment (not forced) adds to its variant's tally: requests, errors, latency (sum, squares,
 *   buckets), tokens, cost (sum, squares), per feature label requests and cost;
 * - the call is remembered for the feedback window under its tenant and x-request-id (prompt, experiment, variant,
 *   feature — no content), so that `POST /v1beta/feedback` can attribute an outcome to it; another tenant finds
 *   nothing there (404), and each metric takes one value per call (409 after);
 * - feedback adds to the variant's metric sums (n, Σx, Σx², successes), per feature too: cost per successful outcome
 *   is the variant's (or the feature's) cost over its successes — the guide's "cost per successful business outcome";
 * - `report` turns the tallies into per-variant statistics and the comparison with the control (stats.ts);
 * - the stop rule, when configured, is evaluated after feedback (at most every few seconds per instance): once every
 *   variant has its minimum sample and a treatment is significantly better than the control (or every treatment is
 *   significantly worse), the experiment is concluded once across instances (a store claim), the winner answers every
 *   subject from then on, and the label named in `promote` moves to the winner's version — logged as a warning.
 */
import type { CallRecord } from "../telemetry/call-record.js";
import type { KeyValue, Leases, Tallies } from "../store/store.js";
import { GatewayError } from "../wire/errors.js";
import { expectedShares, HOLDOUT } from "./assign.js";
import { BUILTIN_METRICS, type PromptDef, type PromptRegistry } from "./registry.js";
import type { Experiment, MetricSpec } from "./schema.js";
import type { Conclusion, PromptState } from "./state.js";
import {
  bucketQuantile,
  mixtureSprt,
  probabilityBetter,
  summarize,
  type ArmSummary,
  type SequentialTest,
} from "./stats.js";

/** Latency buckets (ms, upper bounds) for the per-variant quantiles. */
export const LATENCY_BOUNDS = [100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, Number.POSITIVE_INFINITY];
const TALLY_TTL_MS = 400 * 86_400_000;
const STOP_CHECK_EVERY_MS = 5_000;
const RESPONSE_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** Default minimum detectable effects (τ of the sequential test) per kind of metric. */
const DEFAULT_MDE = { boolean: 0.05, float: 0.1, error: 0.01, latency_ms: 100, cost_usd: 0.0001 } as const;

interface CallNote {
  prompt: string;
  experiment: string;
  variant: string;
  version: number;
  feature: string;
}

export interface FeedbackInput {
  responseId: unknown;
  metric: unknown;
  value: unknown;
}

export interface ExperimentLedger {
  /** Counts a finished call (from the recorder); never throws, never waits on the caller. */
  observe(r: CallRecord): void;
  /** Records an outcome for one of the tenant's calls; throws GatewayError 400/404/409. */
  feedback(tenant: string, input: FeedbackInput): Promise<{ experiment: string; variant: string; metric: string }>;
  report(experiment: string, metric?: string): Promise<ExperimentReport | undefined>;
  /** Resolves once the stores writes started by observe() so far are done (tests, shutdown). */
  settled(): Promise<void>;
}

export interface LedgerOptions {
  registry: PromptRegistry;
  tallies: Tallies;
  kv: KeyValue & Leases;
  state: PromptState;
  /** How long after a call its feedback is accepted. */
  feedbackWindowMs: number;
  now?: () => number;
  onStoreError?: (err: Error) => void;
  /** The stop rule concluded an experiment (logged as a warning by the caller). */
  onConclusion?: (
    experiment: string,
    conclusion: Conclusion,
    moved: { label: string; version: number } | undefined,
  ) => void;
}

export function createExperimentLedger(o: LedgerOptions): ExperimentLedger {
  const now = o.now ?? Date.now;
  const pending = new Set<Promise<unknown>>();
  const lastStopCheck = new Map<string, number>();
  const experiments = new Map<string, { prompt: PromptDef; x: Experiment }>();
  for (const prompt of o.registry.prompts.values()) {
    if (prompt.experiment) experiments.set(prompt.experiment.name, { prompt, x: prompt.experiment });
  }
  const tallyKey = (experiment: string, variant: string) => `px:${experiment}:${variant}`;
  const noteKey = (tenant: string, id: string) => `prompt-call:${tenant}:${id}`;

  const track = (p: Promise<unknown>) => {
    const done = p.catch((err: Error) => o.onStoreError?.(err)).finally(() => pending.delete(done));
    pending.add(done);
  };

  async function checkStop(experiment: string): Promise<void> {
    const found = experiments.get(experiment);
    const stop = found?.x.stop;
    if (!found || !stop) return;
    const last = lastStopCheck.get(experiment) ?? 0;
    if (now() - last < STOP_CHECK_EVERY_MS) return;
    lastStopCheck.set(experiment, now());
    if (await o.state.conclusion(experiment)) return;
    const report = await buildReport(found.prompt, found.x, stop.metric);
    const winner = stopDecision(report, stop.minSamplesPerVariant);
    if (!winner) return;
    const conclusion: Conclusion = {
      winner: winner.name,
      at: new Date(now()).toISOString(),
      reason: winner.reason,
    };
    if (!(await o.state.conclude(experiment, conclusion))) return; // another instance concluded it
    let moved: { label: string; version: number } | undefined;
    const version = found.x.variants.find((v) => v.name === winner.name)?.version;
    if (stop.promote && version !== undefined) {
      await o.state.moveLabel(found.prompt.name, stop.promote, version, `stop-rule:${experiment}`);
      moved = { label: stop.promote, version };
    }
    o.onConclusion?.(experiment, conclusion, moved);
  }

  async function buildReport(prompt: PromptDef, x: Experiment, metricName?: string): Promise<ExperimentReport> {
    const names = [...x.variants.map((v) => v.name), ...(x.holdout > 0 ? [HOLDOUT] : [])];
    const tallies = await Promise.all(names.map((n) => o.tallies.read(tallyKey(x.name, n))));
    const metric = metricName ?? x.stop?.metric ?? Object.keys(prompt.file.metrics ?? {})[0] ?? "error";
    const spec = metricSpecOf(prompt, metric);
    if (!spec)
      throw new GatewayError(400, "INVALID_ARGUMENT", `No metric ${metric.slice(0, 64)} in experiment ${x.name}.`);
    const shares = expectedShares(x);
    const labelled = prompt.file.labels[x.label]!;
    const variants = names.map((name, i) => variantStats(prompt, x, name, tallies[i]!, shares[name] ?? 0, labelled));
    const control = x.control ?? x.variants[0]!.name;
    const alpha = x.stop?.alpha ?? 0.05;
    const treatments = x.variants.filter((v) => v.name !== control).map((v) => v.name);
    const corrected = treatments.length > 1 ? alpha / treatments.length : alpha;
    const arm = (name: string) => armOf(tallies[names.indexOf(name)]!, metric, spec);
    const controlArm = arm(control);
    const comparisons = treatments.map((name): Comparison => {
      const t = arm(name);
      const test = mixtureSprt(controlArm, t, spec.mde, corrected);
      const better = spec.optimize === "max" ? test.difference > 0 : test.difference < 0;
      const stillNeeded =
        test.samplesPerVariant === null ? null : Math.max(0, test.samplesPerVariant - Math.min(controlArm.n, t.n));
      return {
        variant: name,
        control,
        n: { control: controlArm.n, variant: t.n },
        mean: { control: controlArm.mean, variant: t.mean },
        sequential: { ...test, alpha: corrected, samplesStillNeeded: stillNeeded },
        bayesian:
          spec.type === "boolean"
            ? {
                probabilityBetter: (() => {
                  const p = probabilityBetter(
                    { successes: Math.round(controlArm.mean * controlArm.n), n: controlArm.n },
                    { successes: Math.round(t.mean * t.n), n: t.n },
                  );
                  return spec.optimize === "max" ? p : 1 - p;
                })(),
              }
            : undefined,
        decision: !test.significant ? "inconclusive" : better ? "better" : "worse",
      };
    });
    return {
      experiment: x.name,
      prompt: prompt.name,
      label: x.label,
      holdout: x.holdout,
      metric: { name: metric, type: spec.type, optimize: spec.optimize, mde: spec.mde },
      control,
      variants,
      comparisons,
      conclusion: (await o.state.conclusion(x.name)) ?? null,
      stopRule: x.stop ?? null,
    };
  }

  return {
    observe(r) {
      const tag = r.prompt;
      if (!tag?.experiment || tag.forced || !r.tenant) return;
      const cost = r.cost?.totalUsd ?? 0;
      const latency = r.durationMs;
      const feature = r.feature ?? "none";
      const bucket = LATENCY_BOUNDS.findIndex((b) => latency <= b);
      const fields: Record<string, number> = {
        requests: 1,
        errors: r.status >= 500 && r.error?.kind !== "deadline" ? 1 : 0,
        client_errors: r.status >= 400 && r.status < 500 ? 1 : 0,
        latency_ms: latency,
        latency_ms_sq: latency * latency,
        [`lat_le_${bucket}`]: 1,
        tokens_in: r.tokens ? r.tokens.input + r.tokens.cachedInput + r.tokens.toolUsePrompt : 0,
        tokens_out: r.tokens ? r.tokens.output + r.tokens.thinking : 0,
        cost_usd: cost,
        cost_usd_sq: cost * cost,
        pregenerated: tag.pregenerated ? 1 : 0,
        [`f:${feature}:requests`]: 1,
        [`f:${feature}:cost_usd`]: cost,
      };
      track(o.tallies.add(tallyKey(tag.experiment, tag.variant), fields, TALLY_TTL_MS));
      if (r.status < 400) {
        const note: CallNote = {
          prompt: tag.name,
          experiment: tag.experiment,
          variant: tag.variant,
          version: tag.version,
          feature,
        };
        track(o.kv.set(noteKey(r.tenant, r.requestId), JSON.stringify(note), o.feedbackWindowMs));
      }
    },

    async feedback(tenant, input) {
      const { responseId, metric, value } = input;
      if (typeof responseId !== "string" || !RESPONSE_ID.test(responseId)) {
        throw invalid("responseId", "must be the x-request-id of a prompt call");
      }
      if (typeof metric !== "string" || metric.length === 0 || metric.length > 64) {
        throw invalid("metric", "must name one of the prompt's metrics");
      }
      const raw = await o.kv.get(noteKey(tenant, responseId));
      if (raw === null) {
        throw new GatewayError(
          404,
          "NOT_FOUND",
          `No prompt call ${responseId} of this tenant in an experiment within the feedback window.`,
        );
      }
      const note = JSON.parse(raw) as CallNote;
      const prompt = o.registry.prompts.get(note.prompt);
      const spec = prompt?.file.metrics?.[metric];
      if (!prompt || !spec) throw invalid("metric", `${metric} is not a metric of prompt ${note.prompt}`);
      let x: number;
      if (spec.type === "boolean") {
        if (typeof value !== "boolean") throw invalid("value", `${metric} takes true or false`);
        x = value ? 1 : 0;
      } else {
        if (typeof value !== "number" || !Number.isFinite(value)) throw invalid("value", `${metric} takes a number`);
        x = value;
      }
      const claimed = await o.kv.claim(`prompt-feedback:${tenant}:${responseId}:${metric}`, "1", o.feedbackWindowMs);
      if (!claimed) {
        throw new GatewayError(409, "ABORTED", `Feedback for ${metric} on ${responseId} was already recorded.`);
      }
      const success = successOf(spec, x);
      const f = note.feature;
      await o.tallies.add(
        tallyKey(note.experiment, note.variant),
        {
          [`m:${metric}:n`]: 1,
          [`m:${metric}:sum`]: x,
          [`m:${metric}:sq`]: x * x,
          [`m:${metric}:success`]: success ? 1 : 0,
          [`f:${f}:m:${metric}:n`]: 1,
          [`f:${f}:m:${metric}:success`]: success ? 1 : 0,
        },
        TALLY_TTL_MS,
      );
      track(checkStop(note.experiment));
      return { experiment: note.experiment, variant: note.variant, metric };
    },

    async report(experiment, metric) {
      const found = experiments.get(experiment);
      return found ? buildReport(found.prompt, found.x, metric) : undefined;
    },

    async settled() {
      while (pending.size) await Promise.all([...pending]);
    },
  };
}

function invalid(field: string, why: string): GatewayError {
  return new GatewayError(400, "INVALID_ARGUMENT", `${field} ${why}.`, [
    { "@type": "type.googleapis.com/google.rpc.BadRequest", fieldViolations: [{ field, description: why }] },
  ]);
}

function successOf(spec: MetricSpec, x: number): boolean {
  if (spec.type === "boolean") return x === 1;
  if (spec.successAtLeast !== undefined) return x >= spec.successAtLeast;
  if (spec.successAtMost !== undefined) return x <= spec.successAtMost;
  return false;
}

interface ResolvedMetric {
  type: "boolean" | "float";
  optimize: "max" | "min";
  mde: number;
  builtin: boolean;
}

function metricSpecOf(prompt: PromptDef, metric: string): ResolvedMetric | undefined {
  const spec = prompt.file.metrics?.[metric];
  if (spec)
    return { type: spec.type, optimize: spec.optimize, mde: spec.mde ?? DEFAULT_MDE[spec.type], builtin: false };
  if (!(BUILTIN_METRICS as readonly string[]).includes(metric)) return undefined;
  const m = metric as (typeof BUILTIN_METRICS)[number];
  return { type: m === "error" ? "boolean" : "float", optimize: "min", mde: DEFAULT_MDE[m], builtin: true };
}

/** One arm of the comparison: feedback values for a prompt metric, every call for a built-in one. */
function armOf(t: Readonly<Record<string, number>>, metric: string, spec: ResolvedMetric): ArmSummary {
  const g = (k: string) => t[k] ?? 0;
  if (!spec.builtin) return summarize(g(`m:${metric}:n`), g(`m:${metric}:sum`), g(`m:${metric}:sq`));
  if (metric === "error") return summarize(g("requests"), g("errors"), g("errors"));
  if (metric === "latency_ms") return summarize(g("requests"), g("latency_ms"), g("latency_ms_sq"));
  return summarize(g("requests"), g("cost_usd"), g("cost_usd_sq"));
}

export interface VariantStats {
  name: string;
  version: number;
  model: string;
  /** The share of subjects the weights give it. */
  share: number;
  requests: number;
  errors: number;
  errorRate: number | null;
  clientErrors: number;
  pregenerated: number;
  latencyMs: { mean: number | null; p50: number | null; p95: number | null };
  tokens: { input: number; output: number };
  costUsd: number;
  costPerRequestUsd: number | null;
  outcomes: Record<string, { n: number; mean: number | null; successes: number; costPerSuccessUsd: number | null }>;
  byFeature: Record<
    string,
    {
      requests: number;
      costUsd: number;
      successes: Record<string, number>;
      costPerSuccessUsd: Record<string, number | null>;
    }
  >;
}

function variantStats(
  prompt: PromptDef,
  x: Experiment,
  name: string,
  t: Readonly<Record<string, number>>,
  share: number,
  labelled: number,
): VariantStats {
  const g = (k: string) => t[k] ?? 0;
  const v = x.variants.find((candidate) => candidate.name === name);
  const version = v?.version ?? labelled;
  const requests = g("requests");
  const cost = g("cost_usd");
  const outcomes: VariantStats["outcomes"] = {};
  for (const metric of Object.keys(prompt.file.metrics ?? {})) {
    const n = g(`m:${metric}:n`);
    const successes = g(`m:${metric}:success`);
    outcomes[metric] = {
      n,
      mean: n ? g(`m:${metric}:sum`) / n : null,
      successes,
      costPerSuccessUsd: successes ? cost / successes : null,
    };
  }
  const byFeature: VariantStats["byFeature"] = {};
  for (const key of Object.keys(t)) {
    const m = /^f:([^:]+):requests$/.exec(key);
    if (!m) continue;
    const f = m[1]!;
    const fCost = g(`f:${f}:cost_usd`);
    const successes: Record<string, number> = {};
    const perSuccess: Record<string, number | null> = {};
    for (const metric of Object.keys(prompt.file.metrics ?? {})) {
      successes[metric] = g(`f:${f}:m:${metric}:success`);
      perSuccess[metric] = successes[metric] ? fCost / successes[metric] : null;
    }
    byFeature[f] = { requests: g(key), costUsd: fCost, successes, costPerSuccessUsd: perSuccess };
  }
  const buckets = LATENCY_BOUNDS.map((_, i) => g(`lat_le_${i}`));
  return {
    name,
    version,
    model: v?.model ?? prompt.versions.get(version)!.file.models[0]!,
    share,
    requests,
    errors: g("errors"),
    errorRate: requests ? g("errors") / requests : null,
    clientErrors: g("client_errors"),
    pregenerated: g("pregenerated"),
    latencyMs: {
      mean: requests ? g("latency_ms") / requests : null,
      p50: bucketQuantile(LATENCY_BOUNDS, buckets, 0.5),
      p95: bucketQuantile(LATENCY_BOUNDS, buckets, 0.95),
    },
    tokens: { input: g("tokens_in"), output: g("tokens_out") },
    costUsd: cost,
    costPerRequestUsd: requests ? cost / requests : null,
    outcomes,
    byFeature,
  };
}

export interface Comparison {
  variant: string;
  control: string;
  n: { control: number; variant: number };
  mean: { control: number; variant: number };
  sequential: SequentialTest & { alpha: number; samplesStillNeeded: number | null };
  bayesian: { probabilityBetter: number } | undefined;
  decision: "better" | "worse" | "inconclusive";
}

export interface ExperimentReport {
  experiment: string;
  prompt: string;
  label: string;
  holdout: number;
  metric: { name: string; type: "boolean" | "float"; optimize: "max" | "min"; mde: number };
  control: string;
  variants: VariantStats[];
  comparisons: Comparison[];
  conclusion: Conclusion | null;
  stopRule: Experiment["stop"] | null;
}

/**
 * The stop rule: every compared variant has its minimum sample, and a treatment beats the control (the best of those
 * that do wins), or every treatment is worse than it (the control wins). Undefined: go on.
 */
export function stopDecision(
  report: ExperimentReport,
  minSamples: number,
): { name: string; reason: string } | undefined {
  const { comparisons, metric } = report;
  if (comparisons.length === 0) return undefined;
  if (comparisons.some((c) => c.n.control < minSamples || c.n.variant < minSamples)) return undefined;
  const better = comparisons.filter((c) => c.decision === "better");
  if (better.length) {
    const best = better.reduce((a, b) =>
      (metric.optimize === "max" ? b.mean.variant > a.mean.variant : b.mean.variant < a.mean.variant) ? b : a,
    );
    return {
      name: best.variant,
      reason: `${best.variant} beats ${best.control} on ${metric.name} (always-valid p = ${best.sequential.pValue.toPrecision(3)})`,
    };
  }
  if (comparisons.every((c) => c.decision === "worse")) {
    return { name: report.control, reason: `every variant is worse than ${report.control} on ${metric.name}` };
  }
  return undefined;
}
