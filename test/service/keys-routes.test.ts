// The admin API's actor: a console session sets `res.locals.adminActor` before the key routes run, and that name is
// what the audit record carries; without it the actor is "admin-key". A real express app on a real port.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseTenants, sha256Hex } from "../../service/src/config/tenants.js";
import { storeDocuments } from "../../service/src/keys/documents.js";
import { createKeyService, type KeyAuditEvent } from "../../service/src/keys/service.js";
import { createMemoryStore } from "../../service/src/store/memory.js";
import { mountKeyRoutes } from "../../service/src/surfaces/keys.js";

const audit: KeyAuditEvent[] = [];
let server: Server;
let base: string;

beforeAll(async () => {
  const store = createMemoryStore();
  const keys = createKeyService({
    tenants: parseTenants({ tenants: [{ id: "acme", keySha256: sha256Hex("k"), models: ["*"] }] }, ["m-1"]),
    documents: storeDocuments(store.kv, "test"),
    kv: store.kv,
    fileKeys: { label: "tenants file", createdAt: new Date(0).toISOString() },
    pollMs: 60_000,
    audit: (e) => audit.push(e),
  });
  await keys.start();
  const app = express();
  // Stands in for the gateway's adminOnly wrapper; a request marked as a console session gets its operator named.
  mountKeyRoutes(app, keys, (_how, handler) => async (req, res) => {
    if (req.headers["x-test-console"]) res.locals.adminActor = "console:alice@example.com";
    await handler(req, res);
  });
  server = createServer(app);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const create = (headers: Record<string, string> = {}) =>
  fetch(`${base}/admin/keys`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ tenant: "acme", label: "x" }),
  });

describe("the actor of a key change", () => {
  it("is res.locals.adminActor when the console set it, else admin-key", async () => {
    expect((await create({ "x-test-console": "1" })).status).toBe(201);
    expect((await create()).status).toBe(201);
    expect(audit.map((e) => e.actor)).toEqual(["console:alice@example.com", "admin-key"]);
  });
});
