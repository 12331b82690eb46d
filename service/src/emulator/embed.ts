/**
 * Embeddings, as Google answers them, deterministically: the Developer API's `embedContent` and `batchEmbedContents`
 * and Vertex's `predict` and `embedContent` (wire/embeddings.ts), for the embedding models of the catalogue
 * (wire/models.ts), each only on the Vertex method its catalogue entry names (gemini-embedding-001: `predict`, one
 * instance per request; gemini-embedding-2: `embedContent`, one content).
 *
 * A vector is made of hashed word features plus a small pseudo-random component drawn from a SHA-256 of the model,
 * task type, title and content (vectorOf): the same input always gets the same vector, different inputs different
 * ones, and texts that share content words score a high cosine similarity while unrelated texts score near 0 — so
 * similarity checks (the evaluation tool, tools/eval) mean something without a model. It has the model's full dimensions (3072) and unit length;
 * `outputDimensionality` keeps its first n values without normalising them again, as Google documents for its
 * models ("the 3072 dimension embedding is normalized; normalize smaller ones yourself"). Tokens are the emulator's
 * (tokens.ts): text / 4; an input over the model's input token limit is truncated (`truncated: true`, the limit
 * counted) unless `autoTruncate` is false, which is a 400.
 */
import { createHash } from "node:crypto";
import {
  BatchEmbedContentsRequestSchema,
  EmbedContentRequestSchema,
  PredictRequestSchema,
  type EmbedContentRequest,
} from "../wire/embeddings.js";
import { errors, GatewayError } from "../wire/errors.js";
import { normaliseFieldNames } from "../wire/field-names.js";
import { describeIssues, type Content } from "../wire/gemini.js";
import { embeddingSpec, modelInfo, type EmbeddingSpec } from "../wire/models.js";
import { endCall, failCall, type Call } from "./http.js";
import type { ModelRoute } from "./routes.js";
import { delayMs } from "./state.js";
import { countPrompt } from "./tokens.js";
import { contentWords } from "./words.js";

export const EMBED_METHODS: ReadonlySet<string> = new Set(["embedContent", "batchEmbedContents", "predict"]);

interface Input {
  content: Content;
  taskType: string | undefined;
  title: string | undefined;
  outputDimensionality: number | undefined;
}

interface Embedded {
  values: number[];
  tokens: number;
  truncated: boolean;
  details: { modality: string; tokenCount: number }[];
  billableCharacters: number;
}

export function handleEmbed(call: Call, r: ModelRoute): void {
  const spec = embeddingSpec(r.model)!;
  let json: unknown;
  try {
    json = JSON.parse(call.body);
  } catch (e) {
    return failCall(call, errors.invalidJson(e instanceof Error ? e.message : "The body is not JSON."));
  }
  let inputs: Input[];
  let autoTruncate: boolean | undefined;
  try {
    ({ inputs, autoTruncate } = decode(r, json, spec));
  } catch (e) {
    return failCall(call, e instanceof GatewayError ? e : errors.invalidArgument(String(e)));
  }
  const limit = modelInfo(r.model)!.inputTokenLimit;
  const out: Embedded[] = [];
  for (const [i, input] of inputs.entries()) {
    const dims = input.outputDimensionality ?? spec.dimensions;
    if (dims < 1 || dims > spec.dimensions) {
      return failCall(call, invalid(`outputDimensionality must be between 1 and ${spec.dimensions}, got ${dims}.`));
    }
    const count = countPrompt([input.content], undefined, undefined, true);
    if (count.total === 0) return failCall(call, invalid(`The content of input ${i} is empty.`));
    if (count.total > limit && autoTruncate === false) {
      return failCall(
        call,
        invalid(`Input ${i} has ${count.total} tokens, more than the ${limit} allowed, and autoTruncate is false.`),
      );
    }
    out.push({
      values: vectorOf(r.model, input, spec.dimensions).slice(0, dims),
      tokens: Math.min(count.total, limit),
      truncated: count.total > limit,
      details: count.details,
      billableCharacters: count.billableCharacters,
    });
  }
  const tokens = out.reduce((n, e) => n + e.tokens, 0);
  const refused = quotaRefusal(call, tokens);
  if (refused) return failCall(call, refused);
  const body = JSON.stringify(answerOf(r, out));
  const send = () => {
    call.timer = undefined;
    if (call.finished || call.res.destroyed) return;
    call.state.stats.addInput(tokens);
    endCall(call, 200, body);
  };
  const wait = delayMs(call.state, call.state.settings.latency.firstTokenMs);
  if (wait > 0) call.timer = setTimeout(send, wait);
  else send();
}

function invalid(why: string): GatewayError {
  return errors.invalidArgument(`Request contains an invalid argument: ${why}`);
}

function decode(r: ModelRoute, json: unknown, spec: EmbeddingSpec): { inputs: Input[]; autoTruncate?: boolean } {
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw invalid("the body must be an object.");
  const doc = json as Record<string, unknown>;
  if (r.method === "predict") {
    const parsed = PredictRequestSchema.safeParse(doc);
    if (!parsed.success) throw invalid(describeIssues(parsed.error));
    if (parsed.data.instances.length > spec.vertex.inputsPerCall) {
      // Vertex's wording is unconfirmed; the limit is documented ("gemini-embedding-001 supports one instance").
      throw invalid(
        `${r.model} supports ${spec.vertex.inputsPerCall} instance(s) per request, got ${parsed.data.instances.length}.`,
      );
    }
    const p = parsed.data.parameters;
    return {
      inputs: parsed.data.instances.map((x) => ({
        content: { role: "user", parts: [{ text: x.content }] },
        taskType: x.task_type ?? x.taskType,
        title: x.title,
        outputDimensionality: p?.outputDimensionality,
      })),
      autoTruncate: p?.autoTruncate,
    };
  }
  if (r.method === "batchEmbedContents") {
    const normalised = normaliseFieldNames(doc, "BatchEmbedContentsRequest").doc;
    const parsed = BatchEmbedContentsRequestSchema.safeParse(normalised);
    if (!parsed.success) throw invalid(describeIssues(parsed.error));
    if (parsed.data.requests.length > spec.maxInputsPerRequest) {
      // The Developer API's own message, as clients report it.
      throw errors.invalidArgument(
        `* BatchEmbedContentsRequest.requests: at most ${spec.maxInputsPerRequest} requests can be in one batch\n`,
      );
    }
    for (const req of parsed.data.requests) {
      if (req.model !== undefined && req.model !== `models/${r.model}` && req.model !== r.model) {
        throw invalid(`the model of each request must be models/${r.model}, got ${req.model.slice(0, 100)}.`);
      }
    }
    return { inputs: parsed.data.requests.map((q) => inputOf(q, spec)) };
  }
  const normalised = normaliseFieldNames(doc, "EmbedContentRequest").doc;
  const parsed = EmbedContentRequestSchema.safeParse(normalised);
  if (!parsed.success) throw invalid(describeIssues(parsed.error));
  return {
    inputs: [inputOf(parsed.data, spec)],
    autoTruncate: parsed.data.embedContentConfig?.autoTruncate ?? parsed.data.autoTruncate,
  };
}

function inputOf(q: EmbedContentRequest, spec: EmbeddingSpec): Input {
  if (!spec.multimodal && q.content.parts.some((p) => typeof p.text !== "string")) {
    throw invalid("this model embeds text parts only.");
  }
  const c = q.embedContentConfig;
  return {
    content: q.content,
    taskType: c?.taskType ?? q.taskType,
    title: c?.title ?? q.title,
    outputDimensionality: c?.outputDimensionality ?? q.outputDimensionality,
  };
}

/**
 * Share of a vector's length (squared) given to its hashed word features; the rest is a pseudo-random direction drawn
 * from the whole input (model, task type, title, parts), which keeps different inputs different even when they share
 * every content word, and nonzero in every dimension once truncated (outputDimensionality).
 */
const FEATURE_WEIGHT = Math.sqrt(0.95);
const NOISE_WEIGHT = Math.sqrt(0.05);

/**
 * A unit vector of `dims` values, a function of the model and the input only: hashed word features (the signed
 * hashing trick: each content word, and each pair of neighbouring words at half weight, adds ±(1 + ln tf) to the
 * dimension its hash picks), normalised, plus a small pseudo-random component. Texts that share content words
 * ("refunds within 30 days" / "a refund in 30 days") point the same way; texts that share none are nearly orthogonal.
 */
export function vectorOf(model: string, input: Input, dims: number): number[] {
  const features = new Float64Array(dims);
  const text = [input.title ?? "", ...input.content.parts.map((p) => (typeof p.text === "string" ? p.text : ""))];
  const counts = new Map<string, number>();
  for (const t of text) {
    const words = contentWords(t);
    words.forEach((w, i) => {
      counts.set(w, (counts.get(w) ?? 0) + 1);
      if (i > 0) counts.set(`${words[i - 1]} ${w}`, (counts.get(`${words[i - 1]} ${w}`) ?? 0) + 0.5);
    });
  }
  for (const p of input.content.parts) {
    const blob =
      (p as { inlineData?: { mimeType?: string }; fileData?: { mimeType?: string } }).inlineData ??
      (p as { fileData?: { mimeType?: string } }).fileData;
    if (blob) counts.set(`[${blob.mimeType ?? "media"}]`, (counts.get(`[${blob.mimeType ?? "media"}]`) ?? 0) + 1);
  }
  let featureNorm = 0;
  for (const [feature, tf] of counts) {
    const h = fnv1a(feature);
    const index = h % dims;
    const sign = fnv1a(feature, 0x9e3779b9) & 1 ? 1 : -1;
    features[index]! += sign * (1 + Math.log(Math.max(tf, 1))) * (feature.includes(" ") ? 0.5 : 1);
  }
  for (let i = 0; i < dims; i++) featureNorm += features[i]! * features[i]!;
  featureNorm = Math.sqrt(featureNorm);

  const seed = createHash("sha256")
    .update(`${model}\0${input.taskType ?? ""}\0${input.title ?? ""}\0${JSON.stringify(input.content.parts)}`)
    .digest();
  // xoshiro128** seeded from the digest: fast, and the same digest always yields the same sequence.
  let a = seed.readUInt32LE(0) | 1;
  let b = seed.readUInt32LE(4);
  let c = seed.readUInt32LE(8);
  let d = seed.readUInt32LE(12);
  const next = (): number => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result / 4294967296;
  };
  const noise = new Float64Array(dims);
  let noiseNorm = 0;
  for (let i = 0; i < dims; i++) {
    const v = next() * 2 - 1;
    noise[i] = v;
    noiseNorm += v * v;
  }
  noiseNorm = Math.sqrt(noiseNorm);
  const [fw, nw] = featureNorm > 0 ? [FEATURE_WEIGHT / featureNorm, NOISE_WEIGHT / noiseNorm] : [0, 1 / noiseNorm];
  const values = new Array<number>(dims);
  let norm = 0;
  for (let i = 0; i < dims; i++) {
    values[i] = features[i]! * fw + noise[i]! * nw;
    norm += values[i]! * values[i]!;
  }
  norm = Math.sqrt(norm);
  // Eight significant digits, as Google's answers carry about as many (float32).
  for (let i = 0; i < dims; i++) values[i] = Number((values[i]! / norm).toPrecision(8));
  return values;
}

/** FNV-1a, 32 bits, with an optional seed in place of the offset basis. */
function fnv1a(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

function answerOf(r: ModelRoute, out: Embedded[]): unknown {
  if (r.method === "batchEmbedContents") return { embeddings: out.map((e) => ({ values: e.values })) };
  if (r.method === "predict") {
    return {
      predictions: out.map((e) => ({
        embeddings: { values: e.values, statistics: { truncated: e.truncated, token_count: e.tokens } },
      })),
      metadata: { billableCharacterCount: out.reduce((n, e) => n + e.billableCharacters, 0) },
    };
  }
  const e = out[0]!;
  if (!r.vertex) return { embedding: { values: e.values } };
  return {
    embedding: { values: e.values },
    usageMetadata: {
      promptTokenCount: e.tokens,
      totalTokenCount: e.tokens,
      promptTokensDetails: e.truncated ? [{ modality: "TEXT", tokenCount: e.tokens }] : e.details,
    },
    truncated: e.truncated,
  };
}

/** The emulator's own per-minute quota (settings.quota), as model calls use it. */
function quotaRefusal(call: Call, tokens: number): GatewayError | null {
  const { state } = call;
  const { requestsPerMinute: rpm, tokensPerMinute: tpm } = state.settings.quota;
  if (rpm === null && tpm === null) return null;
  const now = Date.now();
  const exhausted = (what: string, n: number) =>
    new GatewayError(
      429,
      "RESOURCE_EXHAUSTED",
      `Resource exhausted. Please try again later. (Emulator quota exceeded: ${what} per minute, limit ${n}.)`,
      [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: `${state.settings.retryDelaySeconds}s` }],
    );
  if (rpm !== null && state.rpm.count(now) >= rpm) return exhausted("requests", rpm);
  if (tpm !== null && state.tpm.sum(now) + tokens > tpm) return exhausted("tokens", tpm);
  if (rpm !== null) state.rpm.add(now, 1);
  if (tpm !== null) state.tpm.add(now, tokens);
  return null;
}
