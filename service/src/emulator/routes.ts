/**
 * The model-call URL surface of both APIs, the models the emulator knows, and each surface's auth rule, with the
 * errors Google answers when they are not met.
 */
import type { IncomingHttpHeaders } from "node:http";
import { GatewayError } from "../wire/errors.js";
import { GEMINI_MODELS, isModelMethod } from "../wire/gemini.js";
import { EMBEDDING_MODELS, embeddingSpec } from "../wire/models.js";

/** The current family plus an older pinned id clients still send, and the embedding models of the catalogue. */
export const KNOWN_MODELS: ReadonlySet<string> = new Set([
  ...GEMINI_MODELS,
  "gemini-2.0-flash-001",
  ...EMBEDDING_MODELS,
]);

/**
 * Whether a known model serves a method on this surface: generative models generate and count; embedding models
 * embed — on the Developer API with embedContent and batchEmbedContents (and count), on Vertex with the one method
 * their catalogue entry names (gemini-embedding-001: predict; gemini-embedding-2: embedContent).
 */
function serves(route: ModelRoute): boolean {
  const spec = embeddingSpec(route.model);
  if (!spec)
    return (
      route.method === "generateContent" || route.method === "streamGenerateContent" || route.method === "countTokens"
    );
  if (route.vertex) return route.method === spec.vertex.method;
  return route.method === "embedContent" || route.method === "batchEmbedContents" || route.method === "countTokens";
}

export interface ModelRoute {
  vertex: boolean;
  apiVersion: string;
  /** `projects/p/locations/l/publishers/google/models/m` (Vertex) or `models/m` (Developer API). */
  resource: string;
  model: string;
  /** As written in the path; may be unsupported. */
  method: string;
}

const VERTEX =
  /^\/(v1|v1beta1)\/((?:projects\/[^/]+\/locations\/[^/]+\/)?publishers\/google\/models\/([^/:]+)):([A-Za-z]+)$/;
const DEVELOPER = /^\/(v1|v1beta)\/(models\/([^/:]+)):([A-Za-z]+)$/;

/** Parses a path (without query) into a model route, or null when it is not a model-call path of either API. */
export function parseModelPath(path: string): ModelRoute | null {
  let m = VERTEX.exec(path);
  if (m) return { vertex: true, apiVersion: m[1]!, resource: m[2]!, model: m[3]!, method: m[4]! };
  m = DEVELOPER.exec(path);
  if (m) return { vertex: false, apiVersion: m[1]!, resource: m[2]!, model: m[3]!, method: m[4]! };
  return null;
}

/**
 * Vertex wants any OAuth bearer token (the emulator does not verify it); the Developer API wants an API key in
 * `x-goog-api-key` or `?key=`. Returns the error to answer, or null when the call may proceed.
 */
export function checkAuth(
  route: ModelRoute,
  headers: IncomingHttpHeaders,
  queryKey: string | null,
): GatewayError | null {
  if (route.vertex) {
    const auth = headers.authorization;
    if (auth && /^Bearer\s+\S/i.test(auth)) return null;
    return new GatewayError(
      401,
      "UNAUTHENTICATED",
      "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other " +
        "valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
      [
        {
          "@type": "type.googleapis.com/google.rpc.ErrorInfo",
          reason: "CREDENTIALS_MISSING",
          domain: "googleapis.com",
          metadata: {
            method: `google.cloud.aiplatform.${route.apiVersion}.PredictionService.${route.method}`,
            service: "aiplatform.googleapis.com",
          },
        },
      ],
    );
  }
  const key = headers["x-goog-api-key"];
  if ((typeof key === "string" && key.length > 0) || queryKey) return null;
  return new GatewayError(
    401,
    "UNAUTHENTICATED",
    "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other " +
      "form of API consumer identity to call this API: send it in the x-goog-api-key header or the key query parameter.",
  );
}

/** Unknown method or unknown model, with each surface's wording; null when both are known. */
export function checkTarget(route: ModelRoute): GatewayError | null {
  if (!isModelMethod(route.method)) {
    return new GatewayError(
      404,
      "NOT_FOUND",
      `Method "${route.method.slice(0, 64)}" is not supported by the emulator (generateContent, streamGenerateContent, ` +
        "countTokens, embedContent, batchEmbedContents, predict).",
    );
  }
  if (KNOWN_MODELS.has(route.model) && serves(route)) return null;
  if (route.vertex && KNOWN_MODELS.has(route.model)) {
    // A known model asked for a method it does not serve (an embedding model asked to generate, or gemini-embedding-001
    // asked for embedContent): Vertex's exact answer is unconfirmed; a 404 naming the method.
    return new GatewayError(
      404,
      "NOT_FOUND",
      `Publisher Model \`${route.resource.slice(0, 300)}\` does not support the ${route.method} method.`,
    );
  }
  if (route.vertex) {
    return new GatewayError(
      404,
      "NOT_FOUND",
      `Publisher Model \`${route.resource.slice(0, 300)}\` was not found or your project does not have access to it. ` +
        "Please ensure you are using a valid model version. For more information, see: " +
        "https://cloud.google.com/vertex-ai/generative-ai/docs/learn/model-versions",
    );
  }
  return new GatewayError(
    404,
    "NOT_FOUND",
    `${route.resource.slice(0, 200)} is not found for API version ${route.apiVersion}, or is not supported for ` +
      `${route.method}. Call ListModels to see the list of available models and their supported methods.`,
  );
}
