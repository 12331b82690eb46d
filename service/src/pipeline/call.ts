/**
 * What a surface hands the pipeline (RouteTarget), and the one context a model call carries through the stages
 * (Call). Types only.
 *
 * Each stage is a function that takes the Call and returns a value; `handle` (pipeline.ts) stores each value on the
 * Call as the stages run, so a later stage — and the last one, which reconciles and records — reads what the earlier
 * ones found. The fields are set in the order they are listed.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { TokenEstimate } from "../accounting/estimate.js";
import type { CacheEntry, CacheHit } from "../cache/response-cache.js";
import type { CallRecord, PromptTag } from "../telemetry/call-record.js";
import type { CallTrace } from "../telemetry/tracing.js";
import type { Provider } from "../upstream/provider.js";
import type { GatewayError } from "../wire/errors.js";
import type { Identity } from "./authenticate.js";
import type { ResponseEncoder } from "./encoder.js";
import type { Operation } from "./operations.js";
import type { Hold } from "./admit.js";
import type { GuardVerdict } from "./guard.js";
import type { RelayResult } from "./relay.js";
import type { ValidatedBody } from "./validate.js";
import type { Priority, Tenant } from "../config/tenants.js";
import type { UsageMetadataWire } from "../wire/gemini.js";
import type { Pin } from "../route/router.js";
import type { ClientScope } from "./resources/names.js";

/** The client-facing API a request came in through. */
export type Surface = "gemini" | "vertex" | "openai";

/** What a surface decoded from a model-call request, before anything is checked. */
export interface RouteTarget {
  surface: Surface;
  /** The API version in the path, as written (named in a 404). */
  version: string;
  /** The upstream API version family it maps to; undefined when the surface has no such version (404). */
  apiVersion: "v1" | "v1beta1" | undefined;
  /** The operation from the path, unvalidated (`""` when the path has none). */
  method: string;
  /** The model from the path, unvalidated; undefined when the request body names it (decodeBody). */
  model: string | undefined;
  /** How this surface writes the answer (for Gemini surfaces: SSE or a JSON array for streams, from `?alt=`). */
  encoder: ResponseEncoder;
  /**
   * For a surface whose requests are not Gemini's: turns the request body into the operation's Gemini request and
   * names the model (a 400 when it cannot). Gemini surfaces have none: their bodies are the request.
   */
  decodeBody?: (raw: Buffer, context: DecodeContext) => DecodedBody | Promise<DecodedBody>;
  /** For a resource operation: the API the client spoke (how the resources it creates are named to it). */
  scope?: ClientScope;
}

/** What a decoder may read besides the body: the authenticated tenant and the request's headers (prompt calls). */
export interface DecodeContext {
  tenant: Tenant;
  headers: IncomingHttpHeaders;
}

/** A surface's request, decoded: the model it names and the Gemini request bytes for the operation. */
export interface DecodedBody {
  model: string;
  raw: Buffer;
  /** The operation, when the body decides it (OpenAI's `stream: true`, an interaction's); else the target's. */
  method?: string;
  /** Response headers the surface adds (e.g. what its translation dropped). */
  headers?: Readonly<Record<string, string>> | undefined;
  /** A prompt template call: which prompt, version and variant (for the audit record and metrics). */
  prompt?: PromptTag | undefined;
  /** A critical prompt's reviewed answer, served only when every upstream, fallback model and stale entry failed. */
  pregenerated?: CacheEntry | undefined;
}

/** The operation, resolved and allowed for the tenant. */
export interface ResolvedCall {
  operation: Operation;
  model: string;
  apiVersion: "v1" | "v1beta1";
}

/** What the request's headers ask for, checked against the tenant. */
export interface CallOptions {
  priority: Priority;
  feature: string | undefined;
  /** Epoch ms: the call's deadline (X-Server-Timeout, else the upstream timeout): routing and attempts stop there. */
  deadline: number;
  /** Epoch ms: how long the call may wait in queues — admission, a coalesced call, an upstream connection. */
  waitDeadline: number;
  /** The client's X-Server-Timeout, when it sent one: the upstream is told the time left. */
  clientTimeoutMs: number | undefined;
  /** The response cache key, when the call uses the cache; undefined = bypass. */
  cacheKey: string | undefined;
}

/** The upstream side of a call, kept up to date by the route stage (also when it fails). */
export interface UpstreamTrack {
  /** performance.now() when routing began. */
  started: number | undefined;
  /** Until the upstream's part of the response head was known (relay's BeforeHead): the rest is the gateway's time. */
  waitMs: number;
  /** The upstream of the last attempt. */
  provider: Provider | undefined;
  attempts: number;
  /** HTTP status of the answer relayed (undefined: none came). */
  status: number | undefined;
}

export interface Call {
  readonly requestId: string;
  /** performance.now() when the request arrived. */
  readonly started: number;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly target: RouteTarget;
  /** Aborts the upstream work: the client went away, or the instance's drain deadline came. */
  readonly abort: AbortController;
  readonly trace: CallTrace;
  /** What the audit record and metrics get; stages fill it in as they succeed. */
  readonly record: CallRecord;
  readonly upstream: UpstreamTrack;

  identity?: Identity;
  resolved?: ResolvedCall;
  body?: ValidatedBody;
  verdict?: GuardVerdict;
  options?: CallOptions;
  /** An expired cache entry the tenant accepts when every upstream fails (cache.staleSeconds). */
  stale?: CacheHit;
  /** The tokens admission reserved for; the token hold to settle once the call is over. */
  estimate?: TokenEstimate;
  hold?: Hold | null;
  /** What was relayed from the upstream. */
  relayed?: RelayResult;
  /**
   * A call that failed without relaying anything, after some of its upstream calls had answered (gather.ts): what
   * those used, which Google bills.
   */
  spent?: UsageMetadataWire;
  /** A critical prompt's reviewed answer (DecodedBody.pregenerated); `served` once it answered the call. */
  pregenerated?: { entry: CacheEntry; served: boolean };
  /** Set when the answer came from the response cache instead. */
  fromCache?: { kind: "hit" | "coalesced" | "stale"; entry: CacheEntry };
  /** The error answered (or, for a stream cut after it started, the reason it ended). */
  failure?: GatewayError;
  /**
   * The call uses a tenant-owned resource (resources/ownership.ts): the upstream it must go to, and, for a context
   * cache, the name the upstream knows it by (written into the request in place of the client's).
   */
  pin?: Pin & { upstreamName?: string };
}
