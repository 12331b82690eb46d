/**
 * Trace context from the incoming request: W3C `traceparent` first, then Cloud Run's `X-Cloud-Trace-Context`
 * (`TRACE_ID/SPAN_ID;o=1`, span id in decimal). Returned as the fields Cloud Logging uses to group a request's logs.
 */
import type { IncomingHttpHeaders } from "node:http";

export interface TraceContext {
  traceId: string;
  spanId: string | undefined;
  sampled: boolean;
}

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const CLOUD_TRACE = /^([0-9a-f]{32})(?:\/(\d{1,20}))?(?:;o=([01]))?$/i;

export function traceFromHeaders(headers: IncomingHttpHeaders): TraceContext | undefined {
  const tp = headers["traceparent"];
  if (typeof tp === "string") {
    const m = TRACEPARENT.exec(tp.trim());
    if (m && !/^0+$/.test(m[1]!)) {
      return { traceId: m[1]!, spanId: m[2], sampled: (parseInt(m[3]!, 16) & 1) === 1 };
    }
  }
  const ct = headers["x-cloud-trace-context"];
  if (typeof ct === "string") {
    const m = CLOUD_TRACE.exec(ct.trim());
    if (m) {
      const spanId = m[2] ? BigInt(m[2]).toString(16).padStart(16, "0").slice(-16) : undefined;
      return { traceId: m[1]!.toLowerCase(), spanId, sampled: m[3] === "1" };
    }
  }
  return undefined;
}

/** The log fields Cloud Logging correlates on; the `projects/...` form needs the project id. */
export function traceLogFields(trace: TraceContext | undefined, project: string): Record<string, string | boolean> {
  if (!trace) return {};
  const fields: Record<string, string | boolean> = {
    "logging.googleapis.com/trace": `projects/${project}/traces/${trace.traceId}`,
    "logging.googleapis.com/trace_sampled": trace.sampled,
  };
  if (trace.spanId) fields["logging.googleapis.com/spanId"] = trace.spanId;
  return fields;
}
