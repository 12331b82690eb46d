/**
 * How many upstream connections one instance needs and can hold.
 *
 * - Needs: a request holds one upstream connection per upstream at a time, except an embedding request fanned out per
 *   input, which holds up to MAX_UPSTREAM_CALLS_PER_REQUEST at once (pipeline/gather.ts). So an instance serving at most
 *   `concurrency` requests at once (Cloud Run's setting) never waits for a connection with `poolFor(concurrency)`; the
 *   infra program sets GATEWAY_UPSTREAM_CONNECTIONS so, and tests that the two agree.
 * - Can hold: with HTTP/1.1 each upstream call holds two file descriptors — the client's connection and the
 *   upstream's — so the open-file limit, not memory, caps concurrent streams on one instance. With HTTP/2
 *   (GATEWAY_UPSTREAM_PROTOCOL=http2) a call holds the client's descriptor and a share of an upstream connection that
 *   carries H2_STREAMS_PER_CONNECTION calls. Without GATEWAY_UPSTREAM_CONNECTIONS the gateway takes as many as the
 *   limit allows, up to DEFAULT_UPSTREAM_CONNECTIONS; a configured value the limit cannot carry is logged at start-up.
 */
import { readFileSync } from "node:fs";
import type { UpstreamProtocol } from "./env.js";

/** Enough for 10,000 concurrent streams on one instance (Cloud Run caps an instance at 1,000 requests at once). */
export const DEFAULT_UPSTREAM_CONNECTIONS = 10_000;
/** The most upstream calls one request makes at once (an embedding request fanned out per input). */
export const MAX_UPSTREAM_CALLS_PER_REQUEST = 8;

/** The connections per upstream that `concurrency` requests at once can need. */
export function poolFor(concurrency: number): number {
  return concurrency * MAX_UPSTREAM_CALLS_PER_REQUEST;
}

/**
 * Concurrent streams the gateway puts on one upstream HTTP/2 connection. 100 is what Google's front ends are commonly
 * seen to advertise (SETTINGS_MAX_CONCURRENT_STREAMS) and undici's own default; undici 7 does not hold back when a
 * server advertises fewer, so a larger number would get streams refused (REFUSED_STREAM) by such a server.
 */
export const H2_STREAMS_PER_CONNECTION = 100;

/** Descriptors kept for everything else: listeners, logs, Redis, the metrics port, DNS. */
const RESERVED_DESCRIPTORS = 256;

/** The process's open-file limit (Linux: /proc/self/limits); undefined when unknown or unlimited. */
export function openFileLimit(limitsFile = "/proc/self/limits"): number | undefined {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync(limitsFile, "utf8"));
    return m && m[1] !== "unlimited" ? Number(m[1]) : undefined;
  } catch {
    return undefined; // not Linux
  }
}

/** Descriptors `calls` upstream calls in flight hold: a client connection each, plus the upstream connections. */
export function descriptorsFor(calls: number, protocol: UpstreamProtocol = "http1"): number {
  return protocol === "http2" ? calls + Math.ceil(calls / H2_STREAMS_PER_CONNECTION) : 2 * calls;
}

/** Upstream calls in flight (per upstream) that `limit` open files can carry, with a client connection for each. */
export function connectionsWithin(limit: number | undefined, protocol: UpstreamProtocol = "http1"): number {
  if (limit === undefined) return DEFAULT_UPSTREAM_CONNECTIONS;
  const free = limit - RESERVED_DESCRIPTORS;
  // http2: n calls need n + ceil(n / S) descriptors, so n = floor(free × S / (S + 1)) fits.
  const calls =
    protocol === "http2"
      ? Math.floor((free * H2_STREAMS_PER_CONNECTION) / (H2_STREAMS_PER_CONNECTION + 1))
      : Math.floor(free / 2);
  return Math.max(1, Math.min(DEFAULT_UPSTREAM_CONNECTIONS, calls));
}
