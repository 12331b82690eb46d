/**
 * The operator console in a real browser (Debian's Chromium under playwright-core) against a real gateway process,
 * the emulator and a real redis-server: log in, the overview after calls made with @google/genai, a tenant's spend
 * against /admin/usage, circuits, resources, the budget kill switch — and the safety rules: no session → login only,
 * a forged or missing CSRF token → 403, tenant-supplied strings inert, the session cookie's flags, logout everywhere.
 * One browser and one gateway for the whole file; screenshots go to test-results/console/ (docs/console.md).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadAssets, PUBLIC_ASSETS } from "../../service/src/console/assets.js";
import { newKey, sha256Hex } from "../../service/src/config/tenants.js";
import { startEmulator, type RunningEmulator } from "../../service/src/emulator/server.js";
import {
  inPage,
  launchBrowser,
  logIn,
  openPanel,
  refreshed,
  screenshot,
  type ConsolePage,
} from "../support/browser.js";
import { spawnGateway, type GatewayProcess } from "../support/process.js";
import { startRedisServer, type RedisServer } from "../support/redis-server.js";
import { developerClient } from "../support/stack.js";

const adminKey = newKey();
const acmeKey = newKey();
const globexKey = newKey();
const MODEL = "gemini-2.5-flash";
/** A tenant's own string that reaches the console (a context cache's display name): must render as text. */
const HOSTILE = `<img src=x onerror="window.__pwned='img'"><script>window.__pwned='script'</script>`;
const LONG = "Tide pools hold anemones, crabs and small fish between the tides. ".repeat(170);

let redis: RedisServer;
let emulator: RunningEmulator;
let gateway: GatewayProcess;
let browser: Browser;
let session: ConsolePage;

const admin = (path: string, init: RequestInit = {}) =>
  fetch(`${gateway.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${adminKey}`, ...init.headers },
  });
const adminJson = async <T>(path: string): Promise<T> => (await (await admin(path)).json()) as T;

beforeAll(async () => {
  [redis, emulator, browser] = await Promise.all([startRedisServer(), startEmulator(), launchBrowser()]);
  const tenants = join(mkdtempSync(join(tmpdir(), "ggw-console-")), "tenants.json");
  writeFileSync(
    tenants,
    JSON.stringify({
      tenants: [
        {
          id: "acme",
          keySha256: sha256Hex(acmeKey),
          models: ["*"],
          features: ["support-bot", "search"],
          limits: { requestsPerDay: 1000, usdPerDay: 5 },
        },
        { id: "globex", keySha256: sha256Hex(globexKey), models: [MODEL], priority: "batch" },
      ],
    }),
  );
  gateway = await spawnGateway({
    GATEWAY_UPSTREAM: "emulator",
    GATEWAY_VERTEX_BASE_URL: emulator.url,
    GATEWAY_TENANTS_FILE: tenants,
    GATEWAY_ADMIN_KEY_SHA256: sha256Hex(adminKey),
    GATEWAY_BUDGET_PUSH_AUDIENCE: "https://gateway.example/internal/budget-alerts",
    GATEWAY_BUDGET_PUSH_SERVICE_ACCOUNT: "budget-push@example-project.iam.gserviceaccount.com",
    REDIS_URL: redis.socketPath,
  });
  // Traffic through the official SDK: two tenants, a feature label, a context cache named by the tenant.
  const acme = developerClient(gateway.url, acmeKey);
  for (let i = 0; i < 4; i++) {
    await acme.models.generateContent({
      model: MODEL,
      contents: `Question ${i}`,
      config: { httpOptions: { headers: { "x-gateway-feature": "support-bot" } } },
    });
  }
  await acme.models.generateContent({ model: "gemini-2.5-pro", contents: "A longer question" });
  await developerClient(gateway.url, globexKey).models.generateContent({ model: MODEL, contents: "Hello" });
  await expect(
    developerClient(gateway.url, globexKey).models.generateContent({ model: "gemini-2.5-pro", contents: "x" }),
  ).rejects.toMatchObject({ status: 403 });
  await acme.caches.create({ model: MODEL, config: { contents: LONG, displayName: HOSTILE } });
  // The upstream failing gemini-2.5-pro for a while: retries, then its circuit opens (and stays open: no more calls).
  emulator.configure({ errors: { "503": 1 } });
  for (let i = 0; i < 6; i++) {
    const status = await acme.models.generateContent({ model: "gemini-2.5-pro", contents: "Anyone there?" }).then(
      () => 200,
      (err: { status?: number }) => err.status,
    );
    expect(status).toBe(503);
  }
  emulator.configure({ errors: null });
}, 90_000);

afterAll(async () => {
  await session?.context.close();
  await browser?.close();
  gateway?.child.kill("SIGKILL");
  await emulator?.close();
  await redis?.close();
});

describe("without a session", () => {
  it("every console route and asset but the login page answers 303 to the login form or 401, never the file", async () => {
    const assets = loadAssets();
    const paths = [
      "/console",
      "/console/",
      "/console/session",
      ...[...assets.keys()].filter((p) => !PUBLIC_ASSETS.has(p)).map((p) => `/console/${p}`),
    ];
    expect(paths).toContain("/console/app.js");
    expect(paths).toContain("/console/vendor/chart.umd.min.js");
    for (const path of paths) {
      for (const accept of ["text/html", "*/*"]) {
        const res = await fetch(`${gateway.url}${path}`, { headers: { accept }, redirect: "manual" });
        const body = await res.text();
        if (path === "/console") {
          // The bare path only moves to the folder, which is itself refused.
          expect(res.status, path).toBe(301);
          continue;
        }
        if (res.status === 303) expect(res.headers.get("location"), path).toBe("/console/login");
        else {
          expect(res.status, `${path} (${accept})`).toBe(401);
          expect(JSON.parse(body)).toMatchObject({ error: { code: 401, status: "UNAUTHENTICATED" } });
        }
        const file = assets.get(path.replace(/^\/console\/?/, "") || "index.html");
        if (file) expect(body).not.toContain(file.body.toString("utf8").slice(0, 200));
        // The CSP and the other headers are on refusals too.
        expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
      }
    }
    // A made-up session cookie is no session.
    const forged = await fetch(`${gateway.url}/console/app.js`, {
      headers: { cookie: `ggw_console=${"A".repeat(43)}` },
    });
    expect(forged.status).toBe(401);
    // The login page and its stylesheet are public; the admin endpoints still want the key or a session.
    for (const path of ["/console/login", "/console/login.css"]) {
      expect((await fetch(`${gateway.url}${path}`)).status, path).toBe(200);
    }
    for (const path of ["/admin/summary", "/admin/resources", "/admin/usage"]) {
      expect((await fetch(`${gateway.url}${path}`)).status, path).toBe(401);
    }
  });

  it("bad input gets a clear 4xx in the envelope: the login form's body, the admin reads' parameters", async () => {
    const post = (body: string, type: string) =>
      fetch(`${gateway.url}/console/login`, { method: "POST", headers: { "content-type": type }, body });
    const json = await post(JSON.stringify({ key: adminKey }), "application/json");
    expect(json.status).toBe(400);
    expect(await json.json()).toMatchObject({ error: { status: "INVALID_ARGUMENT" } });
    expect((await post(`key=${"k".repeat(8000)}`, "application/x-www-form-urlencoded")).status).toBe(413);
    expect((await admin("/admin/resources?tenant=nobody")).status).toBe(404);
    const two = await admin("/admin/resources?tenant=acme&tenant=globex");
    expect(two.status).toBe(400);
    expect(await two.json()).toMatchObject({ error: { code: 400, status: "INVALID_ARGUMENT" } });
    expect((await admin("/admin/summary", { method: "POST" })).status).toBe(404);
  });

  it("a wrong admin key is refused with the login form again (401) and no cookie", async () => {
    const res = await fetch(`${gateway.url}/console/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `key=${encodeURIComponent(newKey())}`,
      redirect: "manual",
    });
    expect(res.status).toBe(401);
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(await res.text()).toContain("That is not the admin key.");
  });
});

describe("logged in", () => {
  beforeAll(async () => {
    session = await logIn(browser, gateway.url, adminKey, "login");
  }, 60_000);

  it("the session cookie is httpOnly, SameSite=Strict, expires with the session; Secure when the client used https", async () => {
    const [cookie] = (await session.context.cookies()).filter((c) => c.name === "ggw_console");
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/" });
    // GATEWAY_CONSOLE_SESSION_TTL_SECONDS: 8 hours by default.
    expect(cookie!.expires * 1000 - Date.now()).toBeGreaterThan(8 * 3600_000 - 120_000);
    expect(cookie!.expires * 1000 - Date.now()).toBeLessThanOrEqual(8 * 3600_000);
    expect(cookie!.secure).toBe(false); // plain http on loopback
    expect(await inPage<string>(session.page, "document.cookie")).not.toContain("ggw_console");
    // Behind Cloud Run's or the load balancer's TLS front end (X-Forwarded-Proto: https) it is Secure.
    const behindTls = await fetch(`${gateway.url}/console/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-forwarded-proto": "https" },
      body: `key=${encodeURIComponent(adminKey)}`,
      redirect: "manual",
    });
    expect(behindTls.status).toBe(303);
    expect(behindTls.headers.get("set-cookie")).toMatch(/; HttpOnly; SameSite=Strict; Max-Age=28800; Secure$/);
  });

  it("the overview shows the traffic made with @google/genai, as /admin/summary and /admin/usage count it", async () => {
    const { page } = session;
    await refreshed(page);
    const summary = await adminJson<{ requests: { total: number }; errors: { clientErrors: number } }>(
      "/admin/summary",
    );
    expect(summary.requests.total).toBeGreaterThanOrEqual(7);
    expect(Number(await page.getAttribute("[data-testid=overview-requests]", "data-value"))).toBe(
      summary.requests.total,
    );
    expect(Number(await page.getAttribute("[data-testid=overview-errors]", "data-value"))).toBeGreaterThanOrEqual(1);
    const day = await adminJson<{ tenants: Record<string, { total: { usd: number } }> }>("/admin/usage?period=day");
    const fleet = Object.values(day.tenants).reduce((s, t) => s + t.total.usd, 0);
    expect(fleet).toBeGreaterThan(0);
    expect(Number(await page.getAttribute("[data-testid=overview-spend-day]", "data-value"))).toBeCloseTo(fleet, 12);
    expect(await page.textContent("[data-testid=overview-latency] .value")).toMatch(/^\d+\.\d{3} s$/);
    // Four charts drawn by Chart.js (served by the gateway), refreshed without a reload.
    expect(await inPage<number>(page, "Object.keys(window.Chart.instances).length")).toBe(4);
    await refreshed(page, 2);
    expect(session.problems).toEqual([]); // no CSP violation, no script error
    await screenshot(page, "overview");
  });

  it("a tenant's spend, by model and by feature, matches /admin/usage for the day and the month", async () => {
    const { page } = session;
    await openPanel(page, "tenants");
    for (const period of ["day", "month"] as const) {
      await page.selectOption("#tenants-period", period);
      await refreshed(page);
      const usage = await adminJson<{
        tenants: Record<
          string,
          { total: { usd: number }; models: Record<string, { usd: number }>; features: Record<string, { usd: number }> }
        >;
      }>(`/admin/usage?period=${period}`);
      for (const tenant of ["acme", "globex"]) {
        const shown = page.locator(`[data-testid=tenant-spend][data-tenant=${tenant}]`);
        expect(Number(await shown.getAttribute("data-value")), `${tenant} ${period}`).toBe(
          usage.tenants[tenant]!.total.usd,
        );
        expect(await shown.textContent()).toBe(`$${usage.tenants[tenant]!.total.usd.toFixed(6)}`);
      }
      const acme = page.locator("[data-testid=tenant][data-tenant=acme]");
      const model = acme.locator(`[data-testid=usage-model][data-name="${MODEL}"] td[data-value]`);
      expect(Number(await model.getAttribute("data-value"))).toBe(usage.tenants.acme!.models[MODEL]!.usd);
      const feature = acme.locator("[data-testid=usage-feature][data-name=support-bot] td[data-value]");
      expect(Number(await feature.getAttribute("data-value"))).toBe(usage.tenants.acme!.features["support-bot"]!.usd);
    }
    expect(usageNonZero(await page.textContent("[data-testid=tenant][data-tenant=acme]"))).toBe(true);
    // Limits and how close acme is to them, as /admin/tenants reads them from the shared windows and counters.
    const view = await adminJson<{
      tenants: {
        id: string;
        limits: Record<string, number> | null;
        used: Record<string, number>;
        keys: { active: number };
      }[];
    }>("/admin/tenants");
    const acmeView = view.tenants.find((t) => t.id === "acme")!;
    expect(Object.keys(acmeView.limits!).sort()).toEqual(["requestsPerDay", "usdPerDay"]);
    for (const [limit, value] of Object.entries(acmeView.limits!)) {
      const meter = page.locator(
        `[data-testid=tenant][data-tenant=acme] [data-testid=limit][data-limit=${limit}] [role=meter]`,
      );
      expect(Number(await meter.getAttribute("aria-valuemax")), limit).toBe(value);
      expect(Number(await meter.getAttribute("aria-valuenow")), limit).toBe(acmeView.used[limit] ?? 0);
    }
    expect(acmeView.used.requestsPerDay).toBeGreaterThan(0);
    // Its key from the tenants file, listed with its actions.
    const keyRows = page.locator("[data-testid=tenant][data-tenant=acme] [data-testid=key]");
    expect(await keyRows.count()).toBe(acmeView.keys.active);
    expect(await keyRows.first().locator("[data-testid=key-rotate]").count()).toBe(1);
    expect(session.problems).toEqual([]);
    await screenshot(page, "tenants");
  });

  it("the upstreams panel shows each circuit as /readyz does", async () => {
    const { page } = session;
    await openPanel(page, "upstreams");
    const readyz = (await (await fetch(`${gateway.url}/readyz`)).json()) as {
      details: { circuits: Record<string, string> };
    };
    const expected = Object.entries(readyz.details.circuits)
      .map(([k, state]) => `${k}|${state}`)
      .sort();
    expect(expected).toContain(`default|${MODEL}|closed`);
    expect(expected).toContain("default|gemini-2.5-pro|open");
    const rows = await inPage<string[]>(
      page,
      `[...document.querySelectorAll("[data-testid=circuit]")].map((tr) => tr.dataset.upstream + "|" + tr.dataset.model + "|" + tr.dataset.state)`,
    );
    expect(rows.sort()).toEqual(expected);
    expect(await page.textContent("#upstreams-body")).toContain("cool-down");
    expect(await page.getAttribute('[data-testid=circuit][data-model="gemini-2.5-pro"] td:nth-child(3)', "class")).toBe(
      "state-open",
    );
    // The failed upstream calls that opened it, by outcome, as /admin/summary counts them.
    const summary = await adminJson<{
      upstreamCalls: Record<string, { calls: number; byOutcome: Record<string, number> }>;
    }>("/admin/summary");
    const calls = Object.entries(summary.upstreamCalls);
    expect(calls.reduce((n, [, u]) => n + (u.byOutcome.server_error ?? 0), 0)).toBeGreaterThan(0);
    for (const [where, u] of calls) {
      const row = page.locator(`[data-testid=upstream-calls] tr[data-where="${where}"]`);
      expect(await row.locator("td[data-outcome=server_error]").textContent()).toBe(
        String(u.byOutcome.server_error ?? 0),
      );
    }
    await screenshot(page, "upstreams");
  });

  it("the resources panel lists the tenant's cache, its hostile display name rendered as inert text", async () => {
    const { page } = session;
    await openPanel(page, "resources");
    const cell = page.locator(
      "[data-testid=resources-tenant][data-tenant=acme] [data-testid=resource-cachedContent] td.display-name",
    );
    expect(await cell.textContent()).toBe(HOSTILE);
    expect(await cell.locator("img, script").count()).toBe(0);
    expect(await page.locator("#resources-body img, #resources-body script").count()).toBe(0);
    expect(await inPage<string | null>(page, "window.__pwned ?? null")).toBeNull();
    const doc = await adminJson<{ tenants: Record<string, { cachedContent: { displayName?: string }[] }> }>(
      "/admin/resources?tenant=acme",
    );
    expect(doc.tenants.acme!.cachedContent.map((c) => c.displayName)).toEqual([HOSTILE]);
    expect(session.problems).toEqual([]);
    await screenshot(page, "resources");
  });

  it("a session's change without its CSRF token, or with a forged one, is refused with 403; with it, it goes through", async () => {
    const { page } = session;
    type Answer = { status: number; body: { error?: { status: string } } };
    const attempts = await inPage<Record<"missing" | "forged" | "other" | "real", Answer>>(
      page,
      `(async () => {
        const post = async (headers) => {
          const res = await fetch("/admin/budget/reset", { method: "POST", headers });
          return { status: res.status, body: await res.json() };
        };
        const token = (await (await fetch("/console/session")).json()).csrfToken;
        return {
          missing: await post({}),
          forged: await post({ "x-csrf-token": "A".repeat(token.length) }),
          other: await post({ "x-csrf-token": token.slice(1) + "x" }),
          real: await post({ "x-csrf-token": token }),
        };
      })()`,
    );
    for (const refused of [attempts.missing, attempts.forged, attempts.other]) {
      expect(refused).toMatchObject({ status: 403, body: { error: { status: "PERMISSION_DENIED" } } });
    }
    expect(attempts.real.status).toBe(200);
  });

  it("a page on another origin of the same site posting a form with the session cookie is refused (CSRF token)", async () => {
    // SameSite=Strict does not separate ports of one host (one site); the CSRF token does.
    await seedBudget("paused");
    const page = await session.context.newPage();
    try {
      await page.goto(`${emulator.url}/healthz`, { timeout: 15_000 });
      const answer = page.waitForResponse((r) => r.url() === `${gateway.url}/admin/budget/reset`, {
        timeout: 15_000,
      });
      // The form is built by a script, then submitted by a click (a navigation started inside an evaluation can
      // leave the evaluation waiting for a context that is gone).
      await inPage(
        page,
        `(() => {
          const form = document.createElement("form");
          form.method = "POST";
          form.action = ${JSON.stringify(`${gateway.url}/admin/budget/reset`)};
          const button = document.createElement("button");
          button.id = "go";
          button.textContent = "go";
          form.append(button);
          document.body.append(form);
        })()`,
      );
      await page.click("#go");
      expect((await answer).status()).toBe(403);
    } finally {
      // Closing the page right after the cross-origin form navigation sometimes waited a minute in Chromium 156;
      // leaving for about:blank first closes it at once.
      await page.goto("about:blank");
      await page.close();
    }
    expect((await adminJson<{ state: { level: string } }>("/admin/budget")).state.level).toBe("paused");
  });

  it("the budget panel shows the kill switch's state and resets it (POST /admin/budget/reset)", async () => {
    const { page } = session;
    await seedBudget("paused");
    await openPanel(page, "budget");
    await page.waitForSelector("[data-testid=budget-level][data-level=paused]", { timeout: 20_000 });
    await screenshot(page, "budget-paused");
    page.once("dialog", (d) => void d.accept());
    await page.click("[data-testid=budget-reset]");
    await page.waitForSelector("[data-testid=budget-level][data-level=open]", { timeout: 20_000 });
    const state = await adminJson<{ state: { level: string; resetLevel?: string } }>("/admin/budget");
    expect(state.state).toMatchObject({ level: "open", resetLevel: "paused" });
    const month = await adminJson<{ tenants: Record<string, { total: { usd: number } }> }>("/admin/usage?period=month");
    const spend = Object.values(month.tenants).reduce((s, t) => s + t.total.usd, 0);
    expect(Number(await page.getAttribute("[data-testid=budget-spend]", "data-value"))).toBeCloseTo(spend, 12);
    expect(session.problems).toEqual([]);
    await screenshot(page, "budget-reset");
  });

  it("the experiments panel shows the prompt repository's experiment", async () => {
    const { page } = session;
    await openPanel(page, "experiments");
    const prompts = await adminJson<{ prompts: { experiment?: string }[] }>("/admin/prompts");
    const names = prompts.prompts.map((p) => p.experiment).filter(Boolean);
    expect(names.length).toBeGreaterThan(0);
    const shown = await inPage<string[]>(
      page,
      `[...document.querySelectorAll("[data-testid=experiment]")].map((e) => e.dataset.experiment)`,
    );
    expect(shown.sort()).toEqual([...names].sort());
    await screenshot(page, "experiments");
  });

  it("logging out ends the session on the gateway: the old cookie no longer opens anything", async () => {
    const { page, context } = session;
    const [cookie] = (await context.cookies()).filter((c) => c.name === "ggw_console");
    await Promise.all([page.waitForURL(`${gateway.url}/console/login`), page.click("#logout")]);
    expect((await context.cookies()).filter((c) => c.name === "ggw_console")).toEqual([]);
    for (const path of ["/console/app.js", "/admin/summary"]) {
      const res = await fetch(`${gateway.url}${path}`, { headers: { cookie: `ggw_console=${cookie!.value}` } });
      expect(res.status, path).toBe(401);
    }
  });
});

function usageNonZero(text: string | null): boolean {
  return /\$0\.0*[1-9]/.test(text ?? "");
}

/** A budget notification's outcome as another instance would have stored it (the kill switch reads the store). */
async function seedBudget(level: "paused" | "batch-paused"): Promise<void> {
  const client = new Redis({ path: redis.socketPath });
  const now = Date.now();
  const state = {
    level,
    budgetId: "billing-budget-1",
    displayName: "gateway monthly",
    ratio: level === "paused" ? 1.02 : 0.85,
    costAmount: level === "paused" ? 1020 : 850,
    budgetAmount: 1000,
    currencyCode: "USD",
    costIntervalStart: new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), 1)).toISOString(),
    periodEndsAt: now + 20 * 86_400_000,
    updatedAt: now,
    reason: level === "paused" ? "spend is 102% of the budget (at or above 100%)" : "spend is 85% of the budget",
  };
  try {
    await client.set("ggw:{kv:budget:state}", JSON.stringify(state), "PX", 20 * 86_400_000);
  } finally {
    client.disconnect();
  }
  // Every instance picks the shared state up on its next poll.
  for (let i = 0; i < 100; i++) {
    const got = await adminJson<{ state: { level: string } | null }>("/admin/budget");
    if (got.state?.level === level) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the gateway did not pick up the budget level ${level}`);
}
