/**
 * The subset of the Gemini wire format the gateway and its emulator read, as zod schemas, plus the response shapes
 * they write, typed from `@google/genai`. Every schema is "loose": fields not named here are kept as they are, because
 * the gateway forwards what it does not read (tools, toolConfig, safetySettings, thinkingConfig, future fields).
 * See shared/reference/gemini-wire.md.
 */
import { z } from "zod";
import type { GenerateContentResponse, CountTokensResponse } from "@google/genai";

export const PartSchema = z.looseObject({
  text: z.string().optional(),
  inlineData: z.looseObject({ mimeType: z.string(), data: z.string() }).optional(),
  fileData: z.looseObject({ mimeType: z.string().optional(), fileUri: z.string() }).optional(),
  functionCall: z.looseObject({}).optional(),
  functionResponse: z.looseObject({}).optional(),
  thought: z.boolean().optional(),
});

export const ContentSchema = z.looseObject({
  role: z.string().max(32).optional(),
  parts: z.array(PartSchema).min(1, "each content needs at least one part"),
});

export const GenerationConfigSchema = z.looseObject({
  temperature: z.number().min(0).max(2).optional(),
  topP: z.number().min(0).max(1).optional(),
  topK: z.number().int().min(1).optional(),
  candidateCount: z.number().int().min(1).max(8).optional(),
  maxOutputTokens: z.number().int().min(1).optional(),
  stopSequences: z.array(z.string().min(1)).max(5).optional(),
  seed: z.number().int().optional(),
});

/** Vertex label rules: keys and values at most 63 characters, lowercase letters, digits, `_` and `-`; keys start with a letter. */
export const LabelsSchema = z.record(
  z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, "label keys are lowercase, start with a letter, at most 63 characters"),
  z.string().regex(/^[a-z0-9_-]{0,63}$/, "label values are lowercase letters, digits, _ or -, at most 63 characters"),
);

export const GenerateContentRequestSchema = z.looseObject({
  contents: z.array(ContentSchema).min(1, "contents must not be empty"),
  systemInstruction: z.looseObject({ parts: z.array(PartSchema) }).optional(),
  generationConfig: GenerationConfigSchema.optional(),
  safetySettings: z.array(z.looseObject({})).optional(),
  tools: z.array(z.looseObject({})).optional(),
  toolConfig: z.looseObject({}).optional(),
  cachedContent: z.string().optional(),
  labels: LabelsSchema.optional(),
});

/** countTokens: Vertex sends the parts of a generate request directly; the Developer API may wrap it. */
export const CountTokensRequestSchema = z.looseObject({
  contents: z.array(ContentSchema).optional(),
  systemInstruction: z.looseObject({ parts: z.array(PartSchema) }).optional(),
  tools: z.array(z.looseObject({})).optional(),
  generationConfig: GenerationConfigSchema.optional(),
  generateContentRequest: z.looseObject({ contents: z.array(ContentSchema).min(1) }).optional(),
});

export type Part = z.infer<typeof PartSchema>;
export type Content = z.infer<typeof ContentSchema>;
export type GenerationConfig = z.infer<typeof GenerationConfigSchema>;
export type GenerateContentRequest = z.infer<typeof GenerateContentRequestSchema>;
export type CountTokensRequest = z.infer<typeof CountTokensRequestSchema>;

/** A response as it travels on the wire (the SDK's class without its getters and `sdkHttpResponse`). */
export type GenerateContentResponseWire = Pick<
  GenerateContentResponse,
  "candidates" | "createTime" | "modelVersion" | "promptFeedback" | "responseId" | "usageMetadata"
>;
export type UsageMetadataWire = NonNullable<GenerateContentResponseWire["usageMetadata"]>;
export type CountTokensResponseWire = Pick<CountTokensResponse, "totalTokens" | "cachedContentTokenCount"> & {
  totalBillableCharacters?: number;
  promptTokensDetails?: { modality: string; tokenCount: number }[];
};

/**
 * The model methods the surfaces expose: generation, and embeddings — the Developer API's `embedContent` and
 * `batchEmbedContents`, Vertex's `predict` (text embedding models) and `embedContent` (one content per call).
 */
export const MODEL_METHODS = [
  "generateContent",
  "streamGenerateContent",
  "countTokens",
  "embedContent",
  "batchEmbedContents",
  "predict",
] as const;
export type ModelMethod = (typeof MODEL_METHODS)[number];
export function isModelMethod(s: string): s is ModelMethod {
  return (MODEL_METHODS as readonly string[]).includes(s);
}

/** The current Gemini family (shared/reference/gemini-wire.md price table): served by default, known to the emulator. */
export const GEMINI_MODELS = [
  "gemini-2.5-pro",
  "gemini-2.5-flash",
  "gemini-2.5-flash-lite",
  "gemini-3-pro-preview",
  "gemini-3.1-pro-preview",
  "gemini-3-flash-preview",
  "gemini-3.1-flash-lite",
] as const;

/** A model id as it may appear in a path: `gemini-2.5-flash`, `gemini-3-pro-preview`, `gemini-2.0-flash-001`. */
export const MODEL_ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,127}$/;

/** Renders a zod error as one readable sentence naming the field paths, for 400 messages. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join(".") : "(body)"}: ${i.message}`)
    .join("; ");
}
