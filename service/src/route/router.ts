/**
 * Stage: route. Sends one call to the upstreams its model is routed to (config/upstreams.ts), trying them in order
 * and trying again when it helps:
 *
 * - an attempt fails on 429, 500, 502, 503, 504, a network error or a per-attempt timeout (until the response head);
 *   400/401/403/404 and every other answer go straight back to the client, and nothing is retried once a response
 *   head has been accepted — so a stream is never retried after its first byte went out;
 * - the next attempt goes to the next upstream not tried yet (another region, another project, the OpenAI-compatible
 *   provider); only when all were tried does it come back to one, after a backoff with full jitter
 *   (cockatiel's ExponentialBackoff), never earlier than its Retry-After / RetryInfo, never past the call's deadline;
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
import { ExponentialBackoff, fullJitterGenerator } from "cockatiel";
import type { BreakerConfig, RetryConfig } from "../config/upstreams.js";
import type { Release } from "../upstream/connection-slots.js";
import type { Provider, UpstreamRequest, UpstreamResponse } from "../upstream/provider.js";
import { errors, GatewayError } from "../wire/errors.js";
import type { ModelMethod } from "../wire/gemini.js";
import { createBreaker, type BreakerOutcome, type BreakerState, type CircuitBreaker } from "./breaker.js";
import { createRetryBudget } from "./retry-budget.js";

/** An upstream the router may use, with what it can serve. */
export interface RoutedProvider {
  provider: Provider;
  /** Whether it serves this model and method (the OpenAI-compatible provider: mapped models, no countTokens). */
  supports(model: string, method: ModelMethod): boolean;
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
  /** The clock of breakers and deadlines (tests: fake time). */
  now?: () => number;
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
}

export interface Routed {
  response: UpstreamResponse;
  /** The upstream that answered (or failed last). */
  provider: Provider;
  /** The model that answered: the one asked for, or one of its fallbacks. */
  model: string;
  attempts: number;
}

const RETRYABLE = new Set([429, 500, 502, 503, 504]);
const MAX_ERROR_BODY = 64 * 1024;

/** A retryable answer, kept so the last one can be relayed when no attempt succeeds. */
class RetryableAnswer extends Error {
  constructor(
    readonly status: number,
    readonly body: Buffer,
    readonly contentType: string | undefined,
    readonly retryAfterHeader: string | undefined,
    /** From Retry-After or RetryInfo; undefined when neither said. */
    readonly retryAfterMs: number | undefined,
  ) {
    super(`upstream answered HTTP ${status}`);
  }
}

export function createRouter(o: RouterOptions) {
  const now = o.now ?? Date.now;
  const budget = createRetryBudget({ ratio: o.retry.budgetRatio });
  const breakers = new Map<string, CircuitBreaker>();
  const coolUntil = new Map<string, number>();
  const backoff = new ExponentialBackoff({
    generator: fullJitterGenerator,
    initialDelay: o.retry.baseDelayMs,
    maxDelay: o.retry.maxDelayMs,
  });

  function breakerOf(upstreamId: string, model: string): CircuitBreaker {
    const key = `${upstreamId}|${model}`;
    let b = breakers.get(key);
    if (!b) {
      b = createBreaker({
        ...o.breaker,
        now,
        onStateChange: (state) => o.onBreakerChange(upstreamId, model, state),
      });
      breakers.set(key, b);
    }
    return b;
  }

  /**
   * One attempt, holding a connection slot: resolves with an answer to relay; rejects with what is worth retrying or
   * what ends the call. The attempt's own timeout (until the response head) counts against the upstream; when the
   * call's deadline comes first, it is the client's deadline that cut the attempt, which counts against nobody.
   */
  async function attempt(p: Provider, req: RouteRequest, release: Release): Promise<UpstreamResponse> {
    const left = req.deadline - now();
    const cutBy = left < o.retry.attemptTimeoutMs ? "deadline" : "attempt";
    // One controller follows both the client (its abort) and the timer; cheaper on the hot path than AbortSignal.any.
    const ac = new AbortController();
    let timedOut = false;
    const onClientAbort = () => ac.abort();
    if (req.signal.aborted) ac.abort();
    else req.signal.addEventListener("abort", onClientAbort, { once: true });
    const timer = setTimeout(
      () => {
        timedOut = true;
        ac.abort();
      },
      Math.min(o.retry.attemptTimeoutMs, left),
    );
    try {
      const res = await p.send({ ...req, signal: ac.signal, release });
      clearTimeout(timer);
      if (!RETRYABLE.has(res.status)) return res; // the client's abort keeps reaching the body through `ac`
      const body = await readAtMost(res, MAX_ERROR_BODY);
      req.signal.removeEventListener("abort", onClientAbort);
      throw new RetryableAnswer(res.status, body, res.contentType, res.retryAfter, retryAfterMs(res.retryAfter, body));
    } catch (err) {
      clearTimeout(timer);
      req.signal.removeEventListener("abort", onClientAbort);
      if (timedOut && !req.signal.aborted) {
        throw cutBy === "deadline"
          ? errors.deadlineExceeded("while waiting for the upstream's answer")
          : errors.upstreamTimeout();
      }
      throw err;
    }
  }

  /** The route's upstreams that serve this model and method, worked out once per pair (models are a closed set). */
  const usable = new Map<string, readonly string[]>();
  function usableIds(model: string, method: ModelMethod): readonly string[] {
    const key = `${model}:${method}`;
    let ids = usable.get(key);
    if (!ids) {
      ids = o.routeOf(model).filter((id) => o.providers.get(id)?.supports(model, method));
      usable.set(key, ids);
    }
    return ids;
  }

  return {
    /**
     * Sends the call; resolves with the answer to relay (possibly the last upstream error), rejects with a
     * GatewayError. When every upstream of the model failed (a 5xx or 429 after the retries), the next model of
     * `fallbackModels` is tried the same way.
     */
    async send(req: RouteRequest): Promise<Routed> {
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
    states(): Record<string, BreakerState> {
      const out: Record<string, BreakerState> = {};
      for (const [key, b] of breakers) out[key] = b.state;
      return out;
    },
  };

  /** One model through its upstreams. */
  async function sendModel(req: RouteRequest): Promise<Routed> {
    const ids = usableIds(req.model, req.method);
    if (!ids.length) throw errors.unsupportedMethod(`${req.method} for ${req.model}`);
    const tried = new Map<string, number>(); // upstream id → attempts on it
    const skipped = new Set<string>(); // open circuit for this call
    let last: { provider: Provider; failure: unknown } | undefined;
    let attempts = 0;
    while (attempts < o.retry.maxAttempts && !req.signal.aborted) {
      const t = now();
      if (t >= req.deadline) {
        if (attempts === 0) throw errors.deadlineExceeded("before any upstream was called");
        break;
      }
      const usable = ids.filter((id) => !skipped.has(id));
      if (!usable.length) break;
      // An upstream not tried yet and not cooling; else the one whose cool-down ends first (backing off).
      const fresh = usable.find((id) => !tried.has(id) && (coolUntil.get(id) ?? 0) <= t);
      const id = fresh ?? usable.reduce((a, b) => ((coolUntil.get(a) ?? 0) <= (coolUntil.get(b) ?? 0) ? a : b));
      const breaker = breakerOf(id, req.model);
      if (!breaker.available()) {
        // Open, or half-open with a probe in flight: others go elsewhere rather than queue behind the probe.
        skipped.add(id);
        continue;
      }
      if (attempts > 0) {
        if (!budget.withdraw()) break;
        // A retry waits for the upstream's cool-down (Retry-After / RetryInfo), and backs off when it was tried.
        const again = tried.get(id) ?? 0;
        const wait = Math.max((coolUntil.get(id) ?? 0) - t, again > 0 ? backoffDelay(backoff, again) : 0);
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
        const response = await attempt(routed.provider, req, release);
        ticket.end("success"); // an answer, 2xx or a 4xx refusal: the upstream is up
        return { response, provider: routed.provider, model: req.model, attempts };
      } catch (err) {
        release(); // no-op when the provider already gave it back with the body
        ticket.end(req.signal.aborted ? "neutral" : outcomeOf(err as Error));
        if (req.signal.aborted) throw err;
        last = { provider: routed.provider, failure: err };
        if (err instanceof RetryableAnswer && err.retryAfterMs !== undefined) {
          coolUntil.set(id, Math.max(coolUntil.get(id) ?? 0, now() + err.retryAfterMs));
        }
        if (!(err instanceof RetryableAnswer) && err instanceof GatewayError && !err.retryable) throw err;
      }
    }
    if (!last) throw errors.circuitOpen(req.model);
    const f = last.failure;
    if (f instanceof RetryableAnswer) {
      return { response: replay(f), provider: last.provider, model: req.model, attempts };
    }
    throw f;
  }
}

export type Router = ReturnType<typeof createRouter>;

function backoffDelay(factory: ExponentialBackoff<unknown>, retry: number): number {
  let b = factory.next();
  for (let i = 1; i < retry; i++) b = b.next(undefined);
  return b.duration;
}

/**
 * What an attempt's failure says about the upstream. Its own failures count: 5xx answers, network errors, no
 * response head within the attempt timeout, a malformed answer. A 429 is a busy capacity pool, not a broken upstream
 * (Retry-After/RetryInfo cool it down instead); a client that left, the client's deadline, the gateway's own limits
 * and a request the provider refuses (the OpenAI-compatible one cannot translate a part) say nothing about its health.
 */
function outcomeOf(err: Error): BreakerOutcome {
  if (err instanceof RetryableAnswer) return err.status === 429 ? "busy" : "failure";
  if (err.name === "AbortError" || err.name === "RequestAbortedError") return "neutral";
  if (err instanceof GatewayError) return err.upstreamFault ? "failure" : "neutral";
  return "failure";
}

function reasonOf(failure: unknown): string {
  if (failure instanceof RetryableAnswer) return String(failure.status);
  if (failure instanceof GatewayError) return failure.httpCode === 504 ? "timeout" : "network";
  return "other";
}

function replay(f: RetryableAnswer): UpstreamResponse {
  const body = f.body;
  return {
    status: f.status,
    contentType: f.contentType,
    retryAfter: f.retryAfterHeader,
    body: Object.assign(
      (async function* () {
        yield body;
      })(),
      { destroy: () => undefined },
    ),
  };
}

async function readAtMost(res: UpstreamResponse, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= limit) {
      res.body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, limit);
}

/** Retry-After (seconds) or google.rpc.RetryInfo.retryDelay ("1.5s") from an error answer; the larger wins. */
export function retryAfterMs(header: string | undefined, body: Buffer): number | undefined {
  let ms: number | undefined;
  if (header && /^\d+(\.\d+)?$/.test(header.trim())) ms = Number(header) * 1000;
  if (body.includes("RetryInfo")) {
    try {
      const doc = JSON.parse(body.toString("utf8")) as {
        error?: { details?: { "@type"?: string; retryDelay?: string }[] };
      };
      for (const d of doc.error?.details ?? []) {
        const m = typeof d.retryDelay === "string" ? /^(\d+(?:\.\d+)?)s$/.exec(d.retryDelay) : null;
        if (d["@type"]?.endsWith("google.rpc.RetryInfo") && m) ms = Math.max(ms ?? 0, Number(m[1]) * 1000);
      }
    } catch {
      // not JSON: the header alone
    }
  }
  return ms;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
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
