import { createHmac } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { budgetAlertsHandler, BUDGET_ALERTS_PATH } from "../../service/src/surfaces/budget-alerts.js";
import {
  BUDGET_STATE_KEY,
  createBudgetSwitch,
  periodEnd,
  type BudgetSwitch,
} from "../../service/src/budget/kill-switch.js";
import { parseBudgetPush, type BudgetNotification } from "../../service/src/budget/notification.js";
import { createPushVerifier } from "../../service/src/budget/push-auth.js";
import { createMemoryStore } from "../../service/src/store/memory.js";
import { StoreUnavailableError, type KeyValue } from "../../service/src/store/store.js";
import { createLogger } from "../../service/src/telemetry/logger.js";
import { GatewayError } from "../../service/src/wire/errors.js";
import { certs, KID, newSigningKey, signIdToken, signingKey } from "../support/oidc.js";

const AUDIENCE = "https://gateway.example.com/internal/budget-alerts";
const SA = "budget-push@proj.iam.gserviceaccount.com";
const NOV = "2026-11-01T07:00:00Z";
const DEC = "2026-12-01T07:00:00Z";

function pushBody(data: Record<string, unknown>, attributes: Record<string, unknown> = {}): Buffer {
  return Buffer.from(
    JSON.stringify({
      message: {
        data: Buffer.from(JSON.stringify(data)).toString("base64"),
        attributes: { budgetId: "b-123", billingAccountId: "0123-4567-89AB", schemaVersion: "1.0", ...attributes },
        messageId: "m-1",
        publishTime: "2026-11-25T10:00:00Z",
      },
      subscription: "projects/p/subscriptions/budget-alerts",
    }),
  );
}

function budgetData(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    budgetDisplayName: "gateway-monthly",
    alertThresholdExceeded: 0.9,
    costAmount: 930,
    costIntervalStart: NOV,
    budgetAmount: 1000,
    budgetAmountType: "SPECIFIED_AMOUNT",
    currencyCode: "USD",
    ...overrides,
  };
}

function notification(costAmount: number, costIntervalStart = NOV, budgetAmount = 1000): BudgetNotification {
  return {
    budgetId: "b-123",
    displayName: "gateway-monthly",
    costAmount,
    budgetAmount,
    costIntervalStart,
    costIntervalStartMs: Date.parse(costIntervalStart),
    currencyCode: "USD",
    messageId: "m-1",
  };
}

function capturingLogger() {
  const lines: string[] = [];
  return { logger: createLogger("info", { write: (line: string) => void lines.push(line) }), lines };
}

// ── parsing ────────────────────────────────────────────────────────────────────────────────────────────────────────

describe("parseBudgetPush", () => {
  it("normalizes a Pub/Sub push of a budget notification", () => {
    expect(parseBudgetPush(pushBody(budgetData()))).toEqual({
      budgetId: "b-123",
      displayName: "gateway-monthly",
      costAmount: 930,
      budgetAmount: 1000,
      costIntervalStart: NOV,
      costIntervalStartMs: Date.parse(NOV),
      currencyCode: "USD",
      alertThresholdExceeded: 0.9,
      messageId: "m-1",
    });
  });

  it("accepts a notification without threshold fields and ignores unknown fields", () => {
    const data = budgetData({ extra: true });
    delete data.alertThresholdExceeded;
    const n = parseBudgetPush(pushBody(data));
    expect(n.alertThresholdExceeded).toBeUndefined();
    expect(n.costAmount).toBe(930);
  });

  const bad: [string, Buffer, RegExp][] = [
    ["invalid JSON", Buffer.from("{nope"), /request body is not valid JSON/],
    ["no message", Buffer.from("{}"), /message/],
    ["missing budgetId", pushBody(budgetData(), { budgetId: undefined }), /budgetId/],
    ["another schema version", pushBody(budgetData(), { schemaVersion: "2.0" }), /schemaVersion/],
    ["missing costAmount", pushBody(budgetData({ costAmount: undefined })), /costAmount/],
    ["budgetAmount 0", pushBody(budgetData({ budgetAmount: 0 })), /budgetAmount: must be greater than 0/],
    ["negative budgetAmount", pushBody(budgetData({ budgetAmount: -5 })), /budgetAmount/],
    ["string amounts", pushBody(budgetData({ costAmount: "930" })), /costAmount/],
    ["bad costIntervalStart", pushBody(budgetData({ costIntervalStart: "November" })), /costIntervalStart/],
    ["bad currency", pushBody(budgetData({ currencyCode: "dollars" })), /currencyCode/],
  ];
  it.each(bad)("refuses %s with 400", (_name, body, message) => {
    let thrown: unknown;
    try {
      parseBudgetPush(body);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(GatewayError);
    expect((thrown as GatewayError).httpCode).toBe(400);
    expect((thrown as GatewayError).status).toBe("INVALID_ARGUMENT");
    expect((thrown as GatewayError).message).toMatch(message);
  });

  it("refuses data that is not base64, or base64 of something other than JSON", () => {
    const withData = (data: string) =>
      Buffer.from(JSON.stringify({ message: { data, attributes: { budgetId: "b" }, messageId: "m" } }));
    expect(() => parseBudgetPush(withData("not base64!"))).toThrow(/message\.data: is not base64/);
    expect(() => parseBudgetPush(withData(Buffer.from("hello").toString("base64")))).toThrow(
      /message\.data \(base64-decoded\) is not valid JSON/,
    );
    expect(() => parseBudgetPush(withData(Buffer.from("[1]").toString("base64")))).toThrow(GatewayError);
  });
});

// ── push authentication ────────────────────────────────────────────────────────────────────────────────────────────

describe("push verifier", () => {
  const verifier = createPushVerifier({ audience: AUDIENCE, serviceAccountEmail: SA, certs });
  const good = { aud: AUDIENCE, email: SA, sub: "1234567890" };
  const bearer = (token: string) => `Bearer ${token}`;
  /** "<http code> <message>" of the rejection, so each case shows it failed for the reason it is about. */
  const rejection = (authorization: string | undefined) =>
    verifier.verify(authorization).then(
      () => "accepted",
      (err: unknown) => (err instanceof GatewayError ? `${err.httpCode} ${err.message}` : `thrown ${String(err)}`),
    );

  it("accepts a token of the subscription's service account for this audience", async () => {
    await expect(verifier.verify(bearer(signIdToken(good)))).resolves.toBeUndefined();
    expect(await rejection(bearer(signIdToken({ ...good, iss: "accounts.google.com" })))).toBe("accepted");
  });

  it("refuses a missing or malformed Authorization header with 401", async () => {
    expect(await rejection(undefined)).toMatch(/^401 .*no Authorization header/);
    expect(await rejection("")).toMatch(/^401 .*no Authorization header/);
    expect(await rejection("Bearer garbage")).toMatch(/^401 .*not a Bearer JWT/);
    expect(await rejection("Basic dXNlcjpwYXNz")).toMatch(/^401 .*not a Bearer JWT/);
    expect(await rejection(signIdToken(good))).toMatch(/^401 .*not a Bearer JWT/); // no "Bearer "
    expect(await rejection("Bearer a.b.c")).toMatch(/^401 .*header is not valid JSON/);
  });

  it("refuses a token signed by another key, also under a known kid, with 401", async () => {
    const other = newSigningKey();
    expect(await rejection(bearer(signIdToken(good, { key: other })))).toMatch(/^401 .*signature is invalid/);
    expect(await rejection(bearer(signIdToken(good, { key: other, kid: "k2" })))).toMatch(
      /^401 .*not signed by a known/,
    );
  });

  it("refuses expired, wrong-audience and wrong-issuer tokens with 401", async () => {
    const past = Math.floor(Date.now() / 1000) - 7200;
    // Expired an hour ago: beyond the library's 5-minute clock skew.
    expect(await rejection(bearer(signIdToken({ ...good, iat: past, exp: past + 3600 })))).toMatch(/^401 .*expired/);
    expect(await rejection(bearer(signIdToken({ ...good, aud: "https://else.example.com" })))).toMatch(
      /^401 .*audience/,
    );
    expect(await rejection(bearer(signIdToken({ ...good, iss: "https://evil.example.com" })))).toMatch(
      /^401 .*not issued by Google/,
    );
    const longLived = signIdToken({ ...good, exp: Math.floor(Date.now() / 1000) + 3 * 86_400 });
    expect(await rejection(bearer(longLived))).toMatch(/^401 .*too far in the future/);
  });

  it("refuses alg none and HS256 (keyed with the public key), whatever the header claims", async () => {
    expect(await rejection(bearer(signIdToken(good, { alg: "none" })))).toMatch(/^401 .*not signed with RS256/);
    expect(await rejection(bearer(signIdToken(good, { alg: "HS256" })))).toMatch(/^401 .*not signed with RS256/);
    // The same forgeries under an RS256 header reach the library's signature check, which must refuse them too.
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const now = Math.floor(Date.now() / 1000);
    const claims = { ...good, iss: "https://accounts.google.com", iat: now, exp: now + 3600, email_verified: true };
    const signed = `${b64({ alg: "RS256", kid: KID, typ: "JWT" })}.${b64(claims)}`;
    const hmac = createHmac("sha256", signingKey.publicKeyPem).update(signed).digest("base64url");
    expect(await rejection(bearer(`${signed}.`))).toMatch(/^401 .*signature is invalid/);
    expect(await rejection(bearer(`${signed}.${hmac}`))).toMatch(/^401 .*signature is invalid/);
  });

  it("refuses a valid token of another service account, or with an unverified email, with 403", async () => {
    const other = signIdToken({ ...good, email: "someone@proj.iam.gserviceaccount.com" });
    expect(await rejection(bearer(other))).toMatch(/^403 .*not from the service account/);
    expect(await rejection(bearer(signIdToken({ ...good, email_verified: false })))).toMatch(/^403 .*not verified/);
    expect(await rejection(bearer(signIdToken({ aud: AUDIENCE, sub: "1" })))).toMatch(/^403 /); // no email at all
  });

  it("never quotes the token in its messages", async () => {
    const token = signIdToken({ ...good, aud: "https://wrong.example.com" });
    const err = await verifier.verify(bearer(token)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).status).toBe("UNAUTHENTICATED");
    expect((err as GatewayError).message).not.toContain(token.split(".")[1]!);
  });
});

// ── the kill switch ────────────────────────────────────────────────────────────────────────────────────────────────

describe("budget kill switch", () => {
  const start = Date.parse("2026-11-25T12:00:00Z");
  let switches: BudgetSwitch[] = [];
  afterEach(() => {
    for (const s of switches) s.stop();
    switches = [];
  });

  function setup(options: { kv?: KeyValue; clock?: { t: number }; allowlist?: string[] } = {}) {
    const clock = options.clock ?? { t: start };
    const kv = options.kv ?? createMemoryStore({ now: () => clock.t }).kv;
    const { logger, lines } = capturingLogger();
    const s = createBudgetSwitch({
      kv,
      batchThreshold: 0.8,
      allowlist: options.allowlist ?? ["ops"],
      logger,
      now: () => clock.t,
    });
    switches.push(s);
    return { s, kv, clock, lines };
  }

  it("sets the level by cost / budget against the batch threshold", async () => {
    const { s } = setup();
    expect(s.refusal("acme", "batch")).toBeUndefined();
    expect(s.current()).toBeUndefined();

    await s.apply(notification(500));
    expect(s.current()?.level).toBe("open");
    expect(s.refusal("acme", "batch")).toBeUndefined();

    await s.apply(notification(800)); // exactly the threshold
    expect(s.current()).toMatchObject({ level: "batch-paused", ratio: 0.8, periodEndsAt: Date.parse(DEC) });
    expect(s.refusal("acme", "interactive")).toBeUndefined();
    const refused = s.refusal("acme", "batch");
    expect(refused).toBeInstanceOf(GatewayError);
    expect(refused).toMatchObject({ httpCode: 429, status: "RESOURCE_EXHAUSTED" });

    await s.apply(notification(1000));
    expect(s.current()?.level).toBe("paused");
    expect(s.refusal("acme", "interactive")?.httpCode).toBe(429);
    expect(s.refusal("acme", "batch")?.httpCode).toBe(429);
  });

  it("says why, until when, and sets Retry-After to the end of the period", async () => {
    const { s, clock } = setup();
    await s.apply(notification(930));
    const err = s.refusal("acme", "batch")!;
    expect(err.message).toBe(
      'The project\'s budget "gateway-monthly" is at 93% of $1000 this period: batch traffic is paused until ' +
        "2026-12-01T07:00:00Z or an operator resets it.",
    );
    const retryAfter = Math.ceil((Date.parse(DEC) - clock.t) / 1000);
    expect(err.headers?.["retry-after"]).toBe(String(retryAfter));
    expect(err.toEnvelope().error.details?.[0]?.["@type"]).toBe("type.googleapis.com/google.rpc.RetryInfo");

    await s.apply(notification(1012.5));
    expect(s.refusal("acme", "interactive")!.message).toMatch(/is at 101% of \$1000 this period: traffic is paused/);
  });

  it("lets allow-listed tenants through at every level", async () => {
    const { s } = setup({ allowlist: ["ops", "oncall"] });
    await s.apply(notification(850));
    expect(s.refusal("ops", "batch")).toBeUndefined();
    await s.apply(notification(2000));
    expect(s.refusal("oncall", "interactive")).toBeUndefined();
    expect(s.refusal("ops", "batch")).toBeUndefined();
    expect(s.refusal("acme", "interactive")).toBeDefined();
  });

  it("ignores a notification of an earlier period delivered late; a later period replaces the state", async () => {
    const { s } = setup();
    await s.apply(notification(950, NOV));
    const late = await s.apply(notification(1500, "2026-10-01T07:00:00Z"));
    expect(late.applied).toBe(false);
    expect(s.current()).toMatchObject({ level: "batch-paused", costIntervalStart: NOV, costAmount: 950 });

    // Same period: the latest word wins, down as well as up (e.g. the budget was raised).
    expect((await s.apply(notification(950, NOV, 2000))).state.level).toBe("open");
    await s.apply(notification(1100, NOV));
    expect(s.current()?.level).toBe("paused");

    const next = await s.apply(notification(20, DEC));
    expect(next.applied).toBe(true);
    expect(s.current()).toMatchObject({
      level: "open",
      costIntervalStart: DEC,
      periodEndsAt: Date.parse("2027-01-01T07:00:00Z"),
    });
  });

  it("opens at the end of the period, locally and in the store", async () => {
    const { s, kv, clock } = setup();
    await s.apply(notification(1200));
    expect(s.refusal("acme", "interactive")).toBeDefined();
    expect(await kv.get(BUDGET_STATE_KEY)).not.toBeNull();

    clock.t = Date.parse(DEC) - 1;
    expect(s.refusal("acme", "interactive")?.headers?.["retry-after"]).toBe("1");
    clock.t = Date.parse(DEC);
    expect(s.refusal("acme", "interactive")).toBeUndefined();
    expect(s.current()).toBeUndefined();
    expect(await kv.get(BUDGET_STATE_KEY)).toBeNull(); // the TTL lapsed with the period
  });

  it("computes the period end one calendar month on, at the same UTC time", () => {
    expect(periodEnd(Date.parse(NOV))).toBe(Date.parse(DEC));
    expect(periodEnd(Date.parse(DEC))).toBe(Date.parse("2027-01-01T07:00:00Z"));
    expect(periodEnd(Date.parse("2026-01-31T08:00:00Z"))).toBe(Date.parse("2026-02-28T08:00:00Z"));
  });

  it("reset opens the switch everywhere, and only a higher level re-trips it this period", async () => {
    const kv = createMemoryStore().kv;
    const clock = { t: start };
    const a = setup({ kv, clock }).s;
    const b = setup({ kv, clock }).s;

    await a.apply(notification(900));
    await b.refresh();
    expect(b.refusal("acme", "batch")).toBeDefined();

    const after = await b.reset();
    expect(after).toMatchObject({ level: "open", resetLevel: "batch-paused" });
    expect(b.refusal("acme", "batch")).toBeUndefined();
    await a.refresh();
    expect(a.refusal("acme", "batch")).toBeUndefined();

    await a.apply(notification(950)); // still batch-paused territory: the operator's reset holds
    expect(a.current()?.level).toBe("open");
    expect(a.current()?.reason).toMatch(/operator reset/);
    await a.apply(notification(1000)); // a higher level trips it again
    expect(a.current()?.level).toBe("paused");

    await a.reset();
    await a.apply(notification(1300));
    expect(a.current()?.level).toBe("open");

    await a.apply(notification(900, DEC)); // a new period forgets the reset
    expect(a.current()).toMatchObject({ level: "batch-paused" });
    expect(a.current()?.resetLevel).toBeUndefined();
  });

  it("reset with nothing paused changes nothing", async () => {
    const { s, kv } = setup();
    expect(await s.reset()).toBeUndefined();
    expect(await kv.get(BUDGET_STATE_KEY)).toBeNull();
    await s.apply(notification(100));
    expect((await s.reset())?.level).toBe("open");
  });

  it("shares the state: another instance sees an apply after its next poll", async () => {
    const kv = createMemoryStore().kv;
    const a = setup({ kv }).s;
    const { s: b, lines } = setup({ kv });
    await a.apply(notification(1100));
    expect(b.refusal("acme", "interactive")).toBeUndefined(); // not polled yet
    await b.refresh();
    expect(b.refusal("acme", "interactive")?.httpCode).toBe(429);
    expect(lines.some((l) => l.includes("level changed by another instance"))).toBe(true);
  });

  it("polls on a timer once started", async () => {
    const kv = createMemoryStore().kv;
    const { logger } = capturingLogger();
    const a = createBudgetSwitch({ kv, batchThreshold: 0.8, allowlist: [], logger });
    const b = createBudgetSwitch({ kv, batchThreshold: 0.8, allowlist: [], logger, pollMs: 20 });
    switches.push(a, b);
    b.start();
    await a.apply({
      ...notification(900),
      costIntervalStart: new Date().toISOString(),
      costIntervalStartMs: Date.now(),
    });
    await vi.waitFor(() => expect(b.refusal("acme", "batch")).toBeDefined(), { timeout: 2000, interval: 10 });
  });

  it("logs a warning on every level change, and nothing on a repeat", async () => {
    const { s, lines } = setup();
    await s.apply(notification(100));
    expect(lines).toHaveLength(0);
    await s.apply(notification(850));
    await s.apply(notification(860));
    await s.apply(notification(1000));
    const warnings = lines.map((l) => JSON.parse(l) as { severity: string; from: string; to: string });
    expect(warnings.map((w) => [w.severity, w.from, w.to])).toEqual([
      ["WARNING", "open", "batch-paused"],
      ["WARNING", "batch-paused", "paused"],
    ]);
  });

  it("keeps the last known state through store errors in the poll, logging at most once per 10 s", async () => {
    let down = false;
    const inner = createMemoryStore().kv;
    const kv: KeyValue = {
      get: (k) => (down ? Promise.reject(new StoreUnavailableError("redis down")) : inner.get(k)),
      set: (k, v, ttl) => (down ? Promise.reject(new StoreUnavailableError("redis down")) : inner.set(k, v, ttl)),
    };
    const clock = { t: start };
    const { s, lines } = setup({ kv, clock });
    await s.apply(notification(1200));
    down = true;
    const before = lines.length;
    for (let i = 0; i < 5; i++) {
      await s.refresh();
      clock.t += 1000;
    }
    expect(s.refusal("acme", "interactive")).toBeDefined();
    expect(lines.length - before).toBe(1);
    clock.t += 10_000;
    await s.refresh();
    expect(lines.length - before).toBe(2);

    // apply and reset propagate the error (the endpoint answers 503 and Pub/Sub redelivers).
    await expect(s.apply(notification(10))).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(s.reset()).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(s.current()?.level).toBe("paused");
  });

  it("does not let a poll that read before an apply overwrite it", async () => {
    const inner = createMemoryStore().kv;
    let holdNextGet = false;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const kv: KeyValue = {
      async get(k) {
        const value = await inner.get(k); // read now...
        if (holdNextGet) {
          holdNextGet = false;
          await gate; // ...answer later
        }
        return value;
      },
      set: (k, v, ttl) => inner.set(k, v, ttl),
    };
    const { s } = setup({ kv });
    holdNextGet = true;
    const poll = s.refresh(); // reads "nothing" and stalls
    await s.apply(notification(1200));
    release();
    await poll;
    expect(s.current()?.level).toBe("paused");
  });

  it("ignores an unreadable shared state instead of failing", async () => {
    const { s, kv } = setup();
    await kv.set(BUDGET_STATE_KEY, "{not json", 60_000);
    await s.refresh();
    expect(s.current()).toBeUndefined();
    await s.apply(notification(900));
    expect(s.current()?.level).toBe("batch-paused");
  });

  it("refuses a batch threshold outside (0, 1]", () => {
    const { logger } = capturingLogger();
    const kv = createMemoryStore().kv;
    expect(() => createBudgetSwitch({ kv, batchThreshold: 0, allowlist: [], logger })).toThrow(RangeError);
    expect(() => createBudgetSwitch({ kv, batchThreshold: 80, allowlist: [], logger })).toThrow(RangeError);
  });
});

// ── the push endpoint over HTTP ────────────────────────────────────────────────────────────────────────────────────

describe("POST /internal/budget-alerts", () => {
  let server: Server;
  let url: string;
  let budgetSwitch: BudgetSwitch;
  let kv: KeyValue;
  const { logger, lines } = capturingLogger();

  beforeAll(async () => {
    kv = createMemoryStore().kv;
    budgetSwitch = createBudgetSwitch({ kv, batchThreshold: 0.8, allowlist: [], logger });
    const handler = budgetAlertsHandler({
      verifier: createPushVerifier({ audience: AUDIENCE, serviceAccountEmail: SA, certs }),
      budgetSwitch,
      logger,
      maxBodyBytes: 4096,
    });
    server = createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${BUDGET_ALERTS_PATH}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  // The current period, so the state is live whatever day the suite runs.
  const thisPeriod = () => {
    const d = new Date();
    return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)).toISOString();
  };
  const send = (body: Buffer | string, token?: string) =>
    fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body,
    });
  const goodToken = () => signIdToken({ aud: AUDIENCE, email: SA, sub: "1" });
  const overThreshold = () => pushBody(budgetData({ costAmount: 930, costIntervalStart: thisPeriod() }));

  async function expectEnvelope(res: Response, code: number, status: string) {
    expect(res.status).toBe(code);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const body = (await res.json()) as { error: { code: number; status: string; message: string } };
    expect(body.error).toMatchObject({ code, status });
    expect(body.error.message.length).toBeGreaterThan(10);
  }

  it("refuses an unsigned push with 401 and leaves the state alone", async () => {
    await expectEnvelope(await send(overThreshold()), 401, "UNAUTHENTICATED");
    expect(budgetSwitch.current()).toBeUndefined();
    expect(await kv.get(BUDGET_STATE_KEY)).toBeNull();
  });

  it("refuses a wrongly signed push with 401 and leaves the state alone", async () => {
    const forged = signIdToken({ aud: AUDIENCE, email: SA }, { key: newSigningKey() });
    await expectEnvelope(await send(overThreshold(), forged), 401, "UNAUTHENTICATED");
    expect(budgetSwitch.current()).toBeUndefined();
  });

  it("refuses another service account's push with 403 and leaves the state alone", async () => {
    const other = signIdToken({ aud: AUDIENCE, email: "intruder@proj.iam.gserviceaccount.com" });
    await expectEnvelope(await send(overThreshold(), other), 403, "PERMISSION_DENIED");
    expect(budgetSwitch.current()).toBeUndefined();
  });

  it("refuses a malformed body from the right sender with 400", async () => {
    await expectEnvelope(await send("{not json", goodToken()), 400, "INVALID_ARGUMENT");
    await expectEnvelope(await send(pushBody(budgetData({ budgetAmount: 0 })), goodToken()), 400, "INVALID_ARGUMENT");
    expect(budgetSwitch.current()).toBeUndefined();
  });

  it("refuses an oversized body with 413", async () => {
    const huge = JSON.stringify({ message: { data: "A".repeat(10_000) } });
    await expectEnvelope(await send(huge, goodToken()), 413, "INVALID_ARGUMENT");
  });

  it("applies a valid push over the threshold: 204, then batch traffic is refused", async () => {
    const token = goodToken();
    const res = await send(overThreshold(), token);
    expect(res.status).toBe(204);
    expect(budgetSwitch.current()).toMatchObject({ level: "batch-paused", budgetId: "b-123" });
    expect(budgetSwitch.refusal("acme", "batch")?.httpCode).toBe(429);
    expect(budgetSwitch.refusal("acme", "interactive")).toBeUndefined();
    expect(await kv.get(BUDGET_STATE_KEY)).not.toBeNull();

    const accepted = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.message === "budget notification applied");
    expect(accepted).toMatchObject({ budgetId: "b-123", ratio: 0.93, level: "batch-paused" });
    for (const line of lines) expect(line).not.toContain(token.split(".")[2]!);
  });

  it("answers 503 when the store is down, so Pub/Sub redelivers", async () => {
    const broken: KeyValue = {
      get: () => Promise.reject(new StoreUnavailableError("down")),
      set: () => Promise.reject(new StoreUnavailableError("down")),
    };
    const handler = budgetAlertsHandler({
      verifier: createPushVerifier({ audience: AUDIENCE, serviceAccountEmail: SA, certs }),
      budgetSwitch: createBudgetSwitch({ kv: broken, batchThreshold: 0.8, allowlist: [], logger }),
      logger,
      maxBodyBytes: 4096,
    });
    const s = createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
    try {
      const res = await fetch(`http://127.0.0.1:${(s.address() as AddressInfo).port}${BUDGET_ALERTS_PATH}`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${goodToken()}` },
        body: overThreshold(),
      });
      await expectEnvelope(res, 503, "UNAVAILABLE");
    } finally {
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  });
});
