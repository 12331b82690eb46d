/**
 * A small, real OpenAI-compatible chat-completions server for tests of the OpenAI provider: node:http on an
 * ephemeral port, `POST /v1/chat/completions` unary and streamed (`data: {...}\n\n` … `data: [DONE]\n\n`, with a usage
 * chunk when `stream_options.include_usage` is set), as vLLM and OpenAI frame them.
 *
 * Answers are deterministic so tests can assert on them: "You said: <last user text>", one word per stream chunk,
 * cut at `max_tokens` (finish_reason "length"). With tools in the request and "use the tool" in the last user
 * message, it calls the first tool instead, streaming the arguments in fragments. Failures, delays and reasoning
 * tokens are switches on the returned handle; every request is recorded (path, headers, body).
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedChatRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

export interface FailureOptions {
  /** Sent as the Retry-After header. */
  retryAfter?: string;
  message?: string;
}

export interface OpenAITestServer {
  /** `http://127.0.0.1:<port>` (no `/v1`). */
  readonly url: string;
  /** Every chat-completions request received, oldest first. */
  readonly requests: RecordedChatRequest[];
  /** Answers the next `count` requests with `status` and an OpenAI error body. */
  failNext(status: number, count?: number, options?: FailureOptions): void;
  /** Milliseconds before the response head is sent. */
  headDelayMs: number;
  /** Milliseconds between stream chunks. */
  chunkDelayMs: number;
  /** Reported as completion_tokens_details.reasoning_tokens (and counted in completion_tokens) when above 0. */
  reasoningTokens: number;
  /** Requests whose connection closed before their answer was complete (clients that aborted). */
  readonly aborted: number;
  /** Closes the server and every open connection, also mid-stream. */
  close(): Promise<void>;
}

interface Failure extends FailureOptions {
  status: number;
  remaining: number;
}

interface ChatRequestMessage {
  role?: unknown;
  content?: unknown;
}

interface ToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

interface Answer {
  words: string[];
  toolCall: ToolCall | undefined;
  finishReason: "stop" | "length" | "tool_calls";
  usage: Record<string, unknown>;
}

const ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  429: "rate_limit_exceeded",
};

export async function startOpenAIServer(): Promise<OpenAITestServer> {
  const requests: RecordedChatRequest[] = [];
  let failure: Failure | undefined;
  let aborted = 0;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
      } catch {
        return sendError(res, 400, "body is not JSON");
      }
      if (req.method !== "POST" || req.url !== "/v1/chat/completions") {
        return sendError(res, 404, `no route for ${req.method} ${req.url}`);
      }
      requests.push({ path: req.url, headers: req.headers, body });
      res.on("close", () => {
        if (!res.writableFinished) aborted++;
      });
      if (failure && failure.remaining > 0) {
        failure.remaining--;
        const { status, retryAfter, message } = failure;
        return void setTimeout(() => sendError(res, status, message ?? `failure injected (${status})`, retryAfter));
      }
      setTimeout(() => answer(res, body), handle.headDelayMs);
    });
  });

  function answer(res: ServerResponse, body: Record<string, unknown>): void {
    if (res.destroyed) return;
    const result = compose(body, handle.reasoningTokens);
    const id = `chatcmpl-test-${requests.length}`;
    const model = typeof body.model === "string" ? body.model : "test-model";
    const n = typeof body.n === "number" ? body.n : 1;
    if (body.stream === true) {
      const options = body.stream_options as { include_usage?: boolean } | undefined;
      return void stream(res, id, model, n, result, options?.include_usage === true);
    }
    const choices = Array.from({ length: n }, (_, index) => ({
      index,
      message: {
        role: "assistant",
        content: result.toolCall ? null : result.words.join(" "),
        ...(result.toolCall ? { tool_calls: [result.toolCall] } : {}),
      },
      finish_reason: result.finishReason,
    }));
    const json = JSON.stringify({
      id,
      object: "chat.completion",
      created: 1_700_000_000,
      model,
      choices,
      usage: result.usage,
    });
    res.writeHead(200, { "content-type": "application/json" }).end(json);
  }

  async function stream(
    res: ServerResponse,
    id: string,
    model: string,
    n: number,
    result: Answer,
    includeUsage: boolean,
  ): Promise<void> {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    const base = { id, object: "chat.completion.chunk", created: 1_700_000_000, model };
    const send = async (choices: unknown[], extra: Record<string, unknown> = {}): Promise<boolean> => {
      if (res.destroyed) return false;
      res.write(`data: ${JSON.stringify({ ...base, choices, ...extra })}\n\n`);
      if (handle.chunkDelayMs > 0) await new Promise((r) => setTimeout(r, handle.chunkDelayMs));
      return !res.destroyed;
    };
    const all = (delta: Record<string, unknown>, finish: string | null = null) =>
      Array.from({ length: n }, (_, index) => ({ index, delta, finish_reason: finish }));

    if (!(await send(all({ role: "assistant", content: "" })))) return;
    if (result.toolCall) {
      // As OpenAI and vLLM stream a call: id and name first, then the arguments in pieces.
      const { id: callId, function: fn } = result.toolCall;
      const head = { index: 0, id: callId, type: "function", function: { name: fn.name, arguments: "" } };
      if (!(await send(all({ tool_calls: [head] })))) return;
      for (let i = 0; i < fn.arguments.length; i += 7) {
        const piece = { index: 0, function: { arguments: fn.arguments.slice(i, i + 7) } };
        if (!(await send(all({ tool_calls: [piece] })))) return;
      }
    } else {
      for (const [i, word] of result.words.entries()) {
        if (!(await send(all({ content: i === 0 ? word : ` ${word}` })))) return;
      }
    }
    if (!(await send(all({}, result.finishReason)))) return;
    if (includeUsage && !(await send([], { usage: result.usage }))) return;
    res.end("data: [DONE]\n\n");
  }

  const handle: OpenAITestServer = {
    url: "",
    requests,
    headDelayMs: 0,
    chunkDelayMs: 0,
    reasoningTokens: 0,
    get aborted() {
      return aborted;
    },
    failNext(status, count = 1, options = {}) {
      failure = { status, remaining: count, ...options };
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  Object.assign(handle, { url: `http://127.0.0.1:${port}` });
  return handle;
}

function sendError(res: ServerResponse, status: number, message: string, retryAfter?: string): void {
  if (res.destroyed) return;
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (retryAfter) headers["retry-after"] = retryAfter;
  const type = ERROR_TYPES[status] ?? (status >= 500 ? "server_error" : "invalid_request_error");
  res.writeHead(status, headers).end(JSON.stringify({ error: { message, type, param: null, code: type } }));
}

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((p: { type?: unknown; text?: unknown }) => (p.type === "text" && typeof p.text === "string" ? p.text : ""))
    .join(" ");
}

const words = (s: string) => s.split(/\s+/).filter(Boolean);

/** The deterministic answer to a request, and its usage. */
function compose(body: Record<string, unknown>, reasoningTokens: number): Answer {
  const messages = (Array.isArray(body.messages) ? body.messages : []) as ChatRequestMessage[];
  const lastUser = [...messages].reverse().find((m) => m.role === "user");
  const said = textOf(lastUser?.content);
  const promptTokens = messages.reduce((sum, m) => sum + words(textOf(m.content)).length + 1, 0);
  const tools = Array.isArray(body.tools) ? (body.tools as { function?: { name?: string } }[]) : [];
  const usage = (completion: number) => ({
    prompt_tokens: promptTokens,
    completion_tokens: completion + reasoningTokens,
    total_tokens: promptTokens + completion + reasoningTokens,
    ...(reasoningTokens > 0 ? { completion_tokens_details: { reasoning_tokens: reasoningTokens } } : {}),
  });

  const lastIsUser = messages.at(-1)?.role === "user";
  if (tools.length && lastIsUser && said.includes("use the tool")) {
    const name = tools[0]?.function?.name ?? "tool";
    const toolCall: ToolCall = {
      id: `call_srv_${name}`,
      type: "function",
      function: { name, arguments: JSON.stringify({ query: said, count: 2 }) },
    };
    return { words: [], toolCall, finishReason: "tool_calls", usage: usage(8) };
  }
  const all = ["You", "said:", ...words(said)];
  const max = typeof body.max_tokens === "number" ? body.max_tokens : Infinity;
  const out = all.slice(0, max);
  return {
    words: out,
    toolCall: undefined,
    finishReason: out.length < all.length ? "length" : "stop",
    usage: usage(out.length),
  };
}
