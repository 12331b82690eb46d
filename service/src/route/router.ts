/**
 * Stage: route. Sends one call to the upstreams its model is routed to (config/upstreams.ts), trying them in order
 * and trying again when it helps:
 *
 * - an attempt fails on 429, 500, 502, 503, 504, a network error or a per-attempt timeout (until the response head);
 *   400/401/403/404 and every other answer go straight back to the client, and nothing is retried once a response
 *   head has been accepted — so a stream is never retried after its first byte went out;
 * - the next attempt goes to the next upstream not tried yet (another region, another project, the OpenAI-compatible
 *   provider); only when all were tried does it come back to one, after a backoff with full jitter
 *   (selection.ts), never earlier than its Retry-After / RetryInfo, never past the call's deadline;
 * - a 429 or 503 carrying Retry-After or RetryInfo cools that upstream for the whole instance for that long: new
 *   calls start at an upstream that is not cooling, and no retry goes to a cooling one before its time (when every
 *   upstream is cooling, a new call's first attempt still goes to the one ready first);
 * - each upstream × model has a circuit breaker (route/breaker.ts: consecutive failures or a failure ratio over the
 *   last calls). Only the upstream's own failures count — its 5xx, network errors, no response head within the
 *   attempt timeout the gateway chose; never a 429, the provider's own 4xx refusals, the client's deadline or
 *   cancellation, or the gateway's own limits (no connection free). Half-open after a pause: one probe closes or
 *   re-opens it, and calls arriving meanwhile go to other upstreams; open ones are skipped;
 * - an attempt first takes one of the upstream's connection slots (upstream/connection-slots.ts), waiting at most
 *   until the call's wait deadline (then 503 + Retry-After): the attempt timeout starts once it has one;
 * - extra attempts are paid from a retry budget (route/retry-budget.ts);
 * - the call's deadline (X-Server-Timeout) bounds everything: no attempt starts after it (504 DEADLINE_EXCEEDED,
 *   without calling any upstream when none was called yet), and an attempt cut by it is the client's deadline, not
 *   an upstream timeout.
 *
 * The answer says who served it and after how many attempts; accounting charges only the attempt that answered.
 */
import type { BreakerConfig, RetryConfig } from "../config/upstreams.js";
import type { Release } from "../upstream/connection-slots.js";
import type { Provider, UpstreamMethod, UpstreamRequest, UpstreamResponse } from "../upstream/provider.js";
import { errors, GatewayError } from "../wire/errors.js";
import { attempt, outcomeOf, reasonOf, replay, RetryableAnswer, worthRetrying } from "./attempt.js";
import { createBreakers, type BreakerState } from "./breaker.js";
import { createRetryBudget } from "./retry-budget.js";
import { createCooldowns, nextUpstream, waitBefore } from "./selection.js";

/** An upstream the router may use, with what it can serve. */
export interface RoutedProvider {
  provider: Provider;
  /** Whether it serves this model and method (the OpenAI-compatible provider: mapped models, no countTokens). */
  supports(model: string, method: UpstreamMethod): boolean;
}

export interface RouterOptions {
  /** Upstream id → provider. */
  providers: ReadonlyMap<string, RoutedProvider>;
  /** Model → upstream ids in order. */
  routeOf: (model: string) => readonly string[];
  retry: RetryConfig & { attemptTimeoutMs: number };
  breaker: BreakerConfig;
  /** Told about every retry (metrics) and every breaker state change (metrics, logs). */
  onRetry: (upstreamId: string, reason: string) => void;
  onBreakerChange: (upstreamId: string, model: string, state: BreakerState) => void;
  /** Told when a call moves on to a fallback model. */
  onFallback?: (from: string, to: string) => void;
  /** The clock of breakers, cool-downs, the retry budget and deadlines; default Date.now (tests: fake time). */
  now?: () => number;
  /** Waits before a retry, cut short by the signal; default a timer. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** The backoff's jitter, in [0, 1); default Math.random (tests: seeded). */
  random?: () => number;
}

export interface RouteRequest extends Omit<UpstreamRequest, "signal" | "release"> {
  /** Models to fall back to, in order, when every upstream of `model` failed (the tenant's chain, e.g. pro → flash). */
  fallbackModels?: readonly string[];
  /** Epoch ms: no attempt starts, no backoff waits, and no attempt runs past this (the client's deadline). */
  deadline: number;
  /** Epoch ms: how long a call may wait for a free upstream connection (like its wait for admission). */
  waitDeadline: number;
  signal: AbortSignal;
  /** Told before each attempt which upstream it goes to (so a failure can be recorded against it). */
  onAttempt?: (provider: Provider) => void;
  /**
   * The call uses an upstream resource (a context cache, an interaction, a batch job), which lives on one upstream:
   * only that upstream is tried, with no fallback model, and when it cannot answer the call fails saying so.
   */
  pin?: Pin;
}

/** The upstream a resource lives on (a RouterOptions.providers id), and the resource, for the error message. */
export interface Pin {
  upstream: string;
  resource: string;
}

export interface Routed {
  response: UpstreamResponse;
  /** The upstream that answered (or failed last). */
  provider: Provider;
  /** Its id in RouterOptions.providers: what a resource it created is pinned to. */
  upstream: string;
  /** The model that answered: the one asked for, or one of its fallbacks. */
  model: string;
  attempts: number;
}

export function createRouter(o: RouterOptions) {
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? sleepFor;
  const backoff = { baseDelayMs: o.retry.baseDelayMs, maxDelayMs: o.retry.maxDelayMs, random: o.random ?? Math.random };
  const budget = createRetryBudget({ ratio: o.retry.budgetRatio, now });
  const breakers = createBreakers(o.breaker, now, o.onBreakerChange);
  const cooldowns = createCooldowns();

  /** The route's upstreams that serve this model and method, worked out once per pair (models are a closed set). */
  const usable = new Map<string, readonly string[]>();
  function usableIds(model: string, method: UpstreamMethod): readonly string[] {
    const key = `${model}:${method}`;
    let ids = usable.get(key);
    if (!ids) {
      ids = o.routeOf(model).filter((id) => o.providers.get(id)?.supports(model, method));
      usable.set(key, ids);
    }
    return ids;
  }

  /** One model through its upstreams: the attempt loop. */
  async function sendModel(req: RouteRequest): Promise<Routed> {
    const pin = req.pin;
    const ids = pin
      ? o.providers.get(pin.upstream)?.supports(req.model, req.method)
        ? [pin.upstream]
        : []
      : usableIds(req.model, req.method);
    if (!ids.length) {
      if (pin) throw errors.pinnedUpstreamUnavailable(pin.resource, pin.upstream, "it is no longer configured");
      throw errors.unsupportedMethod(`${req.method} for ${req.model}`);
    }
    const tried = new Map<string, number>(); // upstream id → attempts on it
    const skipped = new Set<string>(); // open circuit for this call
    let last: { provider: Provider; id: string; failure: unknown } | undefined;
    let attempts = 0;
    while (attempts < o.retry.maxAttempts && !req.signal.aborted) {
      const t = now();
      if (t >= req.deadline) {
        if (attempts === 0) throw errors.deadlineExceeded("before any upstream was called");
        break;
      }
      const candidates = ids.filter((id) => !skipped.has(id));
      if (!candidates.length) break;
      const id = nextUpstream(candidates, tried, cooldowns, t);
      const breaker = breakers.of(id, req.model);
      if (!breaker.available()) {
        // Open, or half-open with a probe in flight: others go elsewhere rather than queue behind the probe.
        skipped.add(id);
        continue;
      }
      if (attempts > 0) {
        if (!budget.withdraw()) break;
        // A retry waits for the upstream's cool-down (Retry-After / RetryInfo), and backs off when it was tried.
        const wait = waitBefore(id, tried, cooldowns, t, backoff);
        if (t + wait >= req.deadline) break;
        if (wait > 0) await sleep(wait, req.signal);
        if (req.signal.aborted) break;
        o.onRetry(id, reasonOf(last?.failure));
      }
      const ticket = breaker.tryAcquire();
      if (!ticket) {
        skipped.add(id); // another call became the probe meanwhile
        continue;
      }
      const routed = o.providers.get(id)!;
      let release: Release;
      try {
        release = await routed.provider.slots.acquire(Math.min(req.waitDeadline, req.deadline), req.signal);
      } catch (err) {
        ticket.end("neutral"); // nothing was sent: the gateway's limit or the client's abort
        throw err;
      }
      tried.set(id, (tried.get(id) ?? 0) + 1);
      attempts++; // only now is something sent
      req.onAttempt?.(routed.provider);
      try {
        const response = await attempt(routed.provider, req, release, {
          attemptTimeoutMs: o.retry.attemptTimeoutMs,
          now,
        });
        ticket.end("success"); // an answer, 2xx or a 4xx refusal: the upstream is up
        return { response, provider: routed.provider, upstream: id, model: req.model, attempts };
      } catch (err) {
        release(); // no-op when the provider already gave it back with the body
        ticket.end(req.signal.aborted ? "neutral" : outcomeOf(err));
        if (req.signal.aborted) throw err;
        last = { provider: routed.provider, id, failure: err };
        if (err instanceof RetryableAnswer && err.retryAfterMs !== undefined)
          cooldowns.cool(id, now() + err.retryAfterMs);
        if (!worthRetrying(err)) throw err;
      }
    }
    if (!last) throw errors.circuitOpen(req.model);
    const f = last.failure;
    if (f instanceof RetryableAnswer) {
      return { response: replay(f), provider: last.provider, upstream: last.id, model: req.model, attempts };
    }
    throw f;
  }

  /**
   * A call on one upstream only: the resource it uses lives there. Failing over would reach an upstream that cannot
   * see it; so when that upstream cannot answer (unreachable, timing out, its circuit open) the call fails with a 503
   * naming the resource and the upstream, rather than the bare network error.
   */
  async function sendPinned(req: RouteRequest, pin: Pin): Promise<Routed> {
    budget.deposit();
    try {
      return await sendModel({ ...req, fallbackModels: undefined });
    } catch (err) {
      if (req.signal.aborted || !(err instanceof GatewayError) || err.httpCode < 500 || err.kind === "deadline")
        throw err;
      throw errors.pinnedUpstreamUnavailable(pin.resource, pin.upstream, err.message);
    }
  }

  return {
    /**
     * Sends the call; resolves with the answer to relay (possibly the last upstream error), rejects with a
     * GatewayError. When every upstream of the model failed (a 5xx or 429 after the retries), the next model of
     * `fallbackModels` is tried the same way.
     */
    async send(req: RouteRequest): Promise<Routed> {
      if (req.pin) return sendPinned(req, req.pin);
      const models = [req.model, ...(req.fallbackModels ?? [])];
      budget.deposit();
      let attempts = 0;
      for (const [i, model] of models.entries()) {
        const last = i === models.length - 1;
        try {
          const routed = await sendModel({ ...req, model });
          attempts += routed.attempts;
          const failed = routed.response.status >= 500 || routed.response.status === 429;
          if (last || !failed) return { ...routed, attempts };
          routed.response.body.destroy();
        } catch (err) {
          // Another model is worth a try when this one's upstreams failed or were unavailable — not when the
          // client's deadline passed or the request itself was refused.
          if (last || req.signal.aborted || !(err instanceof GatewayError) || err.httpCode < 500) throw err;
          if (err.kind === "deadline") throw err;
        }
        o.onFallback?.(model, models[i + 1]!);
      }
      throw errors.internal(); // unreachable: the last model returns or throws
    },

    /** Breaker states for /readyz and the circuit metric: `upstream|model` → state. */
    states: breakers.states,
    /** Upstreams cooling after a Retry-After / RetryInfo: id → when it ends (epoch ms). */
    coolingDown: () => cooldowns.active(now()),
  };
}

export type Router = ReturnType<typeof createRouter>;

/** A timer that ends early when the call is aborted. */
function sleepFor(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
