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
  | "RESOURCE_EXHAUSTED"
  | "CANCELLED"
  | "INTERNAL"
  | "UNIMPLEMENTED"
  | "UNAVAILABLE"
  | "DEADLINE_EXCEEDED";

/** A `google.rpc.*` detail object, e.g. `{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"2s"}`. */
export type ErrorDetail = { "@type": string } & Record<string, unknown>;

export interface ErrorEnvelope {
  error: { code: number; message: string; status: GoogleStatus | string; details?: ErrorDetail[] };
}

export class GatewayError extends Error {
  constructor(
    readonly httpCode: number,
    readonly status: GoogleStatus,
    message: string,
    readonly details?: ErrorDetail[],
    /** Extra response headers, e.g. Retry-After. */
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(message);
    this.name = "GatewayError";
  }

  toEnvelope(): ErrorEnvelope {
    const error: ErrorEnvelope["error"] = { code: this.httpCode, message: this.message, status: this.status };
    if (this.details?.length) error.details = this.details;
    return { error };
  }
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
  clientClosed: () => new GatewayError(499, "CANCELLED", "The client closed the request."),
  draining: () =>
    new GatewayError(503, "UNAVAILABLE", "The gateway instance is shutting down; retry the request.", undefined, {
      "retry-after": "1",
    }),
  upstreamUnreachable: (why: string) =>
    new GatewayError(503, "UNAVAILABLE", `The upstream model service is unreachable: ${why}`),
  storeUnavailable: () =>
    new GatewayError(503, "UNAVAILABLE", "The gateway's shared store is unreachable; retry shortly.", undefined, {
      "retry-after": "1",
    }),
  upstreamTimeout: () =>
    new GatewayError(504, "DEADLINE_EXCEEDED", "The upstream model service did not answer in time."),
  upstreamBroken: (why: string) => new GatewayError(502, "UNAVAILABLE", `The upstream response was malformed: ${why}`),
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
