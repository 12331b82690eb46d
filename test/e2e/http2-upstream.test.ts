/**
 * GATEWAY_UPSTREAM_PROTOCOL=http2 against the emulator (h2c on its HTTP/1.1 port): the official SDK through the
 * gateway, streams read to the end and cut by the client, errors and timeouts as with HTTP/1.1 — and the emulator's
 * per-protocol stats proving the calls came in as HTTP/2 streams sharing few connections.
 */
import { ApiError } from "@google/genai";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { developerClient, startStack, vertexClient, type Stack } from "../support/stack.js";

const MODEL = "gemini-2.5-flash";
const H2 = { GATEWAY_UPSTREAM_PROTOCOL: "http2" };
const streamPath = `/v1beta/models/${MODEL}:streamGenerateContent`;
const generatePath = `/v1beta/models/${MODEL}:generateContent`;
const body = JSON.stringify({ contents: [{ role: "user", parts: [{ text: "go" }] }] });

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: H2 });
});
afterAll(async () => {
  await stack.close();
});
afterEach(() => {
  stack.emulator.configure({ errors: null, latency: null, streamBreakAfterChunks: null, responseTokens: 48 });
  stack.emulator.reset();
});

const post = (s: Stack, path: string, signal?: AbortSignal) =>
  fetch(`${s.gateway.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-goog-api-key": s.keys.acme },
    body,
    signal,
  });

type AuditLine = { httpRequest?: { status: number }; upstream?: { outcome: string }; error?: { status: string } };
async function until(check: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

describe("GATEWAY_UPSTREAM_PROTOCOL=http2 against the emulator", () => {
  it("a unary generateContent through the official SDK (both modes) goes upstream as HTTP/2", async () => {
    for (const ai of [
      vertexClient(stack.gateway.url, stack.keys.acme),
      developerClient(stack.gateway.url, stack.keys.acme),
    ]) {
      const res = await ai.models.generateContent({ model: MODEL, contents: "Hello over h2" });
      expect(res.text?.length).toBeGreaterThan(0);
      expect(res.candidates?.[0]?.finishReason).toBe("STOP");
    }
    const { protocols } = stack.emulator.stats();
    expect(protocols.h2.requests).toBe(2);
    expect(protocols["http/1.1"].requests).toBe(0);
  });

  it("a stream read to the end arrives whole, every chunk, through the SDK", async () => {
    stack.emulator.configure({ latency: { perChunkMs: 5 } });
    const ai = developerClient(stack.gateway.url, stack.keys.acme);
    let text = "";
    let chunks = 0;
    let finish: string | undefined;
    for await (const chunk of await ai.models.generateContentStream({ model: MODEL, contents: "Count to five." })) {
      chunks++;
      text += chunk.text ?? "";
      finish = chunk.candidates?.[0]?.finishReason ?? finish;
    }
    expect(chunks).toBeGreaterThan(3);
    expect(text.length).toBeGreaterThan(0);
    expect(finish).toBe("STOP");
    const stats = stack.emulator.stats();
    expect(stats.protocols.h2.requests).toBe(1);
    expect(stats.requests.byStatus).toEqual({ "200": 1 });
    // Every token the emulator wrote reached the client: the output it booked is what a full answer books.
    expect(stats.tokens.output).toBeGreaterThan(0);
  });

  it("a client that leaves mid-stream resets its upstream stream, not the shared connection; the gateway records 499", async () => {
    // 10 chunks 100 ms apart: about a second per stream.
    stack.emulator.configure({ latency: { perChunkMs: 100 }, responseTokens: 80, chunkTokens: 8 });
    const connectionsBefore = stack.emulator.stats().protocols.h2.connections;
    // A stream on the same connection that must not be cut with the other one.
    const bystander = post(stack, `${streamPath}?alt=sse`).then((r) => r.text());
    const controller = new AbortController();
    const res = await post(stack, `${streamPath}?alt=sse`, controller.signal);
    const reader = res.body!.getReader();
    await reader.read();
    await until(() => stack.emulator.stats().concurrency === 2, 500);
    expect(stack.emulator.stats().concurrency).toBe(2);
    controller.abort();
    // The cut stream ends upstream at once, well before its second; the bystander goes on.
    await until(() => stack.emulator.stats().concurrency === 1, 500);
    expect(stack.emulator.stats().concurrency).toBe(1);
    const events = (await bystander).split("\r\n\r\n").filter(Boolean);
    expect(events).toHaveLength(10);
    expect(events.at(-1)).toContain('"finishReason":"STOP"');
    expect(events.join("")).not.toContain('"error"');
    await until(() => stack.logs.some((l) => l.includes('"status":499')), 500);
    const cut = stack.logs.map((l) => JSON.parse(l) as AuditLine).find((l) => l.httpRequest?.status === 499);
    expect(cut).toMatchObject({ upstream: { outcome: "cancelled" }, error: { status: "CANCELLED" } });
    // Both streams and a call after the reset used the connection that was already open.
    expect((await post(stack, generatePath)).status).toBe(200);
    const stats = stack.emulator.stats();
    expect(stats.protocols.h2.requests).toBe(3);
    expect(stats.protocols.h2.connections).toBe(connectionsBefore);
  });

  it.each([
    [429, "RESOURCE_EXHAUSTED"],
    [503, "UNAVAILABLE"],
  ])("an upstream %i reaches the SDK with the same code and status", async (code, status) => {
    stack.emulator.configure({ errors: { [String(code)]: 1 } });
    const err = await developerClient(stack.gateway.url, stack.keys.acme)
      .models.generateContent({ model: MODEL, contents: "fail" })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(code);
    expect((err as ApiError).message).toContain(status);
    expect(stack.emulator.stats().protocols.h2.requests).toBe(1);
  });

  it("an upstream stream cut mid-answer ends the client's SSE with an error event, as over HTTP/1.1", async () => {
    stack.emulator.configure({ streamBreakAfterChunks: 1 });
    const res = await post(stack, `${streamPath}?alt=sse`);
    expect(res.status).toBe(200);
    const events = (await res.text()).split("\r\n\r\n").filter(Boolean);
    expect(events).toHaveLength(2);
    expect(events[0]).toContain('"candidates"');
    expect(JSON.parse(events[1]!.slice(6))).toMatchObject({ error: { code: 503, status: "UNAVAILABLE" } });
  });
});

describe("HTTP/2 connections are shared", () => {
  let fresh: Stack;
  beforeAll(async () => {
    // Each call held 3 s upstream, so all 150 are in flight together even on a busy 2-core machine.
    fresh = await startStack({ env: H2, emulator: { latency: { firstTokenMs: 3000 } } });
  });
  afterAll(async () => {
    await fresh.close();
  });

  it("150 concurrent calls go as 150 streams over 2 connections (100 streams each)", async () => {
    const n = 150;
    const statuses = await Promise.all(
      Array.from({ length: n }, () => post(fresh, generatePath).then((r) => r.status)),
    );
    expect(statuses).toEqual(Array.from({ length: n }, () => 200));
    const stats = fresh.emulator.stats();
    expect(stats.peakConcurrency).toBe(n); // all in flight at once…
    expect(stats.protocols.h2.requests).toBe(n);
    expect(stats.protocols.h2.connections).toBe(2); // …on two connections
    expect(stats.protocols["http/1.1"]).toEqual({ requests: 0, connections: 0 });
  });
});

describe("failures look the same over HTTP/1.1 and HTTP/2", () => {
  const outcome = async (env: Record<string, string>, emulator: Parameters<typeof startStack>[0]) => {
    const s = await startStack({ ...emulator, env: { ...env, ...emulator?.env } });
    try {
      const res = await post(s, generatePath);
      return { status: res.status, error: ((await res.json()) as { error: { status: string } }).error.status };
    } finally {
      await s.close();
    }
  };

  it("an upstream slower than GATEWAY_UPSTREAM_TIMEOUT_MS: 504 DEADLINE_EXCEEDED", async () => {
    const slow = { env: { GATEWAY_UPSTREAM_TIMEOUT_MS: "1000" }, emulator: { latency: { firstTokenMs: 3000 } } };
    const h1 = await outcome({ GATEWAY_UPSTREAM_PROTOCOL: "http1" }, slow);
    const h2 = await outcome(H2, slow);
    expect(h1).toEqual({ status: 504, error: "DEADLINE_EXCEEDED" });
    expect(h2).toEqual(h1);
  });

  it("a stream pausing longer than GATEWAY_UPSTREAM_TIMEOUT_MS between chunks ends with a DEADLINE_EXCEEDED event", async () => {
    const lastEvent = async (protocol: string) => {
      const s = await startStack({
        env: { GATEWAY_UPSTREAM_PROTOCOL: protocol, GATEWAY_UPSTREAM_TIMEOUT_MS: "1000" },
        emulator: { latency: { perChunkMs: 2500 } },
      });
      try {
        const res = await post(s, `${streamPath}?alt=sse`);
        const events = (await res.text()).split("\r\n\r\n").filter(Boolean);
        return { status: res.status, events: events.length, last: JSON.parse(events.at(-1)!.slice(6)) as unknown };
      } finally {
        await s.close();
      }
    };
    const h1 = await lastEvent("http1");
    const h2 = await lastEvent("http2");
    expect(h1).toMatchObject({ status: 200, events: 2, last: { error: { code: 504, status: "DEADLINE_EXCEEDED" } } });
    expect(h2).toEqual(h1);
  });

  it("an upstream nobody listens on: 503 UNAVAILABLE", async () => {
    // A port that was just free: connection refused.
    const { createServer } = await import("node:net");
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, "127.0.0.1", () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const nowhere = { env: { GATEWAY_VERTEX_BASE_URL: `http://127.0.0.1:${port}` } };
    const h1 = await outcome({ GATEWAY_UPSTREAM_PROTOCOL: "http1" }, nowhere);
    const h2 = await outcome(H2, nowhere);
    expect(h1).toEqual({ status: 503, error: "UNAVAILABLE" });
    expect(h2).toEqual(h1);
  });
});
