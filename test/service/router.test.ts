/**
 * The router (route/router.ts) with fake providers on fake time: whose failure a breaker counts, deadlines, and the
 * wait for a connection. End-to-end routing over real HTTP is in test/e2e/resilience.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createRouter, type RouteRequest, type RouterOptions } from "../../service/src/route/router.js";
import { createConnectionSlots } from "../../service/src/upstream/connection-slots.js";
import type { Provider, UpstreamRequest, UpstreamResponse } from "../../service/src/upstream/provider.js";
import { GatewayError } from "../../service/src/wire/errors.js";

beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
afterEach(() => vi.useRealTimers());

type Behaviour = "ok" | "hang" | 500 | 503 | 429 | "stream";

/** A provider whose answers are scripted; it keeps its slot until the body is read or destroyed, as real ones do. */
function fakeProvider(id: string, connections = 100) {
  let behaviour: Behaviour = "ok";
  const self = { retryInfo: undefined as string | undefined };
  const sent: UpstreamRequest[] = [];
  const provider: Provider = {
    id,
    name: "fake",
    region: id,
    slots: createConnectionSlots({ max: connections, upstream: id }),
    async send(req) {
      sent.push(req);
      if (behaviour === "hang") {
        return new Promise<UpstreamResponse>((_, reject) => {
          const abort = () => {
            req.release();
            reject(Object.assign(new Error("aborted"), { name: "AbortError" }));
          };
          if (req.signal.aborted) abort();
          else req.signal.addEventListener("abort", abort, { once: true });
        });
      }
      const status = typeof behaviour === "number" ? behaviour : 200;
      const open = behaviour === "stream"; // a stream: the body stays open (and the slot held) until destroyed
      let done = false;
      const finish = () => {
        if (!done) req.release();
        done = true;
      };
      return {
        status,
        contentType: "application/json",
        retryAfter: undefined,
        body: {
          async *[Symbol.asyncIterator]() {
            if (open) await new Promise<void>((resolve) => req.signal.addEventListener("abort", () => resolve()));
            yield Buffer.from(
              status === 200
                ? '{"candidates":[]}'
                : JSON.stringify({
                    error: {
                      code: status,
                      details: self.retryInfo
                        ? [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: self.retryInfo }]
                        : [],
                    },
                  }),
            );
            finish();
          },
          destroy: finish,
        },
      };
    },
    close: async () => undefined,
  };
  return Object.assign(self, {
    provider,
    sent,
    set: (b: Behaviour) => {
      behaviour = b;
    },
  });
}

function routerFor(
  providers: Provider[],
  overrides: { retry?: Partial<RouterOptions["retry"]>; routes?: Record<string, string[]> } & Pick<
    RouterOptions,
    "random"
  > = {},
) {
  const changes: string[] = [];
  const sleeps: number[] = [];
  const retries: string[] = [];
  const router = createRouter({
    providers: new Map(providers.map((p) => [p.id, { provider: p, supports: () => true }])),
    routeOf: (model) => overrides.routes?.[model] ?? providers.map((p) => p.id),
    retry: {
      maxAttempts: 3,
      budgetRatio: 1,
      baseDelayMs: 0,
      maxDelayMs: 0,
      attemptTimeoutMs: 5_000,
      ...overrides.retry,
    },
    breaker: { consecutiveFailures: 5, failureRatio: 0.5, window: 20, minimumCalls: 10, halfOpenAfterMs: 10_000 },
    onRetry: (id, reason) => retries.push(`${id} ${reason}`),
    onBreakerChange: (id, model, state) => changes.push(`${id}|${model} ${state}`),
    // Fake time moves only when the test says; a backoff is recorded and advanced at once.
    sleep: async (ms) => {
      sleeps.push(Math.round(ms));
      await vi.advanceTimersByTimeAsync(ms);
    },
    random: overrides.random,
  });
  return { router, changes, sleeps, retries };
}

function call(overrides: Partial<RouteRequest> = {}): RouteRequest {
  const now = Date.now();
  return {
    model: "gemini-2.5-flash",
    method: "generateContent",
    apiVersion: "v1beta1",
    body: Buffer.from("{}"),
    serverTimeout: undefined,
    traceparent: undefined,
    signal: new AbortController().signal,
    deadline: now + 60_000,
    waitDeadline: now + 5_000,
    ...overrides,
  };
}

const settle = <T>(p: Promise<T>) =>
  p.then(
    (v) => ({ ok: true as const, v }),
    (e: unknown) => ({ ok: false as const, e: e as GatewayError }),
  );

describe("router: only the upstream's own failures count against its breaker", () => {
  it("a flood of calls cut by their own short deadline leaves the circuit closed for everyone else", async () => {
    const up = fakeProvider("us");
    const { router, changes } = routerFor([up.provider]);
    up.set("hang");
    for (let i = 0; i < 20; i++) {
      const pending = settle(router.send(call({ deadline: Date.now() + 50 })));
      await vi.advanceTimersByTimeAsync(50);
      const r = await pending;
      expect(r.ok).toBe(false);
      if (r.ok) continue;
      expect([r.e.httpCode, r.e.status, r.e.kind]).toEqual([504, "DEADLINE_EXCEEDED", "deadline"]);
    }
    expect(changes).toEqual([]);
    expect(router.states()).toEqual({ "us|gemini-2.5-flash": "closed" });
    up.set("ok");
    const r = await router.send(call());
    expect(r.response.status).toBe(200);
  });

  it("a zero deadline is answered 504 DEADLINE_EXCEEDED without calling any upstream", async () => {
    const up = fakeProvider("us");
    const { router } = routerFor([up.provider]);
    const r = await settle(router.send(call({ deadline: Date.now() })));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect([r.e.httpCode, r.e.status, r.e.kind]).toEqual([504, "DEADLINE_EXCEEDED", "deadline"]);
      expect(r.e.message).toContain("before any upstream was called");
    }
    expect(up.sent).toHaveLength(0);
    expect(router.states()).toEqual({}); // not even a breaker was consulted
  });

  it("the attempt timeout the gateway chose does count: five in a row open the circuit, then calls get 503 at once", async () => {
    const up = fakeProvider("us");
    const { router, changes } = routerFor([up.provider]);
    up.set("hang");
    for (let i = 0; i < 5; i++) {
      const pending = settle(router.send(call()));
      await vi.advanceTimersByTimeAsync(5_000 * 3); // three attempts, each cut by attemptTimeoutMs
      const r = await pending;
      expect(!r.ok && [r.e.httpCode, r.e.kind]).toEqual([504, "upstream_timeout"]);
      if (changes.length) break;
    }
    expect(changes).toEqual(["us|gemini-2.5-flash open"]);
    const sentBefore = up.sent.length;
    const r = await settle(router.send(call()));
    expect(!r.ok && [r.e.httpCode, r.e.status, r.e.kind]).toEqual([503, "UNAVAILABLE", "gateway"]);
    expect(up.sent.length).toBe(sentBefore);
  });

  it("5xx answers count, 429s and the client leaving do not", async () => {
    const up = fakeProvider("us");
    const { router, changes } = routerFor([up.provider]);
    up.set(429);
    for (let i = 0; i < 10; i++) (await router.send(call())).response.body.destroy();
    up.set("hang");
    for (let i = 0; i < 10; i++) {
      const abort = new AbortController();
      const pending = settle(router.send(call({ signal: abort.signal })));
      await vi.advanceTimersByTimeAsync(10);
      abort.abort();
      expect((await pending).ok).toBe(false);
    }
    expect(changes).toEqual([]);
    up.set(500);
    for (let i = 0; i < 2; i++) (await router.send(call())).response.body.destroy(); // 3 attempts each
    expect(changes).toEqual(["us|gemini-2.5-flash open"]);
  });

  it("a half-open probe cut by the client's deadline leaves the circuit open, and the next call probes", async () => {
    const up = fakeProvider("us");
    const { router, changes } = routerFor([up.provider]);
    up.set(500);
    for (let i = 0; i < 2; i++) (await router.send(call())).response.body.destroy();
    expect(router.states()["us|gemini-2.5-flash"]).toBe("open");
    await vi.advanceTimersByTimeAsync(10_000);
    up.set("hang");
    const probe = settle(router.send(call({ deadline: Date.now() + 100 })));
    await vi.advanceTimersByTimeAsync(100);
    expect(!(await probe).ok && (await probe)).toMatchObject({ e: { kind: "deadline" } });
    expect(router.states()["us|gemini-2.5-flash"]).toBe("open");
    up.set("ok");
    expect((await router.send(call())).response.status).toBe(200);
    expect(changes).toEqual([
      "us|gemini-2.5-flash open",
      "us|gemini-2.5-flash half-open",
      "us|gemini-2.5-flash open",
      "us|gemini-2.5-flash half-open",
      "us|gemini-2.5-flash closed",
    ]);
  });
});

describe("router: waiting for a connection", () => {
  it("a call that finds every connection busy waits, visibly, and gets 503 + Retry-After at its wait deadline", async () => {
    const up = fakeProvider("us", 1);
    const { router, changes } = routerFor([up.provider]);
    up.set("stream");
    const holder = new AbortController();
    const first = await router.send(call({ signal: holder.signal }));
    expect(first.response.status).toBe(200);
    const pending = settle(router.send(call({ waitDeadline: Date.now() + 300 })));
    await vi.advanceTimersByTimeAsync(0);
    expect(up.provider.slots.waiting).toBe(1);
    await vi.advanceTimersByTimeAsync(300);
    const r = await pending;
    expect(!r.ok && [r.e.httpCode, r.e.status, r.e.headers?.["retry-after"], r.e.kind]).toEqual([
      503,
      "UNAVAILABLE",
      "1",
      "gateway",
    ]);
    expect(up.sent).toHaveLength(1); // the refused call never reached the upstream
    expect(changes).toEqual([]); // the gateway's own limit is not the upstream's failure
    // When the stream ends, its connection goes to the next call.
    holder.abort();
    first.response.body.destroy();
    up.set("ok");
    expect((await router.send(call())).response.status).toBe(200);
  });

  it("the attempt timeout starts once the connection is taken, not while waiting for one", async () => {
    const up = fakeProvider("us", 1);
    const { router, changes } = routerFor([up.provider]);
    up.set("stream");
    const holder = new AbortController();
    const first = await router.send(call({ signal: holder.signal }));
    up.set("ok");
    // Waits 4.9 s for the connection, longer than... nothing: then has its full 5 s attempt timeout.
    const second = settle(router.send(call({ waitDeadline: Date.now() + 10_000 })));
    await vi.advanceTimersByTimeAsync(4_900);
    holder.abort();
    first.response.body.destroy();
    const r = await second;
    expect(r.ok && r.v.response.status).toBe(200);
    expect(changes).toEqual([]);
  });
});

describe("router: where and when the next attempt goes", () => {
  it("fails over to the next upstream at once, without waiting", async () => {
    const us = fakeProvider("us");
    const eu = fakeProvider("eu");
    const { router, sleeps, retries } = routerFor([us.provider, eu.provider]);
    us.set(503);
    const r = await router.send(call());
    expect([r.response.status, r.provider.id, r.attempts]).toEqual([200, "eu", 2]);
    expect(sleeps).toEqual([]);
    expect(retries).toEqual(["eu 503"]);
  });

  it("backs off with full jitter when it comes back to an upstream it tried (seeded randomness)", async () => {
    const us = fakeProvider("us");
    const { router, sleeps } = routerFor([us.provider], {
      retry: { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 150 },
      random: () => 0.5,
    });
    us.set(500);
    const r = await router.send(call());
    expect([r.response.status, r.attempts]).toEqual([500, 4]); // the last answer, relayed as it was
    expect(sleeps).toEqual([50, 75, 75]); // 0.5 × min(150, 100 × 2ⁿ⁻¹)
  });

  it("cools an upstream that sent RetryInfo: new calls start elsewhere", async () => {
    const us = fakeProvider("us");
    const eu = fakeProvider("eu");
    const { router, sleeps } = routerFor([us.provider, eu.provider]);
    us.retryInfo = "2s";
    us.set(429);
    const first = await router.send(call());
    expect([first.provider.id, first.attempts]).toEqual(["eu", 2]);
    const second = await router.send(call());
    expect([second.provider.id, second.attempts]).toEqual(["eu", 1]); // us is cooling: start at eu
    expect(us.sent).toHaveLength(1);
    expect(sleeps).toEqual([]);
    // What /admin/summary and the console show: us cools for the 2 s it asked for.
    const cooling = router.coolingDown();
    expect(Object.keys(cooling)).toEqual(["us"]);
    expect(cooling.us! - Date.now()).toBeGreaterThan(1000);
    expect(cooling.us! - Date.now()).toBeLessThanOrEqual(2000);
  });

  it("waits out an upstream's RetryInfo before trying it again", async () => {
    const us = fakeProvider("us");
    const { router, sleeps } = routerFor([us.provider], { retry: { maxAttempts: 2 } });
    us.retryInfo = "2.5s";
    us.set(429);
    const r = await router.send(call());
    expect([r.response.status, r.attempts]).toEqual([429, 2]);
    expect(sleeps).toEqual([2500]);
  });

  it("stops when no retry fits before the deadline, with the failure so far", async () => {
    const us = fakeProvider("us");
    const { router, sleeps } = routerFor([us.provider], {
      retry: { baseDelayMs: 10_000, maxDelayMs: 10_000 },
      random: () => 0.99,
    });
    us.set(500);
    const r = await router.send(call({ deadline: Date.now() + 5_000 }));
    expect([r.response.status, r.attempts]).toEqual([500, 1]);
    expect(sleeps).toEqual([]);
  });

  it("falls back to the tenant's next model when every upstream of the first failed, but not past the deadline", async () => {
    const pro = fakeProvider("pro-region");
    const flash = fakeProvider("flash-region");
    const { router } = routerFor([pro.provider, flash.provider], {
      routes: { "gemini-2.5-pro": ["pro-region"], "gemini-2.5-flash": ["flash-region"] },
    });
    pro.set(503);
    const r = await router.send(call({ model: "gemini-2.5-pro", fallbackModels: ["gemini-2.5-flash"] }));
    expect([r.response.status, r.model, r.provider.id, r.attempts]).toEqual([
      200,
      "gemini-2.5-flash",
      "flash-region",
      4,
    ]);
    pro.set("hang");
    const pending = settle(
      router.send(call({ model: "gemini-2.5-pro", fallbackModels: ["gemini-2.5-flash"], deadline: Date.now() + 100 })),
    );
    await vi.advanceTimersByTimeAsync(100);
    const cut = await pending;
    expect(!cut.ok && cut.e.kind).toBe("deadline");
    expect(flash.sent).toHaveLength(1); // the deadline passed: no fallback attempt
  });
});

describe("router: a call pinned to the upstream that holds its resource", () => {
  it("goes only there, even when it is not first in the route, and retries there", async () => {
    const us = fakeProvider("us");
    const eu = fakeProvider("eu");
    const { router } = routerFor([us.provider, eu.provider]);
    const r = await router.send(call({ pin: { upstream: "eu", resource: "cachedContents/1" } }));
    expect(r.upstream).toBe("eu");
    expect([us.sent.length, eu.sent.length]).toEqual([0, 1]);
    eu.set(503);
    const failed = await router.send(call({ pin: { upstream: "eu", resource: "cachedContents/1" } }));
    expect(failed.response.status).toBe(503); // the upstream's own answer, after retries on it alone
    expect(us.sent.length).toBe(0);
  });

  it("fails with a 503 naming the resource and its upstream when that upstream cannot answer — never elsewhere", async () => {
    const us = fakeProvider("us");
    const eu = fakeProvider("eu");
    const { router } = routerFor([us.provider, eu.provider], { retry: { attemptTimeoutMs: 1_000 } });
    us.set("hang");
    const pinned = settle(
      router.send(call({ pin: { upstream: "us", resource: "cachedContents/7" }, fallbackModels: ["gemini-2.5-pro"] })),
    );
    await vi.advanceTimersByTimeAsync(5_000);
    const out = await pinned;
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect(out.e.httpCode).toBe(503);
    expect(out.e.message).toContain('cachedContents/7 lives on upstream "us"');
    expect(eu.sent.length).toBe(0); // no failover, and no fallback model either
    // An unknown upstream (removed from the configuration since): the same clear refusal, nothing sent.
    const gone = await settle(router.send(call({ pin: { upstream: "gone", resource: "Interaction v1_x" } })));
    expect(gone.ok ? 0 : gone.e.message).toContain('"gone"');
  });
});
