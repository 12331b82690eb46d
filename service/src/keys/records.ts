/**
 * Key records and their lifecycle, as plain data and pure functions (no I/O, time passed in), so every transition is
 * unit-tested on fake time. docs/keys.md describes the lifecycle; docs/decisions/0029-key-lifecycle.md why it is so.
 *
 * Two sources of keys:
 * - the tenants file (GATEWAY_TENANTS_FILE): its `keySha256` digests are keys with source "file", active unless the
 *   managed document says otherwise. The file stays the way to start and to seed.
 * - the managed document: keys created through the operations (source "managed"), and for file keys only what was
 *   decided about them since (an expiry set by a rotation, a revocation) — an overlay, so no file edit is needed.
 *
 * The document holds SHA-256 digests only, never a secret. A key's id is the first 12 hex digits of its digest: the
 * `keyId` audit records of calls already carry, so a call can be traced to its key record.
 */
import { z } from "zod";
import { newKey, sha256Hex } from "../config/tenants.js";

export const KEY_STATES = ["active", "expiring", "expired", "revoked"] as const;
export type KeyState = (typeof KEY_STATES)[number];
export type KeySource = "file" | "managed";

/** What the admin API answers (the console's contract): times are RFC 3339 UTC. */
export interface KeyRecord {
  id: string;
  tenant: string;
  label: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  state: KeyState;
  source: KeySource;
}

/** One entry of the managed document. */
export interface StoredKey {
  id: string;
  /** Lowercase hex SHA-256 of the key: never the key. */
  sha256: string;
  tenant: string;
  label: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  source: KeySource;
}

/** The managed document: what one Secret Manager version (or the store's copy) holds. */
export interface KeysDocument {
  schema: 1;
  keys: StoredKey[];
}

export const EMPTY_DOCUMENT: KeysDocument = Object.freeze({ schema: 1, keys: [] }) as KeysDocument;

export const KEY_ID = /^[0-9a-f]{12}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const TIME = z.iso.datetime({ offset: true });

const StoredKeySchema = z.strictObject({
  id: z.string().regex(KEY_ID),
  sha256: z.string().regex(SHA256_HEX),
  tenant: z.string().min(1).max(63),
  label: z.string().max(200),
  createdAt: TIME,
  expiresAt: TIME.nullable(),
  revokedAt: TIME.nullable(),
  source: z.enum(["file", "managed"]),
});
const DocumentSchema = z.strictObject({ schema: z.literal(1), keys: z.array(StoredKeySchema) });

/**
 * Parses a stored document strictly: a document this version cannot read is an error (the caller keeps the last good
 * one), never a silently emptied keyring.
 */
export function parseDocument(text: string): KeysDocument {
  const parsed = DocumentSchema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    throw new Error(`the keys document is invalid: ${parsed.error.issues.map((i) => i.path.join(".")).join(", ")}`);
  }
  return parsed.data;
}

export function serializeDocument(doc: KeysDocument): string {
  return JSON.stringify(doc);
}

export const idOf = (sha256: string): string => sha256.slice(0, 12);
export { sha256Hex };

/** State at `now` (epoch ms): revoked wins; then expiry; a future expiry is "expiring". */
export function stateOf(k: Pick<StoredKey, "expiresAt" | "revokedAt">, now: number): KeyState {
  if (k.revokedAt !== null) return "revoked";
  if (k.expiresAt === null) return "active";
  return Date.parse(k.expiresAt) <= now ? "expired" : "expiring";
}

/** A file key as the tenants file gives it: tenant and digest. */
export interface FileKey {
  tenant: string;
  sha256: string;
}

/** Label and creation time shown for file keys that have no overlay entry yet. */
export interface FileKeyDefaults {
  label: string;
  createdAt: string;
}

/**
 * Every key: the file's (with their overlay applied) and the managed ones. Overlay entries whose digest the file no
 * longer lists are dropped (the file removed the key, which is the strongest revocation).
 */
export function effectiveKeys(doc: KeysDocument, fileKeys: readonly FileKey[], defaults: FileKeyDefaults): StoredKey[] {
  const overlay = new Map(doc.keys.filter((k) => k.source === "file").map((k) => [k.sha256, k] as const));
  const fromFile = fileKeys.map((f): StoredKey => {
    const decided = overlay.get(f.sha256);
    // The file says whose key it is, even if the digest moved to another tenant since the overlay was written.
    return decided
      ? { ...decided, tenant: f.tenant }
      : {
          id: idOf(f.sha256),
          sha256: f.sha256,
          tenant: f.tenant,
          label: defaults.label,
          createdAt: defaults.createdAt,
          expiresAt: null,
          revokedAt: null,
          source: "file",
        };
  });
  const fileDigests = new Set(fileKeys.map((f) => f.sha256));
  const managed = doc.keys.filter((k) => k.source === "managed" && !fileDigests.has(k.sha256));
  return [...fromFile, ...managed];
}

export function toRecord(k: StoredKey, now: number, lastUsedAt: string | null): KeyRecord {
  return {
    id: k.id,
    tenant: k.tenant,
    label: k.label,
    createdAt: k.createdAt,
    expiresAt: k.expiresAt,
    lastUsedAt,
    state: stateOf(k, now),
    source: k.source,
  };
}

/** Newest first; ties (file keys share a creation time) by id, so the order is stable. */
export function newestFirst(a: { createdAt: string; id: string }, b: { createdAt: string; id: string }): number {
  return Date.parse(b.createdAt) - Date.parse(a.createdAt) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** A refused operation: the API maps `kind` to its status (404 / 400). Messages name ids, never secrets. */
export class KeyOperationError extends Error {
  constructor(
    readonly kind: "not-found" | "invalid" | "precondition",
    message: string,
  ) {
    super(message);
    this.name = "KeyOperationError";
  }
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Replaces (or adds) one entry of the document, keeping every other. */
function withEntry(doc: KeysDocument, entry: StoredKey): KeysDocument {
  const keys = doc.keys.filter((k) => k.sha256 !== entry.sha256);
  return { schema: 1, keys: [...keys, entry] };
}

export interface Created {
  doc: KeysDocument;
  key: StoredKey;
  secret: string;
}

/** A new managed key for `tenant`. `taken` are the digests already known (an id collision draws again). */
export function createKey(
  doc: KeysDocument,
  taken: readonly StoredKey[],
  input: { tenant: string; label: string; expiresAt: number | null },
  now: number,
  draw: () => string = newKey,
): Created {
  if (input.expiresAt !== null && input.expiresAt <= now) {
    throw new KeyOperationError("invalid", "expiresAt must be in the future.");
  }
  const ids = new Set(taken.map((k) => k.id));
  let secret = draw();
  let sha256 = sha256Hex(secret);
  // 48 bits of id: a collision is astronomically rare, but two keys must never share an id.
  while (ids.has(idOf(sha256))) {
    secret = draw();
    sha256 = sha256Hex(secret);
  }
  const key: StoredKey = {
    id: idOf(sha256),
    sha256,
    tenant: input.tenant,
    label: input.label,
    createdAt: iso(now),
    expiresAt: input.expiresAt === null ? null : iso(input.expiresAt),
    revokedAt: null,
    source: "managed",
  };
  return { doc: withEntry(doc, key), key, secret };
}

export interface Rotated extends Created {
  previous: StoredKey;
}

/**
 * A new key for the same tenant; the old one stays valid for `overlapSeconds` (its expiry moves to now + overlap,
 * never later than an expiry it already had). A file key's new expiry goes into the overlay.
 */
export function rotateKey(
  doc: KeysDocument,
  all: readonly StoredKey[],
  id: string,
  input: { overlapSeconds: number; label: string | undefined },
  now: number,
  draw: () => string = newKey,
): Rotated {
  const old = all.find((k) => k.id === id);
  if (!old) throw new KeyOperationError("not-found", `No key ${id}.`);
  const state = stateOf(old, now);
  if (state === "revoked" || state === "expired") {
    throw new KeyOperationError("precondition", `Key ${id} is ${state}: create a new key instead of rotating it.`);
  }
  const created = createKey(
    doc,
    all,
    { tenant: old.tenant, label: input.label ?? old.label, expiresAt: null },
    now,
    draw,
  );
  const overlapEnd = now + input.overlapSeconds * 1000;
  const expiresAt = old.expiresAt === null ? overlapEnd : Math.min(Date.parse(old.expiresAt), overlapEnd);
  const previous: StoredKey = { ...old, expiresAt: iso(expiresAt) };
  return { ...created, doc: withEntry(created.doc, previous), previous };
}

/** Revokes a key; revoking a revoked key changes nothing (`changed` false) and answers the same record. */
export function revokeKey(
  doc: KeysDocument,
  all: readonly StoredKey[],
  id: string,
  now: number,
): { doc: KeysDocument; key: StoredKey; changed: boolean } {
  const key = all.find((k) => k.id === id);
  if (!key) throw new KeyOperationError("not-found", `No key ${id}.`);
  if (key.revokedAt !== null) return { doc, key, changed: false };
  const revoked: StoredKey = { ...key, revokedAt: iso(now) };
  return { doc: withEntry(doc, revoked), key: revoked, changed: true };
}
