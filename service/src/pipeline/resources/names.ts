/**
 * How a tenant-owned resource is named on each API the gateway serves, and what it is named upstream. Types and pure
 * functions only.
 *
 * - Developer API: `cachedContents/{id}`, `batches/{id}`, interactions by id; models as `models/{m}`.
 * - Vertex AI: `projects/{p}/locations/{l}/cachedContents/{id}`, `…/batchPredictionJobs/{id}`, interactions by id;
 *   models as `publishers/google/models/{m}` (caches: with the project prefix). The project and location are the
 *   client's, as it wrote them in the path: the gateway calls its own upstream's, which the client never sees.
 *
 * Ids are the upstream's (the last segment of its name), so the registry (store/store.ts ResourceRegistry) keys a
 * resource by kind and id on every API.
 */

export type ResourceKind = "cachedContent" | "interaction" | "batch";

/** The API a client spoke, and for Vertex the `projects/{p}/locations/{l}` of its path. */
export interface ClientScope {
  api: "developer" | "vertex";
  /** Vertex: the client's parent; undefined on the Developer API. */
  parent: string | undefined;
}

/** The id at the end of a resource name (`…/cachedContents/{id}`, `batches/{id}`), or the name when it is an id. */
export function idOf(name: string): string {
  const at = name.lastIndexOf("/");
  return at < 0 ? name : name.slice(at + 1);
}

/** The model id in `models/{m}`, `publishers/google/models/{m}`, `projects/…/publishers/google/models/{m}`, or `m`. */
export function modelIdOf(name: unknown): string | undefined {
  if (typeof name !== "string" || name === "") return undefined;
  const m = /(?:^|\/)models\/([^/]+)$/.exec(name);
  return m ? m[1] : name.includes("/") ? undefined : name;
}

export function cacheName(scope: ClientScope, id: string): string {
  return scope.api === "vertex" ? `${scope.parent}/cachedContents/${id}` : `cachedContents/${id}`;
}

export function batchName(scope: ClientScope, id: string): string {
  return scope.api === "vertex" ? `${scope.parent}/batchPredictionJobs/${id}` : `batches/${id}`;
}

export function modelName(scope: ClientScope, model: string, withParent = false): string {
  if (scope.api === "developer") return `models/${model}`;
  return withParent ? `${scope.parent}/publishers/google/models/${model}` : `publishers/google/models/${model}`;
}

/**
 * An upstream cache as the client's API names it: its name and model in the client's form (never the gateway's own
 * project), every other field as the upstream wrote it.
 */
export function cacheForClient(
  doc: Record<string, unknown>,
  scope: ClientScope,
  model: string,
): Record<string, unknown> {
  const id = typeof doc.name === "string" ? idOf(doc.name) : "";
  return { ...doc, name: cacheName(scope, id), model: modelName(scope, model, true) };
}
