/**
 * Gemini ⇄ OpenAI chat-completions translation for the OpenAI-compatible provider (openai.ts). Pure functions and
 * one stateful stream translator; no I/O.
 *
 * The gateway speaks Gemini on both sides of its Provider interface, so an OpenAI-compatible server (vLLM, Ollama,
 * another vendor) is reached by translating the request into a `/v1/chat/completions` body and the answer back into a
 * GenerateContentResponse: unary bodies as one JSON document, streams as one Gemini chunk per OpenAI delta, with the
 * finish reason and the usage on the same final chunk (as Vertex sends them, which is what accounting reads).
 *
 * What OpenAI's side cannot express (file URIs, audio/video, thought parts, built-in tools, cached contents) is refused
 * with a 400 that names the part, rather than dropped: a silently shortened prompt would answer a different question.
 * Sampling hints without an OpenAI equivalent (topK, thinkingConfig, safetySettings, labels) are dropped instead: the
 * answer is still an answer to the prompt, and OpenAI itself rejects parameters it does not know.
 */
import { errors, GatewayError, statusForHttp, type ErrorDetail, type ErrorEnvelope } from "../wire/errors.js";
import { describeIssues, GenerateContentRequestSchema, type Content, type Part } from "../wire/gemini.js";
import {
  ChatCompletionChunkSchema,
  ChatCompletionSchema,
  type ChatChunkToolCall,
  type ChatCompletion,
  type ChatCompletionRequest,
  type ChatContentPart,
  type ChatMessage,
  type ChatTextPart,
  type ChatTool,
  type ChatToolCall,
  type ChatUsage,
} from "../wire/openai.js";
// OpenAI servers frame events the same ways as Vertex (LF LF, CRLF CRLF).
import { SseParser } from "../wire/sse.js";

// ---------------------------------------------------------------------------------------------------------------
// Gemini response shapes (what we write): the wire subset this translator produces.

export type GeminiFinishReason = "STOP" | "MAX_TOKENS" | "SAFETY" | "OTHER" | "MALFORMED_FUNCTION_CALL";

export interface GeminiFunctionCall {
  id?: string;
  name: string;
  args: Record<string, unknown>;
}

export type GeminiPart = { text: string } | { functionCall: GeminiFunctionCall };

export interface GeminiCandidate {
  index: number;
  content: { role: "model"; parts: GeminiPart[] };
  finishReason?: GeminiFinishReason;
  finishMessage?: string;
}

export interface GeminiUsageMetadata {
  promptTokenCount: number;
  candidatesTokenCount: number;
  totalTokenCount: number;
  thoughtsTokenCount?: number;
  cachedContentTokenCount?: number;
}

export interface GeminiResponse {
  candidates: GeminiCandidate[];
  usageMetadata?: GeminiUsageMetadata;
  modelVersion: string;
  responseId?: string;
  createTime?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Request: Gemini → OpenAI

const UNSUPPORTED_HINT =
  "an OpenAI-compatible upstream takes text, inline images, function calls and function responses only";

function unsupported(where: string, what: string): GatewayError {
  return errors.invalidArgument(`${where}: ${what} is not supported by this model's upstream (${UNSUPPORTED_HINT}).`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A function call seen in a model turn, waiting for its functionResponse (matched by id, else by name in order). */
interface PendingCall {
  id: string;
  name: string;
}

interface Conversation {
  messages: ChatMessage[];
  pending: PendingCall[];
  /** Running count of function calls in the request: the deterministic `call_<n>` ids. */
  calls: number;
}

/**
 * Translates a Gemini GenerateContentRequest (already validated by the pipeline; checked again here because this is
 * a typed boundary) into a chat-completions body for `servedModel`. Throws a 400 GatewayError for parts and tools the
 * OpenAI side cannot take.
 */
export function toChatCompletionRequest(
  gemini: Record<string, unknown>,
  servedModel: string,
  stream: boolean,
): ChatCompletionRequest {
  const parsed = GenerateContentRequestSchema.safeParse(gemini);
  if (!parsed.success) throw errors.invalidArgument(describeIssues(parsed.error));
  const request = parsed.data;
  if (request.cachedContent !== undefined) {
    throw unsupported("cachedContent", "a cached content reference");
  }

  const conversation: Conversation = { messages: [], pending: [], calls: 0 };
  if (request.systemInstruction) {
    const texts = request.systemInstruction.parts.map((part, i) => {
      const kind = partKind(part);
      if (kind !== "text") throw unsupported(`systemInstruction.parts[${i}]`, describeKind(kind, part));
      return part.text ?? "";
    });
    // Separate parts a client put together are separate pieces of instruction: keep them apart.
    conversation.messages.push({ role: "system", content: texts.join("\n") });
  }
  request.contents.forEach((content, i) => addContent(conversation, content, i));

  const out: ChatCompletionRequest = { model: servedModel, messages: conversation.messages };
  const tools = toTools(request.tools);
  if (tools.length) out.tools = tools;
  applyToolConfig(out, request.toolConfig);
  applyGenerationConfig(out, request.generationConfig);
  if (stream) {
    out.stream = true;
    // Without it, OpenAI servers send no usage on streams, and the gateway could only estimate the cost.
    out.stream_options = { include_usage: true };
  }
  return out;
}

type PartKind =
  | "text"
  | "thought"
  | "inlineData"
  | "fileData"
  | "functionCall"
  | "functionResponse"
  | "executableCode"
  | "codeExecutionResult"
  | "unknown";

/** Which one of Part's union members this is. Metadata fields (thoughtSignature, mediaResolution…) do not count. */
function partKind(part: Part): PartKind {
  if (part.thought === true) return "thought";
  if (part.text !== undefined) return "text";
  if (part.inlineData !== undefined) return "inlineData";
  if (part.functionCall !== undefined) return "functionCall";
  if (part.functionResponse !== undefined) return "functionResponse";
  if (part.fileData !== undefined) return "fileData";
  if ("executableCode" in part) return "executableCode";
  if ("codeExecutionResult" in part) return "codeExecutionResult";
  return "unknown";
}

function describeKind(kind: PartKind, part: Part): string {
  switch (kind) {
    case "thought":
      return "a thought part";
    case "inlineData":
      return `inlineData of type "${part.inlineData?.mimeType}"`;
    case "unknown":
      return `a part with fields ${Object.keys(part).join(", ") || "(none)"}`;
    default:
      return `a ${kind} part`;
  }
}

function isImage(mimeType: string): boolean {
  return /^image\/[a-z0-9.+-]+$/i.test(mimeType);
}

function addContent(conversation: Conversation, content: Content, index: number): void {
  const where = (j: number) => `contents[${index}].parts[${j}]`;
  if (content.role === "model") return addModelTurn(conversation, content, where);

  // A user turn (or a legacy "function" turn): tool results first, since OpenAI wants them right after the assistant
  // message that called the tools, then whatever the user said with them.
  const tools: ChatMessage[] = [];
  const parts: ChatContentPart[] = [];
  content.parts.forEach((part, j) => {
    const kind = partKind(part);
    if (kind === "text") parts.push({ type: "text", text: part.text ?? "" });
    else if (kind === "inlineData" && isImage(part.inlineData!.mimeType)) {
      const { mimeType, data } = part.inlineData!;
      parts.push({ type: "image_url", image_url: { url: `data:${mimeType};base64,${data}` } });
    } else if (kind === "functionResponse") {
      tools.push(toToolMessage(conversation, part.functionResponse!, where(j)));
    } else throw unsupported(where(j), describeKind(kind, part));
  });
  conversation.messages.push(...tools);
  if (!parts.length) return;
  const textOnly = parts.every((p) => p.type === "text");
  conversation.messages.push({
    role: "user",
    content: textOnly ? parts.map((p) => (p as ChatTextPart).text).join("\n") : parts,
  });
}

function addModelTurn(conversation: Conversation, content: Content, where: (j: number) => string): void {
  const texts: string[] = [];
  const calls: ChatToolCall[] = [];
  content.parts.forEach((part, j) => {
    const kind = partKind(part);
    if (kind === "text") texts.push(part.text ?? "");
    else if (kind === "functionCall") calls.push(toToolCall(conversation, part.functionCall!, where(j)));
    else throw unsupported(where(j), `${describeKind(kind, part)} in a model turn`);
  });
  // Model turns are a previous answer replayed; streamed answers arrive in fragments, so no separator between them.
  const message: Extract<ChatMessage, { role: "assistant" }> = {
    role: "assistant",
    content: texts.length ? texts.join("") : null,
  };
  if (calls.length) message.tool_calls = calls;
  else message.content ??= "";
  conversation.messages.push(message);
}

function toToolCall(conversation: Conversation, call: Record<string, unknown>, where: string): ChatToolCall {
  const name = call.name;
  if (typeof name !== "string" || !name) throw errors.invalidArgument(`${where}.functionCall.name is required.`);
  // Ids the client kept (from an earlier answer of ours) are reused; otherwise a deterministic one, so the same
  // conversation always produces the same prompt (upstream prefix caches depend on it).
  const id = typeof call.id === "string" && call.id ? call.id : `call_${conversation.calls}`;
  conversation.calls++;
  conversation.pending.push({ id, name });
  return { id, type: "function", function: { name, arguments: JSON.stringify(call.args ?? {}) } };
}

function toToolMessage(conversation: Conversation, response: Record<string, unknown>, where: string): ChatMessage {
  const name = response.name;
  if (typeof name !== "string" || !name) throw errors.invalidArgument(`${where}.functionResponse.name is required.`);
  const byId = typeof response.id === "string" ? conversation.pending.findIndex((p) => p.id === response.id) : -1;
  const at = byId >= 0 ? byId : conversation.pending.findIndex((p) => p.name === name);
  if (at < 0) {
    throw errors.invalidArgument(
      `${where}.functionResponse "${name}" answers no earlier functionCall of that name in the conversation.`,
    );
  }
  const [call] = conversation.pending.splice(at, 1);
  return { role: "tool", tool_call_id: call!.id, content: JSON.stringify(response.response ?? {}) };
}

function toTools(tools: Record<string, unknown>[] | undefined): ChatTool[] {
  const out: ChatTool[] = [];
  tools?.forEach((tool, i) => {
    for (const [key, value] of Object.entries(tool)) {
      if (key !== "functionDeclarations") throw unsupported(`tools[${i}].${key}`, `the built-in tool "${key}"`);
      if (!Array.isArray(value)) throw errors.invalidArgument(`tools[${i}].functionDeclarations must be an array.`);
      value.forEach((decl: unknown, j) => out.push(toTool(decl, `tools[${i}].functionDeclarations[${j}]`)));
    }
  });
  return out;
}

function toTool(decl: unknown, where: string): ChatTool {
  if (!isRecord(decl) || typeof decl.name !== "string" || !decl.name) {
    throw errors.invalidArgument(`${where}.name is required.`);
  }
  const fn: ChatTool["function"] = { name: decl.name };
  if (typeof decl.description === "string") fn.description = decl.description;
  // parametersJsonSchema is JSON Schema already; parameters is Gemini's OpenAPI subset and needs converting.
  if (isRecord(decl.parametersJsonSchema)) fn.parameters = decl.parametersJsonSchema;
  else if (isRecord(decl.parameters)) fn.parameters = toJsonSchema(decl.parameters);
  return { type: "function", function: fn };
}

/**
 * Gemini's Schema (an OpenAPI 3.0 subset, types often upper-case: "OBJECT", "STRING") as JSON Schema: lower-case
 * types, `nullable` as a "null" type, Gemini-only keys dropped. Recurses where schemas nest.
 */
export function toJsonSchema(schema: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === "propertyOrdering" || key === "nullable") continue;
    if (key === "type" && typeof value === "string") out.type = value.toLowerCase();
    else if ((key === "properties" || key === "$defs" || key === "defs") && isRecord(value)) {
      out[key] = Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, isRecord(v) ? toJsonSchema(v) : v] as const),
      );
    } else if ((key === "items" || key === "additionalProperties") && isRecord(value)) out[key] = toJsonSchema(value);
    else if ((key === "anyOf" || key === "oneOf" || key === "allOf") && Array.isArray(value)) {
      out[key] = value.map((v: unknown) => (isRecord(v) ? toJsonSchema(v) : v));
    } else out[key] = value;
  }
  if (schema.nullable === true && typeof out.type === "string") out.type = [out.type, "null"];
  return out;
}

function applyToolConfig(out: ChatCompletionRequest, toolConfig: Record<string, unknown> | undefined): void {
  const config = toolConfig?.functionCallingConfig;
  if (!isRecord(config)) return;
  const allowed = Array.isArray(config.allowedFunctionNames)
    ? config.allowedFunctionNames.filter((n): n is string => typeof n === "string")
    : [];
  switch (config.mode) {
    case "NONE":
      out.tool_choice = "none";
      break;
    case "ANY":
      // "Call one of these": exactly one is a named choice; several narrow the tool list and require a call.
      if (allowed.length === 1) out.tool_choice = { type: "function", function: { name: allowed[0]! } };
      else {
        if (allowed.length && out.tools) {
          out.tools = (out.tools as ChatTool[]).filter((t) => allowed.includes(t.function.name));
        }
        out.tool_choice = "required";
      }
      break;
    case "AUTO":
    case "VALIDATED":
      out.tool_choice = "auto";
      break;
    default:
    // MODE_UNSPECIFIED or absent: the server's default (auto when tools are given).
  }
}

function applyGenerationConfig(out: ChatCompletionRequest, config: Record<string, unknown> | undefined): void {
  if (!config) return;
  const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);
  const set = <K extends keyof ChatCompletionRequest>(key: K, value: ChatCompletionRequest[K] | undefined) => {
    if (value !== undefined) out[key] = value;
  };
  set("temperature", num(config.temperature));
  set("top_p", num(config.topP));
  set("max_tokens", num(config.maxOutputTokens));
  set("n", num(config.candidateCount));
  set("seed", num(config.seed));
  set("presence_penalty", num(config.presencePenalty));
  set("frequency_penalty", num(config.frequencyPenalty));
  if (Array.isArray(config.stopSequences) && config.stopSequences.length) {
    out.stop = config.stopSequences.filter((s): s is string => typeof s === "string");
  }
  const modalities = config.responseModalities;
  if (Array.isArray(modalities) && modalities.some((m) => m !== "TEXT")) {
    throw unsupported("generationConfig.responseModalities", `output modalities other than TEXT`);
  }
  if (config.responseMimeType === "application/json") {
    if (isRecord(config.responseJsonSchema)) {
      out.response_format = {
        type: "json_schema",
        json_schema: { name: "response", schema: config.responseJsonSchema },
      };
    } else if (isRecord(config.responseSchema)) {
      const schema = toJsonSchema(config.responseSchema);
      out.response_format = { type: "json_schema", json_schema: { name: "response", schema } };
    } else out.response_format = { type: "json_object" };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Response: OpenAI → Gemini

/** OpenAI's finish_reason as Gemini's finishReason. A tool call is a normal stop in Gemini's terms. */
export function toFinishReason(reason: string): GeminiFinishReason {
  switch (reason) {
    case "stop":
    case "tool_calls":
    case "function_call":
      return "STOP";
    case "length":
      return "MAX_TOKENS";
    case "content_filter":
      return "SAFETY";
    default:
      return "OTHER";
  }
}

/**
 * OpenAI usage as Gemini usageMetadata. OpenAI counts reasoning inside completion_tokens; Gemini counts thoughts
 * apart from candidates (accounting/cost.ts prices them separately), so they are split out. Both count cached tokens
 * inside the prompt count.
 */
export function toUsageMetadata(usage: ChatUsage): GeminiUsageMetadata {
  const reasoning = usage.completion_tokens_details?.reasoning_tokens ?? 0;
  const out: GeminiUsageMetadata = {
    promptTokenCount: usage.prompt_tokens,
    candidatesTokenCount: Math.max(0, usage.completion_tokens - reasoning),
    totalTokenCount: usage.total_tokens ?? usage.prompt_tokens + usage.completion_tokens,
  };
  if (reasoning > 0) out.thoughtsTokenCount = reasoning;
  const cached = usage.prompt_tokens_details?.cached_tokens ?? 0;
  if (cached > 0) out.cachedContentTokenCount = cached;
  return out;
}

/** Parses a unary chat-completions body; a body that is not one is the upstream's fault (502). */
export function parseChatCompletion(text: string): ChatCompletion {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw errors.upstreamBroken("the OpenAI-compatible server's answer is not JSON");
  }
  const parsed = ChatCompletionSchema.safeParse(json);
  if (!parsed.success) {
    throw errors.upstreamBroken(`not a chat completion (${describeIssues(parsed.error)})`);
  }
  return parsed.data;
}

interface CallDraft {
  id: string | undefined;
  name: string;
  arguments: string;
}

/** A finished function call: its Gemini part, or why it cannot be one (arguments that are not a JSON object). */
function toFunctionCall(call: CallDraft): GeminiPart | string {
  let args: unknown;
  try {
    // Some servers send "" for a function without parameters.
    args = call.arguments.trim() ? JSON.parse(call.arguments) : {};
  } catch {
    return `The arguments of the call to "${call.name}" are not valid JSON.`;
  }
  if (!isRecord(args)) return `The arguments of the call to "${call.name}" are not a JSON object.`;
  const functionCall: GeminiFunctionCall = { name: call.name, args };
  if (call.id) functionCall.id = call.id;
  return { functionCall };
}

function toCandidate(index: number, text: string, calls: CallDraft[], finish: string | undefined): GeminiCandidate {
  const parts: GeminiPart[] = text ? [{ text }] : [];
  const candidate: GeminiCandidate = { index, content: { role: "model", parts } };
  let malformed: string | undefined;
  for (const call of calls) {
    const part = toFunctionCall(call);
    if (typeof part === "string") malformed ??= part;
    else parts.push(part);
  }
  if (malformed) {
    candidate.finishReason = "MALFORMED_FUNCTION_CALL";
    candidate.finishMessage = malformed;
  } else if (finish !== undefined) candidate.finishReason = toFinishReason(finish);
  return candidate;
}

function createTime(created: number | null | undefined): string | undefined {
  return typeof created === "number" ? new Date(created * 1000).toISOString() : undefined;
}

/** A unary chat completion as a Gemini GenerateContentResponse. */
export function fromChatCompletion(openai: ChatCompletion, modelVersion: string): GeminiResponse {
  const candidates = openai.choices.map((choice, i) =>
    toCandidate(
      choice.index ?? i,
      choice.message.content ?? "",
      (choice.message.tool_calls ?? []).map((c) => ({
        id: c.id ?? undefined,
        name: c.function.name,
        arguments: c.function.arguments ?? "",
      })),
      choice.finish_reason ?? undefined,
    ),
  );
  const out: GeminiResponse = { candidates, modelVersion };
  if (openai.usage) out.usageMetadata = toUsageMetadata(openai.usage);
  if (openai.id) out.responseId = openai.id;
  const created = createTime(openai.created);
  if (created) out.createTime = created;
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Streams: OpenAI SSE → Gemini chunks

interface ChoiceState {
  calls: CallDraft[];
  /** Set when its finish_reason arrived: held for the final chunk, with any text that came with it. */
  finish: string | undefined;
  finalText: string;
}

/**
 * Turns an OpenAI chat-completions SSE stream into Gemini stream chunks (JSON strings, one per SSE event to send).
 * Text deltas go out as they arrive, one Gemini chunk per OpenAI chunk. Tool-call fragments are accumulated and go out
 * whole. The finish reasons are held until the stream ends (`[DONE]` or EOF) because OpenAI sends usage in a chunk of
 * its own after them; they leave together in one final chunk, as Vertex sends them.
 */
export class ChatStreamTranslator {
  private readonly sse = new SseParser();
  private readonly choices = new Map<number, ChoiceState>();
  private usage: ChatUsage | undefined;
  private responseId: string | undefined;
  private created: string | undefined;
  private done = false;
  private flushed = false;

  constructor(private readonly modelVersion: string) {}

  /** Feeds bytes of the OpenAI SSE stream; returns the Gemini chunks they complete. */
  push(bytes: Buffer | string): string[] {
    const data = this.sse.push(typeof bytes === "string" ? Buffer.from(bytes) : bytes);
    return data.flatMap((payload) => this.event(payload));
  }

  /**
   * At end of input: the final chunk (finish reasons and usage), if not sent at `[DONE]` already. A stream cut before
   * any choice finished is an upstream failure, thrown so the client gets an error event rather than a clean end.
   */
  end(): string[] {
    const out = this.sse.end().flatMap((payload) => this.event(payload));
    if (!this.done && ![...this.choices.values()].some((c) => c.finish !== undefined)) {
      throw errors.upstreamBroken("the OpenAI-compatible stream ended before its last chunk");
    }
    return [...out, ...this.flush()];
  }

  /** One SSE data payload. */
  event(payload: string): string[] {
    if (this.done) return [];
    if (payload.trim() === "[DONE]") {
      this.done = true;
      return this.flush();
    }
    let json: unknown;
    try {
      json = JSON.parse(payload);
    } catch {
      throw errors.upstreamBroken("a chunk of the OpenAI-compatible stream is not JSON");
    }
    // vLLM and others report failures mid-stream as an event of their own.
    if (isRecord(json) && json.error !== undefined) throw streamError(json.error);
    const parsed = ChatCompletionChunkSchema.safeParse(json);
    if (!parsed.success) throw errors.upstreamBroken(`not a chat completion chunk (${describeIssues(parsed.error)})`);
    const chunk = parsed.data;
    this.responseId ??= chunk.id ?? undefined;
    this.created ??= createTime(chunk.created);
    if (chunk.usage) this.usage = chunk.usage; // the last one counts (some servers send running totals)

    const candidates: GeminiCandidate[] = [];
    (chunk.choices ?? []).forEach((choice, i) => {
      const index = choice.index ?? i;
      const state = this.state(index);
      if (state.finish !== undefined) return; // nothing is valid after a choice's finish
      const text = choice.delta?.content ?? "";
      for (const fragment of choice.delta?.tool_calls ?? []) addFragment(state.calls, fragment);
      if (choice.finish_reason) {
        state.finish = choice.finish_reason;
        state.finalText = text;
      } else if (text) {
        candidates.push({ index, content: { role: "model", parts: [{ text }] } });
      }
    });
    return candidates.length ? [this.serialize(candidates, false)] : [];
  }

  private state(index: number): ChoiceState {
    let state = this.choices.get(index);
    if (!state) {
      state = { calls: [], finish: undefined, finalText: "" };
      this.choices.set(index, state);
    }
    return state;
  }

  private flush(): string[] {
    if (this.flushed) return [];
    this.flushed = true;
    const candidates = [...this.choices.entries()]
      .filter(([, s]) => s.finish !== undefined || s.calls.length > 0)
      .sort(([a], [b]) => a - b)
      .map(([index, s]) => toCandidate(index, s.finalText, s.calls, s.finish));
    if (!candidates.length && !this.usage) return [];
    return [this.serialize(candidates, true)];
  }

  private serialize(candidates: GeminiCandidate[], final: boolean): string {
    const out: GeminiResponse = { candidates, modelVersion: this.modelVersion };
    if (final && this.usage) out.usageMetadata = toUsageMetadata(this.usage);
    if (this.responseId) out.responseId = this.responseId;
    if (this.created) out.createTime = this.created;
    return JSON.stringify(out);
  }
}

/**
 * Adds a streamed tool-call fragment. The first fragment of a call carries its id and name, the rest only argument
 * text; `index` says which call a fragment belongs to (servers that omit it send each call whole, or in order).
 */
function addFragment(calls: CallDraft[], fragment: ChatChunkToolCall): void {
  const name = fragment.function?.name ?? undefined;
  const args = fragment.function?.arguments ?? "";
  let call: CallDraft | undefined;
  if (typeof fragment.index === "number") call = calls[fragment.index];
  else if (!fragment.id && !name) call = calls.at(-1);
  if (!call) {
    call = { id: fragment.id ?? undefined, name: name ?? "", arguments: "" };
    if (typeof fragment.index === "number") calls[fragment.index] = call;
    else calls.push(call);
  } else {
    call.id ??= fragment.id ?? undefined;
    if (name && !call.name) call.name = name;
  }
  call.arguments += args;
}

// ---------------------------------------------------------------------------------------------------------------
// Errors

interface OpenAIErrorFields {
  message: string | undefined;
  type: string | undefined;
  code: string | number | undefined;
}

/**
 * Reads an OpenAI-style error: `{"error":{"message","type","code"}}`, and the variants compatible servers send
 * (`{"error":"..."}` from Ollama, `{"detail":"..."}` from FastAPI, `{"message":"..."}`).
 */
function errorFields(value: unknown): OpenAIErrorFields {
  const str = (v: unknown) => (typeof v === "string" && v ? v : undefined);
  if (typeof value === "string") return { message: str(value), type: undefined, code: undefined };
  if (!isRecord(value)) return { message: undefined, type: undefined, code: undefined };
  if (value.error !== undefined) return errorFields(value.error);
  const code = typeof value.code === "number" || typeof value.code === "string" ? value.code : undefined;
  return { message: str(value.message) ?? str(value.detail), type: str(value.type), code };
}

function errorInfo(fields: OpenAIErrorFields): ErrorDetail[] {
  const reason = fields.code ?? fields.type;
  if (reason === undefined) return [];
  const metadata: Record<string, string> = {};
  if (fields.type) metadata.type = fields.type;
  if (fields.code !== undefined) metadata.code = String(fields.code);
  return [
    {
      "@type": "type.googleapis.com/google.rpc.ErrorInfo",
      reason: String(reason)
        .replace(/[^a-z0-9]+/gi, "_")
        .toUpperCase(),
      domain: "openai-compatible upstream",
      metadata,
    },
  ];
}

/**
 * An error answer of the OpenAI server (its HTTP status and body) as the Gemini error envelope, same HTTP code.
 * A numeric Retry-After also becomes a RetryInfo detail, where Gemini clients look for it.
 */
export function toGeminiError(httpStatus: number, body: string, retryAfter?: string): ErrorEnvelope {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  const fields = errorFields(json);
  const text = body.trim();
  const message =
    fields.message ??
    (json === undefined && text && text.length <= 500 ? text : `The upstream answered HTTP ${httpStatus}.`);
  const details = errorInfo(fields);
  if (retryAfter && /^\d+(\.\d+)?$/.test(retryAfter.trim())) {
    details.push({ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: `${retryAfter.trim()}s` });
  }
  const error: ErrorEnvelope["error"] = { code: httpStatus, message, status: statusForHttp(httpStatus) };
  if (details.length) error.details = details;
  return { error };
}

/** An error event inside a 200 stream: its code if it is an HTTP status, else a broken upstream (502). */
function streamError(value: unknown): GatewayError {
  const fields = errorFields(value);
  const code = typeof fields.code === "number" && fields.code >= 400 && fields.code <= 599 ? fields.code : 502;
  const message = fields.message ?? "The OpenAI-compatible server reported an error mid-stream.";
  return new GatewayError(code, statusForHttp(code), message, errorInfo(fields));
}
