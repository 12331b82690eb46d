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
 * - each upstream × model has a circuit breaker (cockatiel: consecutive failures or a failure ratio over the last
 *   calls — 5xx, timeouts and network errors; not 429s, not the provider's own 4xx refusals; half-open after a
 *   pause, one probe closes or re-opens it, and calls arriving meanwhile go to other upstreams); open ones are
 *   skipped;
 * - extra attempts are paid from a retry budget (route/retry-budget.ts).
 *
 * The answer says who served it and after how many attempts; accounting charges only the attempt that answered.
 */
import {
  BrokenCircuitError,
  CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  CountBreaker,
  ExponentialBackoff,
  fullJitterGenerator,
  handleWhen,
  circuitBreaker,
  type IBreaker,
} from "cockatiel";
import type { BreakerConfig, RetryConfig } from "../config/upstreams.js";
import type { Provider, UpstreamRequest, UpstreamResponse } from "../upstream/provider.js";
import { errors, GatewayError } from "../wire/errors.js";
import type { ModelMethod } from "../wire/gemini.js";
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
  onBreakerChange: (upstreamId: string, model: string, state: "closed" | "open" | "half-open") => void;
  /** Told when a call moves on to a fallback model. */
  onFallback?: (from: string, to: string) => void;
}

export interface RouteRequest extends Omit<UpstreamRequest, "signal"> {
  /** Models to fall back to, in order, when every upstream of `model` failed (the tenant's chain, e.g. pro → flash). */
  fallbackModels?: readonly string[];
  /** Epoch ms: no attempt starts, and no backoff waits, past this. */
  deadline: number;
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
  const budget = createRetryBudget({ ratio: o.retry.budgetRatio });
  const breakers = new Map<string, CircuitBreakerPolicy>();
  const coolUntil = new Map<string, number>();
  const backoff = new ExponentialBackoff({
    generator: fullJitterGenerator,
    initialDelay: o.retry.baseDelayMs,
    maxDelay: o.retry.maxDelayMs,
  });

  function breakerOf(upstreamId: string, model: string): CircuitBreakerPolicy {
    const key = `${upstreamId}|${model}`;
    let b = breakers.get(key);
    if (!b) {
      const breaker: IBreaker = new EitherBreaker(
        new ConsecutiveBreaker(o.breaker.consecutiveFailures),
        new CountBreaker({
          threshold: o.breaker.failureRatio,
          size: o.breaker.window,
          minimumNumberOfCalls: o.breaker.minimumCalls,
        }),
      );
      b = circuitBreaker(handleWhen(isUnhealthy), { halfOpenAfter: o.breaker.halfOpenAfterMs, breaker });
      b.onStateChange((s) => o.onBreakerChange(upstreamId, model, stateName(s)));
      breakers.set(key, b);
    }
    return b;
  }

  /** One attempt: resolves with an answer to relay; rejects (a breaker failure) with what is worth retrying. */
  async function attempt(p: Provider, req: RouteRequest): Promise<UpstreamResponse> {
    // The per-attempt timeout covers the wait for the response head only: a stream may then run for long. One
    // controller follows both the client (its abort) and the timer; cheaper on the hot path than AbortSignal.any.
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
      Math.min(o.retry.attemptTimeoutMs, req.deadline - Date.now()),
    );
    try {
      const res = await p.send({ ...req, signal: ac.signal });
      clearTimeout(timer);
      if (!RETRYABLE.has(res.status)) return res; // the client's abort keeps reaching the body through `ac`
      const body = await readAtMost(res, MAX_ERROR_BODY);
      req.signal.removeEventListener("abort", onClientAbort);
      throw new RetryableAnswer(res.status, body, res.contentType, res.retryAfter, retryAfterMs(res.retryAfter, body));
    } catch (err) {
      clearTimeout(timer);
      req.signal.removeEventListener("abort", onClientAbort);
      if (timedOut && !req.signal.aborted) throw errors.upstreamTimeout();
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
          if (last || req.signal.aborted || !(err instanceof GatewayError) || err.httpCode < 500) throw err;
        }
        o.onFallback?.(model, models[i + 1]!);
      }
      throw errors.internal(); // unreachable: the last model returns or throws
    },

    /** Breaker states for /readyz and the circuit metric: `upstream|model` → state. */
    states(): Record<string, "closed" | "open" | "half-open"> {
      const out: Record<string, "closed" | "open" | "half-open"> = {};
      for (const [key, b] of breakers) out[key] = stateName(b.state);
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
      const now = Date.now();
      const usable = ids.filter((id) => !skipped.has(id));
      if (!usable.length) break;
      // An upstream not tried yet and not cooling; else the one whose cool-down ends first (backing off).
      const fresh = usable.find((id) => !tried.has(id) && (coolUntil.get(id) ?? 0) <= now);
      const id = fresh ?? usable.reduce((a, b) => ((coolUntil.get(a) ?? 0) <= (coolUntil.get(b) ?? 0) ? a : b));
      const breaker = breakerOf(id, req.model);
      if (breaker.state === CircuitState.HalfOpen) {
        // One probe call is deciding whether this upstream is back; others go elsewhere rather than queue behind it
        // (cockatiel would make them wait for the probe, which can take as long as an attempt's timeout).
        skipped.add(id);
        continue;
      }
      if (attempts > 0) {
        if (!budget.withdraw()) break;
        // A retry waits for the upstream's cool-down (Retry-After / RetryInfo), and backs off when it was tried.
        const again = tried.get(id) ?? 0;
        const wait = Math.max((coolUntil.get(id) ?? 0) - now, again > 0 ? backoffDelay(backoff, again) : 0);
        if (now + wait >= req.deadline) break;
        if (wait > 0) await sleep(wait, req.signal);
        if (req.signal.aborted) break;
        o.onRetry(id, reasonOf(last?.failure));
      }
      const routed = o.providers.get(id)!;
      tried.set(id, (tried.get(id) ?? 0) + 1);
      try {
        const response = await breaker.execute(() => {
          attempts++; // only now is something sent (an open circuit throws before calling this)
          req.onAttempt?.(routed.provider);
          return attempt(routed.provider, req);
        });
        return { response, provider: routed.provider, model: req.model, attempts };
      } catch (err) {
        if (err instanceof BrokenCircuitError) {
          skipped.add(id);
          continue;
        }
        if (req.signal.aborted) throw err;
        last = { provider: routed.provider, failure: err };
        if (err instanceof RetryableAnswer && err.retryAfterMs !== undefined) {
          coolUntil.set(id, Math.max(coolUntil.get(id) ?? 0, Date.now() + err.retryAfterMs));
        }
        if (!(err instanceof RetryableAnswer) && err instanceof GatewayError && !isRetryableError(err)) throw err;
      }
    }
    if (!last) {
      throw errors.upstreamUnreachable(`no upstream for ${req.model} can take the call now (circuit open)`);
    }
    const f = last.failure;
    if (f instanceof RetryableAnswer) {
      return { response: replay(f), provider: last.provider, model: req.model, attempts };
    }
    throw f;
  }
}

export type Router = ReturnType<typeof createRouter>;

/** Opens when either breaker would: failures in a row, or too large a share of the last calls. */
class EitherBreaker implements IBreaker {
  constructor(
    private readonly a: IBreaker,
    private readonly b: IBreaker,
  ) {}
  get state(): unknown {
    return [this.a.state, this.b.state];
  }
  set state(value: unknown) {
    const [a, b] = value as [unknown, unknown];
    this.a.state = a;
    this.b.state = b;
  }
  success(state: CircuitState): void {
    this.a.success(state);
    this.b.success(state);
  }
  failure(state: CircuitState): boolean {
    const a = this.a.failure(state);
    const b = this.b.failure(state);
    return a || b;
  }
}

function stateName(s: CircuitState): "closed" | "open" | "half-open" {
  return s === CircuitState.Closed ? "closed" : s === CircuitState.HalfOpen ? "half-open" : "open";
}

function backoffDelay(factory: ExponentialBackoff<unknown>, retry: number): number {
  let b = factory.next();
  for (let i = 1; i < retry; i++) b = b.next(undefined);
  return b.duration;
}

/**
 * What a breaker counts as a failure: 5xx answers, timeouts and network errors. A 429 is a busy capacity pool, not a
 * broken upstream (Retry-After/RetryInfo cool it down instead), and a client that left says nothing about health.
 */
function isUnhealthy(err: Error): boolean {
  if (err instanceof RetryableAnswer) return err.status !== 429;
  if (err.name === "AbortError" || err.name === "RequestAbortedError") return false;
  // A request the provider refuses (the OpenAI-compatible one cannot translate a part): the client's doing.
  if (err instanceof GatewayError && err.httpCode < 500) return false;
  return true;
}

function isRetryableError(err: GatewayError): boolean {
  // Network failures and timeouts (503 UNAVAILABLE, 504 DEADLINE_EXCEEDED); a 502 malformed answer too.
  return err.httpCode === 503 || err.httpCode === 504 || err.httpCode === 502;
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
