/**
 * The OpenAI-compatible surface, at Google's own path so that moving a client from Google's endpoint is a change of
 * host:
 *
 *   POST /v1beta/openai/chat/completions    chat completions, unary or streamed (`stream`, `stream_options`)
 *   POST /v1beta/openai/embeddings           embeddings, as the batchEmbedContents operation
 *   GET  /v1beta/openai/models[/{model}]     the models the key's tenant may use (models.ts)
 *
 * A chat completion is translated onto the operation table, never forwarded to Google's OpenAI endpoint: it runs as
 * generateContent or streamGenerateContent (the body says which), so quota, cache, cost, audit and metrics are the
 * native ones. `decodeBody` turns the body into the Gemini request (chat-to-gemini.ts) and names the model and the
 * operation; the encoder turns Gemini answers, streams and errors into OpenAI's (gemini-to-chat.ts, error-shape.ts).
 * The target is made per request: the encoder needs what the body said (model, include_usage) and a stream's state.
 */
import type { DecodedBody, RouteTarget } from "../../pipeline/call.js";
import type { PromptResolver } from "../../prompts/resolve.js";
import { decodePromptChat, namesPromptModel } from "../prompts/openai.js";
import type { ResponseEncoder } from "../../pipeline/encoder.js";
import { errors, type ErrorEnvelope } from "../../wire/errors.js";
import { chatToGemini, parseChatRequest } from "./chat-to-gemini.js";
import { embeddingsToGemini, parseEmbeddingsRequest } from "./embeddings-to-gemini.js";
import { openAIErrorBytes, toOpenAIError } from "./error-shape.js";
import { toEmbeddingsResponse } from "./gemini-to-embeddings.js";
import { ChunkTranslator, toChatCompletion, type ChatAnswerContext } from "./gemini-to-chat.js";

export const OPENAI_PREFIX = "/v1beta/openai";
export const OPENAI_CHAT_PATH = `${OPENAI_PREFIX}/chat/completions`;
export const OPENAI_EMBEDDINGS_PATH = `${OPENAI_PREFIX}/embeddings`;

/** Response header naming JSON Schema keywords dropped from tool or response schemas (json-schema.ts). */
export const SCHEMA_DROPPED_HEADER = "x-gateway-schema-dropped";

const JSON_TYPE = "application/json; charset=UTF-8";

/**
 * The gateway's own 404 and 403 on a chat completion are about its model (the path and method are known): said so
 * the OpenAI way, `param: "model"`, `code: "model_not_found"` as OpenAI answers an unknown model.
 */
function gatewayError(envelope: ErrorEnvelope): ErrorEnvelope {
  const { code } = envelope.error;
  if (code !== 404 && code !== 403) return envelope;
  const reason = code === 404 ? "MODEL_NOT_FOUND" : "MODEL_NOT_ALLOWED";
  return {
    error: {
      ...envelope.error,
      details: [
        ...(envelope.error.details ?? []),
        { "@type": "type.googleapis.com/google.rpc.BadRequest", fieldViolations: [{ field: "model" }] },
        { "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason },
      ],
    },
  };
}

/** `prompts`: the prompt templates, for a body whose model is `prompt:{ref}` (surfaces/prompts/openai.ts). */
export function openaiChatTarget(prompts?: PromptResolver): RouteTarget {
  const ctx: ChatAnswerContext = { model: "", created: Math.floor(Date.now() / 1000) };
  let includeUsage = false;
  let chunks: ChunkTranslator | undefined;
  const stream = () => (chunks ??= new ChunkTranslator(ctx, includeUsage));

  const encoder: ResponseEncoder = {
    unaryContentType: JSON_TYPE,
    streamContentType: "text/event-stream",
    unary(body) {
      let completion;
      try {
        completion = toChatCompletion(body.toString("utf8"), ctx);
      } catch {
        throw errors.upstreamBroken("the answer is not JSON");
      }
      return Buffer.from(JSON.stringify(completion));
    },
    streamStart: () => "",
    streamEvent: (payload) => stream().event(payload),
    streamEnd: () => stream().end(),
    error: (envelope) => openAIErrorBytes(gatewayError(envelope)),
    upstreamError: (_body, envelope) => openAIErrorBytes(envelope),
    streamError: (envelope) => stream().error(envelope),
  };

  return {
    surface: "openai",
    version: "v1beta",
    apiVersion: "v1beta1",
    method: "generateContent",
    model: undefined,
    encoder,
    decodeBody(raw, context) {
      if (prompts && namesPromptModel(raw)) {
        return decodePromptChat(raw, context, prompts).then((chat): DecodedBody => {
          if (!chat) return decodeChat(raw);
          ctx.model = chat.decoded.model;
          includeUsage = chat.includeUsage;
          return chat.decoded;
        });
      }
      return decodeChat(raw);
    },
  };

  function decodeChat(raw: Buffer): DecodedBody {
    const decoded = chatToGemini(parseChatRequest(raw));
    ctx.model = decoded.model;
    includeUsage = decoded.includeUsage;
    return {
      model: decoded.model,
      raw: Buffer.from(JSON.stringify(decoded.request)),
      method: decoded.stream ? "streamGenerateContent" : "generateContent",
      headers: decoded.dropped.length ? { [SCHEMA_DROPPED_HEADER]: decoded.dropped.join(",") } : undefined,
    };
  }
}

/**
 * `POST /v1beta/openai/embeddings`: the batchEmbedContents operation (one vector per input, fanned out to Vertex by
 * the embedding operation), its answer and usage as OpenAI's list (embeddings-to-gemini.ts, gemini-to-embeddings.ts).
 */
export function openaiEmbeddingsTarget(): RouteTarget {
  const ctx = { model: "", base64: true };
  const encoder: ResponseEncoder = {
    unaryContentType: JSON_TYPE,
    streamContentType: JSON_TYPE,
    unary: (body, usage) => Buffer.from(JSON.stringify(toEmbeddingsResponse(body.toString("utf8"), usage, ctx))),
    // Not a streaming operation: nothing is ever streamed through this encoder.
    streamStart: () => "",
    streamEvent: () => "",
    streamEnd: () => "",
    error: (envelope) => openAIErrorBytes(gatewayError(envelope)),
    upstreamError: (_body, envelope) => openAIErrorBytes(envelope),
    streamError: (envelope) => JSON.stringify(toOpenAIError(envelope)),
  };
  return {
    surface: "openai",
    version: "v1beta",
    apiVersion: "v1beta1",
    method: "batchEmbedContents",
    model: undefined,
    encoder,
    decodeBody(raw) {
      const decoded = embeddingsToGemini(parseEmbeddingsRequest(raw));
      ctx.model = decoded.model;
      ctx.base64 = decoded.base64;
      return { model: decoded.model, raw: Buffer.from(JSON.stringify(decoded.request)) };
    },
  };
}
