/**
 * What the pipeline knows about one finished model call: the single input of the audit log and the metrics.
 * Leaf module, types only. It holds identifiers, counts, timings and hashes — never prompt or response content.
 */
import type { CallCost, TokenUsage } from "../accounting/cost.js";
import type { ErrorKind } from "../wire/errors.js";
import type { UpstreamOutcome } from "./metrics.js";

/**
 * A call made through a prompt template (prompts/): which prompt, version and variant answered. Names and numbers
 * only — never the template's text or the caller's variable values.
 */
export interface PromptTag {
  name: string;
  version: number;
  /** The experiment variant, `holdout`, or `v<N>` for a call outside any experiment. */
  variant: string;
  /** The experiment the call took part in, if any. */
  experiment: string | undefined;
  /** The caller chose the variant (`x-gateway-prompt-variant`): kept out of the experiment's statistics. */
  forced: boolean;
  /** Every upstream failed and the version's reviewed answer was served. */
  pregenerated: boolean;
}

export interface CallRecord {
  requestId: string;
  /** The client-facing API: gemini | vertex. */
  surface: string;
  /** Undefined when the call failed before authentication. */
  tenant: string | undefined;
  /** First 12 hex digits of the key's SHA-256, never the key. */
  keyId: string | undefined;
  model: string | undefined;
  method: string | undefined;
  stream: boolean | undefined;
  /** HTTP status sent to the client (499 when the client went away). */
  status: number;
  /**
   * The Google status and message of an error the gateway or the upstream answered; `kind` (wire/errors.ts) for the
   * gateway's own errors, e.g. `deadline` when the client's own deadline ended the call.
   */
  error: { status: string; message: string; kind?: ErrorKind } | undefined;
  durationMs: number;
  /** durationMs minus the time spent waiting on the upstream. */
  overheadMs: number;
  upstream:
    | {
        id: string;
        provider: string;
        region: string;
        /** Attempts made (1 when the first answered); the fields here describe the last one. */
        attempts: number;
        /** HTTP status from the upstream; undefined when no response came (network error, cancel). */
        status: number | undefined;
        outcome: UpstreamOutcome;
        durationMs: number;
        /** Streams: request received to first chunk written to the client. */
        firstChunkMs: number | undefined;
      }
    | undefined;
  tokens: TokenUsage | undefined;
  /** The tokens are the gateway's estimate (a stream cut before its final chunk), not the upstream's count. */
  usageEstimated: boolean;
  /** Undefined when there was no usage, or the model has no price (then `unpriced` is true). */
  cost: CallCost | undefined;
  unpriced: boolean;
  /** SHA-256 of the normalized prompt (audit.ts promptFingerprint): correlates repeats without storing text. */
  promptSha256: string | undefined;
  /** The prompt-injection scorer's verdict; undefined when the tenant's action is off (or for countTokens). */
  injection: { score: number; categories: readonly string[]; flagged: boolean; action: string } | undefined;
  modelArmorBlock: "prompt" | "response" | undefined;
  /** Admission: refused with 429 by a window or the full queue ("limited"), or by a spend limit or the budget kill
   *  switch ("over-budget"); undefined for countTokens or a call refused before admission. */
  admission: "admitted" | "limited" | "over-budget" | undefined;
  /** What refused it: tenant | capacity | queue | spend | budget | store. */
  admissionScope: string | undefined;
  /** Time spent waiting in the admission queue. */
  queuedMs: number;
  priority: "interactive" | "batch" | undefined;
  /** The `x-gateway-feature` label, when sent. */
  feature: string | undefined;
  /** Set for a call made through a prompt template. */
  prompt?: PromptTag | undefined;
  /** hit / coalesced (another call's answer) / stale (served past its TTL because every upstream failed) come from
   *  the cache; miss went upstream and may be stored; bypass did not use the cache. */
  cache: "hit" | "coalesced" | "stale" | "miss" | "bypass";
  /** What a cached answer would have cost: the spend the cache saved. */
  savedUsd: number | undefined;
  streamError: string | undefined;
  /** A stream that did not run to its end because the client left, or the instance's drain deadline came. */
  cutBy: "client" | "shutdown" | undefined;
  http: {
    method: string | undefined;
    /** Path only: the query could carry a key. */
    path: string;
    userAgent: string | undefined;
    remoteIp: string | undefined;
    requestBytes: number | undefined;
    responseBytes: number;
  };
  trace: { traceId: string; spanId: string; sampled: boolean };
}
