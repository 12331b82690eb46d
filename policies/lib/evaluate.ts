/**
 * Evaluating the pack without the Pulumi CLI: the offline check feeds it the resources a `setMocks` run of the
 * program registered, tests feed it hand-built ones. It calls each rule's real validateResource / validateStack
 * with arguments built the way @pulumi/policy's analyzer builds them (server.js): properties wrapped in the same
 * unknown-checking proxy, isType / asType by type token, getConfig returning the rule's config, notApplicable
 * throwing a sentinel that is caught here.
 *
 * Config takes the shape of a `--policy-pack-config` file, plus shortcuts:
 *   { "<rule-name>": "advisory" | { enforcementLevel?, ...properties },   // one rule (the CLI file's shape)
 *     "all": "mandatory" | { enforcementLevel },                         // every rule's enforcement level
 *     "<property>": value }                                               // every rule declaring that property
 * e.g. evaluate(resources, { environment: "prod", maxInstances: 10, "required-labels": "disabled" }).
 * Properties not given take the schema's defaults. Unknown keys and ill-typed values throw EvaluateConfigError.
 *
 * Evaluation is synchronous (every rule of the pack is); a rule returning a promise is reported as an error.
 */
import {
  unknownCheckingProxy,
  type EnforcementLevel,
  type PolicyResource,
  type PolicyResourceOptions,
  type ResourceValidationArgs,
  type StackValidationArgs,
} from "@pulumi/policy";
import { allPolicies } from "../rules/index.js";
import { checkValue, schemaDefaults } from "./config.js";
import { T, isStackGuardrail, type Guardrail } from "./types.js";
import { isUnknownError, UNKNOWN_SENTINELS } from "./values.js";

export interface EvaluateResource {
  type: string;
  name: string;
  urn?: string;
  inputs: Record<string, unknown>;
  /**
   * This resource's provider, itself in the list (type `pulumi:providers:gcp`): its URN, its name, or a provider
   * reference "<urn>::<id>" (what setMocks passes as MockResourceArgs.provider). When absent and the list holds
   * exactly one gcp provider, gcp resources use it (its defaultLabels count for required-labels).
   */
  provider?: string;
  /** The URN or name of the parent resource in the list. */
  parent?: string;
  /**
   * URNs or names of the resources this one waits for (what the engine sends as the resource's dependencies: explicit
   * dependsOn and the resources its inputs came from). Stack rules see them as `dependencies`, as in a real preview.
   */
  dependencies?: readonly string[];
  /** Per input property, the URNs or names its value came from. */
  propertyDependencies?: Readonly<Record<string, readonly string[]>>;
}

export interface Violation {
  policy: string;
  severity: string;
  enforcementLevel: "mandatory" | "advisory";
  resourceType: string | null;
  resourceName: string | null;
  message: string;
  remediation: string;
}

export class EvaluateConfigError extends Error {
  override name = "EvaluateConfigError";
}

const LEVELS: readonly EnforcementLevel[] = ["advisory", "mandatory", "remediate", "disabled"];
const PROJECT = "gemini-gateway";
const UNKNOWN_VALUE = [...UNKNOWN_SENTINELS][0] as string;
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SIG_SECRET = "1b47061264138c4ac30d75fd1eb44270";
const SIG_RESOURCE_REF = "5cf8f73096256a8f31e491e813e4eb8e";
/**
 * How infra/offline/run.ts's captured resources spell a value not known in preview and a secret's hidden value:
 * both are unknown to the rules.
 */
const CAPTURE_PLACEHOLDERS: ReadonlySet<string> = new Set(["<unknown>", "<secret>"]);

class NotApplicable extends Error {
  constructor(readonly reason: string | undefined) {
    super(reason ?? "not applicable");
  }
}

interface ResolvedPolicy {
  policy: Guardrail;
  level: EnforcementLevel;
  config: Record<string, unknown>;
}

/** Evaluates every guardrail (or `policies`) over `resources`; returns the violations, mandatory and advisory. */
export function evaluate(
  resources: readonly EvaluateResource[],
  config: Record<string, unknown> = {},
  policies: readonly Guardrail[] = allPolicies,
): Violation[] {
  const resolved = resolveConfig(policies, config);
  const stack =
    typeof config["environment"] === "string" && config["environment"] !== "" ? config["environment"] : "offline";
  const built = buildResources(resources, stack);
  const byUrn = new Map(built.map((r) => [r.urn, r]));
  const violations: Violation[] = [];

  for (const { policy, level, config: policyConfig } of resolved) {
    if (level === "disabled") continue;
    const enforcementLevel: Violation["enforcementLevel"] = level === "advisory" ? "advisory" : "mandatory";
    const push = (
      message: string,
      r: PolicyResource | undefined,
      level: Violation["enforcementLevel"] = enforcementLevel,
    ) =>
      violations.push({
        policy: policy.name,
        severity: policy.severity,
        enforcementLevel: level,
        resourceType: r?.type ?? null,
        resourceName: r?.name ?? null,
        message,
        remediation: policy.remediationSteps,
      });
    const getConfig = <U extends object>(): U => structuredClone(policyConfig) as U;
    const run = (call: () => unknown, r: PolicyResource | undefined) => {
      try {
        const result = call();
        if (result && typeof (result as { then?: unknown }).then === "function") {
          throw new Error("returned a promise; evaluate() runs rules synchronously");
        }
      } catch (e) {
        if (e instanceof NotApplicable || isUnknownError(e)) return; // unknown at preview: not a violation
        // The CLI fails the whole preview when a policy throws; here it is a mandatory violation, so the offline
        // check fails too but still reports everything else.
        push(`internal error in policy ${policy.name}: ${(e as Error)?.message ?? String(e)}`, r, "mandatory");
      }
    };
    const notApplicable = (reason?: string): never => {
      throw new NotApplicable(reason);
    };

    if (isStackGuardrail(policy)) {
      const args: StackValidationArgs = { resources: built, stackTags: new Map(), getConfig, notApplicable };
      run(
        () => policy.validateStack(args, (message, urn) => push(message, urn ? byUrn.get(urn) : undefined)),
        undefined,
      );
      continue;
    }
    const validations = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource];
    for (const r of built) {
      for (const validate of validations) {
        const args: ResourceValidationArgs = {
          type: r.type,
          props: r.props,
          urn: r.urn,
          name: r.name,
          opts: r.opts,
          stackTags: new Map(),
          isType: r.isType,
          asType: ((cls: ResourceClass) => (r.isType(cls) ? r.props : undefined)) as ResourceValidationArgs["asType"],
          getConfig,
          notApplicable,
        };
        if (r.provider) args.provider = r.provider;
        run(() => validate(args, (message) => push(message, r)), r);
      }
    }
  }
  return violations;
}

/** Per-policy enforcement level and config: schema defaults, then global properties, then the policy's own entry. */
function resolveConfig(policies: readonly Guardrail[], config: Record<string, unknown>): ResolvedPolicy[] {
  // Keys valid for the whole pack stay valid when evaluating a subset of it.
  const known = [...allPolicies, ...policies];
  const names = new Set(known.map((p) => p.name));
  const declared = new Set(known.flatMap((p) => Object.keys(p.configSchema.properties)));
  let allLevel: EnforcementLevel | undefined;
  const globals: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (key === "all") {
      allLevel = levelOf(value, "all");
    } else if (names.has(key)) {
      continue;
    } else if (declared.has(key)) {
      globals[key] = value;
    } else {
      throw new EvaluateConfigError(
        `unknown policy config key "${key}": not a rule name, "all", or a property of any rule's configSchema`,
      );
    }
  }
  return policies.map((policy) => {
    const schema = policy.configSchema;
    const own = config[policy.name];
    const merged: Record<string, unknown> = { ...schemaDefaults(schema) };
    for (const [k, v] of Object.entries(globals)) {
      const prop = schema.properties[k];
      if (!prop) continue;
      const problem = checkValue(v, prop, k);
      if (problem) throw new EvaluateConfigError(problem);
      merged[k] = structuredClone(v);
    }
    let level: EnforcementLevel = allLevel ?? policy.enforcementLevel;
    if (typeof own === "string") {
      level = levelOf(own, policy.name);
    } else if (own !== undefined) {
      if (typeof own !== "object" || own === null || Array.isArray(own)) {
        throw new EvaluateConfigError(`config for ${policy.name} must be an enforcement level or an object`);
      }
      for (const [k, v] of Object.entries(own)) {
        if (k === "enforcementLevel") {
          level = levelOf(v, `${policy.name}.enforcementLevel`);
          continue;
        }
        const prop = schema.properties[k];
        if (!prop) throw new EvaluateConfigError(`${policy.name} has no config property "${k}"`);
        const problem = checkValue(v, prop, `${policy.name}.${k}`);
        if (problem) throw new EvaluateConfigError(problem);
        merged[k] = structuredClone(v);
      }
    }
    for (const required of schema.required ?? []) {
      if (merged[required] === undefined) throw new EvaluateConfigError(`${policy.name} needs config "${required}"`);
    }
    return { policy, level, config: merged };
  });
}

function levelOf(v: unknown, where: string): EnforcementLevel {
  if (typeof v === "string" && (LEVELS as readonly string[]).includes(v)) return v as EnforcementLevel;
  if (typeof v === "object" && v !== null && "enforcementLevel" in v) {
    return levelOf((v as { enforcementLevel: unknown }).enforcementLevel, where);
  }
  throw new EvaluateConfigError(`${where}: enforcement level must be one of ${LEVELS.join(", ")}`);
}

type ResourceClass = Parameters<PolicyResource["isType"]>[0];

function typeMatcher(type: string): (cls: ResourceClass) => boolean {
  return (cls) => {
    const c = cls as unknown as { __pulumiType?: unknown; isInstance?: (o: unknown) => boolean };
    if (typeof c.__pulumiType === "string" && c.__pulumiType !== "") return c.__pulumiType === type;
    return typeof c.isInstance === "function" && c.isInstance({ __pulumiType: type }) === true;
  };
}

function buildResources(resources: readonly EvaluateResource[], stack: string): PolicyResource[] {
  const built: PolicyResource[] = resources.map((r) => {
    const props = unknownCheckingProxy(normalize(r.inputs ?? {}, 0) as Record<string, unknown>) as Record<
      string,
      unknown
    >;
    const isType = typeMatcher(r.type);
    const resource: PolicyResource = {
      type: r.type,
      name: r.name,
      urn: r.urn ?? `urn:pulumi:${stack}::${PROJECT}::${r.type}::${r.name}`,
      props,
      opts: options(),
      dependencies: [],
      propertyDependencies: {},
      isType,
      asType: ((cls: ResourceClass) => (isType(cls) ? props : undefined)) as PolicyResource["asType"],
    };
    return resource;
  });
  // A reference is a URN, a name, or (as setMocks reports providers) "<urn>::<id>".
  const find = (ref: string | undefined) =>
    ref === undefined
      ? undefined
      : (built.find((b) => b.urn === ref) ??
        built.find((b) => ref.startsWith(`${b.urn}::`)) ??
        built.find((b) => b.name === ref));
  const gcpProviders = built.filter((b) => b.type === T.gcpProvider);
  resources.forEach((r, i) => {
    const b = built[i] as PolicyResource;
    const provider =
      find(r.provider) ?? (r.type.startsWith("gcp:") && gcpProviders.length === 1 ? gcpProviders[0] : undefined);
    if (provider) b.provider = { type: provider.type, name: provider.name, urn: provider.urn, props: provider.props };
    const parent = find(r.parent);
    if (parent) {
      b.parent = parent;
      b.opts.parent = parent.urn;
    }
    // As the analyzer does: references to resources outside the list are dropped.
    const resolve = (refs: readonly string[] = []) =>
      refs.map(find).filter((d): d is PolicyResource => d !== undefined && d !== b);
    b.dependencies = resolve(r.dependencies);
    for (const [key, refs] of Object.entries(r.propertyDependencies ?? {})) b.propertyDependencies[key] = resolve(refs);
  });
  return built;
}

function options(): PolicyResourceOptions {
  return {
    protect: false,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
  };
}

/**
 * A plain copy of a resource's inputs as the analyzer would see them: Pulumi secrets unwrapped (the analyzer
 * deserializes without keeping secrets), resource references replaced by their id or URN, Output objects (not
 * resolvable synchronously), setMocks' unknown placeholders and the harness's "<unknown>" / "<secret>" replaced by
 * the unknown sentinel.
 */
function normalize(v: unknown, depth: number): unknown {
  if (v === null || v === undefined || depth > 64) return v;
  if (typeof v === "string") return CAPTURE_PLACEHOLDERS.has(v) ? UNKNOWN_VALUE : v;
  if (typeof v !== "object") return v;
  const o = v as Record<string, unknown>;
  // Output objects, and the `{__pulumiUnknown: true}` placeholders setMocks passes for values unknown in preview.
  if (o["__pulumiOutput"] === true || o["__pulumiUnknown"] === true || typeof o["apply"] === "function") {
    return UNKNOWN_VALUE;
  }
  if (Array.isArray(v)) return v.map((x) => normalize(x, depth + 1));
  if (o[SIG_KEY] === SIG_SECRET) return normalize(o["value"], depth + 1);
  if (o[SIG_KEY] === SIG_RESOURCE_REF) return normalize(o["id"] ?? o["urn"], depth + 1);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(o)) out[k] = normalize(x, depth + 1);
  return out;
}
