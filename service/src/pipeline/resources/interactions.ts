/**
 * The Interactions API on both APIs' paths (`/v1beta/interactions…`, `/{v}/projects/{p}/locations/{l}/interactions…`),
 * run on Vertex AI's interactions:
 *
 * - create (a model call: admitted like a generate call on its estimate, relayed unary or as SSE, audited, metered,
 *   billed from its `usage`; a cut stream is charged what was relayed, as any stream): a stored interaction
 *   (`store` is true by default) is registered to the tenant and the upstream that made it before the client sees its
 *   id; `store: false` leaves nothing behind, here as upstream. `previous_interaction_id` must be the tenant's own
 *   (ownership.ts) and pins the call to its upstream (an interaction lives where it was made).
 * - get (JSON, or `?stream=true&last_event_id=` to resume a stream), cancel, delete: the lighter path, pinned.
 * - background (`background: true`): the create answer has no usage yet; the first read that sees it completed bills
 *   it, once across every instance (a claim in the store).
 */
import { costOf, tokenUsageOf } from "../../accounting/cost.js";
import { errors } from "../../wire/errors.js";
import type { UsageMetadataWire } from "../../wire/gemini.js";
import type { Call } from "../call.js";
import { attributionLabels } from "../validate.js";
import type { ExecuteContext, ResourceDeps } from "./context.js";
import { upstreamJson, type LightCall } from "./light.js";
import type { OwnedResource } from "../../store/store.js";
import { answerJson, PLAIN_JSON, ownedBy, parseObject, storeCall } from "./ownership.js";

/**
 * How long a stored interaction is kept, and so registered: unconfirmed for Vertex; the Developer API documents 55
 * days on the paid tier (ai.google.dev/gemini-api/docs/interactions, "Data storage and retention"). A read after the
 * upstream has dropped it is the upstream's 404, and the record is forgotten then.
 */
export const INTERACTION_RETENTION_MS = 55 * 86_400_000;

/** The Interactions API's `usage` as Gemini usage: input includes cached, output and thoughts apart. */
export function interactionUsage(json: string): UsageMetadataWire | undefined {
  const doc = parseObject(json) as
    | {
        usage?: Record<string, unknown>;
        interaction?: { usage?: Record<string, unknown> };
        metadata?: { total_usage?: Record<string, unknown> };
      }
    | undefined;
  const u = doc?.usage ?? doc?.interaction?.usage ?? doc?.metadata?.total_usage;
  if (!u) return undefined;
  const n = (k: string) => (typeof u[k] === "number" ? (u[k] as number) : undefined);
  return {
    promptTokenCount: n("total_input_tokens"),
    candidatesTokenCount: n("total_output_tokens"),
    thoughtsTokenCount: n("total_thought_tokens"),
    cachedContentTokenCount: n("total_cached_tokens"),
    toolUsePromptTokenCount: n("total_tool_use_tokens"),
    totalTokenCount: n("total_tokens"),
  };
}

export async function createInteraction(call: Call, ctx: ExecuteContext): Promise<import("../relay.js").RelayResult> {
  const doc = call.body!.doc;
  const { identity, options } = call;
  const labels = attributionLabels(identity!.tenant, identity!.keyId, options!.feature);
  const clientLabels = doc.labels && typeof doc.labels === "object" ? (doc.labels as Record<string, string>) : {};
  const routed = await ctx.send({
    method: "interactions.create",
    resource: { verb: "POST", path: "interactions" },
    body: Buffer.from(JSON.stringify({ ...doc, labels: { ...clientLabels, ...labels } })),
  });
  const stored = doc.store !== false;
  const background = doc.background === true;
  const { deps } = ctx;
  return ctx.relay(routed, {
    usageOf: interactionUsage,
    usageMarker: '"total_',
    onFirst: async (text) => {
      if (!stored) return;
      const first = parseObject(text) as { id?: unknown; interaction?: { id?: unknown } } | undefined;
      const id = first?.id ?? first?.interaction?.id;
      if (typeof id !== "string") return;
      const now = deps.now();
      await storeCall(() =>
        deps.registry.put({
          kind: "interaction",
          id,
          tenant: identity!.tenant.id,
          upstream: routed.upstream,
          model: call.resolved!.model,
          createdAt: now,
          expiresAt: now + INTERACTION_RETENTION_MS,
          data: background ? { background: true, feature: options!.feature } : {},
        }),
      );
    },
  });
}

/** Bills a background interaction seen completed, once across instances. */
async function billBackground(deps: ResourceDeps, r: OwnedResource, doc: Record<string, unknown>): Promise<void> {
  if (!r.data?.background || r.data.billed || doc.status !== "completed") return;
  const usage = interactionUsage(JSON.stringify(doc));
  const tokens = tokenUsageOf(usage);
  if (!usage || !tokens) return;
  if (!(await storeCall(() => deps.kv.claim(`bill:interaction:${r.id}`, "1", INTERACTION_RETENTION_MS)))) return;
  const cost = costOf(deps.prices, r.model, usage);
  deps.usage.add(
    r.tenant,
    r.model,
    tokens,
    cost,
    typeof r.data.feature === "string" ? r.data.feature : undefined,
    "interaction",
  );
  await storeCall(() => deps.registry.put({ ...r, data: { ...r.data, billed: true } }));
}

export function interactionHandler(id: string, action: "get" | "cancel" | "delete") {
  return async (c: LightCall): Promise<void> => {
    const r = await ownedBy(c.deps.registry, c.tenant.id, "interaction", id);
    const stream = action === "get" && c.query.get("stream") === "true";
    const query = new URLSearchParams();
    if (stream) query.set("stream", "true");
    const last = c.query.get("last_event_id");
    if (stream && last) query.set("last_event_id", last);
    const routed = await c.send({
      upstream: r.upstream,
      resource: `Interaction ${id}`,
      model: r.model,
      method: `interactions.${action}`,
      target: {
        verb: action === "get" ? "GET" : action === "cancel" ? "POST" : "DELETE",
        path: action === "cancel" ? `interactions/${id}/cancel` : `interactions/${id}`,
        ...(query.size ? { query: query.toString() } : {}),
      },
    });
    if (stream && routed.response.status === 200) {
      // A resumed stream is relayed as it comes, event by event; it was billed when it was made.
      c.res.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        "x-accel-buffering": "no",
      });
      for await (const chunk of routed.response.body) c.res.write(chunk);
      c.res.end();
      return;
    }
    const doc = await upstreamJson(c, routed);
    if (!doc) {
      if (routed.response.status === 404) await storeCall(() => c.deps.registry.delete("interaction", id));
      return;
    }
    if (action === "delete") await storeCall(() => c.deps.registry.delete("interaction", id));
    else await billBackground(c.deps, r, doc);
    answerJson(c.res, PLAIN_JSON, 200, doc);
  };
}

/** The body an interaction create must have: a model or an agent, and input or a previous interaction. */
export function checkInteraction(doc: Readonly<Record<string, unknown>>): void {
  if (doc.agent !== undefined) throw errors.invalidArgument("Agent interactions are not served by this gateway.");
  if (doc.input === undefined && typeof doc.previous_interaction_id !== "string") {
    throw errors.invalidArgument("An interaction needs input (or a previous_interaction_id to continue).");
  }
  if (doc.background === true && doc.store === false) {
    throw errors.invalidArgument("background: true needs store: true (a background interaction is read back later).");
  }
}
