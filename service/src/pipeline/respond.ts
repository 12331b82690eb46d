/**
 * The answers the gateway writes itself, through the surface's encoder: an error (before anything was sent), and an
 * answer from the response cache. Upstream answers are relayed by relay.ts, through the same encoder.
 */
import type { ServerResponse } from "node:http";
import { streamChunks, unaryBody, type CacheEntry } from "../cache/response-cache.js";
import type { GatewayError } from "../wire/errors.js";
import type { ResponseEncoder } from "./encoder.js";

/** Response header with the gateway's own time (ms) up to the response head: lets load tests compute overhead. */
export const OVERHEAD_HEADER = "x-gateway-overhead-ms";

/**
 * The error in the surface's envelope, if nothing has been sent yet; otherwise ends the response (a stream that
 * started already carries its own error event). Returns the bytes of body written.
 */
export function respondError(res: ServerResponse, encoder: ResponseEncoder, err: GatewayError): number {
  if (res.headersSent) {
    if (!res.writableEnded) res.end();
    return 0;
  }
  const body = encoder.error(err.toEnvelope());
  res.writeHead(err.httpCode, {
    ...err.headers,
    "content-type": "application/json; charset=UTF-8",
    "content-length": body.length,
  });
  res.end(body);
  return body.length;
}

/** A cached answer, as the client asked for it (unary, or a stream replayed at once). Returns the bytes written. */
export function respondCached(
  res: ServerResponse,
  encoder: ResponseEncoder,
  entry: CacheEntry,
  o: { stream: boolean; headers: Readonly<Record<string, string>> },
): number {
  let out: Buffer;
  if (o.stream) {
    const chunks = streamChunks(entry);
    let text = chunks.length ? encoder.streamStart() : "";
    for (const [i, chunk] of chunks.entries()) text += encoder.streamEvent(chunk, i);
    out = Buffer.from(text + encoder.streamEnd(chunks.length));
  } else {
    out = encoder.unary(Buffer.from(unaryBody(entry)), entry.usage);
  }
  res.writeHead(200, {
    ...o.headers,
    "content-type": o.stream ? encoder.streamContentType : encoder.unaryContentType,
    "content-length": out.length,
  });
  res.end(out);
  return out.length;
}
