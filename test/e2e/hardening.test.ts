/**
 * Hardening, over real HTTP (gateway → emulator): one tenant's deadlines cannot open the circuit every tenant shares,
 * a zero deadline costs no upstream call, waits for an upstream connection are visible and bounded, slow or broken
 * HTTP gets Google's envelope, a key is sent once, and errors are audited with their size.
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { delta, parsePrometheus, sampleKey } from "../support/prometheus.js";
import { postJson, startStack, type Stack } from "../support/stack.js";

const path = "/v1beta/models/gemini-2.5-flash:generateContent";
const streamPath = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";
const body = { contents: [{ role: "user", parts: [{ text: "Say hello." }] }] };

describe("one tenant's short deadlines", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      tenants: [{ id: "tenant-b", models: ["*"] }],
      // Each answer takes 150 ms: a 50 ms deadline always cuts the attempt.
      emulator: { latency: { firstTokenMs: 150 } },
      // The production defaults: five failures in a row open the circuit for every tenant.
      routing: { retry: { maxAttempts: 1 }, breaker: { consecutiveFailures: 5, halfOpenAfterMs: 30_000 } },
    });
  });
  afterAll(() => stack.close());

  it("leave every other tenant's calls answered while tenant B floods zero and 50 ms deadlines", async () => {
    const url = `${stack.gateway.url}${path}`;
    const flood = Array.from({ length: 60 }, (_, i) =>
      postJson(url, body, { "x-goog-api-key": stack.keys["tenant-b"]!, "x-server-timeout": i % 2 ? "0" : "0.05" }),
    );
    const a: Promise<{ status: number }>[] = [];
    for (let i = 0; i < 40; i++) {
      a.push(postJson(url, body, { "x-goog-api-key": stack.keys.acme }));
      await new Promise((r) => setTimeout(r, 10));
    }
    const [bs, as] = await Promise.all([Promise.all(flood), Promise.all(a)]);
    expect(bs.map((r) => r.status)).toEqual(Array(60).fill(504));
    expect(as.map((r) => r.status)).toEqual(Array(40).fill(200));
    const breakerLog = stack.logs.filter((l) => l.includes("circuit open"));
    expect(breakerLog).toEqual([]);
  });

  it("answers a zero deadline 504 DEADLINE_EXCEEDED without calling the upstream, counted as the client's (4xx)", async () => {
    stack.emulator.reset();
    const before = parsePrometheus(await stack.gateway.metrics.registry.metrics());
    const r = await postJson(`${stack.gateway.url}${path}`, body, {
      "x-goog-api-key": stack.keys["tenant-b"]!,
      "x-server-timeout": "0",
    });
    expect(r.status).toBe(504);
    expect(r.json).toMatchObject({ error: { code: 504, status: "DEADLINE_EXCEEDED" } });
    expect((r.json as { error: { message: string } }).error.message).toContain("X-Server-Timeout");
    expect(stack.emulator.stats().requests.total).toBe(0);
    const after = parsePrometheus(await stack.gateway.metrics.registry.metrics());
    const labels = (code_class: string) => ({
      surface: "gemini",
      model: "gemini-2.5-flash",
      tenant: "tenant-b",
      code_class,
    });
    expect(delta(before, after, "gateway_requests_total", labels("4xx"))).toBe(1);
    expect(delta(before, after, "gateway_requests_total", labels("5xx"))).toBe(0);
    const audit = stack.logs.map((l) => JSON.parse(l) as Record<string, unknown>).at(-1)!;
    expect(audit).toMatchObject({ severity: "WARNING", error: { status: "DEADLINE_EXCEEDED", kind: "deadline" } });
    expect(audit.upstream).toBeUndefined(); // no upstream was called
  });
});

describe("waiting for an upstream connection", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      env: { GATEWAY_UPSTREAM_CONNECTIONS: "2" },
      // Streams of 6 chunks, 200 ms apart: each holds its connection for about 1.2 s.
      emulator: { responseTokens: 48, chunkTokens: 8, latency: { perChunkMs: 200 } },
    });
  });
  afterAll(() => stack.close());

  it("is visible in metrics, bounded by the call's deadline, and answered 503 + Retry-After", async () => {
    const headers = { "content-type": "application/json", "x-goog-api-key": stack.keys.acme };
    const streams = [0, 1].map(() =>
      fetch(`${stack.gateway.url}${streamPath}`, { method: "POST", headers, body: JSON.stringify(body) }),
    );
    const open = await Promise.all(streams);
    expect(open.map((r) => r.status)).toEqual([200, 200]);
    const waiting = postJson(`${stack.gateway.url}${path}`, body, { ...headers, "x-server-timeout": "0.4" });
    await new Promise((r) => setTimeout(r, 150));
    const during = parsePrometheus(await stack.gateway.metrics.registry.metrics());
    const gauge = (state: string) =>
      during.get(sampleKey("gateway_upstream_connections", { upstream: "emulator/us-central1", state }));
    expect([gauge("in_use"), gauge("waiting"), gauge("limit")]).toEqual([2, 1, 2]);
    const refused = await waiting;
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(refused.json).toMatchObject({ error: { status: "UNAVAILABLE" } });
    const after = parsePrometheus(await stack.gateway.metrics.registry.metrics());
    expect(after.get(sampleKey("gateway_upstream_saturated_total", { upstream: "emulator/us-central1" }))).toBe(1);
    // The streams are unaffected, and once they end their connections serve the next call.
    const texts = await Promise.all(open.map((r) => r.text()));
    for (const t of texts) expect(t).toContain('"finishReason":"STOP"');
    expect((await postJson(`${stack.gateway.url}${path}`, body, headers)).status).toBe(200);
    expect(stack.logs.filter((l) => l.includes("circuit open"))).toEqual([]);
  });
});

describe("HTTP the gateway refuses", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { GATEWAY_HEADERS_TIMEOUT_MS: "1000" } });
  });
  afterAll(() => stack.close());

  /** Sends raw bytes; resolves with everything received once the server closes the connection. */
  function raw(bytes: string): Promise<{ text: string; closedAfterMs: number }> {
    const { port } = stack.gateway;
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const socket = connect(port, "127.0.0.1", () => socket.write(bytes));
      let text = "";
      socket.on("data", (d) => (text += d.toString()));
      socket.on("close", () => resolve({ text, closedAfterMs: Date.now() - started }));
      socket.on("error", reject);
    });
  }

  it("answers headers that never finish with 408 in Google's envelope, and closes the connection", async () => {
    const r = await raw(`POST ${path} HTTP/1.1\r\nHost: x\r\nx-goog-api-key: ${stack.keys.acme}\r\n`);
    expect(r.text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(JSON.parse(r.text.slice(r.text.indexOf("\r\n\r\n") + 4))).toEqual({
      error: { code: 408, message: "The request's headers did not arrive in time.", status: "DEADLINE_EXCEEDED" },
    });
  });

  it("answers unparseable HTTP with 400 in Google's envelope", async () => {
    const r = await raw("HELLO WORLD\r\n\r\n");
    expect(r.text).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(r.text).toContain('"status":"INVALID_ARGUMENT"');
  });

  it("refuses a request with two Authorization headers, or two x-goog-api-key headers", async () => {
    for (const name of ["authorization", "x-goog-api-key"]) {
      const value = name === "authorization" ? `Bearer ${stack.keys.acme}` : stack.keys.acme;
      const r = await raw(
        `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n` +
          `${name}: ${value}\r\n${name}: ${name === "authorization" ? "Bearer other" : "other"}\r\n` +
          `Content-Length: ${JSON.stringify(body).length}\r\n\r\n${JSON.stringify(body)}`,
      );
      expect(r.text).toMatch(/^HTTP\/1\.1 400 /);
      expect(r.text).toContain("send the gateway key in one header, once");
    }
  });

  it("audits an error the gateway wrote with the size of its body", async () => {
    const r = await postJson(`${stack.gateway.url}${path}`, body, { "x-goog-api-key": "not-a-key" });
    expect(r.status).toBe(401);
    const audit = stack.logs.map((l) => JSON.parse(l) as { httpRequest?: { status: number; responseSize: string } });
    const record = audit.filter((a) => a.httpRequest?.status === 401).at(-1)!;
    expect(Number(record.httpRequest!.responseSize)).toBe(Buffer.byteLength(r.text));
  });
});
