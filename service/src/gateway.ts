/**
 * Assembles one gateway instance from its parts and runs its HTTP server; also owns graceful shutdown:
 * readiness goes false, new calls are refused, in-flight calls and streams finish (up to the deadline), then the
 * server closes. Used by main.ts and, in-process, by tests.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Config } from "./config/env.js";
import type { Tenant } from "./config/tenants.js";
import { createKeyring } from "./pipeline/authenticate.js";
import { createPipeline, type Lifecycle } from "./pipeline/pipeline.js";
import { createApp, type ReadinessCheck } from "./surfaces/routes.js";
import type { Logger } from "./telemetry/logger.js";
import type { TokenSource } from "./upstream/credentials.js";
import { createVertexProvider } from "./upstream/vertex.js";

export const USER_AGENT = "gemini-gateway/0.1";

export interface GatewayParts {
  config: Config;
  tenants: readonly Tenant[];
  tokens: TokenSource;
  logger: Logger;
  /** Where Vertex requests go; defaults to config.upstream.baseUrl, then Google's endpoint. */
  upstreamBaseUrl?: string | undefined;
}

export interface RunningGateway {
  url: string;
  port: number;
  server: Server;
  lifecycle: Lifecycle;
  /** Drains and closes; resolves with the number of calls cut off by the deadline (0 when all finished). */
  shutdown(): Promise<number>;
}

export async function startGateway(parts: GatewayParts): Promise<RunningGateway> {
  const { config, logger, tokens } = parts;
  const lifecycle: Lifecycle = { draining: false, inflight: 0 };
  const provider = createVertexProvider({
    name: config.upstream.kind,
    project: config.upstream.project,
    location: config.upstream.location,
    baseUrl: parts.upstreamBaseUrl ?? config.upstream.baseUrl,
    tokens,
    timeoutMs: config.upstream.timeoutMs,
    connections: config.upstream.connections,
    userAgent: USER_AGENT,
  });
  const handle = createPipeline({
    keyring: createKeyring(parts.tenants),
    servedModels: new Set(config.models),
    provider,
    logger,
    maxBodyBytes: config.maxBodyBytes,
    project: config.upstream.project,
    lifecycle,
  });
  const readiness: ReadinessCheck[] = [
    { name: "draining", problem: () => (lifecycle.draining ? "instance is shutting down" : undefined) },
    { name: "credentials", problem: () => (tokens.healthy() ? undefined : "no valid upstream access token") },
  ];
  const server = createServer({ keepAliveTimeout: 65_000 }, createApp(handle, readiness));
  // Cloud Run's front end keeps connections open for long; the server must not close them first.
  server.headersTimeout = 66_000;
  server.requestTimeout = 0; // streams may legitimately run for many minutes

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    // A deeper accept queue than node's default 511: a burst of new connections (thousands of streams opening at once)
    // otherwise overflows it, and each dropped SYN costs the client a one-second retransmit (docs/benchmarks.md).
    // The kernel caps it at net.core.somaxconn.
    server.listen({ port: config.port, host: config.host, backlog: 4096 }, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;

  let closing: Promise<number> | undefined;
  const shutdown = () =>
    (closing ??= (async () => {
      lifecycle.draining = true;
      logger.info({ inflight: lifecycle.inflight }, "draining: refusing new calls, finishing in-flight ones");
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive connections go idle once their call ends; close them as they do.
      const sweeper = setInterval(() => server.closeIdleConnections(), 100);
      server.closeIdleConnections();
      let cut = 0;
      const deadline = new Promise<"deadline">((resolve) =>
        setTimeout(() => resolve("deadline"), config.shutdownTimeoutMs).unref(),
      );
      if ((await Promise.race([closed, deadline])) === "deadline") {
        cut = lifecycle.inflight;
        logger.warn({ inflight: cut }, "shutdown deadline reached: closing remaining connections");
        server.closeAllConnections();
        await closed;
      }
      clearInterval(sweeper);
      await provider.close();
      return cut;
    })());

  return { url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`, port, server, lifecycle, shutdown };
}
