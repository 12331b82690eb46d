/**
 * Writing JSON answers on paths that speak Google's error envelope whatever the surface: probes, admin endpoints,
 * the budget push endpoint, and router-level refusals. Model calls answer through their surface's encoder instead
 * (pipeline/respond.ts), which may speak another envelope (the OpenAI surface).
 */
import type { ServerResponse } from "node:http";
import type { GatewayError } from "../wire/errors.js";

const JSON_TYPE = "application/json; charset=UTF-8";

/**
 * Writes the Gemini error envelope if nothing has been sent yet; otherwise ends the response. Returns the bytes of
 * body written (for the audit record).
 */
export function writeError(res: ServerResponse, err: GatewayError): number {
  if (res.headersSent) {
    if (!res.writableEnded) res.end();
    return 0;
  }
  return writeJson(res, err.httpCode, err.toEnvelope(), err.headers);
}

/** A JSON answer with its length; returns the bytes of body written. */
export function writeJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers?: Readonly<Record<string, string>>,
): number {
  const text = JSON.stringify(body);
  const bytes = Buffer.byteLength(text);
  res.writeHead(status, { ...headers, "content-type": JSON_TYPE, "content-length": bytes });
  res.end(text);
  return bytes;
}
