// GET /admin/tenants end to end: each tenant's settings, how much of its limits it has used — from the same shared
// counters admission and /admin/usage read (the spend it shows is /admin/usage's) — and its key counts, which follow
// key changes. Admin key only; other verbs 405.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../../service/src/config/tenants.js";
import { postJson, startStack, type Stack } from "../support/stack.js";

const ADMIN_KEY = "tenants-admin-key";
let stack: Stack;
let base: string;

beforeAll(async () => {
  stack = await startStack({
    env: { GATEWAY_ADMIN_KEY_SHA256: sha256Hex(ADMIN_KEY) },
    tenants: [
      {
        id: "limited",
        models: ["gemini-2.5-flash"],
        priority: "batch",
        features: ["support-chat"],
        limits: {
          requestsPerMinute: 600,
          tokensPerMinute: 600_000,
          requestsPerDay: 1000,
          usdPerDay: 5,
          usdPerMonth: 50,
        },
      },
    ],
  });
  base = stack.gateway.url;
});
afterAll(() => stack.close());

const admin = { authorization: `Bearer ${ADMIN_KEY}` };
interface TenantView {
  id: string;
  priority: string;
  models: string[];
  features: string[];
  limits: Record<string, number> | null;
  used: Record<string, number>;
  keys: { active: number; total: number };
}
const tenants = async () => {
  const res = await fetch(`${base}/admin/tenants`, { headers: admin });
  expect(res.status).toBe(200);
  return Object.fromEntries(((await res.json()) as { tenants: TenantView[] }).tenants.map((t) => [t.id, t]));
};

describe("GET /admin/tenants", () => {
  it("lists every tenant with its settings; no limits → limits null and nothing used", async () => {
    const all = await tenants();
    expect(Object.keys(all).sort()).toEqual(["acme", "flash-only", "limited"]);
    expect(all.acme).toEqual({
      id: "acme",
      priority: "interactive",
      models: ["*"],
      features: [],
      limits: null,
      used: {},
      keys: { active: 1, total: 1 },
    });
    expect(all.limited).toMatchObject({
      priority: "batch",
      models: ["gemini-2.5-flash"],
      features: ["support-chat"],
      limits: { requestsPerMinute: 600, tokensPerMinute: 600_000, requestsPerDay: 1000, usdPerDay: 5, usdPerMonth: 50 },
      used: { requestsPerMinute: 0, tokensPerMinute: 0, requestsPerDay: 0, usdPerDay: 0, usdPerMonth: 0 },
    });
  });

  it("shows what the tenant's calls used: requests counted, spend equal to /admin/usage's", async () => {
    for (let i = 0; i < 3; i++) {
      const res = await postJson(
        `${base}/v1beta/models/gemini-2.5-flash:generateContent`,
        { contents: [{ role: "user", parts: [{ text: "Hello there" }] }] },
        { "x-goog-api-key": stack.keys.limited! },
      );
      expect(res.status).toBe(200);
    }
    const { used } = (await tenants()).limited!;
    expect(used.requestsPerDay).toBe(3); // 1,000 a day refills 0.7 a minute: still 3
    expect(used.requestsPerMinute).toBeGreaterThanOrEqual(0);
    expect(used.requestsPerMinute).toBeLessThanOrEqual(3);
    expect(used.usdPerDay).toBeGreaterThan(0);
    const usage = (await (await fetch(`${base}/admin/usage?period=day`, { headers: admin })).json()) as {
      tenants: Record<string, { total: { usd: number } }>;
    };
    expect(used.usdPerDay).toBeCloseTo(usage.tenants.limited!.total.usd, 6);
    expect(used.usdPerMonth).toBeGreaterThanOrEqual(used.usdPerDay!);
  });

  it("key counts follow key changes", async () => {
    const created = await postJson(`${base}/admin/keys`, { tenant: "limited", label: "second" }, admin);
    expect(created.status).toBe(201);
    expect((await tenants()).limited!.keys).toEqual({ active: 2, total: 2 });
    const id = (created.json as { key: { id: string } }).key.id;
    expect((await postJson(`${base}/admin/keys/${id}/revoke`, {}, admin)).status).toBe(200);
    expect((await tenants()).limited!.keys).toEqual({ active: 1, total: 2 });
  });

  it("admin key only; other verbs 405 in Google's envelope", async () => {
    expect((await fetch(`${base}/admin/tenants`)).status).toBe(401);
    const post = await postJson(`${base}/admin/tenants`, {}, admin);
    expect(post.status).toBe(405);
    expect(post.json).toMatchObject({ error: { code: 405 } });
  });
});
