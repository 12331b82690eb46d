import { describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_MODELS, loadConfig } from "../../service/src/config/env.js";
import { parseTenants, sha256Hex } from "../../service/src/config/tenants.js";

describe("environment configuration", () => {
  it("defaults to the emulator when no Google Cloud project is configured", () => {
    const c = loadConfig({});
    expect(c.upstream.kind).toBe("emulator");
    expect(c.port).toBe(8080);
    expect(c.maxBodyBytes).toBe(20 * 1024 * 1024);
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

  it("treats empty variables as unset and strips a trailing slash from the base URL", () => {
    const c = loadConfig({ PORT: "", GATEWAY_VERTEX_BASE_URL: "http://127.0.0.1:9000/" });
    expect(c.port).toBe(8080);
    expect(c.upstream.baseUrl).toBe("http://127.0.0.1:9000");
  });
});

describe("tenants file", () => {
  const key = sha256Hex("k1");
  const served = ["gemini-2.5-flash", "gemini-2.5-pro"];

  it("accepts the minimal four-field entry and applies defaults", () => {
    const [t] = parseTenants({ tenants: [{ id: "acme", keySha256: key, models: ["gemini-2.5-flash"] }] }, served);
    expect(t).toMatchObject({ id: "acme", keySha256: [key], priority: "interactive" });
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
