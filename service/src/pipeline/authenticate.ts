/**
 * Stage 1: who is calling. The gateway key comes in `x-goog-api-key` (Developer API clients) or
 * `Authorization: Bearer` (Vertex clients, whose auth client we point at the gateway key). Keys are looked up by
 * their SHA-256 and confirmed with a constant-time comparison of the digests: the lookup reveals nothing usable,
 * because an attacker cannot choose keys by their digests.
 */
import { hash, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { Tenant } from "../config/tenants.js";
import type { KeyEntry, KeyIndex } from "../keys/service.js";
import { errors } from "../wire/errors.js";

export interface Identity {
  tenant: Tenant;
  keyId: string;
}

export interface Keyring {
  /** `rawHeaders` (node's list of names and values as received) shows headers sent more than once. */
  authenticate(headers: IncomingHttpHeaders, rawHeaders?: readonly string[]): Identity;
}

/**
 * Where the keyring looks keys up: the key service's current index (swapped whole on reload, keys/service.ts), and
 * what to call after a key was accepted (last use, throttled there).
 */
export interface KeySource {
  index(): KeyIndex;
  noteUse?(keyId: string): void;
}

/**
 * A keyring over the tenants file's keys alone (tests, tools), or over a key service's live index. Per call: one
 * SHA-256, one map lookup, a constant-time comparison and one comparison of the expiry with the clock.
 */
export function createKeyring(source: readonly Tenant[] | KeySource, now: () => number = Date.now): Keyring {
  const keys: KeySource = isSource(source) ? source : { index: () => fileIndex };
  const fileIndex: KeyIndex = isSource(source) ? new Map() : indexOfTenants(source);
  return {
    authenticate(headers, rawHeaders) {
      if (rawHeaders) refuseRepeatedKeyHeaders(rawHeaders);
      const key = presentedKey(headers);
      if (!key) throw errors.missingKey();
      const digest = hash("sha256", key, "buffer"); // one-shot: no Hash object per call
      const entry = keys.index().get(digest.toString("hex"));
      if (!entry || !timingSafeEqual(entry.digest, digest) || entry.expiresAtMs <= now()) throw errors.unknownKey();
      keys.noteUse?.(entry.keyId);
      return { tenant: entry.tenant, keyId: entry.keyId };
    },
  };
}

function isSource(source: readonly Tenant[] | KeySource): source is KeySource {
  return !Array.isArray(source);
}

function indexOfTenants(tenants: readonly Tenant[]): KeyIndex {
  const byDigest = new Map<string, KeyEntry>();
  for (const tenant of tenants) {
    for (const hex of tenant.keySha256) {
      byDigest.set(hex, { tenant, keyId: hex.slice(0, 12), digest: Buffer.from(hex, "hex"), expiresAtMs: Infinity });
    }
  }
  return byDigest;
}

function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const apiKey = headers["x-goog-api-key"];
  if (typeof apiKey === "string" && apiKey.length > 0) return apiKey.trim();
  const auth = headers.authorization;
  if (typeof auth === "string" && /^bearer\s+/i.test(auth)) return auth.replace(/^bearer\s+/i, "").trim() || undefined;
  return undefined;
}

/**
 * A key travels in one header, once. node keeps only the first of several Authorization headers (and joins repeated
 * x-goog-api-key values with ", "), so a request carrying two would be judged on one of them, silently: refuse it.
 */
function refuseRepeatedKeyHeaders(raw: readonly string[]): void {
  let authorization = 0;
  let apiKey = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    // Length first: most headers are neither, and this runs on every call.
    if (name.length === 13 && name.toLowerCase() === "authorization") authorization++;
    else if (name.length === 14 && name.toLowerCase() === "x-goog-api-key") apiKey++;
  }
  if (authorization > 1 || apiKey > 1) {
    throw errors.invalidArgument(
      `The request has ${authorization > 1 ? `${authorization} Authorization` : `${apiKey} x-goog-api-key`} ` +
        "headers; send the gateway key in one header, once.",
    );
  }
}
