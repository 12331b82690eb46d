/**
 * The Gemini surfaces: the Developer API paths and the Vertex AI paths. Both speak Google's wire format, which is
 * also what the pipeline and its upstreams speak, so their encoder sends the upstream's bytes unchanged; streams go
 * out as SSE (`?alt=sse`) or as the progressive JSON array Google serves without it, and errors in Google's envelope.
 *
 *   POST /{v1|v1beta}/models/{model}:{method}                                              Developer API
 *   POST /{v1|v1beta1}/projects/{p}/locations/{l}/publishers/google/models/{model}:{method}   Vertex AI
 *   POST /{v1|v1beta1}/publishers/google/models/{model}:{method}                           Vertex AI, no project prefix
 *
 * The client's project and location are ignored: the gateway calls its own.
 */
import type { RouteTarget, Surface } from "../pipeline/call.js";
import type { ResponseEncoder } from "../pipeline/encoder.js";
import type { ErrorEnvelope } from "../wire/errors.js";

const JSON_TYPE = "application/json; charset=UTF-8";

/** The API versions each surface has, and the upstream version family each maps to. */
const VERSIONS: Record<Exclude<Surface, "openai">, Record<string, "v1" | "v1beta1">> = {
  gemini: { v1: "v1", v1beta: "v1beta1" },
  vertex: { v1: "v1", v1beta1: "v1beta1" },
};

/** A model-call path's parts (already percent-decoded) as the pipeline's RouteTarget. */
export function geminiTarget(
  surface: "gemini" | "vertex",
  version: string,
  modelAndMethod: string,
  alt: string | undefined,
): RouteTarget {
  const colon = modelAndMethod.lastIndexOf(":");
  return {
    surface,
    version,
    apiVersion: Object.hasOwn(VERSIONS[surface], version) ? VERSIONS[surface][version] : undefined,
    method: colon < 0 ? "" : modelAndMethod.slice(colon + 1),
    model: colon < 0 ? modelAndMethod : modelAndMethod.slice(0, colon),
    encoder: alt === "sse" ? SSE : JSON_ARRAY,
  };
}

const envelopeBytes = (e: ErrorEnvelope) => Buffer.from(JSON.stringify(e));

/** Shared by both stream framings: unary answers and errors are Google's bytes as they are. */
const GOOGLE: Pick<ResponseEncoder, "unaryContentType" | "unary" | "error" | "upstreamError"> = {
  unaryContentType: JSON_TYPE,
  unary: (body) => body,
  error: envelopeBytes,
  upstreamError: (body) => body,
};

/** `?alt=sse`: one `data:` event per chunk, CRLF-framed as Vertex frames them. */
const SSE: ResponseEncoder = {
  ...GOOGLE,
  streamContentType: "text/event-stream",
  streamStart: () => "",
  streamEvent: (payload) => `data: ${payload}\r\n\r\n`,
  streamEnd: () => "",
  streamError: (e) => `data: ${JSON.stringify(e)}\r\n\r\n`,
};

/** Without `alt=sse`: one JSON array, written element by element as chunks arrive. */
const JSON_ARRAY: ResponseEncoder = {
  ...GOOGLE,
  streamContentType: JSON_TYPE,
  streamStart: () => "[",
  streamEvent: (payload, index) => (index === 0 ? payload : `\n,\r\n${payload}`),
  streamEnd: (events) => (events === 0 ? "[]" : "\n]"),
  streamError: (e, index) => (index === 0 ? JSON.stringify(e) : `\n,\r\n${JSON.stringify(e)}`),
};
