/**
 * The classic mistakes, as a naive program would make them, each reported by the rule made for it: first as
 * hand-built resources, then declared with @pulumi/gcp under setMocks (the offline check's path) to show the
 * inputs a real program registers are read the same way.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { evaluate, type EvaluateResource, type Violation } from "../../policies/lib/evaluate.js";
import { T } from "../../policies/lib/types.js";

/** Mistake → the rule that must report it, and the resource it must name (null: the stack). */
const EXPECTED: { mistake: string; rule: string; resource: string | null }[] = [
  { mistake: "public invoker (allUsers) on Cloud Run", rule: "iam-no-public-principals", resource: "public-invoker" },
  { mistake: "default compute service account", rule: "cloud-run-dedicated-service-account", resource: "gateway" },
  { mistake: "user-managed service account key", rule: "iam-no-service-account-keys", resource: "deploy-key" },
  { mistake: "Redis without AUTH or TLS", rule: "redis-auth-and-tls", resource: "cache" },
  { mistake: "a secret in a plain env var", rule: "cloud-run-no-plaintext-secrets", resource: "gateway" },
  { mistake: "Cloud Run with no max instances", rule: "cloud-run-scaling-bounds", resource: "gateway" },
  { mistake: "primitive role on the project", rule: "iam-no-primitive-or-admin-roles", resource: "team-editor" },
  { mistake: "no budget", rule: "budget-configured", resource: null },
];

const naiveProgram = (): EvaluateResource[] => [
  {
    type: T.cloudRunService,
    name: "gateway",
    inputs: {
      location: "us-central1",
      template: {
        containers: [
          {
            image: "us-central1-docker.pkg.dev/naive-project/apps/gateway:latest",
            envs: [
              { name: "API_KEY", value: "AIzaSyA-literal-key-in-plain-sight-000000" },
              { name: "GATEWAY_UPSTREAM", value: "vertex" },
            ],
          },
        ],
      },
    },
  },
  {
    type: T.cloudRunServiceIamMember,
    name: "public-invoker",
    inputs: { location: "us-central1", name: "gateway", role: "roles/run.invoker", member: "allUsers" },
  },
  { type: T.serviceAccount, name: "deployer", inputs: { accountId: "deployer" } },
  { type: T.serviceAccountKey, name: "deploy-key", inputs: { serviceAccountId: "deployer" } },
  { type: T.redisInstance, name: "cache", inputs: { region: "us-central1", memorySizeGb: 1, tier: "BASIC" } },
  {
    type: T.projectIamMember,
    name: "team-editor",
    inputs: { project: "naive-project", role: "roles/editor", member: "group:team@example.com" },
  },
];

function expectEachMistakeReported(violations: Violation[]): void {
  for (const e of EXPECTED) {
    const hit = violations.find((v) => v.policy === e.rule && v.resourceName === e.resource);
    expect(hit, `${e.mistake} → ${e.rule} on ${String(e.resource)}`).toBeDefined();
    expect(hit?.enforcementLevel, `${e.rule} blocks the deployment`).toBe("mandatory");
  }
}

describe("classic mistakes", () => {
  it("each mistake is reported by the rule made for it", () => {
    const violations = evaluate(naiveProgram(), { environment: "dev" });
    expectEachMistakeReported(violations);
    // The mistakes are precise: the public invoker is not blamed on the service, the key not on the account, ...
    expect(violations.filter((v) => v.policy === "iam-no-service-account-keys").map((v) => v.resourceName)).toEqual([
      "deploy-key",
    ]);
    expect(violations.filter((v) => v.policy === "redis-auth-and-tls").map((v) => v.message)).toEqual([
      expect.stringMatching(/AUTH disabled/),
      expect.stringMatching(/not encrypted/),
    ]);
  });

  it("the same mistakes declared with @pulumi/gcp under setMocks are reported the same way", async () => {
    const registered: EvaluateResource[] = [];
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          registered.push({
            type: args.type,
            name: args.name,
            urn: `urn:pulumi:dev::gemini-gateway::${args.type}::${args.name}`,
            inputs: args.inputs as Record<string, unknown>,
            ...(args.provider ? { provider: args.provider } : {}),
          });
          return {
            id: `${args.name}-id`,
            state: { ...args.inputs, email: `${args.name}@naive-project.iam.gserviceaccount.com` },
          };
        },
        call: (args) => args.inputs,
      },
      "gemini-gateway",
      "dev",
      true,
    );
    const service = new gcp.cloudrunv2.Service("gateway", {
      location: "us-central1",
      template: {
        containers: [
          {
            image: "us-central1-docker.pkg.dev/naive-project/apps/gateway:latest",
            envs: [
              { name: "API_KEY", value: "AIzaSyA-literal-key-in-plain-sight-000000" },
              { name: "GATEWAY_UPSTREAM", value: "vertex" },
            ],
          },
        ],
      },
    });
    const invoker = new gcp.cloudrunv2.ServiceIamMember("public-invoker", {
      location: "us-central1",
      name: service.name,
      role: "roles/run.invoker",
      member: "allUsers",
    });
    const deployer = new gcp.serviceaccount.Account("deployer", { accountId: "deployer" });
    const key = new gcp.serviceaccount.Key("deploy-key", { serviceAccountId: deployer.name });
    const cache = new gcp.redis.Instance("cache", { region: "us-central1", memorySizeGb: 1, tier: "BASIC" });
    const editor = new gcp.projects.IAMMember("team-editor", {
      project: "naive-project",
      role: "roles/editor",
      member: "group:team@example.com",
    });
    await Promise.all(
      [service, invoker, deployer, key, cache, editor].map((r) => new Promise((resolve) => r.urn.apply(resolve))),
    );
    expect(registered.map((r) => r.type)).toContain(T.cloudRunService);
    expectEachMistakeReported(evaluate(registered, { environment: "dev" }));
  });
});
