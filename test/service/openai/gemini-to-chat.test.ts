// Answer direction of the OpenAI surface (surfaces/openai/gemini-to-chat.ts, error-shape.ts): Gemini answers,
// streams and errors as OpenAI's chat completions, chunks and error bodies — checked against the openai SDK's types.
import type OpenAI from "openai";
import { describe, expect, it } from "vitest";
import {
  ChunkTranslator,
  finishReasonOf,
  toChatCompletion,
  toChatUsage,
} from "../../../service/src/surfaces/openai/gemini-to-chat.js";
import { toOpenAIError } from "../../../service/src/surfaces/openai/error-shape.js";

const ctx = { model: "gemini-3-pro-preview", created: 1_800_000_000 };
const answer = (doc: unknown) => JSON.stringify(doc);

/** The SSE text of a translated stream as the objects a client parses (`[DONE]` kept as a string). */
function events(text: string): (OpenAI.Chat.Completions.ChatCompletionChunk | string)[] {
  return text
    .split("\n\n")
    .filter(Boolean)
    .map((e) => e.replace(/^data: /, ""))
    .map((d) => (d === "[DONE]" ? d : (JSON.parse(d) as OpenAI.Chat.Completions.ChatCompletionChunk)));
}

describe("usage", () => {
  it("counts thoughts inside completion_tokens and tool-use prompts inside prompt_tokens, with the details", () => {
    expect(
      toChatUsage({
        promptTokenCount: 1000,
        cachedContentTokenCount: 600,
        toolUsePromptTokenCount: 20,
        candidatesTokenCount: 50,
        thoughtsTokenCount: 30,
        totalTokenCount: 1100,
        promptTokensDetails: [{ modality: "AUDIO" as never, tokenCount: 320 }],
      }),
    ).toEqual({
      prompt_tokens: 1020,
      completion_tokens: 80,
      total_tokens: 1100,
      prompt_tokens_details: { cached_tokens: 600, audio_tokens: 320 },
      completion_tokens_details: { reasoning_tokens: 30 },
    });
    expect(toChatUsage({ promptTokenCount: 3 })).toMatchObject({
      prompt_tokens: 3,
      completion_tokens: 0,
      total_tokens: 3,
    });
  });
});

describe("unary answers", () => {
  it("maps candidates to choices: text, thoughts as reasoning_content, calls with their thought signature", () => {
    const completion: OpenAI.Chat.Completions.ChatCompletion = toChatCompletion(
      answer({
        responseId: "r1",
        modelVersion: "gemini-3-pro-preview",
        candidates: [
          {
            index: 0,
            finishReason: "STOP",
            content: {
              role: "model",
              parts: [
                { text: "Let me think.", thought: true },
                { text: "Checking both." },
                { functionCall: { name: "weather", args: { city: "Paris" } }, thoughtSignature: "U0lHLUE=" },
                { functionCall: { name: "weather", args: { city: "Rome" } } },
              ],
            },
          },
          { index: 1, finishReason: "MAX_TOKENS", content: { role: "model", parts: [{ text: "Cut" }] } },
        ],
        usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 5, thoughtsTokenCount: 4, totalTokenCount: 19 },
      }),
      ctx,
    ) as never;
    expect(completion).toMatchObject({
      id: "chatcmpl-r1",
      object: "chat.completion",
      created: ctx.created,
      model: "gemini-3-pro-preview",
      usage: { prompt_tokens: 10, completion_tokens: 9, total_tokens: 19 },
    });
    const [first, second] = completion.choices;
    expect(first!.finish_reason).toBe("tool_calls");
    expect(first!.message.content).toBe("Checking both.");
    expect((first!.message as unknown as { reasoning_content: string }).reasoning_content).toBe("Let me think.");
    const calls = first!.message.tool_calls as (OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall & {
      extra_content?: unknown;
    })[];
    expect(calls.map((c) => [c.type, c.function.name, JSON.parse(c.function.arguments)])).toEqual([
      ["function", "weather", { city: "Paris" }],
      ["function", "weather", { city: "Rome" }],
    ]);
    // The signature rides on the call it belongs to (Gemini signs only the first of parallel calls).
    expect(calls[0]!.extra_content).toEqual({ google: { thought_signature: "U0lHLUE=" } });
    expect(calls[1]!.extra_content).toBeUndefined();
    expect(new Set(calls.map((c) => c.id)).size).toBe(2);
    expect(calls[0]!.id).toMatch(/^call_[\w-]+$/);
    expect(second).toMatchObject({ index: 1, finish_reason: "length", message: { content: "Cut" } });
  });

  it("keeps Gemini's own call ids, and the text signature of an answer without calls", () => {
    const completion = toChatCompletion(
      answer({
        candidates: [
          { content: { parts: [{ functionCall: { id: "fc-9", name: "f", args: {} } }] }, finishReason: "STOP" },
        ],
      }),
      ctx,
    );
    expect(completion.choices[0]!.message.tool_calls![0]!.id).toBe("fc-9");
    expect(completion.model).toBe(ctx.model);
    const signed = toChatCompletion(
      answer({ candidates: [{ content: { parts: [{ text: "hi", thoughtSignature: "c2ln" }] } }] }),
      ctx,
    );
    expect(signed.choices[0]!.message.extra_content).toEqual({ google: { thought_signature: "c2ln" } });
  });

  it("answers a blocked prompt with a content_filter choice and its reason as the refusal", () => {
    const completion = toChatCompletion(
      answer({ promptFeedback: { blockReason: "MODEL_ARMOR", blockReasonMessage: "Blocked by Model Armor." } }),
      ctx,
    );
    expect(completion.choices).toEqual([
      {
        index: 0,
        message: { role: "assistant", content: null, refusal: "Blocked by Model Armor." },
        finish_reason: "content_filter",
        logprobs: null,
      },
    ]);
  });

  it.each([
    ["STOP", false, "stop"],
    ["STOP", true, "tool_calls"],
    ["MAX_TOKENS", false, "length"],
    ["SAFETY", false, "content_filter"],
    ["MODEL_ARMOR", false, "content_filter"],
    ["MALFORMED_FUNCTION_CALL", false, "stop"],
    [undefined, false, "stop"],
  ] as const)("finishReason %s (calls: %s) → %s", (reason, calls, expected) => {
    expect(finishReasonOf(reason, calls)).toBe(expected);
  });
});

describe("streams", () => {
  it("sends the role first, numbers tool calls across chunks, ends with the usage chunk and [DONE]", () => {
    const t = new ChunkTranslator(ctx, true);
    let text = "";
    text += t.event(answer({ responseId: "s1", candidates: [{ content: { parts: [{ text: "Hel" }] } }] }));
    text += t.event(answer({ responseId: "s1", candidates: [{ content: { parts: [{ text: "lo" }] } }] }));
    // Gemini 3: running usage on a chunk without text — it must not be lost.
    text += t.event(answer({ responseId: "s1", usageMetadata: { promptTokenCount: 7, totalTokenCount: 7 } }));
    text += t.event(
      answer({
        responseId: "s1",
        candidates: [
          {
            content: { parts: [{ functionCall: { name: "f", args: { a: 1 } }, thoughtSignature: "U0lH" }] },
            finishReason: "STOP",
          },
        ],
        usageMetadata: { promptTokenCount: 7, candidatesTokenCount: 3, thoughtsTokenCount: 2, totalTokenCount: 12 },
      }),
    );
    text += t.end();
    const out = events(text);
    expect(out.at(-1)).toBe("[DONE]");
    const chunks = out.slice(0, -1) as OpenAI.Chat.Completions.ChatCompletionChunk[];
    expect(chunks.every((c) => c.id === "chatcmpl-s1" && c.object === "chat.completion.chunk")).toBe(true);
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: "assistant", content: "Hel" });
    expect(chunks[1]!.choices[0]!.delta).toEqual({ content: "lo" });
    expect(chunks[2]!.choices[0]).toMatchObject({
      finish_reason: "tool_calls",
      delta: {
        tool_calls: [
          {
            index: 0,
            type: "function",
            function: { name: "f", arguments: '{"a":1}' },
            extra_content: { google: { thought_signature: "U0lH" } },
          },
        ],
      },
    });
    expect(chunks[3]!.choices).toEqual([]);
    expect(chunks[3]!.usage).toMatchObject({ prompt_tokens: 7, completion_tokens: 5, total_tokens: 12 });
    expect(chunks.slice(0, 3).every((c) => c.usage === null)).toBe(true);
  });

  it("without include_usage: no usage chunk, no usage field; still [DONE]", () => {
    const t = new ChunkTranslator(ctx, false);
    const out = events(
      t.event(
        answer({
          candidates: [{ content: { parts: [{ text: "x" }] }, finishReason: "STOP" }],
          usageMetadata: { promptTokenCount: 1, candidatesTokenCount: 1, totalTokenCount: 2 },
        }),
      ) + t.end(),
    );
    expect(out).toHaveLength(2);
    expect(out[0]).not.toHaveProperty("usage");
    expect(out[1]).toBe("[DONE]");
  });

  it("ends a broken stream with OpenAI's error body and no [DONE]", () => {
    const t = new ChunkTranslator(ctx, true);
    const text =
      t.event(answer({ candidates: [{ content: { parts: [{ text: "x" }] } }] })) +
      t.error({ error: { code: 503, message: "The instance shut down.", status: "UNAVAILABLE" } }) +
      t.end();
    const out = events(text);
    expect(out).toHaveLength(2);
    expect(out[1]).toEqual({
      error: { message: "The instance shut down.", type: "server_error", param: null, code: "unavailable" },
    });
  });

  it("translates a Gemini error chunk inside a 200 stream into OpenAI's error event", () => {
    const t = new ChunkTranslator(ctx, false);
    const out = events(t.event(answer({ error: { code: 500, message: "boom", status: "INTERNAL" } })) + t.end());
    expect(out).toEqual([{ error: { message: "boom", type: "server_error", param: null, code: "internal" } }]);
  });
});

describe("errors", () => {
  it.each([
    [400, "INVALID_ARGUMENT", "invalid_request_error", "invalid_argument"],
    [401, "UNAUTHENTICATED", "invalid_request_error", "invalid_api_key"],
    [403, "PERMISSION_DENIED", "invalid_request_error", "permission_denied"],
    [404, "NOT_FOUND", "invalid_request_error", "not_found"],
    [429, "RESOURCE_EXHAUSTED", "rate_limit_error", "resource_exhausted"],
    [503, "UNAVAILABLE", "server_error", "unavailable"],
  ])("%i %s → type %s, code %s", (code, status, type, errorCode) => {
    expect(toOpenAIError({ error: { code, status, message: "m" } })).toEqual({
      error: { message: "m", type, param: null, code: errorCode },
    });
  });

  it("names the field of a BadRequest violation as param, and an ErrorInfo reason as code", () => {
    expect(
      toOpenAIError({
        error: {
          code: 400,
          status: "INVALID_ARGUMENT",
          message: "bad",
          details: [
            { "@type": "type.googleapis.com/google.rpc.BadRequest", fieldViolations: [{ field: "tools[0].type" }] },
            { "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "SCHEMA" },
          ],
        },
      }),
    ).toEqual({ error: { message: "bad", type: "invalid_request_error", param: "tools[0].type", code: "schema" } });
  });
});
