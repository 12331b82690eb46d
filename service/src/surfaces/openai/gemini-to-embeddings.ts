/**
 * Answer direction of `POST /v1beta/openai/embeddings`: the embedding operation's answer (batchEmbedContents' shape,
 * `{"embeddings":[{"values"}]}`, one vector per input in order) and the usage the gateway read from Vertex, as
 * OpenAI's list: `{"object":"list","data":[{"object":"embedding","index","embedding"}],"model","usage"}`. Vectors are
 * JSON numbers, or base64 of little-endian float32 values when the client asked for `base64` (the openai SDK's
 * default, which it decodes back into numbers).
 */
import { errors } from "../../wire/errors.js";
import type { UsageMetadataWire } from "../../wire/gemini.js";
import type { EmbeddingsResponse } from "../../wire/openai.js";

export function toEmbeddingsResponse(
  body: string,
  usage: UsageMetadataWire | undefined,
  ctx: { model: string; base64: boolean },
): EmbeddingsResponse {
  let doc: { embeddings?: { values?: unknown }[] };
  try {
    doc = JSON.parse(body) as typeof doc;
  } catch {
    throw errors.upstreamBroken("the embeddings answer is not JSON");
  }
  const vectors = (doc.embeddings ?? []).map((e) => {
    if (!Array.isArray(e.values) || !e.values.every((v) => typeof v === "number")) {
      throw errors.upstreamBroken("an embedding of the answer has no vector");
    }
    return e.values as number[];
  });
  const prompt = usage?.promptTokenCount ?? 0;
  return {
    object: "list",
    data: vectors.map((values, index) => ({
      object: "embedding",
      index,
      embedding: ctx.base64 ? float32Base64(values) : values,
    })),
    model: ctx.model,
    usage: { prompt_tokens: prompt, total_tokens: usage?.totalTokenCount ?? prompt },
  };
}

/** OpenAI's base64 encoding: the vector as little-endian IEEE 754 float32 values. */
export function float32Base64(values: readonly number[]): string {
  const bytes = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => bytes.writeFloatLE(v, i * 4));
  return bytes.toString("base64");
}
