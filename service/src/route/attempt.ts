/**
 * One attempt at one upstream, while the call holds one of its connection slots: what the provider answered, and
 * what the answer says — a response to relay, a retryable answer kept for later, or an error that ends the call — and
 * what it says about the upstream's health (its breaker outcome).
 */
import type { Release } from "../upstream/connection-slots.js";
import type { Provider, UpstreamRequest, UpstreamResponse } from "../upstream/provider.js";
import { errors, GatewayError } from "../wire/errors.js";
import type { BreakerOutcome } from "./breaker.js";

/** Answers worth another attempt (elsewhere, or later). */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);
/** How much of a retryable answer's body is kept, to relay the last one as it was. */
const MAX_ERROR_BODY = 64 * 1024;

/** A retryable answer, kept so the last one can be relayed when no attempt succeeds. */
export class RetryableAnswer extends Error {
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

export interface AttemptRequest extends Omit<UpstreamRequest, "release"> {
  /** Epoch ms: the call's deadline (the client's). */
  deadline: number;
}

export interface AttemptOptions {
  /** The upstream's time budget until the response head (the gateway's choice). */
  attemptTimeoutMs: number;
  now: () => number;
}

/**
 * Sends once. Resolves with an answer to relay; rejects with a RetryableAnswer or an error. The attempt's own timeout
 * (until the response head) is the upstream's fault; when the call's deadline comes first, it is the client's
 * deadline that cut the attempt (504 DEADLINE_EXCEEDED, kind `deadline`), which counts against nobody.
 */
export async function attempt(
  p: Provider,
  req: AttemptRequest,
  release: Release,
  o: AttemptOptions,
): Promise<UpstreamResponse> {
  const left = req.deadline - o.now();
  const cutBy = left < o.attemptTimeoutMs ? "deadline" : "attempt";
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
    Math.min(o.attemptTimeoutMs, left),
  );
  try {
    const res = await p.send({ ...req, signal: ac.signal, release });
    clearTimeout(timer);
    if (!RETRYABLE_STATUSES.has(res.status)) return res; // the client's abort keeps reaching the body through `ac`
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

/**
 * What an attempt's failure says about the upstream. Its own failures count: 5xx answers, network errors, no
 * response head within the attempt timeout, a malformed answer. A 429 is a busy capacity pool, not a broken upstream
 * (Retry-After/RetryInfo cool it down instead); a client that left, the client's deadline, the gateway's own limits
 * and a request the provider refuses (the OpenAI-compatible one cannot translate a part) say nothing about its health.
 */
export function outcomeOf(err: unknown): BreakerOutcome {
  if (err instanceof RetryableAnswer) return err.status === 429 ? "busy" : "failure";
  if ((err as Error)?.name === "AbortError" || (err as Error)?.name === "RequestAbortedError") return "neutral";
  if (err instanceof GatewayError) return err.upstreamFault ? "failure" : "neutral";
  return "failure";
}

/** Whether another attempt may help after this failure. */
export function worthRetrying(err: unknown): boolean {
  return err instanceof RetryableAnswer || !(err instanceof GatewayError) || err.retryable;
}

/** The retry metric's reason label. */
export function reasonOf(failure: unknown): string {
  if (failure instanceof RetryableAnswer) return String(failure.status);
  if (failure instanceof GatewayError) return failure.httpCode === 504 ? "timeout" : "network";
  return "other";
}

/** The last retryable answer as a response to relay, as the upstream sent it. */
export function replay(f: RetryableAnswer): UpstreamResponse {
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
