/**
 * Stage: validate, for embedding operations. Whichever API the client spoke — the Developer API's `embedContent` or
 * `batchEmbedContents`, Vertex's `predict` or `embedContent` (wire/embeddings.ts) — its request becomes one list of
 * inputs, each one content to embed with its own task type, title and output size, checked against the model's
 * limits from the catalogue (wire/models.ts). Every refusal is a 400 naming the input and the limit:
 *
 * - more inputs than the model takes in one request (100: the Developer API's batch limit, applied on every surface);
 * - an input with nothing to embed (no text, no data), or with media parts for a text-only model;
 * - `outputDimensionality` below 1 or above the model's dimensions (Google recommends 768, 1536 or 3072 and lists
 *   128 as the smallest supported size, yet its own API sample asks for 10: only what cannot be is refused);
 * - with `autoTruncate: false`, an input estimated (text / 4) over the model's input token limit — Google would
 *   refuse it too. By default Google truncates long inputs and says so (`truncated`), so the gateway does not refuse
 *   them, and reserves at most the limit per input for admission (docs/decisions/0016).
 */
import { estimateTokens, type TokenEstimate } from "../accounting/estimate.js";
import {
  BatchEmbedContentsRequestSchema,
  EmbedContentRequestSchema,
  PredictRequestSchema,
  type EmbedContentRequest,
} from "../wire/embeddings.js";
import { errors } from "../wire/errors.js";
import { describeIssues, type Content, type Part } from "../wire/gemini.js";
import { embeddingSpec, modelInfo } from "../wire/models.js";
import { parseRequest, type ValidatedBody } from "./validate.js";

/** The embedding methods a client may call (operation names). */
export type EmbedMethod = "embedContent" | "batchEmbedContents" | "predict";

/** One content to embed into one vector, with its settings. */
export interface EmbedInput {
  content: Content;
  taskType: string | undefined;
  title: string | undefined;
  outputDimensionality: number | undefined;
}

/** An embedding request, whichever API it came in: its inputs in order. */
export interface EmbedBatch {
  /** The method the client called. */
  method: EmbedMethod;
  inputs: EmbedInput[];
  /** Vertex's switch (the Developer API has none, and Google truncates there). */
  autoTruncate: boolean | undefined;
  /**
   * The client's request as parsed, field names normalised: what goes upstream, split per call, when the client
   * called the model's own Vertex method (every field of it kept, known to the gateway or not).
   */
  request: Record<string, unknown>;
}

/** Parses and checks an embedding request for `model` (an embedding model of the catalogue: resolve checked it). */
export function validateEmbed(method: EmbedMethod, received: Buffer, model: string): ValidatedBody {
  const { raw, record } = parseRequest(
    received,
    method === "batchEmbedContents"
      ? "BatchEmbedContentsRequest"
      : method === "predict"
        ? "PredictRequest"
        : "EmbedContentRequest",
  );
  const batch = decode(method, record, model);
  checkLimits(batch, model);
  return {
    method,
    raw,
    // The contents, one per input, as a generate request holds them: what the audit fingerprint and estimates read.
    doc: { contents: batch.inputs.map((i) => i.content) },
    rewritten: undefined,
    embed: batch,
  };
}

/**
 * Tokens an embedding request may use, for admission: its inputs only (an embedding has no output tokens), each at
 * most the model's input limit, since longer inputs are truncated (or were refused).
 */
export function estimateEmbed(
  doc: Readonly<Record<string, unknown>>,
  _defaultOutput: number,
  model: string,
): TokenEstimate {
  const limit = modelInfo(model)?.inputTokenLimit ?? Infinity;
  let prompt = 0;
  for (const content of (doc.contents as unknown[] | undefined) ?? []) {
    prompt += Math.min(limit, estimateTokens({ contents: [content] }, 0).prompt);
  }
  return { prompt, output: 0, total: prompt };
}

function decode(method: EmbedMethod, record: Record<string, unknown>, model: string): EmbedBatch {
  if (method === "predict") {
    const parsed = PredictRequestSchema.safeParse(record);
    if (!parsed.success) throw errors.invalidArgument(`Invalid predict request: ${describeIssues(parsed.error)}`);
    const dims = parsed.data.parameters?.outputDimensionality;
    return {
      method,
      inputs: parsed.data.instances.map((instance) => ({
        content: { role: "user", parts: [{ text: instance.content }] },
        taskType: instance.task_type ?? instance.taskType,
        title: instance.title,
        outputDimensionality: dims,
      })),
      autoTruncate: parsed.data.parameters?.autoTruncate,
      request: record,
    };
  }
  if (method === "embedContent") {
    const parsed = EmbedContentRequestSchema.safeParse(record);
    if (!parsed.success) throw errors.invalidArgument(`Invalid embedContent request: ${describeIssues(parsed.error)}`);
    checkModelField(parsed.data.model, model, "model");
    const { input, autoTruncate } = inputOf(parsed.data, "");
    return { method, inputs: [input], autoTruncate, request: record };
  }
  const parsed = BatchEmbedContentsRequestSchema.safeParse(record);
  if (!parsed.success)
    throw errors.invalidArgument(`Invalid batchEmbedContents request: ${describeIssues(parsed.error)}`);
  let autoTruncate: boolean | undefined;
  const inputs = parsed.data.requests.map((r, i) => {
    checkModelField(r.model, model, `requests[${i}].model`);
    const one = inputOf(r, `requests[${i}].`);
    autoTruncate ??= one.autoTruncate;
    return one.input;
  });
  return { method, inputs, autoTruncate, request: record };
}

/**
 * One embedContent request's input. Vertex moved the settings into `embedContentConfig` and still takes them at the
 * top level (deprecated); one setting in both places with two values is ambiguous: a 400.
 */
function inputOf(r: EmbedContentRequest, at: string): { input: EmbedInput; autoTruncate: boolean | undefined } {
  const config = r.embedContentConfig ?? {};
  const pick = <K extends "taskType" | "title" | "outputDimensionality" | "autoTruncate">(key: K) => {
    const top = r[key];
    const inConfig = config[key];
    if (top !== undefined && inConfig !== undefined && top !== inConfig) {
      throw errors.invalidArgument(
        `${at}${key} is set both at the top level (deprecated) and in ${at}embedContentConfig, with different ` +
          "values; send it once, in embedContentConfig.",
      );
    }
    return inConfig ?? top;
  };
  return {
    input: {
      content: r.content,
      taskType: pick("taskType"),
      title: pick("title"),
      outputDimensionality: pick("outputDimensionality"),
    },
    autoTruncate: pick("autoTruncate"),
  };
}

/** A request may name its model (`models/{m}`); Google requires it to be the path's. */
function checkModelField(named: string | undefined, model: string, field: string): void {
  if (named === undefined) return;
  const id = named.replace(/^(?:models\/|publishers\/google\/models\/)/, "");
  if (id !== model) {
    throw errors.invalidArgument(
      `${field} is "${named.slice(0, 128)}" but the request is for model "${model}": each request of a batch must be ` +
        "for the model in the path.",
    );
  }
}

function checkLimits(batch: EmbedBatch, model: string): void {
  const spec = embeddingSpec(model)!;
  const info = modelInfo(model)!;
  const where = (i: number) =>
    batch.method === "batchEmbedContents"
      ? `requests[${i}]`
      : batch.method === "predict"
        ? `instances[${i}]`
        : "the content";
  if (batch.inputs.length > spec.maxInputsPerRequest) {
    throw errors.invalidArgument(
      `The request has ${batch.inputs.length} inputs; ${model} takes at most ${spec.maxInputsPerRequest} per request. ` +
        `Split it into requests of ${spec.maxInputsPerRequest} or fewer.`,
    );
  }
  batch.inputs.forEach((input, i) => {
    let text = 0;
    let media = 0;
    for (const part of input.content.parts) {
      if (typeof part.text === "string") text += part.text.trim().length;
      else if (!spec.multimodal) {
        throw errors.invalidArgument(
          `${where(i)} has a ${partKind(part)} part; ${model} embeds text only (parts with "text").`,
        );
      } else media++;
    }
    if (text === 0 && media === 0) {
      throw errors.invalidArgument(`${where(i)} has nothing to embed: its content is empty. Send non-empty text.`);
    }
    const dims = input.outputDimensionality;
    if (dims !== undefined && (dims < 1 || dims > spec.dimensions)) {
      throw errors.invalidArgument(
        `outputDimensionality ${dims} of ${where(i)} is out of range: ${model} makes vectors of 1 to ` +
          `${spec.dimensions} dimensions (Google recommends 768, 1536 or ${spec.dimensions}).`,
      );
    }
    if (batch.autoTruncate === false) {
      const tokens = estimateTokens({ contents: [input.content] }, 0).prompt;
      if (tokens > info.inputTokenLimit) {
        throw errors.invalidArgument(
          `${where(i)} has about ${tokens} tokens (estimated at 4 characters a token); ${model} takes at most ` +
            `${info.inputTokenLimit} tokens per input, and autoTruncate is false. Shorten it, or let it be truncated.`,
        );
      }
    }
  });
}

function partKind(part: Part): string {
  const kind = Object.keys(part).find((k) => k !== "thought" && k !== "thoughtSignature");
  return kind ? `"${kind}"` : "non-text";
}
