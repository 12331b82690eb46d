/**
 * The pack's package.json and per-environment config files. How the CLI loads and runs the pack is tested through its
 * own loader in analyzer.process.test.ts.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { evaluate } from "../../policies/lib/evaluate.js";
import { allPolicies } from "../../policies/rules/index.js";

const file = (p: string) => readFileSync(fileURLToPath(new URL(`../../policies/${p}`, import.meta.url)), "utf8");

describe("packaging", () => {
  it("package.json: the pack's dependencies are the ones the repository installs (what `pulumi install` would get)", () => {
    const pkg = JSON.parse(file("package.json")) as { dependencies: Record<string, string> };
    const root = JSON.parse(readFileSync("package.json", "utf8")) as { devDependencies: Record<string, string> };
    for (const [name, range] of Object.entries(pkg.dependencies)) expect(range, name).toBe(root.devDependencies[name]);
  });

  for (const env of ["dev", "prod"]) {
    it(`config/${env}.json sets environment on every environment-aware rule and is valid pack config`, () => {
      const config = JSON.parse(file(`config/${env}.json`)) as Record<string, Record<string, unknown>>;
      const aware = allPolicies.filter((p) => "environment" in p.configSchema.properties).map((p) => p.name);
      expect(Object.keys(config).sort()).toEqual([...aware].sort());
      for (const name of aware) expect(config[name]).toEqual({ environment: env });
      expect(() => evaluate([], config)).not.toThrow();
    });
  }

  it("config/bootstrap.json: the seed stack's environment, and the deployer's admin roles allowed by name", async () => {
    const { APPLY_ROLES } = await import("../../infra/bootstrap/roles.js");
    const config = JSON.parse(file("config/bootstrap.json")) as Record<string, Record<string, unknown>>;
    const aware = allPolicies.filter((p) => "environment" in p.configSchema.properties).map((p) => p.name);
    for (const name of aware) expect(config[name]).toEqual({ environment: "bootstrap" });
    const admin = APPLY_ROLES.map((r) => r.role).filter((r) => /admin$/i.test(r.split("/").pop()!));
    expect(config["iam-no-primitive-or-admin-roles"]).toEqual({ allowedRoles: [...new Set(admin)].sort() });
    expect(Object.keys(config).sort()).toEqual([...aware, "iam-no-primitive-or-admin-roles"].sort());
    expect(() => evaluate([], config)).not.toThrow();
  });
});
