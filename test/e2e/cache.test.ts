/**
 * The response cache and request coalescing from outside: deterministic requests repeated, tenants kept apart, the
 * client's cache headers, streams replayed from a cached answer, identical concurrent calls sharing one upstream
 * call, and stale answers when every upstream fails.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { sha256Hex } from "../../service/src/config/tenants.js";
import { postJson, startStack, vertexClient, type Stack } from "../support/stack.js";

const ADMIN_KEY = "admin-key-for-cache-tests";
const path = "/v1beta/models/gemini-2.5-flash:generateContent";
const streamPath = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";
const deterministic = (text: string) => ({
  contents: [{ role: "user", parts: [{ text }] }],
  generationConfig: { temperature: 0 },
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    env: { GATEWAY_ADMIN_KEY_SHA256: sha256Hex(ADMIN_KEY), GATEWAY_METRICS_PORT: "0" },
    tenants: [
      { id: "alpha", models: ["*"] },
      { id: "beta", models: ["*"] },
      { id: "fresh", models: ["*"], cache: { ttlSeconds: 1, staleSeconds: 60 } },
      { id: "strict", models: ["*"], cache: { ttlSeconds: 1 } },
    ],
  });
});
afterAll(() => stack?.close());
beforeEach(() => {
  stack.emulator.configure({ errors: null, latency: null });
  stack.emulator.reset();
});

const as = (tenant: string, extra: Record<string, string> = {}) => ({
  "x-goog-api-key": stack.keys[tenant]!,
  ...extra,
});

describe("response cache", () => {
  it("answers a repeated deterministic request from the cache, byte for byte, for free", async () => {
    const first = await postJson(stack.gateway.url + path, deterministic("cache me"), as("alpha"));
    const second = await postJson(stack.gateway.url + path, deterministic("cache me"), as("alpha"));
    expect(first.headers.get("x-gateway-cache")).toBe("miss");
    expect(second.headers.get("x-gateway-cache")).toBe("hit");
    expect(second.text).toBe(first.text);
    expect(stack.emulator.stats().requests.total).toBe(1);
    await sleep(50);
    const usage = (await (
      await fetch(`${stack.gateway.url}/admin/usage`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })
    ).json()) as {
      tenants: Record<string, { total: { requests: number; cacheHits: number; savedUsd: number; usd: number } }>;
    };
    const alpha = usage.tenants.alpha!.total;
    expect(alpha).toMatchObject({ requests: 1, cacheHits: 1 });
    expect(alpha.savedUsd).toBe(alpha.usd); // the hit saved exactly what the miss cost
  });

  it("never shares an entry between tenants", async () => {
    await postJson(stack.gateway.url + path, deterministic("same words"), as("alpha"));
    const other = await postJson(stack.gateway.url + path, deterministic("same words"), as("beta"));
    expect(other.headers.get("x-gateway-cache")).toBe("miss");
    expect(stack.emulator.stats().requests.total).toBe(2);
  });

  it("honours x-gateway-cache and Cache-Control: no-store, and caches only what is deterministic unless asked", async () => {
    const sampled = {
      contents: [{ role: "user", parts: [{ text: "sampled" }] }],
      generationConfig: { temperature: 0.7 },
    };
    expect((await postJson(stack.gateway.url + path, sampled, as("alpha"))).headers.get("x-gateway-cache")).toBe(
      "bypass",
    );
    const asked = await postJson(stack.gateway.url + path, sampled, as("alpha", { "x-gateway-cache": "use" }));
    expect(asked.headers.get("x-gateway-cache")).toBe("miss");
    const again = await postJson(stack.gateway.url + path, sampled, as("alpha", { "x-gateway-cache": "use" }));
    expect(again.headers.get("x-gateway-cache")).toBe("hit");
    const det = deterministic("no store please");
    await postJson(stack.gateway.url + path, det, as("alpha"));
    const noStore = await postJson(stack.gateway.url + path, det, as("alpha", { "cache-control": "no-store" }));
    expect(noStore.headers.get("x-gateway-cache")).toBe("bypass");
    const bypass = await postJson(stack.gateway.url + path, det, as("alpha", { "x-gateway-cache": "bypass" }));
    expect(bypass.headers.get("x-gateway-cache")).toBe("bypass");
    const bad = await postJson(stack.gateway.url + path, det, as("alpha", { "x-gateway-cache": "maybe" }));
    expect(bad.status).toBe(400);
    expect(stack.emulator.stats().requests.total).toBe(5); // sampled, asked, det, noStore, bypass
  });

  it("replays a cached answer as a stream the SDK reads like the original", async () => {
    const client = vertexClient(stack.gateway.url, stack.keys.alpha!);
    const request = { model: "gemini-2.5-flash", contents: "stream me", config: { temperature: 0 } };
    const unary = await client.models.generateContent(request);
    let text = "";
    let usage: number | undefined;
    for await (const chunk of await client.models.generateContentStream(request)) {
      text += chunk.text ?? "";
      usage = chunk.usageMetadata?.totalTokenCount ?? usage;
    }
    expect(text).toBe(unary.text);
    expect(usage).toBe(unary.usageMetadata?.totalTokenCount);
    expect(stack.emulator.stats().requests.total).toBe(1);
    const raw = await fetch(stack.gateway.url + streamPath, {
      method: "POST",
      headers: { "content-type": "application/json", ...as("alpha") },
      body: JSON.stringify(deterministic("stream me")),
    });
    expect(raw.headers.get("x-gateway-cache")).toBe("hit");
    expect(raw.headers.get("content-type")).toBe("text/event-stream");
  });

  it("coalesces 50 identical concurrent requests into one upstream call", async () => {
    stack.emulator.configure({ latency: { firstTokenMs: 200 } });
    const results = await Promise.all(
      Array.from({ length: 50 }, () => postJson(stack.gateway.url + path, deterministic("all at once"), as("alpha"))),
    );
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(new Set(results.map((r) => r.text)).size).toBe(1);
    expect(stack.emulator.stats().requests.total).toBe(1);
    expect(results.filter((r) => r.headers.get("x-gateway-cache") === "miss")).toHaveLength(1);
  });

  it("serves an expired answer marked stale when every upstream fails, if the tenant allows it", async () => {
    const fresh = await postJson(stack.gateway.url + path, deterministic("keep me"), as("fresh"));
    await postJson(stack.gateway.url + path, deterministic("keep me"), as("strict"));
    await sleep(1100); // past the 1 s TTL of both tenants
    stack.emulator.configure({ errors: { "503": 1 } });
    const stale = await postJson(stack.gateway.url + path, deterministic("keep me"), as("fresh"));
    expect(stale.status).toBe(200);
    expect(stale.headers.get("x-gateway-cache")).toBe("stale");
    expect(stale.text).toBe(fresh.text);
    const strict = await postJson(stack.gateway.url + path, deterministic("keep me"), as("strict"));
    expect(strict.status).toBe(503);
  });
});
