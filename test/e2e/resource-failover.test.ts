/**
 * Failover and pinning: two upstreams (two emulators standing in for two Vertex regions), the model routed to both.
 * A call that uses a resource goes only to the upstream that holds it — while that one is up, and when it is down:
 * then the call fails with a 503 naming the resource and its upstream, and the other upstream never sees it. Calls
 * that use nothing still fail over.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../service/src/emulator/server.js";
import { postJson, startStack, type Stack } from "../support/stack.js";

const MODEL = "gemini-2.5-flash";
const LONG = "Kelp forests shelter otters, urchins and rockfish. ".repeat(180);
let us: RunningEmulator;
let eu: RunningEmulator;
let stack: Stack;

beforeAll(async () => {
  us = await startEmulator({ settings: { region: "us-central1" } });
  eu = await startEmulator({ settings: { region: "europe-west4" } });
  const file = join(mkdtempSync(join(tmpdir(), "ggw-pin-")), "upstreams.json");
  writeFileSync(
    file,
    JSON.stringify({
      upstreams: [
        { id: "us", provider: "vertex", region: "us-central1", baseUrl: us.url },
        { id: "eu", provider: "vertex", region: "europe-west4", baseUrl: eu.url },
      ],
      routes: { "*": ["us", "eu"] },
      retry: { maxAttempts: 2, baseDelayMs: 0, maxDelayMs: 0, budgetRatio: 1 },
      breaker: { consecutiveFailures: 1000, window: 10_000, minimumCalls: 10_000 },
    }),
  );
  stack = await startStack({ env: { GATEWAY_UPSTREAMS_FILE: file, GATEWAY_STORAGE_BASE_URL: us.url } });
});
afterAll(async () => {
  await stack.close();
  await us.close();
  await eu.close();
});

const dev = (path: string, body: unknown) =>
  postJson(`${stack.gateway.url}/v1beta/${path}`, body, { "x-goog-api-key": stack.keys.acme });

describe("calls that use a resource stay on its upstream", () => {
  it("pins to the cache's upstream while it is up, and fails clearly — never elsewhere — when it is down", async () => {
    const created = await dev("cachedContents", { model: `models/${MODEL}`, contents: [{ parts: [{ text: LONG }] }] });
    expect(created.status).toBe(200);
    expect(created.headers.get("x-gateway-upstream")).toBe(`emulator/us-central1/${MODEL}`);
    const name = (created.json as { name: string }).name;
    const interaction = await dev("interactions", { model: MODEL, input: "Hello." });
    const interactionId = (interaction.json as { id: string }).id;
    const use = { contents: [{ role: "user", parts: [{ text: "Who lives there?" }] }], cachedContent: name };

    const ok = await dev(`models/${MODEL}:generateContent`, use);
    expect(ok.status).toBe(200);
    expect(ok.headers.get("x-gateway-upstream")).toBe(`emulator/us-central1/${MODEL}`);

    await us.close(); // the cache's (and the interaction's) upstream goes away
    eu.reset();
    const down = await dev(`models/${MODEL}:generateContent`, use);
    expect(down.status).toBe(503);
    expect((down.json as { error: { status: string; message: string } }).error).toMatchObject({
      status: "UNAVAILABLE",
      message: expect.stringContaining(`${name} lives on upstream "us"`),
    });
    const continued = await dev("interactions", {
      model: MODEL,
      input: "Again.",
      previous_interaction_id: interactionId,
    });
    expect(continued.status).toBe(503);
    const read = await fetch(`${stack.gateway.url}/v1beta/${name}`, { headers: { "x-goog-api-key": stack.keys.acme } });
    expect(read.status).toBe(503);
    expect(eu.stats().requests.total).toBe(0); // nothing that uses the resource landed on the other upstream

    // A call that uses nothing still fails over.
    const plain = await dev(`models/${MODEL}:generateContent`, { contents: [{ parts: [{ text: "hi" }] }] });
    expect(plain.status).toBe(200);
    expect(plain.headers.get("x-gateway-upstream")).toBe(`emulator/europe-west4/${MODEL}`);
  });
});
