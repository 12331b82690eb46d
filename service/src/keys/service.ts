/**
 * The key operations (list, create, rotate, revoke) that the admin API, `npm run keys` (through the API) and the
 * console share, and the per-instance index the keyring authenticates against.
 *
 * Every instance holds the managed document in memory and reloads it without a restart:
 * - cheap check every `pollMs`: one GET of the revision signal in the shared store; the document (Secret Manager) is
 *   read only when the signal differs from the revision loaded;
 * - backstop every `resyncMs`: a full read whatever the signal says (a lost signal write, a rollback made with gcloud);
 * - the index is rebuilt off the call path and swapped in one assignment; a call sees the old index or the new one.
 *
 * Writers are serialized by a lease in the shared store (`keys:lock`, SET NX PX): each change re-reads the latest
 * document under the lease, applies itself and writes a new revision, so two instances changing keys at once both land
 * (decision 0029: Secret Manager's addVersion has no precondition to compare-and-set on).
 *
 * Last use is written to the store at most once a minute per key per instance, never on every call.
 */
import { randomUUID } from "node:crypto";
import type { Tenant } from "../config/tenants.js";
import type { KeyValue, Leases } from "../store/store.js";
import type { KeysDocuments, Revisioned } from "./documents.js";
import {
  createKey,
  effectiveKeys,
  KeyOperationError,
  newestFirst,
  revokeKey,
  rotateKey,
  stateOf,
  toRecord,
  type FileKey,
  type FileKeyDefaults,
  type KeyRecord,
  type KeysDocument,
  type StoredKey,
} from "./records.js";

/** What the keyring looks a presented key's digest up in. */
export interface KeyEntry {
  readonly tenant: Tenant;
  readonly keyId: string;
  readonly digest: Buffer;
  /** Epoch ms after which the key is refused; Infinity when it does not expire. */
  readonly expiresAtMs: number;
}

export type KeyIndex = ReadonlyMap<string, KeyEntry>;

export interface KeyAuditEvent {
  actor: string;
  action: "key.create" | "key.rotate" | "key.revoke";
  keyId: string;
  tenant: string;
  /** rotate: the key being replaced. */
  previousKeyId?: string;
  /** The key's expiry after the change (rotate: the previous key's end of overlap). */
  expiresAt?: string | null;
}

export interface KeyServiceOptions {
  tenants: readonly Tenant[];
  documents: KeysDocuments;
  /** The shared store: revision signal, write lease, last use. */
  kv: KeyValue & Leases;
  /** Label and creation time shown for file keys. */
  fileKeys: FileKeyDefaults;
  pollMs: number;
  /** Full read whatever the signal says; default 60 s. */
  resyncMs?: number;
  now?: () => number;
  audit: (event: KeyAuditEvent) => void;
  /** A reload or a store write failed (the last good index stays). */
  onError?: (err: Error, during: string) => void;
  /** A new revision was loaded (tests and logs). */
  onReload?: (revision: string) => void;
}

export interface CreateInput {
  tenant: string;
  label: string;
  /** Epoch ms, or null for no expiry. */
  expiresAt: number | null;
}

export interface KeyService {
  /** Reads the document once; rejects when it cannot (a gateway must not start without its revocations). */
  start(): Promise<void>;
  stop(): void;
  /** The index to authenticate against; replaced, never mutated, on reload. */
  index(): KeyIndex;
  /** Called by the keyring after a successful authentication: last use, throttled. */
  noteUse(keyId: string): void;
  /** The revision loaded (the Secret Manager version number, or the store's counter). */
  revision(): string;
  /** Checks the signal now (what the poll does). */
  poll(): Promise<void>;
  list(tenant?: string): Promise<KeyRecord[]>;
  create(actor: string, input: CreateInput): Promise<{ key: KeyRecord; secret: string }>;
  rotate(
    actor: string,
    id: string,
    input: { overlapSeconds: number; label: string | undefined },
  ): Promise<{ key: KeyRecord; secret: string; previous: KeyRecord }>;
  revoke(actor: string, id: string): Promise<{ key: KeyRecord }>;
}

/** Another instance holds the write lease for longer than a change should take: the caller may retry. */
export class KeysBusyError extends Error {
  override name = "KeysBusyError";
}

const SIGNAL_KEY = "keys:revision";
const LOCK_KEY = "keys:lock";
const USED_PREFIX = "keys:used:";
const KEEP_MS = 10 * 365 * 86_400_000;
/** Last use is kept about as long as anyone asks "is this key still used?". */
const USED_TTL_MS = 400 * 86_400_000;
const USE_THROTTLE_MS = 60_000;
/** Longer than a Secret Manager read plus write; a crashed holder's lease frees itself after this. */
const LOCK_TTL_MS = 15_000;
const LOCK_WAIT_MS = 10_000;

export function createKeyService(o: KeyServiceOptions): KeyService {
  const now = o.now ?? Date.now;
  const tenantsById = new Map(o.tenants.map((t) => [t.id, t] as const));
  const fileKeys: FileKey[] = o.tenants.flatMap((t) => t.keySha256.map((sha256) => ({ tenant: t.id, sha256 })));
  let loaded: Revisioned = { doc: { schema: 1, keys: [] }, revision: "0" };
  let all: StoredKey[] = effectiveKeys(loaded.doc, fileKeys, o.fileKeys);
  let index: KeyIndex = indexOf(all);
  const lastWritten = new Map<string, number>();
  const lastUsedHere = new Map<string, number>();
  let timers: NodeJS.Timeout[] = [];
  let reloading: Promise<void> | undefined;
  let localWrites = 0;

  function indexOf(keys: readonly StoredKey[]): KeyIndex {
    const t = now();
    const map = new Map<string, KeyEntry>();
    for (const k of keys) {
      const tenant = tenantsById.get(k.tenant);
      const state = stateOf(k, t);
      // A key whose tenant left the file, or that can no longer be valid, is not in the index at all.
      if (!tenant || state === "revoked" || state === "expired") continue;
      map.set(k.sha256, {
        tenant,
        keyId: k.id,
        digest: Buffer.from(k.sha256, "hex"),
        expiresAtMs: k.expiresAt === null ? Infinity : Date.parse(k.expiresAt),
      });
    }
    return map;
  }

  function install(next: Revisioned): void {
    const changed = next.revision !== loaded.revision;
    loaded = next;
    all = effectiveKeys(next.doc, fileKeys, o.fileKeys);
    index = indexOf(all); // one assignment: the swap
    if (changed) o.onReload?.(next.revision);
  }

  async function reload(): Promise<void> {
    // A read that started before this instance's own write cannot hold anything newer than that write (writes are
    // serialized): installing it would put the older document back until the next poll. Drop it.
    const writesBefore = localWrites;
    reloading ??= o.documents
      .read()
      .then((next) => {
        if (localWrites === writesBefore) install(next);
      })
      .finally(() => (reloading = undefined));
    return reloading;
  }

  async function poll(): Promise<void> {
    try {
      const signal = await o.kv.get(SIGNAL_KEY);
      if (signal !== null && signal !== loaded.revision) await reload();
    } catch (err) {
      o.onError?.(err as Error, "keys reload");
    }
  }

  async function lastUsed(id: string): Promise<string | null> {
    let stored: string | null = null;
    try {
      stored = await o.kv.get(USED_PREFIX + id);
    } catch (err) {
      o.onError?.(err as Error, "keys last use");
    }
    const here = lastUsedHere.get(id);
    const best = Math.max(stored === null ? 0 : Date.parse(stored), here ?? 0);
    return best === 0 ? null : new Date(best).toISOString();
  }

  const record = async (k: StoredKey) => toRecord(k, now(), await lastUsed(k.id));

  /** Read-change-write under the shared lease: the change applies to the latest document, whoever wrote it. */
  async function change<T>(
    apply: (doc: KeysDocument, keys: readonly StoredKey[], at: number) => { doc: KeysDocument; result: T },
  ): Promise<T> {
    const token = randomUUID();
    const giveUpAt = Date.now() + LOCK_WAIT_MS;
    while (!(await o.kv.claim(LOCK_KEY, token, LOCK_TTL_MS))) {
      if (Date.now() > giveUpAt) throw new KeysBusyError("another key change is in progress; retry shortly");
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 30));
    }
    try {
      const latest = await o.documents.read();
      const { doc, result } = apply(latest.doc, effectiveKeys(latest.doc, fileKeys, o.fileKeys), now());
      if (doc === latest.doc) {
        install(latest);
        return result;
      }
      const revision = await o.documents.write(doc);
      localWrites++;
      install({ doc, revision });
      // Inside the lease, so the signal only ever moves forward.
      await o.kv.set(SIGNAL_KEY, revision, KEEP_MS).catch((err: Error) => o.onError?.(err, "keys signal"));
      return result;
    } finally {
      await o.kv.release(LOCK_KEY, token).catch(() => undefined);
    }
  }

  return {
    async start() {
      install(await o.documents.read());
      const pollTimer = setInterval(() => void poll(), o.pollMs);
      const resyncTimer = setInterval(
        () => void reload().catch((err: Error) => o.onError?.(err, "keys resync")),
        o.resyncMs ?? 60_000,
      );
      pollTimer.unref();
      resyncTimer.unref();
      timers = [pollTimer, resyncTimer];
    },
    stop() {
      for (const t of timers) clearInterval(t);
      timers = [];
    },
    index: () => index,
    revision: () => loaded.revision,
    poll,
    noteUse(keyId) {
      const t = now();
      lastUsedHere.set(keyId, t);
      const last = lastWritten.get(keyId);
      if (last !== undefined && t - last < USE_THROTTLE_MS) return;
      lastWritten.set(keyId, t);
      o.kv
        .set(USED_PREFIX + keyId, new Date(t).toISOString(), USED_TTL_MS)
        .catch((err: Error) => o.onError?.(err, "keys last use"));
    },
    async list(tenant) {
      const keys = all.filter((k) => tenant === undefined || k.tenant === tenant);
      return (await Promise.all(keys.map(record))).sort(newestFirst);
    },
    async create(actor, input) {
      if (!tenantsById.has(input.tenant)) throw new KeyOperationError("not-found", `No tenant ${input.tenant}.`);
      const { key, secret } = await change((doc, keys, at) => {
        const created = createKey(doc, keys, input, at);
        return { doc: created.doc, result: created };
      });
      o.audit({ actor, action: "key.create", keyId: key.id, tenant: key.tenant, expiresAt: key.expiresAt });
      return { key: await record(key), secret };
    },
    async rotate(actor, id, input) {
      const { key, secret, previous } = await change((doc, keys, at) => {
        const rotated = rotateKey(doc, keys, id, input, at);
        return { doc: rotated.doc, result: rotated };
      });
      o.audit({
        actor,
        action: "key.rotate",
        keyId: key.id,
        tenant: key.tenant,
        previousKeyId: previous.id,
        expiresAt: previous.expiresAt,
      });
      return { key: await record(key), secret, previous: await record(previous) };
    },
    async revoke(actor, id) {
      const { key, changed } = await change((doc, keys, at) => {
        const revoked = revokeKey(doc, keys, id, at);
        return { doc: revoked.doc, result: revoked };
      });
      if (changed) o.audit({ actor, action: "key.revoke", keyId: key.id, tenant: key.tenant });
      return { key: await record(key) };
    },
  };
}
