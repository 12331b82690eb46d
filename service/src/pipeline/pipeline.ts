/**
 * The request path, top to bottom. Every model call from every surface goes through `handle`, in this order:
 *
 *   authenticate → resolve target (model served and allowed) → read body → validate → call upstream → relay
 *   → log (one exit path, success or error)
 *
 * Later stages slot in where DESIGN.md puts them (guard, cache, admit, route, reconcile). docs/lifecycle.md lists
 * each stage with the statuses it can produce. Each stage is a small module; this file only orders them.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "../telemetry/logger.js";
import { traceFromHeaders, traceLogFields } from "../telemetry/trace.js";
import type { Provider } from "../upstream/provider.js";
import { errors, GatewayError, toGatewayError } from "../wire/errors.js";
import type { UsageMetadataWire } from "../wire/gemini.js";
import type { Keyring } from "./authenticate.js";
import type { GatewayCall, RouteTarget } from "./call.js";
import { readBody } from "./read-body.js";
import { relay, type RelayResult } from "./relay.js";
import { attributionLabels, resolveTarget, validateBody } from "./validate.js";

export interface PipelineDeps {
  keyring: Keyring;
  servedModels: ReadonlySet<string>;
  provider: Provider;
  logger: Logger;
  maxBodyBytes: number;
  /** Project id for Cloud Logging's trace field. */
  project: string;
  lifecycle: Lifecycle;
}

/** Shared with the shutdown logic: draining refuses new calls; inflight lets shutdown report what it waits for. */
export interface Lifecycle {
  draining: boolean;
  inflight: number;
}

export type ModelCallHandler = (req: IncomingMessage, res: ServerResponse, target: RouteTarget) => Promise<void>;

export function createPipeline(deps: PipelineDeps): ModelCallHandler {
  const { keyring, servedModels, provider, logger, lifecycle } = deps;

  return async function handle(req, res, target) {
    const started = performance.now();
    const requestId = String(res.getHeader("x-request-id")); // set for every request by the surface (routes.ts)
    lifecycle.inflight++;

    // The client going away aborts the upstream call (and so stops a stream mid-way).
    const abort = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) abort.abort();
    };
    res.once("close", onClose);

    let call: Partial<GatewayCall> = { requestId, surface: target.surface };
    let result: RelayResult | undefined;
    let failure: GatewayError | undefined;
    let upstreamMs: number | undefined;
    try {
      if (lifecycle.draining) {
        res.setHeader("connection", "close");
        throw errors.draining();
      }
      const { tenant, keyId } = keyring.authenticate(req.headers);
      call = { ...call, tenant, keyId };
      const resolved = resolveTarget(target, tenant, servedModels);
      call = { ...call, ...resolved };
      const raw = await readBody(req, deps.maxBodyBytes);
      const body = validateBody(resolved.method, raw, attributionLabels(tenant, keyId));
      const serverTimeout = serverTimeoutOf(req.headers["x-server-timeout"]);
      const full: GatewayCall = { requestId, surface: target.surface, tenant, keyId, ...resolved, body, serverTimeout };
      call = full;

      const upstreamStarted = performance.now();
      const upstream = await provider.send({
        model: full.model,
        method: full.method,
        apiVersion: full.apiVersion,
        body: full.body,
        serverTimeout,
        signal: abort.signal,
      });
      result = await relay(upstream, res, full.stream, full.streamEncoding);
      upstreamMs = performance.now() - upstreamStarted;
    } catch (err) {
      failure = abort.signal.aborted ? errors.clientClosed() : toGatewayError(err);
      if (!(err instanceof GatewayError) && !abort.signal.aborted) {
        logger.error(
          { requestId, err: { name: (err as Error)?.name, message: (err as Error)?.message } },
          "unexpected error",
        );
      }
      writeError(res, failure);
    } finally {
      res.off("close", onClose);
      lifecycle.inflight--;
    }

    // The one exit path: one access-log line per call, never with prompt or response content.
    const status = failure?.httpCode ?? result?.status ?? 0;
    const level = status >= 500 ? "error" : status >= 400 ? "warn" : "info";
    logger[level](
      {
        ...traceLogFields(traceFromHeaders(req.headers), deps.project),
        httpRequest: {
          requestMethod: req.method,
          requestUrl: (req.url ?? "").split("?")[0], // the query could carry a key; never log it
          status,
          latency: `${((performance.now() - started) / 1000).toFixed(6)}s`,
          userAgent: headerString(req.headers["user-agent"]),
          remoteIp: req.socket.remoteAddress,
          requestSize: headerString(req.headers["content-length"]),
          responseSize: String(result?.responseBytes ?? 0),
        },
        requestId,
        surface: call.surface,
        tenant: call.tenant?.id,
        keyId: call.keyId,
        model: call.model,
        method: call.method,
        stream: call.stream,
        upstream: result ? provider.id : undefined,
        upstreamMs: upstreamMs === undefined ? undefined : round(upstreamMs),
        firstChunkMs: result?.firstChunkMs === undefined ? undefined : round(result.firstChunkMs),
        tokens: tokensOf(result?.usage),
        error: failure ? { status: failure.status, message: failure.message } : undefined,
        streamError: result?.streamError,
      },
      failure ? "model call failed" : "model call",
    );
  };
}

/** Writes the Gemini error envelope if nothing has been sent yet; otherwise ends the response. */
export function writeError(res: ServerResponse, err: GatewayError): void {
  if (res.headersSent) {
    if (!res.writableEnded) res.end();
    return;
  }
  const body = JSON.stringify(err.toEnvelope());
  res.writeHead(err.httpCode, {
    ...err.headers,
    "content-type": "application/json; charset=UTF-8",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

function tokensOf(usage: UsageMetadataWire | undefined) {
  if (!usage) return undefined;
  return {
    input: usage.promptTokenCount ?? 0,
    output: usage.candidatesTokenCount ?? 0,
    cached: usage.cachedContentTokenCount ?? 0,
    thinking: usage.thoughtsTokenCount ?? 0,
  };
}

function headerString(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** `X-Server-Timeout: <seconds>` as the SDK sends it; anything else is not forwarded. */
function serverTimeoutOf(v: string | string[] | undefined): string | undefined {
  const s = headerString(v)?.trim();
  return s && /^\d{1,6}(\.\d{1,9})?$/.test(s) ? s : undefined;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
