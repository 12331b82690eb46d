/**
 * The console's server parts on their own: sessions in the store (memory here; the browser tests use Redis), who the
 * admin endpoints let in (admin key header, or a session with its CSRF token on changes), and the summary's
 * percentiles from Prometheus histogram buckets.
 */
import type { IncomingMessage } from "node:http";
import { Counter, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createAdminAuth, SESSION_COOKIE } from "../../service/src/console/admin-auth.js";
import { CONTENT_SECURITY_POLICY } from "../../service/src/console/headers.js";
import { createSessionStore, csrfMatches, csrfTokenOf, sessionDigest } from "../../service/src/console/session.js";
import { adminSummary, quantile } from "../../service/src/console/summary.js";
import { newKey, sha256Hex } from "../../service/src/config/tenants.js";
import { createMemoryStore } from "../../service/src/store/memory.js";
import { GatewayError } from "../../service/src/wire/errors.js";

const request = (method: string, headers: Record<string, string>) => ({ method, headers }) as IncomingMessage;

describe("console sessions", () => {
  it("are found by their id until they expire or are destroyed; the store holds only the id's digest", async () => {
    let now = 1_000_000;
    const store = createMemoryStore({ now: () => now });
    const sessions = createSessionStore(store.kv, 60_000, sha256Hex("admin"), () => now);
    const { id, session } = await sessions.create();
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(session.digest).toBe(sessionDigest(id));
    expect(await store.kv.get(`console:session:${session.digest}`)).not.toContain(id);
    expect(await sessions.find(id)).toMatchObject({ digest: session.digest, expiresAt: now + 60_000 });
    expect(await sessions.find(id.slice(1) + "A")).toBeUndefined();
    expect(await sessions.find("../../etc")).toBeUndefined();
    now += 60_001;
    expect(await sessions.find(id)).toBeUndefined();

    const other = await sessions.create();
    await sessions.destroy(other.id);
    expect(await sessions.find(other.id)).toBeUndefined();

    // A new admin key (GATEWAY_ADMIN_KEY_SHA256 rotated, instances restarted): the old key's sessions are over.
    const third = await sessions.create();
    expect(await createSessionStore(store.kv, 60_000, sha256Hex("rotated"), () => now).find(third.id)).toBeUndefined();
    expect(await sessions.find(third.id)).toBeDefined();
  });

  it("derive a CSRF token from the session id that no other id matches", () => {
    const a = newKey().slice(4);
    const b = newKey().slice(4);
    expect(csrfMatches(a, csrfTokenOf(a))).toBe(true);
    expect(csrfMatches(a, csrfTokenOf(b))).toBe(false);
    expect(csrfMatches(a, undefined)).toBe(false);
    expect(csrfMatches(a, "")).toBe(false);
  });
});

describe("admin authentication", () => {
  const adminKey = newKey();
  const store = createMemoryStore();
  const sessions = createSessionStore(store.kv, 60_000, sha256Hex(adminKey));
  const auth = createAdminAuth(sha256Hex(adminKey), sessions);

  it("takes the admin key header as admin-key, and refuses a wrong key even with a session cookie", async () => {
    const { id } = await sessions.create();
    expect(await auth.authorize(request("POST", { authorization: `Bearer ${adminKey}` }))).toEqual({
      actor: "admin-key",
    });
    const wrong = await auth.authorize(
      request("GET", { authorization: `Bearer ${newKey()}`, cookie: `${SESSION_COOKIE}=${id}` }),
    );
    expect(wrong).toBeInstanceOf(GatewayError);
    expect((wrong as GatewayError).httpCode).toBe(401);
  });

  it("takes a session for reads; for changes only with its CSRF token and not from another site", async () => {
    const { id, session } = await sessions.create();
    const cookie = `other=1; ${SESSION_COOKIE}=${id}`;
    expect(await auth.authorize(request("GET", { cookie }))).toEqual({
      actor: `console:${session.digest.slice(0, 8)}`,
      sessionId: id,
    });
    const codeOf = async (method: string, headers: Record<string, string>) => {
      const r = await auth.authorize(request(method, { cookie, ...headers }));
      return r instanceof GatewayError ? r.httpCode : 200;
    };
    expect(await codeOf("POST", {})).toBe(403);
    expect(await codeOf("DELETE", { "x-csrf-token": csrfTokenOf(newKey()) })).toBe(403);
    expect(await codeOf("PUT", { "x-csrf-token": csrfTokenOf(id) })).toBe(200);
    expect(await codeOf("POST", { "x-csrf-token": csrfTokenOf(id), "sec-fetch-site": "cross-site" })).toBe(403);
    expect(await codeOf("GET", { cookie: `${SESSION_COOKIE}=${"B".repeat(43)}` })).toBe(401);
    expect(await codeOf("GET", { cookie: "" })).toBe(401);
  });
});

describe("the console's Content-Security-Policy", () => {
  it("allows only this origin's files, no inline code, no framing, and requires Trusted Types", () => {
    const directives = new Map(
      CONTENT_SECURITY_POLICY.split("; ").map((d) => [d.split(" ")[0]!, d.split(" ").slice(1).join(" ")]),
    );
    expect(directives.get("default-src")).toBe("'self'");
    expect(directives.get("script-src")).toBe("'self'");
    expect(directives.get("style-src")).toBe("'self'");
    expect(directives.get("frame-ancestors")).toBe("'none'");
    expect(directives.get("object-src")).toBe("'none'");
    expect(directives.get("require-trusted-types-for")).toBe("'script'");
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-(inline|eval)|https?:|\*/);
  });
});

describe("the admin summary", () => {
  it("estimates percentiles from cumulative buckets as histogram_quantile does", () => {
    const buckets = [
      [0.1, 50],
      [0.5, 90],
      [1, 100],
      [Infinity, 100],
    ] as const;
    expect(quantile(0.5, buckets)).toBeCloseTo(0.1, 9);
    expect(quantile(0.7, buckets)).toBeCloseTo(0.3, 9);
    expect(quantile(0.95, buckets)).toBeCloseTo(0.75, 9);
    expect(quantile(0.5, [[Infinity, 0]])).toBeNull();
    expect(
      quantile(0.99, [
        [1, 1],
        [Infinity, 10],
      ]),
    ).toBe(1);
  });

  it("reads requests, errors, latency and upstream calls from the registry", async () => {
    const registry = new Registry();
    const registers = [registry];
    const requests = new Counter({
      name: "gateway_requests_total",
      help: "h",
      labelNames: ["surface", "model", "tenant", "code_class"],
      registers,
    });
    const duration = new Histogram({
      name: "gateway_request_duration_seconds",
      help: "h",
      labelNames: ["surface", "model", "code_class"],
      buckets: [0.05, 0.1, 0.25],
      registers,
    });
    const upstream = new Histogram({
      name: "gateway_upstream_duration_seconds",
      help: "h",
      labelNames: ["provider", "region", "model", "outcome"],
      buckets: [1],
      registers,
    });
    requests.inc({ surface: "gemini", model: "m", tenant: "a", code_class: "2xx" }, 8);
    requests.inc({ surface: "openai", model: "m", tenant: "a", code_class: "5xx" }, 2);
    for (let i = 0; i < 10; i++) duration.observe({ surface: "gemini", model: "m", code_class: "2xx" }, 0.07);
    upstream.observe({ provider: "vertex", region: "us-central1", model: "m", outcome: "ok" }, 0.1);
    upstream.observe({ provider: "vertex", region: "us-central1", model: "m", outcome: "server_error" }, 0.1);
    const s = await adminSummary({
      registry,
      circuits: () => ({ "default|m": "open" }),
      coolDownMs: 10_000,
      coolingDown: () => ({ default: 64_500 }),
      startedAt: 0,
      now: () => 60_000,
    });
    expect(s.requests).toEqual({ total: 10, byClass: { "2xx": 8, "5xx": 2 }, bySurface: { gemini: 8, openai: 2 } });
    expect(s.errors).toMatchObject({ clientErrors: 0, serverErrors: 2 });
    expect(s.latencySeconds.count).toBe(10);
    expect(s.latencySeconds.p50).toBeGreaterThan(0.05);
    expect(s.latencySeconds.p50).toBeLessThanOrEqual(0.1);
    expect(s.upstreamCalls).toEqual({ "vertex us-central1": { calls: 2, byOutcome: { ok: 1, server_error: 1 } } });
    expect(s.circuits).toEqual([{ upstream: "default", model: "m", state: "open" }]);
    expect(s.coolDownSeconds).toBe(10);
    expect(s.coolingDown).toEqual([
      { upstream: "default", until: new Date(64_500).toISOString(), remainingSeconds: 5 },
    ]);
  });
});
