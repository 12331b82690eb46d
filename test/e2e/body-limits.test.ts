/**
 * Issue 12 from outside, through a real gateway over HTTP: bodies under the size limit built to blow up when parsed
 * (millions of tiny values, deep nesting, many strings or keys) are refused while they arrive with a 413/400 that
 * names the limit — the upstream never called, the gateway healthy after; and a client that sends half a body and
 * stops gets a 408 and its connection closed at the body timeout (a real socket). Time and memory under the same
 * attack are measured by `npm run bench:amplification` (docs/benchmarks.md), not asserted here.
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawRequest } from "../support/raw-http.js";
import { postJson, startStack, type Stack } from "../support/stack.js";

const BODY_TIMEOUT_MS = 300;
const GEN = "/v1beta/models/gemini-2.5-flash:generateContent";
const MiB = 1024 * 1024;

let stack: Stack;
beforeAll(async () => {
  // Default size (20 MiB) and value limits; only the body timeout is short, so the slow-body test is quick.
  stack = await startStack({ env: { GATEWAY_BODY_TIMEOUT_MS: String(BODY_TIMEOUT_MS) } });
});
afterAll(() => stack?.close());

/** `head` + `unit` repeated up to ~`size` bytes + `tail`. */
const fill = (head: string, unit: string, tail: string, size = 19 * MiB) =>
  head + unit.repeat(Math.floor((size - head.length - tail.length) / unit.length)) + tail;
const PROMPT = '{"contents":[{"parts":[{"text":"x"}]}]';

const amplification: { name: string; body: () => string; status: number; message: RegExp }[] = [
  {
    name: "the [[],[],…] filler",
    body: () => fill(`${PROMPT},"x":[`, "[],", "[]]}"),
    status: 413,
    message: /more JSON values than the gateway's limit of 100000/,
  },
  {
    name: "1.6 M tiny text parts",
    body: () => fill('{"contents":[{"parts":[', '{"text":"a"},', '{"text":"a"}]}]}'),
    status: 413,
    message: /limit of 100000/,
  },
  {
    name: "deep nesting",
    body: () => `${PROMPT},"x":${"[".repeat(200_000)}${"]".repeat(200_000)}}`,
    status: 400,
    message: /nested deeper than 100 levels/,
  },
  { name: "many strings", body: () => fill(`${PROMPT},"x":[`, '"",', '""]}'), status: 413, message: /limit of/ },
  {
    name: "many object keys",
    body: () => fill(`${PROMPT},"x":{`, '"k":0,', '"k":0}}'),
    status: 413,
    message: /limit of/,
  },
];

describe("the parse budget", () => {
  it.each(amplification)("refuses $name while it arrives, naming the limit", async (c) => {
    stack.emulator.reset();
    const res = await rawRequest(stack.gateway.url, {
      path: GEN,
      headers: { "content-type": "application/json", "x-goog-api-key": stack.keys.acme },
      body: c.body(),
    });
    expect(res.status).toBe(c.status);
    const { error } = JSON.parse(res.text) as { error: { code: number; status: string; message: string } };
    expect(error).toMatchObject({ code: c.status, status: "INVALID_ARGUMENT" });
    // Only the scanner in read-body says this: the body was refused before validate parsed it.
    expect(error.message).toMatch(c.message);
    expect(stack.emulator.stats().requests.total).toBe(0);
  });

  it("still serves real requests, and is healthy after", async () => {
    const images = Array.from({ length: 300 }, () => ({ inlineData: { mimeType: "image/png", data: "iVBORw0KGgo=" } }));
    const chat = Array.from({ length: 2000 }, (_, i) => ({
      role: i % 2 ? "model" : "user",
      parts: [{ text: `turn ${i}` }],
    }));
    const res = await postJson(
      stack.gateway.url + GEN,
      { contents: [...chat, { role: "user", parts: [{ text: "describe" }, ...images] }] },
      { "x-goog-api-key": stack.keys.acme },
    );
    expect(res.status).toBe(200);
    expect((await fetch(`${stack.gateway.url}/healthz`)).status).toBe(200);
    expect(stack.logs.some((l) => /"severity":"ERROR"/.test(l))).toBe(false);
  });
});

describe("the body timeout", () => {
  it("answers a half-sent body with 408 and closes the connection", async () => {
    stack.emulator.reset();
    const body = JSON.stringify({ contents: [{ parts: [{ text: "half of me never arrives" }] }] });
    const url = new URL(stack.gateway.url);
    const socket = connect(Number(url.port), url.hostname);
    let received = "";
    socket.on("data", (d: Buffer) => (received += d.toString()));
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.write(
      `POST ${GEN} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\n` +
        `x-goog-api-key: ${stack.keys.acme}\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, body.length / 2)}`,
    );
    await closed; // the server closes it: the rest of the body is never read
    const [head, payload] = received.split("\r\n\r\n");
    expect(head).toMatch(/^HTTP\/1\.1 408 /);
    expect(head).toMatch(/\r\nconnection: close\r\n/i);
    const { error } = JSON.parse(payload!) as { error: { code: number; status: string; message: string } };
    expect(error).toEqual({
      code: 408,
      status: "DEADLINE_EXCEEDED",
      message: `The request body was not received in full within ${BODY_TIMEOUT_MS} ms.`,
    });
    expect(stack.emulator.stats().requests.total).toBe(0);
    expect((await fetch(`${stack.gateway.url}/healthz`)).status).toBe(200);
  });
});
