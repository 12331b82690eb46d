/** Every rule has compliant and violating cases, and the reference stacks pass the whole pack. */
import { describe, expect, it } from "vitest";
import { evaluate } from "../../policies/lib/evaluate.js";
import { allPolicies } from "../../policies/rules/index.js";
import { cloudRunCases } from "./cases/cloud-run.js";
import { dataCases } from "./cases/data.js";
import { gatewayCases } from "./cases/gateway.js";
import { identityCases } from "./cases/identity.js";
import { projectCases } from "./cases/project.js";
import { stackCases } from "./cases/stack.js";
import { referenceStack } from "./fixtures.js";

const cases = [...identityCases, ...cloudRunCases, ...dataCases, ...projectCases, ...stackCases, ...gatewayCases];

describe("rule coverage", () => {
  it("every rule has at least one compliant and one violating case, and no case names an unknown rule", () => {
    const names = allPolicies.map((p) => p.name);
    for (const name of names) {
      const c = cases.find((x) => x.rule === name);
      expect(c, `cases for ${name}`).toBeDefined();
      expect(c?.compliant.length, `compliant cases for ${name}`).toBeGreaterThan(0);
      expect(c?.violating.length, `violating cases for ${name}`).toBeGreaterThan(0);
    }
    for (const c of cases) expect(names).toContain(c.rule);
    expect(new Set(cases.map((c) => c.rule)).size).toBe(cases.length);
  });

  it("rule names are unique, kebab-case, and not the reserved name all", () => {
    const names = allPolicies.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
    expect(names).not.toContain("all");
  });

  it("every rule has a description, rationale, remediation, severity, enforcement and config defaults", () => {
    for (const p of allPolicies) {
      expect(p.description.length, p.name).toBeGreaterThan(20);
      expect(p.rationale.length, p.name).toBeGreaterThan(20);
      expect(p.remediationSteps.length, p.name).toBeGreaterThan(20);
      expect(["low", "medium", "high", "critical"]).toContain(p.severity);
      expect(["mandatory", "advisory"]).toContain(p.enforcementLevel);
      if (p.severity === "critical") expect(p.enforcementLevel, `${p.name} is critical`).toBe("mandatory");
      expect(p.configSchema.properties).not.toHaveProperty("enforcementLevel");
      for (const [key, prop] of Object.entries(p.configSchema.properties)) {
        expect(prop.default, `${p.name}.${key} default`).toBeDefined();
        expect(prop.description, `${p.name}.${key} description`).toBeTruthy();
      }
    }
  });

  for (const env of ["prod", "dev"] as const) {
    it(`the ${env} reference stack passes every rule`, () => {
      expect(evaluate(referenceStack(env), { environment: env })).toEqual([]);
    });
  }
});
