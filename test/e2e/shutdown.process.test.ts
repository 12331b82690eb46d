/**
 * Graceful shutdown of a real gateway process: SIGTERM arrives while a stream is in flight → the stream completes,
 * new connections are refused, and the process exits 0; a stream longer than the drain deadline ends with an error
 * event the client can see, and is audited as cut by shutdown.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newKey, sha256Hex } from "../../service/src/config/tenants.js";
import { startEmulator, type RunningEmulator } from "../../service/src/emulator/server.js";
import { spawnGateway, type GatewayProcess } from "../support/process.js";

let emulator: RunningEmulator;
let gateway: GatewayProcess | undefined;
let tenants: string;
const key = newKey();

beforeAll(async () => {
  // 10 chunks, 150 ms apart: the stream is in flight for about 1.5 s.
  emulator = await startEmulator({
    port: 0,
    settings: { responseTokens: 80, chunkTokens: 8, latency: { perChunkMs: 150 } },
  });
  const dir = mkdtempSync(join(tmpdir(), "ggw-"));
  tenants = join(dir, "tenants.json");
  writeFileSync(tenants, JSON.stringify({ tenants: [{ id: "acme", keySha256: sha256Hex(key), models: ["*"] }] }));
  gateway = await spawnGateway({
    GATEWAY_UPSTREAM: "emulator",
    GATEWAY_VERTEX_BASE_URL: emulator.url,
    GATEWAY_TENANTS_FILE: tenants,
    GATEWAY_SHUTDOWN_TIMEOUT_MS: "20000",
  });
});
afterAll(async () => {
  gateway?.child.kill("SIGKILL");
  await emulator.close();
});

describe("SIGTERM", () => {
  it("lets the in-flight stream finish, refuses new requests, and exits 0", async () => {
    const g = gateway!;
    const res = await fetch(`${g.url}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-goog-api-key": key },
      body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "a long story" }] }] }),
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);

    g.child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 300)); // let the signal land

    // A new connection is refused while the stream is still running.
    const refused = await fetch(`${g.url}/healthz`).then(
      (r) => `answered ${r.status}`,
      (e: Error) => `refused: ${(e.cause as { code?: string })?.code ?? e.message}`,
    );
    expect(refused).toMatch(/^refused: ECONNREFUSED/);

    let text = new TextDecoder().decode(first.value);
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += new TextDecoder().decode(r.value);
    const events = text
      .split("\r\n\r\n")
      .filter(Boolean)
      .map((e) => JSON.parse(e.slice("data: ".length)));
    expect(events.length).toBe(10);
    expect(events.at(-1).candidates[0].finishReason).toBe("STOP");
    expect(events.at(-1).usageMetadata.candidatesTokenCount).toBe(80);

    expect(await g.exited).toBe(0);
    expect(g.lines.some((l) => l.includes('"message":"stopped"'))).toBe(true);
  });
});

describe("SIGTERM with a stream longer than the drain deadline", () => {
  it("ends the stream with an UNAVAILABLE error event, audits it as cut by shutdown, and exits 0", async () => {
    const g = await spawnGateway({
      GATEWAY_UPSTREAM: "emulator",
      GATEWAY_VERTEX_BASE_URL: emulator.url,
      GATEWAY_TENANTS_FILE: tenants,
      GATEWAY_SHUTDOWN_TIMEOUT_MS: "400",
    });
    try {
      // 10 chunks 150 ms apart: about 1.5 s, well past the 400 ms drain deadline.
      const res = await fetch(`${g.url}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-goog-api-key": key },
        body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "a long story" }] }] }),
      });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      let text = new TextDecoder().decode((await reader.read()).value);
      g.child.kill("SIGTERM");
      for (let r = await reader.read(); !r.done; r = await reader.read()) text += new TextDecoder().decode(r.value);
      const events = text
        .split("\r\n\r\n")
        .filter(Boolean)
        .map((e) => JSON.parse(e.slice("data: ".length)) as Record<string, unknown>);
      expect(events.length).toBeGreaterThan(1);
      expect(events.length).toBeLessThan(11);
      expect(events.at(-1)).toMatchObject({ error: { code: 503, status: "UNAVAILABLE" } });
      expect(events.slice(0, -1).every((e) => "candidates" in e)).toBe(true);

      expect(await g.exited).toBe(0);
      const audit = g.lines
        .filter((l) => l.includes('"gateway-audit"'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({ cutBy: "shutdown", stream: true, usageEstimated: true });
      expect(String(audit[0]!.streamError)).toContain("shut down before this stream finished");
    } finally {
      g.child.kill("SIGKILL");
    }
  });
});
