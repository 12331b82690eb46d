/**
 * Stage: ownership. A call that uses a tenant-owned resource (a generate call's `cachedContent`, an interaction's
 * `previous_interaction_id`) may use only its own tenant's: another tenant's is answered 404 NOT_FOUND, as if it did
 * not exist — the same answer as for one that never existed, so nothing tells one tenant what another has. The call
 * is then pinned to the upstream that holds the resource (route/router.ts `pin`). Also the helpers every resource
 * handler shares: reading the registry (a store outage is a 503, never a 500) and writing an answer the gateway made.
 */
import type { ServerResponse } from "node:http";
import type { ResourceRegistry, OwnedResource } from "../../store/store.js";
import { StoreUnavailableError } from "../../store/store.js";
import { errors, GatewayError } from "../../wire/errors.js";
import type { Call } from "../call.js";
import type { ResponseEncoder } from "../encoder.js";
import type { RelayResult } from "../relay.js";
import { idOf, type ResourceKind } from "./names.js";

const WHAT: Record<ResourceKind, string> = {
  cachedContent: "CachedContent",
  interaction: "Interaction",
  batch: "Batch job",
};

/** 404 for a resource the tenant does not own (absent, expired, or another tenant's: one answer for all three). */
export function notOwned(kind: ResourceKind, name: string): GatewayError {
  return new GatewayError(404, "NOT_FOUND", `${WHAT[kind]} ${name.slice(0, 200)} was not found.`);
}

/** The tenant's record of a resource, or the 404; a store outage is 503 UNAVAILABLE. */
export async function ownedBy(
  registry: ResourceRegistry,
  tenant: string,
  kind: ResourceKind,
  name: string,
): Promise<OwnedResource> {
  const r = await storeCall(() => registry.get(kind, idOf(name)));
  if (!r || r.tenant !== tenant) throw notOwned(kind, name);
  return r;
}

/** Runs a store operation; its outage becomes the gateway's 503 (the client may retry). */
export async function storeCall<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof StoreUnavailableError) throw errors.storeUnavailable();
    throw err;
  }
}

/** Stage: ownership (for operations that use a resource): checks the owner, pins the call to the resource's upstream. */
export async function bindResource(call: Call, registry: ResourceRegistry): Promise<void> {
  const ref = call.resolved!.operation.uses?.(call.body!.doc);
  if (!ref) return;
  const r = await ownedBy(registry, call.identity!.tenant.id, ref.kind, ref.name);
  if (ref.kind === "cachedContent" && r.model !== call.resolved!.model) {
    // Google's rule: a cache serves only the model it was made for.
    throw errors.invalidArgument(
      `Model used by GenerateContent request (${call.resolved!.model}) and CachedContent (${r.model}) has to be the same.`,
    );
  }
  const upstreamName = typeof r.data?.upstreamName === "string" ? r.data.upstreamName : undefined;
  call.pin = { upstream: r.upstream, resource: ref.name, upstreamName };
}

/** An answer the gateway wrote itself (a batch job it created, a list), through the surface's encoder. */
/** Google's JSON as it is: what the lighter path answers on either API. */
export const PLAIN_JSON: Pick<ResponseEncoder, "unaryContentType" | "unary"> = {
  unaryContentType: "application/json; charset=UTF-8",
  unary: (body) => body,
};

export function answerJson(
  res: ServerResponse,
  encoder: Pick<ResponseEncoder, "unaryContentType" | "unary">,
  status: number,
  doc: unknown,
): RelayResult {
  const out = encoder.unary(Buffer.from(JSON.stringify(doc)));
  res.writeHead(status, { "content-type": encoder.unaryContentType, "content-length": out.length });
  res.end(out);
  return {
    status,
    usage: undefined,
    modelArmorBlock: undefined,
    responseBytes: out.length,
    firstChunkMs: undefined,
    streamError: undefined,
    clientClosed: false,
    cutByShutdown: false,
    producedOutputTokens: 0,
    captured: undefined,
  };
}

/** Reads a whole upstream body (resource answers are small JSON documents). */
export async function readAll(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c);
  return Buffer.concat(chunks);
}

/** A JSON object, or undefined. */
export function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const doc = JSON.parse(text) as unknown;
    return doc && typeof doc === "object" && !Array.isArray(doc) ? (doc as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
