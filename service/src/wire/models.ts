/**
 * The model catalogue: what the gateway knows about each model, as data (models.json, with its date and sources) —
 * display name, token limits, sampling defaults, the methods Google lists, and for embedding models how many inputs a
 * request may carry, their dimensions and which Vertex method embeds them. Read by the model reads (`GET …/models`),
 * by the operation table (which model each operation serves, the embedding limits) and by the emulator (which stands
 * for Google, so it answers by the same facts). Validated once when the module loads; a bad entry stops the process.
 *
 * A model the gateway serves (GATEWAY_MODELS) without an entry here is a generative model the catalogue has no
 * metadata for: it is listed with its id only, and serves the generate methods.
 */
import { z } from "zod";
import catalogue from "./models.json" with { type: "json" };
import { MODEL_ID_PATTERN } from "./gemini.js";

const EmbeddingSpecSchema = z.strictObject({
  /** Full-length vector size (outputDimensionality at most this). */
  dimensions: z.number().int().positive(),
  /** Takes image, audio, video and document parts as well as text. */
  multimodal: z.boolean(),
  /** Inputs one request to the gateway may carry (the Developer API's batchEmbedContents limit). */
  maxInputsPerRequest: z.number().int().positive(),
  vertex: z.strictObject({
    /** The Vertex method that embeds for this model: `predict` (instances) or `embedContent` (one content). */
    method: z.enum(["predict", "embedContent"]),
    /** Inputs one Vertex call takes (gemini-embedding-001: one instance per request). */
    inputsPerCall: z.number().int().positive(),
  }),
});

const ModelInfoSchema = z.strictObject({
  displayName: z.string().min(1).max(128),
  description: z.string(),
  version: z.string().min(1),
  /** Vertex PublisherModel.launchStage. */
  launchStage: z.enum(["EXPERIMENTAL", "PRIVATE_PREVIEW", "PUBLIC_PREVIEW", "GA"]),
  /** For an embedding model: the most tokens one input may have (longer ones are truncated by default). */
  inputTokenLimit: z.number().int().positive(),
  outputTokenLimit: z.number().int().positive(),
  /** As Google lists them; the gateway answers the ones it serves for the model. */
  supportedGenerationMethods: z.array(z.string().min(1)).min(1),
  temperature: z.number().optional(),
  maxTemperature: z.number().optional(),
  topP: z.number().optional(),
  topK: z.number().int().optional(),
  thinking: z.boolean().optional(),
  embedding: EmbeddingSpecSchema.optional(),
});

const CatalogueSchema = z.strictObject({
  asOf: z.iso.date(),
  note: z.string(),
  sources: z.array(z.string().min(1)).min(1),
  models: z.record(z.string().regex(MODEL_ID_PATTERN), ModelInfoSchema),
});

export type EmbeddingSpec = z.infer<typeof EmbeddingSpecSchema>;
export type ModelInfo = Readonly<z.infer<typeof ModelInfoSchema>> & { readonly id: string };

const parsed = CatalogueSchema.parse(catalogue);

/** Every model of the catalogue, in its order (the order models are listed in). */
export const MODEL_CATALOGUE: ReadonlyMap<string, ModelInfo> = new Map(
  Object.entries(parsed.models).map(([id, info]) => [id, Object.freeze({ ...info, id })]),
);

/** The date the catalogue's facts were checked. */
export const CATALOGUE_AS_OF = parsed.asOf;

/** What the catalogue knows of a model; undefined for one it has no entry for. */
export function modelInfo(model: string): ModelInfo | undefined {
  return MODEL_CATALOGUE.get(model);
}

/** How a model embeds; undefined for a model that is not an embedding model the catalogue knows. */
export function embeddingSpec(model: string): EmbeddingSpec | undefined {
  return MODEL_CATALOGUE.get(model)?.embedding;
}

/** Embedding models the gateway serves unless GATEWAY_MODELS says otherwise. */
export const DEFAULT_EMBEDDING_MODELS = ["gemini-embedding-001"] as const;

/** Every embedding model of the catalogue. */
export const EMBEDDING_MODELS: readonly string[] = [...MODEL_CATALOGUE.values()]
  .filter((m) => m.embedding)
  .map((m) => m.id);
