/**
 * An in-process stack for tests: a real emulator HTTP server, a real gateway HTTP server calling it over HTTP, two
 * tenants with fresh keys, and the gateway's log lines captured for assertions.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GoogleGenAI } from "@google/genai";
import { loadConfig } from "../../service/src/config/env.js";
import { newKey, parseTenants, sha256Hex, type TenantsFile } from "../../service/src/config/tenants.js";
import { startEmulator, type EmulatorSettingsPatch, type RunningEmulator } from "../../service/src/emulator/server.js";
import { startGateway, type GatewayParts, type RunningGateway } from "../../service/src/gateway.js";
import { createLogger } from "../../service/src/telemetry/logger.js";
import { staticToken } from "../../service/src/upstream/credentials.js";

export interface Stack {
  emulator: RunningEmulator;
  gateway: RunningGateway;
  /** acme may use every model; flash-only may use gemini-2.5-flash alone; plus a key per extra tenant, by id. */
  keys: { acme: string; flashOnly: string } & Record<string, string>;
  logs: string[];
  close(): Promise<void>;
}

type TenantEntry = TenantsFile["tenants"][number];

export interface StackOptions {
  env?: Record<string, string>;
  emulator?: EmulatorSettingsPatch;
  /** More tenants (their keys are generated: `keys[id]`). */
  tenants?: Omit<TenantEntry, "keySha256">[];
  spanProcessor?: GatewayParts["spanProcessor"];
  now?: GatewayParts["now"];
  budgetPushCerts?: GatewayParts["budgetPushCerts"];
  /**
   * Retry and breaker settings for the stack's one upstream (the emulator). Default: one attempt per call and a
   * breaker that never opens, so tests of relaying see every upstream answer as it is; routing through faults is
   * tested on its own (resilience.test.ts).
   */
  routing?: { retry?: Record<string, number>; breaker?: Record<string, number> };
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const emulator = await startEmulator({ port: 0, host: "127.0.0.1", settings: options.emulator });
  const keys: Stack["keys"] = { acme: newKey(), flashOnly: newKey() };
  const extra = (options.tenants ?? []).map((t) => {
    keys[t.id] = newKey();
    return { ...t, keySha256: sha256Hex(keys[t.id]!) };
  });
  const doc: TenantsFile = {
    tenants: [
      { id: "acme", keySha256: sha256Hex(keys.acme), models: ["*"], priority: "interactive" },
      { id: "flash-only", keySha256: sha256Hex(keys.flashOnly), models: ["gemini-2.5-flash"] },
      ...extra,
    ],
  };
  const upstreamsFile = join(mkdtempSync(join(tmpdir(), "ggw-stack-")), "upstreams.json");
  writeFileSync(
    upstreamsFile,
    JSON.stringify({
      upstreams: [
        {
          id: "emulator",
          provider: "vertex",
          region: "us-central1",
          baseUrl: options.env?.GATEWAY_VERTEX_BASE_URL ?? emulator.url,
        },
      ],
      retry: options.routing?.retry ?? { maxAttempts: 1 },
      breaker: options.routing?.breaker ?? { consecutiveFailures: 1000, window: 10_000, minimumCalls: 10_000 },
    }),
  );
  const config = loadConfig({
    PORT: "0",
    GATEWAY_HOST: "127.0.0.1",
    GATEWAY_UPSTREAM: "emulator",
    GATEWAY_VERTEX_BASE_URL: emulator.url,
    GATEWAY_UPSTREAMS_FILE: upstreamsFile,
    LOG_LEVEL: "info",
    ...options.env,
  });
  const logs: string[] = [];
  const logger = createLogger(config.logLevel, { write: (line: string) => void logs.push(line) });
  const gateway = await startGateway({
    config,
    tenants: parseTenants(doc, config.models),
    tokens: staticToken("emulator"),
    logger,
    spanProcessor: options.spanProcessor,
    now: options.now,
    budgetPushCerts: options.budgetPushCerts,
  });
  return {
    emulator,
    gateway,
    keys,
    logs,
    async close() {
      await gateway.shutdown();
      await emulator.close();
    },
  };
}

/** The official SDK in Vertex mode, its auth client handing the gateway key over as a bearer token. */
export function vertexClient(baseUrl: string, key: string): GoogleGenAI {
  return new GoogleGenAI({
    vertexai: true,
    project: "client-side-project",
    location: "us-central1",
    httpOptions: { baseUrl },
    googleAuthOptions: {
      authClient: { getRequestHeaders: async () => new Headers({ Authorization: `Bearer ${key}` }) } as never,
    },
  });
}

/** The official SDK in Gemini Developer API mode (key in x-goog-api-key). */
export function developerClient(baseUrl: string, key: string): GoogleGenAI {
  return new GoogleGenAI({ apiKey: key, httpOptions: { baseUrl } });
}

export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; text: string; json: unknown }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}
