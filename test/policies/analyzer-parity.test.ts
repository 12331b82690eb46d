/**
 * evaluate() must agree with the real analyzer. Without the CLI the gRPC server cannot be reached, but its request
 * handlers can: @pulumi/policy's server.js exports the `analyze` / `analyzeStack` implementations the CLI calls.
 * Feeding them protobuf requests built from the same resources must yield the same violations as evaluate().
 * (No `configure` call happens, so rules see an empty config: this also checks that they apply their own defaults.)
 */
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import type { Guardrail } from "../../policies/lib/types.js";
import { evaluate, type EvaluateResource } from "../../policies/lib/evaluate.js";
import { allPolicies } from "../../policies/rules/index.js";
import { T } from "../../policies/lib/types.js";
import { referenceStack, resource, set, setEnv, unset } from "./fixtures.js";

const require = createRequire(import.meta.url);

interface Diagnostic {
  getPolicyname(): string;
  getMessage(): string;
  getUrn(): string;
}
interface Response {
  getDiagnosticsList(): Diagnostic[];
}
type Rpc = (call: { request: unknown }, callback: (err: unknown, resp?: Response) => void) => Promise<void>;
interface Server {
  makeAnalyzeRpcFun(name: string, version: string, level: string, policies: readonly Guardrail[]): Rpc;
  makeAnalyzeStackRpcFun(name: string, version: string, level: string, policies: readonly Guardrail[]): Rpc;
}
interface Message {
  [setter: string]: (v: unknown) => void;
}
type Ctor = new () => Message;

const server = require("@pulumi/policy/server.js") as Server;
const proto = require("@pulumi/pulumi/proto/analyzer_pb.js") as Record<string, Ctor>;
const { Struct } = require("google-protobuf/google/protobuf/struct_pb.js") as {
  Struct: { fromJavaScript(v: unknown): unknown };
};

function msg(name: string, fields: Record<string, unknown>): Message {
  const m = new (proto[name] as Ctor)();
  for (const [k, v] of Object.entries(fields)) {
    const setter = m[`set${k}`];
    if (!setter) throw new Error(`${name} has no set${k}`);
    setter.call(m, v);
  }
  return m;
}

function call(rpc: Rpc, request: unknown): Promise<Diagnostic[]> {
  return new Promise((resolve, reject) => {
    void rpc({ request }, (err, resp) => (err ? reject(err as Error) : resolve(resp?.getDiagnosticsList() ?? [])));
  });
}

function withUrns(resources: EvaluateResource[]): EvaluateResource[] {
  const urn = (r: { type: string; name: string }) => `urn:pulumi:prod::gemini-gateway::${r.type}::${r.name}`;
  const byName = new Map(resources.map((r) => [r.name, urn(r)]));
  const urns = (refs: readonly string[] = []) => refs.map((d) => byName.get(d) ?? d);
  return resources.map((r) => ({
    ...r,
    urn: urn(r),
    dependencies: urns(r.dependencies),
    propertyDependencies: Object.fromEntries(
      Object.entries(r.propertyDependencies ?? {}).map(([k, v]) => [k, urns(v)]),
    ),
  }));
}

async function analyzer(resources: EvaluateResource[]): Promise<string[]> {
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const gcpProvider = resources.find((r) => r.type === T.gcpProvider);
  const providerOf = (r: EvaluateResource) =>
    gcpProvider && r.type.startsWith("gcp:")
      ? msg("AnalyzerProviderResource", {
          Type: gcpProvider.type,
          Name: gcpProvider.name,
          Urn: gcpProvider.urn,
          Properties: Struct.fromJavaScript(gcpProvider.inputs),
        })
      : undefined;
  const common = (r: EvaluateResource) => ({
    Type: r.type,
    Name: r.name,
    Urn: r.urn,
    Properties: Struct.fromJavaScript(JSON.parse(JSON.stringify(r.inputs))),
    Options: msg("AnalyzerResourceOptions", {}),
    ...(providerOf(r) ? { Provider: providerOf(r) } : {}),
  });
  const out: string[] = [];
  const analyze = server.makeAnalyzeRpcFun("gemini-gateway-guardrails", "0.1.0", "advisory", allPolicies);
  for (const r of resources) {
    for (const d of await call(analyze, msg("AnalyzeRequest", common(r)))) {
      out.push(`${d.getPolicyname()} | ${r.name} | ${d.getMessage()}`);
    }
  }
  const analyzeStack = server.makeAnalyzeStackRpcFun("gemini-gateway-guardrails", "0.1.0", "advisory", allPolicies);
  // As the engine sends a stack: each resource with the URNs it depends on.
  const request = msg("AnalyzeStackRequest", {
    ResourcesList: resources.map((r) =>
      msg("AnalyzerResource", { ...common(r), DependenciesList: [...(r.dependencies ?? [])] }),
    ),
  });
  for (const d of await call(analyzeStack, request)) {
    out.push(`${d.getPolicyname()} | ${byUrn.get(d.getUrn())?.name ?? "(stack)"} | ${d.getMessage()}`);
  }
  return out.sort();
}

function offline(resources: EvaluateResource[]): string[] {
  return evaluate(resources)
    .map((v) => `${v.policy} | ${v.resourceName ?? "(stack)"} | ${v.message}`)
    .sort();
}

/** The analyzer prefixes each message with the policy description; compare the message part only. */
function stripDescription(lines: string[]): string[] {
  return lines.map((l) => {
    const [policy, name, ...rest] = l.split(" | ");
    const description = allPolicies.find((p) => p.name === policy)?.description ?? "";
    const message = rest.join(" | ");
    return `${policy} | ${name} | ${message.startsWith(description) ? message.slice(description.length).trim() : message}`;
  });
}

describe("parity with @pulumi/policy's analyzer", () => {
  it("a clean prod stack: no diagnostics either way", async () => {
    const rs = withUrns(referenceStack("prod"));
    expect(await analyzer(rs)).toEqual([]);
    expect(offline(rs)).toEqual([]);
  });

  it("a stack with a dozen mistakes: the same violations", async () => {
    const rs = referenceStack("prod");
    set(resource(rs, "gateway"), "ingress", "INGRESS_TRAFFIC_ALL");
    unset(resource(rs, "gateway"), "template.scaling.maxInstanceCount");
    setEnv(rs, "API_KEY", "literal");
    set(resource(rs, "push-invokes-gateway"), "member", "allUsers");
    set(resource(rs, "redis"), "tier", "BASIC");
    set(resource(rs, "redis"), "transitEncryptionMode", "DISABLED");
    set(resource(rs, "secret-tenants"), "replication", { auto: {} });
    set(resource(rs, "project"), "autoCreateNetwork", true);
    set(resource(rs, "budget"), "thresholdRules", [{ thresholdPercent: 1 }]);
    set(resource(rs, "prompt-template"), "filterConfig.piAndJailbreakFilterSettings.filterEnforcement", "DISABLED");
    rs.push({ type: T.serviceAccountKey, name: "key", inputs: { serviceAccountId: "x" } });
    rs.push({
      type: T.projectIamMember,
      name: "editor",
      inputs: { project: "p", role: "roles/editor", member: "user:a@example.com" },
    });
    const withU = withUrns(rs);
    const real = stripDescription(await analyzer(withU));
    const ours = offline(withU);
    expect(ours.length).toBeGreaterThanOrEqual(12);
    expect(real.map((l) => l.split(" | ").slice(0, 2).join(" | "))).toEqual(
      ours.map((l) => l.split(" | ").slice(0, 2).join(" | ")),
    );
    for (const [i, line] of ours.entries()) expect(real[i]).toContain(line.split(" | ").slice(2).join(" | "));
  });
});
