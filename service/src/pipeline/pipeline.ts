/**
 * The request path, top to bottom. Every model call from every surface goes through `handle`, in this order:
 *
 *   authenticate → resolve target (model served and allowed) → read body → validate → guard (injection scan,
 *   Model Armor policy) → admit (shared limits, token reservation) → call upstream → relay → reconcile (tokens,
 *   cost, settle the reservation) → record (audit + metrics)
 *
 * `record` is the one exit path, success or error. Later stages slot in where DESIGN.md puts them (cache before
 * admit; route around the upstream call). docs/lifecycle.md lists each stage with the statuses it can produce. Each
 * stage is a small module; this file only orders them, times them (one trace span each) and collects what the record
 * needs.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { costOf, tokenUsageOf, totalTokens, usdMicros } from "../accounting/cost.js";
import type { PriceTable } from "../accounting/prices.js";
import { promptFingerprint } from "../telemetry/audit.js";
import type { CallRecord } from "../telemetry/call-record.js";
import { upstreamOutcome } from "../telemetry/metrics.js";
import type { CallRecorder } from "../telemetry/recorder.js";
import { genAiClientAttributes, httpServerAttributes, type Tracing } from "../telemetry/tracing.js";
import type { Provider } from "../upstream/provider.js";
import { errors, GatewayError, toGatewayError } from "../wire/errors.js";
import type { Logger } from "../telemetry/logger.js";
import type { Keyring } from "./authenticate.js";
import type { RouteTarget } from "./call.js";
import { guard, injectionBlock } from "./guard.js";
import type { AdmissionStage } from "./admit.js";
import { estimateTokens } from "../accounting/estimate.js";
import type { Reservation } from "../store/store.js";
import type { UsageLedger } from "../accounting/usage.js";
import { readBody } from "./read-body.js";
import { relay, statusForHttp, type RelayResult } from "./relay.js";
import { attributionLabels, requestBody, resolveTarget, validateBody } from "./validate.js";

export interface PipelineDeps {
  keyring: Keyring;
  admission: AdmissionStage;
  /** Output tokens reserved for a request that sets no maxOutputTokens. */
  defaultOutputTokens: number;
  usage: UsageLedger;
  servedModels: ReadonlySet<string>;
  provider: Provider;
  prices: PriceTable;
  tracing: Tracing;
  record: CallRecorder;
  logger: Logger;
  maxBodyBytes: number;
  lifecycle: Lifecycle;
}

/** Shared with the shutdown logic: draining refuses new calls; inflight lets shutdown report what it waits for. */
export interface Lifecycle {
  draining: boolean;
  inflight: number;
}

export type ModelCallHandler = (req: IncomingMessage, res: ServerResponse, target: RouteTarget) => Promise<void>;

/** Response header with the gateway's own time (ms) up to the response head: lets load tests compute overhead. */
export const OVERHEAD_HEADER = "x-gateway-overhead-ms";

export function createPipeline(deps: PipelineDeps): ModelCallHandler {
  const { keyring, servedModels, provider, tracing, logger, lifecycle } = deps;

  return async function handle(req, res, target) {
    const started = performance.now();
    const requestId = String(res.getHeader("x-request-id")); // set for every request by the surface (routes.ts)
    lifecycle.inflight++;
    // Span attributes are only built when spans are recorded: with exporter "none" they would be thrown away.
    const trace = tracing.startCall(
      `gateway ${target.surface}`,
      req.headers,
      tracing.recording
        ? { ...httpServerAttributes(req.method, req.url), "gateway.surface": target.surface }
        : undefined,
    );

    // The client going away aborts the upstream call (and so stops a stream mid-way).
    const abort = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) abort.abort();
    };
    res.once("close", onClose);

    // What the record needs, filled in as stages succeed.
    const r: CallRecord = newRecord(requestId, target.surface, req, trace);
    let result: RelayResult | undefined;
    let failure: GatewayError | undefined;
    let upstreamStarted: number | undefined;
    let upstreamStatus: number | undefined;
    let upstreamWaitMs = 0; // until the upstream's part of the response head was known (see relay's BeforeHead)
    let reservation: Reservation | null = null;
    try {
      if (lifecycle.draining) {
        res.setHeader("connection", "close");
        throw errors.draining();
      }
      const { tenant, keyId } = trace.stage("authenticate", () => keyring.authenticate(req.headers));
      r.tenant = tenant.id;
      r.keyId = keyId;
      const resolved = trace.stage("resolve", () => resolveTarget(target, tenant, servedModels));
      r.model = resolved.model;
      r.method = resolved.method;
      r.stream = resolved.stream;
      const raw = await trace.stage("read_body", () => readBody(req, deps.maxBodyBytes));
      r.http.requestBytes = raw.length;
      const body = trace.stage("validate", () => validateBody(resolved.method, raw));
      r.promptSha256 = promptFingerprint(body.doc);
      const verdict = trace.stage("guard", () => guard(body, tenant));
      r.injection = verdict.injection;
      const blocked = injectionBlock(verdict);
      if (blocked) throw blocked;
      if (verdict.injection?.flagged && verdict.injection.action === "flag") {
        res.setHeader("x-gateway-flagged", "prompt-injection");
      }
      if (tenant.limits && resolved.method !== "countTokens") {
        const tokens = estimateTokens(body.doc, deps.defaultOutputTokens);
        const cost = costOf(deps.prices, resolved.model, {
          promptTokenCount: tokens.prompt,
          candidatesTokenCount: tokens.output,
        });
        const estimate = { tokens: tokens.total, usdMicros: usdMicros(cost?.totalUsd ?? 0) };
        const admitted = await trace.stage("admit", () => deps.admission.admit(tenant, estimate));
        if (!admitted.admitted) {
          r.admission = admitted.scope === "spend" ? "over-budget" : "limited";
          throw admitted.error;
        }
        r.admission = "admitted";
        reservation = admitted.reservation;
        for (const name in admitted.headers) res.setHeader(name, admitted.headers[name]!);
      }
      const forward = requestBody(body, {
        labels: attributionLabels(tenant, keyId),
        modelArmorConfig: verdict.modelArmorConfig,
      });

      const span = trace.startChild(
        "upstream",
        tracing.recording
          ? {
              ...genAiClientAttributes({ model: resolved.model, method: resolved.method }),
              "gateway.upstream": provider.id,
            }
          : undefined,
      );
      upstreamStarted = performance.now();
      try {
        const upstream = await provider.send({
          model: resolved.model,
          method: resolved.method,
          apiVersion: resolved.apiVersion,
          body: forward,
          serverTimeout: serverTimeoutOf(req.headers["x-server-timeout"]),
          traceparent: span.traceparent(),
          signal: abort.signal,
        });
        upstreamStatus = upstream.status;
        result = await relay(upstream, res, resolved.stream, resolved.streamEncoding, (doneAt) => {
          upstreamWaitMs = doneAt - upstreamStarted!;
          res.setHeader(OVERHEAD_HEADER, (performance.now() - started - upstreamWaitMs).toFixed(3));
        });
        span.setAttributes({ "http.response.status_code": upstream.status });
        span.end(result.clientClosed ? "client closed the request" : result.streamError);
        if (result.clientClosed) failure = errors.clientClosed(); // recorded as 499, with what was relayed
      } catch (err) {
        span.end(abort.signal.aborted ? "client closed the request" : toGatewayError(err).status);
        throw err;
      }
    } catch (err) {
      failure = abort.signal.aborted ? errors.clientClosed() : toGatewayError(err);
      if (!(err instanceof GatewayError) && !abort.signal.aborted) {
        logger.error(
          { requestId, err: { name: (err as Error)?.name, message: (err as Error)?.message } },
          "unexpected error",
        );
      }
      if (!res.headersSent) res.setHeader(OVERHEAD_HEADER, (performance.now() - started - upstreamWaitMs).toFixed(3));
      writeError(res, failure);
    } finally {
      res.off("close", onClose);
      lifecycle.inflight--;
    }

    // Reconcile and record: the one exit path.
    const ended = performance.now();
    const upstreamMs = upstreamStarted === undefined ? 0 : ended - upstreamStarted;
    r.status = failure?.httpCode ?? result?.status ?? 0;
    r.durationMs = ended - started;
    // A stream waits on the upstream until its last chunk (relaying interleaves with it); a unary call until the
    // whole answer is in, after which writing it out is the gateway's time.
    r.overheadMs = r.durationMs - (r.stream ? upstreamMs : upstreamWaitMs);
    if (upstreamStarted !== undefined) {
      const relayStarted = upstreamStarted + upstreamWaitMs;
      r.upstream = {
        id: provider.id,
        provider: provider.name,
        region: provider.region,
        status: upstreamStatus,
        outcome: upstreamOutcome(upstreamStatus, abort.signal.aborted),
        durationMs: upstreamMs,
        firstChunkMs:
          r.stream && result?.firstChunkMs !== undefined ? relayStarted - started + result.firstChunkMs : undefined,
      };
    }
    if (failure) r.error = { status: failure.status, message: failure.message };
    else if (result && result.status >= 400) {
      r.error = { status: statusForHttp(result.status), message: `upstream answered HTTP ${result.status}` };
    }
    if (result) {
      r.http.responseBytes = result.responseBytes;
      r.streamError = result.streamError;
      r.modelArmorBlock = result.modelArmorBlock;
      r.tokens = tokenUsageOf(result.usage);
      if (result.usage && r.model) {
        r.cost = costOf(deps.prices, r.model, result.usage);
        r.unpriced = r.cost === undefined;
      }
      if (r.tokens && r.tenant && r.model) deps.usage.add(r.tenant, r.model, r.tokens, r.cost);
    }
    if (reservation) {
      // Actual tokens when the answer said; the estimate when a stream was cut before its usage; nothing when the
      // call failed (upstream errors are not billed).
      const used = r.tokens ? totalTokens(r.tokens) : result && result.status < 400 ? reservation.amount : 0;
      deps.admission.settle(reservation, used);
    }
    if (tracing.recording) {
      trace.setAttributes({ "gateway.tenant": r.tenant ?? "none", "gen_ai.request.model": r.model ?? "" });
    }
    trace.end(r.status, r.error?.status);
    deps.record(r);
  };
}

function newRecord(
  requestId: string,
  surface: string,
  req: IncomingMessage,
  trace: { traceId: string; spanId: string; sampled: boolean },
): CallRecord {
  return {
    requestId,
    surface,
    tenant: undefined,
    keyId: undefined,
    model: undefined,
    method: undefined,
    stream: undefined,
    status: 0,
    error: undefined,
    durationMs: 0,
    overheadMs: 0,
    upstream: undefined,
    tokens: undefined,
    cost: undefined,
    unpriced: false,
    promptSha256: undefined,
    injection: undefined,
    admission: undefined,
    modelArmorBlock: undefined,
    cache: "bypass",
    streamError: undefined,
    http: {
      method: req.method,
      path: (req.url ?? "").split("?")[0]!, // the query could carry a key; never record it
      userAgent: headerString(req.headers["user-agent"]),
      remoteIp: req.socket.remoteAddress,
      requestBytes: undefined,
      responseBytes: 0,
    },
    trace: { traceId: trace.traceId, spanId: trace.spanId, sampled: trace.sampled },
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

function headerString(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** `X-Server-Timeout: <seconds>` as the SDK sends it; anything else is not forwarded. */
function serverTimeoutOf(v: string | string[] | undefined): string | undefined {
  const s = headerString(v)?.trim();
  return s && /^\d{1,6}(\.\d{1,9})?$/.test(s) ? s : undefined;
}
