/**
 * Batch jobs, in the Gemini Batch API's shape (`models/{m}:batchGenerateContent` with inline requests; `batches/{id}`
 * get, list, cancel, delete; results inline) and Vertex AI's (`batchPredictionJobs`, JSONL in Cloud Storage), both
 * run on Vertex AI batch prediction:
 *
 * - create (admitted as batch traffic: the budget kill switch's batch threshold refuses it; its estimated cost, at
 *   the batch price, counts against the tenant's spend limits; it is one request of the request windows and holds
 *   no tokens-per-minute, which are interactive capacity): inline requests are staged as one JSONL file under
 *   `tenants/{tenant}/batches/{staging id}/` of the environment's bucket, each line `{"key", "request", "metadata"}`
 *   with the tenant's attribution labels, and the job writes its predictions under `…/output/`. A Vertex-shape job
 *   names its own input; any path it names in the gateway's bucket must be under the tenant's prefix, and its
 *   output is always there (the gateway reads it to bill the job).
 * - get / list: the job's state from its upstream (JOB_STATE_* on Vertex, BATCH_STATE_* on the Batch API); once it
 *   has finished, its predictions are read, billed once at the batch price (a claim in the store: any instance, any
 *   number of reads) under the `batch` kind, and — Batch API — returned inline in request order.
 * - cancel, delete (delete also removes what was staged).
 */
import { randomUUID } from "node:crypto";
import { costOf, tokenUsageOf, type TokenUsage } from "../../accounting/cost.js";
import { estimateTokens } from "../../accounting/estimate.js";
import type { OwnedResource } from "../../store/store.js";
import { errors, GatewayError } from "../../wire/errors.js";
import { GenerateContentRequestSchema, describeIssues, type UsageMetadataWire } from "../../wire/gemini.js";
import type { Call } from "../call.js";
import type { RelayResult } from "../relay.js";
import { attributionLabels } from "../validate.js";
import type { ExecuteContext, ResourceDeps } from "./context.js";
import { page, upstreamJson, type LightCall } from "./light.js";
import { batchName, idOf, modelName, type ClientScope } from "./names.js";
import { answerJson, PLAIN_JSON, ownedBy, parseObject, readAll, storeCall } from "./ownership.js";

/** How long the registry keeps a batch job (Vertex keeps jobs until deleted; the Batch API's expire). */
export const BATCH_RETENTION_MS = 30 * 86_400_000;
/** Inline requests per Batch API job the gateway takes (the Batch API's inline input is bounded at 20 MB). */
export const MAX_INLINE_REQUESTS = 10_000;

const TERMINAL = new Set([
  "JOB_STATE_SUCCEEDED",
  "JOB_STATE_PARTIALLY_SUCCEEDED",
  "JOB_STATE_FAILED",
  "JOB_STATE_CANCELLED",
  "JOB_STATE_EXPIRED",
]);
/** Vertex's job states as the Batch API names them (the SDK maps them back: tJobState). */
const BATCH_STATE: Record<string, string> = {
  JOB_STATE_QUEUED: "BATCH_STATE_PENDING",
  JOB_STATE_PENDING: "BATCH_STATE_PENDING",
  JOB_STATE_RUNNING: "BATCH_STATE_RUNNING",
  JOB_STATE_UPDATING: "BATCH_STATE_RUNNING",
  JOB_STATE_SUCCEEDED: "BATCH_STATE_SUCCEEDED",
  JOB_STATE_PARTIALLY_SUCCEEDED: "BATCH_STATE_SUCCEEDED",
  JOB_STATE_FAILED: "BATCH_STATE_FAILED",
  JOB_STATE_CANCELLING: "BATCH_STATE_CANCELLED",
  JOB_STATE_CANCELLED: "BATCH_STATE_CANCELLED",
  JOB_STATE_EXPIRED: "BATCH_STATE_EXPIRED",
};

/** The Batch API's inline requests, checked: each a GenerateContentRequest (400 naming the first bad one). */
export function inlineRequests(
  doc: Readonly<Record<string, unknown>>,
): { request: Record<string, unknown>; metadata?: unknown }[] {
  const batch = doc.batch as { inputConfig?: { requests?: { requests?: unknown }; fileName?: unknown } } | undefined;
  if (!batch || typeof batch !== "object") throw errors.invalidArgument("The body needs a batch object.");
  if (batch.inputConfig?.fileName !== undefined) {
    throw errors.invalidArgument(
      "batch.inputConfig.fileName needs the Files API, which this gateway does not serve: send the requests inline " +
        "(inputConfig.requests.requests), or use the Vertex AI batchPredictionJobs shape with a gs:// JSONL file.",
    );
  }
  const list = batch.inputConfig?.requests?.requests;
  if (!Array.isArray(list) || list.length === 0) {
    throw errors.invalidArgument("batch.inputConfig.requests.requests must be a non-empty list of requests.");
  }
  if (list.length > MAX_INLINE_REQUESTS) {
    throw errors.invalidArgument(`A batch takes at most ${MAX_INLINE_REQUESTS} inline requests; got ${list.length}.`);
  }
  return list.map((item, i) => {
    const r = (item as { request?: unknown; metadata?: unknown }).request;
    const parsed = GenerateContentRequestSchema.safeParse(r);
    if (!parsed.success) throw errors.invalidArgument(`Invalid request ${i}: ${describeIssues(parsed.error)}`);
    return { request: r as Record<string, unknown>, metadata: (item as { metadata?: unknown }).metadata };
  });
}

/** Tokens a Batch API job may use (its requests', with the default output each), for admission at the batch price. */
export function estimateBatch(doc: Readonly<Record<string, unknown>>, defaultOutputTokens: number) {
  if (!doc.batch) return { prompt: 0, output: 0, total: 0 };
  let prompt = 0;
  let output = 0;
  for (const { request } of inlineRequests(doc)) {
    const e = estimateTokens(request, defaultOutputTokens);
    prompt += e.prompt;
    output += e.output;
  }
  return { prompt, output, total: prompt + output };
}

/** A `gs://bucket/path` inside the gateway's bucket must be under the tenant's prefix. */
function checkUri(uri: unknown, bucket: string, tenant: string, what: string): string {
  if (typeof uri !== "string" || !uri.startsWith("gs://")) throw errors.invalidArgument(`${what} must be a gs:// URI.`);
  if (uri.startsWith(`gs://${bucket}/`) && !uri.startsWith(`gs://${bucket}/tenants/${tenant}/`)) {
    throw errors.invalidArgument(
      `${what} is in the gateway's bucket outside this tenant's prefix gs://${bucket}/tenants/${tenant}/.`,
    );
  }
  return uri;
}

export async function createBatch(call: Call, ctx: ExecuteContext): Promise<RelayResult> {
  const { deps } = ctx;
  const staging = deps.staging;
  if (!staging) {
    throw new GatewayError(
      503,
      "UNAVAILABLE",
      "Batch jobs need a Cloud Storage bucket: set GATEWAY_BATCH_BUCKET.",
      undefined,
      undefined,
      "gateway",
    );
  }
  const doc = call.body!.doc;
  // The Batch API's create is a model path (models/{m}:batchGenerateContent), which carries no scope.
  const scope: ClientScope = call.target.scope ?? { api: "developer", parent: undefined };
  const tenant = call.identity!.tenant;
  const model = call.resolved!.model;
  const labels = attributionLabels(tenant, call.identity!.keyId, call.options!.feature);
  const prefix = `tenants/${tenant.id}/batches/${randomUUID()}/`;
  const outputPrefix = `gs://${staging.bucket}/${prefix}output`;
  let displayName: string;
  let input: string;
  let requests = 0;
  if (scope.api === "developer") {
    const list = inlineRequests(doc);
    requests = list.length;
    const batch = doc.batch as { displayName?: unknown };
    displayName = typeof batch.displayName === "string" ? batch.displayName : `batch-${Date.now()}`;
    const lines = list.map(({ request, metadata }, i) =>
      JSON.stringify({
        key: String(i),
        request: { ...request, labels: { ...((request.labels as object) ?? {}), ...labels } },
        ...(metadata === undefined ? {} : { metadata }),
      }),
    );
    await staging.put(`${prefix}input.jsonl`, Buffer.from(lines.join("\n") + "\n"), "application/jsonl");
    input = `gs://${staging.bucket}/${prefix}input.jsonl`;
  } else {
    const uris = (doc.inputConfig as { gcsSource?: { uris?: unknown } } | undefined)?.gcsSource?.uris;
    if (!Array.isArray(uris) || uris.length !== 1) {
      throw errors.invalidArgument("inputConfig.gcsSource.uris must name one gs:// JSONL file.");
    }
    input = checkUri(uris[0], staging.bucket, tenant.id, "inputConfig.gcsSource.uris[0]");
    displayName = typeof doc.displayName === "string" ? doc.displayName : `batch-${Date.now()}`;
  }
  const body = {
    displayName,
    model: `publishers/google/models/${model}`,
    inputConfig: { instancesFormat: "jsonl", gcsSource: { uris: [input] } },
    outputConfig: { predictionsFormat: "jsonl", gcsDestination: { outputUriPrefix: outputPrefix } },
    labels,
  };
  const routed = await ctx.send({
    method: "batchPredictionJobs.create",
    resource: { verb: "POST", path: "batchPredictionJobs" },
    body: Buffer.from(JSON.stringify(body)),
  });
  if (routed.response.status < 200 || routed.response.status >= 300) {
    void staging.deletePrefix(prefix).catch(() => undefined);
    return ctx.relay(routed);
  }
  const job = parseObject((await readAll(routed.response.body)).toString("utf8"));
  if (!job || typeof job.name !== "string") throw errors.upstreamBroken("a batch prediction job without a name");
  const now = deps.now();
  const record: OwnedResource = {
    kind: "batch",
    id: idOf(job.name),
    tenant: tenant.id,
    upstream: routed.upstream,
    model,
    createdAt: now,
    expiresAt: now + BATCH_RETENTION_MS,
    data: {
      api: scope.api,
      prefix,
      requests,
      displayName,
      ...(call.options!.feature ? { feature: call.options!.feature } : {}),
    },
  };
  await storeCall(() => deps.registry.put(record));
  call.res.setHeader("x-gateway-upstream", `${routed.provider.name}/${routed.provider.region}/${model}`);
  return answerJson(call.res, call.target.encoder, 200, await forClient(deps, scope, record, job));
}

/** Reads a finished job's predictions: in key order (request order), with the usage of each. */
async function predictions(deps: ResourceDeps, r: OwnedResource): Promise<Record<string, unknown>[]> {
  const staging = deps.staging!;
  const names = (await staging.list(`${String(r.data?.prefix)}output/`)).filter((n) => n.endsWith(".jsonl"));
  const lines: Record<string, unknown>[] = [];
  for (const name of names) {
    const data = await staging.read(name);
    for (const line of (data ?? Buffer.alloc(0)).toString("utf8").split("\n")) {
      const doc = line.trim() ? parseObject(line) : undefined;
      if (doc) lines.push(doc);
    }
  }
  return lines.sort((a, b) => Number(a.key ?? 0) - Number(b.key ?? 0));
}

/** Bills a finished job once (its predictions' usage at the batch price), whichever instance reads it first. */
async function billOnce(
  deps: ResourceDeps,
  r: OwnedResource,
  lines: readonly Record<string, unknown>[],
): Promise<void> {
  if (r.data?.billed) return;
  const total: TokenUsage = { input: 0, cachedInput: 0, output: 0, thinking: 0, toolUsePrompt: 0 };
  const usage: Required<
    Pick<
      UsageMetadataWire,
      | "promptTokenCount"
      | "candidatesTokenCount"
      | "thoughtsTokenCount"
      | "cachedContentTokenCount"
      | "toolUsePromptTokenCount"
    >
  > = {
    promptTokenCount: 0,
    candidatesTokenCount: 0,
    thoughtsTokenCount: 0,
    cachedContentTokenCount: 0,
    toolUsePromptTokenCount: 0,
  };
  let usd = 0;
  let priced = true;
  for (const line of lines) {
    const u = (line.response as { usageMetadata?: UsageMetadataWire } | undefined)?.usageMetadata;
    const t = tokenUsageOf(u);
    if (!u || !t) continue;
    for (const k of Object.keys(total) as (keyof TokenUsage)[]) total[k] += t[k];
    for (const k of Object.keys(usage) as (keyof typeof usage)[]) usage[k] += u[k] ?? 0;
    const c = costOf(deps.prices, r.model, u, "batch");
    if (c) usd += c.totalUsd;
    else priced = false;
  }
  if (!(await storeCall(() => deps.kv.claim(`bill:batch:${r.id}`, "1", BATCH_RETENTION_MS)))) return;
  const cost = priced
    ? { inputUsd: 0, cachedInputUsd: 0, outputUsd: 0, thinkingUsd: 0, totalUsd: Math.round(usd * 1e9) / 1e9 }
    : undefined;
  deps.usage.add(
    r.tenant,
    r.model,
    total,
    cost,
    typeof r.data?.feature === "string" ? r.data.feature : undefined,
    "batch",
  );
  await storeCall(() => deps.registry.put({ ...r, data: { ...r.data, billed: true } }));
}

/** The job as the client's API shows it; a finished job's predictions read (and billed) on the way. */
async function forClient(
  deps: ResourceDeps,
  scope: ClientScope,
  r: OwnedResource,
  job: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const state = String(job.state ?? "JOB_STATE_PENDING");
  let lines: Record<string, unknown>[] | undefined;
  if (TERMINAL.has(state) && state !== "JOB_STATE_FAILED" && state !== "JOB_STATE_CANCELLED" && deps.staging) {
    lines = await predictions(deps, r);
    await billOnce(deps, r, lines);
  }
  if (scope.api === "vertex") return { ...job, name: batchName(scope, r.id) };
  const done = TERMINAL.has(state);
  const stats = job.completionStats as { successfulCount?: string; failedCount?: string } | undefined;
  const requests = Number(r.data?.requests ?? 0);
  const metadata: Record<string, unknown> = {
    "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatch",
    model: modelName(scope, r.model),
    displayName: r.data?.displayName,
    state: BATCH_STATE[state] ?? "BATCH_STATE_UNSPECIFIED",
    createTime: job.createTime,
    updateTime: job.updateTime,
    ...(job.endTime ? { endTime: job.endTime } : {}),
    batchStats: {
      requestCount: String(requests),
      successfulRequestCount: stats?.successfulCount ?? "0",
      failedRequestCount: stats?.failedCount ?? "0",
      pendingRequestCount: String(done ? 0 : requests),
    },
  };
  if (lines) {
    metadata.output = {
      inlinedResponses: {
        inlinedResponses: lines.map((l) =>
          l.response && !l.status
            ? { response: l.response, ...(l.metadata === undefined ? {} : { metadata: l.metadata }) }
            : {
                error: { code: 3, message: String(l.status || "The request failed.") },
                ...(l.metadata === undefined ? {} : { metadata: l.metadata }),
              },
        ),
      },
    };
  }
  const error = job.error as { code?: number; message?: string } | undefined;
  return {
    name: batchName(scope, r.id),
    metadata,
    done,
    ...(done && error ? { error } : {}),
    ...(done && metadata.output
      ? {
          response: {
            "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatchOutput",
            ...(metadata.output as object),
          },
        }
      : {}),
  };
}

async function fetchJob(c: LightCall, r: OwnedResource): Promise<Record<string, unknown> | undefined> {
  const routed = await c.send({
    upstream: r.upstream,
    resource: batchName(c.scope, r.id),
    model: r.model,
    method: "batchPredictionJobs.get",
    target: { verb: "GET", path: `batchPredictionJobs/${r.id}` },
  });
  return upstreamJson(c, routed);
}

export function batchHandler(name: string, action: "get" | "cancel" | "delete") {
  return async (c: LightCall): Promise<void> => {
    const r = await ownedBy(c.deps.registry, c.tenant.id, "batch", name);
    const write = (doc: unknown) => answerJson(c.res, PLAIN_JSON, 200, doc);
    if (action === "get") {
      const job = await fetchJob(c, r);
      if (job) write(await forClient(c.deps, c.scope, r, job));
      return;
    }
    const routed = await c.send({
      upstream: r.upstream,
      resource: batchName(c.scope, r.id),
      model: r.model,
      method: `batchPredictionJobs.${action}`,
      target:
        action === "cancel"
          ? { verb: "POST", path: `batchPredictionJobs/${r.id}:cancel` }
          : { verb: "DELETE", path: `batchPredictionJobs/${r.id}` },
      ...(action === "cancel" ? { body: Buffer.from("{}") } : {}),
    });
    const doc = await upstreamJson(c, routed);
    if (!doc) return;
    if (action === "delete") {
      await storeCall(() => c.deps.registry.delete("batch", r.id));
      if (c.deps.staging && typeof r.data?.prefix === "string") {
        await c.deps.staging.deletePrefix(r.data.prefix).catch(() => undefined);
      }
    }
    write(c.scope.api === "vertex" ? doc : {});
  };
}

export async function listBatches(c: LightCall): Promise<void> {
  const all = await storeCall(() => c.deps.registry.list("batch", c.tenant.id));
  const { items, next } = page(c, all);
  const jobs: Record<string, unknown>[] = [];
  for (const r of items) {
    const job = await fetchJob(c, r);
    if (!job) return; // the upstream's error was relayed
    jobs.push(await forClient(c.deps, c.scope, r, job));
  }
  const key = c.scope.api === "vertex" ? "batchPredictionJobs" : "operations";
  answerJson(c.res, PLAIN_JSON, 200, {
    [key]: jobs,
    ...(next ? { nextPageToken: next } : {}),
  });
}
