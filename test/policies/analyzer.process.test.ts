/**
 * The policy pack under the Pulumi CLI's own loader: started as `pulumi-analyzer-policy` starts it (run-policy-pack,
 * the pack folder as cwd, require() of package.json's `main`), then driven over gRPC as the engine drives it during
 * `pulumi preview --policy-pack policies`. A pack the CLI cannot load fails here, not on a user's first preview.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allPolicies } from "../../policies/rules/index.js";
import { T } from "../../policies/lib/types.js";
import { AnalyzerClient, startPolicyPack, type PackProcess } from "../support/analyzer.js";
import { referenceStack, remove, resource, set } from "./fixtures.js";

const PACK_DIR = fileURLToPath(new URL("../../policies/", import.meta.url));
const packageJson = JSON.parse(readFileSync(`${PACK_DIR}package.json`, "utf8")) as { version: string };
/** The stack's gcp provider: its defaultLabels are what the label rules count. */
const providerOf = (stack: ReturnType<typeof referenceStack>) => stack.find((r) => r.type === T.gcpProvider)!;
const packConfig = (env: string) =>
  JSON.parse(readFileSync(`${PACK_DIR}config/${env}.json`, "utf8")) as Record<string, Record<string, unknown>>;

let pack: PackProcess;
let client: AnalyzerClient;

beforeAll(async () => {
  pack = await startPolicyPack(PACK_DIR);
  client = new AnalyzerClient(pack.port);
});

afterAll(async () => {
  client?.close();
  await pack?.stop();
});

describe("the policy pack under run-policy-pack (as `pulumi preview --policy-pack policies` starts it)", () => {
  it("GetAnalyzerInfo: the pack's name, package.json's version and every guardrail, in order", async () => {
    const info = await client.info();
    expect(info.name).toBe("gemini-gateway-guardrails");
    expect(info.version).toBe(packageJson.version);
    expect(info.policies).toEqual(allPolicies.map((p) => p.name));
  });

  it("Analyze: every resource of a compliant prod stack gets no diagnostic", async () => {
    const stack = referenceStack("prod");
    expect(stack.length).toBeGreaterThan(20);
    for (const r of stack) expect(await client.analyze(r, providerOf(stack)), r.name).toEqual([]);
  });

  it("Analyze: a violating resource gets its rule's diagnostic, mandatory where the rule is", async () => {
    const key = { type: T.serviceAccountKey, name: "ci-key", inputs: { serviceAccountId: "ci" } };
    const diagnostics = await client.analyze(key);
    expect(diagnostics.map((d) => d.policy)).toEqual(["iam-no-service-account-keys"]);
    // (Analyze diagnostics carry no URN: the engine knows which resource it asked about.)
    const rule = allPolicies.find((p) => p.name === "iam-no-service-account-keys")!;
    expect(diagnostics[0]).toMatchObject({ mandatory: true, message: expect.stringContaining(rule.description) });

    const stack = referenceStack("prod");
    const redis = resource(stack, "redis");
    set(redis, "transitEncryptionMode", "DISABLED");
    expect((await client.analyze(redis, providerOf(stack))).map((d) => d.policy)).toEqual(["redis-auth-and-tls"]);
  });

  it("AnalyzeStack: the stack rules run over the whole stack", async () => {
    const clean = referenceStack("prod");
    expect(await client.analyzeStack(clean, providerOf(clean))).toEqual([]);
    const stack = referenceStack("prod");
    remove(stack, "budget");
    const diagnostics = await client.analyzeStack(stack, providerOf(stack));
    expect(diagnostics.map((d) => d.policy)).toContain("budget-configured");
    expect(diagnostics.find((d) => d.policy === "budget-configured")!.mandatory).toBe(true);
  });

  it("Configure: policies/config/<env>.json decides the prod-only rules, as --policy-pack-config does", async () => {
    const stack = referenceStack("prod");
    const redis = resource(stack, "redis");
    set(redis, "tier", "BASIC");
    await client.configure(packConfig("dev"), "advisory");
    expect(await client.analyze(redis, providerOf(stack))).toEqual([]);
    await client.configure(packConfig("prod"), "mandatory");
    const diagnostics = await client.analyze(redis, providerOf(stack));
    expect(diagnostics.map((d) => d.policy)).toEqual(["redis-ha-in-prod"]);
    expect(diagnostics[0]!.mandatory).toBe(true);
  });

  it("wrote nothing to stderr while serving", () => {
    expect(pack.stderr()).toBe("");
  });
});
