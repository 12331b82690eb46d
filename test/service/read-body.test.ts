/**
 * Reading a request body under its limits (service/src/pipeline/read-body.ts), on fake timers: the whole body
 * across chunks; 408 at the body timeout, not before; the parse budget refusing mid-body; what is left of a refused
 * body discarded, and the socket destroyed once more than the size limit would allow arrives; a client gone mid-body.
 * The same over a real socket is in test/e2e/body-limits.test.ts.
 */
import type { IncomingMessage } from "node:http";
import { PassThrough } from "node:stream";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { readBody, type BodyLimits } from "../../service/src/http/read-body.js";
import { GatewayError } from "../../service/src/wire/errors.js";

const LIMITS: BodyLimits = { maxBytes: 1024, timeoutMs: 5_000, maxJsonValues: 50 };

/** A request stream with the headers and socket readBody uses. */
function fakeRequest(headers: Record<string, string> = {}) {
  const stream = new PassThrough();
  const socket = { destroy: vi.fn() };
  const req = Object.assign(stream, { headers: { "content-type": "application/json", ...headers }, socket });
  return { req: req as unknown as IncomingMessage, stream, socket };
}

async function rejection(p: Promise<unknown>): Promise<GatewayError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    return err as GatewayError;
  }
  throw new Error("expected a rejection");
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("readBody", () => {
  it("resolves the whole body, chunk by chunk, and leaves no timer behind", async () => {
    const { req, stream } = fakeRequest();
    const body = readBody(req, LIMITS);
    stream.write('{"contents":[{"parts":');
    stream.end('[{"text":"hi"}]}]}');
    expect((await body).toString()).toBe('{"contents":[{"parts":[{"text":"hi"}]}]}');
    expect(vi.getTimerCount()).toBe(0);
  });

  it("answers 408 DEADLINE_EXCEEDED with connection: close when the body stops half way, at the timeout", async () => {
    const { req, stream } = fakeRequest({ "content-length": "40" });
    const body = readBody(req, LIMITS);
    let settled = false;
    body.then(
      () => (settled = true),
      () => (settled = true),
    );
    stream.write('{"contents":[{"pa');
    await vi.advanceTimersByTimeAsync(LIMITS.timeoutMs - 1);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const err = await rejection(body);
    expect(err).toMatchObject({ httpCode: 408, status: "DEADLINE_EXCEEDED", headers: { connection: "close" } });
    expect(err.message).toMatch(/not received in full within 5000 ms/);
  });

  it("refuses too many JSON values as they arrive, then drops the rest up to the size limit", async () => {
    const { req, stream, socket } = fakeRequest();
    const body = readBody(req, LIMITS);
    stream.write(`[${"0,".repeat(60)}`);
    const err = await rejection(body);
    expect(err).toMatchObject({ httpCode: 413 });
    expect(err.message).toMatch(/limit of 50\b/);
    // The client is still sending: read and dropped while within the size limit, then the socket is closed.
    stream.write(Buffer.alloc(500, 0x30));
    await vi.advanceTimersByTimeAsync(0);
    expect(socket.destroy).not.toHaveBeenCalled();
    stream.write(Buffer.alloc(600, 0x30));
    await vi.advanceTimersByTimeAsync(0);
    expect(socket.destroy).toHaveBeenCalled();
  });

  it("refuses nesting deeper than 100 with a 400, and bytes over the limit with a 413", async () => {
    const deep = fakeRequest();
    const deepBody = readBody(deep.req, { ...LIMITS, maxJsonValues: 1000 });
    deep.stream.write("[".repeat(101));
    expect(await rejection(deepBody)).toMatchObject({ httpCode: 400, status: "INVALID_ARGUMENT" });

    const big = fakeRequest();
    const bigBody = readBody(big.req, LIMITS);
    big.stream.write(`"${"a".repeat(1100)}"`);
    expect((await rejection(bigBody)).message).toMatch(/exceeds the limit: 1024 bytes/);
    // A declared length over the limit is refused before a byte is read.
    const declared = fakeRequest({ "content-length": "2048" });
    expect(await rejection(readBody(declared.req, LIMITS))).toMatchObject({ httpCode: 413 });
  });

  it("answers 499 when the client goes away mid-body", async () => {
    const { req, stream } = fakeRequest();
    const body = readBody(req, LIMITS);
    stream.write('{"contents"');
    stream.destroy();
    expect(await rejection(body)).toMatchObject({ httpCode: 499, status: "CANCELLED" });
    expect(vi.getTimerCount()).toBe(0);
  });
});
