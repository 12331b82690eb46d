/**
 * Request/response load against one target, two ways:
 *
 * - fixedConcurrency: autocannon, N connections each sending its next request when the previous answer arrived
 *   (closed loop): measures throughput.
 * - fixedRate: an open-loop generator on an undici Pool that dispatches requests evenly spaced at the offered rate,
 *   whatever the answers do: measures latency at a given load. Not autocannon's `overallRate`, which lets each
 *   connection send its whole per-second quota back to back at the start of every second (bursts of `connections`
 *   concurrent requests, then idle), so its latencies are those of a burst, not of a steady 500 req/s.
 *
 * Latencies are kept as raw float samples (autocannon's own histogram has 1 ms resolution; the gateway's added
 * latency is well below that).
 */
import autocannon from "autocannon";
import { Pool } from "undici";
import { Samples, type Percentiles } from "./stats.js";

export interface HttpTarget {
  name: string;
  /** e.g. http://127.0.0.1:8080 */
  origin: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface LoadResult {
  /** Completed responses (any status). */
  requests: number;
  durationS: number;
  /** Completed responses per second. */
  rps: number;
  /** Latency of 2xx responses, ms. */
  latencyMs: Percentiles;
  /** Connection errors and timeouts (no response). */
  errors: number;
  non2xx: number;
  statusCodes: Record<string, number>;
}

export async function fixedConcurrency(
  target: HttpTarget,
  o: { connections: number; durationS: number },
): Promise<LoadResult> {
  const latencies = new Samples();
  const instance = autocannon({
    url: target.origin + target.path,
    method: "POST",
    headers: target.headers,
    body: target.body,
    connections: o.connections,
    duration: o.durationS,
    timeout: 30,
  });
  instance.on("response", (_client, status, _bytes, ms) => {
    if (status >= 200 && status < 300) latencies.add(ms);
  });
  const r = await instance;
  const statusCodes: Record<string, number> = {};
  for (const [code, { count }] of Object.entries(r.statusCodeStats)) statusCodes[code] = count;
  return {
    requests: r.requests.total,
    durationS: r.duration,
    rps: r.requests.total / r.duration,
    latencyMs: latencies.percentiles(),
    errors: r.errors, // autocannon counts timeouts among errors
    non2xx: r.non2xx,
    statusCodes,
  };
}

export interface RateResult extends LoadResult {
  offeredRate: number;
  /** The server's own account of its overhead (x-gateway-overhead-ms), when it sends one; undefined otherwise. */
  serverOverheadMs: Percentiles | undefined;
  /** How late the generator dispatched requests against their schedule (ms): the client's own jitter. */
  dispatchLagMs: Percentiles;
}

/** Sends `rate × durationS` requests evenly spaced in time, then waits for the last answers. */
export async function fixedRate(
  target: HttpTarget,
  o: { rate: number; durationS: number; connections: number },
): Promise<RateResult> {
  const pool = new Pool(target.origin, {
    connections: o.connections,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const body = Buffer.from(target.body);
  const latencies = new Samples();
  const overheads = new Samples();
  const lag = new Samples();
  const statusCodes: Record<string, number> = {};
  let errors = 0;
  let non2xx = 0;
  let completed = 0;
  const total = Math.round(o.rate * o.durationS);
  const intervalMs = 1000 / o.rate;
  const inflight = new Set<Promise<void>>();

  const fire = (scheduledAt: number): void => {
    const t0 = performance.now();
    lag.add(t0 - scheduledAt);
    const p = pool
      .request({ path: target.path, method: "POST", headers: target.headers, body })
      .then(async (res) => {
        await res.body.text();
        const ms = performance.now() - t0;
        completed++;
        statusCodes[res.statusCode] = (statusCodes[res.statusCode] ?? 0) + 1;
        if (res.statusCode >= 200 && res.statusCode < 300) latencies.add(ms);
        else non2xx++;
        const overhead = res.headers["x-gateway-overhead-ms"];
        if (typeof overhead === "string") overheads.add(Number(overhead));
      })
      .catch(() => {
        errors++;
      })
      .finally(() => inflight.delete(p));
    inflight.add(p);
  };

  const start = performance.now();
  await new Promise<void>((resolve) => {
    let sent = 0;
    const tick = () => {
      const due = Math.min(total, Math.floor((performance.now() - start) / intervalMs) + 1);
      while (sent < due) fire(start + sent++ * intervalMs);
      if (sent >= total) return resolve();
      // Node timers fire about 1 ms late at best; the catch-up loop above keeps the average rate exact.
      setTimeout(tick, Math.max(0, start + sent * intervalMs - performance.now() - 1));
    };
    tick();
  });
  await Promise.all([...inflight]);
  const durationS = (performance.now() - start) / 1000;
  await pool.close();
  return {
    offeredRate: o.rate,
    serverOverheadMs: overheads.count ? overheads.percentiles() : undefined,
    requests: completed,
    durationS,
    rps: completed / durationS,
    latencyMs: latencies.percentiles(),
    errors,
    non2xx,
    statusCodes,
    dispatchLagMs: lag.percentiles(),
  };
}
