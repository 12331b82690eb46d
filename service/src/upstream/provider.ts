/**
 * What the pipeline needs from an upstream model service. Leaf module: types only.
 * A provider speaks Gemini on both sides of this interface: it receives the Gemini request body the gateway will
 * forward, and answers with a Gemini response (streams always as SSE frames, which the surface re-encodes).
 */
import type { ModelMethod } from "../wire/gemini.js";
import type { ConnectionSlots, Release } from "./connection-slots.js";

/**
 * A call on an upstream resource rather than a model (pipeline/resources/): its collection and what is done to it,
 * e.g. `cachedContents.create`, `interactions.get`, `batchPredictionJobs.cancel` — the breaker and metrics key.
 */
export type ResourceMethod = `${"cachedContents" | "interactions" | "batchPredictionJobs"}.${string}`;
export type UpstreamMethod = ModelMethod | ResourceMethod;

/** Where a resource call goes: a path under the upstream's project and location, with its HTTP verb. */
export interface ResourceTarget {
  verb: "GET" | "POST" | "PATCH" | "DELETE";
  /** e.g. `cachedContents`, `interactions/{id}`, `batchPredictionJobs/{id}:cancel`. */
  path: string;
  /** The query string without `?`, when there is one. */
  query?: string;
}

export interface UpstreamRequest {
  model: string;
  method: UpstreamMethod;
  /** For a resource call: where it goes (the body, if any, is `body`); absent for a model call. */
  resource?: ResourceTarget;
  /** API version family the client used; Vertex gets v1 or v1beta1. */
  apiVersion: "v1" | "v1beta1";
  /** The exact bytes to send. */
  body: Buffer;
  /**
   * For a body that must name the upstream's own project and location (a context cache's `model`): made by the
   * provider that sends it, from its `projects/{p}/locations/{l}`; used instead of `body`.
   */
  bodyFor?: (parent: string) => Buffer;
  /** Seconds the client allows (X-Server-Timeout), forwarded so the upstream can give up too. */
  serverTimeout: string | undefined;
  /** W3C trace context of the upstream span, so the trace continues at the provider; undefined when not tracing. */
  traceparent: string | undefined;
  signal: AbortSignal;
  /**
   * The connection slot taken for this request (from the provider's `slots`): the provider gives it back when the
   * response body is done — read to the end or destroyed — or at once when no response comes.
   */
  release: Release;
}

export interface UpstreamResponse {
  status: number;
  /** Content type as the upstream sent it. */
  contentType: string | undefined;
  retryAfter: string | undefined;
  body: AsyncIterable<Buffer> & { destroy(err?: Error): unknown };
}

export interface Provider {
  /** `<provider>/<region>`, for logs and the x-gateway-upstream header. */
  readonly id: string;
  /** `vertex` or `emulator`: the provider label of metrics. */
  readonly name: string;
  /** The region it serves from (`us-central1`, `global`): the region label of metrics. */
  readonly region: string;
  /** The connections this instance may have open to it: a request takes a slot before `send`. */
  readonly slots: ConnectionSlots;
  send(request: UpstreamRequest): Promise<UpstreamResponse>;
  close(): Promise<void>;
}
