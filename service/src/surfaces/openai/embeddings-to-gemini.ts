/**
 * Request direction of `POST /v1beta/openai/embeddings`: OpenAI's embeddings request as the native
 * `batchEmbedContents` request, one Gemini request per input, so the embedding operation (pipeline/embed-request.ts,
 * embed-vertex.ts) checks the model's limits and fans it out to Vertex one call per input the model takes: N inputs
 * always get N vectors, in order.
 *
 * - `input`: a string or a list of strings; token ids (lists of numbers) are a 400 — they are ids of OpenAI's
 *   tokenizer, meaningless to Gemini; an empty string is a 400, as OpenAI answers it.
 * - `dimensions` → each request's `outputDimensionality` (the model's range is checked by the operation).
 * - `encoding_format`: `base64` (what the openai SDK asks for by default) or `float`, for the answer.
 * - `user`: accepted, not sent.
 */
import type { EmbeddingsRequest } from "../../wire/openai.js";
import { EmbeddingsRequestSchema } from "../../wire/openai.js";
import { invalidParam } from "./error-shape.js";
import { parseBody } from "./parse.js";

export interface DecodedEmbeddings {
  /** The Gemini model id (`models/` and `google/` prefixes removed). */
  model: string;
  /** The batchEmbedContents request. */
  request: { requests: { content: { role: "user"; parts: { text: string }[] }; outputDimensionality?: number }[] };
  /** Vectors as base64 little-endian float32 (OpenAI's `encoding_format: "base64"`), else JSON numbers. */
  base64: boolean;
}

export function parseEmbeddingsRequest(raw: Buffer): EmbeddingsRequest {
  return parseBody(raw, EmbeddingsRequestSchema, "embeddings");
}

export function embeddingsToGemini(body: EmbeddingsRequest): DecodedEmbeddings {
  const input = typeof body.input === "string" ? [body.input] : body.input;
  if (!input.length) throw invalidParam("input", "input must not be empty.");
  const texts = input.map((item, i) => {
    if (typeof item !== "string") {
      throw invalidParam(
        "input",
        "input as token ids is not supported: they are ids of OpenAI's tokenizer, which Gemini models do not use. " +
          "Send text.",
      );
    }
    if (!item.trim()) throw invalidParam(`input[${i}]`, `input[${i}] is empty; send text to embed.`);
    return item;
  });
  const dims = body.dimensions ?? undefined;
  return {
    model: body.model.replace(/^(models|google)\//, ""),
    request: {
      requests: texts.map((text) => ({
        content: { role: "user", parts: [{ text }] },
        ...(dims !== undefined ? { outputDimensionality: dims } : {}),
      })),
    },
    base64: body.encoding_format !== "float",
  };
}
