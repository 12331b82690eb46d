/**
 * How many upstream connections this process can hold. Each upstream call holds two file descriptors — the client's
 * connection and the upstream's — so the open-file limit, not memory, is what caps concurrent streams on one
 * instance. Without GATEWAY_UPSTREAM_CONNECTIONS the gateway takes as many as the limit allows, up to
 * DEFAULT_UPSTREAM_CONNECTIONS; a configured value the limit cannot carry is logged at start-up.
 */
import { readFileSync } from "node:fs";

/** Enough for 10,000 concurrent streams on one instance (Cloud Run caps an instance at 1,000 requests at once). */
export const DEFAULT_UPSTREAM_CONNECTIONS = 10_000;
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
