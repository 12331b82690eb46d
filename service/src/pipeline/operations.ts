/**
 * The operation table: every model operation the gateway serves, as data. An entry says how the operation's request
 * is validated and estimated, whether it is guarded, admitted and cached, what goes upstream, and how its answer is
 * relayed; the pipeline (pipeline.ts) runs the same stages for every entry and asks the entry at each one. Adding an
 * operation is adding an entry here (and, if it needs one, a provider method), not another branch in the pipeline.
 *
 * docs/lifecycle.md has the table in prose.
 */
import { estimateTokens, type TokenEstimate } from "../accounting/estimate.js";
import { errors } from "../wire/errors.js";
import type { ModelMethod } from "../wire/gemini.js";
import { embeddingSpec } from "../wire/models.js";
import type { Surface } from "./call.js";
import { estimateEmbed, validateEmbed, type EmbedMethod } from "./embed-request.js";
import { embedPlan } from "./embed-vertex.js";
import type { GatherPlan } from "./gather.js";
import type { UsageKind } from "../accounting/usage.js";
import type { UpstreamMethod } from "../upstream/provider.js";
import type { RelayResult } from "./relay.js";
import type { Call } from "./call.js";
import type { ExecuteContext } from "./resources/context.js";
import { RESOURCE_OPERATIONS } from "./resources/operations.js";
import type { ResourceKind } from "./resources/names.js";
import { requestBody, validateBody, type RequestAdditions, type ValidatedBody } from "./validate.js";

export interface Operation {
  /**
   * The method as it appears in the path (`models/{model}:{name}`), or, for an operation on a tenant-owned resource
   * (resources/operations.ts), its resource method (`cachedContents.create`, `interactions.create`, …).
   */
  readonly name: ModelMethod | OperationName;
  /** What the provider is asked to do (one of its methods). */
  readonly upstreamMethod: UpstreamMethod;
  /** Relayed as a stream (chunks as they arrive) rather than one body. */
  readonly stream: boolean;
  /** Parses and checks the body into the canonical request (400 when it is not one), for the resolved model. */
  validate(raw: Buffer, model: string): ValidatedBody;
  /** Screened by the guard stage (prompt-injection scan, the tenant's Model Armor policy). */
  readonly guarded: boolean;
  /**
   * The tokens it may use, for admission (quota windows, spend limits, the budget kill switch) and its reservation;
   * undefined for an operation that is free and never admitted (countTokens).
   */
  readonly estimate:
    ((doc: Readonly<Record<string, unknown>>, defaultOutputTokens: number, model: string) => TokenEstimate) | undefined;
  /** May be answered from, and stored in, the response cache. */
  readonly cacheable: boolean;
  /** The bytes sent upstream: the request with the gateway's additions (attribution labels, Model Armor). */
  upstreamBody(body: ValidatedBody, add: RequestAdditions): Buffer;
  /**
   * Which served models the operation serves (resolve answers 404 for the others); absent = every served model.
   * Generation serves the generative models, embeddings the embedding models of the catalogue (wire/models.ts).
   */
  servesModel?(model: string): boolean;
  /**
   * For an operation whose answer is made from several upstream calls (embeddings fanned out per input): the calls
   * and how their answers make the client's (gather.ts). Such an operation is routed and relayed by the gather stage;
   * `upstreamMethod` then only names its trace span and `upstreamBody` is not called.
   */
  gather?(body: ValidatedBody, model: string, surface: Surface): GatherPlan;
  /**
   * The tenant-owned resource the request uses (a generate call's `cachedContent`, an interaction's
   * `previous_interaction_id`): the ownership stage looks it up — another tenant's is a 404, as if absent — and pins
   * the call to the upstream that holds it (resources/ownership.ts).
   */
  uses?(doc: Readonly<Record<string, unknown>>): { kind: ResourceKind; name: string } | undefined;
  /**
   * For an operation that makes its own upstream calls after admission (creating a cache, an interaction, a batch
   * job: resources/operations.ts): routes and relays them itself, and returns what was relayed.
   */
  execute?(call: Call, ctx: ExecuteContext): Promise<RelayResult>;
  /** The kind of spend it is in /admin/usage (resources). */
  readonly usageKind?: UsageKind;
  /** Admitted as batch traffic whatever the tenant's priority (batch jobs: the budget kill switch's batch threshold). */
  readonly batch?: boolean;
}

/** Operations on tenant-owned resources, and the Developer API's batch method. */
export type OperationName =
  "batchGenerateContent" | `${"cachedContents" | "interactions" | "batchPredictionJobs"}.${string}`;

const generative = (model: string) => embeddingSpec(model) === undefined;

/** A generate call may use a context cache (`cachedContent`): its owner's only, on its upstream only. */
function usesCache(doc: Readonly<Record<string, unknown>>): { kind: ResourceKind; name: string } | undefined {
  return typeof doc.cachedContent === "string" ? { kind: "cachedContent", name: doc.cachedContent } : undefined;
}

const generate = {
  validate: (raw: Buffer) => validateBody("generateContent", raw),
  uses: usesCache,
  guarded: true,
  estimate: estimateTokens,
  cacheable: true,
  upstreamBody: requestBody,
  servesModel: generative,
} as const;

/**
 * Embeddings, from either API (embed-request.ts): not guarded (a vector answers no instruction, so an injected prompt
 * has nothing to hijack; Model Armor is a generateContent setting), admitted on their inputs alone, not cached (the
 * cache replays one answer shape per request, and the same body means different shapes on the two surfaces), and
 * gathered: one Vertex call per group of inputs the model takes (embed-vertex.ts).
 */
const embed = (name: EmbedMethod): Operation => ({
  name,
  upstreamMethod: name === "predict" ? "predict" : "embedContent",
  stream: false,
  validate: (raw, model) => validateEmbed(name, raw, model),
  guarded: false,
  estimate: estimateEmbed,
  cacheable: false,
  upstreamBody: () => {
    throw errors.internal(); // gathered: embedPlan makes the upstream bodies
  },
  servesModel: (model) => embeddingSpec(model) !== undefined,
  gather: embedPlan,
});

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
    servesModel: generative,
  },
  embedContent: embed("embedContent"),
  batchEmbedContents: embed("batchEmbedContents"),
  predict: embed("predict"),
};

/** The operation a path's method names; undefined when the gateway serves no such operation. */
export function operationOf(method: string): Operation | undefined {
  if (Object.hasOwn(OPERATIONS, method)) return OPERATIONS[method as ModelMethod];
  return Object.hasOwn(RESOURCE_OPERATIONS, method) ? RESOURCE_OPERATIONS[method] : undefined;
}

/**
 * The operations that serve a model, by name: what a model read lists as its supported methods (the Developer API's
 * names: a generative model also serves `createCachedContent` and `batchGenerateContent`).
 */
export function operationsServing(model: string): string[] {
  const names: string[] = Object.values(OPERATIONS)
    .filter((op) => !op.servesModel || op.servesModel(model))
    .map((op) => op.name);
  return generative(model) ? [...names, "createCachedContent", "batchGenerateContent"] : names;
}
