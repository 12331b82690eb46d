// The emulator's embeddings (emulator/embed.ts), driven with @google/genai (both modes) and plain fetch: deterministic
// unit vectors, Google's limits per model and method, and the usage fields each API answers with.
import { ApiError, GoogleGenAI } from "@google/genai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../service/src/emulator/server.js";

const E1 = "gemini-embedding-001";
const E2 = "gemini-embedding-2";
const vpath = (method: string, model = E1) =>
  `/v1beta1/projects/p/locations/us-central1/publishers/google/models/${model}:${method}`;
const dpath = (method: string, model = E1) => `/v1beta/models/${model}:${method}`;

let emu: RunningEmulator;
beforeAll(async () => {
  emu = await startEmulator({ port: 0 });
});
afterAll(() => emu.close());
beforeEach(() => {
  emu.configure({ errors: null, quota: null });
  emu.reset();
});

const vertex = () =>
  new GoogleGenAI({
    vertexai: true,
    project: "p",
    location: "us-central1",
    httpOptions: { baseUrl: emu.url },
    googleAuthOptions: {
      authClient: { getRequestHeaders: async () => new Headers({ Authorization: "Bearer t" }) } as never,
    },
  });
const developer = () => new GoogleGenAI({ apiKey: "k", httpOptions: { baseUrl: emu.url } });

async function post(path: string, payload: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const vertexPath = path.includes("/publishers/");
  const res = await fetch(emu.url + path, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(vertexPath ? { authorization: "Bearer t" } : { "x-goog-api-key": "k" }),
    },
    body: JSON.stringify(payload),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

describe("emulator embeddings: vectors", () => {
  it("are unit vectors of 3072 values, the same for the same text, different for another", async () => {
    const res = await developer().models.embedContent({ model: E1, contents: ["same", "other", "same"] });
    const [a, b, c] = res.embeddings!.map((e) => e.values!);
    expect(a).toHaveLength(3072);
    expect(norm(a!)).toBeCloseTo(1, 6);
    expect(a).toEqual(c);
    expect(a).not.toEqual(b);
  });

  it("outputDimensionality keeps the first values, not normalised again (as Google documents)", async () => {
    const full = (await developer().models.embedContent({ model: E1, contents: "tide" })).embeddings![0]!.values!;
    const small = (
      await developer().models.embedContent({ model: E1, contents: "tide", config: { outputDimensionality: 768 } })
    ).embeddings![0]!.values!;
    expect(small).toEqual(full.slice(0, 768));
    expect(norm(small)).toBeLessThan(1);
  });

  it("the task type and title are part of what is embedded", async () => {
    const v = async (taskType?: string) =>
      (await developer().models.embedContent({ model: E1, contents: "q", config: { taskType } })).embeddings![0]!
        .values;
    expect(await v("RETRIEVAL_QUERY")).not.toEqual(await v("RETRIEVAL_DOCUMENT"));
    expect(await v("RETRIEVAL_QUERY")).toEqual(await v("RETRIEVAL_QUERY"));
  });
});

describe("emulator embeddings: Vertex", () => {
  it("gemini-embedding-001 by predict: one instance per request, with statistics and billable characters", async () => {
    const one = await post(vpath("predict"), {
      instances: [{ content: "hello world" }],
      parameters: { outputDimensionality: 4 },
    });
    expect(one.status).toBe(200);
    expect(one.json).toMatchObject({
      predictions: [{ embeddings: { values: expect.any(Array), statistics: { truncated: false, token_count: 3 } } }],
      metadata: { billableCharacterCount: 10 },
    });
    const two = await post(vpath("predict"), { instances: [{ content: "a" }, { content: "b" }] });
    expect(two.status).toBe(400);
    expect((two.json.error as { message: string }).message).toContain("1 instance(s) per request");
    // The SDK's Vertex mode sends every content as an instance of one predict: Vertex refuses more than one.
    const err = await vertex()
      .models.embedContent({ model: E1, contents: ["a", "b"] })
      .catch((e: unknown) => e as ApiError);
    expect((err as ApiError).status).toBe(400);
  });

  it("truncates long inputs unless autoTruncate is false", async () => {
    const long = "x".repeat(4 * 3000);
    const cut = await post(vpath("predict"), { instances: [{ content: long }] });
    expect(cut.json).toMatchObject({
      predictions: [{ embeddings: { statistics: { truncated: true, token_count: 2048 } } }],
    });
    const refused = await post(vpath("predict"), {
      instances: [{ content: long }],
      parameters: { autoTruncate: false },
    });
    expect(refused.status).toBe(400);
  });

  it("gemini-embedding-2 by embedContent: one content (all its parts one vector), usageMetadata by modality", async () => {
    const res = await vertex().models.embedContent({
      model: E2,
      contents: [{ parts: [{ text: "a cat" }, { inlineData: { mimeType: "image/png", data: "AAAA" } }] }],
      config: { outputDimensionality: 10 },
    });
    expect(res.embeddings).toHaveLength(1);
    expect(res.embeddings![0]!.values).toHaveLength(10);
    expect(res.embeddings![0]!.statistics?.tokenCount).toBe(2 + 258);
    const raw = await post(vpath("embedContent", E2), {
      content: { parts: [{ text: "abcd" }] },
      embedContentConfig: { outputDimensionality: 3 },
    });
    expect(raw.json).toMatchObject({
      embedding: { values: expect.any(Array) },
      usageMetadata: {
        promptTokenCount: 1,
        totalTokenCount: 1,
        promptTokensDetails: [{ modality: "TEXT", tokenCount: 1 }],
      },
      truncated: false,
    });
  });

  it("each model only on its own Vertex method; a generative model embeds nowhere", async () => {
    expect((await post(vpath("embedContent", E1), { content: { parts: [{ text: "x" }] } })).status).toBe(404);
    expect((await post(vpath("predict", E2), { instances: [{ content: "x" }] })).status).toBe(404);
    expect((await post(vpath("predict", "gemini-2.5-flash"), { instances: [{ content: "x" }] })).status).toBe(404);
    expect(
      (await post(dpath("embedContent", "gemini-2.5-flash"), { content: { parts: [{ text: "x" }] } })).status,
    ).toBe(404);
  });
});

describe("emulator embeddings: Developer API", () => {
  it("batchEmbedContents: in order, at most 100 requests, each for the path's model", async () => {
    const requests = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ model: `models/${E1}`, content: { parts: [{ text: `t${i}` }] } }));
    const ok = await post(dpath("batchEmbedContents"), { requests: requests(100) });
    expect(ok.status).toBe(200);
    expect((ok.json.embeddings as unknown[]).length).toBe(100);
    const tooMany = await post(dpath("batchEmbedContents"), { requests: requests(101) });
    expect(tooMany.status).toBe(400);
    expect((tooMany.json.error as { message: string }).message).toContain("at most 100 requests can be in one batch");
    const other = await post(dpath("batchEmbedContents"), {
      requests: [{ model: "models/x", content: { parts: [{ text: "a" }] } }],
    });
    expect(other.status).toBe(400);
  });

  it("counts embedding tokens in the emulator's stats and quota", async () => {
    await post(dpath("embedContent"), { content: { parts: [{ text: "abcdefgh" }] } });
    expect(emu.stats().tokens.input).toBe(2);
    emu.configure({ quota: { requestsPerMinute: 1 } });
    expect((await post(dpath("embedContent"), { content: { parts: [{ text: "a" }] } })).status).toBe(200);
    expect((await post(dpath("embedContent"), { content: { parts: [{ text: "a" }] } })).status).toBe(429);
  });
});
