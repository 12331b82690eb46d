// The key lifecycle end to end (docs/keys.md): a real gateway keeping its managed keys in the emulator's Secret
// Manager (a real HTTP server, through the official client's REST transport) — create → use → rotate (both keys work
// in the overlap) → revoke the old → refused; file keys revoked through the overlay; every change an audit record;
// the secret in no log line, metric or Secret Manager version; bad input answered 4xx in Google's envelope.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../../service/src/config/tenants.js";
import { postJson, startStack, type Stack } from "../support/stack.js";

const ADMIN_KEY = "keys-admin-key";
const SECRET = "projects/emulator-project/secrets/gateway-keys";
let stack: Stack;
let base: string;
const secrets: string[] = [];

interface KeyRecord {
  id: string;
  tenant: string;
  label: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  state: string;
  source: string;
}

beforeAll(async () => {
  stack = await startStack({
    env: { GATEWAY_ADMIN_KEY_SHA256: sha256Hex(ADMIN_KEY), GATEWAY_KEYS_SECRET: SECRET },
    tenants: [{ id: "globex", models: ["*"] }],
  });
  base = stack.gateway.url;
  // The infrastructure creates the secret (infra/components/secrets.ts); here, the emulator's secrets.create.
  const created = await fetch(`${stack.emulator.url}/v1/projects/emulator-project/secrets?secretId=gateway-keys`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ replication: { automatic: {} } }),
  });
  expect(created.status).toBe(200);
});
afterAll(() => stack.close());

const admin = { authorization: `Bearer ${ADMIN_KEY}` };
const adminPost = (path: string, body: unknown = {}) => postJson(`${base}${path}`, body, admin);
const call = (key: string) =>
  postJson(
    `${base}/v1beta/models/gemini-2.5-flash:generateContent`,
    { contents: [{ role: "user", parts: [{ text: "Hello" }] }] },
    { "x-goog-api-key": key },
  );
const list = async (tenant?: string) => {
  const res = await fetch(`${base}/admin/keys${tenant ? `?tenant=${tenant}` : ""}`, { headers: admin });
  expect(res.status).toBe(200);
  return ((await res.json()) as { keys: KeyRecord[] }).keys;
};
const create = async (tenant: string, label: string, expiresAt?: string) => {
  const res = await adminPost("/admin/keys", { tenant, label, ...(expiresAt ? { expiresAt } : {}) });
  expect(res.status).toBe(201);
  const body = res.json as { key: KeyRecord; secret: string };
  secrets.push(body.secret);
  return body;
};
const audits = () =>
  stack.logs
    .filter((l) => l.includes('"gateway-audit"') && l.includes('"admin":true'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe("key lifecycle", () => {
  it("lists the tenants file's keys with source file, newest first", async () => {
    const keys = await list();
    expect(keys.map((k) => k.tenant).sort()).toEqual(["acme", "flash-only", "globex"]);
    for (const k of keys) {
      expect(k).toMatchObject({ source: "file", state: "active", label: "tenants file", expiresAt: null });
      expect(k.id).toMatch(/^[0-9a-f]{12}$/);
    }
    expect((await list("globex")).map((k) => k.id)).toEqual([sha256Hex(stack.keys.globex!).slice(0, 12)]);
  });

  it("create → use → rotate (both work in the overlap) → revoke the old → refused; the new one still works", async () => {
    const { key, secret } = await create("acme", "ci runner");
    expect(secret).toMatch(/^ggw_[A-Za-z0-9_-]{43}$/);
    expect(key).toMatchObject({ tenant: "acme", label: "ci runner", state: "active", source: "managed" });
    expect(key.id).toBe(sha256Hex(secret).slice(0, 12));
    expect((await list("acme"))[0]!.id).toBe(key.id); // newest first

    const used = await call(secret);
    expect(used.status).toBe(200);
    const record = stack.logs.map((l) => JSON.parse(l) as Record<string, unknown>).findLast((r) => r.keyId);
    expect(record).toMatchObject({ tenant: "acme", keyId: key.id });
    expect((await list("acme")).find((k) => k.id === key.id)!.lastUsedAt).not.toBeNull();

    const before = Date.now();
    const rotated = await adminPost(`/admin/keys/${key.id}/rotate`, { overlapSeconds: 3600, label: "ci runner v2" });
    expect(rotated.status).toBe(201);
    const r = rotated.json as { key: KeyRecord; secret: string; previous: KeyRecord };
    secrets.push(r.secret);
    expect(r.key).toMatchObject({ tenant: "acme", label: "ci runner v2", state: "active", source: "managed" });
    expect(r.previous).toMatchObject({ id: key.id, state: "expiring" });
    const end = Date.parse(r.previous.expiresAt!);
    expect(end).toBeGreaterThanOrEqual(before + 3600_000 - 1000);
    expect(end).toBeLessThanOrEqual(Date.now() + 3600_000 + 1000);
    expect((await call(secret)).status).toBe(200);
    expect((await call(r.secret)).status).toBe(200);

    const revoked = await adminPost(`/admin/keys/${key.id}/revoke`);
    expect(revoked.status).toBe(200);
    expect((revoked.json as { key: KeyRecord }).key).toMatchObject({ id: key.id, state: "revoked" });
    const refused = await call(secret);
    expect(refused.status).toBe(401);
    expect(refused.json).toMatchObject({ error: { code: 401, status: "UNAUTHENTICATED" } });
    expect((await call(r.secret)).status).toBe(200);

    // Revoking twice: the same answer, no second change.
    const versions = stack.emulator.secretVersions(SECRET).length;
    const again = await adminPost(`/admin/keys/${key.id}/revoke`);
    expect(again.status).toBe(200);
    expect((again.json as { key: KeyRecord }).key).toEqual((revoked.json as { key: KeyRecord }).key);
    expect(stack.emulator.secretVersions(SECRET).length).toBe(versions);

    // A revoked key cannot be rotated back to life.
    const rotateRevoked = await adminPost(`/admin/keys/${key.id}/rotate`, {});
    expect(rotateRevoked.status).toBe(400);
    expect(rotateRevoked.json).toMatchObject({ error: { status: "FAILED_PRECONDITION" } });

    expect(audits().slice(-3)).toEqual([
      expect.objectContaining({ action: "key.create", actor: "admin-key", keyId: key.id, tenant: "acme" }),
      expect.objectContaining({ action: "key.rotate", keyId: r.key.id, previousKeyId: key.id, tenant: "acme" }),
      expect.objectContaining({ action: "key.revoke", keyId: key.id, tenant: "acme" }),
    ]);
  });

  it("rotating with overlapSeconds 0 ends the old key at once", async () => {
    const { key, secret } = await create("globex", "short overlap");
    const r = await adminPost(`/admin/keys/${key.id}/rotate`, { overlapSeconds: 0 });
    expect(r.status).toBe(201);
    secrets.push((r.json as { secret: string }).secret);
    expect((r.json as { previous: KeyRecord }).previous.state).toBe("expired");
    expect((await call(secret)).status).toBe(401);
    expect((await call((r.json as { secret: string }).secret)).status).toBe(200);
  });

  it("revokes a file key through the overlay: refused, listed as revoked with source file", async () => {
    const id = sha256Hex(stack.keys.globex!).slice(0, 12);
    expect((await call(stack.keys.globex!)).status).toBe(200);
    const res = await adminPost(`/admin/keys/${id}/revoke`);
    expect(res.status).toBe(200);
    expect((res.json as { key: KeyRecord }).key).toMatchObject({ id, source: "file", state: "revoked" });
    expect((await call(stack.keys.globex!)).status).toBe(401);
    expect((await list("globex")).find((k) => k.id === id)).toMatchObject({ source: "file", state: "revoked" });
  });

  it("a key created with an expiry is expiring, and Secret Manager keeps one version per change", async () => {
    const before = stack.emulator.secretVersions(SECRET).length;
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const { key, secret } = await create("acme", "expires tomorrow", expiresAt);
    expect(key).toMatchObject({ state: "expiring", expiresAt });
    expect((await call(secret)).status).toBe(200);
    const versions = stack.emulator.secretVersions(SECRET);
    expect(versions.length).toBe(before + 1);
    const doc = JSON.parse(versions.at(-1)!.toString("utf8")) as { keys: { id: string; sha256: string }[] };
    expect(doc.keys.find((k) => k.id === key.id)!.sha256).toBe(sha256Hex(secret));
  });
});

describe("admin API input", () => {
  it.each([
    ["POST", "/admin/keys", { tenant: "nobody", label: "x" }, 404],
    ["POST", "/admin/keys", { tenant: "acme" }, 400],
    ["POST", "/admin/keys", { tenant: "acme", label: "" }, 400],
    ["POST", "/admin/keys", { tenant: "acme", label: "x".repeat(201) }, 400],
    ["POST", "/admin/keys", { tenant: "acme", label: "bell\u0007" }, 400],
    ["POST", "/admin/keys", { tenant: "<script>", label: "x" }, 400],
    ["POST", "/admin/keys", { tenant: 7, label: "x" }, 400],
    ["POST", "/admin/keys", { tenant: "acme", label: "x", expiresAt: "tomorrow" }, 400],
    ["POST", "/admin/keys", { tenant: "acme", label: "x", expiresAt: "2001-01-01T00:00:00Z" }, 400],
    ["POST", "/admin/keys", { tenant: "acme", label: "x", extra: 1 }, 400],
    ["POST", "/admin/keys", "[1,2]", 400],
    ["POST", "/admin/keys", "{not json", 400],
    ["POST", "/admin/keys/0123456789ab/rotate", {}, 404],
    ["POST", "/admin/keys/not-an-id/rotate", {}, 404],
    ["POST", "/admin/keys/0123456789ab/revoke", {}, 404],
    ["POST", `/admin/keys/${"f".repeat(12)}/rotate`, { overlapSeconds: -1 }, 400],
    ["POST", `/admin/keys/${"f".repeat(12)}/rotate`, { overlapSeconds: 2_592_001 }, 400],
    ["POST", `/admin/keys/${"f".repeat(12)}/rotate`, { overlapSeconds: 1.5 }, 400],
    ["POST", `/admin/keys/${"f".repeat(12)}/rotate`, { overlapSeconds: "60" }, 400],
    ["GET", "/admin/keys?tenant=%3Cb%3E", undefined, 400],
    ["DELETE", "/admin/keys", undefined, 405],
  ])("%s %s %j → %i in Google's envelope", async (method, path, body, status) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...admin, "content-type": "application/json" },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    expect(res.status).toBe(status);
    const json = (await res.json()) as { error: { code: number; message: string; status: string } };
    expect(json.error.code).toBe(status);
    expect(typeof json.error.message).toBe("string");
  });

  it("refuses without the admin key (401), and a tenant key is not an admin key", async () => {
    expect((await fetch(`${base}/admin/keys`)).status).toBe(401);
    expect(
      (
        await postJson(
          `${base}/admin/keys`,
          { tenant: "acme", label: "x" },
          { authorization: `Bearer ${stack.keys.acme}` },
        )
      ).status,
    ).toBe(401);
  });
});

describe("secrets stay secret", () => {
  it("no secret appears in the logs, /metrics or any Secret Manager version", async () => {
    expect(secrets.length).toBeGreaterThanOrEqual(4);
    const logs = stack.logs.join("\n");
    const metrics = await (await fetch(`${base}/metrics`, { headers: admin })).text();
    const versions = stack.emulator
      .secretVersions(SECRET)
      .map((v) => v.toString("utf8"))
      .join("\n");
    expect(versions.length).toBeGreaterThan(0);
    for (const secret of [...secrets, stack.keys.acme, stack.keys.globex!]) {
      expect(logs).not.toContain(secret);
      expect(metrics).not.toContain(secret);
      expect(versions).not.toContain(secret);
      // Nor the part after the prefix (a log that trimmed "ggw_" would still leak the key).
      expect(logs).not.toContain(secret.slice(4));
    }
  });
});
