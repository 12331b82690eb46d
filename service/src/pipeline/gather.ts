/**
 * Stage: route and relay, for operations whose answer is made from several upstream calls — an embedding request
 * with more inputs than one Vertex call takes (embed-vertex.ts). Each call goes through the router like any call
 * (retries, failover, breakers, connection slots, the call's deadline), without fallback models: another model's
 * vectors live in another space. At most GATHER_CONCURRENCY calls of one request run at once, in input order.
 *
 * The client gets one answer: the plan's, made from every call's answer in order, once all are in; or the first
 * upstream error, relayed as it came (status, body, Retry-After), the calls still running aborted — a client never
 * gets some of its vectors and a 200. A thrown failure (network, deadline, no connection) ends the call the same way.
 * Either way the calls that had answered are charged (Google bills them): the plan says what they used.
 */
import { MAX_UPSTREAM_CALLS_PER_REQUEST } from "../config/connections.js";
import type { UsageMetadataWire, ModelMethod } from "../wire/gemini.js";
import { errors } from "../wire/errors.js";
import type { Routed, Router } from "../route/router.js";
import type { Call } from "./call.js";
import { remainingSeconds } from "./call-options.js";
import { collect, relay, type RelayResult } from "./relay.js";
import { OVERHEAD_HEADER } from "./respond.js";

/** One upstream call of a gathered answer: the provider method, the body, and how many inputs it carries. */
export interface UpstreamCall {
  method: ModelMethod;
  body: Buffer;
  inputs: number;
}

/** The upstream calls an operation's request becomes, and how their answers (in call order) make the client's. */
export interface GatherPlan {
  calls: readonly UpstreamCall[];
  /** The client's answer and what the call used; throws a 502 when an upstream answer is not what it promises. */
  answer(bodies: readonly Buffer[]): { body: Buffer; usage: UsageMetadataWire };
  /**
   * What the calls that did answer used, when another failed: Google bills those, so the gateway does too (the
   * unanswered slots are undefined). Undefined when nothing can be read.
   */
  spent(bodies: readonly (Buffer | undefined)[]): UsageMetadataWire | undefined;
}

/** Upstream calls of one request in flight at once: a 100-input request holds at most this many connections. */
export const GATHER_CONCURRENCY = MAX_UPSTREAM_CALLS_PER_REQUEST;

/** An upstream answer larger than this is malformed (a 3072-float vector is ~70 KB of JSON). */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

export interface GatherOptions {
  router: Router;
  /** Aborts at the instance's drain deadline. */
  cut: AbortSignal;
  /** W3C trace context of the call's upstream span. */
  traceparent: string | undefined;
  /** Told once, before the answer is written: the upstream that answered last, and the attempts of all calls. */
  announce(last: Routed, attempts: number, calls: number): void;
}

export async function gather(call: Call, plan: GatherPlan, o: GatherOptions): Promise<RelayResult> {
  const { resolved, options, upstream, res, target } = call;
  const started = performance.now();
  // Aborted by the client (the call's own abort) or by the first failure, which stops the calls still running.
  const abort = new AbortController();
  const onClientAbort = () => abort.abort();
  call.abort.signal.addEventListener("abort", onClientAbort, { once: true });

  const bodies: Buffer[] = new Array<Buffer>(plan.calls.length);
  let failed: { routed: Routed } | { error: unknown } | undefined;
  let last: Routed | undefined;
  let attempts = 0;
  let next = 0;
  const fail = (f: { routed: Routed } | { error: unknown }) => {
    if (failed === undefined) {
      failed = f;
      abort.abort();
    } else if ("routed" in f) f.routed.response.body.destroy();
  };

  const worker = async (): Promise<void> => {
    while (failed === undefined && next < plan.calls.length) {
      const i = next++;
      const c = plan.calls[i]!;
      try {
        const routed = await o.router.send({
          model: resolved!.model,
          method: c.method,
          apiVersion: resolved!.apiVersion,
          body: c.body,
          serverTimeout: remainingSeconds(options!),
          traceparent: o.traceparent,
          signal: abort.signal,
          deadline: options!.deadline,
          waitDeadline: options!.waitDeadline,
          onAttempt: (p) => {
            upstream.provider = p;
            upstream.attempts++;
          },
        });
        attempts += routed.attempts;
        last = routed;
        upstream.status = routed.response.status;
        if (routed.response.status < 200 || routed.response.status >= 300) return fail({ routed });
        bodies[i] = await collect(routed.response, MAX_ANSWER_BYTES);
      } catch (err) {
        return fail({ error: err });
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(plan.calls.length, GATHER_CONCURRENCY) }, worker));
  } finally {
    call.abort.signal.removeEventListener("abort", onClientAbort);
  }

  if (call.abort.signal.aborted || (failed !== undefined && "error" in failed)) call.spent = plan.spent(bodies);
  if (call.abort.signal.aborted) throw errors.clientClosed();
  const beforeHead = (doneAt: number) => {
    upstream.waitMs = doneAt - upstream.started!;
    res.setHeader(OVERHEAD_HEADER, (performance.now() - call.started - upstream.waitMs).toFixed(3));
  };
  if (failed !== undefined && "error" in failed) throw failed.error;
  o.announce(last!, attempts, plan.calls.length);
  if (failed !== undefined) {
    // The first upstream error is the answer, as it came (the other calls were stopped); the calls that had
    // answered are still charged.
    const relayed = await relay(failed.routed.response, res, {
      encoder: target.encoder,
      stream: false,
      beforeHead,
      capture: false,
      cut: o.cut,
    });
    return { ...relayed, usage: plan.spent(bodies) };
  }
  beforeHead(performance.now());
  let answered: { body: Buffer; usage: UsageMetadataWire };
  try {
    answered = plan.answer(bodies);
  } catch (err) {
    call.spent = plan.spent(bodies); // a malformed answer (502): the well-formed ones are still billed
    throw err;
  }
  const { body, usage } = answered;
  const out = target.encoder.unary(body, usage);
  res.writeHead(200, { "content-type": target.encoder.unaryContentType, "content-length": out.length });
  res.end(out);
  return {
    status: 200,
    usage,
    modelArmorBlock: undefined,
    responseBytes: out.length,
    firstChunkMs: performance.now() - started,
    streamError: undefined,
    clientClosed: false,
    cutByShutdown: false,
    producedOutputTokens: 0,
    captured: undefined,
  };
}
