/**
 * The one error type of the gateway and its registry (after fastify's lib/errors.js): every error a client can see is
 * built here, carries its HTTP code and Google status, and renders as the Gemini error envelope
 * `{"error":{"code","message","status","details"?}}`. Leaf module: imports nothing from the project.
 */

export type GoogleStatus =
  | "INVALID_ARGUMENT"
  | "FAILED_PRECONDITION"
  | "OUT_OF_RANGE"
  | "UNAUTHENTICATED"
  | "PERMISSION_DENIED"
  | "NOT_FOUND"
  | "ABORTED"
  | "RESOURCE_EXHAUSTED"
  | "CANCELLED"
  | "INTERNAL"
  | "UNIMPLEMENTED"
  | "UNAVAILABLE"
  | "DEADLINE_EXCEEDED"
  | "UNKNOWN";

/** A `google.rpc.*` detail object, e.g. `{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"2s"}`. */
export type ErrorDetail = { "@type": string } & Record<string, unknown>;

export interface ErrorEnvelope {
  error: { code: number; message: string; status: GoogleStatus | string; details?: ErrorDetail[] };
}

/**
 * What went wrong, as far as routing cares. Retrying and breaker-counting follow from the kind (KIND_TRAITS), so the
 * router never guesses from an HTTP code: a 504 can be the upstream's slowness (its fault) or the client's own deadline
 * (nobody's fault), and only the first may open a circuit that every tenant shares.
 */
export type ErrorKind =
  /** The client's request, key, model or limits: the same call elsewhere gets the same answer. */
  | "client"
  /** The call's own deadline (X-Server-Timeout) or cancellation ended it: says nothing about any upstream. */
  | "deadline"
  /** The gateway's own limits or state: shutting down, no upstream connection free in time, shared store down. */
  | "gateway"
  /** No connection, a reset, or a transport failure on the way to the upstream. */
  | "upstream_unreachable"
  /** No response head within the attempt's own time budget (`retry.attemptTimeoutMs`), which the gateway chose. */
  | "upstream_timeout"
  /** An answer that is not what the protocol promises (a malformed body, an oversized error). */
  | "upstream_malformed"
  /** A bug in the gateway. */
  | "internal";

/** retryable: another attempt (another upstream) may succeed · upstreamFault: counts against the upstream's breaker. */
export const KIND_TRAITS: Readonly<Record<ErrorKind, { retryable: boolean; upstreamFault: boolean }>> = {
  client: { retryable: false, upstreamFault: false },
  deadline: { retryable: false, upstreamFault: false },
  gateway: { retryable: false, upstreamFault: false },
  upstream_unreachable: { retryable: true, upstreamFault: true },
  upstream_timeout: { retryable: true, upstreamFault: true },
  upstream_malformed: { retryable: true, upstreamFault: true },
  internal: { retryable: false, upstreamFault: false },
};

export class GatewayError extends Error {
  /** See ErrorKind; by default a 4xx is the client's and a 5xx the gateway's. */
  readonly kind: ErrorKind;

  constructor(
    readonly httpCode: number,
    readonly status: GoogleStatus,
    message: string,
    readonly details?: ErrorDetail[],
    /** Extra response headers, e.g. Retry-After. */
    readonly headers?: Readonly<Record<string, string>>,
    kind?: ErrorKind,
  ) {
    super(message);
    this.name = "GatewayError";
    this.kind = kind ?? (httpCode < 500 ? "client" : "internal");
  }

  /** Worth another attempt, on another upstream or after a backoff. */
  get retryable(): boolean {
    return KIND_TRAITS[this.kind].retryable;
  }

  /** The upstream's own failure: counted by its circuit breaker. */
  get upstreamFault(): boolean {
    return KIND_TRAITS[this.kind].upstreamFault;
  }

  toEnvelope(): ErrorEnvelope {
    const error: ErrorEnvelope["error"] = { code: this.httpCode, message: this.message, status: this.status };
    if (this.details?.length) error.details = this.details;
    return { error };
  }
}

/**
 * The one table from HTTP code to Google status, for answers that carry no status of their own (an upstream's
 * non-JSON error body, the audit record of an upstream error). Google's mapping (google.rpc.Code ↔ HTTP).
 */
const STATUS_BY_HTTP: Readonly<Record<number, GoogleStatus>> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  408: "DEADLINE_EXCEEDED",
  409: "ABORTED",
  413: "INVALID_ARGUMENT",
  422: "INVALID_ARGUMENT", // FastAPI-based servers (vLLM among them) report request validation failures as 422
  429: "RESOURCE_EXHAUSTED",
  499: "CANCELLED",
  500: "INTERNAL",
  501: "UNIMPLEMENTED",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};

export function statusForHttp(code: number): GoogleStatus {
  return STATUS_BY_HTTP[code] ?? (code >= 500 ? "UNAVAILABLE" : code >= 400 ? "FAILED_PRECONDITION" : "UNKNOWN");
}

/** Every error the gateway itself produces. Messages say what was wrong and, where useful, what to do. */
export const errors = {
  // 400
  invalidJson: (why: string) => new GatewayError(400, "INVALID_ARGUMENT", `Invalid JSON payload received. ${why}`),
  invalidArgument: (message: string) => new GatewayError(400, "INVALID_ARGUMENT", message),
  unsupportedMediaType: (got: string) =>
    new GatewayError(415, "INVALID_ARGUMENT", `Content-Type must be application/json, got "${truncate(got, 80)}".`),
  injectionBlocked: (categories: readonly string[]) =>
    new GatewayError(
      400,
      "INVALID_ARGUMENT",
      `The prompt was blocked by the gateway's prompt-injection policy (${categories.join(", ") || "high score"}). ` +
        "Rephrase the request, or ask the gateway operator to review the policy for your tenant.",
    ),
  modelArmorConflict: (field: "safetySettings" | "modelArmorConfig") =>
    new GatewayError(
      400,
      "INVALID_ARGUMENT",
      field === "safetySettings"
        ? "This tenant's requests are screened by Model Armor, which Vertex AI does not accept together with " +
            "safetySettings: remove safetySettings (the Model Armor template sets the filters)."
        : "This tenant's Model Armor templates are set by the gateway: remove modelArmorConfig from the request.",
    ),
  payloadTooLarge: (limit: number) =>
    new GatewayError(413, "INVALID_ARGUMENT", `Request payload size exceeds the limit: ${limit} bytes.`),
  // The parse budget (pipeline/json-scan.ts): refused while the body arrives, before it is parsed.
  tooManyJsonValues: (limit: number) =>
    new GatewayError(
      413,
      "INVALID_ARGUMENT",
      `Request payload has more JSON values than the gateway's limit of ${limit} ` +
        "(objects, arrays, strings, numbers, booleans and nulls, at any depth).",
    ),
  jsonTooDeep: (limit: number) =>
    new GatewayError(
      400,
      "INVALID_ARGUMENT",
      `Invalid JSON payload received. JSON is nested deeper than ${limit} levels, which Google's API refuses.`,
    ),
  /** Protobuf's JSON parser refuses a field set twice, and the lowerCamel and snake_case names are the same field. */
  duplicateField: (path: string, camel: string, snake: string) =>
    new GatewayError(
      400,
      "INVALID_ARGUMENT",
      `Invalid JSON payload received. Duplicate field: "${truncate(path, 200)}" has both "${camel}" and "${snake}", ` +
        "two names of the same field; send one.",
    ),
  // 408: the body did not arrive in time. The rest of it will never be read, so the connection is closed after the
  // answer (`connection: close`), and the client's SDK retries 408 on a new connection.
  bodyTimeout: (limitMs: number) =>
    new GatewayError(
      408,
      "DEADLINE_EXCEEDED",
      `The request body was not received in full within ${limitMs} ms.`,
      undefined,
      { connection: "close" },
    ),
  // 401 / 403
  missingKey: () =>
    new GatewayError(
      401,
      "UNAUTHENTICATED",
      "Request is missing a gateway API key. Send it in the x-goog-api-key header or as Authorization: Bearer <key>.",
    ),
  unknownKey: () => new GatewayError(401, "UNAUTHENTICATED", "API key not valid. Please pass a valid gateway API key."),
  adminOnly: () =>
    new GatewayError(
      401,
      "UNAUTHENTICATED",
      "This endpoint needs the gateway's admin key as Authorization: Bearer <key>.",
    ),
  modelNotAllowed: (tenant: string, model: string) =>
    new GatewayError(403, "PERMISSION_DENIED", `Tenant "${tenant}" is not allowed to use model "${model}".`),
  // 404 / 405
  notFound: (path: string) => new GatewayError(404, "NOT_FOUND", `No route for ${truncate(path, 200)}.`),
  unknownModel: (model: string) =>
    new GatewayError(404, "NOT_FOUND", `Model "${truncate(model, 128)}" is not served by this gateway.`),
  unsupportedMethod: (method: string) =>
    new GatewayError(404, "NOT_FOUND", `Method "${truncate(method, 64)}" is not supported by this gateway.`),
  /** The model is served, but not by this method (an embedding model asked to generate, or the reverse). */
  methodNotForModel: (method: string, model: string, serving: readonly string[]) =>
    new GatewayError(
      404,
      "NOT_FOUND",
      `Model "${truncate(model, 128)}" is not supported for ${truncate(method, 64)} on this gateway; it serves ` +
        `${serving.join(", ") || "no method"}.`,
    ),
  methodNotAllowed: (verb: string) =>
    new GatewayError(405, "INVALID_ARGUMENT", `HTTP method ${verb} is not allowed here.`),
  // 429
  rateLimited: (message: string, retryAfterMs: number | null, headers: Readonly<Record<string, string>> = {}) => {
    const seconds = retryAfterMs === null ? undefined : Math.max(1, Math.ceil(retryAfterMs / 1000));
    return new GatewayError(
      429,
      "RESOURCE_EXHAUSTED",
      message,
      seconds === undefined
        ? undefined
        : [
            {
              "@type": "type.googleapis.com/google.rpc.RetryInfo",
              retryDelay: `${(retryAfterMs! / 1000).toFixed(3)}s`,
            },
          ],
      seconds === undefined ? headers : { ...headers, "retry-after": String(seconds) },
    );
  },
  // 499 / 5xx
  clientClosed: () =>
    new GatewayError(499, "CANCELLED", "The client closed the request.", undefined, undefined, "deadline"),
  draining: () =>
    new GatewayError(
      503,
      "UNAVAILABLE",
      "The gateway instance is shutting down; retry the request.",
      undefined,
      { "retry-after": "1" },
      "gateway",
    ),
  /** A stream the instance had to end because its shutdown deadline came first (sent as the stream's last event). */
  cutByShutdown: () =>
    new GatewayError(
      503,
      "UNAVAILABLE",
      "The gateway instance shut down before this stream finished; the answer is incomplete. Retry the request.",
      undefined,
      { "retry-after": "1" },
      "gateway",
    ),
  /** The call's own deadline (X-Server-Timeout) passed: before any attempt, while waiting, or during one. */
  deadlineExceeded: (where: string) =>
    new GatewayError(
      504,
      "DEADLINE_EXCEEDED",
      `The request's deadline (X-Server-Timeout) passed ${where}.`,
      undefined,
      undefined,
      "deadline",
    ),
  /** Every connection this instance may open to the upstream stayed busy until the call's wait deadline. */
  upstreamSaturated: (upstream: string, connections: number) =>
    new GatewayError(
      503,
      "UNAVAILABLE",
      `All ${connections} connections of this gateway instance to upstream ${upstream} stayed busy until the ` +
        "request's wait deadline; retry shortly (another instance may have room).",
      undefined,
      { "retry-after": "1" },
      "gateway",
    ),
  upstreamUnreachable: (why: string) =>
    new GatewayError(
      503,
      "UNAVAILABLE",
      `The upstream model service is unreachable: ${why}`,
      undefined,
      undefined,
      "upstream_unreachable",
    ),
  /** Every upstream of the route has its circuit open: the gateway's own decision, not a new upstream failure. */
  circuitOpen: (model: string) =>
    new GatewayError(
      503,
      "UNAVAILABLE",
      `The upstream model service is unreachable: no upstream for ${model} can take the call now (circuit open)`,
      undefined,
      { "retry-after": "1" },
      "gateway",
    ),
  /** A call using an upstream resource (cache, interaction, batch job) whose upstream cannot answer: never failed over. */
  pinnedUpstreamUnavailable: (resource: string, upstream: string, why: string) =>
    new GatewayError(
      503,
      "UNAVAILABLE",
      `${truncate(resource, 200)} lives on upstream "${upstream}", which cannot answer now (${truncate(why, 300)}). ` +
        "Calls that use it are not sent to another upstream, which could not see it; retry later, or recreate it.",
      undefined,
      { "retry-after": "1" },
      "upstream_unreachable",
    ),
  storeUnavailable: () =>
    new GatewayError(
      503,
      "UNAVAILABLE",
      "The gateway's shared store is unreachable; retry shortly.",
      undefined,
      { "retry-after": "1" },
      "gateway",
    ),
  upstreamTimeout: () =>
    new GatewayError(
      504,
      "DEADLINE_EXCEEDED",
      "The upstream model service did not answer in time.",
      undefined,
      undefined,
      "upstream_timeout",
    ),
  upstreamBroken: (why: string) =>
    new GatewayError(
      502,
      "UNAVAILABLE",
      `The upstream response was malformed: ${why}`,
      undefined,
      undefined,
      "upstream_malformed",
    ),
  internal: () =>
    new GatewayError(500, "INTERNAL", "Internal error in the gateway. The request id identifies it in the logs."),
} as const;

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

/** Turns anything thrown into a GatewayError; unknown errors become a generic 500 (never a stack trace). */
export function toGatewayError(err: unknown): GatewayError {
  return err instanceof GatewayError ? err : errors.internal();
}
