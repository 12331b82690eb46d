/**
 * `GET /admin/tenants` (admin key): every tenant of the tenants file, its limits, how much of each it has used (the
 * shared counters admission uses: quota/tenant-use.ts) and how many keys it has. Tenant ids and feature labels are
 * data, answered as JSON strings; nothing here builds HTML.
 */
import type { Express } from "express";
import type { Tenant } from "../config/tenants.js";
import { writeError, writeJson } from "../http/write.js";
import type { UsageLedger } from "../accounting/usage.js";
import type { KeyService } from "../keys/service.js";
import { readTenantUse } from "../quota/tenant-use.js";
import { StoreUnavailableError, type Store } from "../store/store.js";
import { errors, toGatewayError } from "../wire/errors.js";
import type { AdminOnly } from "./prompts/routes.js";

export interface TenantsView {
  tenants: readonly Tenant[];
  store: Pick<Store, "windows" | "counters">;
  /** Served models: spend is summed over them, as the spend check does. */
  models: readonly string[];
  keys: KeyService;
  /** This instance's usage not written yet is written before the counters are read. */
  usage: Pick<UsageLedger, "flush">;
}

export function mountTenantRoutes(app: Express, v: TenantsView, adminOnly: AdminOnly): void {
  app.get(
    "/admin/tenants",
    adminOnly("set GATEWAY_ADMIN_KEY_SHA256 to enable it", async (_req, res) => {
      try {
        await v.usage.flush();
        const keys = await v.keys.list();
        const tenants = await Promise.all(
          v.tenants.map(async (t) => {
            const own = keys.filter((k) => k.tenant === t.id);
            return {
              id: t.id,
              priority: t.priority,
              models: t.models === undefined ? ["*"] : [...t.models],
              features: [...t.features],
              limits: t.limits ? { ...t.limits } : null,
              used: await readTenantUse(v.store, t.id, t.limits, v.models),
              // Active: keys that authenticate now (no expiry, or one still ahead).
              keys: {
                active: own.filter((k) => k.state === "active" || k.state === "expiring").length,
                total: own.length,
              },
            };
          }),
        );
        writeJson(res, 200, { tenants });
      } catch (err) {
        writeError(res, err instanceof StoreUnavailableError ? errors.storeUnavailable() : toGatewayError(err));
      }
    }),
  );
  app.all("/admin/tenants", (req, res) => writeError(res, errors.methodNotAllowed(req.method)));
}
