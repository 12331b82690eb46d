/**
 * An OpenAI-compatible chat-completions server (vLLM, Ollama, another vendor) as an upstream. The gateway's
 * providers speak Gemini (provider.ts), so this one translates (openai-translate.ts): the Gemini request body becomes
 * a `POST {baseUrl}/v1/chat/completions`, and the answer comes back as a Gemini response — unary as one JSON body,
 * streams as Gemini SSE frames produced while the OpenAI chunks arrive, never buffered whole.
 *
 * Transport follows vertex.ts: one keep-alive undici pool per upstream, the same timeouts, network failures through
 * translateNetworkError, and the client's abort signal passed down so a client that leaves stops the generation.
 */
import type { Dispatcher } from "undici";
import { errors, GatewayError } from "../wire/errors.js";
import {
  ChatStreamTranslator,
  fromChatCompletion,
  parseChatCompletion,
  toChatCompletionRequest,
  toGeminiError,
} from "./openai-translate.js";
import type { Provider, UpstreamMethod, UpstreamRequest, UpstreamResponse } from "./provider.js";
import { header, releaseWhenClosed, translateNetworkError, upstreamAgent } from "./http.js";
import { createConnectionSlots } from "./connection-slots.js";
import type { UpstreamProtocol } from "../config/env.js";

export interface OpenAIProviderOptions {
  /** The upstream's id in config/upstreams.ts; the provider id is `openai/<id>`. */
  id: string;
  /**
   * The server's base URL, e.g. `http://vllm:8000`: `/v1/chat/completions` is appended. A base that already ends in
   * a version segment (`…/v1`, `…/v1beta/openai`) or in `/chat/completions` is used as it is.
   */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <key>` when set; local servers often need none. */
  apiKey: string | undefined;
  /** Gemini model id → the model name the server serves. Only these models are served. */
  models: Readonly<Record<string, string>>;
  timeoutMs: number;
  /** Upstream calls in flight at most (connection slots); with http2 they share connections. */
  connections: number;
  /** Default http1 (upstream/http.ts). */
  protocol?: UpstreamProtocol | undefined;
  /** With http2: told when the https upstream chose HTTP/1.1 in ALPN (its calls then get a connection each). */
  onHttp1?: (origin: string) => void;
  userAgent: string;
  /** Told when a call found every connection busy until its wait deadline (a metric). */
  onSaturated?: () => void;
}

export interface OpenAIProvider extends Provider {
  /** Whether it serves this model and method: mapped models, generateContent and streamGenerateContent only. */
  supports(model: string, method: UpstreamMethod): boolean;
}

/** Error bodies larger than this are cut: an error page is not worth more memory. */
const MAX_ERROR_BODY = 64 * 1024;
const JSON_TYPE = "application/json";

/** The chat-completions URL for a base URL (see OpenAIProviderOptions.baseUrl). */
export function chatCompletionsUrl(baseUrl: string): URL {
  const url = new URL(baseUrl);
  const path = url.pathname.replace(/\/+$/, "");
  if (/\/chat\/completions$/.test(path)) url.pathname = path;
  else if (/\/v\d+[a-z0-9]*(\/openai)?$/i.test(path)) url.pathname = `${path}/chat/completions`;
  else url.pathname = `${path}/v1/chat/completions`;
  return url;
}

export function createOpenAIProvider(options: OpenAIProviderOptions): OpenAIProvider {
  const url = chatCompletionsUrl(options.baseUrl);
  const path = url.pathname + url.search;
  const agent = upstreamAgent(options, url.origin);
  const served = (model: string): string | undefined =>
    Object.hasOwn(options.models, model) ? options.models[model] : undefined;

  async function post(body: string, stream: boolean, req: UpstreamRequest): Promise<Dispatcher.ResponseData> {
    const headers: Record<string, string> = {
      "content-type": "application/json",
      accept: stream ? "text/event-stream" : JSON_TYPE,
      "user-agent": options.userAgent,
    };
    if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
    if (req.traceparent) headers.traceparent = req.traceparent;
    try {
      const res = await agent.request({ origin: url.origin, path, method: "POST", headers, body, signal: req.signal });
      releaseWhenClosed(res.body, req.release);
      return res;
    } catch (err) {
      req.release();
      throw translateNetworkError(err);
    }
  }

  const id = `openai/${options.id}`;
  return {
    id,
    name: "openai",
    region: "external",
    slots: createConnectionSlots({ max: options.connections, upstream: id, onSaturated: options.onSaturated }),
    // Chat completions only: countTokens and the embedding methods (predict, embedContent) are never sent here.
    supports: (model, method) => served(model) !== undefined && isGenerate(method),
    async send(req: UpstreamRequest): Promise<UpstreamResponse> {
      const model = served(req.model);
      if (model === undefined || !isGenerate(req.method)) req.release(); // refused before anything is sent
      if (model === undefined) throw errors.unknownModel(req.model);
      if (!isGenerate(req.method)) {
        throw new GatewayError(
          501,
          "UNIMPLEMENTED",
          `${req.method} is not supported for model "${req.model}": its upstream is an OpenAI-compatible server.`,
        );
      }
      const stream = req.method === "streamGenerateContent";
      let body: string;
      try {
        body = JSON.stringify(toChatCompletionRequest(parseBody(req.body), model, stream));
      } catch (err) {
        req.release();
        throw err;
      }
      const res = await post(body, stream, req);
      const contentType = header(res.headers["content-type"]) ?? "";
      const retryAfter = header(res.headers["retry-after"]);

      if (res.statusCode < 200 || res.statusCode >= 300) {
        const text = await readText(res.body, MAX_ERROR_BODY);
        const envelope = toGeminiError(res.statusCode, text, retryAfter);
        return { status: res.statusCode, contentType: JSON_TYPE, retryAfter, body: once(JSON.stringify(envelope)) };
      }
      if (!stream) {
        const answer = fromChatCompletion(parseChatCompletion(await readText(res.body, Infinity)), model);
        return { status: 200, contentType: JSON_TYPE, retryAfter: undefined, body: once(JSON.stringify(answer)) };
      }
      if (!contentType.includes("text/event-stream") && contentType.includes("json")) {
        // A server that ignored `stream: true` and answered in one piece: one Gemini chunk with everything.
        const answer = fromChatCompletion(parseChatCompletion(await readText(res.body, Infinity)), model);
        return { status: 200, contentType: "text/event-stream", retryAfter: undefined, body: once(frame(answer)) };
      }
      return { status: 200, contentType: "text/event-stream", retryAfter: undefined, body: geminiStream(res, model) };
    },
    close: () => agent.close(),
  };
}

/** The request body the pipeline validated, as an object; anything else is the client's mistake (400). */
function parseBody(body: Buffer): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch (err) {
    throw errors.invalidJson((err as Error).message);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw errors.invalidJson("The request body must be a JSON object.");
  }
  return json as Record<string, unknown>;
}

function frame(json: unknown): string {
  return `data: ${typeof json === "string" ? json : JSON.stringify(json)}\r\n\r\n`;
}

/** Reads a body as text; past `limit` bytes the rest is discarded (the connection is not kept for it). */
async function readText(body: Dispatcher.ResponseData["body"], limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      const room = limit - size;
      chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
      size += Math.min(chunk.length, room);
      if (size >= limit) {
        body.destroy();
        break;
      }
    }
  } catch (err) {
    throw translateNetworkError(err);
  }
  return Buffer.concat(chunks, size).toString("utf8");
}

/** A body of one buffer, for answers already complete. */
function once(text: string): UpstreamResponse["body"] {
  let pending: Buffer | undefined = Buffer.from(text);
  return {
    async *[Symbol.asyncIterator]() {
      const chunk = pending;
      pending = undefined;
      if (chunk) yield chunk;
    },
    destroy() {
      pending = undefined;
    },
  };
}

/**
 * The OpenAI SSE body as Gemini SSE frames, translated chunk by chunk as it is read. Destroying it destroys the
 * undici body, which aborts the request (the server sees the connection close and can stop generating).
 */
function geminiStream(res: Dispatcher.ResponseData, modelVersion: string): UpstreamResponse["body"] {
  const translator = new ChatStreamTranslator(modelVersion);
  async function* frames(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        const out = translator.push(chunk);
        if (out.length) yield Buffer.from(out.map(frame).join(""));
      }
      const out = translator.end();
      if (out.length) yield Buffer.from(out.map(frame).join(""));
    } catch (err) {
      throw err instanceof GatewayError ? err : translateNetworkError(err);
    } finally {
      // Stopped early (consumer broke out, or an error above): release the upstream request too.
      if (!res.body.readableEnded) res.body.destroy();
    }
  }
  const iterator = frames();
  return {
    [Symbol.asyncIterator]: () => iterator,
    destroy(err?: Error) {
      res.body.destroy(err);
    },
  };
}

function isGenerate(method: UpstreamMethod): boolean {
  return method === "generateContent" || method === "streamGenerateContent";
}
