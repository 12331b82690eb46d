/**
 * Console sessions: the admin key, presented once on the login page, is exchanged for a random session id held in an
 * httpOnly cookie. The store keeps only the id's SHA-256 (under `console:session:<digest>`, with the session's TTL), so
 * that every gateway instance sharing the store (Redis) accepts the session and a logout on one instance ends it on all.
 * A store dump does not yield a usable cookie. (docs/decisions/0030-operator-console.md: why not a signed cookie.)
 *
 * The CSRF token is derived from the session id (HMAC-SHA256 keyed by the id): a synchronizer token that needs no
 * storage and that only a holder of the session id — the page, which reads it from `GET /console/session` — can know.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { KeyValue, Leases } from "../store/store.js";

const PREFIX = "console:session:";
/** 32 random bytes, base64url: the only accepted shape of a session id (anything else is not looked up). */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

export interface ConsoleSession {
  /** SHA-256 (hex) of the session id: what the store keys it by, and (its first 8 characters) the audit actor. */
  digest: string;
  /** Which admin key logged in (a digest of its digest): a session ends when GATEWAY_ADMIN_KEY_SHA256 changes. */
  key: string;
  /** Epoch ms. */
  createdAt: number;
  expiresAt: number;
}

export interface SessionStore {
  readonly ttlMs: number;
  /** A new session; the id goes into the cookie and nowhere else. */
  create(): Promise<{ id: string; session: ConsoleSession }>;
  /** The live session a cookie's id names, or undefined (unknown, expired, logged out, malformed). */
  find(id: string): Promise<ConsoleSession | undefined>;
  /** Ends the session on every instance (no-op when it is already gone). */
  destroy(id: string): Promise<void>;
}

export function sessionDigest(id: string): string {
  return createHash("sha256").update(id).digest("hex");
}

/** The session's CSRF token: base64url HMAC-SHA256 of a fixed label, keyed by the session id. */
export function csrfTokenOf(id: string): string {
  return createHmac("sha256", id).update("gemini-gateway console csrf v1").digest("base64url");
}

/** Constant-time comparison of a presented CSRF token with the session's. */
export function csrfMatches(id: string, presented: string | undefined): boolean {
  if (typeof presented !== "string" || presented.length === 0) return false;
  const expected = Buffer.from(csrfTokenOf(id));
  const got = Buffer.from(presented);
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/**
 * `adminKeySha256`: the admin key sessions are made with; a session made with another (before the key was rotated)
 * is not found.
 */
export function createSessionStore(
  kv: KeyValue & Leases,
  ttlMs: number,
  adminKeySha256: string,
  now: () => number = Date.now,
): SessionStore {
  const key = createHash("sha256").update(`console session key ${adminKeySha256}`).digest("hex").slice(0, 16);
  return {
    ttlMs,
    async create() {
      const id = randomBytes(32).toString("base64url");
      const createdAt = now();
      const session: ConsoleSession = { digest: sessionDigest(id), key, createdAt, expiresAt: createdAt + ttlMs };
      // claim (SET NX): a collision of 256-bit ids never happens, but if it did it must not take over a session.
      if (!(await kv.claim(PREFIX + session.digest, JSON.stringify(session), ttlMs))) {
        throw new Error("session id collision");
      }
      return { id, session };
    },
    async find(id) {
      if (!SESSION_ID.test(id)) return undefined;
      const raw = await kv.get(PREFIX + sessionDigest(id));
      if (raw === null) return undefined;
      const session = JSON.parse(raw) as ConsoleSession;
      // The store's TTL ends it too; this check covers a store whose clock runs behind ours.
      return session.expiresAt > now() && session.key === key ? session : undefined;
    },
    async destroy(id) {
      if (!SESSION_ID.test(id)) return;
      const key = PREFIX + sessionDigest(id);
      const raw = await kv.get(key);
      if (raw !== null) await kv.release(key, raw);
    },
  };
}
