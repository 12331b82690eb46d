/**
 * The pack's entry point and packaging. The analyzer cannot be started here (no CLI), so: the entry file is checked
 * statically, then imported with PolicyPack replaced by a recorder to see exactly what it constructs.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it, vi } from "vitest";
import type { PolicyPackArgs } from "@pulumi/policy";
import { evaluate } from "../../policies/lib/evaluate.js";
import { allPolicies } from "../../policies/rules/index.js";

const constructed: { name: string; args: PolicyPackArgs }[] = [];

vi.mock("@pulumi/policy", async (importOriginal) => {
  const actual = await importOriginal<typeof import("@pulumi/policy")>();
  class RecordingPolicyPack {
    constructor(name: string, args: PolicyPackArgs) {
      constructed.push({ name, args });
    }
  }
  return { ...actual, PolicyPack: RecordingPolicyPack };
});

const file = (p: string) => readFileSync(fileURLToPath(new URL(`../../policies/${p}`, import.meta.url)), "utf8");

describe("policies/index.ts", () => {
  const source = file("index.ts");

  it("imports only @pulumi/policy and ./rules, and constructs exactly one PolicyPack", () => {
    const imports = [...source.matchAll(/^import\s[\s\S]*?from\s+"([^"]+)";/gm)].map((m) => m[1]);
    expect(imports.sort()).toEqual(["./rules/index.js", "@pulumi/policy"]);
    expect(source.match(/new PolicyPack\(/g)).toHaveLength(1);
    // Nothing else at the top level: no exports, no other statements than the imports and the constructor call.
    const code = source
      .replace(/\/\/.*$/gm, "")
      .replace(/^import\s[\s\S]*?;\s*$/gm, "")
      .trim();
    expect(code.startsWith("new PolicyPack(")).toBe(true);
    expect(code.endsWith("});")).toBe(true);
    expect(code).not.toMatch(/^export /m);
  });

  it("constructs gemini-gateway-guardrails with every rule, once", async () => {
    await import("../../policies/index.js");
    expect(constructed).toHaveLength(1);
    expect(constructed[0]?.name).toBe("gemini-gateway-guardrails");
    expect(constructed[0]?.name).toMatch(/^[a-zA-Z0-9-_.]{1,100}$/); // the analyzer's pack-name rule
    expect(constructed[0]?.args.policies.map((p) => p.name)).toEqual(allPolicies.map((p) => p.name));
    expect(constructed[0]?.args.enforcementLevel).toBe("advisory");
  });
});

describe("packaging", () => {
  it("package.json: name, version, ESM, main index.ts and the pinned dependencies", () => {
    const pkg = JSON.parse(file("package.json")) as Record<string, unknown>;
    expect(pkg["name"]).toBe("gemini-gateway-guardrails");
    expect(pkg["version"]).toMatch(/^\d+\.\d+\.\d+$/); // PolicyPack refuses to start without a version
    expect(pkg["type"]).toBe("module");
    expect(pkg["main"]).toBe("index.ts");
    expect(pkg["dependencies"]).toMatchObject({
      "@pulumi/policy": "^1.21.0",
      "@pulumi/pulumi": "3.248.0",
      "@pulumi/gcp": "^9.37.0",
    });
  });

  it("PulumiPolicy.yaml: nodejs runtime, no built-in TypeScript, tsx as the ESM loader", () => {
    const yaml = file("PulumiPolicy.yaml");
    expect(yaml).toMatch(/^runtime:\n {2}name: nodejs\n {2}options:\n/m);
    expect(yaml).toMatch(/^ {4}typescript: false$/m);
    expect(yaml).toMatch(/^ {4}nodeargs: "--import tsx"$/m);
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
});
