/**
 * Reading the request body as raw bytes, under three limits, each refused the moment it is crossed:
 * - size: 413 over `maxBytes` (declared Content-Length or bytes received);
 * - parse budget: the JSON structure is scanned as the chunks arrive (json-scan.ts), so a body with too many JSON
 *   values (413) or nested too deep (400) is refused before anything parses it;
 * - time: 408 when the whole body has not arrived `timeoutMs` after reading began, so a client that sends half a body
 *   and stops cannot hold a connection and its buffers forever. The 408 carries `connection: close`: the rest of the
 *   body will never be read, so node closes the socket once the answer is flushed.
 * No JSON parsing middleware: the bytes are what we forward, and parsing happens once, in validate.ts.
 */
import type { IncomingMessage } from "node:http";
import { errors, GatewayError } from "../wire/errors.js";
import { JsonScanner, MAX_JSON_DEPTH } from "./json-scan.js";

export interface BodyLimits {
  /** 413 above this many bytes. */
  readonly maxBytes: number;
  /** 408 when the body is not complete this long after reading began. */
  readonly timeoutMs: number;
  /** 413 above this many JSON values (json-scan.ts). */
  readonly maxJsonValues: number;
}

export function readBody(req: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  const type = req.headers["content-type"];
  // A missing content type is accepted as JSON (some HTTP clients omit it); a different one is a client mistake.
  if (type !== undefined && !/^application\/json\s*(;|$)/i.test(type)) {
    return Promise.reject(errors.unsupportedMediaType(type));
  }
  const { maxBytes } = limits;
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > maxBytes) return Promise.reject(errors.payloadTooLarge(maxBytes));

  return new Promise<Buffer>((resolve, reject) => {
    const scanner = new JsonScanner({ maxValues: limits.maxJsonValues, maxDepth: MAX_JSON_DEPTH });
    const chunks: Buffer[] = [];
    let size = 0;

    const onData = (chunk: Buffer) => {
      size += chunk.length;
      const refusal = size > maxBytes ? errors.payloadTooLarge(maxBytes) : scanner.feed(chunk);
      if (refusal) fail(refusal);
      else chunks.push(chunk);
    };
    const onEnd = () => {
      stop();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    // 'close' before 'end' (or 'error', e.g. ECONNRESET): the client went away mid-body.
    const onGone = () => fail(errors.clientClosed());
    const timer = setTimeout(() => fail(errors.bodyTimeout(limits.timeoutMs)), limits.timeoutMs);

    function stop(): void {
      clearTimeout(timer);
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("close", onGone);
      req.off("error", onGone);
    }
    function fail(err: GatewayError): void {
      stop();
      chunks.length = 0;
      discardRest(req, maxBytes - size);
      reject(err);
    }

    req.on("data", onData);
    req.on("end", onEnd);
    req.on("close", onGone);
    req.on("error", onGone);
  });
}

/**
 * After a refusal the answer goes out while the client may still be sending. Closing at once would make the kernel
 * answer the unread bytes with a reset, which can destroy our answer before the client reads it; so the rest is read
 * and dropped (nothing is kept, nothing is scanned) — up to what the size limit allows, after which the socket is
 * destroyed: a chunked body that never ends cannot keep the connection busy.
 */
function discardRest(req: IncomingMessage, allowance: number): void {
  let left = Math.max(0, allowance);
  req.on("error", noop); // a reset while discarding is expected and harmless
  req.on("data", (chunk: Buffer) => {
    left -= chunk.length;
    if (left < 0) req.socket.destroy();
  });
  req.resume();
}

function noop(): void {}
