/**
 * The operations on tenant-owned resources that are model calls — they cost money, so they are admitted, audited,
 * metered and billed like generate calls — as entries of the operation table (../operations.ts `operationOf`):
 * creating a context cache, an interaction (unary or streamed), a batch job (the Batch API's and Vertex's shape).
 * Each runs its own upstream calls (`execute`): caches.ts, interactions.ts, batches.ts. Reads, lists, updates,
 * cancels and deletes take the lighter path (light.ts).
 */
import { estimateTokens, type TokenEstimate } from "../../accounting/estimate.js";
import { embeddingSpec } from "../../wire/models.js";
import { errors } from "../../wire/errors.js";
import type { Operation } from "../operations.js";
import { parseRequest, type ValidatedBody } from "../validate.js";
import { estimateBatch, inlineRequests, createBatch } from "./batches.js";
import { createCache } from "./caches.js";
import { checkInteraction, createInteraction } from "./interactions.js";

const generative = (model: string) => embeddingSpec(model) === undefined;

/** A resource body: a JSON object (field names normalised as a generate request's), then the operation's checks. */
function validated(raw: Buffer, check: (doc: Readonly<Record<string, unknown>>) => void): ValidatedBody {
  const { raw: bytes, record } = parseRequest(raw, "GenerateContentRequest");
  check(record);
  return { method: "generateContent", raw: bytes, doc: record, rewritten: undefined };
}

const common = {
  guarded: false,
  cacheable: false,
  servesModel: generative,
  upstreamBody: (): Buffer => {
    throw errors.internal(); // `execute` makes its own upstream bodies
  },
} as const;

function checkCache(doc: Readonly<Record<string, unknown>>): void {
  if (!Array.isArray(doc.contents) && doc.systemInstruction === undefined) {
    throw errors.invalidArgument("A cached content needs contents or a systemInstruction.");
  }
  if (doc.ttl !== undefined && (typeof doc.ttl !== "string" || !/^\d+(\.\d+)?s$/.test(doc.ttl))) {
    throw errors.invalidArgument('ttl must be a duration in seconds, such as "3600s".');
  }
  if (doc.ttl !== undefined && doc.expireTime !== undefined)
    throw errors.invalidArgument("Set ttl or expireTime, not both.");
}

/** An interaction's tokens: its input and system instruction (text / 4), and its output limit (or the default). */
function estimateInteraction(doc: Readonly<Record<string, unknown>>, defaultOutputTokens: number): TokenEstimate {
  const text = JSON.stringify(doc.input ?? "").length + String(doc.system_instruction ?? "").length;
  const max = (doc.generation_config as { max_output_tokens?: unknown } | undefined)?.max_output_tokens;
  const output = typeof max === "number" && max > 0 ? Math.floor(max) : defaultOutputTokens;
  const prompt = Math.ceil(text / 4);
  return { prompt, output, total: prompt + output };
}

const interaction = (stream: boolean): Operation => ({
  ...common,
  name: stream ? "interactions.stream" : "interactions.create",
  upstreamMethod: "interactions.create",
  stream,
  validate: (raw) => validated(raw, checkInteraction),
  estimate: (doc, defaultOutputTokens) => estimateInteraction(doc, defaultOutputTokens),
  uses: (doc) =>
    typeof doc.previous_interaction_id === "string"
      ? { kind: "interaction", name: doc.previous_interaction_id }
      : undefined,
  execute: createInteraction,
  usageKind: "interaction",
});

const batch = (name: "batchGenerateContent" | "batchPredictionJobs.create"): Operation => ({
  ...common,
  name,
  upstreamMethod: "batchPredictionJobs.create",
  stream: false,
  validate: (raw) =>
    validated(raw, name === "batchGenerateContent" ? (doc) => void inlineRequests(doc) : () => undefined),
  estimate: (doc, defaultOutputTokens) => estimateBatch(doc, defaultOutputTokens),
  execute: createBatch,
  usageKind: "batch",
  batch: true,
});

export const RESOURCE_OPERATIONS: Readonly<Record<string, Operation>> = {
  "cachedContents.create": {
    ...common,
    name: "cachedContents.create",
    upstreamMethod: "cachedContents.create",
    stream: false,
    validate: (raw) => validated(raw, checkCache),
    // Creating a cache bills its tokens at the input price; it produces no output.
    estimate: (doc) => {
      const prompt = estimateTokens(doc, 0).prompt;
      return { prompt, output: 0, total: prompt };
    },
    execute: createCache,
    usageKind: "cache",
  },
  "interactions.create": interaction(false),
  "interactions.stream": interaction(true),
  batchGenerateContent: batch("batchGenerateContent"),
  "batchPredictionJobs.create": batch("batchPredictionJobs.create"),
};
