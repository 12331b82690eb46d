// Key records and the key service on fake time (no sleeps): states and transitions, the file overlay, the keyring's
// expiry check, reload through the revision signal, throttled last use, and concurrent writers losing nothing.
import { describe, expect, it } from "vitest";
import { parseTenants, sha256Hex, type Tenant } from "../../service/src/config/tenants.js";
import { storeDocuments, type KeysDocuments } from "../../service/src/keys/documents.js";
import {
  createKey,
  effectiveKeys,
  EMPTY_DOCUMENT,
  KeyOperationError,
  parseDocument,
  revokeKey,
  rotateKey,
  stateOf,
  type KeysDocument,
  type StoredKey,
} from "../../service/src/keys/records.js";
import { createKeyService, type KeyAuditEvent } from "../../service/src/keys/service.js";
import { createKeyring } from "../../service/src/pipeline/authenticate.js";
import { createMemoryStore } from "../../service/src/store/memory.js";
import type { KeyValue, Leases } from "../../service/src/store/store.js";

const T0 = Date.parse("2026-12-01T00:00:00Z");
const H = 3_600_000;
const FILE_KEY = "ggw_file-key-of-acme";
const DEFAULTS = { label: "tenants file", createdAt: "2026-11-01T00:00:00.000Z" };
let n = 0;
const draw = () => `ggw_test-secret-${++n}`;
const tenants: Tenant[] = parseTenants(
  {
    tenants: [
      { id: "acme", keySha256: sha256Hex(FILE_KEY), models: ["*"] },
      { id: "globex", keySha256: sha256Hex("ggw_globex"), models: ["*"] },
    ],
  },
  ["gemini-2.5-flash"],
);
const fileKeys = tenants.flatMap((t) => t.keySha256.map((sha256) => ({ tenant: t.id, sha256 })));

describe("key states", () => {
  it("active without expiry; expiring before it; expired at and after it; revoked wins over everything", () => {
    const at = (h: number) => new Date(T0 + h * H).toISOString();
    expect(stateOf({ expiresAt: null, revokedAt: null }, T0)).toBe("active");
    expect(stateOf({ expiresAt: at(1), revokedAt: null }, T0)).toBe("expiring");
    expect(stateOf({ expiresAt: at(1), revokedAt: null }, T0 + H - 1)).toBe("expiring");
    expect(stateOf({ expiresAt: at(1), revokedAt: null }, T0 + H)).toBe("expired");
    expect(stateOf({ expiresAt: at(1), revokedAt: at(0) }, T0)).toBe("revoked");
    expect(stateOf({ expiresAt: null, revokedAt: at(0) }, T0 + 100 * H)).toBe("revoked");
  });
});

describe("transitions", () => {
  const all = (doc: KeysDocument) => effectiveKeys(doc, fileKeys, DEFAULTS);

  it("create: a managed key whose id is its digest's first 12 hex; the document holds the digest, never the secret", () => {
    const { doc, key, secret } = createKey(
      EMPTY_DOCUMENT,
      [],
      { tenant: "acme", label: "ci", expiresAt: null },
      T0,
      draw,
    );
    expect(key).toMatchObject({ id: sha256Hex(secret).slice(0, 12), sha256: sha256Hex(secret), source: "managed" });
    expect(key.createdAt).toBe(new Date(T0).toISOString());
    expect(JSON.stringify(doc)).not.toContain(secret);
    expect(() => createKey(EMPTY_DOCUMENT, [], { tenant: "acme", label: "x", expiresAt: T0 }, T0, draw)).toThrow(
      KeyOperationError,
    );
  });

  it("create draws again when the id is taken", () => {
    const first = createKey(EMPTY_DOCUMENT, [], { tenant: "acme", label: "a", expiresAt: null }, T0, () => "ggw_same");
    const draws = ["ggw_same", "ggw_other"];
    const second = createKey(first.doc, [first.key], { tenant: "acme", label: "b", expiresAt: null }, T0, () =>
      draws.shift()!,
    );
    expect(second.secret).toBe("ggw_other");
    expect(second.doc.keys).toHaveLength(2);
  });

  it("rotate: the old key expires at now + overlap (never later than it already would); both are in the document", () => {
    const c = createKey(EMPTY_DOCUMENT, [], { tenant: "acme", label: "ci", expiresAt: null }, T0, draw);
    const r = rotateKey(c.doc, all(c.doc), c.key.id, { overlapSeconds: 3600, label: undefined }, T0 + H, draw);
    expect(r.previous.expiresAt).toBe(new Date(T0 + 2 * H).toISOString());
    expect(r.key).toMatchObject({ tenant: "acme", label: "ci", expiresAt: null });
    expect(stateOf(r.previous, T0 + 2 * H - 1)).toBe("expiring");
    expect(stateOf(r.previous, T0 + 2 * H)).toBe("expired");
    expect(r.doc.keys.map((k) => k.id).sort()).toEqual([c.key.id, r.key.id].sort());

    const soon = createKey(EMPTY_DOCUMENT, [], { tenant: "acme", label: "s", expiresAt: T0 + H }, T0, draw);
    const r2 = rotateKey(soon.doc, all(soon.doc), soon.key.id, { overlapSeconds: 86_400, label: "n" }, T0, draw);
    expect(r2.previous.expiresAt).toBe(new Date(T0 + H).toISOString());
  });

  it("rotate refuses a revoked or expired key, and an unknown id", () => {
    const c = createKey(EMPTY_DOCUMENT, [], { tenant: "acme", label: "x", expiresAt: T0 + H }, T0, draw);
    const rotate = (doc: KeysDocument, at: number, id = c.key.id) =>
      rotateKey(doc, all(doc), id, { overlapSeconds: 0, label: undefined }, at, draw);
    expect(() => rotate(c.doc, T0 + H)).toThrow(/expired/);
    const revoked = revokeKey(c.doc, all(c.doc), c.key.id, T0).doc;
    expect(() => rotate(revoked, T0)).toThrow(/revoked/);
    expect(() => rotate(c.doc, T0, "0123456789ab")).toThrow(/No key/);
  });

  it("revoke is idempotent: the first revocation time stays", () => {
    const c = createKey(EMPTY_DOCUMENT, [], { tenant: "acme", label: "x", expiresAt: null }, T0, draw);
    const once = revokeKey(c.doc, all(c.doc), c.key.id, T0 + H);
    expect(once.changed).toBe(true);
    const twice = revokeKey(once.doc, all(once.doc), c.key.id, T0 + 2 * H);
    expect(twice.changed).toBe(false);
    expect(twice.doc).toBe(once.doc);
    expect(twice.key.revokedAt).toBe(new Date(T0 + H).toISOString());
  });

  it("file keys: listed from the file, revoked and rotated through the overlay; an overlay of a removed key is dropped", () => {
    const fileId = sha256Hex(FILE_KEY).slice(0, 12);
    const start = all(EMPTY_DOCUMENT).find((k) => k.id === fileId)!;
    expect(start).toMatchObject({ source: "file", label: "tenants file", revokedAt: null, expiresAt: null });
    const revoked = revokeKey(EMPTY_DOCUMENT, all(EMPTY_DOCUMENT), fileId, T0);
    expect(revoked.doc.keys).toEqual([expect.objectContaining({ id: fileId, source: "file" })]);
    expect(all(revoked.doc).find((k) => k.id === fileId)!.revokedAt).not.toBeNull();
    const rotated = rotateKey(
      EMPTY_DOCUMENT,
      all(EMPTY_DOCUMENT),
      fileId,
      { overlapSeconds: 60, label: "x" },
      T0,
      draw,
    );
    expect(all(rotated.doc).find((k) => k.id === fileId)).toMatchObject({
      source: "file",
      expiresAt: expect.any(String),
    });
    // The file no longer lists the key: its overlay entry goes with it.
    expect(effectiveKeys(revoked.doc, fileKeys.slice(1), DEFAULTS).some((k) => k.id === fileId)).toBe(false);
  });

  it("parseDocument refuses what it cannot read rather than returning an empty keyring", () => {
    expect(() => parseDocument('{"schema":1,"keys":[{"id":"x"}]}')).toThrow(/invalid/);
    expect(() => parseDocument('{"schema":2,"keys":[]}')).toThrow(/invalid/);
    expect(parseDocument('{"schema":1,"keys":[]}')).toEqual(EMPTY_DOCUMENT);
  });
});

describe("the keyring", () => {
  it("refuses a key at its expiry on the injected clock, without a reload", () => {
    let now = T0;
    const digest = sha256Hex("ggw_soon");
    const keyring = createKeyring(
      {
        index: () =>
          new Map([
            [
              digest,
              {
                tenant: tenants[0]!,
                keyId: digest.slice(0, 12),
                digest: Buffer.from(digest, "hex"),
                expiresAtMs: T0 + H,
              },
            ],
          ]),
      },
      () => now,
    );
    const headers = { "x-goog-api-key": "ggw_soon" };
    expect(keyring.authenticate(headers).keyId).toBe(digest.slice(0, 12));
    now = T0 + H - 1;
    expect(keyring.authenticate(headers).tenant.id).toBe("acme");
    now = T0 + H;
    expect(() => keyring.authenticate(headers)).toThrow(/API key not valid/);
  });
});

/** A KeyValue counting writes per key prefix, over the memory store's. */
function counting(kv: KeyValue & Leases) {
  const sets: string[] = [];
  return {
    sets,
    kv: {
      ...kv,
      get: kv.get.bind(kv),
      claim: kv.claim.bind(kv),
      release: kv.release.bind(kv),
      set: (k: string, v: string, ttl: number) => (sets.push(k), kv.set(k, v, ttl)),
    },
  };
}

function service(kv: KeyValue & Leases, now: () => number, documents?: KeysDocuments, audit: KeyAuditEvent[] = []) {
  return createKeyService({
    tenants,
    documents: documents ?? storeDocuments(kv, "test"),
    kv,
    fileKeys: DEFAULTS,
    pollMs: 60_000, // the tests call poll() themselves
    now,
    audit: (e) => audit.push(e),
  });
}

describe("the key service", () => {
  it("another instance sees a change at its next poll (the signal), not before; the index swaps whole", async () => {
    const store = createMemoryStore();
    const now = () => T0;
    const a = service(store.kv, now);
    const b = service(store.kv, now);
    await Promise.all([a.start(), b.start()]);
    const indexBefore = b.index();
    const { secret } = await a.create("admin-key", { tenant: "acme", label: "x", expiresAt: null });
    const digest = sha256Hex(secret);
    expect(a.index().has(digest)).toBe(true);
    expect(b.index().has(digest)).toBe(false);
    await b.poll();
    expect(b.index().has(digest)).toBe(true);
    expect(b.index()).not.toBe(indexBefore);
    expect(indexBefore.has(digest)).toBe(false); // the old index was replaced, not mutated
    expect(b.revision()).toBe(a.revision());
    a.stop();
    b.stop();
  });

  it("writes last use at most once a minute per key per instance", async () => {
    const store = createMemoryStore();
    let t = T0;
    const { kv, sets } = counting(store.kv);
    const s = service(kv, () => t);
    await s.start();
    const used = () => sets.filter((k) => k.startsWith("keys:used:")).length;
    s.noteUse("0123456789ab");
    s.noteUse("0123456789ab");
    t += 59_999;
    s.noteUse("0123456789ab");
    expect(used()).toBe(1);
    t += 1;
    s.noteUse("0123456789ab");
    s.noteUse("ba9876543210");
    expect(used()).toBe(3);
    s.stop();
  });

  it("two instances changing keys at once lose nothing (the lease serializes read-change-write)", async () => {
    const store = createMemoryStore();
    const base = storeDocuments(store.kv, "test");
    // A slow write widens the window in which an unserialized writer would overwrite the other's change.
    const slow: KeysDocuments = {
      ...base,
      write: async (doc) => {
        await new Promise((r) => setTimeout(r, 5));
        return base.write(doc);
      },
    };
    const audit: KeyAuditEvent[] = [];
    const a = service(store.kv, Date.now, slow, audit);
    const b = service(store.kv, Date.now, slow, audit);
    await Promise.all([a.start(), b.start()]);
    const created = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        (i % 2 ? a : b).create("admin-key", { tenant: "globex", label: `k${i}`, expiresAt: null }),
      ),
    );
    const { doc, revision } = await base.read();
    expect(doc.keys.map((k: StoredKey) => k.id).sort()).toEqual(created.map((c) => c.key.id).sort());
    expect(revision).toBe("8");
    expect(audit.map((e) => e.action)).toEqual(Array(8).fill("key.create"));
    a.stop();
    b.stop();
  });

  it("a slow read that started before this instance's own write does not bring back what the write changed", async () => {
    const store = createMemoryStore();
    const base = storeDocuments(store.kv, "test");
    let gate: Promise<void> | undefined;
    let release = () => {};
    // The next read takes its snapshot at once and answers only when released (a slow Secret Manager read).
    const documents: KeysDocuments = {
      ...base,
      read: async () => {
        const snapshot = await base.read();
        const wait = gate;
        gate = undefined;
        if (wait) await wait;
        return snapshot;
      },
    };
    const s = service(store.kv, Date.now, documents);
    await s.start();
    const { key, secret } = await s.create("admin-key", { tenant: "acme", label: "x", expiresAt: null });
    gate = new Promise((resolve) => (release = resolve));
    await store.kv.set("keys:revision", "signalled", 60_000);
    const polling = s.poll(); // reads revision 1 (the key active) and waits
    await new Promise((r) => setTimeout(r, 5));
    await s.revoke("admin-key", key.id); // revision 2: revoked
    release();
    await polling;
    expect(s.revision()).toBe("2");
    expect(s.index().has(sha256Hex(secret))).toBe(false);
    s.stop();
  });

  it("a file key's overlay follows the file's tenant when the digest moved", () => {
    const digest = sha256Hex("ggw_moved");
    const doc = revokeKey(
      EMPTY_DOCUMENT,
      effectiveKeys(EMPTY_DOCUMENT, [{ tenant: "acme", sha256: digest }], DEFAULTS),
      digest.slice(0, 12),
      T0,
    ).doc;
    const moved = effectiveKeys(doc, [{ tenant: "globex", sha256: digest }], DEFAULTS);
    expect(moved).toEqual([expect.objectContaining({ tenant: "globex", revokedAt: expect.any(String) })]);
  });

  it("refuses to start when the document cannot be read (revocations must not be forgotten)", async () => {
    const store = createMemoryStore();
    const broken: KeysDocuments = {
      ...storeDocuments(store.kv, "test"),
      read: () => Promise.reject(new Error("denied")),
    };
    await expect(service(store.kv, Date.now, broken).start()).rejects.toThrow(/denied/);
  });
});
