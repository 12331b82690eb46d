/**
 * The request path, top to bottom. Every model call from every surface goes through `handle`, which lists the stages
 * in their order; each is a function of the one call context (call.ts) that returns what it found:
 *
 *   authenticate → resolve (operation, model served and allowed) → read body → validate → guard (injection scan,
 *   Model Armor policy) → call options (priority, feature, deadlines, cache use) → serve: cache lookup / coalesce →
 *   admit (budget kill switch, spend and shared limits, token reservation, queue) → route (upstreams, retries,
 *   breakers, fallback models) → relay → cache store (serve.ts) → reconcile → record (finish.ts)
 *
 * What differs between operations (generate, stream, countTokens, …) is data in the operation table
 * (operations.ts), not branches here; how the answer is written is the surface's encoder (encoder.ts). `finish` is
 * the one exit path, success or error. docs/lifecycle.md lists each stage with the statuses it can produce.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { PriceTable } from "../accounting/prices.js";
import type { UsageLedger } from "../accounting/usage.js";
import type { Coalescer } from "../cache/coalesce.js";
import type { ResponseCache } from "../cache/response-cache.js";
import { readBody, type BodyLimits } from "../http/read-body.js";
import type { Router } from "../route/router.js";
import { promptFingerprint } from "../telemetry/audit.js";
import type { CallRecord } from "../telemetry/call-record.js";
import type { Logger } from "../telemetry/logger.js";
import type { CallRecorder } from "../telemetry/recorder.js";
import { httpServerAttributes, type Tracing } from "../telemetry/tracing.js";
import { errors, GatewayError, toGatewayError } from "../wire/errors.js";
import { MODEL_ID_PATTERN } from "../wire/gemini.js";
import type { AdmissionStage } from "./admit.js";
import type { Keyring } from "./authenticate.js";
import type { Call, ResolvedCall, RouteTarget } from "./call.js";
import { callOptions, headerString } from "./call-options.js";
import { createFinish } from "./finish.js";
import { guard, injectionBlock, type GuardVerdict } from "./guard.js";
import { operationOf, operationsServing, type Operation } from "./operations.js";
import { OVERHEAD_HEADER, respondError } from "./respond.js";
import { createServe } from "./serve.js";
import type { ResourceDeps } from "./resources/context.js";
import { bindResource } from "./resources/ownership.js";

export interface PipelineDeps {
  keyring: Keyring;
  admission: AdmissionStage;
  /** Output tokens reserved for a request that sets no maxOutputTokens. */
  defaultOutputTokens: number;
  /** How long a call may wait in queues (admission, coalescing, a connection) without X-Server-Timeout. */
  queueTimeoutMs: number;
  /** How long routing may take (attempts, backoff) when the client sends no X-Server-Timeout. */
  upstreamTimeoutMs: number;
  usage: UsageLedger;
  servedModels: ReadonlySet<string>;
  router: Router;
  cache: ResponseCache;
  coalescer: Coalescer;
  prices: PriceTable;
  tracing: Tracing;
  record: CallRecorder;
  logger: Logger;
  body: BodyLimits;
  lifecycle: Lifecycle;
  /** Tenant-owned resources: the ownership registry, batch staging, and their spend. */
  resources: ResourceDeps;
}

/**
 * Shared with the shutdown logic: draining refuses new calls; inflight lets shutdown report what it waits for; `cut`
 * aborts when the drain deadline comes, so calls still running end with an error the client can see (a stream's
 * last event) rather than a connection closed under them.
 */
export interface Lifecycle {
  draining: boolean;
  inflight: number;
  cut: AbortSignal;
}

export type ModelCallHandler = (req: IncomingMessage, res: ServerResponse, target: RouteTarget) => Promise<void>;

export function createPipeline(deps: PipelineDeps): ModelCallHandler {
  const { keyring, servedModels, tracing, logger, lifecycle } = deps;

  /** The model, served by the gateway and allowed for the tenant: 404 for an unknown model, 403 for one not allowed. */
  function resolveModel(call: Call, operation: Operation, model: string): ResolvedCall {
    const tenant = call.identity!.tenant;
    if (!MODEL_ID_PATTERN.test(model) || !servedModels.has(model)) throw errors.unknownModel(model);
    if (tenant.models && !tenant.models.has(model)) throw errors.modelNotAllowed(tenant.id, model);
    if (operation.servesModel && !operation.servesModel(model)) {
      throw errors.methodNotForModel(operation.name, model, operationsServing(model));
    }
    call.record.model = model;
    return { operation, model, apiVersion: call.target.apiVersion! };
  }
  const serve = createServe({ ...deps, cut: lifecycle.cut });
  const finish = createFinish(deps);

  return async function handle(req, res, target) {
    const { call, close } = openCall(req, res, target);
    const { trace, record: r } = call;
    try {
      refuseWhileDraining(call);
      call.identity = trace.stage("authenticate", () => keyring.authenticate(req.headers, req.rawHeaders));
      r.tenant = call.identity.tenant.id;
      r.keyId = call.identity.keyId;
      let operation = trace.stage("resolve", () => resolveOperation(target));
      r.method = operation.name;
      r.stream = operation.stream;
      // The model is in the path (Gemini surfaces), or in the body the surface decodes (decodeBody).
      if (target.model !== undefined) call.resolved = resolveModel(call, operation, target.model);
      let raw = await trace.stage("read_body", () => readBody(req, deps.body));
      r.http.requestBytes = raw.length;
      if (target.decodeBody) {
        const context = { tenant: call.identity.tenant, headers: req.headers };
        const decoded = await trace.stage("decode", () => target.decodeBody!(raw, context));
        raw = decoded.raw;
        if (decoded.method && decoded.method !== operation.name) {
          operation = resolveOperation({ ...target, method: decoded.method });
          r.method = operation.name;
          r.stream = operation.stream;
        }
        for (const name in decoded.headers) res.setHeader(name, decoded.headers[name]!);
        r.prompt = decoded.prompt;
        if (decoded.pregenerated) call.pregenerated = { entry: decoded.pregenerated, served: false };
        call.resolved = resolveModel(call, operation, decoded.model);
      }
      const resolved = call.resolved!;
      call.body = trace.stage("validate", () => operation.validate(raw, resolved.model));
      r.promptSha256 = promptFingerprint(call.body.doc);
      call.verdict = trace.stage("guard", () => guardCall(call));
      // A resource the request uses (a cache, a previous interaction): the tenant's own only; pins the call to it.
      await trace.stage("ownership", () => bindResource(call, deps.resources.registry));
      call.options = callOptions(req.headers, call.identity.tenant, resolved, call.body, deps);
      r.priority = call.options.priority;
      r.feature = call.options.feature;
      await serve(call);
      if (call.relayed?.clientClosed) call.failure = errors.clientClosed(); // recorded as 499, with what was relayed
    } catch (err) {
      call.failure = failureOf(call, err);
      if (!res.headersSent) {
        res.setHeader(OVERHEAD_HEADER, (performance.now() - call.started - call.upstream.waitMs).toFixed(3));
      }
      r.http.responseBytes += respondError(res, target.encoder, call.failure);
    } finally {
      close();
    }
    finish(call);
  };

  /**
   * The call context: ids, the server span, the record, and an abort that follows the client and the drain; `close`
   * removes the listeners once the response is done with.
   */
  function openCall(req: IncomingMessage, res: ServerResponse, target: RouteTarget): { call: Call; close(): void } {
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
    // The client going away aborts the upstream call (and so stops a stream mid-way); so does the drain deadline.
    const abort = new AbortController();
    const call: Call = {
      requestId,
      started,
      req,
      res,
      target,
      abort,
      trace,
      record: newRecord(requestId, target.surface, req, trace),
      upstream: { started: undefined, waitMs: 0, provider: undefined, attempts: 0, status: undefined },
    };
    const onClose = () => {
      if (!res.writableFinished) abort.abort();
    };
    const onCut = () => abort.abort();
    res.once("close", onClose);
    lifecycle.cut.addEventListener("abort", onCut, { once: true });
    const close = () => {
      res.off("close", onClose);
      lifecycle.cut.removeEventListener("abort", onCut);
      lifecycle.inflight--;
    };
    return { call, close };
  }

  /** The error to answer: the drain deadline's, the client's leaving, or what a stage threw (never a stack trace). */
  function failureOf(call: Call, err: unknown): GatewayError {
    if (lifecycle.cut.aborted) return errors.cutByShutdown();
    if (call.abort.signal.aborted) return errors.clientClosed();
    if (!(err instanceof GatewayError)) {
      logger.error(
        { requestId: call.requestId, err: { name: (err as Error)?.name, message: (err as Error)?.message } },
        "unexpected error",
      );
    }
    return toGatewayError(err);
  }

  function refuseWhileDraining(call: Call): void {
    if (!lifecycle.draining) return;
    call.res.setHeader("connection", "close");
    throw errors.draining();
  }
}

/** Stage: resolve. The operation the path names (operations.ts): 404 for an unknown version or operation. */
export function resolveOperation(target: RouteTarget): Operation {
  if (!target.apiVersion) throw errors.notFound(`API version "${target.version}"`);
  if (!target.method) throw errors.unsupportedMethod("(none; expected models/{model}:{method})");
  const operation = operationOf(target.method);
  if (!operation) throw errors.unsupportedMethod(target.method);
  return operation;
}

/** Stage: guard (guard.ts), for operations the table says are guarded; a flagged prompt is marked or blocked. */
function guardCall(call: Call): GuardVerdict {
  if (!call.resolved!.operation.guarded) return { injection: undefined, modelArmorConfig: undefined };
  const verdict = guard(call.body!, call.identity!.tenant);
  call.record.injection = verdict.injection;
  const blocked = injectionBlock(verdict);
  if (blocked) throw blocked;
  if (verdict.injection?.flagged && verdict.injection.action === "flag") {
    call.res.setHeader("x-gateway-flagged", "prompt-injection");
  }
  return verdict;
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
    usageEstimated: false,
    cost: undefined,
    unpriced: false,
    promptSha256: undefined,
    injection: undefined,
    admission: undefined,
    admissionScope: undefined,
    queuedMs: 0,
    priority: undefined,
    feature: undefined,
    prompt: undefined,
    modelArmorBlock: undefined,
    cache: "bypass",
    savedUsd: undefined,
    streamError: undefined,
    cutBy: undefined,
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
