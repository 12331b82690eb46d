/**
 * How a surface writes a model call's outcome to its client. Types only.
 *
 * The pipeline produces Gemini answers — the upstream's bytes as they arrive, a cached copy, or an error — and the
 * surface that decoded the request supplies the encoder that turns them into its wire format: Google's own (the
 * Gemini Developer and Vertex paths: bytes unchanged, streams as SSE or a progressive JSON array) or another API's.
 * pipeline/respond.ts and pipeline/relay.ts are the only writers of a model call's response, and they write only
 * through an encoder: a surface owns its format, and nothing else writes a response.
 */
import type { ErrorEnvelope } from "../wire/errors.js";
import type { UsageMetadataWire } from "../wire/gemini.js";

export interface ResponseEncoder {
  /** Content type of a successful unary answer, and of a stream. */
  readonly unaryContentType: string;
  readonly streamContentType: string;
  /**
   * A whole answer, given as the upstream's Gemini JSON bytes: sent unchanged (Gemini surfaces) or translated. `usage`
   * is what the gateway read as the answer's usage, for answers whose body does not carry it (a gathered embedding
   * answer); Gemini surfaces ignore it.
   */
  unary(body: Buffer, usage?: UsageMetadataWire): Buffer;
  /** Bytes before the first stream event (Google's progressive JSON array opens with "["). */
  streamStart(): string;
  /** One stream event, given as one Gemini chunk's JSON; `index` counts from 0. */
  streamEvent(payload: string, index: number): string;
  /** Bytes after the last event (`events` were sent). */
  streamEnd(events: number): string;
  /** An error written before anything was sent: the body in the surface's envelope. */
  error(envelope: ErrorEnvelope): Buffer;
  /**
   * An upstream's error answer, given as its body (checked to be a Gemini error envelope) and the parsed envelope:
   * Gemini surfaces relay the bytes unchanged; others translate.
   */
  upstreamError(body: Buffer, envelope: ErrorEnvelope): Buffer;
  /** An error after a stream started: the event that ends it, before streamEnd. */
  streamError(envelope: ErrorEnvelope, index: number): string;
}
