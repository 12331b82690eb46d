// The OpenAI-compatible provider: the Gemini ⇄ OpenAI translators as pure functions, then the provider over real HTTP
// against a small OpenAI-compatible server (test/support/openai-server.ts).
import { GenerateContentResponse } from "@google/genai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SseParser } from "../../service/src/wire/sse.js";
import {
  ChatStreamTranslator,
  fromChatCompletion,
  toChatCompletionRequest,
  toGeminiError,
  type GeminiResponse,
} from "../../service/src/upstream/openai-translate.js";
import type { ChatCompletion } from "../../service/src/wire/openai.js";
import { chatCompletionsUrl, createOpenAIProvider, type OpenAIProvider } from "../../service/src/upstream/openai.js";
import type { UpstreamRequest, UpstreamResponse } from "../../service/src/upstream/provider.js";
import { GatewayError, type ErrorEnvelope } from "../../service/src/wire/errors.js";
import type { ModelMethod } from "../../service/src/wire/gemini.js";
import { startOpenAIServer, type OpenAITestServer } from "../support/openai-server.js";

const user = (...parts: Record<string, unknown>[]) => ({ role: "user", parts });
const model = (...parts: Record<string, unknown>[]) => ({ role: "model", parts });

/** Runs `fn` and returns the GatewayError it throws. */
function gatewayError(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    return err as GatewayError;
  }
  throw new Error("expected a GatewayError");
}

/** A wire response as the SDK's class, for its `text` and `functionCalls` getters. */
const sdk = (json: unknown) => Object.assign(new GenerateContentResponse(), json);

describe("Gemini request → chat completions", () => {
  it("maps the system instruction, roles, text and generation config", () => {
    const out = toChatCompletionRequest(
      {
        systemInstruction: { parts: [{ text: "Be brief." }, { text: "Answer in English." }] },
        contents: [
          user({ text: "Hello" }, { text: "there" }),
          model({ text: "Hi, " }, { text: "how can I help?", thoughtSignature: "c2ln" }),
          user({ text: "Tell me a joke" }),
        ],
        generationConfig: {
          temperature: 0.2,
          topP: 0.9,
          topK: 40, // no OpenAI equivalent: dropped
          maxOutputTokens: 64,
          stopSequences: ["END"],
          candidateCount: 2,
          seed: 7,
          presencePenalty: 0.5,
          responseMimeType: "application/json",
          thinkingConfig: { thinkingBudget: 0 },
        },
        safetySettings: [{ category: "HARM_CATEGORY_HARASSMENT", threshold: "BLOCK_NONE" }],
        labels: { team: "a" },
      },
      "served-model",
      false,
    );
    expect(out).toEqual({
      model: "served-model",
      messages: [
        { role: "system", content: "Be brief.\nAnswer in English." },
        { role: "user", content: "Hello\nthere" },
        { role: "assistant", content: "Hi, how can I help?" },
        { role: "user", content: "Tell me a joke" },
      ],
      temperature: 0.2,
      top_p: 0.9,
      max_tokens: 64,
      stop: ["END"],
      n: 2,
      seed: 7,
      presence_penalty: 0.5,
      response_format: { type: "json_object" },
    });
  });

  it("asks for usage on streams, and a JSON schema when one is given", () => {
    const out = toChatCompletionRequest(
      {
        contents: [user({ text: "x" })],
        generationConfig: {
          responseMimeType: "application/json",
          responseSchema: { type: "OBJECT", properties: { a: { type: "STRING", nullable: true } }, required: ["a"] },
        },
      },
      "m",
      true,
    );
    expect(out.stream).toBe(true);
    expect(out.stream_options).toEqual({ include_usage: true });
    expect(out.response_format).toEqual({
      type: "json_schema",
      json_schema: {
        name: "response",
        schema: { type: "object", properties: { a: { type: ["string", "null"] } }, required: ["a"] },
      },
    });
  });

  it("sends inline images as data URLs in a content array, in part order", () => {
    const out = toChatCompletionRequest(
      { contents: [user({ text: "What is this?" }, { inlineData: { mimeType: "image/png", data: "iVBORw0K" } })] },
      "m",
      false,
    );
    expect(out.messages).toEqual([
      {
        role: "user",
        content: [
          { type: "text", text: "What is this?" },
          { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0K" } },
        ],
      },
    ]);
  });

  it("maps function declarations, calls and responses (ids deterministic, responses matched by name in order)", () => {
    const out = toChatCompletionRequest(
      {
        contents: [
          user({ text: "Weather in Paris and Rome, and the time?" }),
          model(
            { functionCall: { name: "weather", args: { city: "Paris" } } },
            { functionCall: { name: "time", args: {} } },
            { functionCall: { name: "weather", args: { city: "Rome" } } },
          ),
          user(
            { functionResponse: { name: "weather", response: { temp: 20 } } },
            { functionResponse: { name: "weather", response: { temp: 25 } } },
            { functionResponse: { name: "time", response: { now: "12:00" } } },
          ),
          model({ functionCall: { id: "call_srv_1", name: "time", args: {} } }),
          user(
            { functionResponse: { id: "call_srv_1", name: "time", response: { now: "12:01" } } },
            { text: "Thanks" },
          ),
        ],
        tools: [
          {
            functionDeclarations: [
              {
                name: "weather",
                description: "Weather by city",
                parameters: { type: "OBJECT", properties: { city: { type: "STRING" } }, propertyOrdering: ["city"] },
              },
              { name: "time", parametersJsonSchema: { type: "object", properties: {} } },
              { name: "noargs" },
            ],
          },
        ],
        toolConfig: { functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["weather"] } },
      },
      "m",
      false,
    );
    expect(out.messages.slice(1)).toEqual([
      {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: "call_0", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } },
          { id: "call_1", type: "function", function: { name: "time", arguments: "{}" } },
          { id: "call_2", type: "function", function: { name: "weather", arguments: '{"city":"Rome"}' } },
        ],
      },
      { role: "tool", tool_call_id: "call_0", content: '{"temp":20}' },
      { role: "tool", tool_call_id: "call_2", content: '{"temp":25}' },
      { role: "tool", tool_call_id: "call_1", content: '{"now":"12:00"}' },
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "call_srv_1", type: "function", function: { name: "time", arguments: "{}" } }],
      },
      { role: "tool", tool_call_id: "call_srv_1", content: '{"now":"12:01"}' },
      { role: "user", content: "Thanks" },
    ]);
    expect(out.tools).toEqual([
      {
        type: "function",
        function: {
          name: "weather",
          description: "Weather by city",
          parameters: { type: "object", properties: { city: { type: "string" } } },
        },
      },
      { type: "function", function: { name: "time", parameters: { type: "object", properties: {} } } },
      { type: "function", function: { name: "noargs" } },
    ]);
    expect(out.tool_choice).toEqual({ type: "function", function: { name: "weather" } });
  });

  it.each([
    ["AUTO", "auto"],
    ["NONE", "none"],
    ["ANY", "required"],
  ])("maps function calling mode %s to tool_choice %s", (mode, choice) => {
    const out = toChatCompletionRequest(
      {
        contents: [user({ text: "x" })],
        tools: [{ functionDeclarations: [{ name: "f" }] }],
        toolConfig: { functionCallingConfig: { mode } },
      },
      "m",
      false,
    );
    expect(out.tool_choice).toBe(choice);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ["fileData", { contents: [user({ fileData: { mimeType: "image/png", fileUri: "gs://b/o" } })] }, "fileData"],
    ["audio", { contents: [user({ inlineData: { mimeType: "audio/wav", data: "AAAA" } })] }, "audio/wav"],
    ["video", { contents: [user({ inlineData: { mimeType: "video/mp4", data: "AAAA" } })] }, "video/mp4"],
    ["thought", { contents: [user({ text: "x" }), model({ text: "hmm", thought: true })] }, "thought"],
    ["code", { contents: [model({ executableCode: { language: "PYTHON", code: "1" } })] }, "executableCode"],
    ["code result", { contents: [user({ codeExecutionResult: { outcome: "OUTCOME_OK" } })] }, "codeExecutionResult"],
    ["image from the model", { contents: [model({ inlineData: { mimeType: "image/png", data: "AA" } })] }, "model"],
    ["built-in tool", { contents: [user({ text: "x" })], tools: [{ googleSearch: {} }] }, "googleSearch"],
    ["code execution tool", { contents: [user({ text: "x" })], tools: [{ codeExecution: {} }] }, "codeExecution"],
    ["cached content", { contents: [user({ text: "x" })], cachedContent: "cachedContents/1" }, "cachedContent"],
    ["audio output", { contents: [user({ text: "x" })], generationConfig: { responseModalities: ["AUDIO"] } }, "TEXT"],
    ["unanswered response", { contents: [user({ functionResponse: { name: "f", response: {} } })] }, "no earlier"],
    ["unknown part", { contents: [user({ somethingNew: {} })] }, "somethingNew"],
  ])("refuses %s with 400 INVALID_ARGUMENT", (_name, request, mentions) => {
    const err = gatewayError(() => toChatCompletionRequest(request, "m", false));
    expect(err.httpCode).toBe(400);
    expect(err.status).toBe("INVALID_ARGUMENT");
    expect(err.message).toContain(mentions);
  });

  it("names the part it refuses", () => {
    const err = gatewayError(() =>
      toChatCompletionRequest({ contents: [user({ text: "x" }, { fileData: { fileUri: "gs://b/o" } })] }, "m", false),
    );
    expect(err.message).toMatch(
      /^contents\[0\]\.parts\[1\]: a fileData part is not supported by this model's upstream/,
    );
  });
});

describe("chat completion → Gemini response", () => {
  const completion = (choice: Partial<ChatCompletion["choices"][number]>, extra: Partial<ChatCompletion> = {}) =>
    ({
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1_700_000_000,
      model: "served",
      choices: [{ index: 0, message: { role: "assistant", content: "Hello!" }, finish_reason: "stop", ...choice }],
      usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
      ...extra,
    }) as ChatCompletion;

  it("maps text, usage, ids and the model version", () => {
    const out = fromChatCompletion(completion({}), "served");
    expect(out).toEqual({
      candidates: [{ index: 0, content: { role: "model", parts: [{ text: "Hello!" }] }, finishReason: "STOP" }],
      usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 3, totalTokenCount: 8 },
      modelVersion: "served",
      responseId: "chatcmpl-1",
      createTime: "2023-11-14T22:13:20.000Z",
    });
    expect(sdk(out).text).toBe("Hello!");
  });

  it.each([
    ["stop", "STOP"],
    ["length", "MAX_TOKENS"],
    ["content_filter", "SAFETY"],
    ["tool_calls", "STOP"],
    ["function_call", "STOP"],
    ["something_new", "OTHER"],
  ])("maps finish_reason %s to %s", (reason, expected) => {
    expect(fromChatCompletion(completion({ finish_reason: reason }), "m").candidates[0]?.finishReason).toBe(expected);
  });

  it("splits reasoning tokens out of the completion count, and keeps cached prompt tokens", () => {
    const out = fromChatCompletion(
      completion(
        {},
        {
          usage: {
            prompt_tokens: 100,
            completion_tokens: 50,
            total_tokens: 150,
            prompt_tokens_details: { cached_tokens: 40 },
            completion_tokens_details: { reasoning_tokens: 30 },
          },
        },
      ),
      "m",
    );
    expect(out.usageMetadata).toEqual({
      promptTokenCount: 100,
      candidatesTokenCount: 20,
      thoughtsTokenCount: 30,
      cachedContentTokenCount: 40,
      totalTokenCount: 150,
    });
  });

  it("maps tool calls to function calls with parsed arguments", () => {
    const out = fromChatCompletion(
      completion({
        message: {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: "call_a", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } },
            { id: "call_b", type: "function", function: { name: "time", arguments: "" } },
          ],
        },
        finish_reason: "tool_calls",
      }),
      "m",
    );
    expect(out.candidates[0]).toEqual({
      index: 0,
      content: {
        role: "model",
        parts: [
          { functionCall: { id: "call_a", name: "weather", args: { city: "Paris" } } },
          { functionCall: { id: "call_b", name: "time", args: {} } },
        ],
      },
      finishReason: "STOP",
    });
    expect(sdk(out).functionCalls?.map((c) => c.name)).toEqual(["weather", "time"]);
  });

  it("reports arguments that are not a JSON object as MALFORMED_FUNCTION_CALL", () => {
    const out = fromChatCompletion(
      completion({
        message: { content: null, tool_calls: [{ id: "c", function: { name: "f", arguments: '{"a":' } }] },
        finish_reason: "tool_calls",
      }),
      "m",
    );
    expect(out.candidates[0]?.finishReason).toBe("MALFORMED_FUNCTION_CALL");
    expect(out.candidates[0]?.finishMessage).toContain('"f"');
  });
});

/** Feeds an OpenAI SSE text to a translator in small slices (to cross frame boundaries); returns the Gemini chunks. */
function translateStream(sse: string, slice = 5): GeminiResponse[] {
  const t = new ChatStreamTranslator("served");
  const out: string[] = [];
  for (let i = 0; i < sse.length; i += slice) out.push(...t.push(sse.slice(i, i + slice)));
  out.push(...t.end());
  return out.map((s) => JSON.parse(s) as GeminiResponse);
}

const sseOf = (...events: unknown[]) =>
  events.map((e) => `data: ${typeof e === "string" ? e : JSON.stringify(e)}\n\n`).join("");
const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({
  id: "chatcmpl-s",
  object: "chat.completion.chunk",
  created: 1_700_000_000,
  model: "served",
  choices,
  ...extra,
});
const delta = (d: Record<string, unknown>, finish: string | null = null, index = 0) => ({
  index,
  delta: d,
  finish_reason: finish,
});
const USAGE = { prompt_tokens: 4, completion_tokens: 6, total_tokens: 10 };

describe("chat completion stream → Gemini stream", () => {
  it("emits one chunk per text delta, and finish reason and usage together on the final chunk", () => {
    const chunks = translateStream(
      sseOf(
        chunk([delta({ role: "assistant", content: "" })]),
        chunk([delta({ content: "Hello" })]),
        chunk([delta({ content: " world" })]),
        chunk([delta({}, "stop")]),
        chunk([], { usage: USAGE }),
        "[DONE]",
      ),
    );
    expect(chunks).toEqual([
      {
        candidates: [{ index: 0, content: { role: "model", parts: [{ text: "Hello" }] } }],
        modelVersion: "served",
        responseId: "chatcmpl-s",
        createTime: "2023-11-14T22:13:20.000Z",
      },
      {
        candidates: [{ index: 0, content: { role: "model", parts: [{ text: " world" }] } }],
        modelVersion: "served",
        responseId: "chatcmpl-s",
        createTime: "2023-11-14T22:13:20.000Z",
      },
      {
        candidates: [{ index: 0, content: { role: "model", parts: [] }, finishReason: "STOP" }],
        usageMetadata: { promptTokenCount: 4, candidatesTokenCount: 6, totalTokenCount: 10 },
        modelVersion: "served",
        responseId: "chatcmpl-s",
        createTime: "2023-11-14T22:13:20.000Z",
      },
    ]);
    expect(chunks.map((c) => sdk(c).text ?? "").join("")).toBe("Hello world");
  });

  it("accumulates tool-call fragments and emits each call whole on the final chunk", () => {
    const chunks = translateStream(
      sseOf(
        chunk([delta({ role: "assistant", content: null })]),
        chunk([
          delta({ tool_calls: [{ index: 0, id: "call_x", type: "function", function: { name: "f", arguments: "" } }] }),
        ]),
        chunk([delta({ tool_calls: [{ index: 0, function: { arguments: '{"ci' } }] })]),
        chunk([delta({ tool_calls: [{ index: 1, id: "call_y", function: { name: "g", arguments: "{}" } }] })]),
        chunk([delta({ tool_calls: [{ index: 0, function: { arguments: 'ty":"Rome"}' } }] })]),
        chunk([delta({}, "tool_calls")]),
        chunk([], { usage: { ...USAGE, completion_tokens_details: { reasoning_tokens: 2 } } }),
        "[DONE]",
      ),
      3,
    );
    expect(chunks).toHaveLength(1);
    expect(chunks[0]?.candidates).toEqual([
      {
        index: 0,
        content: {
          role: "model",
          parts: [
            { functionCall: { id: "call_x", name: "f", args: { city: "Rome" } } },
            { functionCall: { id: "call_y", name: "g", args: {} } },
          ],
        },
        finishReason: "STOP",
      },
    ]);
    expect(chunks[0]?.usageMetadata).toEqual({
      promptTokenCount: 4,
      candidatesTokenCount: 4,
      thoughtsTokenCount: 2,
      totalTokenCount: 10,
    });
  });

  it("keeps text that arrives with the finish reason, and handles several choices and CRLF framing", () => {
    const sse = sseOf(
      chunk([delta({ content: "A" }, null, 0), delta({ content: "B" }, null, 1)]),
      chunk([delta({ content: "!" }, "length", 1)]),
      chunk([delta({}, "stop", 0)]),
      "[DONE]",
    ).replaceAll("\n", "\r\n");
    const chunks = translateStream(sse);
    expect(chunks).toHaveLength(2);
    expect(chunks[0]?.candidates.map((c) => c.index)).toEqual([0, 1]);
    expect(chunks[1]?.candidates).toEqual([
      { index: 0, content: { role: "model", parts: [] }, finishReason: "STOP" },
      { index: 1, content: { role: "model", parts: [{ text: "!" }] }, finishReason: "MAX_TOKENS" },
    ]);
    expect(chunks[1]?.usageMetadata).toBeUndefined(); // the server sent none
  });

  it("ends cleanly at EOF after a finish reason even without [DONE]", () => {
    const chunks = translateStream(sseOf(chunk([delta({ content: "x" })]), chunk([delta({}, "stop")])));
    expect(chunks.at(-1)?.candidates[0]?.finishReason).toBe("STOP");
  });

  it("treats a stream cut before any finish reason as a broken upstream (502)", () => {
    const t = new ChatStreamTranslator("m");
    t.push(sseOf(chunk([delta({ content: "partial" })])));
    const err = gatewayError(() => t.end());
    expect(err.httpCode).toBe(502);
  });

  it("turns an error event mid-stream into a GatewayError with its status", () => {
    const t = new ChatStreamTranslator("m");
    t.push(sseOf(chunk([delta({ content: "x" })])));
    const err = gatewayError(() =>
      t.push(sseOf({ error: { message: "engine overloaded", type: "server_error", code: 503 } })),
    );
    expect([err.httpCode, err.status, err.message]).toEqual([503, "UNAVAILABLE", "engine overloaded"]);
    expect(gatewayError(() => new ChatStreamTranslator("m").push("data: {not json\n\n")).httpCode).toBe(502);
  });
});

describe("OpenAI errors → Gemini error envelope", () => {
  it.each([
    [400, "INVALID_ARGUMENT"],
    [401, "UNAUTHENTICATED"],
    [403, "PERMISSION_DENIED"],
    [404, "NOT_FOUND"],
    [422, "INVALID_ARGUMENT"],
    [429, "RESOURCE_EXHAUSTED"],
    [500, "INTERNAL"],
    [502, "UNAVAILABLE"],
    [503, "UNAVAILABLE"],
    [504, "DEADLINE_EXCEEDED"],
  ])("HTTP %i → %s, same code", (status, google) => {
    const body = JSON.stringify({ error: { message: "boom", type: "some_error", code: null } });
    const { error } = toGeminiError(status, body);
    expect([error.code, error.status, error.message]).toEqual([status, google, "boom"]);
  });

  it("keeps the OpenAI type and code as ErrorInfo, and a numeric Retry-After as RetryInfo", () => {
    const body = JSON.stringify({ error: { message: "Slow down", type: "requests", code: "rate_limit_exceeded" } });
    expect(toGeminiError(429, body, "7")).toEqual({
      error: {
        code: 429,
        message: "Slow down",
        status: "RESOURCE_EXHAUSTED",
        details: [
          {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            reason: "RATE_LIMIT_EXCEEDED",
            domain: "openai-compatible upstream",
            metadata: { type: "requests", code: "rate_limit_exceeded" },
          },
          { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "7s" },
        ],
      },
    });
  });

  it.each([
    ['{"error":"model \\"x\\" not found"}', 'model "x" not found'], // Ollama
    ['{"detail":"Not Found"}', "Not Found"], // FastAPI
    ["Bad Gateway", "Bad Gateway"], // a proxy's plain-text page
    ["<html>" + "x".repeat(1000) + "</html>", "The upstream answered HTTP 404."],
  ])("reads the message of %s", (body, message) => {
    expect(toGeminiError(404, body).error.message).toBe(message);
  });
});

describe("chat completions URL", () => {
  it.each([
    ["http://vllm:8000", "http://vllm:8000/v1/chat/completions"],
    ["http://vllm:8000/", "http://vllm:8000/v1/chat/completions"],
    ["http://vllm:8000/v1", "http://vllm:8000/v1/chat/completions"],
    ["http://vllm:8000/v1/", "http://vllm:8000/v1/chat/completions"],
    ["https://api.example.com/proxy", "https://api.example.com/proxy/v1/chat/completions"],
    ["https://gl.example.com/v1beta/openai", "https://gl.example.com/v1beta/openai/chat/completions"],
    ["http://h/v1/chat/completions", "http://h/v1/chat/completions"],
  ])("%s → %s", (base, url) => {
    expect(chatCompletionsUrl(base).href).toBe(url);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The provider over real HTTP

const MODELS = { "gemini-2.5-flash": "test-model" };

function request(
  body: unknown,
  method: ModelMethod = "generateContent",
  options: { model?: string; signal?: AbortSignal } = {},
): UpstreamRequest {
  return {
    model: options.model ?? "gemini-2.5-flash",
    method,
    apiVersion: "v1beta1",
    body: Buffer.from(JSON.stringify(body)),
    serverTimeout: undefined,
    traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    signal: options.signal ?? new AbortController().signal,
    release: () => undefined,
  };
}

const ask = (text: string, extra: Record<string, unknown> = {}) => ({ contents: [user({ text })], ...extra });

async function readAll(res: UpstreamResponse): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res.body) chunks.push(c);
  return Buffer.concat(chunks).toString("utf8");
}

/** Reads a provider stream as the relay does, checking the framing the relay expects. */
async function readStream(res: UpstreamResponse): Promise<GeminiResponse[]> {
  const text = await readAll(res);
  expect(text.endsWith("\r\n\r\n")).toBe(true);
  const parser = new SseParser();
  return [...parser.push(Buffer.from(text)), ...parser.end()].map((s) => JSON.parse(s) as GeminiResponse);
}

async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 300 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
}

describe("OpenAI-compatible provider", () => {
  let server: OpenAITestServer;
  let provider: OpenAIProvider;
  const providers: OpenAIProvider[] = [];
  const make = (options: { baseUrl?: string; apiKey?: string | undefined; timeoutMs?: number } = {}) => {
    const p = createOpenAIProvider({
      id: "oss",
      baseUrl: options.baseUrl ?? server.url,
      apiKey: "apiKey" in options ? options.apiKey : "sk-test",
      models: MODELS,
      timeoutMs: options.timeoutMs ?? 10_000,
      connections: 4,
      userAgent: "gemini-gateway/test",
    });
    providers.push(p);
    return p;
  };

  beforeAll(async () => {
    server = await startOpenAIServer();
    provider = make();
  });
  afterAll(async () => {
    await Promise.all(providers.map((p) => p.close()));
    await server.close();
  });
  beforeEach(() => {
    server.requests.length = 0;
    server.failNext(200, 0);
    server.headDelayMs = 0;
    server.chunkDelayMs = 0;
    server.reasoningTokens = 0;
  });

  it("describes itself and what it serves", () => {
    expect([provider.id, provider.name, provider.region]).toEqual(["openai/oss", "openai", "external"]);
    expect(provider.supports("gemini-2.5-flash", "generateContent")).toBe(true);
    expect(provider.supports("gemini-2.5-flash", "streamGenerateContent")).toBe(true);
    expect(provider.supports("gemini-2.5-flash", "countTokens")).toBe(false);
    expect(provider.supports("gemini-2.5-pro", "generateContent")).toBe(false);
    expect(provider.supports("constructor", "generateContent")).toBe(false);
  });

  it("answers a unary call with a Gemini response, sending the served model name and the API key", async () => {
    server.reasoningTokens = 3;
    const res = await provider.send(request(ask("hello there", { generationConfig: { temperature: 0 } })));
    expect([res.status, res.contentType, res.retryAfter]).toEqual([200, "application/json", undefined]);
    const json = JSON.parse(await readAll(res)) as GeminiResponse;
    expect(sdk(json).text).toBe("You said: hello there");
    expect(json.candidates[0]?.finishReason).toBe("STOP");
    expect(json.usageMetadata).toEqual({
      promptTokenCount: 3,
      candidatesTokenCount: 4,
      thoughtsTokenCount: 3,
      totalTokenCount: 10,
    });
    expect(json.modelVersion).toBe("test-model");
    expect(json.responseId).toMatch(/^chatcmpl-test-/);

    const [received] = server.requests;
    expect(received?.headers.authorization).toBe("Bearer sk-test");
    expect(received?.headers["user-agent"]).toBe("gemini-gateway/test");
    expect(received?.headers.traceparent).toBe("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    expect(received?.body).toEqual({
      model: "test-model",
      messages: [{ role: "user", content: "hello there" }],
      temperature: 0,
    });
  });

  it("works with a base URL ending in /v1 and sends no Authorization without a key", async () => {
    const p = make({ baseUrl: `${server.url}/v1/`, apiKey: undefined });
    const res = await p.send(request(ask("hi")));
    expect(res.status).toBe(200);
    expect(sdk(JSON.parse(await readAll(res))).text).toBe("You said: hi");
    expect(server.requests[0]?.path).toBe("/v1/chat/completions");
    expect(server.requests[0]?.headers.authorization).toBeUndefined();
  });

  it("streams Gemini SSE frames, with finish reason and usage on the last one", async () => {
    const res = await provider.send(request(ask("one two three"), "streamGenerateContent"));
    expect([res.status, res.contentType]).toEqual([200, "text/event-stream"]);
    const chunks = await readStream(res);
    expect(chunks.length).toBeGreaterThan(3);
    expect(chunks.map((c) => sdk(c).text ?? "").join("")).toBe("You said: one two three");
    const last = chunks.at(-1)!;
    expect(last.candidates[0]?.finishReason).toBe("STOP");
    expect(last.usageMetadata).toEqual({ promptTokenCount: 4, candidatesTokenCount: 5, totalTokenCount: 9 });
    expect(chunks.slice(0, -1).every((c) => c.usageMetadata === undefined && !c.candidates[0]?.finishReason)).toBe(
      true,
    );
    expect(server.requests[0]?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(server.requests[0]?.headers.accept).toBe("text/event-stream");
  });

  it("maps max_tokens truncation to MAX_TOKENS", async () => {
    const res = await provider.send(request(ask("a b c d", { generationConfig: { maxOutputTokens: 2 } })));
    const json = JSON.parse(await readAll(res)) as GeminiResponse;
    expect(sdk(json).text).toBe("You said:");
    expect(json.candidates[0]?.finishReason).toBe("MAX_TOKENS");
  });

  it("carries a tool call round trip, unary and streamed", async () => {
    const tools = [
      {
        functionDeclarations: [
          { name: "search", parameters: { type: "OBJECT", properties: { query: { type: "STRING" } } } },
        ],
      },
    ];
    const first = await provider.send(request(ask("please use the tool", { tools })));
    const call = JSON.parse(await readAll(first)) as GeminiResponse;
    expect(sdk(call).functionCalls).toEqual([
      { id: "call_srv_search", name: "search", args: { query: "please use the tool", count: 2 } },
    ]);
    expect(call.candidates[0]?.finishReason).toBe("STOP");

    const streamed = await readStream(
      await provider.send(request(ask("use the tool", { tools }), "streamGenerateContent")),
    );
    expect(streamed).toHaveLength(1);
    expect(sdk(streamed[0]).functionCalls).toEqual([
      { id: "call_srv_search", name: "search", args: { query: "use the tool", count: 2 } },
    ]);
    expect(streamed[0]?.usageMetadata?.candidatesTokenCount).toBe(8);

    // The client sends the call back with its result: the server sees a tool message for the same call id.
    const followUp = {
      contents: [
        user({ text: "please use the tool" }),
        call.candidates[0]!.content,
        user({ functionResponse: { name: "search", response: { hits: 2 } } }),
      ],
      tools,
    };
    const answer = await provider.send(request(followUp));
    expect(answer.status).toBe(200);
    expect(sdk(JSON.parse(await readAll(answer))).text).toBe("You said: please use the tool");
    expect(server.requests.at(-1)?.body.messages).toEqual([
      { role: "user", content: "please use the tool" },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          {
            id: "call_srv_search",
            type: "function",
            function: { name: "search", arguments: '{"query":"please use the tool","count":2}' },
          },
        ],
      },
      { role: "tool", tool_call_id: "call_srv_search", content: '{"hits":2}' },
    ]);
  });

  it("answers an upstream 429 with the Gemini envelope, the same status and its Retry-After", async () => {
    server.failNext(429, 1, { retryAfter: "7", message: "Rate limit reached" });
    const res = await provider.send(request(ask("x")));
    expect([res.status, res.retryAfter, res.contentType]).toEqual([429, "7", "application/json"]);
    const { error } = JSON.parse(await readAll(res)) as ErrorEnvelope;
    expect([error.code, error.status, error.message]).toEqual([429, "RESOURCE_EXHAUSTED", "Rate limit reached"]);
    expect(error.details).toContainEqual({ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "7s" });
  });

  it.each([
    [401, "UNAUTHENTICATED", "generateContent"],
    [404, "NOT_FOUND", "generateContent"],
    [500, "INTERNAL", "streamGenerateContent"],
    [503, "UNAVAILABLE", "streamGenerateContent"],
  ] as const)("maps upstream HTTP %i to %s (%s)", async (status, google, method) => {
    server.failNext(status);
    const res = await provider.send(request(ask("x"), method));
    expect(res.status).toBe(status);
    const { error } = JSON.parse(await readAll(res)) as ErrorEnvelope;
    expect([error.code, error.status]).toEqual([status, google]);
  });

  it("refuses unmapped models (404), countTokens (501) and unsupported parts (400) without calling upstream", async () => {
    const refused = async (req: UpstreamRequest) => {
      const err = await provider.send(req).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(GatewayError);
      return err as GatewayError;
    };
    expect((await refused(request(ask("x"), "generateContent", { model: "gemini-2.5-pro" }))).httpCode).toBe(404);
    expect((await refused(request(ask("x"), "countTokens"))).httpCode).toBe(501);
    const fileData = { contents: [user({ fileData: { mimeType: "application/pdf", fileUri: "gs://b/o" } })] };
    expect((await refused(request(fileData))).httpCode).toBe(400);
    expect(server.requests).toHaveLength(0);
  });

  it("reports an unreachable server as 503 UNAVAILABLE", async () => {
    const closed = await startOpenAIServer();
    const url = closed.url;
    await closed.close();
    const err = await make({ baseUrl: url })
      .send(request(ask("x")))
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(GatewayError);
    expect([(err as GatewayError).httpCode, (err as GatewayError).status]).toEqual([503, "UNAVAILABLE"]);
  });

  it("delivers frames as they arrive, and an abort mid-stream stops the upstream request", async () => {
    server.chunkDelayMs = 100;
    const abort = new AbortController();
    const res = await provider.send(
      request(ask("a b c d e f g h i j"), "streamGenerateContent", { signal: abort.signal }),
    );
    const before = server.aborted;
    const iterator = res.body[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.done).toBe(false);
    expect(first.value.toString()).toMatch(
      /^data: \{"candidates":\[\{"index":0,"content":\{"role":"model","parts":\[\{"text":"You"\}/,
    );
    expect(server.aborted).toBe(before); // the server is still writing: nothing was buffered whole
    abort.abort();
    await expect(iterator.next()).rejects.toThrow();
    await waitFor(() => server.aborted === before + 1);
  });

  it("destroy() on a stream body stops the upstream request", async () => {
    server.chunkDelayMs = 100;
    const res = await provider.send(request(ask("a b c d e f g h i j"), "streamGenerateContent"));
    const before = server.aborted;
    await res.body[Symbol.asyncIterator]().next();
    res.body.destroy();
    await waitFor(() => server.aborted === before + 1);
  });

  it("an abort before the answer's head rejects send() and closes the upstream request", async () => {
    server.headDelayMs = 5_000;
    const before = server.aborted;
    const abort = new AbortController();
    const pending = provider.send(request(ask("x"), "generateContent", { signal: abort.signal }));
    await waitFor(() => server.requests.length === 1);
    abort.abort();
    await expect(pending).rejects.toMatchObject({ name: "AbortError" });
    await waitFor(() => server.aborted === before + 1);
  });
});
