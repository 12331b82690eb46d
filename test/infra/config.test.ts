/**
 * Stack configuration: the placeholder guard, validation messages naming every bad key, Pulumi.yaml declaring exactly
 * the keys the schema reads, stack files free of secrets, and the names infra shares with the service.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import yaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { BUDGET_ALERTS_PATH } from "../../service/src/surfaces/budget-alerts.js";
import { PATHS } from "../../infra/components/common.js";
import { createMetrics } from "../../service/src/telemetry/metrics.js";
import {
  GATEWAY_METRICS,
  METRIC_LABELS,
  OVERHEAD_BUCKETS_SECONDS,
  TTFT_BUCKETS_SECONDS,
} from "../../infra/components/metrics.js";
import { BootstrapConfigSchema, loadBootstrapConfig } from "../../infra/bootstrap/config.js";
import { CONFIG_KEYS, loadStackConfig, StackConfigError } from "../../infra/config.js";
import {
  OFFLINE_BOOTSTRAP_OUTPUTS,
  REPO_ROOT,
  runProgram,
  stackConfig,
  type EnvStack as StackName,
} from "../../infra/offline/run.js";

const read = (path: string) => readFileSync(resolve(REPO_ROOT, path), "utf8");

/** What an operator would put in place of the placeholders. */
const REAL: Record<StackName, Record<string, unknown>> = {
  dev: {
    projectId: "acme-ggw-dev",
    folderId: "123456789012",
    billingAccount: "01ABCD-23EF45-6789AB",
    owner: "platform",
    costCenter: "cc-1234",
    invokers: ["group:gateway-dev@acme.example"],
    alertEmails: ["oncall@acme.example"],
  },
  prod: {
    projectId: "acme-ggw-prod",
    folderId: "123456789013",
    billingAccount: "01ABCD-23EF45-6789AB",
    owner: "platform",
    costCenter: "cc-1234",
    invokers: ["group:gateway-clients@acme.example"],
    alertEmails: ["oncall@acme.example"],
    domain: "gateway.acme.example",
  },
};

/** The bootstrap's outputs once it was run for these projects. */
const realBootstrap = (): Record<string, unknown> => {
  const text = JSON.stringify(OFFLINE_BOOTSTRAP_OUTPUTS)
    .replace(/replace-with-seed-project-id/g, "acme-ggw-seed")
    .replace(/replace-with-(dev|prod)-project-id/g, "acme-ggw-$1");
  return JSON.parse(text) as Record<string, unknown>;
};

/** The stack's config as the program reads it: `key` → string, without the namespace. */
function rawConfig(stack: StackName, overrides: Record<string, unknown> = {}): Record<string, string> {
  return Object.fromEntries(
    Object.entries(stackConfig(stack, { config: overrides }))
      .filter(([k]) => k.startsWith("gemini-gateway:"))
      .map(([k, v]) => [k.slice("gemini-gateway:".length), v]),
  );
}

const problems = (raw: Record<string, string>) => {
  try {
    loadStackConfig(raw, { GGW_ALLOW_PLACEHOLDERS: "1" });
    return "";
  } catch (err) {
    expect(err).toBeInstanceOf(StackConfigError);
    return (err as Error).message;
  }
};

describe("placeholders", () => {
  it.each(["dev", "prod"] as StackName[])(
    "a real run of %s refuses them, naming every key that still holds one",
    async (stack) => {
      const error = (await runProgram(stack, { allowPlaceholders: false }).catch((e: unknown) => e)) as Error;
      expect(error).toBeInstanceOf(StackConfigError);
      const message = (error as Error).message;
      expect(message).toMatch(/still holds placeholders/);
      for (const key of Object.keys(REAL[stack])) {
        expect(message).toContain(`gemini-gateway:${key}${Array.isArray(REAL[stack][key]) ? "[0]" : ""} =`);
      }
      expect(message).toContain("GGW_ALLOW_PLACEHOLDERS=1");
    },
  );

  it.each(["dev", "prod"] as StackName[])("%s runs without the switch once real values are set", async (stack) => {
    const run = await runProgram(stack, { allowPlaceholders: false, config: REAL[stack], bootstrap: realBootstrap() });
    expect(run.outputs.projectId).toBe(REAL[stack].projectId);
    expect(JSON.stringify(run.resources)).not.toMatch(/replace[_-]with[_-]/i);
  });
});

describe("the bootstrap's outputs", () => {
  it("refuse a stack whose project the bootstrap did not prepare (its deployer's roles are on that folder)", async () => {
    const error = (await runProgram("dev", { config: REAL.dev }).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(StackConfigError);
    expect(error.message).toMatch(
      /projectId: is acme-ggw-dev, but the bootstrap stack organization\/gemini-gateway-bootstrap\/bootstrap prepared replace-with-dev-project-id/,
    );
  });

  it("refuse a missing or incomplete bootstrap, saying to run it first", async () => {
    const error = (await runProgram("prod", { bootstrap: {} }).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(StackConfigError);
    expect(error.message).toMatch(/does not have the outputs this stack needs/);
    expect(error.message).toMatch(/Run `pulumi up` in infra\/bootstrap first/);
  });
});

describe("the bootstrap's configuration", () => {
  const raw = () =>
    Object.fromEntries(
      Object.entries(stackConfig("bootstrap")).map(([k, v]) => [k.replace(/^gemini-gateway-bootstrap:/, ""), v]),
    );

  it("refuses placeholders in a real run, naming each key", () => {
    expect(() => loadBootstrapConfig(raw(), {})).toThrow(/gemini-gateway-bootstrap:githubRepositoryId = /);
    expect(() => loadBootstrapConfig(raw(), { GGW_ALLOW_PLACEHOLDERS: "1" })).not.toThrow();
  });

  it("wants numeric repository and owner ids, and one folder per environment", () => {
    const parsed = BootstrapConfigSchema.safeParse({
      ...raw(),
      githubRepositoryId: "acme/gemini-gateway",
      devFolderId: "123456789",
      prodFolderId: "123456789",
    });
    expect(parsed.success).toBe(false);
    const messages = parsed.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    expect(messages).toContain("githubRepositoryId: must be a numeric repository id");
    expect(messages).toContainEqual(expect.stringMatching(/^prodFolderId: must differ from devFolderId/));
  });
});

describe("validation", () => {
  it("accepts both stack files", () => {
    expect(problems(rawConfig("dev"))).toBe("");
    expect(problems(rawConfig("prod"))).toBe("");
  });

  it("lists every bad key in one message", () => {
    const message = problems({
      ...rawConfig("dev"),
      regions: JSON.stringify(["europe-west4", "Europe West"]),
      minInstances: "9",
      maxInstances: "4",
      invokers: JSON.stringify(["allUsers"]),
      tenantsSecretVersion: "latest",
      capacity: '{"models":[{"model":"gemini-2.5-flash"}]}',
      regionz: "europe-west4",
    });
    expect(message).toMatch(/^Invalid stack configuration:/);
    expect(message).toContain("gemini-gateway:regions[1]: must be a region");
    expect(message).toContain("gemini-gateway:minInstances: is above maxInstances (4)");
    expect(message).toContain("gemini-gateway:invokers[0]: public invokers are not allowed");
    expect(message).toContain(
      'gemini-gateway:tenantsSecretVersion: must be a version number (pinned; "latest" is refused)',
    );
    expect(message).toContain("gemini-gateway:capacity:");
    expect(message).toContain("requestsPerMinute, tokensPerMinute or both");
    expect(message).toContain("gemini-gateway:regionz: unknown key");
  });

  it("names missing required keys", () => {
    const raw = rawConfig("dev");
    delete raw.budgetAmount;
    delete raw.alertEmails;
    const message = problems(raw);
    expect(message).toContain("gemini-gateway:budgetAmount: is required");
    expect(message).toContain("gemini-gateway:alertEmails: is required");
  });

  it("holds prod to its invariants", () => {
    const message = problems(
      rawConfig("prod", {
        deletionProtection: false,
        minInstances: 0,
        redisTier: "BASIC",
        regions: ["europe-west4"],
        domain: "",
        image: "gateway:latest",
      }),
    );
    for (const line of [
      "deletionProtection: must be true in prod",
      "minInstances: must be at least 1 in prod",
      "redisTier: must be STANDARD_HA in prod",
      "regions: prod runs in two regions",
      "domain: is required in prod",
      "image: must be pinned by digest in prod",
    ]) {
      expect(message).toContain(`gemini-gateway:${line}`);
    }
  });

  it("takes SLO latency thresholds only at a bucket bound of the histogram, and targets below 100%", () => {
    const message = problems(
      rawConfig("dev", { sloOverheadMs: 30, sloFirstTokenMs: 3000, sloAvailabilityPercent: "100" }),
    );
    expect(message).toContain("gemini-gateway:sloOverheadMs: must be a bucket bound of gateway_overhead_seconds in ms");
    expect(message).toContain("gemini-gateway:sloFirstTokenMs: must be a bucket bound of gateway_time_to_first_token");
    expect(message).toContain("gemini-gateway:sloAvailabilityPercent: must be below 100");
  });

  it("needs a domain for more than one region, and exactly one of folderId and orgId", () => {
    const message = problems(rawConfig("dev", { regions: ["europe-west4", "europe-west1"], orgId: "1234567" }));
    expect(message).toContain("gemini-gateway:domain: is required with more than one region");
    expect(message).toContain("gemini-gateway:folderId: set exactly one of folderId and orgId");
  });
});

describe("declarations", () => {
  const project = yaml.load(read("Pulumi.yaml")) as {
    runtime: { options: Record<string, unknown> };
    main: string;
    config: Record<string, { type: string; description?: string; default?: unknown }>;
  };

  it("Pulumi.yaml declares exactly the keys the schema reads, each typed and described", () => {
    expect(Object.keys(project.config).sort()).toEqual([...CONFIG_KEYS].sort());
    for (const [key, decl] of Object.entries(project.config)) {
      expect(["string", "integer", "boolean", "array"], key).toContain(decl.type);
      expect(decl.description?.length ?? 0, key).toBeGreaterThan(10);
    }
    expect(project.runtime.options).toMatchObject({ typescript: false, nodeargs: "--import tsx" });
    expect(project.main).toBe("infra/");
  });

  it.each(["dev", "prod"] as StackName[])(
    "Pulumi.%s.yaml sets every key without a default, and holds no secret",
    (stack) => {
      const file = yaml.load(read(`Pulumi.${stack}.yaml`)) as { config: Record<string, unknown> };
      const keys = Object.keys(file.config).map((k) => k.replace(/^gemini-gateway:/, ""));
      for (const [key, decl] of Object.entries(project.config)) {
        if (!("default" in decl)) expect(keys, key).toContain(key);
      }
      for (const [key, value] of Object.entries(file.config)) {
        expect(key).toMatch(/^gemini-gateway:/);
        expect(value, key).not.toMatchObject({ secure: expect.anything() });
        expect(JSON.stringify(value), key).not.toMatch(/ggw_[A-Za-z0-9_-]{20,}|"[0-9a-f]{64}"|-----BEGIN/);
      }
    },
  );
});

describe("names shared with the service", () => {
  const metricsSource = read("service/src/telemetry/metrics.ts");
  const routesSource = read("service/src/surfaces/routes.ts");

  it("queries only metrics and label values the gateway registers", () => {
    for (const name of Object.values(GATEWAY_METRICS)) expect(metricsSource).toContain(`name: "${name}"`);
    expect(metricsSource).toContain(`"${METRIC_LABELS.outcomeRateLimited}"`);
    expect(metricsSource).toMatch(/code_class/);
  });

  it("sets SLO thresholds at the bucket bounds the gateway's histograms really have", async () => {
    const { registry } = createMetrics({ tenants: [], models: [] });
    const bounds = async (name: string) =>
      (registry.getSingleMetric(name) as unknown as { upperBounds: number[] }).upperBounds;
    expect(await bounds(GATEWAY_METRICS.overhead)).toEqual([...OVERHEAD_BUCKETS_SECONDS]);
    expect(await bounds(GATEWAY_METRICS.timeToFirstToken)).toEqual([...TTFT_BUCKETS_SECONDS]);
  });

  it("probes and pushes to the gateway's own paths", () => {
    expect(PATHS.budgetAlerts).toBe(BUDGET_ALERTS_PATH);
    expect(routesSource).toContain(`app.get("${PATHS.healthz}"`);
    expect(routesSource).toContain(`app.get("${PATHS.readyz}"`);
  });
});
