/**
 * Request direction of the OpenAI-compatible surface: a chat-completions body as a Gemini GenerateContentRequest, the
 * model it names and whether it streams. Pure functions; every refusal is a 400 naming the request field (`param`).
 *
 * Messages: system and developer messages become `systemInstruction`; user messages `user` contents (text, images
 * and files by data URL, audio) ; assistant messages `model` contents (text, then one functionCall part per tool
 * call, each with the Gemini 3 thought signature the client echoed back in `extra_content.google.thought_signature`);
 * consecutive tool messages one `user` content of functionResponse parts, named from the assistant tool call they
 * answer. Settings: see docs/openai-compatibility.md, which lists every field and what it becomes.
 */
import type { Content, Part } from "../../wire/gemini.js";
import {
  ChatCompletionRequestSchema,
  type ChatAssistantMessage,
  type ChatCompletionRequest,
  type ChatContentPart,
  type ChatMessage,
} from "../../wire/openai.js";
import { invalidParam } from "./error-shape.js";
import { toGeminiJsonSchema } from "./json-schema.js";
import { parseBody } from "./parse.js";
import { thinkingForEffort, thinkingFromGoogle, type ThinkingConfig } from "./reasoning.js";

/** The Gemini request a chat completion becomes (plain JSON). */
export interface GeminiChatRequest {
  contents: Content[];
  systemInstruction?: { parts: Part[] };
  tools?: { functionDeclarations: FunctionDeclaration[] }[];
  toolConfig?: { functionCallingConfig: { mode: string; allowedFunctionNames?: string[] } };
  generationConfig?: Record<string, unknown>;
}

interface FunctionDeclaration {
  name: string;
  description?: string;
  parametersJsonSchema?: Record<string, unknown>;
}

export interface DecodedChat {
  /** The Gemini model id (`models/` and `google/` prefixes, as Google's endpoints spell it, removed). */
  model: string;
  stream: boolean;
  /** `stream_options.include_usage`: a last chunk with the usage. */
  includeUsage: boolean;
  request: GeminiChatRequest;
  /** JSON Schema keywords dropped from tool and response schemas (json-schema.ts). */
  dropped: string[];
}

/** The request body as a chat-completions request: JSON, then the schema (wire/openai.ts); a 400 otherwise. */
export function parseChatRequest(raw: Buffer): ChatCompletionRequest {
  return parseBody(raw, ChatCompletionRequestSchema, "chat completions");
}

// ---------------------------------------------------------------------------------------------------------------

/** Refused parameters: they would change the answer in a way Gemini cannot honour here. */
const REFUSED: readonly [keyof ChatCompletionRequest, string][] = [
  ["audio", "audio output is not supported on this surface"],
  ["functions", "the deprecated `functions` parameter is not supported; send `tools`"],
  ["function_call", "the deprecated `function_call` parameter is not supported; send `tool_choice`"],
  ["web_search_options", "web search is not supported on this surface"],
  ["moderation", "OpenAI moderation settings are not supported on this surface"],
];

export function chatToGemini(body: ChatCompletionRequest): DecodedChat {
  for (const [field, why] of REFUSED) {
    if (body[field] !== undefined && body[field] !== null) throw invalidParam(field, `${field}: ${why}.`);
  }
  const model = body.model.replace(/^(models|google)\//, "");
  const stream = body.stream === true;
  if (body.stream_options && !stream) {
    throw invalidParam("stream_options", "stream_options is only allowed when stream is true.");
  }
  const dropped = new Set<string>();
  const request: GeminiChatRequest = { contents: [] };
  addMessages(request, body.messages);
  addTools(request, body, dropped);
  const config = generationConfig(body, model, dropped);
  if (Object.keys(config).length) request.generationConfig = config;
  return {
    model,
    stream,
    includeUsage: stream && body.stream_options?.include_usage === true,
    request,
    dropped: [...dropped],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Messages

function addMessages(request: GeminiChatRequest, messages: readonly ChatMessage[]): void {
  const system: Part[] = [];
  /** Tool call id → function name, from the assistant messages seen so far. */
  const calls = new Map<string, string>();
  /** The user content of function responses being collected (consecutive tool messages). */
  let responses: Content | undefined;
  messages.forEach((message, i) => {
    const at = `messages[${i}]`;
    if (message.role !== "tool") responses = undefined;
    switch (message.role) {
      case "system":
      case "developer":
        system.push(...textParts(message.content));
        break;
      case "user":
        request.contents.push({ role: "user", parts: userParts(message.content, `${at}.content`) });
        break;
      case "assistant": {
        const parts = assistantParts(message, at, calls);
        if (parts.length) request.contents.push({ role: "model", parts });
        break;
      }
      case "tool": {
        const name = calls.get(message.tool_call_id);
        if (name === undefined) {
          throw invalidParam(
            `${at}.tool_call_id`,
            `${at}.tool_call_id "${message.tool_call_id}" answers no tool call of an earlier assistant message.`,
          );
        }
        const text =
          typeof message.content === "string" ? message.content : message.content.map((p) => p.text).join("");
        const part: Part = { functionResponse: { name, response: functionResponse(text) } };
        if (responses) responses.parts.push(part);
        else {
          responses = { role: "user", parts: [part] };
          request.contents.push(responses);
        }
        break;
      }
      case "function":
        throw invalidParam(
          `${at}.role`,
          `${at}: the deprecated "function" role is not supported; send "tool" messages.`,
        );
    }
  });
  if (system.length) request.systemInstruction = { parts: system };
  if (!request.contents.length) {
    throw invalidParam("messages", "messages must contain at least one user, assistant or tool message.");
  }
}

function textParts(content: string | { text: string }[]): Part[] {
  if (typeof content === "string") return content ? [{ text: content }] : [];
  return content.filter((p) => p.text).map((p) => ({ text: p.text }));
}

/** A tool's result as Gemini's functionResponse.response (an object): a JSON object as it is, else `{output}`. */
function functionResponse(text: string): Record<string, unknown> {
  try {
    const json: unknown = JSON.parse(text);
    if (typeof json === "object" && json !== null && !Array.isArray(json)) return json as Record<string, unknown>;
    return { output: json };
  } catch {
    return { output: text };
  }
}

const AUDIO_TYPES: Record<string, string> = { wav: "audio/wav", mp3: "audio/mp3" };

function userParts(content: string | ChatContentPart[], at: string): Part[] {
  if (typeof content === "string") return [{ text: content }];
  if (!content.length) throw invalidParam(at, `${at} must not be empty.`);
  return content.map((part, j): Part => {
    const where = `${at}[${j}]`;
    switch (part.type) {
      case "text":
        return { text: part.text };
      case "image_url": {
        const data = dataUrl(part.image_url.url, `${where}.image_url.url`);
        if (!data.mimeType.startsWith("image/")) {
          throw invalidParam(
            `${where}.image_url.url`,
            `${where}.image_url.url is a ${data.mimeType} data URL, not an image.`,
          );
        }
        return { inlineData: data };
      }
      case "input_audio": {
        const mimeType = AUDIO_TYPES[part.input_audio.format];
        if (!mimeType) {
          throw invalidParam(`${where}.input_audio.format`, `${where}.input_audio.format must be "wav" or "mp3".`);
        }
        return { inlineData: { mimeType, data: part.input_audio.data } };
      }
      case "file": {
        if (!part.file.file_data) {
          throw invalidParam(
            `${where}.file`,
            `${where}.file: send the file inline as file_data (a data URL); ` +
              "uploaded files (file_id) are not served here.",
          );
        }
        return { inlineData: dataUrl(part.file.file_data, `${where}.file.file_data`) };
      }
    }
  });
}

/**
 * `data:<mime>;base64,<data>` as inlineData. The gateway never fetches URLs (it would be a way into the network it
 * runs in), so anything else is a 400.
 */
function dataUrl(url: string, at: string): { mimeType: string; data: string } {
  const m = /^data:([\w.+-]+\/[\w.+-]+)(?:;[^;,]*)*;base64,/i.exec(url);
  if (!m) {
    throw invalidParam(
      at,
      `${at}: only base64 data URLs (data:<type>;base64,...) are accepted; the gateway does not fetch URLs.`,
    );
  }
  return { mimeType: m[1]!.toLowerCase(), data: url.slice(m[0].length) };
}

function assistantParts(message: ChatAssistantMessage, at: string, calls: Map<string, string>): Part[] {
  const parts: Part[] = [];
  const content = message.content;
  const text =
    typeof content === "string" ? content : (content ?? []).map((p) => (p.type === "text" ? p.text : "")).join("");
  if (text) {
    const part: Part = { text };
    const signature = message.extra_content?.google?.thought_signature;
    if (signature && !message.tool_calls?.length) part.thoughtSignature = signature;
    parts.push(part);
  }
  message.tool_calls?.forEach((call, j) => {
    const where = `${at}.tool_calls[${j}]`;
    let args: unknown;
    try {
      args = call.function.arguments.trim() ? JSON.parse(call.function.arguments) : {};
    } catch {
      throw invalidParam(`${where}.function.arguments`, `${where}.function.arguments is not valid JSON.`);
    }
    if (typeof args !== "object" || args === null || Array.isArray(args)) {
      throw invalidParam(`${where}.function.arguments`, `${where}.function.arguments must be a JSON object.`);
    }
    calls.set(call.id, call.function.name);
    const part: Part = { functionCall: { name: call.function.name, args } };
    // Gemini 3 checks the signature of each step's first call; it must come back exactly as it was given.
    const signature = call.extra_content?.google?.thought_signature;
    if (signature) part.thoughtSignature = signature;
    parts.push(part);
  });
  return parts;
}

// ---------------------------------------------------------------------------------------------------------------
// Tools

/** Function names Gemini takes: a letter or underscore first, then letters, digits, `_ . -`, at most 64. */
const FUNCTION_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;

function addTools(request: GeminiChatRequest, body: ChatCompletionRequest, dropped: Set<string>): void {
  const declarations: FunctionDeclaration[] = [];
  const names = new Set<string>();
  body.tools?.forEach((tool, i) => {
    const at = `tools[${i}]`;
    if (tool.type !== "function") {
      throw invalidParam(`${at}.type`, `${at}: only function tools are supported, not "${tool.type}".`);
    }
    const fn = (tool as Extract<typeof tool, { type: "function" }>).function;
    if (!FUNCTION_NAME.test(fn.name)) {
      throw invalidParam(
        `${at}.function.name`,
        `${at}.function.name "${fn.name}": Gemini takes names that start with a letter or underscore and use only ` +
          "letters, digits, _ . and -, at most 64 characters.",
      );
    }
    if (names.has(fn.name)) throw invalidParam(`${at}.function.name`, `${at}: a second tool named "${fn.name}".`);
    names.add(fn.name);
    const declaration: FunctionDeclaration = { name: fn.name };
    if (fn.description) declaration.description = fn.description;
    if (fn.parameters && Object.keys(fn.parameters).length) {
      const rewrite = toGeminiJsonSchema(fn.parameters, `${at}.function.parameters`, { objectRoot: true });
      for (const k of rewrite.dropped) dropped.add(k);
      declaration.parametersJsonSchema = rewrite.schema;
    }
    declarations.push(declaration);
  });
  if (declarations.length) request.tools = [{ functionDeclarations: declarations }];

  const choice = body.tool_choice;
  if (choice === undefined || choice === null) return;
  if (!declarations.length) {
    if (choice === "none") return;
    throw invalidParam("tool_choice", "tool_choice is only allowed when tools are specified.");
  }
  const known = (name: string, at: string) => {
    if (!names.has(name)) throw invalidParam(at, `${at}: no tool is named "${name}".`);
    return name;
  };
  let config: NonNullable<GeminiChatRequest["toolConfig"]>["functionCallingConfig"];
  if (choice === "none") config = { mode: "NONE" };
  else if (choice === "auto") config = { mode: "AUTO" };
  else if (choice === "required") config = { mode: "ANY" };
  else if (choice.type === "function") {
    const name = known((choice as { function: { name: string } }).function.name, "tool_choice.function.name");
    config = { mode: "ANY", allowedFunctionNames: [name] };
  } else if (choice.type === "allowed_tools") {
    const allowed = (choice as { allowed_tools: { mode: string; tools: { function: { name: string } }[] } })
      .allowed_tools;
    const list = allowed.tools.map((t, j) =>
      known(t.function.name, `tool_choice.allowed_tools.tools[${j}].function.name`),
    );
    // "Call one of these, or answer": Gemini's VALIDATED mode with allowed names; "required" is ANY.
    config = { mode: allowed.mode === "required" ? "ANY" : "VALIDATED", allowedFunctionNames: list };
  } else {
    throw invalidParam(
      "tool_choice",
      `tool_choice of type "${choice.type}" is not supported; only function tools are.`,
    );
  }
  request.toolConfig = { functionCallingConfig: config };
}

// ---------------------------------------------------------------------------------------------------------------
// Generation settings

function generationConfig(body: ChatCompletionRequest, model: string, dropped: Set<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const set = (key: string, value: unknown) => {
    if (value !== undefined && value !== null) out[key] = value;
  };
  set("temperature", body.temperature);
  set("topP", body.top_p);
  set("presencePenalty", body.presence_penalty);
  set("frequencyPenalty", body.frequency_penalty);
  set("seed", body.seed);
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  if (maxTokens === 0) {
    throw invalidParam(
      body.max_completion_tokens === 0 ? "max_completion_tokens" : "max_tokens",
      "must be at least 1.",
    );
  }
  set("maxOutputTokens", maxTokens);
  if (body.n !== undefined && body.n !== null) {
    if (body.n > 8) throw invalidParam("n", "n must be at most 8 (Gemini's candidateCount limit).");
    if (body.n > 1) out.candidateCount = body.n;
  }
  if (body.stop !== undefined && body.stop !== null) {
    const stops = (typeof body.stop === "string" ? [body.stop] : body.stop).filter((s) => s.length > 0);
    if (stops.length > 5) throw invalidParam("stop", "stop takes at most 5 sequences (Gemini's limit).");
    if (stops.length) out.stopSequences = stops;
  }
  if (body.logprobs === true || (body.top_logprobs ?? 0) > 0) {
    throw invalidParam(
      body.logprobs === true ? "logprobs" : "top_logprobs",
      "logprobs are not supported on this surface.",
    );
  }
  if (body.logit_bias && Object.keys(body.logit_bias).length) {
    throw invalidParam("logit_bias", "logit_bias has no Gemini equivalent (token ids differ between models).");
  }
  const modalities = body.modalities?.filter((m) => m !== "text");
  if (modalities?.length) throw invalidParam("modalities", `modalities: only "text" output is supported.`);

  const format = body.response_format;
  if (format?.type === "json_object") out.responseMimeType = "application/json";
  else if (format?.type === "json_schema") {
    out.responseMimeType = "application/json";
    const schema = (format as { json_schema: { schema?: Record<string, unknown> | null } }).json_schema.schema;
    if (schema && Object.keys(schema).length) {
      const rewrite = toGeminiJsonSchema(schema, "response_format.json_schema.schema", { objectRoot: false });
      for (const k of rewrite.dropped) dropped.add(k);
      out.responseJsonSchema = rewrite.schema;
    }
  }

  const thinking = thinkingConfig(body, model);
  if (thinking) out.thinkingConfig = thinking;
  return out;
}

function thinkingConfig(body: ChatCompletionRequest, model: string): ThinkingConfig | undefined {
  const google = body.extra_body?.google?.thinking_config;
  const fromGoogle = google ? thinkingFromGoogle(google) : undefined;
  const effort = body.reasoning_effort;
  if (effort === undefined || effort === null)
    return fromGoogle && Object.keys(fromGoogle).length ? fromGoogle : undefined;
  if (fromGoogle && (fromGoogle.thinkingBudget !== undefined || fromGoogle.thinkingLevel !== undefined)) {
    throw invalidParam(
      "reasoning_effort",
      "reasoning_effort and extra_body.google.thinking_config (budget or level) cannot be used together.",
    );
  }
  return {
    ...thinkingForEffort(model, effort),
    ...(fromGoogle?.includeThoughts !== undefined ? { includeThoughts: fromGoogle.includeThoughts } : {}),
  };
}
