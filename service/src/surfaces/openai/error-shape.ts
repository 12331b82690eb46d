/**
 * Errors on the OpenAI-compatible surface: OpenAI's body `{"error":{"message","type","param","code"}}` with the HTTP
 * status the gateway chose, for every error a client of this surface sees — the gateway's own (401, 404, 429, …),
 * the upstream's (Gemini's envelope, translated), and a stream's last event.
 *
 * The field a 400 is about travels inside the gateway as Google's own detail for it, a `google.rpc.BadRequest` field
 * violation (`invalidParam`), so it renders as OpenAI's `param` here and as a standard detail anywhere else.
 */
import type { ServerResponse } from "node:http";
import { writeJson } from "../../http/write.js";
import { GatewayError, type ErrorEnvelope } from "../../wire/errors.js";
import type { OpenAIErrorBody } from "../../wire/openai.js";

const BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest";
const ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo";

/** A 400 about one request field (`param`, OpenAI's spelling of its path, e.g. `messages[2].tool_call_id`). */
export function invalidParam(param: string, message: string): GatewayError {
  return new GatewayError(400, "INVALID_ARGUMENT", message, [
    { "@type": BAD_REQUEST, fieldViolations: [{ field: param, description: message }] },
  ]);
}

/**
 * OpenAI's error `type` by HTTP status. OpenAI itself answers 4xx with `invalid_request_error` (401 included, with
 * code `invalid_api_key`) and 5xx with `server_error`; the SDKs pick their error class by status, not by type.
 */
function typeFor(status: number): string {
  if (status === 429) return "rate_limit_error";
  return status >= 500 ? "server_error" : "invalid_request_error";
}

/** A Gemini error envelope (the gateway's or the upstream's) as OpenAI's error body. */
export function toOpenAIError(envelope: ErrorEnvelope): OpenAIErrorBody {
  const { code: status, message, details } = envelope.error;
  let param: string | null = null;
  let reason: string | undefined;
  for (const d of details ?? []) {
    if (d["@type"] === BAD_REQUEST && param === null) {
      const field = (d.fieldViolations as { field?: unknown }[] | undefined)?.[0]?.field;
      if (typeof field === "string") param = field;
    } else if (d["@type"] === ERROR_INFO && reason === undefined && typeof d.reason === "string") {
      reason = d.reason.toLowerCase();
    }
  }
  const code = status === 401 ? "invalid_api_key" : (reason ?? String(envelope.error.status).toLowerCase());
  return { error: { message, type: typeFor(status), param, code } };
}

export function openAIErrorBytes(envelope: ErrorEnvelope): Buffer {
  return Buffer.from(JSON.stringify(toOpenAIError(envelope)));
}

/** The gateway's own error on a path of this surface that express answers (model list, 404, 405). */
export function writeOpenAIError(res: ServerResponse, err: GatewayError): number {
  if (res.headersSent) {
    if (!res.writableEnded) res.end();
    return 0;
  }
  return writeJson(res, err.httpCode, toOpenAIError(err.toEnvelope()), err.headers);
}
