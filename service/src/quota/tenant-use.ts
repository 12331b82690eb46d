/**
 * How much of each configured limit a tenant has used, read from the very counters admission decides on (no second
 * source of truth): the shared rate windows of its requests and tokens (quota/windows.ts: read with a cost of 0, which
 * charges nothing) and the usage counters of its spend (accounting/usage.ts, summed over the served models, as the
 * spend check does). For the console's and `/admin/tenants`' "how close to its limits".
 *
 * A rate window keeps the units still outstanding, refilled continuously (GCRA): for a per-minute window that is the
 * last minute's calls, decayed — what the limit is measured against. With leased admission it includes what instances
 * hold on lease and have not spent yet (at most one lease per instance, decision 0026).
 */
import { usageCounterName } from "../accounting/usage.js";
import type { TenantLimits } from "../config/tenants.js";
import type { Store } from "../store/store.js";
import { callWindows } from "./windows.js";

export interface TenantUse {
  requestsPerMinute?: number;
  tokensPerMinute?: number;
  requestsPerDay?: number;
  usdPerDay?: number;
  usdPerMonth?: number;
}

const WINDOW_FIELD = { rpm: "requestsPerMinute", tpm: "tokensPerMinute", rpd: "requestsPerDay" } as const;

/** Only the limits the tenant has are read and answered; a tenant without limits costs no round trip. */
export async function readTenantUse(
  store: Pick<Store, "windows" | "counters">,
  tenant: string,
  limits: TenantLimits | undefined,
  models: readonly string[],
): Promise<TenantUse> {
  const used: TenantUse = {};
  if (!limits) return used;
  const { requests, tokens } = callWindows(tenant, limits, undefined, "interactive", 0);
  const windows = [...requests, ...tokens];
  const reads: Promise<void>[] = [];
  if (windows.length) {
    // The window as admission defines it (key, rate), without its burst: a read must never be refused or shaped.
    const charges = windows.map(({ key, limit, periodMs }) => ({ key, limit, periodMs, cost: 0 }));
    reads.push(
      store.windows.admit(charges).then((d) => {
        for (const w of d.windows) {
          const c = charges.find((x) => x.key === w.key)!;
          const field = WINDOW_FIELD[w.key.slice(w.key.lastIndexOf(":") + 1) as keyof typeof WINDOW_FIELD];
          if (field) used[field] = Math.round((w.resetMs * c.limit) / c.periodMs);
        }
      }),
    );
  }
  for (const [field, period, limit] of [
    ["usdPerDay", "day", limits.usdPerDay],
    ["usdPerMonth", "month", limits.usdPerMonth],
  ] as const) {
    if (!limit) continue;
    const refs = models.map((model) => ({ name: usageCounterName(tenant, model, "usd_micros"), period }));
    reads.push(
      store.counters.readMany(refs).then((values) => {
        used[field] = values.reduce((a, b) => a + b, 0) / 1e6;
      }),
    );
  }
  await Promise.all(reads);
  return used;
}
