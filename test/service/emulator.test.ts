// The Gemini emulator, driven in-process with the official @google/genai client (both modes) and with plain fetch.
import { request as httpRequest } from "node:http";
import { ApiError, GoogleGenAI, type GenerateContentResponse } from "@google/genai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../service/src/emulator/server.js";
import { settingsFromEnv } from "../../service/src/emulator/settings.js";

const MODEL = "gemini-2.5-flash";
const VERTEX_PREFIX = "/v1beta1/projects/p/locations/us-central1/publishers/google/models";
const vpath = (method: string, model = MODEL) => `${VERTEX_PREFIX}/${model}:${method}`;
const dpath = (method: string, model = MODEL) => `/v1beta/models/${model}:${method}`;
const BEARER = { authorization: "Bearer test-token" };
const body = (text: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ contents: [{ role: "user", parts: [{ text }] }], ...extra });

let emu: RunningEmulator;

function vertex(): GoogleGenAI {
  return new GoogleGenAI({
    vertexai: true,
    project: "p",
    location: "us-central1",
    httpOptions: { baseUrl: emu.url },
    googleAuthOptions: {
      authClient: { getRequestHeaders: async () => new Headers({ Authorization: "Bearer t" }) } as never,
    },
  });
}
const developer = () => new GoogleGenAI({ apiKey: "k", httpOptions: { baseUrl: emu.url } });

function post(path: string, payload: string, headers: Record<string, string> = BEARER): Promise<Response> {
  return fetch(emu.url + path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: payload,
  });
}

async function expectApiError(p: Promise<unknown>, status: number): Promise<ApiError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  expect((err as ApiError).status).toBe(status);
  return err as ApiError;
}

const textOf = (r: GenerateContentResponse, i = 0) => r.candidates?.[i]?.content?.parts?.[0]?.text ?? "";

async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
}

beforeAll(async () => {
  emu = await startEmulator({ port: 0 });
});
afterAll(() => emu.close());
beforeEach(() => {
  emu.configure({
    errors: null,
    quota: null,
    modelArmor: null,
    latency: null,
    responseTokens: 48,
    chunkTokens: 8,
    retryDelaySeconds: 1,
    region: "us-central1",
  });
  emu.reset();
});

describe("generateContent", () => {
  it("answers Vertex-shaped responses through the SDK in Vertex mode", async () => {
    const r = await vertex().models.generateContent({ model: MODEL, contents: "Hello there, emulator!" });
    const words = textOf(r).split(" ");
    expect(words).toHaveLength(48);
    expect(r.candidates?.[0]?.finishReason).toBe("STOP");
    expect(r.candidates?.[0]?.content?.role).toBe("model");
    expect(r.usageMetadata).toMatchObject({
      promptTokenCount: 6, // ceil(22 / 4)
      candidatesTokenCount: 48,
      totalTokenCount: 54,
      promptTokensDetails: [{ modality: "TEXT", tokenCount: 6 }],
      candidatesTokensDetails: [{ modality: "TEXT", tokenCount: 48 }],
      trafficType: "ON_DEMAND",
    });
    expect(r.modelVersion).toBe(MODEL);
    expect(r.responseId).toBeTruthy();
    expect(r.createTime).toBeTruthy();
    expect(r.sdkHttpResponse?.headers?.["x-emulator-region"]).toBe("us-central1");
  });

  it("answers Developer-API-shaped responses with an API key, with the same text as Vertex", async () => {
    const [d, v] = await Promise.all([
      developer().models.generateContent({ model: MODEL, contents: "same prompt" }),
      vertex().models.generateContent({ model: MODEL, contents: "same prompt" }),
    ]);
    expect(textOf(d)).toBe(textOf(v));
    expect(d.usageMetadata?.trafficType).toBeUndefined();
    expect(d.createTime).toBeUndefined();
    const rec = emu.requests().find((q) => q.path.startsWith("/v1beta/models/"));
    expect(rec?.headers["x-goog-api-key"]).toBe("k");
  });

  it("is deterministic and depends on prompt, system instruction, seed and model", async () => {
    const ai = vertex();
    const a = await ai.models.generateContent({ model: MODEL, contents: "determinism" });
    const cached = await ai.models.generateContent({ model: MODEL, contents: "determinism" });
    emu.configure({}); // clears the answer cache, so b is generated afresh
    const b = await ai.models.generateContent({ model: MODEL, contents: "determinism" });
    expect(cached).toEqual({
      ...a,
      responseId: cached.responseId,
      createTime: cached.createTime,
      sdkHttpResponse: cached.sdkHttpResponse,
    });
    expect(cached.responseId).not.toBe(a.responseId);
    const c = await ai.models.generateContent({ model: MODEL, contents: "determinism!" });
    const d = await ai.models.generateContent({ model: MODEL, contents: "determinism", config: { seed: 7 } });
    const e = await ai.models.generateContent({ model: "gemini-2.5-pro", contents: "determinism" });
    const f = await ai.models.generateContent({
      model: MODEL,
      contents: "determinism",
      config: { systemInstruction: "be brief" },
    });
    expect(textOf(a)).toBe(textOf(b));
    for (const other of [c, d, e, f]) expect(textOf(other)).not.toBe(textOf(a));
  });

  it("maxOutputTokens truncates to exactly the limit with MAX_TOKENS, as a prefix of the full answer", async () => {
    const ai = vertex();
    const full = textOf(await ai.models.generateContent({ model: MODEL, contents: "limit me" }));
    const r = await ai.models.generateContent({ model: MODEL, contents: "limit me", config: { maxOutputTokens: 5 } });
    expect(r.candidates?.[0]?.finishReason).toBe("MAX_TOKENS");
    expect(r.usageMetadata?.candidatesTokenCount).toBe(5);
    expect(textOf(r).split(" ")).toHaveLength(5);
    expect(full.startsWith(textOf(r))).toBe(true);
  });

  it("stopSequences cut the answer before the first occurrence with STOP", async () => {
    const ai = vertex();
    const full = textOf(await ai.models.generateContent({ model: MODEL, contents: "stop me" }));
    const stop = full.split(" ")[10]!;
    const r = await ai.models.generateContent({ model: MODEL, contents: "stop me", config: { stopSequences: [stop] } });
    expect(textOf(r)).toBe(full.slice(0, full.indexOf(stop)));
    expect(textOf(r)).not.toContain(stop);
    expect(r.candidates?.[0]?.finishReason).toBe("STOP");
    expect(r.usageMetadata?.candidatesTokenCount).toBeLessThan(48);
  });

  it("candidateCount gives n different candidates and sums their tokens", async () => {
    const r = await vertex().models.generateContent({ model: MODEL, contents: "many", config: { candidateCount: 3 } });
    expect(r.candidates).toHaveLength(3);
    expect(new Set(r.candidates?.map((c) => c.content?.parts?.[0]?.text)).size).toBe(3);
    expect(r.candidates?.map((c) => c.index)).toEqual([0, 1, 2]);
    expect(r.usageMetadata?.candidatesTokenCount).toBe(144);
  });

  it("counts images, audio and fileData with the documented flat rules", async () => {
    const res = await post(
      vpath("generateContent"),
      JSON.stringify({
        contents: [
          {
            role: "user",
            parts: [
              { text: "12345678" },
              { inlineData: { mimeType: "image/png", data: "AAAA" } },
              { inlineData: { mimeType: "audio/wav", data: "AAAA" } },
              { fileData: { mimeType: "video/mp4", fileUri: "gs://b/v.mp4" } },
            ],
          },
        ],
      }),
    );
    const j = (await res.json()) as GenerateContentResponse;
    expect(j.usageMetadata?.promptTokenCount).toBe(2 + 258 + 320 + 258);
    expect(j.usageMetadata?.promptTokensDetails).toEqual([
      { modality: "TEXT", tokenCount: 2 },
      { modality: "IMAGE", tokenCount: 258 },
      { modality: "AUDIO", tokenCount: 320 },
      { modality: "VIDEO", tokenCount: 258 },
    ]);
  });

  it("waits firstTokenMs before answering", async () => {
    emu.configure({ latency: { firstTokenMs: 80 } });
    const t0 = performance.now();
    await vertex().models.generateContent({ model: MODEL, contents: "slow" });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(75);
  });
});

describe("streamGenerateContent", () => {
  it("SSE stream reassembles to the non-streamed text; Vertex usage only on the final chunk", async () => {
    const ai = vertex();
    const full = await ai.models.generateContent({ model: MODEL, contents: "stream this" });
    const chunks: GenerateContentResponse[] = [];
    for await (const c of await ai.models.generateContentStream({ model: MODEL, contents: "stream this" }))
      chunks.push(c);
    expect(chunks).toHaveLength(6);
    expect(chunks.map((c) => textOf(c)).join("")).toBe(textOf(full));
    expect(chunks.slice(0, -1).every((c) => c.usageMetadata === undefined && !c.candidates?.[0]?.finishReason)).toBe(
      true,
    );
    const last = chunks.at(-1)!;
    expect(last.candidates?.[0]?.finishReason).toBe("STOP");
    expect(last.usageMetadata).toMatchObject(full.usageMetadata ?? {});
    expect(new Set(chunks.map((c) => c.responseId)).size).toBe(1);
  });

  it("Developer API streams carry prompt counts on every chunk and full counts on the last", async () => {
    const chunks: GenerateContentResponse[] = [];
    for await (const c of await developer().models.generateContentStream({ model: MODEL, contents: "dev stream" }))
      chunks.push(c);
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks.slice(0, -1)) {
      expect(c.usageMetadata).toEqual({
        promptTokenCount: 3,
        totalTokenCount: 3,
        promptTokensDetails: [{ modality: "TEXT", tokenCount: 3 }],
      });
    }
    expect(chunks.at(-1)?.usageMetadata?.candidatesTokenCount).toBe(48);
  });

  it("writes SSE frames as data: <json>\\r\\n\\r\\n with no [DONE]", async () => {
    const res = await post(`${vpath("streamGenerateContent")}?alt=sse`, body("frames"));
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    expect(res.headers.get("x-emulator-region")).toBe("us-central1");
    const raw = await res.text();
    expect(raw.endsWith("\r\n\r\n")).toBe(true);
    expect(raw).not.toContain("[DONE]");
    const events = raw.split("\r\n\r\n").filter(Boolean);
    expect(events).toHaveLength(6);
    for (const e of events) expect(e.startsWith("data: {")).toBe(true);
  });

  it("without alt=sse writes one JSON array, Google style, with the same texts", async () => {
    const sse = await (await post(`${vpath("streamGenerateContent")}?alt=sse`, body("array form"))).text();
    const res = await post(vpath("streamGenerateContent"), body("array form"));
    expect(res.headers.get("content-type")).toContain("application/json");
    const raw = await res.text();
    expect(raw.startsWith("[{")).toBe(true);
    expect(raw).toContain("}\n,\r\n{");
    expect(raw.endsWith("}\n]")).toBe(true);
    const arr = JSON.parse(raw) as GenerateContentResponse[];
    const sseChunks = sse
      .split("\r\n\r\n")
      .filter(Boolean)
      .map((e) => JSON.parse(e.slice(6)) as GenerateContentResponse);
    expect(arr.map((c) => textOf(c))).toEqual(sseChunks.map((c) => textOf(c)));
  });

  it("a client abort mid-stream counts only what was sent and the server keeps working", async () => {
    emu.configure({ latency: { perChunkMs: 40 } });
    const ac = new AbortController();
    const res = await fetch(`${emu.url}${vpath("streamGenerateContent")}?alt=sse`, {
      method: "POST",
      headers: BEARER,
      body: body("abort me"),
      signal: ac.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    ac.abort();
    await waitFor(() => emu.stats().concurrency === 0);
    const s = emu.stats();
    expect(s.requests.byStatus["200"]).toBe(1);
    expect(s.tokens.output).toBeGreaterThan(0);
    expect(s.tokens.output).toBeLessThan(48);
    emu.configure({ latency: null });
    const r = await vertex().models.generateContent({ model: MODEL, contents: "still alive" });
    expect(r.usageMetadata?.candidatesTokenCount).toBe(48);
  });

  it("close() ends promptly with a stream open", async () => {
    const own = await startEmulator({ settings: { latency: { perChunkMs: 5_000 } } });
    const res = await fetch(`${own.url}${vpath("streamGenerateContent")}?alt=sse`, {
      method: "POST",
      headers: BEARER,
      body: body("close me"),
    });
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    await own.close();
    await expect(reader.read()).rejects.toThrow();
    expect(own.stats().concurrency).toBe(0);
  });
});

describe("countTokens", () => {
  it("counts with the SDK in both modes", async () => {
    const v = await vertex().models.countTokens({ model: MODEL, contents: "count these tokens" });
    expect(v.totalTokens).toBe(5); // ceil(18 / 4)
    const d = await developer().models.countTokens({ model: MODEL, contents: "count these tokens" });
    expect(d.totalTokens).toBe(5);
    expect(emu.stats().tokens).toEqual({ input: 0, output: 0 });
  });

  it("accepts the Developer API's wrapped generateContentRequest", async () => {
    const res = await post(
      dpath("countTokens"),
      JSON.stringify({ generateContentRequest: JSON.parse(body("abcdefgh")) }),
      {
        "x-goog-api-key": "k",
      },
    );
    expect(await res.json()).toEqual({ totalTokens: 2, promptTokensDetails: [{ modality: "TEXT", tokenCount: 2 }] });
  });
});

describe("errors", () => {
  it("injects 429 with RetryInfo at probability 1", async () => {
    emu.configure({ errors: { "429": 1 }, retryDelaySeconds: 2 });
    const err = await expectApiError(vertex().models.generateContent({ model: MODEL, contents: "x" }), 429);
    expect(err.message).toContain("RESOURCE_EXHAUSTED");
    const res = await post(vpath("generateContent"), body("x"));
    expect(res.status).toBe(429);
    expect(await res.json()).toEqual({
      error: {
        code: 429,
        message: "Resource exhausted. Please try again later.",
        status: "RESOURCE_EXHAUSTED",
        details: [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "2s" }],
      },
    });
    expect(emu.stats().requests.byStatus).toEqual({ "429": 2 });
  });

  it("repeats its injected faults exactly under a seed, and draws another sequence under another seed", async () => {
    const run = async (seed: number) => {
      emu.configure({ errors: { "500": 0.3, "503": 0.3 }, seed });
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) statuses.push((await post(vpath("generateContent"), body("x"))).status);
      return statuses;
    };
    const first = await run(42);
    expect(new Set(first)).toEqual(new Set([200, 500, 503]));
    expect(await run(42)).toEqual(first);
    expect(await run(7)).not.toEqual(first);
    emu.configure({ errors: null, seed: null });
  });

  it("injects 503 UNAVAILABLE, also on streams as a plain JSON error", async () => {
    emu.configure({ errors: { "503": 1 } });
    await expectApiError(vertex().models.generateContent({ model: MODEL, contents: "x" }), 503);
    const res = await post(`${vpath("streamGenerateContent")}?alt=sse`, body("x"));
    expect(res.status).toBe(503);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect(((await res.json()) as { error: { status: string } }).error.status).toBe("UNAVAILABLE");
  });

  it("enforces requests per minute with 429 RESOURCE_EXHAUSTED", async () => {
    emu.configure({ quota: { requestsPerMinute: 2 } });
    const ai = vertex();
    await ai.models.generateContent({ model: MODEL, contents: "1" });
    await ai.models.generateContent({ model: MODEL, contents: "2" });
    const err = await expectApiError(ai.models.generateContent({ model: MODEL, contents: "3" }), 429);
    expect(err.message).toContain("google.rpc.RetryInfo");
    expect(emu.stats().requests.byStatus).toEqual({ "200": 2, "429": 1 });
    emu.reset(); // clears the window
    await ai.models.generateContent({ model: MODEL, contents: "4" });
  });

  it("enforces tokens per minute over prompt + output", async () => {
    emu.configure({ quota: { tokensPerMinute: 60 } });
    await vertex().models.generateContent({ model: MODEL, contents: "abcd" }); // 1 + 48 = 49
    await expectApiError(vertex().models.generateContent({ model: MODEL, contents: "a".repeat(48) }), 429); // 49 + 12 > 60
  });

  it("requires credentials on each surface", async () => {
    const v = await post(vpath("generateContent"), body("x"), {});
    expect(v.status).toBe(401);
    expect(((await v.json()) as { error: { status: string } }).error.status).toBe("UNAUTHENTICATED");
    const d = await post(dpath("generateContent"), body("x"), {});
    expect(d.status).toBe(401);
    expect(((await d.json()) as { error: { message: string } }).error.message).toContain("API Key");
    expect((await post(`${dpath("generateContent")}?key=abc`, body("x"), {})).status).toBe(200);
    expect(v.headers.get("x-emulator-region")).toBe("us-central1");
  });

  it("answers 404 for unknown models, methods and paths, 405 for non-POST", async () => {
    const err = await expectApiError(vertex().models.generateContent({ model: "gemini-0-nope", contents: "x" }), 404);
    expect(err.message).toContain(
      "Publisher Model `projects/p/locations/us-central1/publishers/google/models/gemini-0-nope`",
    );
    expect((await post(vpath("embedContent"), body("x"))).status).toBe(404);
    expect((await post("/v1/nothing/here", body("x"))).status).toBe(404);
    const get = await fetch(emu.url + vpath("generateContent"), { headers: BEARER });
    expect(get.status).toBe(405);
    expect(((await get.json()) as { error: { code: number } }).error.code).toBe(405);
  });

  it("rejects bad JSON, missing contents and wrong types with 400 INVALID_ARGUMENT", async () => {
    for (const [payload, hint] of [
      ["{not json", "Invalid JSON payload"],
      ['{"generationConfig":{}}', "contents"],
      ['{"contents":[{"parts":[{"text":1}]}]}', "contents.0.parts.0.text"],
      ['{"contents":[{"parts":[{"text":"x"}]}],"generationConfig":{"maxOutputTokens":"many"}}', "maxOutputTokens"],
    ] as const) {
      const res = await post(vpath("generateContent"), payload);
      expect(res.status).toBe(400);
      const j = (await res.json()) as { error: { status: string; message: string } };
      expect(j.error.status).toBe("INVALID_ARGUMENT");
      expect(j.error.message).toContain(hint);
    }
  });

  it("refuses modelArmorConfig together with safetySettings, accepts unknown fields", async () => {
    const both = body("x", {
      modelArmorConfig: { promptTemplateName: "projects/p/locations/l/templates/t" },
      safetySettings: [{ category: "HARM_CATEGORY_HATE_SPEECH", threshold: "BLOCK_NONE" }],
    });
    const res = await post(vpath("generateContent"), both);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain("cannot be used together");
    expect((await post(vpath("generateContent"), body("x", { someFutureField: { a: 1 } }))).status).toBe(200);
  });

  it("answers 413 for bodies over 64 MB", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${emu.url}${vpath("generateContent")}`, {
        method: "POST",
        headers: { ...BEARER, "content-length": String(65 * 1024 * 1024) },
      });
      req.on("response", (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
        req.destroy();
      });
      req.on("error", reject);
      req.flushHeaders();
    });
    expect(status).toBe(413);
  });
});

describe("Model Armor", () => {
  it("blocks matching prompts with promptFeedback MODEL_ARMOR and prompt-only usage", async () => {
    emu.configure({ modelArmor: { blockPattern: "forbidden\\s+topic" } });
    const ai = vertex();
    const r = await ai.models.generateContent({ model: MODEL, contents: "Tell me about the FORBIDDEN  topic" });
    expect(r.promptFeedback).toEqual({ blockReason: "MODEL_ARMOR", blockReasonMessage: "Blocked by Model Armor." });
    expect(r.candidates).toBeUndefined();
    expect(r.usageMetadata).toMatchObject({ promptTokenCount: 9, totalTokenCount: 9 });
    expect(r.usageMetadata?.candidatesTokenCount).toBeUndefined();
    const chunks: GenerateContentResponse[] = [];
    for await (const c of await ai.models.generateContentStream({ model: MODEL, contents: "forbidden topic" }))
      chunks.push(c);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]?.promptFeedback?.blockReason).toBe("MODEL_ARMOR");
    const ok = await ai.models.generateContent({ model: MODEL, contents: "an allowed topic" });
    expect(ok.candidates).toHaveLength(1);
  });
});

describe("control plane", () => {
  it("GET/POST config deep-merges, validates and names the bad field", async () => {
    const get = await fetch(`${emu.url}/__emulator/config`);
    expect(((await get.json()) as { responseTokens: number }).responseTokens).toBe(48);
    const post1 = await fetch(`${emu.url}/__emulator/config`, {
      method: "POST",
      body: JSON.stringify({ latency: { jitterMs: 3 }, errors: { "500": 0.25 }, region: "europe-west4" }),
    });
    expect(post1.headers.get("x-emulator-region")).toBe("europe-west4");
    const s = (await post1.json()) as { latency: object; errors: object };
    expect(s.latency).toEqual({ firstTokenMs: 0, perChunkMs: 0, jitterMs: 3 });
    emu.configure({ errors: { "503": 0.25 } });
    expect(emu.settings().errors).toEqual({ "500": 0.25, "503": 0.25 });
    for (const [bad, field] of [
      [{ latency: { firstTokenMs: -1 } }, "latency.firstTokenMs"],
      [{ errors: { "418": 0.5 } }, "errors"],
      [{ errors: { "429": 0.9 } }, "errors"],
      [{ modelArmor: { blockPattern: "(" } }, "modelArmor.blockPattern"],
      [{ respnseTokens: 3 }, "respnseTokens"],
    ] as const) {
      const res = await fetch(`${emu.url}/__emulator/config`, { method: "POST", body: JSON.stringify(bad) });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message).toContain(field);
    }
    expect(() => emu.configure({ chunkTokens: 0 })).toThrow(/chunkTokens/);
    expect(emu.settings().errors).toEqual({ "500": 0.25, "503": 0.25 });
  });

  it("stats count model calls only, by status, with tokens and peak concurrency", async () => {
    emu.configure({ latency: { firstTokenMs: 50 } });
    const ai = vertex();
    await Promise.all([1, 2, 3, 4].map((i) => ai.models.generateContent({ model: MODEL, contents: `p${i}` })));
    await post(vpath("generateContent"), "{");
    await fetch(`${emu.url}/healthz`);
    const stats = (await (await fetch(`${emu.url}/__emulator/stats`)).json()) as unknown;
    expect(stats).toEqual({
      requests: { total: 5, byStatus: { "200": 4, "400": 1 } },
      tokens: { input: 4, output: 192 },
      peakConcurrency: 4,
      concurrency: 0,
      protocols: { "http/1.1": { requests: 5, connections: expect.any(Number) }, h2: { requests: 0, connections: 0 } },
    });
    await fetch(`${emu.url}/__emulator/reset`, { method: "POST" });
    expect(emu.stats()).toEqual({
      requests: { total: 0, byStatus: {} },
      tokens: { input: 0, output: 0 },
      peakConcurrency: 0,
      concurrency: 0,
      protocols: { "http/1.1": { requests: 0, connections: 0 }, h2: { requests: 0, connections: 0 } },
    });
    expect(emu.requests()).toEqual([]);
  });

  it("records raw bodies byte for byte, lowercased headers, and keeps the last 200", async () => {
    const raw = '{ "contents" : [ {"parts":[{"text":"héllo \\u00e9 ✓"}]} ],\n  "unknownField": [1, 2.50] }';
    await post(`${vpath("generateContent")}?trace=1`, raw, { ...BEARER, "X-Custom-Header": "Yes" });
    const recs = (await (await fetch(`${emu.url}/__emulator/requests`)).json()) as ReturnType<
      RunningEmulator["requests"]
    >;
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({
      method: "POST",
      path: `${vpath("generateContent")}?trace=1`,
      body: raw,
      status: 200,
    });
    expect(recs[0]?.headers["x-custom-header"]).toBe("Yes");
    expect(recs[0]?.at).toBeGreaterThan(Date.now() - 60_000);
    await Promise.all(Array.from({ length: 205 }, (_, i) => post(vpath("countTokens"), body(`n${i}`))));
    expect(emu.requests()).toHaveLength(200);
  });
});

describe("settings", () => {
  it("settingsFromEnv reads valid variables", () => {
    expect(
      settingsFromEnv({
        EMULATOR_REGION: "europe-west1",
        EMULATOR_FIRST_TOKEN_MS: "120",
        EMULATOR_JITTER_MS: "5",
        EMULATOR_ERROR_429: "0.1",
        EMULATOR_ERROR_503: "0.3",
        EMULATOR_RPM: "100",
        EMULATOR_TPM: "unlimited",
        EMULATOR_MODEL_ARMOR_PATTERN: "jailbreak",
        EMULATOR_RESPONSE_TOKENS: "16",
        EMULATOR_PER_CHUNK_MS: "",
      }),
    ).toEqual({
      region: "europe-west1",
      latency: { firstTokenMs: 120, jitterMs: 5 },
      errors: { "429": 0.1, "503": 0.3 },
      quota: { requestsPerMinute: 100, tokensPerMinute: null },
      modelArmor: { blockPattern: "jailbreak" },
      responseTokens: 16,
    });
    expect(settingsFromEnv({})).toEqual({});
  });

  it("settingsFromEnv names the bad variable", () => {
    expect(() => settingsFromEnv({ EMULATOR_RPM: "lots" })).toThrow(/EMULATOR_RPM/);
    expect(() => settingsFromEnv({ EMULATOR_ERROR_429: "1.5" })).toThrow(/EMULATOR_ERROR_429/);
    expect(() => settingsFromEnv({ EMULATOR_FIRST_TOKEN_MS: "-3" })).toThrow(/EMULATOR_FIRST_TOKEN_MS/);
    expect(() => settingsFromEnv({ EMULATOR_MODEL_ARMOR_PATTERN: "[" })).toThrow(/EMULATOR_MODEL_ARMOR_PATTERN/);
    expect(() => settingsFromEnv({ EMULATOR_RESPONSE_TOKENS: "0" })).toThrow(/EMULATOR_RESPONSE_TOKENS/);
  });

  it("startEmulator rejects invalid initial settings and applies valid ones", async () => {
    await expect(startEmulator({ settings: { chunkTokens: -1 } })).rejects.toThrow(/chunkTokens/);
    const own = await startEmulator({ settings: { region: "asia-east1", responseTokens: 4 } });
    try {
      const res = await fetch(`${own.url}${vpath("generateContent")}`, {
        method: "POST",
        headers: BEARER,
        body: body("x"),
      });
      expect(res.headers.get("x-emulator-region")).toBe("asia-east1");
      expect(((await res.json()) as GenerateContentResponse).usageMetadata?.candidatesTokenCount).toBe(4);
    } finally {
      await own.close();
    }
  });
});
