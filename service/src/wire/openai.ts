/**
 * OpenAI's chat-completions wire format, as zod schemas and the types inferred from them: the one module for both
 * directions the gateway speaks it. The OpenAI-compatible surface (surfaces/openai/) reads requests and writes
 * answers; the OpenAI-compatible provider (upstream/openai-translate.ts) writes requests and reads answers.
 *
 * Requests are read strictly at the top level (OpenAI answers 400 to an argument it does not know, and so do we: a
 * misspelt parameter must not be a silent no-op) and loosely below it (clients echo back fields of earlier answers,
 * such as `refusal`, `annotations` or `extra_content`). Answers are read loosely and nullish: compatible servers
 * differ in which fields they send, and as null.
 *
 * Checked against the openai SDK's types (openai 7.60, `resources/chat/completions`) and, for the Gemini extension
 * fields (`extra_content.google.thought_signature`, `extra_body.google`), Google's OpenAI-compatibility docs.
 */
import { z } from "zod";

// ---------------------------------------------------------------------------------------------------------------
// Shared pieces

/** Gemini's extension on a tool call (and on a message or delta): the Gemini 3 thought signature of that part. */
export const GoogleExtraContentSchema = z.looseObject({
  google: z.looseObject({ thought_signature: z.string().nullish() }).nullish(),
});
export type GoogleExtraContent = z.infer<typeof GoogleExtraContentSchema>;

const TextPartSchema = z.looseObject({ type: z.literal("text"), text: z.string() });
const ImagePartSchema = z.looseObject({
  type: z.literal("image_url"),
  image_url: z.looseObject({ url: z.string(), detail: z.string().nullish() }),
});
const AudioPartSchema = z.looseObject({
  type: z.literal("input_audio"),
  input_audio: z.looseObject({ data: z.string(), format: z.string() }),
});
const FilePartSchema = z.looseObject({
  type: z.literal("file"),
  file: z.looseObject({
    file_data: z.string().nullish(),
    file_id: z.string().nullish(),
    filename: z.string().nullish(),
  }),
});
const RefusalPartSchema = z.looseObject({ type: z.literal("refusal"), refusal: z.string() });

export type ChatTextPart = z.infer<typeof TextPartSchema>;
export type ChatImagePart = z.infer<typeof ImagePartSchema>;
export type ChatAudioPart = z.infer<typeof AudioPartSchema>;
export type ChatFilePart = z.infer<typeof FilePartSchema>;
export type ChatRefusalPart = z.infer<typeof RefusalPartSchema>;

/** A content part of a user message. */
const UserPartSchema = z.discriminatedUnion("type", [TextPartSchema, ImagePartSchema, AudioPartSchema, FilePartSchema]);
export type ChatContentPart = z.infer<typeof UserPartSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Request (POST /chat/completions)

export const ToolCallSchema = z.looseObject({
  id: z.string(),
  type: z.literal("function").optional(),
  function: z.looseObject({ name: z.string(), arguments: z.string() }),
  extra_content: GoogleExtraContentSchema.nullish(),
});
export type ChatToolCall = z.infer<typeof ToolCallSchema>;

const SystemMessageSchema = z.looseObject({
  role: z.enum(["system", "developer"]),
  content: z.union([z.string(), z.array(TextPartSchema)]),
  name: z.string().nullish(),
});
const UserMessageSchema = z.looseObject({
  role: z.literal("user"),
  content: z.union([z.string(), z.array(UserPartSchema)]),
  name: z.string().nullish(),
});
const AssistantMessageSchema = z.looseObject({
  role: z.literal("assistant"),
  content: z.union([z.string(), z.array(z.union([TextPartSchema, RefusalPartSchema]))]).nullish(),
  refusal: z.string().nullish(),
  tool_calls: z.array(ToolCallSchema).nullish(),
  name: z.string().nullish(),
  extra_content: GoogleExtraContentSchema.nullish(),
});
const ToolMessageSchema = z.looseObject({
  role: z.literal("tool"),
  content: z.union([z.string(), z.array(TextPartSchema)]),
  tool_call_id: z.string(),
});
/** The deprecated `function` role: read so it can be refused by name, never translated. */
const FunctionMessageSchema = z.looseObject({ role: z.literal("function"), name: z.string().nullish() });

export const ChatMessageSchema = z.discriminatedUnion("role", [
  SystemMessageSchema,
  UserMessageSchema,
  AssistantMessageSchema,
  ToolMessageSchema,
  FunctionMessageSchema,
]);
export type ChatMessage = z.infer<typeof ChatMessageSchema>;
export type ChatAssistantMessage = z.infer<typeof AssistantMessageSchema>;

export const FunctionToolSchema = z.looseObject({
  type: z.literal("function"),
  function: z.looseObject({
    name: z.string().min(1),
    description: z.string().nullish(),
    parameters: z.record(z.string(), z.unknown()).nullish(),
    strict: z.boolean().nullish(),
  }),
});
/** OpenAI's `custom` tools (free-form input): read so they can be refused by name. */
const CustomToolSchema = z.looseObject({ type: z.literal("custom") });
export type ChatTool = z.infer<typeof FunctionToolSchema>;

const NamedFunctionSchema = z.looseObject({
  type: z.literal("function"),
  function: z.looseObject({ name: z.string() }),
});
export const ToolChoiceSchema = z.union([
  z.enum(["none", "auto", "required"]),
  NamedFunctionSchema,
  z.looseObject({
    type: z.literal("allowed_tools"),
    allowed_tools: z.looseObject({ mode: z.enum(["auto", "required"]), tools: z.array(NamedFunctionSchema) }),
  }),
  z.looseObject({ type: z.literal("custom") }),
]);
export type ChatToolChoice = z.infer<typeof ToolChoiceSchema>;

export const ResponseFormatSchema = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("text") }),
  z.looseObject({ type: z.literal("json_object") }),
  z.looseObject({
    type: z.literal("json_schema"),
    json_schema: z.looseObject({
      name: z.string(),
      description: z.string().nullish(),
      schema: z.record(z.string(), z.unknown()).nullish(),
      strict: z.boolean().nullish(),
    }),
  }),
]);
export type ChatResponseFormat = z.infer<typeof ResponseFormatSchema>;

/** OpenAI's reasoning effort levels (openai SDK `Shared.ReasoningEffort`). */
export const REASONING_EFFORTS = ["none", "minimal", "low", "medium", "high", "xhigh", "max"] as const;
export type ReasoningEffort = (typeof REASONING_EFFORTS)[number];

/**
 * Gemini-only settings, as Google's OpenAI-compatible endpoint takes them: `extra_body: {"google": {...}}` (what the
 * Python SDK's `extra_body={"extra_body": {...}}` puts on the wire, and what a JS client passes as a body field).
 */
export const GoogleExtraBodySchema = z.looseObject({
  google: z
    .strictObject({
      thinking_config: z
        .strictObject({
          thinking_budget: z.number().int().nullish(),
          thinking_level: z.string().nullish(),
          include_thoughts: z.boolean().nullish(),
        })
        .nullish(),
    })
    .nullish(),
});

const nonNegativeInt = z.number().int().min(0);

/**
 * Every parameter of the chat-completions request (openai SDK `ChatCompletionCreateParamsBase`), each nullable as
 * the SDK allows. Which are honoured, dropped or refused is the surface's decision (docs/openai-compatibility.md).
 */
export const ChatCompletionRequestSchema = z.strictObject({
  model: z.string().min(1),
  messages: z.array(ChatMessageSchema).min(1, "messages must not be empty"),
  audio: z.unknown().optional(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  function_call: z.unknown().optional(),
  functions: z.unknown().optional(),
  logit_bias: z.record(z.string(), z.number()).nullish(),
  logprobs: z.boolean().nullish(),
  max_completion_tokens: nonNegativeInt.nullish(),
  max_tokens: nonNegativeInt.nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  modalities: z.array(z.string()).nullish(),
  moderation: z.unknown().optional(),
  n: z.number().int().min(1).nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  prediction: z.unknown().optional(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  prompt_cache_key: z.string().nullish(),
  prompt_cache_options: z.unknown().optional(),
  prompt_cache_retention: z.string().nullish(),
  reasoning_effort: z.enum(REASONING_EFFORTS).nullish(),
  response_format: ResponseFormatSchema.nullish(),
  safety_identifier: z.string().nullish(),
  seed: z.number().int().nullish(),
  service_tier: z.string().nullish(),
  stop: z.union([z.string(), z.array(z.string())]).nullish(),
  store: z.boolean().nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  tool_choice: ToolChoiceSchema.nullish(),
  tools: z.array(z.union([FunctionToolSchema, CustomToolSchema])).nullish(),
  top_logprobs: nonNegativeInt.nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  user: z.string().nullish(),
  verbosity: z.string().nullish(),
  web_search_options: z.unknown().optional(),
  /** Google's extension container (see GoogleExtraBodySchema). */
  extra_body: GoogleExtraBodySchema.nullish(),
});
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequestSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Answers: chat.completion and chat.completion.chunk, loose and nullish (servers differ in what they send as null)

export const UsageSchema = z.looseObject({
  prompt_tokens: z.number(),
  completion_tokens: z.number(),
  total_tokens: z.number().nullish(),
  prompt_tokens_details: z
    .looseObject({ cached_tokens: z.number().nullish(), audio_tokens: z.number().nullish() })
    .nullish(),
  completion_tokens_details: z.looseObject({ reasoning_tokens: z.number().nullish() }).nullish(),
});
export type ChatUsage = z.infer<typeof UsageSchema>;

const AnswerToolCallSchema = z.looseObject({
  id: z.string().nullish(),
  type: z.string().nullish(),
  function: z.looseObject({ name: z.string(), arguments: z.string().nullish() }),
  extra_content: GoogleExtraContentSchema.nullish(),
});

export const ChatCompletionSchema = z.looseObject({
  id: z.string().nullish(),
  object: z.string().nullish(),
  created: z.number().nullish(),
  model: z.string().nullish(),
  choices: z.array(
    z.looseObject({
      index: z.number().int().nullish(),
      message: z.looseObject({
        role: z.string().nullish(),
        content: z.string().nullish(),
        refusal: z.string().nullish(),
        reasoning_content: z.string().nullish(),
        tool_calls: z.array(AnswerToolCallSchema).nullish(),
        extra_content: GoogleExtraContentSchema.nullish(),
      }),
      finish_reason: z.string().nullish(),
      logprobs: z.unknown().optional(),
    }),
  ),
  usage: UsageSchema.nullish(),
});
/** A `chat.completion` object (unknown fields kept). */
export type ChatCompletion = z.infer<typeof ChatCompletionSchema>;
export type ChatChoice = ChatCompletion["choices"][number];
export type ChatAnswerToolCall = z.infer<typeof AnswerToolCallSchema>;

export const ChunkToolCallSchema = z.looseObject({
  index: z.number().int().nullish(),
  id: z.string().nullish(),
  type: z.string().nullish(),
  function: z.looseObject({ name: z.string().nullish(), arguments: z.string().nullish() }).nullish(),
  extra_content: GoogleExtraContentSchema.nullish(),
});
export type ChatChunkToolCall = z.infer<typeof ChunkToolCallSchema>;

export const ChatCompletionChunkSchema = z.looseObject({
  id: z.string().nullish(),
  object: z.string().nullish(),
  created: z.number().nullish(),
  model: z.string().nullish(),
  choices: z
    .array(
      z.looseObject({
        index: z.number().int().nullish(),
        delta: z
          .looseObject({
            role: z.string().nullish(),
            content: z.string().nullish(),
            reasoning_content: z.string().nullish(),
            tool_calls: z.array(ChunkToolCallSchema).nullish(),
            extra_content: GoogleExtraContentSchema.nullish(),
          })
          .nullish(),
        finish_reason: z.string().nullish(),
        logprobs: z.unknown().optional(),
      }),
    )
    .nullish(),
  usage: UsageSchema.nullish(),
});
/** A `chat.completion.chunk` object (one SSE event of a stream). */
export type ChatCompletionChunk = z.infer<typeof ChatCompletionChunkSchema>;
export type ChatChunkChoice = NonNullable<ChatCompletionChunk["choices"]>[number];

/** OpenAI's finish reasons (what the surface writes). */
export type ChatFinishReason = "stop" | "length" | "tool_calls" | "content_filter";

// ---------------------------------------------------------------------------------------------------------------
// Errors and the model list

/** OpenAI's error body: `{"error":{"message","type","param","code"}}`. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** `GET /models` (OpenAI's list shape) and `GET /models/{model}`. */
export interface OpenAIModel {
  id: string;
  object: "model";
  created: number;
  owned_by: string;
}
export interface OpenAIModelList {
  object: "list";
  data: OpenAIModel[];
}

// ---------------------------------------------------------------------------------------------------------------
// Embeddings (POST /embeddings; openai SDK `EmbeddingCreateParams`)

export const EmbeddingsRequestSchema = z.strictObject({
  model: z.string().min(1),
  /** One text, several, or token ids (one list or several). */
  input: z.union([z.string(), z.array(z.string()), z.array(z.number()), z.array(z.array(z.number()))]),
  dimensions: z.number().int().min(1).nullish(),
  encoding_format: z.enum(["float", "base64"]).nullish(),
  user: z.string().nullish(),
});
export type EmbeddingsRequest = z.infer<typeof EmbeddingsRequestSchema>;

/** `{"object":"list","data":[{"object":"embedding","index","embedding"}],"model","usage"}`. */
export interface EmbeddingsResponse {
  object: "list";
  data: { object: "embedding"; index: number; embedding: number[] | string }[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}
