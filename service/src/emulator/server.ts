/**
 * The Gemini emulator's HTTP server: a plain node:http server (no framework, so it is cheap enough to be the
 * benchmark baseline) serving both APIs' model calls (model-call.ts) and a small control plane under /__emulator/,
 * and on the same port HTTP/2 with prior knowledge (listener.ts) for gateways with GATEWAY_UPSTREAM_PROTOCOL=http2.
 * Tests, the gateway and benchmarks start it in-process with `startEmulator()`; `main.ts` runs it as a process.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttp2Server, Http2ServerResponse } from "node:http2";
import type { AddressInfo } from "node:net";
import { GatewayError, errors, toGatewayError } from "../wire/errors.js";
import { readBody, sendError, sendJson } from "./http.js";
import { dualProtocolListener } from "./listener.js";
import { handleModelCall } from "./model-call.js";
import { clearResources, handleResource } from "./resources.js";
import { mergeSettings, parseSettingsPatch, type EmulatorSettings, type EmulatorSettingsPatch } from "./settings.js";
import { applySettings, createState, type EmulatorState } from "./state.js";
import type { EmulatorStats, RecordedRequest } from "./stats.js";

export type { EmulatorSettings, EmulatorSettingsPatch } from "./settings.js";
export type { EmulatorStats, RecordedRequest } from "./stats.js";
export { settingsFromEnv, defaultSettings } from "./settings.js";

export interface RunningEmulator {
  url: string;
  port: number;
  settings(): EmulatorSettings;
  /** Same validation and deep merge as POST /__emulator/config; throws (a 400 GatewayError) on invalid input. */
  configure(patch: EmulatorSettingsPatch): EmulatorSettings;
  stats(): EmulatorStats;
  /** The last model calls (at most 200), oldest first. */
  requests(): RecordedRequest[];
  /** Zeroes stats, clears recorded requests and quota windows (caches, interactions, batch jobs and stored objects
   *  stay: `resetResources` clears them); settings are kept. */
  reset(): void;
  /** Forgets every cache, interaction, batch job and stored object. */
  resetResources(): void;
  /** Cloud Storage objects under a prefix (as the JSON API lists them), with their bytes. */
  objects(bucket: string, prefix?: string): { name: string; data: Buffer }[];
  /** Every version of a Secret Manager secret (`projects/{p}/secrets/{s}`), oldest first. */
  secretVersions(name: string): Buffer[];
  /** Closes the server and every open socket, also mid-stream. */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Default 0: an ephemeral port (read it back from `port` / `url`). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  settings?: EmulatorSettingsPatch;
}

/**
 * node:http2's compatibility response with node:http's `destroyed`, which the handlers check before writing: node's
 * typings declare it (from Writable) but the compatibility response does not have it at run time.
 */
class H2Response extends Http2ServerResponse {}
Object.defineProperty(H2Response.prototype, "destroyed", {
  get(this: Http2ServerResponse): boolean {
    return this.stream.destroyed;
  },
});

function configure(state: EmulatorState, patch: unknown): EmulatorSettings {
  applySettings(state, mergeSettings(state.settings, parseSettingsPatch(patch)));
  return structuredClone(state.settings);
}

function reset(state: EmulatorState): void {
  state.stats.reset();
  state.log.clear();
  state.rpm.clear();
  state.tpm.clear();
}

const CONTROL_ROUTES: Record<string, "GET" | "POST" | "GET|POST"> = {
  "/healthz": "GET",
  "/__emulator/config": "GET|POST",
  "/__emulator/stats": "GET",
  "/__emulator/reset": "POST",
  "/__emulator/requests": "GET",
};

/** The control plane: not counted in stats, not recorded. */
function handleControl(state: EmulatorState, req: IncomingMessage, res: ServerResponse, path: string): void {
  const allowed = CONTROL_ROUTES[path];
  if (!allowed) return sendError(state, res, errors.notFound(path));
  const method = req.method ?? "";
  if (!allowed.split("|").includes(method)) {
    const err = errors.methodNotAllowed(method);
    return sendError(
      state,
      res,
      new GatewayError(405, err.status, err.message, undefined, { allow: allowed.replace("|", ", ") }),
    );
  }
  readBody(state, req, res, (body) => {
    try {
      const json = (value: unknown) => sendJson(state, res, 200, JSON.stringify(value));
      switch (path) {
        case "/healthz":
          return json({ status: "ok" });
        case "/__emulator/stats":
          return json(state.stats.snapshot());
        case "/__emulator/requests":
          return json(state.log.list());
        case "/__emulator/reset":
          reset(state);
          return json(state.stats.snapshot());
        default:
          if (method === "GET") return json(state.settings);
          return json(configure(state, parseJson(body)));
      }
    } catch (err) {
      sendError(state, res, toGatewayError(err));
    }
  });
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch (e) {
    throw errors.invalidJson(e instanceof Error ? e.message : "The body is not JSON.");
  }
}

export async function startEmulator(options: StartOptions = {}): Promise<RunningEmulator> {
  const state = createState(options.settings === undefined ? undefined : parseSettingsPatch(options.settings));
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q === -1 ? url : url.slice(0, q);
    if (path === "/healthz" || path.startsWith("/__emulator/")) return handleControl(state, req, res, path);
    if (handleResource(state, req, res, path, q === -1 ? "" : url.slice(q + 1))) return;
    handleModelCall(state, req, res, path, q === -1 ? "" : url.slice(q + 1));
  };
  const http1 = createServer({ maxHeaderSize: 64 * 1024 }, handle);
  // HTTP/2 through node's compatibility API: the handlers use only what its request and response share with
  // node:http's (url, method, headers, rawHeaders, body events; writeHead, write, end, headersSent, 'close'), plus
  // `destroyed` (H2Response) and cutShort() for a cut stream. The cast says so once, here.
  const http2 = createHttp2Server(
    {
      Http2ServerResponse: H2Response,
      maxSessionMemory: 64, // MB: a session carries up to 100 streams, each with a request body of its own
      // More streams per connection than any client here opens (the gateway: 100), headers as large as HTTP/1.1's.
      settings: { maxConcurrentStreams: 1000, maxHeaderListSize: 64 * 1024 },
    },
    (req, res) => handle(req as unknown as IncomingMessage, res as unknown as ServerResponse),
  );
  const listener = dualProtocolListener(http1, http2, (isHttp2) => state.stats.connection(isHttp2));
  const server = listener.server;
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    // Like the gateway's: a gateway opening thousands of upstream connections at once must not overflow node's
    // default queue of 511 (each dropped SYN costs a 1 s retransmit, which a benchmark would blame on the gateway).
    server.listen({ port: options.port ?? 0, host, backlog: 4096 }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  // A wildcard bind is reachable on loopback; IPv6 literals need brackets in a URL.
  const urlHost = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "[::1]" : host.includes(":") ? `[${host}]` : host;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    settings: () => structuredClone(state.settings),
    configure: (patch) => configure(state, patch),
    stats: () => state.stats.snapshot(),
    requests: () => state.log.list(),
    reset: () => reset(state),
    resetResources: () => clearResources(state.resources),
    objects: (bucket, prefix = "") =>
      state.resources.storage.list(bucket, prefix).map((o) => ({ name: o.name, data: o.data })),
    secretVersions: (name) => state.resources.secrets.versions(name),
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Destroys idle keep-alive sockets and open streams alike; their 'close' handlers clear pending timers.
        listener.destroyConnections();
      });
      return closing;
    },
  };
}
