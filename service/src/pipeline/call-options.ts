/**
 * Stage: call options. What the request's headers ask for, checked against the tenant: priority, feature label,
 * deadlines, and whether the response cache is used. Each bad value is a 400 naming the header.
 */
import type { IncomingHttpHeaders } from "node:http";
import { CACHE_HEADER, cacheDecision, cacheKey } from "../cache/cache-key.js";
import type { Priority, Tenant } from "../config/tenants.js";
import { errors } from "../wire/errors.js";
import type { CallOptions, ResolvedCall } from "./call.js";
import type { ValidatedBody } from "./validate.js";

/** `x-gateway-priority`: a client may lower its tenant's priority to batch, never raise it. */
export const PRIORITY_HEADER = "x-gateway-priority";
/** `x-gateway-feature`: a feature label from the tenant's list, for cost attribution. */
export const FEATURE_HEADER = "x-gateway-feature";

export interface CallOptionDefaults {
  /** How long a call may wait in queues when the client sends no X-Server-Timeout. */
  queueTimeoutMs: number;
  /** How long routing may take (attempts, backoff) when the client sends no X-Server-Timeout. */
  upstreamTimeoutMs: number;
}

export function callOptions(
  headers: IncomingHttpHeaders,
  tenant: Tenant,
  resolved: ResolvedCall,
  body: ValidatedBody,
  defaults: CallOptionDefaults,
): CallOptions {
  const priority = priorityOf(headers[PRIORITY_HEADER], tenant);
  const feature = featureOf(headers[FEATURE_HEADER], tenant);
  // The client's X-Server-Timeout bounds both the waits (admission, coalescing, a connection) and the routing
  // (retries, backoff); without it, waits last at most GATEWAY_QUEUE_TIMEOUT_MS and routing the upstream timeout.
  const clientTimeoutMs = serverTimeoutMs(headers["x-server-timeout"]);
  const now = Date.now();
  // Cache (cache/): a fresh answer is served as it is; identical concurrent calls share one upstream call.
  const useCache =
    resolved.operation.cacheable &&
    cacheDecision(body.doc, {
      xGatewayCache: headerString(headers[CACHE_HEADER]),
      cacheControl: headerString(headers["cache-control"]),
    }) === "use";
  return {
    priority,
    feature,
    deadline: now + (clientTimeoutMs ?? defaults.upstreamTimeoutMs),
    waitDeadline: now + (clientTimeoutMs ?? defaults.queueTimeoutMs),
    clientTimeoutMs,
    cacheKey: useCache ? cacheKey(tenant.id, resolved.model, body.doc) : undefined,
  };
}

/** The client's X-Server-Timeout less the time already spent (queueing), for the upstream; at least 1 s. */
export function remainingSeconds(o: CallOptions): string | undefined {
  if (o.clientTimeoutMs === undefined) return undefined;
  return String(Math.max(1, Math.ceil((o.deadline - Date.now()) / 1000)));
}

export function headerString(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** `X-Server-Timeout: <seconds>` as the SDK sends it, in ms; anything else is ignored (and not forwarded). */
function serverTimeoutMs(v: string | string[] | undefined): number | undefined {
  const s = headerString(v)?.trim();
  return s && /^\d{1,6}(\.\d{1,9})?$/.test(s) ? Number(s) * 1000 : undefined;
}

function priorityOf(v: string | string[] | undefined, tenant: Tenant): Priority {
  const s = headerString(v)?.trim().toLowerCase();
  if (s === undefined || s === "") return tenant.priority;
  if (s === "batch") return "batch";
  if (s === "interactive") return tenant.priority; // asking for more than the tenant has is not an error: it is ignored
  throw errors.invalidArgument(`${PRIORITY_HEADER} must be "interactive" or "batch", got "${s.slice(0, 40)}".`);
}

function featureOf(v: string | string[] | undefined, tenant: Tenant): string | undefined {
  const s = headerString(v)?.trim();
  if (s === undefined || s === "") return undefined;
  if (tenant.features.has(s)) return s;
  const known = [...tenant.features];
  throw errors.invalidArgument(
    known.length
      ? `${FEATURE_HEADER} "${s.slice(0, 63)}" is not one of tenant "${tenant.id}"'s feature labels: ${known.join(", ")}.`
      : `Tenant "${tenant.id}" has no feature labels configured; remove ${FEATURE_HEADER} or ask the operator to add it.`,
  );
}
