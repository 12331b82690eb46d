/**
 * The last two stages of every call, success or failure — the one exit path:
 *
 *   reconcile (tokens and cost from what was relayed; the token hold settled to it; usage counters) → record (the
 *   audit record and metrics, telemetry/recorder.ts)
 */
import { costOf, tokenUsageOf, totalTokens } from "../accounting/cost.js";
import { estimateTokens } from "../accounting/estimate.js";
import type { PriceTable } from "../accounting/prices.js";
import type { UsageLedger } from "../accounting/usage.js";
import { upstreamOutcome } from "../telemetry/metrics.js";
import type { CallRecorder } from "../telemetry/recorder.js";
import type { Tracing } from "../telemetry/tracing.js";
import { statusForHttp } from "../wire/errors.js";
import type { AdmissionStage } from "./admit.js";
import type { Call } from "./call.js";

export interface FinishDeps {
  prices: PriceTable;
  usage: UsageLedger;
  admission: AdmissionStage;
  tracing: Tracing;
  record: CallRecorder;
}

export function createFinish(d: FinishDeps): (call: Call) => void {
  /** Stage: reconcile. What the call used and cost, from what was relayed; settles the token hold. */
  function reconcile(call: Call): void {
    const { record: r, relayed } = call;
    if (relayed) {
      r.http.responseBytes = relayed.responseBytes;
      r.streamError = relayed.streamError;
      r.cutBy = relayed.clientClosed ? "client" : relayed.cutByShutdown ? "shutdown" : undefined;
      r.modelArmorBlock = relayed.modelArmorBlock;
      // A stream cut before its final chunk has no output count: charge the prompt (as reported, else estimated)
      // and the output estimated from the text relayed (accounting/estimate.ts) — what was produced, not the hold.
      const cut = r.stream && (relayed.clientClosed || relayed.streamError !== undefined);
      const usage =
        cut && relayed.usage?.candidatesTokenCount === undefined
          ? {
              promptTokenCount:
                relayed.usage?.promptTokenCount ?? (call.estimate ?? estimateTokens(call.body?.doc ?? {}, 0)).prompt,
              candidatesTokenCount: relayed.producedOutputTokens,
            }
          : relayed.usage;
      r.usageEstimated = usage !== relayed.usage;
      r.tokens = tokenUsageOf(usage);
      if (usage && r.model) {
        r.cost = costOf(d.prices, r.model, usage);
        r.unpriced = r.cost === undefined;
      }
      const kind = call.resolved?.operation.usageKind;
      if (r.tokens && r.tenant && r.model) d.usage.add(r.tenant, r.model, r.tokens, r.cost, r.feature, kind);
    } else if (call.spent) {
      // Nothing relayed, but upstream calls that answered before the call failed are billed by Google (gather.ts).
      r.tokens = tokenUsageOf(call.spent);
      if (r.model) {
        r.cost = costOf(d.prices, r.model, call.spent);
        r.unpriced = r.cost === undefined;
      }
      if (r.tokens && r.tenant && r.model) d.usage.add(r.tenant, r.model, r.tokens, r.cost, r.feature);
    }
    if (call.fromCache && r.tenant && r.model) d.usage.addCacheHit(r.tenant, r.model, r.savedUsd, r.feature);
    if (call.hold) {
      // Actual tokens when the answer said (or, for a cut stream, what was produced); the estimate when a unary
      // answer carried no usage; nothing when the call failed (upstream errors are not billed).
      const used = r.tokens
        ? totalTokens(r.tokens)
        : relayed && relayed.status < 400
          ? call.hold.reservation.amount
          : 0;
      d.admission.settle(call.hold, used);
    }
  }

  /** Stage: record. Status, timings and the upstream's part; then the audit record and metrics. */
  function record(call: Call): void {
    const { record: r, relayed, failure, upstream } = call;
    const ended = performance.now();
    const upstreamMs = upstream.started === undefined ? 0 : ended - upstream.started;
    r.status = failure?.httpCode ?? relayed?.status ?? (call.fromCache || call.pregenerated?.served ? 200 : 0);
    r.cache = call.fromCache?.kind ?? (call.res.getHeader("x-gateway-cache") === "miss" ? "miss" : "bypass");
    r.durationMs = ended - call.started;
    // A stream waits on the upstream until its last chunk (relaying interleaves with it); a unary call until the
    // whole answer is in, after which writing it out is the gateway's time.
    r.overheadMs = r.durationMs - (r.stream ? upstreamMs : upstream.waitMs);
    const served = upstream.provider;
    if (served) {
      const relayStarted = upstream.started! + upstream.waitMs;
      r.upstream = {
        id: served.id,
        provider: served.name,
        region: served.region,
        attempts: upstream.attempts,
        status: upstream.status,
        outcome: upstreamOutcome(upstream.status, call.abort.signal.aborted || failure?.kind === "deadline"),
        durationMs: upstreamMs,
        firstChunkMs:
          r.stream && relayed?.firstChunkMs !== undefined
            ? relayStarted - call.started + relayed.firstChunkMs
            : undefined,
      };
    }
    if (failure) r.error = { status: failure.status, message: failure.message, kind: failure.kind };
    else if (relayed && relayed.status >= 400) {
      r.error = { status: statusForHttp(relayed.status), message: `upstream answered HTTP ${relayed.status}` };
    }
    if (d.tracing.recording) {
      call.trace.setAttributes({ "gateway.tenant": r.tenant ?? "none", "gen_ai.request.model": r.model ?? "" });
    }
    call.trace.end(r.status, r.error?.status);
    d.record(r);
  }

  return function finish(call: Call): void {
    reconcile(call);
    record(call);
  };
}
