/**
 * What every HTTP upstream shares: the keep-alive undici pool with model-call timeouts and its connection slots,
 * reading a response header, and turning network failures into Gemini-shaped errors.
 */
import { Agent, errors as undiciErrors, type Dispatcher } from "undici";
import { H2_STREAMS_PER_CONNECTION } from "../config/connections.js";
import type { UpstreamProtocol } from "../config/env.js";
import { errors } from "../wire/errors.js";
import type { Release } from "./connection-slots.js";
import { H2Connections } from "./h2-connections.js";

/**
 * A keep-alive pool for model calls: unary generations can take minutes before the first header byte, and streams can
 * pause between chunks, so both waits are the upstream timeout. `http1` (the default): an undici Agent, one HTTP/1.1
 * connection per call in flight. `http2`: the calls to `origin` share HTTP/2 connections (h2-connections.ts), with the
 * same timeouts; `connections` is then the calls in flight it is sized for, not sockets.
 */
export function upstreamAgent(
  o: {
    connections: number;
    timeoutMs: number;
    protocol?: UpstreamProtocol | undefined;
    onHttp1?: (origin: string) => void;
  },
  origin: string,
): Dispatcher {
  if (o.protocol === "http2") {
    return new H2Connections({
      origin,
      maxCalls: o.connections,
      streamsPerConnection: H2_STREAMS_PER_CONNECTION,
      timeoutMs: o.timeoutMs,
      connectTimeoutMs: 10_000,
      onHttp1: o.onHttp1,
    });
  }
  return new Agent({
    connections: o.connections,
    keepAliveTimeout: 30_000,
    headersTimeout: o.timeoutMs,
    bodyTimeout: o.timeoutMs,
    connect: { timeout: 10_000 },
  });
}

/**
 * Gives a request's connection slot back when its response body is done: read to the end or destroyed (undici's body
 * is a Readable that emits `close` either way).
 */
export function releaseWhenClosed(
  body: { closed?: boolean; once(event: "close", f: () => void): unknown },
  release: Release,
): void {
  if (body.closed) release();
  else body.once("close", release);
}

/** The first value of a response header. */
export function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Network failures become Gemini-shaped errors; aborts propagate unchanged so the caller sees its own abort. */
export function translateNetworkError(err: unknown): unknown {
  if (err instanceof undiciErrors.RequestAbortedError || (err as Error)?.name === "AbortError") return err;
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError) {
    return errors.upstreamTimeout();
  }
  if (err instanceof undiciErrors.ConnectTimeoutError) return errors.upstreamUnreachable("connect timeout");
  const code = (err as { code?: string })?.code;
  return errors.upstreamUnreachable(code ?? (err as Error)?.message ?? "unknown network error");
}
