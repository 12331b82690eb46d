/**
 * The request path, top to bottom. Every model call from every surface goes through `handle`, in this order:
 *
 *   authenticate → resolve target (model served and allowed) → read body → validate → guard (injection scan,
 *   Model Armor policy) → request headers (priority, feature, deadline) → cache lookup / coalesce → admit (budget
 *   kill switch, spend and shared limits, token reservation, queue) → route (upstreams, retries, breakers,
 *   fallback models) → relay → cache store → reconcile (tokens, cost, settle the reservation) → record (audit +
 *   metrics)
 *
 * `record` is the one exit path, success or error. docs/lifecycle.md lists each stage with the statuses it can
 * produce. Each stage is a small module; this file only orders them, times them (one trace span each) and collects
 * what the record needs.
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
import type { Router } from "../route/router.js";
import { errors, GatewayError, statusForHttp, toGatewayError } from "../wire/errors.js";
import type { Logger } from "../telemetry/logger.js";
import type { Keyring } from "./authenticate.js";
import type { RouteTarget } from "./call.js";
import { guard, injectionBlock } from "./guard.js";
import type { AdmissionStage } from "./admit.js";
import { estimateTokens, type TokenEstimate } from "../accounting/estimate.js";
import type { Hold } from "./admit.js";
import type { Priority, Tenant } from "../config/tenants.js";
import type { UsageLedger } from "../accounting/usage.js";
import { readBody, type BodyLimits } from "./read-body.js";
import { CACHE_HEADER, cacheDecision, cacheKey } from "../cache/cache-key.js";
import {
  streamChunks,
  unaryBody,
  type CacheEntry,
  type CacheHit,
  type ResponseCache,
} from "../cache/response-cache.js";
import type { Coalescer } from "../cache/coalesce.js";
import { relay, type RelayResult } from "./relay.js";
import { attributionLabels, requestBody, resolveTarget, validateBody } from "./validate.js";

export interface PipelineDeps {
  keyring: Keyring;
  admission: AdmissionStage;
  /** Output tokens reserved for a request that sets no maxOutputTokens. */
  defaultOutputTokens: number;
  /** How long a call may wait for admission when the client sends no X-Server-Timeout. */
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

/** Response headers naming who served the call (`<provider>/<region>/<model>`) and after how many attempts. */
export const UPSTREAM_HEADER = "x-gateway-upstream";
export const ATTEMPTS_HEADER = "x-gateway-attempts";

/** Response header with the gateway's own time (ms) up to the response head: lets load tests compute overhead. */
export const OVERHEAD_HEADER = "x-gateway-overhead-ms";

export function createPipeline(deps: PipelineDeps): ModelCallHandler {
  const { keyring, servedModels, router, tracing, logger, lifecycle } = deps;

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

    // The client going away aborts the upstream call (and so stops a stream mid-way); so does the drain deadline.
    const abort = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) abort.abort();
    };
    const onCut = () => abort.abort();
    res.once("close", onClose);
    lifecycle.cut.addEventListener("abort", onCut, { once: true });

    // What the record needs, filled in as stages succeed.
    const r: CallRecord = newRecord(requestId, target.surface, req, trace);
    let result: RelayResult | undefined;
    let failure: GatewayError | undefined;
    let upstreamStarted: number | undefined;
    let served: Provider | undefined; // the upstream of the last attempt
    let attempts = 0;
    let upstreamStatus: number | undefined;
    let upstreamWaitMs = 0; // until the upstream's part of the response head was known (see relay's BeforeHead)
    let hold = null as Hold | null; // set inside forward(), a closure: keep TypeScript from narrowing it to null
    let estimate: TokenEstimate | undefined;
    let requestDoc: Readonly<Record<string, unknown>> | undefined;
    let fromCache: "hit" | "coalesced" | "stale" | undefined;
    try {
      if (lifecycle.draining) {
        res.setHeader("connection", "close");
        throw errors.draining();
      }
      const { tenant, keyId } = trace.stage("authenticate", () => keyring.authenticate(req.headers, req.rawHeaders));
      r.tenant = tenant.id;
      r.keyId = keyId;
      const resolved = trace.stage("resolve", () => resolveTarget(target, tenant, servedModels));
      r.model = resolved.model;
      r.method = resolved.method;
      r.stream = resolved.stream;
      const raw = await trace.stage("read_body", () => readBody(req, deps.body));
      r.http.requestBytes = raw.length;
      const body = trace.stage("validate", () => validateBody(resolved.method, raw));
      requestDoc = body.doc;
      r.promptSha256 = promptFingerprint(body.doc);
      const verdict = trace.stage("guard", () => guard(body, tenant));
      r.injection = verdict.injection;
      const blocked = injectionBlock(verdict);
      if (blocked) throw blocked;
      if (verdict.injection?.flagged && verdict.injection.action === "flag") {
        res.setHeader("x-gateway-flagged", "prompt-injection");
      }
      const priority = priorityOf(req.headers[PRIORITY_HEADER], tenant);
      r.priority = priority;
      r.feature = featureOf(req.headers[FEATURE_HEADER], tenant);
      // The client's X-Server-Timeout bounds both the wait for admission and the routing (retries, backoff); without
      // it, admission waits at most GATEWAY_QUEUE_TIMEOUT_MS and routing gets the upstream timeout.
      const clientTimeout = serverTimeoutMs(req.headers["x-server-timeout"]);
      const queueDeadline = Date.now() + (clientTimeout ?? deps.queueTimeoutMs);
      const deadline = Date.now() + (clientTimeout ?? deps.upstreamTimeoutMs);
      // Cache (cache/): a fresh answer is served as it is; identical concurrent calls share one upstream call.
      const cacheUse =
        resolved.method !== "countTokens" &&
        cacheDecision(body.doc, {
          xGatewayCache: headerString(req.headers[CACHE_HEADER]),
          cacheControl: headerString(req.headers["cache-control"]),
        }) === "use";
      let stale: CacheHit | undefined;
      /** Answers from the cache: free, so no admission, no upstream, no tokens — only the spend it saved. */
      const serveCached = (entry: CacheEntry, kind: "hit" | "coalesced" | "stale"): void => {
        fromCache = kind;
        const out = resolved.stream
          ? encodeStream(streamChunks(entry), resolved.streamEncoding)
          : Buffer.from(unaryBody(entry));
        res.writeHead(200, {
          "content-type": resolved.stream && resolved.streamEncoding === "sse" ? "text/event-stream" : JSON_TYPE,
          "content-length": out.length,
          [CACHE_HEADER]: kind === "stale" ? "stale" : "hit",
          [OVERHEAD_HEADER]: (performance.now() - started).toFixed(3),
        });
        res.end(out);
        r.http.responseBytes = out.length;
        r.savedUsd = entry.costUsd;
      };

      /** Admission, routing and relay of this call; with a cache key, the clean answer is stored and returned. */
      const forward = async (key: string | undefined): Promise<CacheEntry | undefined> => {
        if (resolved.method !== "countTokens") {
          const admitted = await trace.stage("admit", () =>
            deps.admission.admit({
              tenant,
              model: resolved.model,
              priority,
              estimate: () => {
                estimate = estimateTokens(body.doc, deps.defaultOutputTokens);
                const cost = costOf(deps.prices, resolved.model, {
                  promptTokenCount: estimate.prompt,
                  candidatesTokenCount: estimate.output,
                });
                return { tokens: estimate.total, usdMicros: usdMicros(cost?.totalUsd ?? 0) };
              },
              deadline: queueDeadline,
              signal: abort.signal,
            }),
          );
          if (!admitted.admitted) {
            r.admission = admitted.scope === "spend" || admitted.scope === "budget" ? "over-budget" : "limited";
            r.admissionScope = admitted.scope;
            throw admitted.error;
          }
          r.admission = "admitted";
          r.queuedMs = admitted.queuedMs;
          hold = admitted.hold;
          for (const name in admitted.headers) res.setHeader(name, admitted.headers[name]!);
        }
        const upstreamBody = requestBody(body, {
          labels: attributionLabels(tenant, keyId, r.feature),
          modelArmorConfig: verdict.modelArmorConfig,
        });

        const span = trace.startChild(
          "upstream",
          tracing.recording
            ? {
                ...genAiClientAttributes({ model: resolved.model, method: resolved.method }),
              }
            : undefined,
        );
        upstreamStarted = performance.now();
        try {
          const routed = await router.send({
            model: resolved.model,
            method: resolved.method,
            apiVersion: resolved.apiVersion,
            body: upstreamBody,
            serverTimeout: remainingSeconds(req.headers["x-server-timeout"], deadline),
            traceparent: span.traceparent(),
            signal: abort.signal,
            deadline,
            waitDeadline: queueDeadline,
            fallbackModels: tenant.fallback.get(resolved.model),
            onAttempt: (p) => {
              served = p;
              attempts++;
            },
          });
          const upstream = routed.response;
          upstreamStatus = upstream.status;
          if (stale && (upstream.status >= 500 || upstream.status === 429)) {
            // Every upstream failed, and the tenant accepts an answer past its TTL rather than an error.
            upstream.body.destroy();
            span.end(`upstream answered HTTP ${upstream.status}; served stale`);
            serveCached(stale.entry, "stale");
            return undefined;
          }
          r.model = routed.model; // a fallback model is what is billed
          res.setHeader(UPSTREAM_HEADER, `${routed.provider.name}/${routed.provider.region}/${routed.model}`);
          res.setHeader(ATTEMPTS_HEADER, String(routed.attempts));
          if (tracing.recording)
            span.setAttributes({ "gateway.upstream": routed.provider.id, "gateway.attempts": routed.attempts });
          if (key !== undefined) res.setHeader(CACHE_HEADER, "miss");
          result = await relay(upstream, res, {
            stream: resolved.stream,
            encoding: resolved.streamEncoding,
            beforeHead: (doneAt) => {
              upstreamWaitMs = doneAt - upstreamStarted!;
              res.setHeader(OVERHEAD_HEADER, (performance.now() - started - upstreamWaitMs).toFixed(3));
            },
            capture: key !== undefined,
            cut: lifecycle.cut,
          });
          span.setAttributes({ "http.response.status_code": upstream.status });
          span.end(result.clientClosed ? "client closed the request" : result.streamError);
          if (result.clientClosed) failure = errors.clientClosed(); // recorded as 499, with what was relayed
        } catch (err) {
          if (stale && !abort.signal.aborted && !res.headersSent && toGatewayError(err).httpCode >= 500) {
            span.end(`${toGatewayError(err).status}; served stale`);
            serveCached(stale.entry, "stale");
            return undefined;
          }
          span.end(abort.signal.aborted ? "client closed the request" : toGatewayError(err).status);
          throw err;
        }
        // A whole, clean answer is kept for the next identical call (before the coalescing lease is released, so
        // other instances waiting on it find it).
        const captured = result.captured;
        if (key === undefined || !captured || result.status !== 200 || result.modelArmorBlock) return undefined;
        const servedModel = r.model ?? resolved.model;
        const entry: CacheEntry = {
          chunks: captured,
          model: servedModel,
          usage: result.usage,
          costUsd: result.usage ? costOf(deps.prices, servedModel, result.usage)?.totalUsd : undefined,
          storedAt: Date.now(),
        };
        await deps.cache.set(key, entry, tenant.cache.ttlSeconds * 1000, tenant.cache.staleSeconds * 1000);
        return entry;
      };

      if (!cacheUse) {
        res.setHeader(CACHE_HEADER, "bypass");
        await forward(undefined);
      } else {
        const key = cacheKey(tenant.id, resolved.model, body.doc);
        const found = await trace.stage("cache", () => deps.cache.get(key));
        if (found?.fresh) serveCached(found.entry, "hit");
        else {
          // An answer past its TTL is kept only for when every upstream fails, if the tenant accepts stale ones.
          if (found && found.ageMs <= (tenant.cache.ttlSeconds + tenant.cache.staleSeconds) * 1000) stale = found;
          let leaderError: unknown;
          const flight = await deps.coalescer.run(
            key,
            () =>
              forward(key).catch((err: unknown) => {
                leaderError = err; // this call's own failure; followers fall back to calling themselves
                return undefined;
              }),
            async () => {
              const h = await deps.cache.get(key);
              return h?.fresh ? h.entry : undefined;
            },
            queueDeadline, // waiting on another instance's identical call is bounded like waiting for admission
          );
          if (flight.role === "leader" && leaderError !== undefined) throw leaderError;
          if (flight.role === "follower") {
            if (flight.value) serveCached(flight.value, "coalesced");
            else await forward(undefined); // the leader got no answer worth sharing: make the call
          }
        }
      }
    } catch (err) {
      failure = lifecycle.cut.aborted
        ? errors.cutByShutdown()
        : abort.signal.aborted
          ? errors.clientClosed()
          : toGatewayError(err);
      if (!(err instanceof GatewayError) && !abort.signal.aborted) {
        logger.error(
          { requestId, err: { name: (err as Error)?.name, message: (err as Error)?.message } },
          "unexpected error",
        );
      }
      if (!res.headersSent) res.setHeader(OVERHEAD_HEADER, (performance.now() - started - upstreamWaitMs).toFixed(3));
      r.http.responseBytes += writeError(res, failure);
    } finally {
      res.off("close", onClose);
      lifecycle.cut.removeEventListener("abort", onCut);
      lifecycle.inflight--;
    }

    // Reconcile and record: the one exit path.
    const ended = performance.now();
    const upstreamMs = upstreamStarted === undefined ? 0 : ended - upstreamStarted;
    r.status = failure?.httpCode ?? result?.status ?? (fromCache ? 200 : 0);
    r.cache = fromCache ?? (res.getHeader(CACHE_HEADER) === "miss" ? "miss" : "bypass");
    r.durationMs = ended - started;
    // A stream waits on the upstream until its last chunk (relaying interleaves with it); a unary call until the
    // whole answer is in, after which writing it out is the gateway's time.
    r.overheadMs = r.durationMs - (r.stream ? upstreamMs : upstreamWaitMs);
    if (served) {
      const relayStarted = upstreamStarted! + upstreamWaitMs;
      r.upstream = {
        id: served.id,
        provider: served.name,
        region: served.region,
        attempts,
        status: upstreamStatus,
        outcome: upstreamOutcome(upstreamStatus, abort.signal.aborted || failure?.kind === "deadline"),
        durationMs: upstreamMs,
        firstChunkMs:
          r.stream && result?.firstChunkMs !== undefined ? relayStarted - started + result.firstChunkMs : undefined,
      };
    }
    if (failure) r.error = { status: failure.status, message: failure.message, kind: failure.kind };
    else if (result && result.status >= 400) {
      r.error = { status: statusForHttp(result.status), message: `upstream answered HTTP ${result.status}` };
    }
    if (result) {
      r.http.responseBytes = result.responseBytes;
      r.streamError = result.streamError;
      r.cutBy = result.clientClosed ? "client" : result.cutByShutdown ? "shutdown" : undefined;
      r.modelArmorBlock = result.modelArmorBlock;
      // A stream cut before its final chunk has no output count: charge the prompt (as reported, else estimated)
      // and the output estimated from the text relayed (accounting/estimate.ts) — what was produced, not the hold.
      const cut = r.stream && (result.clientClosed || result.streamError !== undefined);
      const usage =
        cut && result.usage?.candidatesTokenCount === undefined
          ? {
              promptTokenCount:
                result.usage?.promptTokenCount ?? (estimate ?? estimateTokens(requestDoc ?? {}, 0)).prompt,
              candidatesTokenCount: result.producedOutputTokens,
            }
          : result.usage;
      r.usageEstimated = usage !== result.usage;
      r.tokens = tokenUsageOf(usage);
      if (usage && r.model) {
        r.cost = costOf(deps.prices, r.model, usage);
        r.unpriced = r.cost === undefined;
      }
      if (r.tokens && r.tenant && r.model) deps.usage.add(r.tenant, r.model, r.tokens, r.cost, r.feature);
    }
    if (fromCache && r.tenant && r.model) deps.usage.addCacheHit(r.tenant, r.model, r.savedUsd, r.feature);
    if (hold) {
      // Actual tokens when the answer said (or, for a cut stream, what was produced); the estimate when a unary
      // answer carried no usage; nothing when the call failed (upstream errors are not billed).
      const used = r.tokens ? totalTokens(r.tokens) : result && result.status < 400 ? hold.reservation.amount : 0;
      deps.admission.settle(hold, used);
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

const JSON_TYPE = "application/json; charset=UTF-8";

/** Cached chunks as the client asked for them: SSE events, or Google's progressive JSON array. */
function encodeStream(chunks: readonly string[], encoding: "sse" | "array"): Buffer {
  return Buffer.from(
    encoding === "sse" ? chunks.map((c) => `data: ${c}\r\n\r\n`).join("") : `[${chunks.join("\n,\r\n")}\n]`,
  );
}

/**
 * Writes the Gemini error envelope if nothing has been sent yet; otherwise ends the response. Returns the bytes of
 * body written (for the audit record).
 */
export function writeError(res: ServerResponse, err: GatewayError): number {
  if (res.headersSent) {
    if (!res.writableEnded) res.end();
    return 0;
  }
  const body = JSON.stringify(err.toEnvelope());
  const bytes = Buffer.byteLength(body);
  res.writeHead(err.httpCode, {
    ...err.headers,
    "content-type": "application/json; charset=UTF-8",
    "content-length": bytes,
  });
  res.end(body);
  return bytes;
}

function headerString(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** `X-Server-Timeout: <seconds>` as the SDK sends it, in ms; anything else is ignored (and not forwarded). */
function serverTimeoutMs(v: string | string[] | undefined): number | undefined {
  const s = headerString(v)?.trim();
  return s && /^\d{1,6}(\.\d{1,9})?$/.test(s) ? Number(s) * 1000 : undefined;
}

/** The client's X-Server-Timeout less the time already spent (queueing), for the upstream; at least 1 s. */
function remainingSeconds(v: string | string[] | undefined, deadline: number): string | undefined {
  if (serverTimeoutMs(v) === undefined) return undefined;
  return String(Math.max(1, Math.ceil((deadline - Date.now()) / 1000)));
}

/** `x-gateway-priority`: a client may lower its tenant's priority to batch, never raise it. */
export const PRIORITY_HEADER = "x-gateway-priority";
/** `x-gateway-feature`: a feature label from the tenant's list, for cost attribution. */
export const FEATURE_HEADER = "x-gateway-feature";

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
