/** The internal call object every stage works on, built once from what the surface decoded. Types only. */
import type { Tenant } from "../config/tenants.js";
import type { ModelMethod } from "../wire/gemini.js";

/** The client-facing API a request came in through. */
export type Surface = "gemini" | "vertex";

/** What a surface's route decoded from the URL, before anything is checked. */
export interface RouteTarget {
  surface: Surface;
  /** API version in the path: v1, v1beta (Developer API) or v1beta1 (Vertex). */
  version: string;
  /** Path segment after `models/`, e.g. `gemini-2.5-flash:generateContent` (unvalidated). */
  modelAndMethod: string;
  /** `alt` query parameter: "sse" asks for server-sent events. */
  alt: string | undefined;
}

export interface GatewayCall {
  requestId: string;
  surface: Surface;
  tenant: Tenant;
  /** First 12 hex digits of the key's SHA-256: identifies a key in logs without revealing it. */
  keyId: string;
  model: string;
  method: ModelMethod;
  /** Upstream API version: Developer v1beta maps to Vertex v1beta1 so beta fields keep working. */
  apiVersion: "v1" | "v1beta1";
  stream: boolean;
  /** How a stream goes back to the client: SSE events, or one JSON array (streamGenerateContent without alt=sse). */
  streamEncoding: "sse" | "array";
  /** The bytes forwarded upstream: the client's body, with tenant labels added (see validate.ts). */
  body: Buffer;
  serverTimeout: string | undefined;
}
