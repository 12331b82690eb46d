/**
 * A prompt call, resolved: which version and variant answer this caller, the Gemini request rendered from the
 * template and the caller's variables, the model, the reviewed fallback answer (critical prompts), and the headers
 * that say what answered. The surfaces (surfaces/prompts/) call this from their `decodeBody`; from there on a prompt
 * call is an ordinary generateContent or streamGenerateContent call, so quota, cache, cost, audit and metrics are the
 * native ones.
 *
 *   ref      = name | name@label | name@<version number>      (no suffix: the production label)
 *   label    → its version: the store's move if any, else prompt.json (state.ts)
 *   version pinned by number → that version on its default model, outside any experiment
 *   label with an experiment → the variant of this caller (assign.ts): sticky per subject, the `x-gateway-subject`
 *              header, else the tenant; the winner for everyone once the experiment concluded; the variant named in
 *              `x-gateway-prompt-variant` when the caller forces one (evaluation, QA: kept out of the statistics)
 */
import { createHash } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { CacheEntry } from "../cache/response-cache.js";
import type { PromptTag } from "../telemetry/call-record.js";
import { errors, GatewayError } from "../wire/errors.js";
import { HOLDOUT, pointOf, variantAt } from "./assign.js";
import type { PromptDef, PromptRegistry, PromptVersion } from "./registry.js";
import { LABEL_PATTERN, type FallbackSpec } from "./schema.js";
import type { PromptState } from "./state.js";
import { checkVariables, render, type VariableValue } from "./template.js";

export const SUBJECT_HEADER = "x-gateway-subject";
export const VARIANT_HEADER = "x-gateway-prompt-variant";
export const PROMPT_HEADER = "x-gateway-prompt";
export const VERSION_HEADER = "x-gateway-prompt-version";
export const EXPERIMENT_HEADER = "x-gateway-experiment";

const SUBJECT = /^[A-Za-z0-9._:@|=+/-]{1,128}$/;

export interface PromptCall {
  model: string;
  /** The Gemini generateContent request, rendered. */
  request: Record<string, unknown>;
  tag: PromptTag;
  /** The reviewed answer for these variables, as an answer the pipeline can serve (critical prompts only). */
  pregenerated: CacheEntry | undefined;
  headers: Record<string, string>;
}

export interface ResolveContext {
  tenant: string;
  headers: IncomingHttpHeaders;
}

export interface PromptResolver {
  resolve(ref: string, variables: unknown, ctx: ResolveContext): Promise<PromptCall>;
  /** The version a label gives now, and where it comes from. */
  labelVersion(prompt: PromptDef, label: string): Promise<{ version: number; source: "store" | "file" }>;
}

export function createPromptResolver(registry: PromptRegistry, state: PromptState): PromptResolver {
  async function labelVersion(prompt: PromptDef, label: string) {
    const move = await state.labelMove(prompt.name, label);
    if (move && prompt.versions.has(move.version)) return { version: move.version, source: "store" as const };
    const version = prompt.file.labels[label];
    if (version === undefined) throw notFound(`label ${label} of prompt ${prompt.name}`);
    return { version, source: "file" as const };
  }

  return {
    labelVersion,
    async resolve(ref, variables, ctx) {
      const at = ref.indexOf("@");
      const name = at < 0 ? ref : ref.slice(0, at);
      const suffix = at < 0 ? "production" : ref.slice(at + 1);
      const prompt = registry.prompts.get(name);
      if (!prompt) throw notFound(`prompt ${name}`);
      const forced = headerValue(ctx.headers[VARIANT_HEADER]);

      let version: PromptVersion;
      let variant: string;
      let experiment: string | undefined;
      let model: string | undefined;
      let extraConfig: Record<string, unknown> | undefined;
      if (/^[1-9][0-9]{0,5}$/.test(suffix)) {
        version = versionOf(prompt, Number(suffix));
        variant = `v${version.version}`;
        if (forced !== undefined)
          throw badHeader(VARIANT_HEADER, "a call pinned to a version takes part in no experiment");
      } else {
        if (!LABEL_PATTERN.test(suffix)) throw notFound(`label ${suffix.slice(0, 40)} of prompt ${name}`);
        const labelled = versionOf(prompt, (await labelVersion(prompt, suffix)).version);
        const x = prompt.experiment?.label === suffix ? prompt.experiment : undefined;
        if (!x) {
          version = labelled;
          variant = `v${version.version}`;
          if (forced !== undefined) throw badHeader(VARIANT_HEADER, `label ${suffix} of ${name} runs no experiment`);
        } else {
          experiment = x.name;
          if (forced !== undefined) {
            if (forced !== HOLDOUT && !x.variants.some((v) => v.name === forced)) {
              throw badHeader(VARIANT_HEADER, `${forced.slice(0, 64)} is not a variant of experiment ${x.name}`);
            }
            variant = forced;
          } else {
            const concluded = await state.conclusion(x.name);
            variant = concluded?.winner ?? variantAt(x, pointOf(x.name, ctx.tenant, subjectOf(ctx)));
          }
          const v = x.variants.find((candidate) => candidate.name === variant);
          version = v ? versionOf(prompt, v.version) : labelled; // the holdout gets the label's version
          model = v?.model;
          extraConfig = v?.generationConfig;
        }
      }
      const promptRef = `${name}@${version.version}`;
      const values = checkVariables(version.file.variables, variables, promptRef);
      const f = version.file;
      model ??= f.models[0]!;
      const request: Record<string, unknown> = {
        contents: [{ role: "user", parts: [{ text: render(f.user, values) }] }],
      };
      if (f.system !== undefined) request.systemInstruction = { parts: [{ text: render(f.system, values) }] };
      const generationConfig = { ...f.generationConfig, ...extraConfig };
      if (Object.keys(generationConfig).length) request.generationConfig = generationConfig;
      const answer = f.fallback && fallbackAnswer(f.fallback, values);
      const headers: Record<string, string> = {
        [PROMPT_HEADER]: name,
        [VERSION_HEADER]: String(version.version),
        [VARIANT_HEADER]: variant,
      };
      if (experiment) headers[EXPERIMENT_HEADER] = experiment;
      return {
        model,
        request,
        tag: {
          name,
          version: version.version,
          variant,
          experiment,
          forced: forced !== undefined,
          pregenerated: false,
        },
        pregenerated: answer === undefined ? undefined : pregeneratedEntry(answer, model, promptRef),
        headers,
      };
    },
  };
}

/** The answer for these variables: the first case whose `when` they all match, else the default answer. */
export function fallbackAnswer(
  fallback: FallbackSpec,
  values: Readonly<Record<string, VariableValue>>,
): string | undefined {
  const matched = fallback.cases?.find((c) => Object.entries(c.when).every(([k, v]) => values[k] === v));
  return matched?.answer ?? fallback.answer;
}

/** A reviewed answer as a Gemini response, served like a cached one (free: no tokens, no cost). */
export function pregeneratedEntry(answer: string, model: string, promptRef: string): CacheEntry {
  const id = createHash("sha256").update(`${promptRef}\u0000${answer}`).digest("hex").slice(0, 24);
  const response = {
    candidates: [{ content: { role: "model", parts: [{ text: answer }] }, finishReason: "STOP", index: 0 }],
    modelVersion: model,
    responseId: `pregenerated-${id}`,
  };
  return { chunks: [JSON.stringify(response)], model, usage: undefined, costUsd: undefined, storedAt: Date.now() };
}

function subjectOf(ctx: ResolveContext): string {
  const subject = headerValue(ctx.headers[SUBJECT_HEADER]);
  if (subject === undefined) return `tenant:${ctx.tenant}`;
  if (!SUBJECT.test(subject)) {
    throw badHeader(SUBJECT_HEADER, "must be 1 to 128 letters, digits or ._:@|=+/- (hash user ids you cannot send)");
  }
  return `subject:${subject}`;
}

function versionOf(prompt: PromptDef, n: number): PromptVersion {
  const v = prompt.versions.get(n);
  if (!v) throw notFound(`version ${n} of prompt ${prompt.name}`);
  return v;
}

function headerValue(h: string | string[] | undefined): string | undefined {
  if (Array.isArray(h)) throw errors.invalidArgument("A prompt header was sent more than once.");
  return h === undefined || h === "" ? undefined : h;
}

function notFound(what: string): GatewayError {
  return new GatewayError(404, "NOT_FOUND", `No ${what}.`);
}

function badHeader(name: string, why: string): GatewayError {
  return errors.invalidArgument(`The ${name} header ${why}.`);
}
