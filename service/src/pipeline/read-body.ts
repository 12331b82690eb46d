/**
 * Reading the request body as raw bytes, with a size limit and a content-type check. No JSON parsing middleware:
 * the bytes are what we forward, and parsing happens once, in validate.ts.
 */
import type { IncomingMessage } from "node:http";
import { errors, GatewayError } from "../wire/errors.js";

export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const type = req.headers["content-type"];
  // A missing content type is accepted as JSON (some HTTP clients omit it); a different one is a client mistake.
  if (type !== undefined && !/^application\/json\s*(;|$)/i.test(type)) throw errors.unsupportedMediaType(type);
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > maxBytes) throw errors.payloadTooLarge(maxBytes);

  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) throw errors.payloadTooLarge(maxBytes);
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw errors.clientClosed();
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}
