/**
 * Stage: relay. The upstream's answer goes to the client through the surface's encoder (encoder.ts), with the
 * upstream's status: a unary answer or an error as one body, a stream one event at a time as the upstream's SSE
 * events arrive. Usage and Model Armor blocks are read on the way through for accounting; nothing else is parsed.
 */
import type { ServerResponse } from "node:http";
import { errors, GatewayError, statusForHttp, toGatewayError, type ErrorEnvelope } from "../wire/errors.js";
import type { GenerateContentResponseWire, UsageMetadataWire } from "../wire/gemini.js";
import { SseParser } from "../wire/sse.js";
import type { UpstreamResponse } from "../upstream/provider.js";
import { translateNetworkError } from "../upstream/http.js";
import { estimateChunkOutputTokens } from "../accounting/estimate.js";
import type { ResponseEncoder } from "./encoder.js";
import type { RelayHooks } from "./resources/context.js";

export interface RelayResult {
  status: number;
  usage: UsageMetadataWire | undefined;
  /** Model Armor stopped the call: on the prompt (promptFeedback.blockReason) or the response (finishReason). */
  modelArmorBlock: "prompt" | "response" | undefined;
  responseBytes: number;
  /** Milliseconds from relay start to the first byte of body written (streams: time to first chunk). */
  firstChunkMs: number | undefined;
  /** Set when a stream broke after it had started; the client got an error event. */
  streamError: string | undefined;
  /** The client went away mid-stream: what was relayed until then is in this result (for accounting). */
  clientClosed: boolean;
  /** The instance's drain deadline ended the stream: the client got an UNAVAILABLE error event as the last one. */
  cutByShutdown: boolean;
  /**
   * Streams: output tokens estimated from the text relayed (accounting/estimate.ts) — what a stream cut before its
   * final chunk is charged, since only the final chunk carries the output count. 0 for unary answers.
   */
  producedOutputTokens: number;
  /** With `capture`: the answer as Gemini response JSON strings (one, or one per chunk) when it came whole. */
  captured: string[] | undefined;
}

const MAX_ERROR_BODY = 1024 * 1024;

/**
 * Called just before the response head is written, with the moment the gateway stopped waiting on the upstream for
 * it (unary: whole body received; stream: headers received), so the caller can add headers such as the overhead.
 */
export type BeforeHead = (upstreamDoneAt: number) => void;

export interface RelayOptions {
  /** The surface's encoder: every byte sent goes through it. */
  encoder: ResponseEncoder;
  stream: boolean;
  beforeHead: BeforeHead;
  /** Keep the answer's chunks (for the response cache). */
  capture: boolean;
  /** Aborts when the instance's drain deadline comes: a stream still running then ends with an error event. */
  cut: AbortSignal;
  /** Answers that are not Gemini responses (interactions, caches): how usage is read, and a hook before writing. */
  hooks?: RelayHooks;
}

export async function relay(upstream: UpstreamResponse, res: ServerResponse, o: RelayOptions): Promise<RelayResult> {
  if (upstream.status < 200 || upstream.status >= 300) return relayError(upstream, res, o);
  return o.stream ? relayStream(upstream, res, o) : relayUnary(upstream, res, o);
}

async function relayUnary(upstream: UpstreamResponse, res: ServerResponse, o: RelayOptions): Promise<RelayResult> {
  const started = performance.now();
  const body = await collect(upstream, Infinity);
  o.beforeHead(performance.now());
  const text = body.toString("utf8");
  const { usage, modelArmorBlock } = o.hooks?.usageOf
    ? { usage: o.hooks.usageOf(text), modelArmorBlock: undefined }
    : inspect(text);
  if (o.hooks?.onFirst) await o.hooks.onFirst(text);
  const out = o.encoder.unary(body, usage);
  res.writeHead(upstream.status, { "content-type": o.encoder.unaryContentType, "content-length": out.length });
  res.end(out);
  return {
    ...NOTHING_RELAYED,
    status: upstream.status,
    usage,
    modelArmorBlock,
    responseBytes: out.length,
    firstChunkMs: performance.now() - started,
    captured: o.capture && upstream.status === 200 ? [text] : undefined,
  };
}

/**
 * Upstream errors keep their status, Google status, message and details (Gemini surfaces get the bytes unchanged);
 * a body that is not a Gemini error envelope is wrapped in one.
 */
async function relayError(upstream: UpstreamResponse, res: ServerResponse, o: RelayOptions): Promise<RelayResult> {
  const body = await collect(upstream, MAX_ERROR_BODY);
  o.beforeHead(performance.now());
  const parsed = errorEnvelopeOf(body);
  const envelope: ErrorEnvelope = parsed ?? {
    error: {
      code: upstream.status,
      message: `The upstream answered HTTP ${upstream.status} without a Gemini error body.`,
      status: statusForHttp(upstream.status),
    },
  };
  const out = parsed ? o.encoder.upstreamError(body, parsed) : o.encoder.error(envelope);
  const headers: Record<string, string | number> = { "content-type": JSON_TYPE, "content-length": out.length };
  if (upstream.retryAfter) headers["retry-after"] = upstream.retryAfter;
  res.writeHead(upstream.status, headers);
  res.end(out);
  return { ...NOTHING_RELAYED, status: upstream.status, responseBytes: out.length };
}

async function relayStream(upstream: UpstreamResponse, res: ServerResponse, o: RelayOptions): Promise<RelayResult> {
  const started = performance.now();
  const { encoder } = o;
  const captured: string[] | undefined = o.capture ? [] : undefined;
  o.beforeHead(started);
  res.writeHead(200, {
    "content-type": encoder.streamContentType,
    "cache-control": "no-cache",
    "x-accel-buffering": "no", // tell any buffering proxy in front of us to pass chunks through
  });
  const parser = new SseParser();
  let events = 0;
  let bytes = 0;
  let usage: UsageMetadataWire | undefined;
  let modelArmorBlock: RelayResult["modelArmorBlock"];
  let firstChunkMs: number | undefined;
  let produced = 0;
  const send = async (out: string): Promise<void> => {
    bytes += Buffer.byteLength(out);
    if (!res.write(out)) await drained(res);
  };

  const write = async (payloads: string[]): Promise<void> => {
    for (const payload of payloads) {
      if (events === 0 && o.hooks?.onFirst) await o.hooks.onFirst(payload);
      // Only chunks that can carry what we account for are parsed; the rest pass through as text.
      const hooks = o.hooks;
      if (hooks?.usageOf) {
        if (payload.includes(hooks.usageMarker ?? "usage")) usage = hooks.usageOf(payload) ?? usage;
      } else if (payload.includes('"usageMetadata"') || payload.includes(MODEL_ARMOR)) {
        const seen = inspect(payload);
        usage = seen.usage ?? usage;
        modelArmorBlock ??= seen.modelArmorBlock;
      }
      produced += estimateChunkOutputTokens(payload);
      captured?.push(payload);
      const out = (events === 0 ? encoder.streamStart() : "") + encoder.streamEvent(payload, events);
      events++;
      firstChunkMs ??= performance.now() - started;
      await send(out);
    }
  };

  let streamError: string | undefined;
  try {
    for await (const chunk of upstream.body) await write(parser.push(chunk));
    await write(parser.end());
  } catch (err) {
    if (res.destroyed) {
      // The client went away: nothing to tell it, but what it received is still accounted for.
      upstream.body.destroy();
      return {
        ...NOTHING_RELAYED,
        status: 200,
        usage,
        modelArmorBlock,
        responseBytes: bytes,
        firstChunkMs,
        clientClosed: true,
        producedOutputTokens: produced,
      };
    }
    // The drain deadline aborted the upstream read (the pipeline's abort follows `cut`): say so as the last event.
    const failure = o.cut.aborted
      ? errors.cutByShutdown()
      : toGatewayError(err instanceof GatewayError ? err : translateNetworkError(err));
    streamError = failure.message;
    await send((events === 0 ? encoder.streamStart() : "") + encoder.streamError(failure.toEnvelope(), events));
    events++;
  }
  const end = encoder.streamEnd(events);
  bytes += Buffer.byteLength(end);
  res.end(end);
  return {
    status: 200,
    usage,
    modelArmorBlock,
    responseBytes: bytes,
    firstChunkMs,
    streamError,
    clientClosed: false,
    cutByShutdown: o.cut.aborted && streamError !== undefined,
    producedOutputTokens: produced,
    captured: streamError === undefined ? captured : undefined,
  };
}

const NOTHING_RELAYED: RelayResult = Object.freeze({
  status: 0,
  usage: undefined,
  modelArmorBlock: undefined,
  responseBytes: 0,
  firstChunkMs: undefined,
  streamError: undefined,
  clientClosed: false,
  cutByShutdown: false,
  producedOutputTokens: 0,
  captured: undefined,
});

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.once("drain", done);
    res.once("close", done);
  });
}

/** The whole body of an upstream answer; a body over `limit` bytes is a malformed answer (502). */
export async function collect(upstream: UpstreamResponse, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of upstream.body) {
    size += chunk.length;
    if (size > limit) {
      upstream.body.destroy();
      throw errors.upstreamBroken(`response body over ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}

const MODEL_ARMOR = "MODEL_ARMOR";

/** What accounting reads from a response (or stream chunk): usage, and whether Model Armor blocked it. */
function inspect(json: string): Pick<RelayResult, "usage" | "modelArmorBlock"> {
  try {
    const doc = JSON.parse(json) as Partial<GenerateContentResponseWire> | null;
    if (!doc || typeof doc !== "object") return { usage: undefined, modelArmorBlock: undefined };
    let modelArmorBlock: RelayResult["modelArmorBlock"];
    if (json.includes(MODEL_ARMOR)) {
      if ((doc.promptFeedback?.blockReason as string | undefined) === MODEL_ARMOR) modelArmorBlock = "prompt";
      else if (doc.candidates?.some((c) => (c.finishReason as string | undefined) === MODEL_ARMOR)) {
        modelArmorBlock = "response";
      }
    }
    return { usage: doc.usageMetadata, modelArmorBlock };
  } catch {
    return { usage: undefined, modelArmorBlock: undefined };
  }
}

/** The body as a Gemini error envelope, when it is one. */
function errorEnvelopeOf(body: Buffer): ErrorEnvelope | undefined {
  try {
    const doc = JSON.parse(body.toString("utf8")) as { error?: unknown };
    return typeof doc?.error === "object" && doc.error !== null ? (doc as ErrorEnvelope) : undefined;
  } catch {
    return undefined;
  }
}

const JSON_TYPE = "application/json; charset=UTF-8";
