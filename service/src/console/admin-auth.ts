/**
 * Who may call the admin endpoints (`adminOnly` in surfaces/routes.ts): the admin key in `Authorization: Bearer`, as
 * scripts and `curl` send it, or a console session cookie (session.ts). A session is ambient — the browser attaches it
 * to any request to this origin — so a session's changes (any method but GET/HEAD) must also carry the session's CSRF
 * token in `x-csrf-token`; the admin key header is never ambient and needs none.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { isAdmin } from "../telemetry/metrics-endpoint.js";
import { errors, GatewayError } from "../wire/errors.js";
import { csrfMatches, type SessionStore } from "./session.js";

export const SESSION_COOKIE = "ggw_console";
export const CSRF_HEADER = "x-csrf-token";

export interface AdminIdentity {
  /** For audit records: `admin-key`, or `console:<first 8 hex of the session id's SHA-256>`. */
  actor: string;
  /** The session id, when the caller is a console session (never logged: it is the credential). */
  sessionId?: string;
}

export interface AdminAuth {
  /** The caller's identity, or the error to answer (401, 403). Rejects with StoreUnavailableError when sessions can't be read. */
  authorize(req: IncomingMessage): Promise<AdminIdentity | GatewayError>;
  /** The console session alone (console pages and assets): no admin key header path. */
  session(req: IncomingMessage): Promise<AdminIdentity | undefined>;
}

const SAFE_METHODS = new Set(["GET", "HEAD"]);

/** True when `key` (the login form's) is the admin key whose SHA-256 (hex) is `adminKeySha256`; constant time. */
export function isAdminKey(key: string, adminKeySha256: string): boolean {
  const presented = createHash("sha256").update(key.trim()).digest();
  return timingSafeEqual(presented, Buffer.from(adminKeySha256, "hex"));
}

/** One cookie's value from the Cookie header; undefined when absent. */
export function cookieOf(headers: IncomingHttpHeaders, name: string): string | undefined {
  const header = headers.cookie;
  if (typeof header !== "string") return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** A request the browser marked as sent from another site (Fetch Metadata): refused for sessions, whatever else. */
export function crossSite(headers: IncomingHttpHeaders): boolean {
  return headers["sec-fetch-site"] === "cross-site";
}

export const forbidden = {
  csrf: () =>
    new GatewayError(
      403,
      "PERMISSION_DENIED",
      `A console session's changes need its CSRF token in the ${CSRF_HEADER} header (missing or wrong).`,
    ),
  crossSite: () =>
    new GatewayError(403, "PERMISSION_DENIED", "Cross-site requests with a console session are refused."),
};

export function createAdminAuth(adminKeySha256: string, sessions: SessionStore | undefined): AdminAuth {
  const session = async (req: IncomingMessage): Promise<AdminIdentity | undefined> => {
    const id = sessions && cookieOf(req.headers, SESSION_COOKIE);
    if (!id) return undefined;
    const found = await sessions.find(id);
    return found && { actor: `console:${found.digest.slice(0, 8)}`, sessionId: id };
  };
  return {
    session,
    async authorize(req) {
      const auth = req.headers.authorization;
      // A header decides alone: a wrong key is refused even when a session cookie rides along.
      if (typeof auth === "string") {
        return isAdmin(req.headers, adminKeySha256) ? { actor: "admin-key" } : errors.adminOnly();
      }
      const who = await session(req);
      if (!who) return errors.adminOnly();
      if (SAFE_METHODS.has(req.method ?? "GET")) return who;
      if (crossSite(req.headers)) return forbidden.crossSite();
      const token = req.headers[CSRF_HEADER];
      return csrfMatches(who.sessionId!, typeof token === "string" ? token : undefined) ? who : forbidden.csrf();
    },
  };
}
