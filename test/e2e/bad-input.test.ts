/**
 * Hostile and malformed requests: each gets a 4xx in the Gemini error envelope, the upstream is never called for
 * them, and the gateway stays up and healthy. No 5xx.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawRequest } from "../support/raw-http.js";
import { startStack, type Stack } from "../support/stack.js";

let stack: Stack;
const LIMIT = 64 * 1024;
beforeAll(async () => {
  stack = await startStack({ env: { GATEWAY_MAX_BODY_BYTES: String(LIMIT) } });
});
afterAll(async () => {
  await stack.close();
});

const GEN = "/v1beta/models/gemini-2.5-flash:generateContent";
const VERTEX = "/v1beta1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent";
const ok = { contents: [{ role: "user", parts: [{ text: "hi" }] }] };
const deep = `{"contents":[{"parts":[{"text":"x"}]}],"x":${"[".repeat(30_000)}${"]".repeat(30_000)}}`;

interface Case {
  name: string;
  path?: string;
  method?: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  auth?: boolean;
  status: number;
  message?: RegExp;
}

const cases: Case[] = [
  { name: "truncated JSON", body: '{"contents": [', status: 400, message: /Invalid JSON/ },
  { name: "not JSON at all", body: "hello there", status: 400, message: /Invalid JSON/ },
  { name: "a JSON array", body: "[]", status: 400, message: /JSON object/ },
  { name: "a JSON string", body: '"contents"', status: 400, message: /JSON object/ },
  { name: "JSON null", body: "null", status: 400, message: /JSON object/ },
  { name: "an empty body", body: "", status: 400, message: /empty/ },
  { name: "missing contents", body: "{}", status: 400, message: /contents/ },
  { name: "contents is a string", body: '{"contents":"hi"}', status: 400, message: /contents/ },
  { name: "contents is empty", body: '{"contents":[]}', status: 400, message: /contents/ },
  { name: "content without parts", body: '{"contents":[{"role":"user"}]}', status: 400, message: /parts/ },
  { name: "text is a number", body: '{"contents":[{"parts":[{"text":5}]}]}', status: 400, message: /text/ },
  {
    name: "maxOutputTokens is a string",
    body: JSON.stringify({ ...ok, generationConfig: { maxOutputTokens: "many" } }),
    status: 400,
    message: /maxOutputTokens/,
  },
  {
    name: "temperature out of range",
    body: JSON.stringify({ ...ok, generationConfig: { temperature: 7 } }),
    status: 400,
    message: /temperature/,
  },
  {
    name: "candidateCount too high",
    body: JSON.stringify({ ...ok, generationConfig: { candidateCount: 1000 } }),
    status: 400,
    message: /candidateCount/,
  },
  {
    name: "labels breaking Vertex rules",
    body: JSON.stringify({ ...ok, labels: { "Bad Key": "x" } }),
    status: 400,
    message: /labels/,
  },
  { name: "invalid UTF-8", body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), status: 400, message: /UTF-8/ },
  { name: "30,000-deep nesting", body: deep, status: 400 },
  {
    name: "body over the limit",
    body: JSON.stringify({ contents: [{ parts: [{ text: "a".repeat(LIMIT) }] }] }),
    status: 413,
    message: /exceeds the limit/,
  },
  {
    name: "wrong content type",
    body: JSON.stringify(ok),
    headers: { "content-type": "text/plain" },
    status: 415,
    message: /Content-Type/,
  },
  {
    name: "form-encoded body",
    body: "contents=hi",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    status: 415,
  },
  { name: "no key", auth: false, body: JSON.stringify(ok), status: 401, message: /missing a gateway API key/ },
  {
    name: "Basic auth instead of a key",
    auth: false,
    headers: { authorization: "Basic dXNlcjpwYXNz" },
    body: JSON.stringify(ok),
    status: 401,
  },
  {
    name: "a wrong key",
    auth: false,
    headers: { "x-goog-api-key": "ggw_wrong" },
    body: JSON.stringify(ok),
    status: 401,
    message: /not valid/,
  },
  {
    name: "unknown model",
    path: "/v1beta/models/gemini-9-ultra:generateContent",
    body: JSON.stringify(ok),
    status: 404,
    message: /not served/,
  },
  {
    name: "unsupported method",
    path: "/v1beta/models/gemini-2.5-flash:embedContent",
    body: JSON.stringify(ok),
    status: 404,
    message: /not supported/,
  },
  { name: "no method", path: "/v1beta/models/gemini-2.5-flash", body: JSON.stringify(ok), status: 404 },
  {
    name: "encoded path traversal",
    path: "/v1beta/models/..%2F..%2Fadmin:generateContent",
    body: JSON.stringify(ok),
    status: 404,
  },
  {
    name: "dot-dot segments",
    path: "/v1beta/models/../../v1/admin:generateContent",
    body: JSON.stringify(ok),
    status: 404,
  },
  {
    name: "broken percent-encoding",
    path: "/v1beta/models/%E0%A4%A:generateContent",
    body: JSON.stringify(ok),
    status: 400,
  },
  {
    name: "unknown API version",
    path: "/v2/models/gemini-2.5-flash:generateContent",
    body: JSON.stringify(ok),
    status: 404,
  },
  {
    name: "Vertex path on a Developer version",
    path: VERTEX.replace("v1beta1", "v1beta"),
    body: JSON.stringify(ok),
    status: 404,
  },
  { name: "GET on a model path", method: "GET", path: GEN, status: 405 },
  {
    name: "POST to a Vertex path with an extra segment",
    path: VERTEX.replace("/models/", "/models/x/"),
    body: JSON.stringify(ok),
    status: 404,
  },
  { name: "unknown path", path: "/admin/secrets", body: "{}", status: 404 },
  {
    name: "countTokens without contents",
    path: "/v1beta/models/gemini-2.5-flash:countTokens",
    body: "{}",
    status: 400,
    message: /contents/,
  },
  {
    name: "stream with a bad body",
    path: "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
    body: "{",
    status: 400,
  },
];

describe("bad input gets a 4xx Gemini error envelope", () => {
  it("has at least 20 cases", () => expect(cases.length).toBeGreaterThanOrEqual(20));

  it.each(cases)("$name → $status", async (c) => {
    stack.emulator.reset();
    const headers: Record<string, string> = { "content-type": "application/json", ...c.headers };
    if (c.auth !== false) headers["x-goog-api-key"] = stack.keys.acme;
    const res = await rawRequest(stack.gateway.url, { method: c.method, path: c.path ?? GEN, headers, body: c.body });
    expect(res.status).toBe(c.status);
    expect(res.headers["content-type"]).toContain("application/json");
    expect(res.headers["x-request-id"]).toBeTruthy();
    const body = JSON.parse(res.text) as { error: { code: number; message: string; status: string } };
    expect(body.error.code).toBe(c.status);
    expect(body.error.status).toMatch(/^[A-Z_]+$/);
    expect(body.error.message).not.toMatch(/\n\s+at /); // no stack traces
    if (c.message) expect(body.error.message).toMatch(c.message);
    expect(stack.emulator.stats().requests.total).toBe(0);
  });

  it("a __proto__ key is forwarded as data and pollutes nothing", async () => {
    const res = await rawRequest(stack.gateway.url, {
      path: GEN,
      headers: { "content-type": "application/json", "x-goog-api-key": stack.keys.acme },
      body: '{"__proto__":{"polluted":true},"contents":[{"parts":[{"text":"hi"}]}],"labels":{"a":"b"}}',
    });
    expect(res.status).toBe(200);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("is still up and ready after all of it", async () => {
    const res = await fetch(`${stack.gateway.url}/readyz`);
    expect(res.status).toBe(200);
    expect(stack.logs.some((l) => /"severity":"ERROR"/.test(l))).toBe(false);
  });
});
