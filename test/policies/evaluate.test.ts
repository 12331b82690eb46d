/** The offline evaluation API: config resolution, the arguments rules receive, unknowns, errors. */
import * as gcp from "@pulumi/gcp";
import type { ResourceValidationArgs, StackValidationArgs } from "@pulumi/policy";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { evaluate, EvaluateConfigError, type EvaluateResource } from "../../policies/lib/evaluate.js";
import { T, type ResourceGuardrail, type StackGuardrail } from "../../policies/lib/types.js";
import { allPolicies } from "../../policies/rules/index.js";
import { referenceStack, resource, set, UNKNOWN_VALUE } from "./fixtures.js";

const service = (name: string, inputs: Record<string, unknown> = {}): EvaluateResource => ({
  type: T.cloudRunService,
  name,
  inputs: { location: "us-central1", template: { containers: [{ image: "x" }] }, ...inputs },
});

function probe(overrides: Partial<ResourceGuardrail> = {}): {
  policy: ResourceGuardrail;
  seen: ResourceValidationArgs[];
} {
  const seen: ResourceValidationArgs[] = [];
  const policy: ResourceGuardrail = {
    name: "test-probe",
    category: "project",
    description: "a probe",
    rationale: "tests",
    severity: "low",
    enforcementLevel: "advisory",
    remediationSteps: "none",
    configSchema: {
      properties: { limit: { type: "integer", default: 5 }, environment: { type: "string", default: "" } },
    },
    validateResource: (args, report) => {
      seen.push(args);
      if (args.name === "bad") report("bad resource");
    },
    ...overrides,
  };
  return { policy, seen };
}

describe("evaluate: violations", () => {
  it("returns the violation shape the offline check prints", () => {
    const rs = referenceStack("prod");
    set(resource(rs, "redis"), "authEnabled", false);
    const v = evaluate(rs, { environment: "prod" });
    expect(v).toEqual([
      {
        policy: "redis-auth-and-tls",
        severity: "critical",
        enforcementLevel: "mandatory",
        resourceType: T.redisInstance,
        resourceName: "redis",
        message: expect.stringContaining("AUTH disabled"),
        remediation: expect.stringContaining("authEnabled: true"),
      },
    ]);
  });

  it("maps a stack rule's urn to its resource, and reports the stack itself as null", () => {
    const rs = referenceStack("prod");
    set(resource(rs, "budget"), "thresholdRules", [{ thresholdPercent: 1 }]);
    rs.splice(rs.indexOf(resource(rs, "errors-alert")), 1);
    const v = evaluate(rs, { environment: "prod" });
    expect(v.find((x) => x.policy === "budget-configured")).toMatchObject({
      resourceType: T.budget,
      resourceName: "budget",
    });
    expect(v.find((x) => x.policy === "alert-policies-present")).toMatchObject({
      resourceType: null,
      resourceName: null,
    });
  });
});

describe("evaluate: config", () => {
  it("applies the schema defaults when no config is given", () => {
    const over = service("big", { template: { scaling: { maxInstanceCount: 60 }, maxInstanceRequestConcurrency: 80 } });
    const under = service("small", {
      template: { scaling: { maxInstanceCount: 40 }, maxInstanceRequestConcurrency: 80 },
    });
    const caps = allPolicies.filter((p) => p.name === "gateway-capacity-within-caps");
    expect(evaluate([over, under], undefined, caps).map((v) => v.resourceName)).toEqual(["big"]);
  });

  it("passes the merged config to getConfig: defaults < global keys < the rule's own entry", () => {
    const { policy, seen } = probe();
    evaluate([service("a")], {}, [policy]);
    expect(seen[0]?.getConfig()).toEqual({ limit: 5, environment: "" });
    evaluate([service("a")], { limit: 7, environment: "prod" }, [policy]);
    expect(seen[1]?.getConfig()).toEqual({ limit: 7, environment: "prod" });
    evaluate([service("a")], { limit: 7, "test-probe": { limit: 9 } }, [policy]);
    expect(seen[2]?.getConfig()).toEqual({ limit: 9, environment: "" });
  });

  it("honours enforcement levels: per rule, all, disabled, remediate → mandatory", () => {
    const { policy } = probe();
    const bad = [service("bad")];
    expect(evaluate(bad, {}, [policy])[0]?.enforcementLevel).toBe("advisory");
    expect(evaluate(bad, { all: "mandatory" }, [policy])[0]?.enforcementLevel).toBe("mandatory");
    expect(evaluate(bad, { all: "mandatory", "test-probe": "advisory" }, [policy])[0]?.enforcementLevel).toBe(
      "advisory",
    );
    expect(evaluate(bad, { "test-probe": { enforcementLevel: "remediate" } }, [policy])[0]?.enforcementLevel).toBe(
      "mandatory",
    );
    expect(evaluate(bad, { "test-probe": "disabled" }, [policy])).toEqual([]);
  });

  it("rejects unknown keys and ill-typed values", () => {
    expect(() => evaluate([], { maxInstance: 5 })).toThrow(EvaluateConfigError);
    expect(() => evaluate([], { maxInstances: "5" })).toThrow(/maxInstances must be integer/);
    expect(() => evaluate([], { maxInstances: 0 })).toThrow(/>= 1/);
    expect(() => evaluate([], { allowedRegions: ["us-central1", 3] })).toThrow(/allowedRegions\[1\]/);
    expect(() => evaluate([], { "redis-auth-and-tls": { foo: 1 } })).toThrow(/no config property "foo"/);
    expect(() => evaluate([], { "redis-auth-and-tls": "sometimes" })).toThrow(/enforcement level/);
    expect(() => evaluate([], { all: 3 })).toThrow(/enforcement level/);
  });

  it("accepts the pack's keys when evaluating a subset of it", () => {
    const redis = allPolicies.filter((p) => p.name === "redis-auth-and-tls");
    expect(() =>
      evaluate([], { environment: "prod", maxInstances: 3, "required-labels": "disabled" }, redis),
    ).not.toThrow();
  });
});

describe("evaluate: the arguments rules receive", () => {
  it("hands validateResource the analyzer's argument bag", () => {
    const { policy, seen } = probe();
    evaluate([service("a", { labels: { env: "x" } })], { environment: "prod" }, [policy]);
    const args = seen[0] as ResourceValidationArgs;
    expect(args.type).toBe(T.cloudRunService);
    expect(args.name).toBe("a");
    expect(args.urn).toBe(`urn:pulumi:prod::gemini-gateway::${T.cloudRunService}::a`);
    expect(args.props["location"]).toBe("us-central1");
    expect(args.opts).toMatchObject({ protect: false, ignoreChanges: [], aliases: [] });
    expect(args.isType(gcp.cloudrunv2.Service)).toBe(true);
    expect(args.isType(gcp.redis.Instance)).toBe(false);
    expect(args.asType(gcp.cloudrunv2.Service)?.location).toBe("us-central1");
    expect(args.asType(gcp.redis.Instance)).toBeUndefined();
    expect(() => args.notApplicable("nope")).toThrow();
    expect(args.stackTags.size).toBe(0);
  });

  it("keeps a given urn and links providers: explicit, or the only gcp provider", () => {
    const { policy, seen } = probe();
    const rs: EvaluateResource[] = [
      {
        type: T.gcpProvider,
        name: "p1",
        urn: "urn:pulumi:dev::x::pulumi:providers:gcp::p1",
        inputs: { region: "us-east4" },
      },
      { ...service("a"), urn: "urn:pulumi:dev::x::gcp:cloudrunv2/service:Service::a" },
    ];
    evaluate(rs, {}, [policy]);
    expect(seen[1]?.urn).toBe("urn:pulumi:dev::x::gcp:cloudrunv2/service:Service::a");
    expect(seen[1]?.provider).toMatchObject({ type: T.gcpProvider, name: "p1" });
    expect(seen[1]?.provider?.props["region"]).toBe("us-east4");

    seen.length = 0;
    rs.push({ type: T.gcpProvider, name: "p2", inputs: {} }, { ...service("b"), provider: "p2" });
    evaluate(rs, {}, [policy]);
    expect(seen.find((a) => a.name === "a")?.provider).toBeUndefined(); // two providers: no guessing
    expect(seen.find((a) => a.name === "b")?.provider?.name).toBe("p2");
  });

  it("hands validateStack every resource, with isType/asType and the rule's config", () => {
    let captured: StackValidationArgs | undefined;
    const stackProbe: StackGuardrail = {
      ...probe().policy,
      name: "test-stack-probe",
      validateStack: (args: StackValidationArgs) => {
        captured = args;
      },
    } as unknown as StackGuardrail;
    delete (stackProbe as { validateResource?: unknown }).validateResource;
    evaluate([service("a"), { type: T.redisInstance, name: "r", inputs: { tier: "BASIC" } }], { limit: 2 }, [
      stackProbe,
    ]);
    expect(captured?.resources.map((r) => r.name)).toEqual(["a", "r"]);
    expect(captured?.resources[1]?.isType(gcp.redis.Instance)).toBe(true);
    expect(captured?.resources[1]?.props["tier"]).toBe("BASIC");
    expect(captured?.getConfig()).toEqual({ limit: 2, environment: "" });
  });

  it("unwraps Pulumi secrets and resource references; turns Output objects into unknowns", () => {
    const { policy, seen } = probe();
    evaluate(
      [
        service("a", {
          secretish: { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: "plain" },
          ref: { "4dabf18193072939515e22adb298388d": "5cf8f73096256a8f31e491e813e4eb8e", urn: "urn:x", id: "id-1" },
          out: pulumi.output("later"),
          mocked: { __pulumiUnknown: true }, // what setMocks passes in preview for an output not known yet
        }),
      ],
      {},
      [policy],
    );
    const props = seen[0]?.props as Record<string, unknown>;
    expect(props["secretish"]).toBe("plain");
    expect(props["ref"]).toBe("id-1");
    expect(() => props["out"]).toThrow(/can't be known during preview/);
    expect(() => props["mocked"]).toThrow(/can't be known during preview/);
  });
});

describe("evaluate: unknowns and failures", () => {
  it("treats a value unknown at preview as not violating, even when a rule reads it directly", () => {
    const { policy } = probe({
      validateResource: (args, report) => {
        if (args.props["ingress"] !== "INTERNAL") report("not internal");
      },
    });
    expect(evaluate([service("a", { ingress: UNKNOWN_VALUE })], {}, [policy])).toEqual([]);
    expect(evaluate([service("a", { ingress: "ALL" })], {}, [policy])).toHaveLength(1);
  });

  it("the pack never reports on values that are unknown everywhere", () => {
    const rs = referenceStack("prod");
    for (const r of rs) {
      if (r.type === T.cloudRunService) r.inputs = { location: "us-central1", template: UNKNOWN_VALUE };
      if (r.type === T.redisInstance) {
        r.inputs = { ...r.inputs, authEnabled: UNKNOWN_VALUE, transitEncryptionMode: UNKNOWN_VALUE };
      }
    }
    const names = evaluate(rs, { environment: "prod" }).map((v) => v.policy);
    expect(names).not.toContain("redis-auth-and-tls");
    expect(names).not.toContain("cloud-run-dedicated-service-account");
  });

  it("reports a crashing rule as a mandatory internal error instead of throwing", () => {
    const { policy } = probe({
      validateResource: () => {
        throw new Error("boom");
      },
    });
    const v = evaluate([service("a")], {}, [policy]);
    expect(v).toEqual([
      expect.objectContaining({ enforcementLevel: "mandatory", message: expect.stringContaining("boom") }),
    ]);
  });

  it("refuses asynchronous rules (evaluate is synchronous)", () => {
    const { policy } = probe({ validateResource: async () => {} });
    expect(evaluate([service("a")], {}, [policy])[0]?.message).toMatch(/returned a promise/);
  });

  it("every rule of the pack is synchronous and survives empty, odd and unknown inputs", () => {
    const odd: EvaluateResource[] = Object.values(T).flatMap((type) => [
      { type, name: `${type}-empty`, inputs: {} },
      {
        type,
        name: `${type}-unknown`,
        inputs: { template: UNKNOWN_VALUE, labels: UNKNOWN_VALUE, conditions: UNKNOWN_VALUE },
      },
      {
        type,
        name: `${type}-odd`,
        inputs: {
          template: "x",
          labels: 3,
          conditions: [null, 1, "s"],
          replication: [],
          pushConfig: null,
          members: "m",
        },
      },
    ]);
    const v = evaluate(odd, { environment: "prod" });
    expect(v.filter((x) => x.message.startsWith("internal error"))).toEqual([]);
  });
});

describe("evaluate: resources captured by infra/offline/run.ts", () => {
  it('reads its "<unknown>" and "<secret>" placeholders as unknown values', () => {
    const { policy, seen } = probe();
    evaluate([service("a", { u: "<unknown>", s: "<secret>", nested: { list: ["<unknown>", "ok"] } })], {}, [policy]);
    const props = seen[0]?.props as { u: unknown; s: unknown; nested: { list: unknown[] } };
    expect(() => props.u).toThrow(/can't be known during preview/);
    expect(() => props.s).toThrow(/can't be known during preview/);
    expect(props.nested.list[1]).toBe("ok");
    expect(() => props.nested.list[0]).toThrow(/can't be known during preview/);
  });
});
