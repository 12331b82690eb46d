/**
 * The model reads: `ai.models.list()` and `ai.models.get()` with @google/genai in both modes, against the gateway
 * (which answers them from its catalogue, without the upstream), and the same paths over raw HTTP.
 */
import { ApiError, type GoogleGenAI } from "@google/genai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_MODELS } from "../../service/src/config/env.js";
import { developerClient, startStack, vertexClient, type Stack } from "../support/stack.js";

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    tenants: [{ id: "embed-and-flash", models: ["gemini-2.5-flash", "gemini-embedding-001"] }],
  });
});
afterAll(async () => {
  await stack?.close();
});

const modes: [string, (url: string, key: string) => GoogleGenAI, string][] = [
  ["Vertex mode", vertexClient, "publishers/google/models/"],
  ["Developer API mode", developerClient, "models/"],
];

async function listAll(ai: GoogleGenAI, pageSize?: number): Promise<string[]> {
  const names: string[] = [];
  for await (const m of await ai.models.list(pageSize ? { config: { pageSize } } : undefined)) names.push(m.name!);
  return names;
}

describe.each(modes)("@google/genai %s", (_mode, client, prefix) => {
  it("models.list: every served model for a tenant that may use all, page by page", async () => {
    const names = await listAll(client(stack.gateway.url, stack.keys.acme), 3);
    expect(names).toEqual(DEFAULT_MODELS.map((m) => `${prefix}${m}`));
    expect(stack.emulator.stats().requests.total).toBe(0); // answered by the gateway itself
  });

  it("models.list: only the models the caller's tenant may use", async () => {
    expect(await listAll(client(stack.gateway.url, stack.keys.flashOnly))).toEqual([`${prefix}gemini-2.5-flash`]);
    expect(await listAll(client(stack.gateway.url, stack.keys["embed-and-flash"]!))).toEqual([
      `${prefix}gemini-2.5-flash`,
      `${prefix}gemini-embedding-001`,
    ]);
  });

  it("models.get: the model's metadata; 403 for a model the tenant may not use, 404 for one not served", async () => {
    const ai = client(stack.gateway.url, stack.keys.flashOnly);
    const flash = await ai.models.get({ model: "gemini-2.5-flash" });
    expect(flash.name).toBe(`${prefix}gemini-2.5-flash`);
    expect(flash.version).toBe("001");
    const denied = await ai.models.get({ model: "gemini-2.5-pro" }).catch((e: unknown) => e as ApiError);
    expect(denied).toBeInstanceOf(ApiError);
    expect((denied as ApiError).status).toBe(403);
    expect((denied as ApiError).message).toContain("PERMISSION_DENIED");
    const missing = await ai.models.get({ model: "gemini-0-nope" }).catch((e: unknown) => e as ApiError);
    expect((missing as ApiError).status).toBe(404);
    expect((missing as ApiError).message).toContain("NOT_FOUND");
  });

  it("an unknown key gets 401 UNAUTHENTICATED", async () => {
    const err = await client(stack.gateway.url, "ggw_not-a-key")
      .models.get({ model: "gemini-2.5-flash" })
      .catch((e: unknown) => e as ApiError);
    expect((err as ApiError).status).toBe(401);
    expect((err as ApiError).message).toContain("UNAUTHENTICATED");
  });
});

describe("Developer API Model resource", () => {
  it("carries Google's metadata, and only the methods this gateway serves for the model", async () => {
    const ai = developerClient(stack.gateway.url, stack.keys.acme);
    expect(await ai.models.get({ model: "gemini-2.5-flash" })).toMatchObject({
      displayName: "Gemini 2.5 Flash",
      inputTokenLimit: 1_048_576,
      outputTokenLimit: 65_536,
      supportedActions: ["generateContent", "countTokens", "createCachedContent", "batchGenerateContent"],
      temperature: 1,
      maxTemperature: 2,
      topP: 0.95,
      topK: 64,
      thinking: true,
    });
    expect(await ai.models.get({ model: "gemini-embedding-001" })).toMatchObject({
      displayName: "Gemini Embedding 001",
      inputTokenLimit: 2048,
      supportedActions: ["embedContent"],
    });
  });
});

describe("the read paths over HTTP", () => {
  const get = (path: string, key = stack.keys.acme) =>
    fetch(stack.gateway.url + path, { headers: { "x-goog-api-key": key } });

  it("pages as the Developer API documents: pageSize (at most 1000), an opaque nextPageToken", async () => {
    const first = (await (await get("/v1beta/models?pageSize=2")).json()) as {
      models: { name: string }[];
      nextPageToken?: string;
    };
    expect(first.models.map((m) => m.name)).toEqual(["models/gemini-2.5-pro", "models/gemini-2.5-flash"]);
    const second = (await (await get(`/v1beta/models?pageSize=2&pageToken=${first.nextPageToken}`)).json()) as {
      models: { name: string }[];
    };
    expect(second.models[0]!.name).toBe("models/gemini-2.5-flash-lite");
    const all = (await (await get("/v1/models?pageSize=100000")).json()) as {
      models: unknown[];
      nextPageToken?: string;
    };
    expect(all.models).toHaveLength(DEFAULT_MODELS.length);
    expect(all.nextPageToken).toBeUndefined();
    expect((await get("/v1beta/models?pageSize=-1")).status).toBe(400);
    expect((await get("/v1beta/models?pageToken=bogus")).status).toBe(400);
  });

  it("Vertex publisher models: PublisherModel resources", async () => {
    const res = await fetch(`${stack.gateway.url}/v1beta1/publishers/google/models/gemini-embedding-001`, {
      headers: { authorization: `Bearer ${stack.keys.acme}` },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      name: "publishers/google/models/gemini-embedding-001",
      versionId: "001",
      openSourceCategory: "PROPRIETARY",
      launchStage: "GA",
    });
  });

  it("answers in Google's envelope: no key 401, unknown version 404, GET on a model call's path 405", async () => {
    const noKey = await fetch(`${stack.gateway.url}/v1beta/models`);
    expect(noKey.status).toBe(401);
    expect(((await noKey.json()) as { error: { status: string } }).error.status).toBe("UNAUTHENTICATED");
    expect((await get("/v2/models")).status).toBe(404);
    expect((await get("/v1beta/models/gemini-2.5-flash:generateContent")).status).toBe(405);
  });
});
