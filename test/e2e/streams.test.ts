/**
 * Streams at their edges: an upstream that dies after the first event, and a client that goes away mid-stream.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../support/stack.js";

/** A Vertex stand-in that sends one SSE event and then cuts the connection. */
let dying: Server;
let dyingUrl: string;
let stack: Stack;
let viaDying: Stack;

beforeAll(async () => {
  dying = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(`data: {"candidates":[{"content":{"role":"model","parts":[{"text":"partial"}]},"index":0}]}\r\n\r\n`);
    setTimeout(() => res.socket?.destroy(), 50);
  });
  await new Promise<void>((r) => dying.listen(0, "127.0.0.1", r));
  dyingUrl = `http://127.0.0.1:${(dying.address() as AddressInfo).port}`;
  stack = await startStack({ emulator: { latency: { perChunkMs: 100 }, responseTokens: 200, chunkTokens: 8 } });
  viaDying = await startStack({ env: { GATEWAY_VERTEX_BASE_URL: dyingUrl } });
});
afterAll(async () => {
  await stack.close();
  await viaDying.close();
  dying.close();
});

const streamPath = "/v1beta/models/gemini-2.5-flash:streamGenerateContent";
const body = JSON.stringify({ contents: [{ role: "user", parts: [{ text: "go" }] }] });

describe("streams", () => {
  it("an upstream that breaks after the first event: SSE clients get the event, then an error event", async () => {
    const res = await fetch(`${viaDying.gateway.url}${streamPath}?alt=sse`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-goog-api-key": viaDying.keys.acme },
      body,
    });
    expect(res.status).toBe(200);
    const events = (await res.text()).split("\r\n\r\n").filter(Boolean);
    expect(events).toHaveLength(2);
    expect(JSON.parse(events[0]!.slice(6)).candidates[0].content.parts[0].text).toBe("partial");
    const error = JSON.parse(events[1]!.slice(6)) as { error: { code: number; status: string } };
    expect(error.error).toMatchObject({ code: 503, status: "UNAVAILABLE" });
  });

  it("the same in array form stays one valid JSON array ending in the error", async () => {
    const res = await fetch(`${viaDying.gateway.url}${streamPath}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-goog-api-key": viaDying.keys.acme },
      body,
    });
    const arr = (await res.json()) as Record<string, unknown>[];
    expect(arr).toHaveLength(2);
    expect(arr[1]).toHaveProperty("error.status", "UNAVAILABLE");
  });

  it("a client that goes away mid-stream stops the upstream stream too", async () => {
    stack.emulator.reset();
    const controller = new AbortController();
    const res = await fetch(`${stack.gateway.url}${streamPath}?alt=sse`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-goog-api-key": stack.keys.acme },
      body,
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    expect(stack.emulator.stats().concurrency).toBe(1);
    controller.abort();
    // 25 chunks at 100 ms would take 2.5 s; the upstream request must end long before that.
    const deadline = Date.now() + 1000;
    while (stack.emulator.stats().concurrency > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(stack.emulator.stats().concurrency).toBe(0);
    expect(stack.emulator.stats().tokens.output).toBeLessThan(200);
    await new Promise((r) => setTimeout(r, 50));
    const line = stack.logs
      .map(
        (l) =>
          JSON.parse(l) as {
            httpRequest?: { status: number; responseSize: string };
            upstream?: { outcome: string };
            error?: { status: string };
          },
      )
      .at(-1);
    expect(line?.httpRequest?.status).toBe(499);
    // The audit record still accounts for what the client received before it left.
    expect(Number(line?.httpRequest?.responseSize)).toBeGreaterThan(0);
    expect(line?.upstream?.outcome).toBe("cancelled");
    expect(line?.error?.status).toBe("CANCELLED");
  });
});
