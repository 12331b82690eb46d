/**
 * The operation table: every model operation the gateway serves, as data. An entry says how the operation's request
 * is validated and estimated, whether it is guarded, admitted and cached, what goes upstream, and how its answer is
 * relayed; the pipeline (pipeline.ts) runs the same stages for every entry and asks the entry at each one. Adding an
 * operation is adding an entry here (and, if it needs one, a provider method), not another branch in the pipeline.
 *
 * docs/lifecycle.md has the table in prose.
 */
import { estimateTokens, type TokenEstimate } from "../accounting/estimate.js";
import type { ModelMethod } from "../wire/gemini.js";
import { requestBody, validateBody, type RequestAdditions, type ValidatedBody } from "./validate.js";

export interface Operation {
  /** The method as it appears in the path (`models/{model}:{name}`). */
  readonly name: ModelMethod;
  /** What the provider is asked to do (one of its methods). */
  readonly upstreamMethod: ModelMethod;
  /** Relayed as a stream (chunks as they arrive) rather than one body. */
  readonly stream: boolean;
  /** Parses and checks the body into the canonical request (400 when it is not one). */
  validate(raw: Buffer): ValidatedBody;
  /** Screened by the guard stage (prompt-injection scan, the tenant's Model Armor policy). */
  readonly guarded: boolean;
  /**
   * The tokens it may use, for admission (quota windows, spend limits, the budget kill switch) and its reservation;
   * undefined for an operation that is free and never admitted (countTokens).
   */
  readonly estimate:
    ((doc: Readonly<Record<string, unknown>>, defaultOutputTokens: number) => TokenEstimate) | undefined;
  /** May be answered from, and stored in, the response cache. */
  readonly cacheable: boolean;
  /** The bytes sent upstream: the request with the gateway's additions (attribution labels, Model Armor). */
  upstreamBody(body: ValidatedBody, add: RequestAdditions): Buffer;
}

const generate = {
  validate: (raw: Buffer) => validateBody("generateContent", raw),
  guarded: true,
  estimate: estimateTokens,
  cacheable: true,
  upstreamBody: requestBody,
} as const;

export const OPERATIONS: Readonly<Record<ModelMethod, Operation>> = {
  generateContent: { name: "generateContent", upstreamMethod: "generateContent", stream: false, ...generate },
  streamGenerateContent: {
    name: "streamGenerateContent",
    upstreamMethod: "streamGenerateContent",
    stream: true,
    ...generate,
    validate: (raw) => validateBody("streamGenerateContent", raw),
  },
  countTokens: {
    name: "countTokens",
    upstreamMethod: "countTokens",
    stream: false,
    validate: (raw) => validateBody("countTokens", raw),
    guarded: false,
    estimate: undefined,
    cacheable: false,
    upstreamBody: requestBody,
  },
};

/** The operation a path's method names; undefined when the gateway serves no such operation. */
export function operationOf(method: string): Operation | undefined {
  return Object.hasOwn(OPERATIONS, method) ? OPERATIONS[method as ModelMethod] : undefined;
}
