/**
 * `npm run check` as CI and operators run it: a child process, no credentials. The real stacks pass with no mandatory
 * violation; a naive program with the classic mistakes fails with each one reported by its rule; `--promote` prints
 * the PR markdown; bad usage exits 2.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

const run = (...args: string[]) => {
  const r = spawnSync("npx", ["tsx", "policies/check/cli.ts", ...args], { encoding: "utf8", timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

interface Report {
  stack: string;
  resources: { type: string; name: string; inputs: Record<string, unknown> }[];
  violations: {
    policy: string;
    severity: string;
    enforcementLevel: string;
    resourceType: string | null;
    resourceName: string | null;
    message: string;
  }[];
}

describe("npm run check", () => {
  it.each([
    ["dev", "gcp:cloudrunv2/service:Service"],
    ["prod", "gcp:cloudrunv2/service:Service"],
    ["bootstrap", "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider"],
  ])("passes the %s stack with no mandatory violation, in the stable JSON form", (stack, type) => {
    const r = run("--stack", stack, "--format", "json");
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out) as Report;
    expect(report.stack).toBe(stack);
    expect(report.resources.some((x) => x.type === type)).toBe(true);
    expect(report.violations.filter((v) => v.enforcementLevel === "mandatory")).toEqual([]);
    for (const v of report.violations) {
      expect(Object.keys(v)).toEqual(
        expect.arrayContaining(["policy", "severity", "enforcementLevel", "resourceType", "resourceName", "message"]),
      );
    }
  });

  it("refuses a program with the classic mistakes, each reported by the right rule", () => {
    const r = run("--stack", "dev", "--program", "test/policies/fixtures/naive-program", "--format", "json");
    expect(r.code).toBe(1);
    const mandatory = (JSON.parse(r.out) as Report).violations.filter((v) => v.enforcementLevel === "mandatory");
    const pairs = mandatory.map((v) => `${v.policy} ${v.resourceName ?? "(stack)"}`);
    expect(pairs).toEqual(
      expect.arrayContaining([
        "iam-no-public-principals public-invoker",
        "cloud-run-dedicated-service-account gateway",
        "iam-no-service-account-keys deploy-key",
        "redis-auth-and-tls cache",
        "cloud-run-no-plaintext-secrets gateway",
        "cloud-run-scaling-bounds gateway",
        "iam-no-primitive-or-admin-roles team-editor",
        "budget-configured (stack)",
      ]),
    );
    const text = run("--stack", "dev", "--program", "test/policies/fixtures/naive-program");
    expect(text.out).toMatch(/\[mandatory\] redis-auth-and-tls .*\n.*\n\s+fix: /);
  });

  it("prints what promoting dev to prod changes, as markdown for a PR comment", () => {
    const r = run("--promote", "dev", "prod");
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^## Promotion dev → prod/m);
    expect(r.out).toMatch(/### Only in prod \(\d+\)[\s\S]*gcp:compute\/globalForwardingRule:GlobalForwardingRule/);
    expect(r.out).toMatch(/### Changed[\s\S]*tier[^\n]*BASIC[^\n]*STANDARD_HA/);
    expect(r.out).toMatch(/### Policy check \(dev\)[\s\S]*### Policy check \(prod\)/);
  });

  it("reads another stack file with --config", () => {
    const forwardingRules = (args: string[]) =>
      (JSON.parse(run(...args, "--format", "json").out) as Report).resources.filter(
        (x) => x.type === "gcp:compute/globalForwardingRule:GlobalForwardingRule",
      ).length;
    expect(forwardingRules(["--stack", "dev"])).toBe(0);
    expect(forwardingRules(["--stack", "dev", "--config", "Pulumi.prod.yaml"])).toBeGreaterThan(0);
  });

  it("explains bad usage and exits 2", () => {
    expect(run("--stack", "staging").code).toBe(2);
    expect(run("--stack", "prod", "--format", "yaml").err).toMatch(/--format must be text, markdown or json/);
    expect(run("--promote", "dev", "bootstrap").code).toBe(2);
    expect(run("--promote", "dev").code).toBe(2);
  });
});
