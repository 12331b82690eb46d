import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { connectionsWithin, descriptorsFor, openFileLimit } from "../../service/src/config/connections.js";
import { capacityFor } from "../../service/src/config/capacity.js";
import { parseUpstreams, routeOf } from "../../service/src/config/upstreams.js";
import { ConfigError, DEFAULT_MODELS, loadConfig } from "../../service/src/config/env.js";
import { parseTenants, sha256Hex } from "../../service/src/config/tenants.js";

describe("environment configuration", () => {
  it("defaults to the emulator when no Google Cloud project is configured", () => {
    const c = loadConfig({});
    expect(c.upstream.kind).toBe("emulator");
    expect(c.port).toBe(8080);
    expect(c.body).toEqual({ maxBytes: 20 * 1024 * 1024, timeoutMs: 30_000, maxJsonValues: 100_000 });
    expect(c.models).toEqual(DEFAULT_MODELS);
    expect(Object.isFrozen(c) && Object.isFrozen(c.upstream)).toBe(true);
  });

  it("chooses Vertex when a project is set, and honours an explicit choice", () => {
    expect(loadConfig({ GOOGLE_CLOUD_PROJECT: "my-project-1" }).upstream.kind).toBe("vertex");
    expect(loadConfig({ GOOGLE_CLOUD_PROJECT: "my-project-1", GATEWAY_UPSTREAM: "emulator" }).upstream.kind).toBe(
      "emulator",
    );
  });

  it("names every bad variable and its value in one readable error", () => {
    const err = (() => {
      try {
        loadConfig({
          PORT: "eighty",
          GATEWAY_UPSTREAM: "vertex",
          GATEWAY_MODELS: "Gemini Pro",
          GOOGLE_CLOUD_LOCATION: "moon",
        });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err?.message).toMatch(/PORT="eighty"/);
    expect(err?.message).toMatch(/GATEWAY_MODELS="Gemini Pro"/);
    expect(err?.message).toMatch(/GOOGLE_CLOUD_LOCATION="moon"/);
  });

  it("requires a project for the Vertex upstream", () => {
    expect(() => loadConfig({ GATEWAY_UPSTREAM: "vertex" })).toThrow(
      /GOOGLE_CLOUD_PROJECT: is required when GATEWAY_UPSTREAM=vertex/,
    );
  });

  it("validates the observability settings and defaults them off", () => {
    const c = loadConfig({});
    expect(c.metrics).toEqual({ port: undefined, adminKeySha256: undefined });
    expect(c.tracing).toEqual({ exporter: "none", sampleRatio: 0.1 });
    expect(c.usageAnomaly).toEqual({ factor: 5, minTokensPerMinute: 10_000 });
    const on = loadConfig({
      GATEWAY_METRICS_PORT: "9464",
      GATEWAY_ADMIN_KEY_SHA256: sha256Hex("admin"),
      GATEWAY_TRACE_EXPORTER: "cloud-trace",
      GATEWAY_TRACE_SAMPLE_RATIO: "0.5",
      GOOGLE_CLOUD_PROJECT: "my-project-1",
    });
    expect(on.metrics.port).toBe(9464);
    expect(on.tracing).toEqual({ exporter: "cloud-trace", sampleRatio: 0.5 });
    const bad = () =>
      loadConfig({
        GATEWAY_ADMIN_KEY_SHA256: "admin",
        GATEWAY_TRACE_EXPORTER: "jaeger",
        GATEWAY_TRACE_SAMPLE_RATIO: "2",
        GATEWAY_USAGE_ANOMALY_FACTOR: "1",
      });
    expect(bad).toThrow(/GATEWAY_ADMIN_KEY_SHA256="admin": must be the lowercase hex SHA-256/);
    expect(bad).toThrow(/GATEWAY_TRACE_EXPORTER="jaeger"/);
    expect(bad).toThrow(/GATEWAY_TRACE_SAMPLE_RATIO="2"/);
    expect(bad).toThrow(/GATEWAY_USAGE_ANOMALY_FACTOR="1"/);
    expect(() => loadConfig({ GATEWAY_TRACE_EXPORTER: "cloud-trace" })).toThrow(
      /GOOGLE_CLOUD_PROJECT: is required when GATEWAY_TRACE_EXPORTER=cloud-trace/,
    );
  });

  it("validates the quota store settings", () => {
    expect(loadConfig({}).quota).toEqual({
      redisUrl: undefined,
      redisTlsCaFile: undefined,
      storeFailure: "open",
      defaultOutputTokens: 1024,
      capacity: { reservedInteractiveShare: 0.2, models: [] },
      queueMax: 512,
      queueTimeoutMs: 5000,
      redisCluster: false,
      admission: "per-call", // in memory: one instance, nothing to lease from
      leaseMs: 2000,
    });
    expect(loadConfig({ REDIS_URL: "/run/redis.sock", GATEWAY_STORE_FAILURE: "closed" }).quota).toMatchObject({
      redisUrl: "/run/redis.sock",
      storeFailure: "closed",
      admission: "leased", // the default with Redis
    });
    expect(
      loadConfig({ REDIS_URL: "redis://10.0.0.3:6379", REDIS_CLUSTER: "true", GATEWAY_ADMISSION: "per-call" }).quota,
    ).toMatchObject({ redisCluster: true, admission: "per-call" });
    expect(() => loadConfig({ REDIS_URL: "/run/redis.sock", REDIS_CLUSTER: "true" })).toThrow(
      /REDIS_CLUSTER="true": needs REDIS_URL as redis:\/\/host:port/,
    );
    expect(() => loadConfig({ REDIS_CLUSTER: "yes" })).toThrow(/REDIS_CLUSTER="yes": must be "true" or "false"/);
    expect(() => loadConfig({ GATEWAY_ADMISSION: "sometimes" })).toThrow(/GATEWAY_ADMISSION="sometimes"/);
    expect(() => loadConfig({ GATEWAY_LEASE_MS: "10" })).toThrow(/GATEWAY_LEASE_MS="10"/);
    expect(() => loadConfig({ REDIS_URL: "localhost:6379" })).toThrow(/REDIS_URL="localhost:6379": must be redis:/);
    expect(() => loadConfig({ REDIS_URL: "redis://10.0.0.3:6379", REDIS_TLS_CA_FILE: "/ca.pem" })).toThrow(
      /REDIS_TLS_CA_FILE="\/ca.pem": needs a rediss:\/\/ REDIS_URL/,
    );
    expect(() => loadConfig({ GATEWAY_STORE_FAILURE: "maybe" })).toThrow(/GATEWAY_STORE_FAILURE="maybe"/);
  });

  it("reads upstream capacity per model and region from GATEWAY_CAPACITY, and says what is wrong with it", () => {
    const capacity = JSON.stringify({
      reservedInteractiveShare: 0.25,
      models: [
        { model: "gemini-2.5-flash", requestsPerMinute: 600, tokensPerMinute: 1_000_000 },
        { model: "gemini-2.5-flash", region: "europe-west4", requestsPerMinute: 60 },
      ],
    });
    const c = loadConfig({ GATEWAY_CAPACITY: capacity }).quota.capacity;
    expect(c.reservedInteractiveShare).toBe(0.25);
    expect(capacityFor(c, "gemini-2.5-flash", "europe-west4")?.requestsPerMinute).toBe(60);
    expect(capacityFor(c, "gemini-2.5-flash", "us-central1")?.requestsPerMinute).toBe(600);
    expect(capacityFor(c, "gemini-2.5-pro", "us-central1")).toBeUndefined();
    expect(() => loadConfig({ GATEWAY_CAPACITY: "{models:[]}" })).toThrow(/GATEWAY_CAPACITY is not valid JSON/);
    expect(() => loadConfig({ GATEWAY_CAPACITY: JSON.stringify({ models: [{ model: "gemini-2.5-flash" }] }) })).toThrow(
      /GATEWAY_CAPACITY.models.0: give requestsPerMinute, tokensPerMinute or both/,
    );
    expect(() => loadConfig({ GATEWAY_CAPACITY: JSON.stringify({ reservedInteractiveShare: 1, models: [] }) })).toThrow(
      /GATEWAY_CAPACITY.reservedInteractiveShare/,
    );
    expect(() =>
      loadConfig({
        GATEWAY_CAPACITY: JSON.stringify({
          models: [
            { model: "gemini-2.5-pro", requestsPerMinute: 1 },
            { model: "gemini-2.5-pro", requestsPerMinute: 2 },
          ],
        }),
      }),
    ).toThrow(/gemini-2.5-pro is listed twice/);
    expect(() => loadConfig({ GATEWAY_CAPACITY: JSON.stringify({ models: [], burst: 3 }) })).toThrow(
      /GATEWAY_CAPACITY.\(root\): Unrecognized key/,
    );
  });

  it("validates the budget kill switch settings", () => {
    expect(loadConfig({}).budget).toBeUndefined();
    const b = loadConfig({
      GATEWAY_BUDGET_PUSH_AUDIENCE: "https://gateway.example.com/internal/budget-alerts",
      GATEWAY_BUDGET_PUSH_SERVICE_ACCOUNT: "budget-push@my-project.iam.gserviceaccount.com",
      GATEWAY_BUDGET_ALLOWLIST: "ops, oncall",
    }).budget;
    expect(b).toEqual({
      pushAudience: "https://gateway.example.com/internal/budget-alerts",
      pushServiceAccount: "budget-push@my-project.iam.gserviceaccount.com",
      batchThreshold: 0.8,
      allowlist: ["ops", "oncall"],
    });
    expect(() => loadConfig({ GATEWAY_BUDGET_PUSH_AUDIENCE: "https://x" })).toThrow(
      /GATEWAY_BUDGET_PUSH_SERVICE_ACCOUNT: budget alerts need both/,
    );
    expect(() =>
      loadConfig({ GATEWAY_BUDGET_PUSH_AUDIENCE: "https://x", GATEWAY_BUDGET_PUSH_SERVICE_ACCOUNT: "me@gmail.com" }),
    ).toThrow(/must be a service account email/);
  });

  it("treats empty variables as unset and strips a trailing slash from the base URL", () => {
    const c = loadConfig({ PORT: "", GATEWAY_VERTEX_BASE_URL: "http://127.0.0.1:9000/" });
    expect(c.port).toBe(8080);
    expect(c.upstream.baseUrl).toBe("http://127.0.0.1:9000");
  });
});

describe("tenants file", () => {
  const key = sha256Hex("k1");
  const served = ["gemini-2.5-flash", "gemini-2.5-pro"];

  it("takes an injection action and Model Armor templates per tenant, and checks them", () => {
    const [t] = parseTenants(
      {
        tenants: [
          {
            id: "acme",
            keySha256: key,
            models: ["*"],
            injection: { action: "block", threshold: 0.7 },
            modelArmor: { promptTemplate: "projects/p/locations/us-central1/templates/t1" },
          },
        ],
      },
      served,
    );
    expect(t?.injection).toEqual({ action: "block", threshold: 0.7 });
    expect(t?.modelArmor).toEqual({ promptTemplateName: "projects/p/locations/us-central1/templates/t1" });
    const bad = () =>
      parseTenants(
        {
          tenants: [
            {
              id: "acme",
              keySha256: key,
              models: ["*"],
              injection: { action: "shout", threshold: 3 },
              modelArmor: { promptTemplate: "my-template" },
            },
          ],
        },
        served,
      );
    expect(bad).toThrow(/tenants\.0\.injection\.action/);
    expect(bad).toThrow(/tenants\.0\.injection\.threshold/);
    expect(bad).toThrow(/tenants\.0\.modelArmor\.promptTemplate: must be projects\/\{p\}/);
  });

  it("accepts the minimal four-field entry and applies defaults", () => {
    const [t] = parseTenants({ tenants: [{ id: "acme", keySha256: key, models: ["gemini-2.5-flash"] }] }, served);
    expect(t).toMatchObject({ id: "acme", keySha256: [key], priority: "interactive" });
    expect(t?.injection).toEqual({ action: "log", threshold: undefined });
    expect(t?.limits).toBeUndefined();
    expect(t?.modelArmor).toBeUndefined();
    expect(t?.models?.has("gemini-2.5-flash")).toBe(true);
    const [all] = parseTenants(
      { tenants: [{ id: "all", keySha256: [key], models: ["*"], priority: "batch" }] },
      served,
    );
    expect(all?.models).toBeUndefined();
  });

  it.each([
    [{ tenants: [{ id: "Acme", keySha256: key, models: ["*"] }] }, /tenants.0.id/],
    [{ tenants: [{ id: "acme", keySha256: "plaintext-key", models: ["*"] }] }, /tenants.0.keySha256/],
    [{ tenants: [{ id: "acme", keySha256: key, models: [] }] }, /tenants.0.models/],
    [{ tenants: [{ id: "acme", keySha256: key, models: ["gpt-4"] }] }, /"gpt-4" is not a served model/],
    [{ tenants: [{ id: "acme", keySha256: key, models: ["*"], modles: [] }] }, /modles/],
    [
      {
        tenants: [
          { id: "a", keySha256: key, models: ["*"] },
          { id: "a", keySha256: sha256Hex("k2"), models: ["*"] },
        ],
      },
      /duplicate tenant id/,
    ],
    [
      {
        tenants: [
          { id: "a", keySha256: key, models: ["*"] },
          { id: "b", keySha256: key, models: ["*"] },
        ],
      },
      /listed twice/,
    ],
    [{ tenants: [] }, /tenants/],
  ])("refuses %j", (doc, message) => {
    expect(() => parseTenants(doc, served)).toThrow(message);
  });
});

describe("upstreams file", () => {
  const served = ["gemini-2.5-flash", "gemini-2.5-pro"];
  const doc = {
    upstreams: [
      { id: "us", provider: "vertex", region: "us-central1" },
      { id: "eu", provider: "vertex", region: "europe-west4", project: "other-project-1" },
      {
        id: "oss",
        provider: "openai",
        baseUrl: "http://vllm:8000",
        apiKeyEnv: "OSS_API_KEY",
        models: { "gemini-2.5-flash": "llama" },
      },
    ],
    routes: { "gemini-2.5-flash": ["us", "eu", "oss"] },
  };

  it("reads upstreams, routes and defaults; a model without a route uses every Vertex upstream", () => {
    const u = parseUpstreams(doc, served);
    expect(routeOf(u, "gemini-2.5-flash")).toEqual(["us", "eu", "oss"]);
    expect(routeOf(u, "gemini-2.5-pro")).toEqual(["us", "eu"]);
    expect(u.retry).toMatchObject({ maxAttempts: 3, budgetRatio: 0.2 });
    expect(u.breaker).toMatchObject({ consecutiveFailures: 5, halfOpenAfterMs: 10_000 });
  });

  it("names every problem: duplicate ids, unknown upstreams in routes, unserved models, bad fields", () => {
    const bad = {
      upstreams: [
        { id: "us", provider: "vertex", region: "us-central1" },
        { id: "us", provider: "vertex", region: "europe-west4" },
      ],
      routes: { "gemini-9": ["us"], "gemini-2.5-pro": ["nowhere"] },
    };
    expect(() => parseUpstreams(bad, served)).toThrow(/duplicate upstream id "us"/);
    expect(() => parseUpstreams(bad, served)).toThrow(/routes.gemini-9: not a served model/);
    expect(() => parseUpstreams(bad, served)).toThrow(/routes.gemini-2.5-pro: unknown upstream "nowhere"/);
    expect(() =>
      parseUpstreams({ upstreams: [{ id: "oss", provider: "openai", baseUrl: "http://x", apiKey: "sk-1" }] }, served),
    ).toThrow(/upstreams.0/);
    expect(() =>
      parseUpstreams(
        { upstreams: [{ id: "us", provider: "vertex", region: "mars" }], retry: { maxAttempts: 0 } },
        served,
      ),
    ).toThrow(/region such as "us-central1"[\s\S]*retry.maxAttempts/);
  });

  it("checks a tenant's model fallback chain against the models it may use", () => {
    const [t] = parseTenants(
      {
        tenants: [
          { id: "a", keySha256: sha256Hex("k1"), models: ["*"], fallback: { "gemini-2.5-pro": ["gemini-2.5-flash"] } },
        ],
      },
      served,
    );
    expect(t!.fallback.get("gemini-2.5-pro")).toEqual(["gemini-2.5-flash"]);
    expect(() =>
      parseTenants(
        {
          tenants: [
            {
              id: "b",
              keySha256: sha256Hex("k2"),
              models: ["gemini-2.5-pro"],
              fallback: { "gemini-2.5-pro": ["gemini-2.5-flash", "gemini-2.5-pro"] },
            },
          ],
        },
        served,
      ),
    ).toThrow(/"gemini-2.5-flash" is not a model this tenant may use[\s\S]*cannot fall back to itself/);
  });
});

describe("listening address and upstream connections", () => {
  it("listens on loopback by default, on every interface on Cloud Run (K_SERVICE), and where GATEWAY_HOST says", () => {
    expect(loadConfig({}).host).toBe("127.0.0.1");
    expect(loadConfig({ K_SERVICE: "gateway" }).host).toBe("0.0.0.0");
    expect(loadConfig({ K_SERVICE: "gateway", GATEWAY_HOST: "127.0.0.1" }).host).toBe("127.0.0.1");
    expect(loadConfig({ GATEWAY_HOST: "::" }).host).toBe("::");
  });

  it("speaks HTTP/1.1 to upstreams unless GATEWAY_UPSTREAM_PROTOCOL=http2; any other value stops start-up", () => {
    expect(loadConfig({}).upstream.protocol).toBe("http1");
    expect(loadConfig({ GATEWAY_UPSTREAM_PROTOCOL: "" }).upstream.protocol).toBe("http1");
    expect(loadConfig({ GATEWAY_UPSTREAM_PROTOCOL: "http2" }).upstream.protocol).toBe("http2");
    for (const bad of ["h2", "HTTP2", "http3", "h2c"]) {
      expect(() => loadConfig({ GATEWAY_UPSTREAM_PROTOCOL: bad })).toThrow(ConfigError);
      expect(() => loadConfig({ GATEWAY_UPSTREAM_PROTOCOL: bad })).toThrow(
        `GATEWAY_UPSTREAM_PROTOCOL="${bad}": must be "http1" (an HTTP/1.1 connection per upstream call) or "http2"`,
      );
    }
  });

  it("with HTTP/2 a call holds one descriptor plus a hundredth of an upstream connection", () => {
    expect(descriptorsFor(10_000, "http1")).toBe(20_000);
    expect(descriptorsFor(10_000, "http2")).toBe(10_100);
    expect(descriptorsFor(101, "http2")).toBe(103);
    expect(connectionsWithin(20_000, "http2")).toBe(10_000); // 19,548 fit; the default stays capped at 10,000
    expect(connectionsWithin(1024, "http2")).toBe(760); // 760 + 8 upstream connections = 768 = 1024 − 256
    expect(connectionsWithin(1024, "http1")).toBe(384);
  });

  it("takes as many upstream connections as the open-file limit carries, up to 10,000, unless configured", () => {
    expect(loadConfig({}).upstream.connections).toBeUndefined();
    expect(loadConfig({ GATEWAY_UPSTREAM_CONNECTIONS: "64" }).upstream.connections).toBe(64);
    expect(connectionsWithin(undefined)).toBe(10_000);
    expect(connectionsWithin(1_048_576)).toBe(10_000);
    expect(connectionsWithin(20_000)).toBe(9_872); // a client and an upstream descriptor per call, 256 kept aside
    expect(connectionsWithin(1024)).toBe(384);
    const dir = mkdtempSync(join(tmpdir(), "ggw-limits-"));
    writeFileSync(
      join(dir, "limits"),
      "Limit                     Soft Limit           Hard Limit           Units\n" +
        "Max open files            4096                 524288               files\n",
    );
    expect(openFileLimit(join(dir, "limits"))).toBe(4096);
    expect(openFileLimit(join(dir, "missing"))).toBeUndefined();
  });
});
