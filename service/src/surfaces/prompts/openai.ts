/**
 * Prompt templates on the OpenAI-compatible surface: a chat completion whose `model` is `prompt:{ref}` runs the
 * template with the body's `variables` (the openai SDKs pass extra fields through: `extra_body` in Python, a plain
 * property in TypeScript). The template owns the messages and the sampling settings, so `messages` must be empty or
 * absent and only the fields below are accepted; the answer is an ordinary chat completion (or its stream).
 */
import type { DecodeContext, DecodedBody } from "../../pipeline/call.js";
import type { PromptResolver } from "../../prompts/resolve.js";
import { errors } from "../../wire/errors.js";
import { invalidParam } from "../openai/error-shape.js";

export const PROMPT_MODEL_PREFIX = "prompt:";
const ACCEPTED = new Set(["model", "variables", "messages", "stream", "stream_options", "user", "metadata", "store"]);

/** True when the body names a prompt model (checked cheaply before parsing every chat completion twice). */
export function namesPromptModel(raw: Buffer): boolean {
  return raw.includes(`"${PROMPT_MODEL_PREFIX}`);
}

export interface PromptChat {
  decoded: DecodedBody;
  stream: boolean;
  includeUsage: boolean;
}

/** The chat completion for `prompt:{ref}`, or undefined when the body names an ordinary model. */
export async function decodePromptChat(
  raw: Buffer,
  context: DecodeContext,
  resolver: PromptResolver,
): Promise<PromptChat | undefined> {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(raw.toString("utf8")) as Record<string, unknown>;
  } catch {
    return undefined; // the chat decoder reports it
  }
  if (typeof body !== "object" || body === null || typeof body.model !== "string") return undefined;
  if (!body.model.startsWith(PROMPT_MODEL_PREFIX)) return undefined;
  for (const key of Object.keys(body)) {
    if (!ACCEPTED.has(key))
      throw invalidParam(key, `${key} is not accepted with a prompt model: the template sets it.`);
  }
  if (body.messages !== undefined && !(Array.isArray(body.messages) && body.messages.length === 0)) {
    throw invalidParam("messages", "A prompt model takes variables, not messages: send messages: [] or none.");
  }
  if (body.stream !== undefined && typeof body.stream !== "boolean")
    throw invalidParam("stream", "stream is a boolean.");
  const options = body.stream_options as { include_usage?: unknown } | undefined;
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    throw invalidParam("stream_options", "stream_options is an object.");
  }
  const ref = body.model.slice(PROMPT_MODEL_PREFIX.length);
  if (!ref) throw errors.invalidArgument("A prompt model is prompt:{name}.");
  const call = await resolver.resolve(ref, body.variables, { tenant: context.tenant.id, headers: context.headers });
  const stream = body.stream === true;
  return {
    stream,
    includeUsage: options?.include_usage === true,
    decoded: {
      model: call.model,
      raw: Buffer.from(JSON.stringify(call.request)),
      method: stream ? "streamGenerateContent" : "generateContent",
      headers: call.headers,
      prompt: call.tag,
      pregenerated: call.pregenerated,
    },
  };
}
