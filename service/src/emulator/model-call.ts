/**
 * One model call, from raw body to the last byte: routing and auth, the errors knob, validation, quota, Model Armor,
 * then a non-stream answer, an SSE stream or a progressively written JSON array. Every error is decided before the
 * first byte of a 200 goes out, so errors are always plain JSON envelopes. Field names are read in either spelling,
 * JSON (lowerCamelCase) or proto (snake_case), as Google reads them (wire/field-names.ts). A body seen before (same
 * surface, model and bytes) is served from the answer cache (cache.ts) without parsing it again.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { GatewayError, errors, toGatewayError, type ErrorDetail } from "../wire/errors.js";
import { normaliseFieldNames } from "../wire/field-names.js";
import {
  CountTokensRequestSchema,
  GenerateContentRequestSchema,
  describeIssues,
  type GenerateContentRequest,
} from "../wire/gemini.js";
import { CREATE_TIME_MARK, RESPONSE_ID_MARK, Template, type Prepared } from "./cache.js";
import { EMBED_METHODS, handleEmbed } from "./embed.js";
import { generateCandidates, promptText } from "./generate.js";
import { cutShort, endCall, failCall, finishCall, readBody, startCall, type Call } from "./http.js";
import {
  blockedResponse,
  countTokensResponse,
  fullResponse,
  outputTokens,
  streamPlan,
  type ResponseMeta,
  type StreamPlan,
} from "./responses.js";
import { checkAuth, checkTarget, parseModelPath, type ModelRoute } from "./routes.js";
import { delayMs, drawError, isoNow, type EmulatorState } from "./state.js";
import { thinkingPlan } from "./thinking.js";
import { countPrompt } from "./tokens.js";
import { checkThoughtSignatures } from "./tools.js";

const INJECTED: Record<number, [GatewayError["status"], string]> = {
  400: ["INVALID_ARGUMENT", "Request contains an invalid argument."],
  403: ["PERMISSION_DENIED", "Permission denied on resource (or it may not exist)."],
  404: ["NOT_FOUND", "Requested entity was not found."],
  429: ["RESOURCE_EXHAUSTED", "Resource exhausted. Please try again later."],
  500: ["INTERNAL", "Internal error encountered."],
  503: ["UNAVAILABLE", "The service is currently unavailable."],
  504: ["DEADLINE_EXCEEDED", "Deadline expired before operation could complete."],
};

function retryInfo(state: EmulatorState): ErrorDetail {
  return { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: `${state.settings.retryDelaySeconds}s` };
}

function injectedError(state: EmulatorState, code: number): GatewayError {
  const [status, message] = INJECTED[code] ?? ["INTERNAL", "Internal error encountered."];
  return new GatewayError(code, status, message, code === 429 ? [retryInfo(state)] : undefined);
}

function quotaError(state: EmulatorState, what: string, limit: number): GatewayError {
  return new GatewayError(
    429,
    "RESOURCE_EXHAUSTED",
    `Resource exhausted. Please try again later. (Emulator quota exceeded: ${what} per minute, limit ${limit}.)`,
    [
      {
        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
        violations: [{ subject: "emulator", description: `${what} per minute limit ${limit} exceeded` }],
      },
      retryInfo(state),
    ],
  );
}

export function handleModelCall(
  state: EmulatorState,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  query: string,
): void {
  const call = startCall(state, req, res);
  readBody(
    state,
    req,
    res,
    (body) => {
      call.body = body;
      route(call, path, query);
    },
    () => finishCall(call, 413),
  );
}

function route(call: Call, path: string, query: string): void {
  const r = parseModelPath(path);
  if (!r) return failCall(call, errors.notFound(path));
  if (call.req.method !== "POST") {
    const err = errors.methodNotAllowed(call.req.method ?? "");
    return failCall(call, new GatewayError(405, err.status, err.message, undefined, { allow: "POST" }));
  }
  const params = query ? new URLSearchParams(query) : null;
  const denied = checkAuth(r, call.req.headers, params?.get("key") ?? null) ?? checkTarget(r);
  if (denied) return failCall(call, denied);

  const injected = drawError(call.state);
  if (injected) return failCall(call, injectedError(call.state, injected));
  if (EMBED_METHODS.has(r.method)) return handleEmbed(call, r);

  const stream = r.method === "streamGenerateContent";
  const sse = stream && params?.get("alt") === "sse";
  // An answer that uses a context cache depends on the cache, not only on the body: never from the answer cache.
  const usesCache = call.body.includes("cachedContent") || call.body.includes("cached_content");
  const key = r.method === "countTokens" || usesCache ? null : call.state.cache.key(r.vertex, r.model, call.body);
  const hit = key === null ? undefined : call.state.cache.get(key);
  if (hit) return serve(call, r, hit, stream, sse);

  let json: unknown;
  try {
    json = JSON.parse(call.body);
  } catch (e) {
    return failCall(call, errors.invalidJson(e instanceof Error ? e.message : "The body is not JSON."));
  }
  // Like Google, both spellings of every field name: `generation_config.max_output_tokens` is honoured.
  if (typeof json === "object" && json !== null && !Array.isArray(json)) {
    try {
      json = normaliseFieldNames(
        json as Record<string, unknown>,
        r.method === "countTokens" ? "CountTokensRequest" : "GenerateContentRequest",
      ).doc;
    } catch (e) {
      return failCall(call, toGatewayError(e));
    }
  }
  if (r.method === "countTokens") return countTokens(call, r, json);
  const prepared = prepare(call, r, json);
  if (!prepared) return;
  if (key !== null) call.state.cache.set(key, prepared);
  serve(call, r, prepared, stream, sse);
}

function invalid(issues: string): GatewayError {
  return errors.invalidArgument(`Request contains an invalid argument: ${issues}`);
}

function countTokens(call: Call, r: ModelRoute, json: unknown): void {
  const parsed = CountTokensRequestSchema.safeParse(json);
  if (!parsed.success) return failCall(call, invalid(describeIssues(parsed.error)));
  let src: Pick<GenerateContentRequest, "contents" | "systemInstruction" | "tools"> | undefined;
  if (parsed.data.generateContentRequest) {
    // The Developer API's wrapped form: the inner request is a whole generate request.
    const inner = GenerateContentRequestSchema.safeParse(parsed.data.generateContentRequest);
    if (!inner.success) return failCall(call, invalid(describeIssues(inner.error)));
    src = inner.data;
  } else if (parsed.data.contents?.length) {
    src = { ...parsed.data, contents: parsed.data.contents };
  }
  if (!src) return failCall(call, invalid("contents: contents must not be empty"));
  const prompt = countPrompt(src.contents, src.systemInstruction, src.tools, r.vertex);
  endCall(call, 200, countTokensResponse(r.vertex, prompt));
}

/** Validates a generate request and computes everything that depends only on its body; null after a 400. */
function prepare(call: Call, r: ModelRoute, json: unknown): Prepared | null {
  const { state } = call;
  const parsed = GenerateContentRequestSchema.safeParse(json);
  if (!parsed.success) {
    failCall(call, invalid(describeIssues(parsed.error)));
    return null;
  }
  const body = parsed.data;
  // Proto semantics: an empty repeated field is the same as an absent one.
  if (body["modelArmorConfig"] != null && body.safetySettings?.length) {
    failCall(
      call,
      errors.invalidArgument("modelArmorConfig and safetySettings cannot be used together in the same request."),
    );
    return null;
  }
  // Gemini 3: function calls of the current turn must come back with their thought signatures (tools.ts).
  const unsigned = checkThoughtSignatures(r.model, body.contents);
  if (unsigned) {
    failCall(call, unsigned);
    return null;
  }
  const thinking = thinkingPlan(r.model, body.generationConfig?.thinkingConfig);
  if (thinking instanceof GatewayError) {
    failCall(call, thinking);
    return null;
  }
  // A context cache (caches.ts) stands before the request's contents and supplies its systemInstruction and tools.
  let { contents, systemInstruction } = body;
  let tools: readonly object[] | undefined = body.tools;
  let toolConfig: unknown = body.toolConfig;
  let cached = 0;
  if (typeof body.cachedContent === "string") {
    try {
      const c = state.resources.caches.resolve(body.cachedContent);
      if (c.model !== r.model) {
        throw errors.invalidArgument(
          `Model used by GenerateContent request (${r.model}) and CachedContent (${c.model}) has to be the same.`,
        );
      }
      if (body.systemInstruction || body.tools?.length || body.toolConfig) {
        throw errors.invalidArgument(
          "CachedContent can not be used with GenerateContent request setting system_instruction, tools or tool_config.",
        );
      }
      contents = [...c.contents, ...body.contents];
      systemInstruction = c.systemInstruction;
      tools = c.tools;
      toolConfig = c.toolConfig;
      cached = c.tokens;
    } catch (e) {
      failCall(call, toGatewayError(e));
      return null;
    }
  }
  const prompt = countPrompt(contents, systemInstruction, tools);
  if (cached) prompt.cached = cached;
  if (state.armor?.test(promptText(body.contents))) return { prompt, blocked: true, cands: null };
  const cands = generateCandidates({
    model: r.model,
    contents,
    systemInstruction,
    generationConfig: body.generationConfig,
    responseTokens: state.settings.responseTokens,
    tools,
    toolConfig,
    thinking,
  });
  return { prompt, blocked: false, cands };
}

/** Quota, then the answer: Model Armor block, stream or non-stream. */
function serve(call: Call, r: ModelRoute, p: Prepared, stream: boolean, sse: boolean): void {
  const { state } = call;
  const { prompt } = p;
  const { requestsPerMinute: rpm, tokensPerMinute: tpm } = state.settings.quota;
  if (rpm !== null || tpm !== null) {
    const now = Date.now();
    if (rpm !== null && state.rpm.count(now) >= rpm) return failCall(call, quotaError(state, "requests", rpm));
    if (tpm !== null && state.tpm.sum(now) + prompt.total > tpm) {
      return failCall(call, quotaError(state, "tokens", tpm));
    }
    if (rpm !== null) state.rpm.add(now, 1);
    if (tpm !== null) state.tpm.add(now, prompt.total);
  }

  const responseId = state.nextResponseId();
  const createTime = isoNow();
  if (!stream && p.full)
    return answer(call, p.full.template.render(createTime, responseId), prompt.total, p.full.output);
  const meta: ResponseMeta = { vertex: r.vertex, modelVersion: r.model, responseId, createTime };
  if (p.blocked || !p.cands) {
    const blocked = blockedResponse(meta, prompt);
    if (stream) return startStream(call, { bodies: [blocked], tokens: [0] }, sse, prompt.total);
    return answer(call, blocked, prompt.total, 0);
  }
  if (stream)
    return startStream(call, streamPlan(meta, p.cands, prompt, state.settings.chunkTokens), sse, prompt.total);
  const template = new Template(
    fullResponse({ ...meta, responseId: RESPONSE_ID_MARK, createTime: CREATE_TIME_MARK }, p.cands, prompt),
  );
  p.full = { template, output: outputTokens(p.cands) };
  answer(call, template.render(createTime, responseId), prompt.total, p.full.output);
}

/** Non-stream 200: waits firstTokenMs (+ jitter) once, then writes the whole answer. */
function answer(call: Call, body: string, input: number, output: number): void {
  const { state } = call;
  const send = () => {
    call.timer = undefined;
    if (call.finished || call.res.destroyed) return;
    state.stats.addInput(input);
    state.stats.addOutput(output);
    if (state.settings.quota.tokensPerMinute !== null) state.tpm.add(Date.now(), output);
    endCall(call, 200, body);
  };
  const wait = delayMs(state, state.settings.latency.firstTokenMs);
  if (wait > 0) call.timer = setTimeout(send, wait);
  else send();
}

/**
 * Streams `plan` chunk by chunk: SSE events (`data: ...\r\n\r\n`) or one JSON array written progressively
 * (`[{...}\n,\r\n{...}\n]`, Google's framing). Tokens are booked per chunk actually written, so a client that leaves
 * mid-stream is charged only for what it got. Respects backpressure when there is no per-chunk delay.
 */
function startStream(call: Call, plan: StreamPlan, sse: boolean, input: number): void {
  const { state, res } = call;
  const last = plan.bodies.length - 1;
  let i = 0;

  const step = (): void => {
    call.timer = undefined;
    while (!call.finished && !res.destroyed) {
      if (i === 0) {
        res.writeHead(200, {
          "content-type": sse ? "text/event-stream" : "application/json; charset=UTF-8",
          "x-emulator-region": state.settings.region,
        });
        state.stats.addInput(input);
      }
      const body = plan.bodies[i]!;
      const frame = sse ? `data: ${body}\r\n\r\n` : `${i === 0 ? "[" : "\n,\r\n"}${body}${i === last ? "\n]" : ""}`;
      const ok = res.write(frame);
      const tokens = plan.tokens[i]!;
      state.stats.addOutput(tokens);
      if (tokens && state.settings.quota.tokensPerMinute !== null) state.tpm.add(Date.now(), tokens);
      if (i === last) {
        res.end();
        return finishCall(call, 200);
      }
      i++;
      if (i === state.settings.streamBreakAfterChunks) {
        // The connection dies mid-stream (a crashed or preempted server): what was written is flushed, then the
        // socket closes without the response's end — the client sees a body cut short.
        finishCall(call, 200);
        cutShort(res);
        return;
      }
      const wait = delayMs(state, state.settings.latency.perChunkMs);
      if (!ok) {
        res.once("drain", () => schedule(wait));
        return;
      }
      if (wait > 0) return schedule(wait);
    }
  };
  const schedule = (wait: number): void => {
    if (wait > 0) call.timer = setTimeout(step, wait);
    else step();
  };
  schedule(delayMs(state, state.settings.latency.firstTokenMs));
}
