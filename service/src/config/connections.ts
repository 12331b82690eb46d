/**
 * How many upstream connections one instance needs and can hold.
 *
 * - Needs: a request holds one upstream connection per upstream at a time, except an embedding request fanned out per
 *   input, which holds up to MAX_UPSTREAM_CALLS_PER_REQUEST at once (pipeline/gather.ts). So an instance serving at most
 *   `concurrency` requests at once (Cloud Run's setting) never waits for a connection with `poolFor(concurrency)`; the
 *   infra program sets GATEWAY_UPSTREAM_CONNECTIONS so, and tests that the two agree.
 * - Can hold: each upstream call holds two file descriptors — the client's connection and the upstream's — so the
 *   open-file limit, not memory, caps concurrent streams on one instance. Without GATEWAY_UPSTREAM_CONNECTIONS the
 *   gateway takes as many as the limit allows, up to DEFAULT_UPSTREAM_CONNECTIONS; a configured value the limit cannot
 *   carry is logged at start-up.
 */
import { readFileSync } from "node:fs";

/** Enough for 10,000 concurrent streams on one instance (Cloud Run caps an instance at 1,000 requests at once). */
export const DEFAULT_UPSTREAM_CONNECTIONS = 10_000;
/** The most upstream calls one request makes at once (an embedding request fanned out per input). */
export const MAX_UPSTREAM_CALLS_PER_REQUEST = 8;

/** The connections per upstream that `concurrency` requests at once can need. */
export function poolFor(concurrency: number): number {
  return concurrency * MAX_UPSTREAM_CALLS_PER_REQUEST;
}

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

/** Upstream connections (per upstream) that `limit` open files can carry, with a client connection for each. */
export function connectionsWithin(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_UPSTREAM_CONNECTIONS;
  return Math.max(1, Math.min(DEFAULT_UPSTREAM_CONNECTIONS, Math.floor((limit - RESERVED_DESCRIPTORS) / 2)));
}
