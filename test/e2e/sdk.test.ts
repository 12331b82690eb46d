/**
 * End to end with the official client: @google/genai (Vertex mode and Developer API mode) → gateway over HTTP →
 * emulator over HTTP. Only httpOptions.baseUrl differs from how the SDK would talk to Google.
 */
import { ApiError, type GoogleGenAI } from "@google/genai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { developerClient, postJson, startStack, vertexClient, type Stack } from "../support/stack.js";

const CANARY = "canary-7f3a9c-do-not-log";
const MODEL = "gemini-2.5-flash";
let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack.close();
});
beforeEach(() => {
  stack.emulator.configure({ errors: null });
  stack.emulator.reset();
});

const modes: [string, (url: string, key: string) => GoogleGenAI][] = [
  ["Vertex mode", vertexClient],
  ["Developer API mode", developerClient],
];

describe.each(modes)("@google/genai in %s", (_mode, makeClient) => {
  const client = () => makeClient(stack.gateway.url, stack.keys.acme);
  const contents = `Tell me about tide pools. ${CANARY}`;
  const config = { systemInstruction: `Answer briefly. ${CANARY}`, maxOutputTokens: 64 };

  it("generateContent returns the emulator's answer with usage", async () => {
    const res = await client().models.generateContent({ model: MODEL, contents, config });
    expect(res.text).toBeTruthy();
    expect(res.candidates?.[0]?.finishReason).toBeDefined();
    expect(res.usageMetadata?.promptTokenCount).toBeGreaterThan(0);
    expect(res.usageMetadata?.candidatesTokenCount).toBeGreaterThan(0);
    expect(stack.emulator.stats().requests.total).toBe(1);
  });

  it("a streamed answer reassembles to the non-streamed text, with usage on the last chunk", async () => {
    const whole = await client().models.generateContent({ model: MODEL, contents, config });
    const chunks = [];
    for await (const chunk of await client().models.generateContentStream({ model: MODEL, contents, config })) {
      chunks.push(chunk);
    }
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.map((c) => c.text ?? "").join("")).toBe(whole.text);
    const last = chunks.at(-1)!;
    expect(last.usageMetadata?.totalTokenCount).toBe(whole.usageMetadata?.totalTokenCount);
    expect(last.candidates?.[0]?.finishReason).toBe(whole.candidates?.[0]?.finishReason);
  });

  it("countTokens answers like the upstream", async () => {
    const viaGateway = await client().models.countTokens({ model: MODEL, contents });
    const direct = await makeClient(stack.emulator.url, "emulator").models.countTokens({ model: MODEL, contents });
    expect(viaGateway.totalTokens).toBeGreaterThan(0);
    expect(viaGateway.totalTokens).toBe(direct.totalTokens);
  });

  it.each([
    [400, "INVALID_ARGUMENT"],
    [404, "NOT_FOUND"],
    [429, "RESOURCE_EXHAUSTED"],
    [500, "INTERNAL"],
    [503, "UNAVAILABLE"],
  ])("an upstream %i reaches the client with the same code and status", async (code, status) => {
    stack.emulator.configure({ errors: { [String(code)]: 1 } });
    const err = await client()
      .models.generateContent({ model: MODEL, contents })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(code);
    expect((err as ApiError).message).toContain(status);
    // Streams fail the same way when the error comes before the first chunk.
    const streamErr = await client()
      .models.generateContentStream({ model: MODEL, contents })
      .then(async (s) => {
        for await (const _ of s) void _;
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect((streamErr as ApiError).status).toBe(code);
  });

  it("a model outside the tenant's list is refused with 403 PERMISSION_DENIED", async () => {
    const err = await makeClient(stack.gateway.url, stack.keys.flashOnly)
      .models.generateContent({ model: "gemini-2.5-pro", contents })
      .then(
        () => undefined,
        (e: unknown) => e as ApiError,
      );
    expect(err?.status).toBe(403);
    expect(err?.message).toContain("PERMISSION_DENIED");
    expect(stack.emulator.stats().requests.total).toBe(0);
  });

  it("an unknown key is refused with 401 UNAUTHENTICATED", async () => {
    const err = await makeClient(stack.gateway.url, "ggw_not-a-real-key")
      .models.generateContent({ model: MODEL, contents })
      .then(
        () => undefined,
        (e: unknown) => e as ApiError,
      );
    expect(err?.status).toBe(401);
    expect(err?.message).toContain("UNAUTHENTICATED");
  });
});

describe("wire fidelity", () => {
  const url = () =>
    `${stack.gateway.url}/v1beta1/projects/p/locations/us-central1/publishers/google/models/${MODEL}:generateContent`;
  const auth = () => ({ authorization: `Bearer ${stack.keys.acme}` });

  it("forwards unknown and rarely used fields byte for byte, adding only the attribution labels", async () => {
    const raw = `{ "contents": [{"role":"user","parts":[{"text":"hi \\u00e9 ${CANARY}"}]}],
  "systemInstruction": {"parts":[{"text":"be terse"}]},
  "tools": [{"functionDeclarations":[{"name":"lookup","parameters":{"type":"OBJECT","properties":{"q":{"type":"STRING"}}}}]}],
  "toolConfig": {"functionCallingConfig":{"mode":"AUTO"}},
  "safetySettings": [{"category":"HARM_CATEGORY_HATE_SPEECH","threshold":"BLOCK_ONLY_HIGH"}],
  "generationConfig": {"temperature": 0.0, "thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": true},
    "responseMimeType": "application/json", "responseSchema": {"type":"OBJECT"}, "seed": 12345678901},
  "aFutureField": {"nested": [1, 2.50, 1e3, null, true, "x"]}
}
`;
    const res = await postJson(url(), raw, auth());
    expect(res.status).toBe(200);
    const received = stack.emulator.requests().at(-1)!;
    expect(received.path).toContain(`/publishers/google/models/${MODEL}:generateContent`);
    const keyId = (res.headers.get("x-request-id") && received.body.match(/"gateway-key":"([0-9a-f]{12})"/)?.[1]) ?? "";
    expect(keyId).toMatch(/^[0-9a-f]{12}$/);
    const lastBrace = raw.lastIndexOf("}");
    const expected = `${raw.slice(0, lastBrace)},"labels":{"gateway-tenant":"acme","gateway-key":"${keyId}"}${raw.slice(lastBrace)}`;
    expect(received.body).toBe(expected);
  });

  it("merges the client's own labels with the gateway's, keeping every other field", async () => {
    const body = {
      contents: [{ role: "user", parts: [{ text: "hello" }] }],
      labels: { team: "search", "gateway-tenant": "spoofed" },
      someNewField: { a: [1, 2, 3] },
    };
    expect((await postJson(url(), body, auth())).status).toBe(200);
    const received = JSON.parse(stack.emulator.requests().at(-1)!.body) as typeof body & {
      labels: Record<string, string>;
    };
    expect(received.someNewField).toEqual(body.someNewField);
    expect(received.contents).toEqual(body.contents);
    expect(received.labels.team).toBe("search");
    expect(received.labels["gateway-tenant"]).toBe("acme"); // a client cannot pass as another tenant
  });

  it("serves streamGenerateContent without alt=sse as one JSON array, chunk texts matching the SSE form", async () => {
    const streamUrl = url().replace(":generateContent", ":streamGenerateContent");
    const body = { contents: [{ role: "user", parts: [{ text: "Write about rivers." }] }] };
    const arr = await postJson(streamUrl, body, auth());
    expect(arr.status).toBe(200);
    expect(arr.headers.get("content-type")).toContain("application/json");
    const chunks = arr.json as {
      candidates?: { content?: { parts?: { text?: string }[] } }[];
      usageMetadata?: unknown;
    }[];
    expect(Array.isArray(chunks)).toBe(true);
    expect(chunks.length).toBeGreaterThan(1);
    const sse = await postJson(`${streamUrl}?alt=sse`, body, auth());
    expect(sse.headers.get("content-type")).toContain("text/event-stream");
    const events = sse.text
      .split(/\r\n\r\n/)
      .filter(Boolean)
      .map((e) => JSON.parse(e.replace(/^data: /, "")) as (typeof chunks)[number]);
    const text = (cs: typeof chunks) => cs.map((c) => c.candidates?.[0]?.content?.parts?.[0]?.text ?? "").join("");
    expect(text(chunks)).toBe(text(events));
    expect(chunks.at(-1)?.usageMetadata).toBeDefined();
  });

  it("sends upstream its own credentials, never the client's key, and forwards only a valid X-Server-Timeout", async () => {
    const body = { contents: [{ parts: [{ text: "x" }] }] };
    expect(
      (await postJson(url(), body, { ...auth(), "x-server-timeout": "30", "x-goog-api-key": stack.keys.acme })).status,
    ).toBe(200);
    const sent = stack.emulator.requests().at(-1)!.headers;
    expect(sent.authorization).toBe("Bearer emulator");
    expect(sent["x-goog-api-key"]).toBeUndefined();
    expect(JSON.stringify(sent)).not.toContain(stack.keys.acme);
    expect(sent["x-server-timeout"]).toBe("30");
    expect((await postJson(url(), body, { ...auth(), "x-server-timeout": "soon\r\n" })).status).toBe(200);
    expect(stack.emulator.requests().at(-1)!.headers["x-server-timeout"]).toBeUndefined();
  });

  it("every response carries x-request-id, and a valid incoming one is kept", async () => {
    const res = await postJson(
      url(),
      { contents: [{ parts: [{ text: "x" }] }] },
      { ...auth(), "x-request-id": "abc-123" },
    );
    expect(res.headers.get("x-request-id")).toBe("abc-123");
    const bad = await postJson(url(), "{", auth());
    expect(bad.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("logs one line per call and never the prompt or answer", async () => {
    const before = stack.logs.length;
    const res = await postJson(url(), { contents: [{ parts: [{ text: `secret ${CANARY}` }] }] }, auth());
    expect(res.status).toBe(200);
    const lines = stack.logs.slice(before).map((l) => JSON.parse(l) as Record<string, unknown>);
    const line = lines.find((l) => l.message === "model call");
    expect(line).toMatchObject({ severity: "INFO", tenant: "acme", model: MODEL, httpRequest: { status: 200 } });
    expect(stack.logs.join("\n")).not.toContain(CANARY);
    const answer = (res.json as { candidates: { content: { parts: { text: string }[] } }[] }).candidates[0]!.content
      .parts[0]!.text;
    expect(answer.length).toBeGreaterThan(10);
    expect(stack.logs.join("\n")).not.toContain(answer);
  });
});
