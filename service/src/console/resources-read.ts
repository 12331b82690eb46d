/**
 * `GET /admin/resources[?tenant=ID]`: every tenant's live context caches, stored interactions and batch jobs, as the
 * ownership registry records them (docs/decisions/0020-ownership-registry.md) — the same records every ownership check
 * reads. Ids, models, upstreams and times only: a resource's content stays upstream. `displayName` is the tenant's own
 * string (the console renders it as text).
 */
import type { OwnedResource, ResourceRegistry } from "../store/store.js";

const KINDS = ["cachedContent", "interaction", "batch"] as const;

export interface ResourceView {
  id: string;
  model: string;
  upstream: string;
  createdAt: string;
  expiresAt: string;
  displayName?: string;
  /** Context caches: the cached tokens. */
  tokens?: number;
  /** Batch jobs: how many requests; whether the job has been billed (it finished and was read). */
  requests?: number;
  billed?: boolean;
}

export type TenantResources = Record<(typeof KINDS)[number], ResourceView[]>;

function view(r: OwnedResource): ResourceView {
  const d = r.data ?? {};
  return {
    id: r.id,
    model: r.model,
    upstream: r.upstream,
    createdAt: new Date(r.createdAt).toISOString(),
    expiresAt: new Date(r.expiresAt).toISOString(),
    ...(typeof d.displayName === "string" ? { displayName: d.displayName } : {}),
    ...(typeof d.tokens === "number" ? { tokens: d.tokens } : {}),
    ...(typeof d.requests === "number" ? { requests: d.requests } : {}),
    ...(r.kind === "batch" ? { billed: d.billed === true } : {}),
  };
}

export async function tenantResources(
  registry: ResourceRegistry,
  tenants: readonly string[],
): Promise<{ tenants: Record<string, TenantResources> }> {
  const out: Record<string, TenantResources> = {};
  await Promise.all(
    tenants.map(async (tenant) => {
      const [cachedContent, interaction, batch] = await Promise.all(
        KINDS.map(async (kind) => (await registry.list(kind, tenant)).map(view)),
      );
      out[tenant] = { cachedContent: cachedContent!, interaction: interaction!, batch: batch! };
    }),
  );
  return { tenants: Object.fromEntries(tenants.filter((t) => out[t]).map((t) => [t, out[t]!])) };
}
