/**
 * Embeddings to Vertex and back: an embedding request (embed-request.ts) becomes the Vertex calls its model takes,
 * and their answers become the one answer the client's API promises — one vector per input, in input order.
 *
 * The model's Vertex method and how many inputs one call takes are data (wire/models.ts): gemini-embedding-001 is
 * embedded by `predict`, one instance per call; gemini-embedding-2 by `embedContent`, one content per call (all of a
 * content's parts make one vector, so several inputs are never merged into one content: that is how peers answered
 * N inputs with one vector, LiteLLM #38823). A request with more inputs than one call takes is fanned out, one call
 * per group of inputs, by the gather stage (gather.ts); docs/decisions/0016 says why it is fanned out, not refused.
 *
 * When the client called the model's own Vertex method, each call is the client's request as sent (field names
 * normalised), split per call: fields the gateway does not know still reach Vertex. Otherwise the request is
 * translated, and settings Vertex's method has no place for are not sent.
 *
 * Every answer is checked: a call that answers another number of vectors than it was given inputs is a malformed
 * answer (502), never a short list.
 */
import type { EmbedContentResponseWire, ModalityTokenCount, PredictResponseWire } from "../wire/embeddings.js";
import { errors } from "../wire/errors.js";
import type { UsageMetadataWire } from "../wire/gemini.js";
import { embeddingSpec } from "../wire/models.js";
import type { Surface } from "./call.js";
import type { EmbedBatch, EmbedInput } from "./embed-request.js";
import type { GatherPlan, UpstreamCall } from "./gather.js";
import type { ValidatedBody } from "./validate.js";

/** One vector and what Vertex said about its input. */
export interface EmbedResult {
  values: number[];
  tokenCount: number;
  truncated: boolean;
  /** Tokens by modality (embedContent answers); undefined when the answer had none. */
  details: ModalityTokenCount[] | undefined;
}

/** The Vertex calls of an embedding request for `model`, and how their answers make the client's answer. */
export function embedPlan(body: ValidatedBody, model: string, surface: Surface): GatherPlan {
  const batch = body.embed!;
  const spec = embeddingSpec(model)!;
  const own = surface === "vertex" && batch.method === spec.vertex.method;
  const groups = groupInputs(batch, spec.vertex.inputsPerCall, own);
  const calls: UpstreamCall[] = groups.map((g) => ({
    method: spec.vertex.method,
    inputs: g.length,
    body: Buffer.from(
      JSON.stringify(
        spec.vertex.method === "predict" ? predictBody(batch, g, own) : embedContentBody(batch, g[0]!, own),
      ),
    ),
  }));
  return {
    calls,
    answer(bodies) {
      const results: EmbedResult[] = [];
      let billableCharacters: number | undefined;
      bodies.forEach((b, i) => {
        const read = readAnswer(calls[i]!, b);
        results.push(...read.results);
        if (read.billableCharacters !== undefined)
          billableCharacters = (billableCharacters ?? 0) + read.billableCharacters;
      });
      // The client called the model's own method, in one call: Vertex's answer is the answer, as it came.
      const out =
        own && bodies.length === 1 ? bodies[0]! : clientAnswer(batch.method, surface, results, billableCharacters);
      return { body: out, usage: usageOf(results) };
    },
    spent(bodies) {
      const results: EmbedResult[] = [];
      bodies.forEach((b, i) => {
        if (!b) return;
        try {
          results.push(...readAnswer(calls[i]!, b).results);
        } catch {
          // a malformed answer is not counted
        }
      });
      return results.length ? usageOf(results) : undefined;
    },
  };
}

/** Inputs per call, in order; translated predict calls share one outputDimensionality per call. */
function groupInputs(batch: EmbedBatch, perCall: number, own: boolean): number[][] {
  const groups: number[][] = [];
  let current: number[] = [];
  batch.inputs.forEach((input, i) => {
    const first = current.length ? batch.inputs[current[0]!]! : undefined;
    const fits =
      current.length < perCall && (own || !first || first.outputDimensionality === input.outputDimensionality);
    if (!fits) {
      groups.push(current);
      current = [];
    }
    current.push(i);
  });
  if (current.length) groups.push(current);
  return groups;
}

function predictBody(batch: EmbedBatch, group: number[], own: boolean): Record<string, unknown> {
  if (own) {
    const instances = batch.request.instances as unknown[];
    return { ...batch.request, instances: group.map((i) => instances[i]) };
  }
  const first = batch.inputs[group[0]!]!;
  const parameters = defined({ outputDimensionality: first.outputDimensionality, autoTruncate: batch.autoTruncate });
  return {
    instances: group.map((i) => {
      const input = batch.inputs[i]!;
      return defined({ content: textOf(input), task_type: input.taskType, title: input.title });
    }),
    ...(Object.keys(parameters).length ? { parameters } : {}),
  };
}

function embedContentBody(batch: EmbedBatch, index: number, own: boolean): Record<string, unknown> {
  if (own) return batch.request;
  const input = batch.inputs[index]!;
  const config = defined({
    taskType: input.taskType,
    title: input.title,
    outputDimensionality: input.outputDimensionality,
    autoTruncate: batch.autoTruncate,
  });
  return { content: input.content, ...(Object.keys(config).length ? { embedContentConfig: config } : {}) };
}

/** A text-only model's instance is one string: the content's text parts, joined by newlines. */
function textOf(input: EmbedInput): string {
  return input.content.parts
    .map((p) => p.text)
    .filter((t): t is string => typeof t === "string")
    .join("\n");
}

/** The vectors of one call's answer; 502 when it is not the answer its method promises for its inputs. */
function readAnswer(call: UpstreamCall, body: Buffer): { results: EmbedResult[]; billableCharacters?: number } {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString("utf8"));
  } catch {
    throw errors.upstreamBroken(`the ${call.method} answer is not JSON`);
  }
  if (call.method === "predict") {
    const answer = doc as Partial<PredictResponseWire> | null;
    const predictions = Array.isArray(answer?.predictions) ? answer.predictions : [];
    if (predictions.length !== call.inputs) {
      throw errors.upstreamBroken(`predict answered ${predictions.length} vectors for ${call.inputs} inputs`);
    }
    return {
      results: predictions.map((p) => {
        const stats = (p?.embeddings?.statistics ?? {}) as {
          token_count?: unknown;
          tokenCount?: unknown;
          truncated?: unknown;
        };
        return {
          values: vectorOf(p?.embeddings?.values, call.method),
          tokenCount: count(stats.token_count ?? stats.tokenCount),
          truncated: stats.truncated === true,
          details: undefined,
        };
      }),
      billableCharacters:
        typeof answer?.metadata?.billableCharacterCount === "number"
          ? answer.metadata.billableCharacterCount
          : undefined,
    };
  }
  const answer = doc as Partial<EmbedContentResponseWire> | null;
  if (call.inputs !== 1) throw errors.internal();
  return {
    results: [
      {
        values: vectorOf(answer?.embedding?.values, call.method),
        tokenCount: count(answer?.usageMetadata?.promptTokenCount),
        truncated: answer?.truncated === true,
        details: Array.isArray(answer?.usageMetadata?.promptTokensDetails)
          ? answer.usageMetadata.promptTokensDetails
          : undefined,
      },
    ],
  };
}

function vectorOf(values: unknown, method: string): number[] {
  if (!Array.isArray(values) || values.length === 0 || !values.every((v) => typeof v === "number")) {
    throw errors.upstreamBroken(`the ${method} answer has no embedding vector`);
  }
  return values as number[];
}

/** The answer in the shape of the method the client called (embedContent: the surface's own shape). */
function clientAnswer(
  method: EmbedBatch["method"],
  surface: Surface,
  results: readonly EmbedResult[],
  billableCharacters: number | undefined,
): Buffer {
  let answer: unknown;
  if (method === "batchEmbedContents") {
    answer = { embeddings: results.map((r) => ({ values: r.values })) };
  } else if (method === "predict") {
    answer = {
      predictions: results.map((r) => ({
        embeddings: { values: r.values, statistics: { truncated: r.truncated, token_count: r.tokenCount } },
      })),
      ...(billableCharacters !== undefined ? { metadata: { billableCharacterCount: billableCharacters } } : {}),
    };
  } else if (surface === "vertex") {
    const r = results[0]!;
    answer = {
      embedding: { values: r.values },
      usageMetadata: defined({
        promptTokenCount: r.tokenCount,
        totalTokenCount: r.tokenCount,
        promptTokensDetails: r.details,
      }),
      truncated: r.truncated,
    };
  } else {
    answer = { embedding: { values: results[0]!.values } };
  }
  return Buffer.from(JSON.stringify(answer));
}

/** What the call used, for accounting: every input's tokens as prompt tokens, by modality where Vertex said. */
export function usageOf(results: readonly EmbedResult[]): UsageMetadataWire {
  let total = 0;
  const byModality = new Map<string, number>();
  for (const r of results) {
    total += r.tokenCount;
    for (const d of r.details ?? [])
      byModality.set(d.modality, (byModality.get(d.modality) ?? 0) + count(d.tokenCount));
  }
  const usage: UsageMetadataWire = { promptTokenCount: total, totalTokenCount: total };
  if (byModality.size) {
    usage.promptTokensDetails = [...byModality].map(([modality, tokenCount]) => ({
      modality: modality as NonNullable<UsageMetadataWire["promptTokensDetails"]>[number]["modality"],
      tokenCount,
    }));
  }
  return usage;
}

function count(n: unknown): number {
  return typeof n === "number" && Number.isFinite(n) && n > 0 ? n : 0;
}

/** The object without its undefined members. */
function defined<T extends Record<string, unknown>>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const k in o) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
