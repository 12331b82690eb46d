/**
 * Answer direction of the OpenAI-compatible surface: Gemini answers as chat completions. A unary
 * GenerateContentResponse becomes one `chat.completion`; a stream's Gemini chunks become `chat.completion.chunk`
 * events (ChunkTranslator, one per call), ended by the usage chunk when the client asked for it and `[DONE]`.
 *
 * - Candidates are choices; text parts the message content, thought parts `reasoning_content`, functionCall parts
 *   `tool_calls` (arguments as a JSON string, an id Gemini gave or one derived from the response id) carrying the
 *   part's Gemini 3 thought signature as `extra_content.google.thought_signature`, where Google's own endpoint puts it
 *   and where clients that kept it send it back (chat-to-gemini.ts restores it).
 * - finish_reason: `tool_calls` when the candidate called a function, `length` for MAX_TOKENS, `content_filter` for
 *   the safety, recitation, blocklist and Model Armor reasons, `stop` otherwise.
 * - Usage: OpenAI counts reasoning inside completion_tokens and tool-use prompts inside prompt_tokens, Gemini apart,
 *   so completion = candidates + thoughts, prompt = prompt + tool use; cached and reasoning tokens in the details.
 *   Streams: the last usageMetadata seen on any chunk counts, text or not (Gemini 3 sends running totals on chunks
 *   without text; a translator that skips those reports zero).
 */
import { createHash, randomUUID } from "node:crypto";
import type { GenerateContentResponseWire, UsageMetadataWire } from "../../wire/gemini.js";
import type { ErrorEnvelope } from "../../wire/errors.js";
import type {
  ChatAnswerToolCall,
  ChatChunkChoice,
  ChatCompletion,
  ChatCompletionChunk,
  ChatFinishReason,
  ChatUsage,
} from "../../wire/openai.js";
import { toOpenAIError } from "./error-shape.js";

/** What an answer says about the call it answers. */
export interface ChatAnswerContext {
  /** The model the client named (a Gemini answer's modelVersion is preferred when it has one). */
  model: string;
  /** Unix seconds. */
  created: number;
}

type Candidate = NonNullable<GenerateContentResponseWire["candidates"]>[number];
type GeminiPart = NonNullable<NonNullable<Candidate["content"]>["parts"]>[number];

const FILTERED = new Set([
  "SAFETY",
  "RECITATION",
  "BLOCKLIST",
  "PROHIBITED_CONTENT",
  "SPII",
  "IMAGE_SAFETY",
  "IMAGE_PROHIBITED_CONTENT",
  "MODEL_ARMOR",
]);

export function finishReasonOf(reason: string | undefined, calledTools: boolean): ChatFinishReason {
  if (calledTools) return "tool_calls";
  if (reason === "MAX_TOKENS") return "length";
  if (reason !== undefined && FILTERED.has(reason)) return "content_filter";
  return "stop";
}

/** Gemini usageMetadata as OpenAI usage. */
export function toChatUsage(u: UsageMetadataWire): ChatUsage {
  const n = (v: number | undefined) => (typeof v === "number" && v > 0 ? v : 0);
  const prompt = n(u.promptTokenCount) + n(u.toolUsePromptTokenCount);
  const completion = n(u.candidatesTokenCount) + n(u.thoughtsTokenCount);
  const audio = (u.promptTokensDetails ?? [])
    .filter((d) => (d.modality as string | undefined) === "AUDIO")
    .reduce((sum, d) => sum + n(d.tokenCount), 0);
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: n(u.totalTokenCount) || prompt + completion,
    prompt_tokens_details: { cached_tokens: n(u.cachedContentTokenCount), audio_tokens: audio },
    completion_tokens_details: { reasoning_tokens: n(u.thoughtsTokenCount) },
  };
}

/** A chat completion id from Gemini's response id (stable for a cached answer), else a fresh one. */
function completionId(responseId: string | undefined): string {
  return `chatcmpl-${responseId ?? randomUUID().replaceAll("-", "")}`;
}

/** A tool call id: Gemini's own, else derived from the response, candidate and position (`call_…`). */
function toolCallId(given: unknown, responseId: string | undefined, candidate: number, position: number): string {
  if (typeof given === "string" && given) return given;
  const seed = `${responseId ?? randomUUID()}|${candidate}|${position}`;
  return `call_${createHash("sha256").update(seed).digest("base64url").slice(0, 24)}`;
}

/** What one candidate (or one chunk of it) carries, split the OpenAI way. */
interface Pieces {
  text: string;
  reasoning: string;
  calls: ChatAnswerToolCall[];
  /** A thought signature on a text part (Gemini 3 signs the last part of an answer without calls). */
  textSignature: string | undefined;
}

function piecesOf(
  parts: readonly GeminiPart[],
  responseId: string | undefined,
  candidate: number,
  firstCall: number,
): Pieces {
  const out: Pieces = { text: "", reasoning: "", calls: [], textSignature: undefined };
  for (const part of parts) {
    const signature = typeof part.thoughtSignature === "string" ? part.thoughtSignature : undefined;
    if (part.functionCall) {
      const call: ChatAnswerToolCall = {
        id: toolCallId(part.functionCall.id, responseId, candidate, firstCall + out.calls.length),
        type: "function",
        function: { name: part.functionCall.name ?? "", arguments: JSON.stringify(part.functionCall.args ?? {}) },
      };
      if (signature) call.extra_content = { google: { thought_signature: signature } };
      out.calls.push(call);
    } else if (typeof part.text === "string") {
      if (part.thought === true) out.reasoning += part.text;
      else {
        out.text += part.text;
        if (signature) out.textSignature = signature;
      }
    } else if (signature) out.textSignature = signature; // a part that only carries a signature
  }
  return out;
}

function parseAnswer(json: string): GenerateContentResponseWire & { error?: ErrorEnvelope["error"] } {
  const doc = JSON.parse(json) as unknown;
  return typeof doc === "object" && doc !== null ? (doc as GenerateContentResponseWire) : {};
}

/** A unary Gemini answer as a chat completion. */
export function toChatCompletion(json: string, ctx: ChatAnswerContext): ChatCompletion {
  const answer = parseAnswer(json);
  const choices: ChatCompletion["choices"] = (answer.candidates ?? []).map((c, i) => {
    const index = c.index ?? i;
    const p = piecesOf(c.content?.parts ?? [], answer.responseId, index, 0);
    const message: ChatCompletion["choices"][number]["message"] = {
      role: "assistant",
      content: p.text || (p.calls.length ? null : FILTERED.has(String(c.finishReason)) ? null : ""),
      refusal: null,
    };
    if (p.reasoning) message.reasoning_content = p.reasoning;
    if (p.calls.length) message.tool_calls = p.calls;
    else if (p.textSignature) message.extra_content = { google: { thought_signature: p.textSignature } };
    return {
      index,
      message,
      finish_reason: finishReasonOf(c.finishReason as string | undefined, p.calls.length > 0),
      logprobs: null,
    };
  });
  const blocked = answer.promptFeedback?.blockReason as string | undefined;
  if (!choices.length && blocked) {
    choices.push({
      index: 0,
      message: { role: "assistant", content: null, refusal: blockMessage(answer) },
      finish_reason: "content_filter",
      logprobs: null,
    });
  }
  const out: ChatCompletion = {
    id: completionId(answer.responseId),
    object: "chat.completion",
    created: ctx.created,
    model: answer.modelVersion ?? ctx.model,
    choices,
  };
  if (answer.usageMetadata) out.usage = toChatUsage(answer.usageMetadata);
  return out;
}

function blockMessage(answer: GenerateContentResponseWire): string {
  const f = answer.promptFeedback!;
  return f.blockReasonMessage ?? `The prompt was blocked (${String(f.blockReason)}).`;
}

/** One SSE event of OpenAI's stream framing. */
export const sse = (json: unknown): string => `data: ${JSON.stringify(json)}\n\n`;
export const DONE = "data: [DONE]\n\n";

interface ChoiceState {
  started: boolean;
  calls: number;
  finished: boolean;
}

/**
 * A Gemini stream as OpenAI chunks, one Gemini chunk at a time (`event`), then `end`. Stateful: the role goes on each
 * choice's first delta, tool calls are numbered across chunks, the usage is the last one seen.
 */
export class ChunkTranslator {
  private readonly choices = new Map<number, ChoiceState>();
  private usage: UsageMetadataWire | undefined;
  private id: string | undefined;
  private model: string;
  private failed = false;

  constructor(
    private readonly ctx: ChatAnswerContext,
    /** `stream_options.include_usage`: end with a chunk of no choices and the usage. */
    private readonly includeUsage: boolean,
  ) {
    this.model = ctx.model;
  }

  /** One Gemini chunk (its JSON) as the SSE text to send: an event, or "" when it carries nothing for the client. */
  event(json: string): string {
    let answer: ReturnType<typeof parseAnswer>;
    try {
      answer = parseAnswer(json);
    } catch {
      return "";
    }
    if (answer.error) return this.error({ error: answer.error });
    this.id ??= completionId(answer.responseId);
    if (answer.modelVersion) this.model = answer.modelVersion;
    if (answer.usageMetadata) this.usage = answer.usageMetadata;
    const choices: ChatChunkChoice[] = [];
    for (const [i, c] of (answer.candidates ?? []).entries()) {
      const choice = this.choice(c, c.index ?? i, answer.responseId);
      if (choice) choices.push(choice);
    }
    const blocked = answer.promptFeedback?.blockReason;
    if (!choices.length && blocked && !answer.candidates?.length) {
      choices.push({
        index: 0,
        delta: { role: "assistant", content: null, refusal: blockMessage(answer) },
        finish_reason: "content_filter",
        logprobs: null,
      });
      this.state(0).finished = true;
    }
    return choices.length ? sse(this.chunk(choices)) : "";
  }

  /** The end of a stream that ended well: the usage chunk (when asked for) and `[DONE]`. */
  end(): string {
    if (this.failed) return "";
    const usage = this.includeUsage && this.usage ? sse({ ...this.chunk([]), usage: toChatUsage(this.usage) }) : "";
    return usage + DONE;
  }

  /** An error that ends the stream: OpenAI's error body as the last event (no `[DONE]` after it). */
  error(envelope: ErrorEnvelope): string {
    this.failed = true;
    return sse(toOpenAIError(envelope));
  }

  private choice(c: Candidate, index: number, responseId: string | undefined): ChatChunkChoice | undefined {
    const state = this.state(index);
    if (state.finished) return undefined;
    const p = piecesOf(c.content?.parts ?? [], responseId, index, state.calls);
    const delta: NonNullable<ChatChunkChoice["delta"]> = {};
    if (!state.started) delta.role = "assistant";
    if (p.text) delta.content = p.text;
    if (p.reasoning) delta.reasoning_content = p.reasoning;
    if (p.textSignature) delta.extra_content = { google: { thought_signature: p.textSignature } };
    if (p.calls.length) {
      delta.tool_calls = p.calls.map((call, k) => ({ index: state.calls + k, ...call }));
      state.calls += p.calls.length;
    }
    const finish = c.finishReason as string | undefined;
    if (finish) state.finished = true;
    if (Object.keys(delta).length === 0 && !finish) return undefined;
    if (!state.started && delta.content === undefined && !p.calls.length) delta.content = "";
    state.started = true;
    return {
      index,
      delta,
      finish_reason: finish ? finishReasonOf(finish, state.calls > 0) : null,
      logprobs: null,
    };
  }

  private state(index: number): ChoiceState {
    let s = this.choices.get(index);
    if (!s) {
      s = { started: false, calls: 0, finished: false };
      this.choices.set(index, s);
    }
    return s;
  }

  private chunk(choices: ChatChunkChoice[]): ChatCompletionChunk {
    const chunk: ChatCompletionChunk = {
      id: (this.id ??= completionId(undefined)),
      object: "chat.completion.chunk",
      created: this.ctx.created,
      model: this.model,
      choices,
    };
    if (this.includeUsage) chunk.usage = null;
    return chunk;
  }
}
