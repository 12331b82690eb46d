/**
 * Serving `GET /metrics` (Prometheus text format) two ways, both optional:
 *
 * - a separate listener on GATEWAY_METRICS_PORT with no authentication. On Cloud Run only the main port is
 *   reachable from outside, so a scraper sidecar (Managed Service for Prometheus, an OpenTelemetry collector)
 *   reads it on localhost and nothing else can;
 * - the main port, for callers presenting the admin key (`Authorization: Bearer <key>`), whose SHA-256 is
 *   GATEWAY_ADMIN_KEY_SHA256. Compared in constant time, like tenant keys.
 *
 * With neither configured, /metrics answers 404 on the main port: metrics name tenants and spend, which is not
 * for every client.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export async function writeMetrics(registry: Registry, res: ServerResponse): Promise<void> {
  const text = await registry.metrics();
  res.writeHead(200, { "content-type": registry.contentType, "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** True when the request carries the admin key whose SHA-256 is `adminKeySha256`. */
export function isAdmin(headers: IncomingHttpHeaders, adminKeySha256: string): boolean {
  const auth = headers.authorization;
  if (typeof auth !== "string" || !auth.startsWith("Bearer ")) return false;
  const presented = createHash("sha256").update(auth.slice(7).trim()).digest();
  return timingSafeEqual(presented, Buffer.from(adminKeySha256, "hex"));
}

export interface MetricsServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startMetricsServer(registry: Registry, host: string, port: number): Promise<MetricsServer> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.method === "GET" && (req.url ?? "").split("?")[0] === "/metrics") {
      writeMetrics(registry, res).catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
      return;
    }
    res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
    res.end("Only GET /metrics is served on this port.\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  const shown = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  return {
    url: `http://${shown.includes(":") ? `[${shown}]` : shown}:${actual}/metrics`,
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
