/**
 * The embedding requests and answers of both APIs, as the gateway and its emulator read them. Schemas are loose:
 * fields not named here are kept. Checked against Google's references (with the search tool, 2026-12-06) and the SDK
 * installed here (`@google/genai` 2.32 `embedContentParametersPrivateToMldev/ToVertex`, `embedContentResponseFrom*`):
 *
 * Developer API (generativelanguage.googleapis.com, ai.google.dev/api/embeddings):
 * - `POST /v1beta/models/{m}:embedContent` `{model?, content, taskType?, title?, outputDimensionality?}` →
 *   `{embedding: {values}}`;
 * - `POST /v1beta/models/{m}:batchEmbedContents` `{requests: [{model, content, taskType?, title?,
 *   outputDimensionality?}]}` → `{embeddings: [{values}]}`, in request order; at most 100 requests ("at most 100
 *   requests can be in one batch"); each request's model must be the path's. The SDK's `models.embedContent` always
 *   calls batchEmbedContents in this mode.
 *
 * Vertex AI (docs.cloud.google.com/gemini-enterprise-agent-platform/reference/rest):
 * - `…/publishers/google/models/{m}:predict` (text embedding models, gemini-embedding-001)
 *   `{instances: [{content: "text", task_type?, title?}], parameters?: {outputDimensionality?, autoTruncate?}}` →
 *   `{predictions: [{embeddings: {values, statistics: {token_count, truncated}}}], metadata?: {billableCharacterCount}}`
 *   (instances and predictions are `google.protobuf.Value`s, so their field names are as shown: `task_type`,
 *   `token_count`; the SDK sends and reads exactly these). gemini-embedding-001 takes one instance per request.
 * - `…/publishers/google/models/{m}:embedContent` (gemini-embedding-2 and later) `{content, embedContentConfig?:
 *   {taskType?, title?, outputDimensionality?, autoTruncate?, documentOcr?, audioTrackExtraction?}}` (the same four
 *   settings at the top level are deprecated but accepted) → `{embedding: {values}, usageMetadata:
 *   {promptTokenCount, …, promptTokensDetails}, truncated}`; one content per call, all its parts make one vector.
 */
import { z } from "zod";
import { ContentSchema } from "./gemini.js";

/** What a vector is for (EmbeddingTaskType); names are passed on as sent. */
const TaskType = z.string().min(1).max(64);
const Dimensionality = z.number().int();

export const EmbedContentConfigSchema = z.looseObject({
  taskType: TaskType.optional(),
  title: z.string().optional(),
  outputDimensionality: Dimensionality.optional(),
  autoTruncate: z.boolean().optional(),
});

/** Developer `embedContent` and Vertex `embedContent` (which adds `autoTruncate` and `embedContentConfig`). */
export const EmbedContentRequestSchema = z.looseObject({
  model: z.string().optional(),
  content: ContentSchema,
  taskType: TaskType.optional(),
  title: z.string().optional(),
  outputDimensionality: Dimensionality.optional(),
  autoTruncate: z.boolean().optional(),
  embedContentConfig: EmbedContentConfigSchema.optional(),
});

export const BatchEmbedContentsRequestSchema = z.looseObject({
  requests: z.array(EmbedContentRequestSchema).min(1, "requests must not be empty"),
});

/** One Vertex `predict` instance of a text embedding model: `task_type` as documented, `taskType` also read. */
export const PredictInstanceSchema = z.looseObject({
  content: z.string(),
  task_type: TaskType.optional(),
  taskType: TaskType.optional(),
  title: z.string().optional(),
});

export const PredictRequestSchema = z.looseObject({
  instances: z.array(PredictInstanceSchema).min(1, "instances must not be empty"),
  parameters: z
    .looseObject({ outputDimensionality: Dimensionality.optional(), autoTruncate: z.boolean().optional() })
    .optional(),
});

export type EmbedContentRequest = z.infer<typeof EmbedContentRequestSchema>;
export type BatchEmbedContentsRequest = z.infer<typeof BatchEmbedContentsRequestSchema>;
export type PredictRequest = z.infer<typeof PredictRequestSchema>;
export type PredictInstance = z.infer<typeof PredictInstanceSchema>;

export interface ModalityTokenCount {
  modality: string;
  tokenCount: number;
}

/** One prediction of a Vertex text embedding model. */
export interface PredictionWire {
  embeddings: { values: number[]; statistics?: { token_count?: number; truncated?: boolean } };
}

export interface PredictResponseWire {
  predictions: PredictionWire[];
  metadata?: { billableCharacterCount?: number };
}

/** Vertex `embedContent`'s answer. */
export interface EmbedContentResponseWire {
  embedding: { values: number[] };
  usageMetadata?: { promptTokenCount?: number; totalTokenCount?: number; promptTokensDetails?: ModalityTokenCount[] };
  truncated?: boolean;
}
