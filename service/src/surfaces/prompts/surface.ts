/**
 * Prompt templates on the native surface (docs/prompts.md):
 *
 *   POST /v1beta/prompts/{ref}:generateContent          {"variables": {…}}   → Google's GenerateContentResponse
 *   POST /v1beta/prompts/{ref}:streamGenerateContent    the same, streamed (`?alt=sse`, or Google's JSON array)
 *   POST /v1beta/prompts/{ref}:countTokens              the rendered request's tokens
 *
 * `ref` is `name`, `name@label` or `name@<version>`. The decoder renders the template (prompts/resolve.ts) into the
 * Gemini request of that operation and names the model; the pipeline then runs the ordinary operation, so quota,
 * cache, cost, audit and metrics are the native ones, and the answer is written by the Gemini surface's encoder.
 */
import type { RouteTarget } from "../../pipeline/call.js";
import type { PromptResolver } from "../../prompts/resolve.js";
import { errors, GatewayError } from "../../wire/errors.js";
import { geminiTarget } from "../gemini.js";

/** `/v1beta/prompts/{ref}:{method}`; the ref and method are percent-decoded by the caller. */
export const PROMPT_CALL_PATH = /^\/v1beta\/prompts\/([^/]+)$/;
const METHODS: ReadonlySet<string> = new Set(["generateContent", "streamGenerateContent", "countTokens"]);

export function promptCallTarget(
  refAndMethod: string,
  alt: string | undefined,
  resolver: PromptResolver,
): RouteTarget | GatewayError {
  const colon = refAndMethod.lastIndexOf(":");
  const ref = colon < 0 ? refAndMethod : refAndMethod.slice(0, colon);
  const method = colon < 0 ? "" : refAndMethod.slice(colon + 1);
  if (!METHODS.has(method)) {
    return errors.unsupportedMethod(
      `${method || "(none)"} (prompts take generateContent, streamGenerateContent, countTokens)`,
    );
  }
  // The Developer API surface's versions and encoders: a prompt's answer is Google's format, SSE with ?alt=sse.
  const base = geminiTarget("gemini", "v1beta", `prompt:${method}`, alt);
  return {
    ...base,
    model: undefined,
    async decodeBody(raw, context) {
      const variables = parsePromptBody(raw);
      const call = await resolver.resolve(ref, variables, { tenant: context.tenant.id, headers: context.headers });
      return {
        model: call.model,
        raw: Buffer.from(JSON.stringify(call.request)),
        headers: call.headers,
        prompt: call.tag,
        pregenerated: call.pregenerated,
      };
    },
  };
}

/** `{"variables": {…}}` and nothing else: the template owns every other field of the request. */
export function parsePromptBody(raw: Buffer): unknown {
  let body: unknown;
  try {
    body = raw.length ? JSON.parse(raw.toString("utf8")) : {};
  } catch (e) {
    throw errors.invalidJson(e instanceof Error ? e.message : "The body is not JSON.");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw errors.invalidArgument('A prompt call\'s body is {"variables": {…}}.');
  }
  const extra = Object.keys(body).filter((k) => k !== "variables");
  if (extra.length) {
    throw new GatewayError(
      400,
      "INVALID_ARGUMENT",
      `A prompt call takes only "variables"; the template sets the rest (got ${extra.slice(0, 5).join(", ")}).`,
      [
        {
          "@type": "type.googleapis.com/google.rpc.BadRequest",
          fieldViolations: extra.map((field) => ({ field, description: "not accepted by a prompt call" })),
        },
      ],
    );
  }
  return (body as { variables?: unknown }).variables;
}
