/**
 * Trace context without the OpenTelemetry SDK: what the gateway needs for log correlation when no spans are recorded.
 * Reads the incoming request's W3C `traceparent` first, then Cloud Run's `X-Cloud-Trace-Context`
 * (`TRACE_ID/SPAN_ID;o=1`, span id in decimal); generates ids when neither is usable; and renders the fields Cloud
 * Logging groups a request's logs by. tracing.ts uses this for its "none" mode, so it stays free of SDK imports.
 */
import { randomFillSync } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

export interface TraceContext {
  traceId: string;
  spanId: string | undefined;
  sampled: boolean;
}

/** What the log fields need; a CallTrace from tracing.ts has this shape too. */
export interface TraceLogSource {
  readonly traceId: string;
  readonly spanId?: string | undefined;
  readonly sampled: boolean;
}

// The same rules as @opentelemetry/core's W3CTraceContextPropagator, so that the "none" and recording modes agree on
// which headers are valid: version ff and all-zero ids are invalid; version 00 has exactly four fields, later
// versions may append more.
const TRACEPARENT = /^\s?((?!ff)[0-9a-f]{2})-((?!0{32})[0-9a-f]{32})-((?!0{16})[0-9a-f]{16})-([0-9a-f]{2})(-.*)?\s?$/;
// Lenient where Cloud Logging still benefits: a header without span id still names the trace.
const CLOUD_TRACE = /^((?!0{32})[0-9a-f]{32})(?:\/(\d{1,20}))?(?:;o=(\d+))?$/i;
const MAX_SPAN_ID = 0xffffffffffffffffn;

export function traceFromHeaders(headers: IncomingHttpHeaders): TraceContext | undefined {
  const tp = headers["traceparent"];
  if (typeof tp === "string") {
    const m = TRACEPARENT.exec(tp);
    if (m && !(m[1] === "00" && m[5])) {
      return { traceId: m[2]!, spanId: m[3], sampled: (parseInt(m[4]!, 16) & 1) === 1 };
    }
  }
  const ct = headers["x-cloud-trace-context"];
  if (typeof ct === "string") {
    const m = CLOUD_TRACE.exec(ct.trim());
    if (m) {
      return { traceId: m[1]!.toLowerCase(), spanId: decimalSpanId(m[2]), sampled: m[3] !== undefined && m[3] !== "0" };
    }
  }
  return undefined;
}

/** Cloud Trace's decimal span id as 16 hex digits; undefined when absent, zero or wider than 64 bits. */
function decimalSpanId(decimal: string | undefined): string | undefined {
  if (!decimal) return undefined;
  const n = BigInt(decimal);
  return n === 0n || n > MAX_SPAN_ID ? undefined : n.toString(16).padStart(16, "0");
}

// Ids come from a pool of crypto random bytes refilled every ~170 calls: one randomBytes() per id costs ~2 µs, the
// pool ~0.1 µs, and ids stay unpredictable, unlike Math.random ones.
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

function randomHex(bytes: number): string {
  for (;;) {
    if (poolOffset + bytes > pool.length) {
      randomFillSync(pool);
      poolOffset = 0;
    }
    const start = poolOffset;
    poolOffset += bytes;
    // An all-zero id is invalid in W3C trace context; with 2^-64 odds at least, just draw again.
    for (let i = start; i < poolOffset; i++) if (pool[i] !== 0) return pool.toString("hex", start, poolOffset);
  }
}

/** A new W3C trace id: 32 lowercase hex digits. */
export function newTraceId(): string {
  return randomHex(16);
}

/** A new W3C span id: 16 lowercase hex digits. */
export function newSpanId(): string {
  return randomHex(8);
}

/** The log fields Cloud Logging correlates on; the `projects/...` form needs the project id. */
export function traceLogFields(trace: TraceLogSource | undefined, project: string): Record<string, string | boolean> {
  if (!trace) return {};
  const fields: Record<string, string | boolean> = {
    "logging.googleapis.com/trace": `projects/${project}/traces/${trace.traceId}`,
    "logging.googleapis.com/trace_sampled": trace.sampled,
  };
  if (trace.spanId) fields["logging.googleapis.com/spanId"] = trace.spanId;
  return fields;
}
