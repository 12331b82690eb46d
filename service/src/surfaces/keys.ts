/**
 * The key lifecycle's admin API (docs/keys.md; the console and `npm run keys` call it), every path behind the admin key:
 *
 *   GET  /admin/keys[?tenant=ID]          {"keys":[KeyRecord…]}, newest first
 *   POST /admin/keys                      {"tenant","label","expiresAt"?} → 201 {"key","secret"}
 *   POST /admin/keys/{id}/rotate          {"overlapSeconds"?,"label"?} → 201 {"key","secret","previous"}
 *   POST /admin/keys/{id}/revoke          → 200 {"key"} (again: the same answer)
 *
 * The secret is in the answer to create and rotate, once; it is never logged (the audit record names the key id).
 * Bad input is a 400 naming the field, an unknown tenant or key a 404; nothing a client sends makes a 5xx.
 */
import type { Express, Request, Response } from "express";
import { readAdminJson } from "../http/admin-body.js";
import { guarded as guardedBy, type AsyncHandler } from "../http/guarded.js";
import { writeError, writeJson } from "../http/write.js";
import { KEY_ID, KeyOperationError } from "../keys/records.js";
import { KeysBusyError, type KeyService } from "../keys/service.js";
import { StoreUnavailableError } from "../store/store.js";
import { errors, GatewayError, toGatewayError } from "../wire/errors.js";
import type { AdminOnly } from "./prompts/routes.js";

const ENABLE_ADMIN = "set GATEWAY_ADMIN_KEY_SHA256 to enable it";
const TENANT_ID = /^[a-z][a-z0-9_-]{0,62}$/;
const MAX_LABEL = 200;
const MAX_OVERLAP_SECONDS = 2_592_000; // 30 days
const DEFAULT_OVERLAP_SECONDS = 86_400;
/** RFC 3339 with a zone (Z or ±hh:mm), as the contract says; Date.parse alone would take much more. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;

/** Who made the change: the console's session sets `res.locals.adminActor`; otherwise the admin key. */
function actorOf(res: Response): string {
  const actor: unknown = res.locals.adminActor;
  return typeof actor === "string" && actor.length > 0 ? actor.slice(0, 200) : "admin-key";
}

export function mountKeyRoutes(app: Express, keys: KeyService, adminOnly: AdminOnly): void {
  const guarded = (handler: AsyncHandler): AsyncHandler => guardedBy(handler, asGatewayError);

  app.get(
    "/admin/keys",
    adminOnly(
      ENABLE_ADMIN,
      guarded(async (req, res) => {
        const tenant = req.query.tenant;
        if (tenant !== undefined && (typeof tenant !== "string" || !TENANT_ID.test(tenant))) {
          throw errors.invalidArgument("tenant must be a tenant id (lowercase letters, digits, _ or -).");
        }
        writeJson(res, 200, { keys: await keys.list(tenant) });
      }),
    ),
  );

  app.post(
    "/admin/keys",
    adminOnly(
      ENABLE_ADMIN,
      guarded(async (req, res) => {
        const body = await readAdminJson(req);
        onlyFields(body, ["tenant", "label", "expiresAt"]);
        const { tenant, expiresAt } = body;
        if (typeof tenant !== "string" || !TENANT_ID.test(tenant)) {
          throw errors.invalidArgument("tenant must be a tenant id (lowercase letters, digits, _ or -).");
        }
        const label = labelOf(body.label, true)!;
        let expires: number | null = null;
        if (expiresAt !== undefined && expiresAt !== null) {
          if (typeof expiresAt !== "string" || !RFC3339.test(expiresAt) || Number.isNaN(Date.parse(expiresAt))) {
            throw errors.invalidArgument("expiresAt must be an RFC 3339 time, e.g. 2027-01-31T00:00:00Z.");
          }
          expires = Date.parse(expiresAt);
        }
        const created = await keys.create(actorOf(res), { tenant, label, expiresAt: expires });
        writeJson(res, 201, { key: created.key, secret: created.secret });
      }),
    ),
  );

  app.post(
    "/admin/keys/:id/rotate",
    adminOnly(
      ENABLE_ADMIN,
      guarded(async (req, res) => {
        const id = idOf(req);
        const body = await readAdminJson(req, true);
        onlyFields(body, ["overlapSeconds", "label"]);
        const overlap = body.overlapSeconds ?? DEFAULT_OVERLAP_SECONDS;
        if (typeof overlap !== "number" || !Number.isInteger(overlap) || overlap < 0 || overlap > MAX_OVERLAP_SECONDS) {
          throw errors.invalidArgument(`overlapSeconds must be a whole number from 0 to ${MAX_OVERLAP_SECONDS}.`);
        }
        const rotated = await keys.rotate(actorOf(res), id, {
          overlapSeconds: overlap,
          label: labelOf(body.label, false),
        });
        writeJson(res, 201, rotated);
      }),
    ),
  );

  app.post(
    "/admin/keys/:id/revoke",
    adminOnly(
      ENABLE_ADMIN,
      guarded(async (req, res) => {
        const id = idOf(req);
        // A body is not needed; one that is sent must still be a JSON object (or empty).
        onlyFields(await readAdminJson(req, true), []);
        writeJson(res, 200, await keys.revoke(actorOf(res), id));
      }),
    ),
  );

  // Other verbs on these paths: 405 in the envelope, not the catch-all 404.
  app.all(["/admin/keys", "/admin/keys/:id/rotate", "/admin/keys/:id/revoke"], (req, res) =>
    writeError(res, errors.methodNotAllowed(req.method)),
  );
}

function idOf(req: Request): string {
  const id = String((req.params as { id: string }).id);
  if (!KEY_ID.test(id)) throw new GatewayError(404, "NOT_FOUND", `No key ${id.slice(0, 32)}.`);
  return id;
}

function labelOf(value: unknown, required: boolean): string | undefined {
  if (value === undefined && !required) return undefined;
  if (typeof value !== "string" || value.trim() === "" || value.length > MAX_LABEL || /\p{Cc}/u.test(value)) {
    throw errors.invalidArgument(`label must be a non-empty string of at most ${MAX_LABEL} characters, no controls.`);
  }
  return value.trim();
}

function onlyFields(body: Record<string, unknown>, allowed: readonly string[]): void {
  const extra = Object.keys(body).filter((k) => !allowed.includes(k));
  if (extra.length) {
    throw errors.invalidArgument(
      `Unknown field ${JSON.stringify(extra[0]!.slice(0, 64))}` +
        (allowed.length ? `; allowed: ${allowed.join(", ")}.` : ": this request takes no body."),
    );
  }
}

function asGatewayError(err: unknown): GatewayError {
  if (err instanceof KeyOperationError) {
    return err.kind === "not-found"
      ? new GatewayError(404, "NOT_FOUND", err.message)
      : new GatewayError(400, err.kind === "invalid" ? "INVALID_ARGUMENT" : "FAILED_PRECONDITION", err.message);
  }
  if (err instanceof KeysBusyError) return new GatewayError(409, "ABORTED", err.message);
  if (err instanceof StoreUnavailableError) return errors.storeUnavailable();
  if (err instanceof GatewayError) return err;
  // Secret Manager unreachable or refusing: the change did not happen; say so without its message.
  if (typeof (err as { code?: unknown })?.code === "number") {
    return new GatewayError(503, "UNAVAILABLE", "The keys document could not be read or written; retry shortly.");
  }
  return toGatewayError(err);
}
