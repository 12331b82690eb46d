/**
 * Embeddings end to end: @google/genai in both modes → gateway → emulator (as Vertex). One vector per input, in
 * order, of the size asked for; usage and cost in /admin/usage; admission like any call; 400s naming the limit; the
 * fan-out seen at the upstream (one :predict per input for gemini-embedding-001, whose Vertex method takes one).
 */
import { ApiError, type GoogleGenAI } from "@google/genai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { sha256Hex } from "../../service/src/config/tenants.js";
import { developerClient, postJson, startStack, vertexClient, type Stack } from "../support/stack.js";

const MODEL = "gemini-embedding-001";
const ADMIN_KEY = "admin-key-for-embedding-tests";
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    env: {
      GATEWAY_ADMIN_KEY_SHA256: sha256Hex(ADMIN_KEY),
      GATEWAY_QUEUE_TIMEOUT_MS: "0",
      GATEWAY_MODELS: "gemini-2.5-flash,gemini-embedding-001,gemini-embedding-2",
    },
    tenants: [
      { id: "embedder", models: [MODEL] },
      { id: "limited", models: [MODEL], limits: { requestsPerMinute: 60 } },
    ],
  });
});
afterAll(async () => {
  await stack?.close();
});
beforeEach(() => {
  stack.emulator.configure({ errors: null });
  stack.emulator.reset();
});

type Envelope = { error: { code: number; message: string; status: string } };
const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const upstreamCalls = () => stack.emulator.requests().filter((r) => r.path.includes(":"));

const modes: [string, (url: string, key: string) => GoogleGenAI][] = [
  ["Vertex mode", vertexClient],
  ["Developer API mode", developerClient],
];

describe.each(modes)("@google/genai %s: models.embedContent", (_mode, client) => {
  const ai = () => client(stack.gateway.url, stack.keys.embedder!);

  it("answers one vector per input, in order, of outputDimensionality values", async () => {
    const contents = ["tide pools at dawn", "a recipe for bread", "tide pools at dawn", "the history of maps"];
    const res = await ai().models.embedContent({ model: MODEL, contents, config: { outputDimensionality: 256 } });
    const vectors = res.embeddings!.map((e) => e.values!);
    expect(vectors).toHaveLength(4);
    for (const v of vectors) expect(v).toHaveLength(256);
    expect(vectors[0]).toEqual(vectors[2]); // identical texts, identical vectors
    expect(vectors[0]).not.toEqual(vectors[1]);
    expect(vectors[1]).not.toEqual(vectors[3]);
    // In order: each vector is the one the text gets on its own.
    const alone = await ai().models.embedContent({
      model: MODEL,
      contents: "a recipe for bread",
      config: { outputDimensionality: 256 },
    });
    expect(alone.embeddings![0]!.values).toEqual(vectors[1]);
    // gemini-embedding-001 takes one instance per Vertex call: four inputs, four :predict calls.
    const calls = upstreamCalls().slice(0, 4);
    expect(calls.map((c) => c.path.split(":").at(-1))).toEqual(["predict", "predict", "predict", "predict"]);
    expect(calls.every((c) => (JSON.parse(c.body) as { instances: unknown[] }).instances.length === 1)).toBe(true);
  });

  it("answers full 3072-dimension unit vectors by default", async () => {
    const res = await ai().models.embedContent({ model: MODEL, contents: "What is the meaning of life?" });
    const v = res.embeddings![0]!.values!;
    expect(v).toHaveLength(3072);
    expect(norm(v)).toBeCloseTo(1, 5);
  });
});

describe("embedding wire shapes", () => {
  const dev = (method: string) => `${stack.gateway.url}/v1beta/models/${MODEL}:${method}`;
  const vtx = (method: string, model = MODEL) =>
    `${stack.gateway.url}/v1beta1/projects/p/locations/us-central1/publishers/google/models/${model}:${method}`;
  const devKey = () => ({ "x-goog-api-key": stack.keys.acme });
  const vtxKey = () => ({ authorization: `Bearer ${stack.keys.acme}` });

  it("Developer embedContent: {embedding: {values}}; taskType and title reach Vertex as task_type and title", async () => {
    const res = await postJson(
      dev("embedContent"),
      {
        model: `models/${MODEL}`,
        content: { parts: [{ text: "a document about tides" }] },
        taskType: "RETRIEVAL_DOCUMENT",
        title: "Tides",
        outputDimensionality: 8,
      },
      devKey(),
    );
    expect(res.status).toBe(200);
    expect(Object.keys(res.json as object)).toEqual(["embedding"]);
    expect((res.json as { embedding: { values: number[] } }).embedding.values).toHaveLength(8);
    expect(JSON.parse(upstreamCalls()[0]!.body)).toEqual({
      instances: [{ content: "a document about tides", task_type: "RETRIEVAL_DOCUMENT", title: "Tides" }],
      parameters: { outputDimensionality: 8 },
    });
    expect(res.headers.get("x-gateway-upstream-calls")).toBe("1");
  });

  it("Vertex predict with several instances: fanned out, answered as predictions with statistics", async () => {
    const res = await postJson(
      vtx("predict"),
      {
        instances: [{ content: "one" }, { content: "two", task_type: "RETRIEVAL_QUERY" }],
        parameters: { outputDimensionality: 4 },
      },
      vtxKey(),
    );
    expect(res.status).toBe(200);
    const body = res.json as {
      predictions: { embeddings: { values: number[]; statistics: { token_count: number } } }[];
    };
    expect(body.predictions).toHaveLength(2);
    expect(body.predictions.map((p) => p.embeddings.values.length)).toEqual([4, 4]);
    expect(body.predictions[0]!.embeddings.statistics.token_count).toBe(1); // "one": 3 characters, 1 token
    // The client spoke the model's own method: each call is its request, split per instance, fields as sent.
    expect(upstreamCalls().map((c) => JSON.parse(c.body) as unknown)).toEqual([
      { instances: [{ content: "one" }], parameters: { outputDimensionality: 4 } },
      { instances: [{ content: "two", task_type: "RETRIEVAL_QUERY" }], parameters: { outputDimensionality: 4 } },
    ]);
    expect(res.headers.get("x-gateway-upstream-calls")).toBe("2");
    expect(res.headers.get("x-gateway-attempts")).toBe("2");
  });

  it("gemini-embedding-2: each input is its own Vertex embedContent call (never one fused vector)", async () => {
    const requests = ["alpha", "beta", "gamma"].map((text) => ({
      model: "models/gemini-embedding-2",
      content: { parts: [{ text }] },
      outputDimensionality: 16,
    }));
    const res = await postJson(
      `${stack.gateway.url}/v1beta/models/gemini-embedding-2:batchEmbedContents`,
      { requests },
      devKey(),
    );
    expect(res.status).toBe(200);
    const vectors = (res.json as { embeddings: { values: number[] }[] }).embeddings.map((e) => e.values);
    expect(vectors).toHaveLength(3);
    expect(new Set(vectors.map((v) => v.join())).size).toBe(3);
    const calls = upstreamCalls();
    expect(calls.map((c) => c.path.split(":").at(-1))).toEqual(["embedContent", "embedContent", "embedContent"]);
    expect(JSON.parse(calls[0]!.body)).toEqual({
      content: { parts: [{ text: "alpha" }] },
      embedContentConfig: { outputDimensionality: 16 },
    });
  });

  it("Vertex embedContent for gemini-embedding-001 is translated to its predict, and answered in embedContent's shape", async () => {
    const res = await postJson(
      vtx("embedContent"),
      { content: { parts: [{ text: "hello there" }] }, embedContentConfig: { outputDimensionality: 5 } },
      vtxKey(),
    );
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      embedding: { values: expect.any(Array) },
      usageMetadata: { promptTokenCount: 3, totalTokenCount: 3 },
      truncated: false,
    });
    expect(upstreamCalls()[0]!.path).toContain(`${MODEL}:predict`);
  });

  it("a long input is truncated by Google by default; with autoTruncate false it is a 400 naming the limit", async () => {
    const long = "word ".repeat(3000); // 15,000 characters: about 3,750 tokens, over 2,048
    const ok = await postJson(vtx("predict"), { instances: [{ content: long }] }, vtxKey());
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({
      predictions: [{ embeddings: { statistics: { truncated: true, token_count: 2048 } } }],
    });
    const refused = await postJson(
      vtx("predict"),
      { instances: [{ content: long }], parameters: { autoTruncate: false } },
      vtxKey(),
    );
    expect(refused.status).toBe(400);
    expect((refused.json as Envelope).error.message).toContain("at most 2048 tokens per input");
  });
});

describe("bad embedding requests get a 400 naming the limit, without an upstream call", () => {
  const url = `/v1beta/models/${MODEL}:batchEmbedContents`;
  const one = (text: string, extra: Record<string, unknown> = {}) => ({
    model: `models/${MODEL}`,
    content: { parts: [{ text }] },
    ...extra,
  });
  const refusal = async (body: unknown, path = url) => {
    const res = await postJson(stack.gateway.url + path, body, { "x-goog-api-key": stack.keys.acme });
    expect(res.status).toBe(400);
    expect((res.json as Envelope).error.status).toBe("INVALID_ARGUMENT");
    expect(upstreamCalls()).toHaveLength(0); // refused before any upstream call
    return (res.json as Envelope).error.message;
  };

  it("more inputs than the model takes per request", async () => {
    const message = await refusal({ requests: Array.from({ length: 101 }, (_, i) => one(`text ${i}`)) });
    expect(message).toContain("101 inputs");
    expect(message).toContain("at most 100 per request");
  });

  it("an empty content", async () => {
    expect(await refusal({ requests: [one("ok"), one("   ")] })).toContain("requests[1] has nothing to embed");
    expect(await refusal({ requests: [{ content: { parts: [] } }] })).toContain("at least one part");
  });

  it("outputDimensionality out of range", async () => {
    const message = await refusal({ requests: [one("x", { outputDimensionality: 4096 })] });
    expect(message).toContain("outputDimensionality 4096");
    expect(message).toContain("1 to 3072");
    expect(await refusal({ requests: [one("x", { outputDimensionality: 0 })] })).toContain("out of range");
  });

  it("media for a text-only model, a request for another model", async () => {
    const image = { content: { parts: [{ inlineData: { mimeType: "image/png", data: "iVBORw0KGgo=" } }] } };
    expect(await refusal({ requests: [image] })).toContain("embeds text only");
    expect(await refusal({ requests: [{ ...one("x"), model: "models/gemini-embedding-2" }] })).toContain(
      "requests[0].model",
    );
  });
});

describe("embeddings are model calls like any other", () => {
  it("a generative model cannot embed, an embedding model cannot generate: 404 naming what it serves", async () => {
    const embedOnFlash = await postJson(
      `${stack.gateway.url}/v1beta/models/gemini-2.5-flash:embedContent`,
      { content: { parts: [{ text: "x" }] } },
      { "x-goog-api-key": stack.keys.acme },
    );
    expect(embedOnFlash.status).toBe(404);
    expect((embedOnFlash.json as Envelope).error.message).toContain("not supported for embedContent");
    const generateOnEmbedding = await developerClient(stack.gateway.url, stack.keys.acme)
      .models.generateContent({ model: MODEL, contents: "hi" })
      .then(
        () => undefined,
        (e: unknown) => e as ApiError,
      );
    expect(generateOnEmbedding?.status).toBe(404);
    expect(generateOnEmbedding?.message).toContain("embedContent, batchEmbedContents, predict");
    expect(upstreamCalls()).toHaveLength(0);
  });

  it("shows in /admin/usage with its model, input tokens and cost at the embedding price", async () => {
    const usage = async () =>
      (
        (await (
          await fetch(`${stack.gateway.url}/admin/usage?period=day`, {
            headers: { authorization: `Bearer ${ADMIN_KEY}` },
          })
        ).json()) as {
          tenants: Record<
            string,
            { models: Record<string, { requests: number; tokens: { input: number; output: number }; usd: number }> }
          >;
        }
      ).tenants.embedder?.models[MODEL];
    const before = (await usage()) ?? { requests: 0, tokens: { input: 0, output: 0 }, usd: 0 };
    // 3 inputs × 400 characters = 3 × 100 emulator tokens = 300 tokens × $0.15 per 1M = $0.000045
    const contents = ["a", "b", "c"].map((c) => c.repeat(400));
    await developerClient(stack.gateway.url, stack.keys.embedder!).models.embedContent({ model: MODEL, contents });
    let after = await usage();
    for (let i = 0; i < 50 && after?.requests === before.requests; i++) {
      await new Promise((r) => setTimeout(r, 10)); // usage counters are added after the answer
      after = await usage();
    }
    expect(after!.requests - before.requests).toBe(1);
    expect(after!.tokens.input - before.tokens.input).toBe(300);
    expect(after!.tokens.output - before.tokens.output).toBe(0);
    expect(Math.round((after!.usd - before.usd) * 1e6)).toBe(45);
  });

  it("writes one audit record with the embedding model, method and tokens", async () => {
    const requestId = `embed-audit-${Date.now()}`;
    const res = await postJson(
      `${stack.gateway.url}/v1beta/models/${MODEL}:embedContent`,
      { content: { parts: [{ text: "abcdefgh" }] } },
      { "x-goog-api-key": stack.keys.acme, "x-request-id": requestId },
    );
    expect(res.status).toBe(200);
    const records = stack.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter(
        (l) =>
          l.requestId === requestId &&
          (l["logging.googleapis.com/labels"] as { log?: string })?.log === "gateway-audit",
      );
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      model: MODEL,
      method: "embedContent",
      tenant: "acme",
      tokens: { input: 2, output: 0 },
    });
  });

  it("a tenant over its limits gets 429 on embeddings too", async () => {
    const client = developerClient(stack.gateway.url, stack.keys.limited!);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      statuses.push(
        await client.models.embedContent({ model: MODEL, contents: `text ${i}` }).then(
          () => 200,
          (e: unknown) => (e as ApiError).status,
        ),
      );
    }
    expect(statuses[0]).toBe(200);
    expect(statuses).toContain(429);
  });

  it("an upstream error mid-way is the answer, as it came: never some of the vectors and a 200", async () => {
    stack.emulator.configure({ errors: { "503": 1 } });
    const res = await postJson(
      `${stack.gateway.url}/v1beta/models/${MODEL}:batchEmbedContents`,
      { requests: ["a", "b", "c"].map((t) => ({ content: { parts: [{ text: t }] } })) },
      { "x-goog-api-key": stack.keys.acme },
    );
    expect(res.status).toBe(503);
    expect((res.json as Envelope).error.status).toBe("UNAVAILABLE");
  });
});
