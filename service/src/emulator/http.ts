/**
 * Plain node:http plumbing shared by the model calls and the control plane: body reading with a size limit, JSON and
 * error writers that always add `x-emulator-region`, and the per-call bookkeeping (stats + request log) that runs
 * exactly once per model call, whether it ended normally or the client went away.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { constants as h2, type ServerHttp2Stream } from "node:http2";
import { errors, type GatewayError } from "../wire/errors.js";
import type { EmulatorState } from "./state.js";

/** Request bodies up to 64 MB, like Vertex's inline-data limit. */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;

const JSON_TYPE = "application/json; charset=UTF-8";

/** One model call in flight. */
export interface Call {
  state: EmulatorState;
  req: IncomingMessage;
  res: ServerResponse;
  at: number;
  body: string;
  finished: boolean;
  /** A pending latency wait, cleared if the client leaves. */
  timer: NodeJS.Timeout | undefined;
}

export function startCall(state: EmulatorState, req: IncomingMessage, res: ServerResponse): Call {
  const call: Call = { state, req, res, at: Date.now(), body: "", finished: false, timer: undefined };
  state.stats.begin(req.httpVersionMajor === 2);
  // 'close' also fires after a normal end; finishCall ignores the second time. Before the headers went out the
  // client cancelled, which Google logs as 499.
  res.once("close", () => finishCall(call, res.headersSent ? res.statusCode : 499));
  return call;
}

export function finishCall(call: Call, status: number): void {
  if (call.finished) return;
  call.finished = true;
  if (call.timer) clearTimeout(call.timer);
  const { state, req } = call;
  state.stats.end(status);
  state.log.add({
    at: call.at,
    method: req.method ?? "",
    path: req.url ?? "",
    rawHeaders: req.rawHeaders,
    body: call.body,
    status,
  });
}

export function sendJson(
  state: EmulatorState,
  res: ServerResponse,
  status: number,
  body: string,
  extra?: Readonly<Record<string, string>>,
): void {
  const headers: Record<string, string | number> = {
    "content-type": JSON_TYPE,
    "content-length": Buffer.byteLength(body),
    "x-emulator-region": state.settings.region,
  };
  if (extra) Object.assign(headers, extra);
  res.writeHead(status, headers);
  res.end(body);
}

export function sendError(state: EmulatorState, res: ServerResponse, err: GatewayError): void {
  sendJson(state, res, err.httpCode, JSON.stringify(err.toEnvelope()), err.headers);
}

/** Ends a model call with `status` and a JSON body, and books it. */
export function endCall(call: Call, status: number, body: string): void {
  if (call.finished || call.res.destroyed) return;
  sendJson(call.state, call.res, status, body);
  finishCall(call, status);
}

export function failCall(call: Call, err: GatewayError): void {
  if (call.finished || call.res.destroyed) return;
  sendError(call.state, call.res, err);
  finishCall(call, err.httpCode);
}

/**
 * Reads the whole body as UTF-8 text (decoded once, after concatenation, so multi-byte characters split across
 * packets survive). Over the limit the client gets 413 and the rest of the upload is discarded.
 */
export function readBody(
  state: EmulatorState,
  req: IncomingMessage,
  res: ServerResponse,
  onBody: (body: string) => void,
  onTooLarge?: () => void,
): void {
  const tooLarge = () => {
    sendError(state, res, errors.payloadTooLarge(MAX_BODY_BYTES));
    onTooLarge?.();
  };
  // Without a listener an aborted upload's 'error' would be thrown; 'close' on the response does the bookkeeping.
  req.on("error", noop);
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > MAX_BODY_BYTES) {
    res.shouldKeepAlive = false;
    tooLarge();
    req.resume();
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  req.on("data", (chunk: Buffer) => {
    if (over) return;
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      over = true;
      chunks.length = 0;
      res.shouldKeepAlive = false;
      tooLarge();
      return;
    }
    chunks.push(chunk);
  });
  req.on("end", () => {
    if (over) return;
    if (chunks.length === 0) onBody("");
    else if (chunks.length === 1) onBody(chunks[0]!.toString("utf8"));
    else onBody(Buffer.concat(chunks, size).toString("utf8"));
  });
}

/**
 * Cuts a response short once what was written is flushed (Node 24 flushes a response's first writes asynchronously:
 * the empty write's callback waits for them), as a crashed or preempted server would. HTTP/1.1: the socket ends
 * without the response's end. HTTP/2: only this stream is reset — ending the socket would cut every stream sharing it.
 */
export function cutShort(res: ServerResponse): void {
  res.write("", () => {
    const stream = (res as { stream?: ServerHttp2Stream }).stream;
    if (stream) stream.close(h2.NGHTTP2_INTERNAL_ERROR);
    else res.socket?.end();
  });
}

function noop(): void {}
