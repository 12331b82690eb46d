/**
 * Context caches (`cachedContents`), on both APIs, run on Vertex AI's caches:
 *
 * - create (a model call: admitted, billed): the cache's size is counted upstream first (countTokens, free and exact)
 *   and a cache under the model's minimum is refused with a 400 naming both numbers; then it is created on the
 *   upstream that counted it, registered to the tenant with that upstream, its expiry and token count, before the
 *   client sees its name; creation is billed at the model's input price, and storage — tokens × hours to expiry ×
 *   the storage price — is charged at once (docs/decisions/0022-resource-spend.md);
 * - get, list (from the registry: only the tenant's own), patch (ttl / expireTime: storage charged or refunded for
 *   the difference), delete (the unused storage refunded): the lighter path (light.ts), pinned to the cache's upstream;
 * - use: a generate call's `cachedContent` (ownership.ts), pinned, the name rewritten to the upstream's.
 */
import { cacheStorageUsd } from "../../accounting/cost.js";
import { errors } from "../../wire/errors.js";
import type { UsageMetadataWire } from "../../wire/gemini.js";
import type { Call } from "../call.js";
import type { ExecuteContext } from "./context.js";
import { page, upstreamJson, type LightCall } from "./light.js";
import { cacheForClient, cacheName, idOf, modelName } from "./names.js";
import { answerJson, PLAIN_JSON, ownedBy, parseObject, readAll, storeCall } from "./ownership.js";

/**
 * The smallest cache Vertex AI makes: "Caching requests must contain a minimum of 2,048 tokens"
 * (docs.cloud.google.com/vertex-ai/generative-ai/docs/context-cache/context-cache-overview, checked 2026-12-06). The
 * Developer API's own minimums are 1,024 (Flash) and 4,096 (Pro) (ai.google.dev/gemini-api/docs/caching); the
 * gateway's caches live on Vertex, so Vertex's applies to every model.
 */
export const MIN_CACHE_TOKENS: Readonly<Record<string, number>> = {};
export const DEFAULT_MIN_CACHE_TOKENS = 2048;
const minimumFor = (model: string) => MIN_CACHE_TOKENS[model] ?? DEFAULT_MIN_CACHE_TOKENS;

/** A cache's answer has `usageMetadata.totalTokenCount`: its size, billed as input when created. */
export function cacheUsage(json: string): UsageMetadataWire | undefined {
  const doc = parseObject(json) as { usageMetadata?: { totalTokenCount?: unknown } } | undefined;
  const n = doc?.usageMetadata?.totalTokenCount;
  return typeof n === "number" ? { promptTokenCount: n, totalTokenCount: n } : undefined;
}

export async function createCache(call: Call, ctx: ExecuteContext): Promise<import("../relay.js").RelayResult> {
  const doc = call.body!.doc;
  const model = call.resolved!.model;
  const tenant = call.identity!.tenant.id;
  const scope = call.target.scope!;
  // 1. The exact size, from the upstream's own tokenizer.
  const counted = await ctx.send({
    method: "countTokens",
    body: Buffer.from(
      JSON.stringify({ contents: doc.contents, systemInstruction: doc.systemInstruction, tools: doc.tools }),
    ),
  });
  const countBody = await readAll(counted.response.body);
  const total = (parseObject(countBody.toString("utf8")) as { totalTokens?: unknown } | undefined)?.totalTokens;
  const minimum = minimumFor(model);
  if (counted.response.status === 200 && typeof total === "number" && total < minimum) {
    throw errors.invalidArgument(
      `Cached content is too small: ${total} tokens; ${model} caches at least ${minimum} tokens. Add content, or ` +
        "send it with each request instead.",
    );
  }
  // 2. Created where it was counted; the body names the upstream's project (Vertex wants the full model name).
  const routed = await ctx.send({
    method: "cachedContents.create",
    resource: { verb: "POST", path: "cachedContents" },
    body: call.body!.raw,
    bodyFor: (parent) => Buffer.from(JSON.stringify({ ...doc, model: `${parent}/publishers/google/models/${model}` })),
    pin: { upstream: counted.upstream, resource: `a new context cache for ${model}` },
  });
  const { deps } = ctx;
  // 3. Registered before the client sees its name; storage charged to its expiry.
  return ctx.relay(routed, {
    usageOf: cacheUsage,
    onFirst: async (text) => {
      const c = parseObject(text);
      const tokens = cacheUsage(text)?.promptTokenCount ?? 0;
      const expiresAt = Date.parse(String(c?.expireTime));
      if (!c || typeof c.name !== "string" || Number.isNaN(expiresAt))
        throw errors.upstreamBroken("a cache without name or expireTime");
      const now = deps.now();
      await storeCall(() =>
        deps.registry.put({
          kind: "cachedContent",
          id: idOf(c.name as string),
          tenant,
          upstream: routed.upstream,
          model,
          createdAt: now,
          expiresAt,
          data: {
            upstreamName: c.name,
            tokens,
            ...(typeof c.displayName === "string" ? { displayName: c.displayName } : {}),
          },
        }),
      );
      const usd = cacheStorageUsd(deps.prices, model, tokens, expiresAt - now);
      if (usd) deps.usage.addStorage(tenant, model, usd);
      void scope;
    },
  });
}

/** The client's view of a registered cache, made from the registry (lists answer without upstream calls). */
function fromRecord(
  c: LightCall,
  r: { id: string; model: string; createdAt: number; expiresAt: number; data?: Record<string, unknown> },
) {
  return {
    name: cacheName(c.scope, r.id),
    model: modelName(c.scope, r.model, true),
    ...(typeof r.data?.displayName === "string" ? { displayName: r.data.displayName } : {}),
    createTime: new Date(r.createdAt).toISOString(),
    expireTime: new Date(r.expiresAt).toISOString(),
    usageMetadata: { totalTokenCount: r.data?.tokens ?? 0 },
  };
}

export async function listCaches(c: LightCall): Promise<void> {
  const all = await storeCall(() => c.deps.registry.list("cachedContent", c.tenant.id));
  const { items, next } = page(c, all);
  writeDoc(c, { cachedContents: items.map((r) => fromRecord(c, r)), ...(next ? { nextPageToken: next } : {}) });
}

export function cacheHandler(name: string, verb: "GET" | "PATCH" | "DELETE") {
  return async (c: LightCall): Promise<void> => {
    const r = await ownedBy(c.deps.registry, c.tenant.id, "cachedContent", name);
    const upstreamName = String(r.data?.upstreamName ?? "");
    const path = upstreamName.slice(upstreamName.indexOf("/cachedContents/") + 1);
    const query = verb === "PATCH" ? c.query.toString() : undefined;
    const body = verb === "PATCH" ? await c.body() : undefined;
    const routed = await c.send({
      upstream: r.upstream,
      resource: name,
      model: r.model,
      method: `cachedContents.${verb.toLowerCase()}`,
      target: { verb, path, ...(query ? { query } : {}) },
      body,
    });
    const doc = await upstreamJson(c, routed);
    if (!doc) {
      // Gone upstream (expired, deleted elsewhere): forget it here too.
      if (routed.response.status === 404) await storeCall(() => c.deps.registry.delete("cachedContent", r.id));
      return;
    }
    const tokens = Number(r.data?.tokens ?? 0);
    const now = c.deps.now();
    if (verb === "DELETE") {
      await storeCall(() => c.deps.registry.delete("cachedContent", r.id));
      const refund = cacheStorageUsd(c.deps.prices, r.model, tokens, Math.max(0, r.expiresAt - now));
      if (refund) c.deps.usage.addStorage(c.tenant.id, r.model, -refund);
      return writeDoc(c, {});
    }
    if (verb === "PATCH") {
      const expiresAt = Date.parse(String(doc.expireTime));
      if (!Number.isNaN(expiresAt) && expiresAt !== r.expiresAt) {
        await storeCall(() => c.deps.registry.put({ ...r, expiresAt }));
        const from = Math.max(now, r.expiresAt);
        const to = Math.max(now, expiresAt);
        const usd = cacheStorageUsd(c.deps.prices, r.model, tokens, to - from);
        if (usd) c.deps.usage.addStorage(c.tenant.id, r.model, usd);
      }
    }
    writeDoc(c, cacheForClient(doc, c.scope, r.model));
  };
}

function writeDoc(c: LightCall, doc: unknown): void {
  answerJson(c.res, PLAIN_JSON, 200, doc);
}
