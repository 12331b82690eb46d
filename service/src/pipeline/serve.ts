/**
 * The stages that answer a checked call, in order:
 *
 *   cache lookup / coalesce → admit → route → relay → cache store
 *
 * A fresh cached answer is served at once (no admission, no upstream, no tokens). On a miss, identical concurrent
 * calls coalesce: one leads through admit, route and relay, the others wait for its stored answer. An expired entry
 * the tenant accepts (`cache.staleSeconds`) stands in when every upstream fails. Each stage is a function of the Call
 * that returns what it found; `serve` lists them.
 */
import { costOf, usdMicros } from "../accounting/cost.js";
import type { PriceTable } from "../accounting/prices.js";
import { CACHE_HEADER } from "../cache/cache-key.js";
import type { Coalescer } from "../cache/coalesce.js";
import type { CacheEntry, ResponseCache } from "../cache/response-cache.js";
import type { Router, Routed } from "../route/router.js";
import { genAiClientAttributes, type SpanHandle, type Tracing } from "../telemetry/tracing.js";
import { toGatewayError } from "../wire/errors.js";
import type { AdmissionStage, Hold } from "./admit.js";
import type { Call } from "./call.js";
import { remainingSeconds } from "./call-options.js";
import { gather } from "./gather.js";
import { relay, type RelayResult } from "./relay.js";
import { OVERHEAD_HEADER, respondCached } from "./respond.js";
import { attributionLabels } from "./validate.js";
import type { RouteRequest } from "../route/router.js";
import type { ExecuteContext, RelayHooks, ResourceDeps } from "./resources/context.js";

/** Response headers naming who served the call (`<provider>/<region>/<model>`) and after how many attempts. */
export const UPSTREAM_HEADER = "x-gateway-upstream";
export const ATTEMPTS_HEADER = "x-gateway-attempts";
/** How many upstream calls made the answer, when more than one may (embeddings fanned out per input). */
export const UPSTREAM_CALLS_HEADER = "x-gateway-upstream-calls";
/** Set on an answer the gateway had ready because every upstream failed: `pregenerated` (a critical prompt's). */
export const FALLBACK_HEADER = "x-gateway-fallback";

export interface ServeDeps {
  cache: ResponseCache;
  coalescer: Coalescer;
  admission: AdmissionStage;
  router: Router;
  prices: PriceTable;
  tracing: Tracing;
  /** Output tokens reserved for a request that sets no maxOutputTokens. */
  defaultOutputTokens: number;
  /** Aborts at the instance's drain deadline. */
  cut: AbortSignal;
  /** Tenant-owned resources: the registry, staging and spend outside a call's reconcile. */
  resources: ResourceDeps;
}

export function createServe(d: ServeDeps): (call: Call) => Promise<void> {
  /** Admission, routing and relay of this call; with a cache key, the clean answer is stored and returned. */
  async function forward(call: Call, key: string | undefined): Promise<CacheEntry | undefined> {
    if (call.resolved!.operation.estimate) call.hold = await admit(call);
    const span = call.trace.startChild(
      "upstream",
      d.tracing.recording
        ? genAiClientAttributes({ model: call.resolved!.model, method: call.resolved!.operation.upstreamMethod })
        : undefined,
    );
    if (call.resolved!.operation.gather) {
      call.relayed = await gatherAnswer(call, span); // several upstream calls, one answer (never cached)
      return undefined;
    }
    const execute = call.resolved!.operation.execute;
    if (execute) {
      // A resource operation (resources/operations.ts) makes its own upstream calls, each routed and relayed here.
      call.upstream.started = performance.now();
      const ctx: ExecuteContext = {
        send: async (o) => {
          const routed = await route(call, span, o);
          if (!routed) throw new Error("unreachable: no stale answer for a resource operation");
          return routed;
        },
        relay: (routed, hooks) => relayAnswer(call, routed, span, false, hooks),
        deps: d.resources,
      };
      call.relayed = await execute(call, ctx);
      span.end(call.relayed.clientClosed ? "client closed the request" : call.relayed.streamError);
      return undefined;
    }
    const routed = await route(call, span);
    if (!routed) return undefined; // every upstream failed and a stale answer was served
    call.relayed = await relayAnswer(call, routed, span, key !== undefined);
    return key === undefined ? undefined : store(call, key);
  }

  /** Stage: admit (admit.ts). Throws the 429 of a refusal; returns the token hold to settle after the call. */
  async function admit(call: Call): Promise<Hold | null> {
    const { identity, resolved, options, record: r } = call;
    const estimate = resolved!.operation.estimate!;
    const admitted = await call.trace.stage("admit", () =>
      d.admission.admit({
        tenant: identity!.tenant,
        model: resolved!.model,
        priority: resolved!.operation.batch ? "batch" : options!.priority,
        estimate: () => {
          call.estimate = estimate(call.body!.doc, d.defaultOutputTokens, resolved!.model);
          const batch = resolved!.operation.batch === true;
          const usage = { promptTokenCount: call.estimate.prompt, candidatesTokenCount: call.estimate.output };
          const cost = costOf(d.prices, resolved!.model, usage, batch ? "batch" : "standard");
          // A batch job's tokens are batch capacity, not the interactive tokens-per-minute: it holds none of them.
          return { tokens: batch ? 0 : call.estimate.total, usdMicros: usdMicros(cost?.totalUsd ?? 0) };
        },
        deadline: options!.waitDeadline,
        signal: call.abort.signal,
      }),
    );
    if (!admitted.admitted) {
      r.admission = admitted.scope === "spend" || admitted.scope === "budget" ? "over-budget" : "limited";
      r.admissionScope = admitted.scope;
      throw admitted.error;
    }
    r.admission = "admitted";
    r.queuedMs = admitted.queuedMs;
    for (const name in admitted.headers) call.res.setHeader(name, admitted.headers[name]!);
    return admitted.hold;
  }

  /**
   * Stage: route (route/router.ts). The upstream's answer to relay; undefined when every upstream failed and the
   * tenant's stale answer was served instead.
   */
  async function route(call: Call, span: SpanHandle, override?: Partial<RouteRequest>): Promise<Routed | undefined> {
    const { identity, resolved, options, body, verdict, upstream } = call;
    const op = resolved!.operation;
    upstream.started ??= performance.now();
    try {
      const routed = await d.router.send({
        model: resolved!.model,
        method: op.upstreamMethod,
        apiVersion: resolved!.apiVersion,
        body:
          override?.body ??
          op.upstreamBody(body!, {
            labels: attributionLabels(identity!.tenant, identity!.keyId, options!.feature),
            modelArmorConfig: verdict!.modelArmorConfig,
            cachedContent: call.pin?.upstreamName,
          }),
        pin: call.pin,
        ...override,
        serverTimeout: remainingSeconds(options!),
        traceparent: span.traceparent(),
        signal: call.abort.signal,
        deadline: options!.deadline,
        waitDeadline: options!.waitDeadline,
        fallbackModels: identity!.tenant.fallback.get(resolved!.model),
        onAttempt: (p) => {
          upstream.provider = p;
          upstream.attempts++;
        },
      });
      upstream.status = routed.response.status;
      if ((call.stale || call.pregenerated) && (routed.response.status >= 500 || routed.response.status === 429)) {
        // Every upstream failed, and the tenant accepts an answer past its TTL (or the prompt has a reviewed one).
        routed.response.body.destroy();
        span.end(`upstream answered HTTP ${routed.response.status}; ${lastResort(call)}`);
        return undefined;
      }
      return routed;
    } catch (err) {
      const failed = toGatewayError(err);
      if (
        (call.stale || call.pregenerated) &&
        !call.abort.signal.aborted &&
        !call.res.headersSent &&
        failed.httpCode >= 500
      ) {
        span.end(`${failed.status}; ${lastResort(call)}`);
        return undefined;
      }
      span.end(call.abort.signal.aborted ? "client closed the request" : toGatewayError(err).status);
      throw err;
    }
  }

  /** Stage: relay (relay.ts), through the surface's encoder. */
  async function relayAnswer(call: Call, routed: Routed, span: SpanHandle, capture: boolean, hooks?: RelayHooks) {
    const { res, record: r, upstream } = call;
    r.model = routed.model; // a fallback model is what is billed
    res.setHeader(UPSTREAM_HEADER, `${routed.provider.name}/${routed.provider.region}/${routed.model}`);
    res.setHeader(ATTEMPTS_HEADER, String(routed.attempts));
    if (d.tracing.recording) {
      span.setAttributes({ "gateway.upstream": routed.provider.id, "gateway.attempts": routed.attempts });
    }
    if (capture) res.setHeader(CACHE_HEADER, "miss");
    try {
      const relayed = await relay(routed.response, res, {
        encoder: call.target.encoder,
        stream: call.resolved!.operation.stream,
        beforeHead: (doneAt) => {
          upstream.waitMs = doneAt - upstream.started!;
          res.setHeader(OVERHEAD_HEADER, (performance.now() - call.started - upstream.waitMs).toFixed(3));
        },
        capture,
        cut: d.cut,
        hooks,
      });
      span.setAttributes({ "http.response.status_code": routed.response.status });
      if (!call.resolved!.operation.execute) {
        span.end(relayed.clientClosed ? "client closed the request" : relayed.streamError);
      }
      return relayed;
    } catch (err) {
      span.end(call.abort.signal.aborted ? "client closed the request" : toGatewayError(err).status);
      throw err;
    }
  }

  /** Stage: route + relay of an operation answered from several upstream calls (gather.ts). */
  async function gatherAnswer(call: Call, span: SpanHandle): Promise<RelayResult> {
    const { resolved, res, upstream } = call;
    upstream.started = performance.now();
    try {
      const relayed = await gather(
        call,
        resolved!.operation.gather!(call.body!, resolved!.model, call.target.surface),
        {
          router: d.router,
          cut: d.cut,
          traceparent: span.traceparent(),
          announce: (last, attempts, calls) => {
            res.setHeader(UPSTREAM_HEADER, `${last.provider.name}/${last.provider.region}/${last.model}`);
            res.setHeader(ATTEMPTS_HEADER, String(attempts));
            res.setHeader(UPSTREAM_CALLS_HEADER, String(calls));
            if (d.tracing.recording) {
              span.setAttributes({ "gateway.upstream": last.provider.id, "gateway.attempts": attempts });
            }
          },
        },
      );
      span.setAttributes({ "http.response.status_code": relayed.status });
      span.end(relayed.status >= 400 ? `upstream answered HTTP ${relayed.status}` : undefined);
      return relayed;
    } catch (err) {
      span.end(call.abort.signal.aborted ? "client closed the request" : toGatewayError(err).status);
      throw err;
    }
  }

  /**
   * Stage: cache store. A whole, clean answer is kept for the next identical call (before the coalescing lease is
   * released, so other instances waiting on it find it).
   */
  async function store(call: Call, key: string): Promise<CacheEntry | undefined> {
    const relayed = call.relayed!;
    if (!relayed.captured || relayed.status !== 200 || relayed.modelArmorBlock) return undefined;
    const model = call.record.model ?? call.resolved!.model;
    const entry: CacheEntry = {
      chunks: relayed.captured,
      model,
      usage: relayed.usage,
      costUsd: relayed.usage ? costOf(d.prices, model, relayed.usage)?.totalUsd : undefined,
      storedAt: Date.now(),
    };
    const tenant = call.identity!.tenant;
    await d.cache.set(key, entry, tenant.cache.ttlSeconds * 1000, tenant.cache.staleSeconds * 1000);
    return entry;
  }

  /**
   * When every upstream (and fallback model) failed: the tenant's stale answer, else the prompt's reviewed answer
   * (critical prompts, prompts/resolve.ts), marked `x-gateway-fallback: pregenerated`. Returns what was served.
   */
  function lastResort(call: Call): string {
    if (call.stale) {
      answerFromCache(call, call.stale.entry, "stale");
      return "served stale";
    }
    const pregenerated = call.pregenerated!;
    pregenerated.served = true;
    if (call.record.prompt) call.record.prompt.pregenerated = true;
    call.record.http.responseBytes = respondCached(call.res, call.target.encoder, pregenerated.entry, {
      stream: call.resolved!.operation.stream,
      headers: {
        [FALLBACK_HEADER]: "pregenerated",
        [OVERHEAD_HEADER]: (performance.now() - call.started).toFixed(3),
      },
    });
    return "served the pregenerated answer";
  }

  /** Answers from the cache: free, so no admission, no upstream, no tokens — only the spend it saved. */
  function answerFromCache(call: Call, entry: CacheEntry, kind: "hit" | "coalesced" | "stale"): void {
    call.fromCache = { kind, entry };
    call.record.http.responseBytes = respondCached(call.res, call.target.encoder, entry, {
      stream: call.resolved!.operation.stream,
      headers: {
        [CACHE_HEADER]: kind === "stale" ? "stale" : "hit",
        [OVERHEAD_HEADER]: (performance.now() - call.started).toFixed(3),
      },
    });
    call.record.savedUsd = entry.costUsd;
  }

  /** Stage: cache lookup / coalesce, then forward. */
  return async function serve(call: Call): Promise<void> {
    const key = call.options!.cacheKey;
    if (key === undefined) {
      call.res.setHeader(CACHE_HEADER, "bypass");
      await forward(call, undefined);
      return;
    }
    const found = await call.trace.stage("cache", () => d.cache.get(key));
    if (found?.fresh) return answerFromCache(call, found.entry, "hit");
    // An answer past its TTL is kept only for when every upstream fails, if the tenant accepts stale ones.
    const { ttlSeconds, staleSeconds } = call.identity!.tenant.cache;
    if (found && found.ageMs <= (ttlSeconds + staleSeconds) * 1000) call.stale = found;
    let leaderError: unknown;
    const flight = await d.coalescer.run(
      key,
      () =>
        forward(call, key).catch((err: unknown) => {
          leaderError = err; // this call's own failure; followers fall back to calling themselves
          return undefined;
        }),
      async () => {
        const h = await d.cache.get(key);
        return h?.fresh ? h.entry : undefined;
      },
      call.options!.waitDeadline, // waiting on another instance's identical call is bounded like any wait
    );
    if (flight.role === "leader" && leaderError !== undefined) throw leaderError;
    if (flight.role === "follower") {
      if (flight.value) answerFromCache(call, flight.value, "coalesced");
      else await forward(call, undefined); // the leader got no answer worth sharing: make the call
    }
  };
}
