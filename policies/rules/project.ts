/**
 * Project-wide guardrails: no default network, protection in prod, required labels, allowed locations, the
 * organization policies Google enforces beside this pack, the default service accounts stripped, and a quota project
 * only where a call needs one.
 */
import * as gcp from "@pulumi/gcp";
import { validateResourceOfType, type PolicyResource } from "@pulumi/policy";
import { envVar, type CloudRunServiceProps } from "../lib/cloudrun.js";
import { ALLOWED_REGIONS_PROPERTY, configOf, ENVIRONMENT_PROPERTY } from "../lib/config.js";
import { environmentOfResource, environmentOfStack, isProd } from "../lib/environment.js";
import { GATEWAY_ENV } from "../lib/gateway.js";
import { steps, validateResourceOfTypes } from "../lib/guardrail.js";
import { locationProblem, type LocationPolicy } from "../lib/locations.js";
import { T, type Guardrail, type ResourceGuardrail, type StackGuardrail } from "../lib/types.js";
import { bool, entries, isKnown, knownItems, path, read, str, UNKNOWN, type Unknown } from "../lib/values.js";

export const projectNoAutoCreateNetwork: ResourceGuardrail = {
  name: "project-no-auto-create-network",
  category: "project",
  description: "Every project sets autoCreateNetwork: false (the provider default is true).",
  rationale:
    "The auto-created `default` network has a subnet in every region and firewall rules allowing SSH, RDP and " +
    "ICMP from anywhere; the gateway uses its own VPC.",
  severity: "medium",
  enforcementLevel: "mandatory",
  remediationSteps: "Set autoCreateNetwork: false on the gcp.organizations.Project and declare the VPC explicitly.",
  configSchema: { properties: {} },
  validateResource: validateResourceOfType(gcp.organizations.Project, (project, args, report) => {
    const auto = bool(read(() => project.autoCreateNetwork));
    if (isKnown(auto) && auto !== false) {
      report(`Project "${args.name}" has autoCreateNetwork ${auto === undefined ? "unset (true)" : "true"}.`);
    }
  }),
};

const PROTECTED_TYPES = new Set<string>([T.project, T.cloudRunService, T.secret]);
const envSchema = { properties: { environment: ENVIRONMENT_PROPERTY } };

export const prodDeletionProtection: ResourceGuardrail = {
  name: "prod-deletion-protection",
  category: "project",
  description:
    "In prod: the project's deletionPolicy is PREVENT (unset = the provider's default PREVENT), Cloud Run services " +
    "do not set deletionProtection: false (default true), and secrets set deletionProtection: true (default false).",
  rationale:
    "A mistaken `pulumi destroy`, a stack rename or a refactor that changes a resource's name would otherwise " +
    "delete the prod project, the serving gateway or its keys.",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps: steps(
    'Drive protection from stack config: deletionPolicy: "PREVENT" on the Project, deletionProtection: true on',
    "Cloud Run services and secrets in prod. Turning it off later takes an `up` before a destroy.",
  ),
  configSchema: envSchema,
  validateResource: validateResourceOfTypes(
    (t) => PROTECTED_TYPES.has(t),
    "projects, Cloud Run services and secrets",
    (args, report) => {
      const { environment } = configOf<{ environment: string }>(args, envSchema);
      if (!isProd(environmentOfResource(environment, args))) args.notApplicable("Only applies to prod");
      if (args.type === T.project) {
        const policy = str(read(() => args.props["deletionPolicy"]));
        if (typeof policy === "string" && policy !== "PREVENT") {
          report(`Project "${args.name}" has deletionPolicy ${policy} in prod; use PREVENT.`);
        }
      } else if (args.type === T.cloudRunService) {
        if (bool(read(() => args.props["deletionProtection"])) === false) {
          report(`Cloud Run service "${args.name}" sets deletionProtection: false in prod.`);
        }
      } else {
        const p = bool(read(() => args.props["deletionProtection"]));
        if (isKnown(p) && p !== true) report(`Secret "${args.name}" does not set deletionProtection: true in prod.`);
      }
    },
  ),
};

/**
 * Types with a `labels` input subject to the provider's defaultLabels (checked in @pulumi/gcp 9.37's typings).
 * Monitoring resources are not listed: their `userLabels` ignore defaultLabels, and a NotificationChannel's
 * `labels` are channel settings.
 */
export const LABELLED_TYPES: ReadonlySet<string> = new Set([
  T.project,
  T.cloudRunService,
  "gcp:cloudrunv2/job:Job",
  T.redisInstance,
  T.secret,
  T.artifactRepository,
  T.pubsubTopic,
  T.pubsubSubscription,
  T.modelArmorTemplate,
  "gcp:storage/bucket:Bucket",
  "gcp:compute/globalAddress:GlobalAddress",
  "gcp:compute/globalForwardingRule:GlobalForwardingRule",
  "gcp:compute/securityPolicy:SecurityPolicy",
  "gcp:compute/address:Address",
  "gcp:compute/forwardingRule:ForwardingRule",
]);

export const requiredLabels: ResourceGuardrail = {
  name: "required-labels",
  category: "project",
  description:
    "Every labelable resource (projects, Cloud Run services and jobs, Redis, secrets, repositories, topics, " +
    "subscriptions, Model Armor templates, buckets, addresses, forwarding rules, security policies) carries the " +
    "requiredLabels with non-empty values, counting the provider's defaultLabels.",
  rationale:
    "Billing exports and budgets are sliced by these labels (cost-center, app, env), and on-call finds the owner " +
    "of a resource from them.",
  severity: "medium",
  enforcementLevel: "advisory",
  remediationSteps:
    "Set defaultLabels on the gcp provider (env, app, owner, cost-center from stack config) so every resource " +
    "inherits them, or set labels on the resource.",
  configSchema: {
    properties: {
      requiredLabels: {
        type: "array",
        items: { type: "string" },
        default: ["env", "app", "owner", "cost-center"],
        description: "Label keys every labelable resource must carry.",
      },
    },
  },
  validateResource: validateResourceOfTypes(
    (t) => LABELLED_TYPES.has(t),
    "resources with labels",
    (args, report) => {
      const config = configOf<{ requiredLabels: string[] }>(args, requiredLabels.configSchema);
      const own = entries(read(() => args.props["labels"]));
      const defaults = entries(read(() => args.provider?.props["defaultLabels"]));
      if (own === UNKNOWN || defaults === UNKNOWN) return;
      const labels = new Map<string, unknown>([...defaults, ...own]);
      const missing = config.requiredLabels.filter((k) => {
        const v = labels.get(k);
        return v !== UNKNOWN && (typeof v !== "string" || v === "");
      });
      if (missing.length > 0) {
        report(`${args.type.split(":")[2]} "${args.name}" lacks the labels ${missing.join(", ")}.`);
      }
    },
  ),
};

export const allowedLocations: ResourceGuardrail = {
  name: "allowed-locations",
  category: "project",
  description:
    "Every `location`, `region` and `zone` input of every resource (and the gcp provider's region/zone), Redis " +
    "locationId/alternativeLocationId, secret userManaged replica locations, Pub/Sub topic " +
    "messageStoragePolicy.allowedPersistenceRegions, Model Armor template locations and the gateway's Vertex " +
    "location (env GOOGLE_CLOUD_LOCATION) are in allowedRegions (zones by their region), allowedMultiRegions, or " +
    '"global" when allowGlobal.',
  rationale:
    "Prompts, responses, keys and logs must stay in the regions the organisation has approved for data " +
    "residency and where capacity has been planned.",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Use a region from allowedRegions (stack config `region`), or extend allowedRegions in the policy config " +
    "after review.",
  configSchema: {
    properties: {
      allowedRegions: ALLOWED_REGIONS_PROPERTY,
      allowedMultiRegions: {
        type: "array",
        items: { type: "string" },
        default: ["us", "eu"],
        description: 'Multi-regions allowed (Artifact Registry "us", Model Armor "us", buckets "EU"...).',
      },
      allowGlobal: {
        type: "boolean",
        default: true,
        description: 'Whether "global" is allowed (e.g. the Vertex AI global endpoint).',
      },
    },
  },
  validateResource: validateResourceOfTypes(
    () => true,
    "every resource",
    (args, report) => {
      const policy = configOf<LocationPolicy>(args, allowedLocations.configSchema);
      const found: { where: string; value: string }[] = [];
      const add = (where: string, v: unknown) => {
        const s = str(v);
        if (typeof s === "string" && s !== "") found.push({ where, value: s });
      };
      for (const key of ["location", "region", "zone"])
        add(
          key,
          read(() => args.props[key]),
        );
      if (args.type === T.redisInstance) {
        add(
          "locationId",
          read(() => args.props["locationId"]),
        );
        add(
          "alternativeLocationId",
          read(() => args.props["alternativeLocationId"]),
        );
      }
      if (args.type === T.secret) {
        const replicas = knownItems(path(args.props, "replication.userManaged.replicas") as unknown[]);
        replicas.values.forEach((r, i) => add(`replication.userManaged.replicas[${i}].location`, path(r, "location")));
      }
      if (args.type === T.pubsubTopic) {
        const regions = knownItems(path(args.props, "messageStoragePolicy.allowedPersistenceRegions") as unknown[]);
        regions.values.forEach((r, i) => add(`messageStoragePolicy.allowedPersistenceRegions[${i}]`, r));
      }
      if (args.type === T.cloudRunService) {
        const loc = envVar(args.props as CloudRunServiceProps, GATEWAY_ENV.LOCATION);
        if (loc) add(`env ${GATEWAY_ENV.LOCATION} (the Vertex AI location)`, loc.value);
      }
      for (const f of found) {
        const problem = locationProblem(f.value, policy);
        if (problem) report(`${args.type.split(":")[2]} "${args.name}": ${f.where} ${f.value}: ${problem}.`);
      }
    },
  ),
};

interface OrgPoliciesConfig {
  environment: string;
  allowedRegions: string[];
  allowedMultiRegions: string[];
}

const INTERNAL_INGRESS = new Set(["is:internal-and-cloud-load-balancing", "internal-and-cloud-load-balancing"]);

/** What a project's policy for each required constraint must say; `prod` ones only in prod. */
const REQUIRED_CONSTRAINTS: { constraint: string; prodOnly?: boolean; what: string }[] = [
  { constraint: "iam.disableServiceAccountKeyCreation", what: "enforced" },
  { constraint: "compute.skipDefaultNetworkCreation", what: "enforced" },
  { constraint: "storage.publicAccessPrevention", what: "enforced" },
  { constraint: "gcp.resourceLocations", what: "allowing only allowed regions" },
  { constraint: "run.allowedIngress", prodOnly: true, what: "allowing only internal-and-cloud-load-balancing" },
];

export const projectOrgPolicies: StackGuardrail = {
  name: "project-org-policies",
  category: "project",
  description:
    "Every project the stack creates carries project-level organization policies (gcp.orgpolicy.Policy, parent " +
    "projects/<id>): iam.disableServiceAccountKeyCreation, compute.skipDefaultNetworkCreation and " +
    "storage.publicAccessPrevention enforced, " +
    "gcp.resourceLocations allowing only allowedRegions / allowedMultiRegions (`in:<region>-locations` value groups), " +
    "and in prod run.allowedIngress allowing only internal-and-cloud-load-balancing.",
  rationale:
    "This pack runs only when someone passes --policy-pack to a preview or update; `pulumi refresh`, `import`, " +
    "`destroy`, gcloud and the console never meet it. Organization policies are enforced by Google on every API " +
    "call, so the guardrails that matter most hold whoever makes the change (docs/guardrails.md, which lives where).",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps: steps(
    'Declare gcp.orgpolicy.Policy per constraint: { parent: "projects/<id>", name: "projects/<id>/policies/<constraint>",',
    'spec: { rules: [{ enforce: "TRUE" }] } } for the boolean ones, spec.rules[0].values.allowedValues',
    '["in:<region>-locations"] for gcp.resourceLocations and ["is:internal-and-cloud-load-balancing"] for',
    "run.allowedIngress (infra/components/org-policies.ts).",
  ),
  configSchema: {
    properties: {
      environment: ENVIRONMENT_PROPERTY,
      allowedRegions: ALLOWED_REGIONS_PROPERTY,
      allowedMultiRegions: {
        type: "array",
        items: { type: "string" },
        default: ["us", "eu"],
        description: "Multi-region value groups gcp.resourceLocations may allow (in:eu-locations, in:us-locations).",
      },
    },
  },
  validateStack: (args, report) => {
    const config = configOf<OrgPoliciesConfig>(args, projectOrgPolicies.configSchema);
    const projects = args.resources.filter((r) => r.type === T.project);
    if (projects.length === 0) args.notApplicable("The stack creates no project");
    const prod = isProd(environmentOfStack(config.environment, args.resources));
    const policies = args.resources.filter((r) => r.type === T.orgPolicy);
    for (const project of projects) {
      const id = str(path(project.props, "projectId"));
      if (!isKnown(id) || id === undefined) continue;
      const parent = `projects/${id}`;
      const byConstraint = new Map<string, PolicyResource>();
      for (const p of policies) {
        const name = str(path(p.props, "name"));
        const policyParent = str(path(p.props, "parent"));
        if (!isKnown(name) || name === undefined || policyParent !== parent) continue;
        byConstraint.set(name.slice(name.indexOf("/policies/") + "/policies/".length), p);
      }
      for (const required of REQUIRED_CONSTRAINTS) {
        if (required.prodOnly && !prod) continue;
        const policy = byConstraint.get(required.constraint);
        if (!policy) {
          report(
            `Project "${project.name}" has no organization policy ${required.constraint} (${required.what}).`,
            project.urn,
          );
          continue;
        }
        const rules = knownItems(path(policy.props, "spec.rules") as unknown[]);
        if (rules.sawUnknown) continue;
        const problem = orgPolicyProblem(required.constraint, rules.values, config);
        if (problem) report(`Organization policy "${policy.name}" (${required.constraint}): ${problem}.`, policy.urn);
      }
    }
  },
};

function orgPolicyProblem(constraint: string, rules: unknown[], config: OrgPoliciesConfig): string | undefined {
  if (constraint === "gcp.resourceLocations" || constraint === "run.allowedIngress") {
    if (rules.some((r) => ["TRUE", true].includes(path(r, "allowAll") as string | boolean))) return "allows all values";
    const values = rules.flatMap((r) => knownItems(path(r, "values.allowedValues") as unknown[]).values) as string[];
    if (values.length === 0) return "allows no explicit values (set spec.rules[].values.allowedValues)";
    if (constraint === "run.allowedIngress") {
      const other = values.filter((v) => !INTERNAL_INGRESS.has(v));
      return other.length ? `allows ${other.join(", ")}: only internal-and-cloud-load-balancing in prod` : undefined;
    }
    const regions = config.allowedRegions.map((r) => r.toLowerCase());
    const multi = config.allowedMultiRegions.map((r) => r.toLowerCase());
    const outside = values.filter((v) => {
      const group = /^in:(.+)-locations$/.exec(v)?.[1]?.toLowerCase();
      const location = (group ?? v.replace(/^(is|in):/, "")).toLowerCase();
      return !regions.includes(location) && !multi.includes(location);
    });
    return outside.length ? `allows ${outside.join(", ")}, outside allowedRegions / allowedMultiRegions` : undefined;
  }
  const enforced = rules.some((r) => ["TRUE", true].includes(path(r, "enforce") as string | boolean));
  return enforced ? undefined : 'is not enforced (spec.rules: [{ enforce: "TRUE" }])';
}

const STRIPPING_ACTIONS = new Set(["DEPRIVILEGE", "DISABLE", "DELETE"]);

export const projectDefaultServiceAccountsStripped: StackGuardrail = {
  name: "project-default-service-accounts-stripped",
  category: "project",
  description:
    "Every project the stack creates has a gcp.projects.DefaultServiceAccounts resource for it with action " +
    "DEPRIVILEGE, DISABLE or DELETE.",
  rationale:
    "Enabling Compute Engine creates the default compute service account and, unless an organization policy stops " +
    "it, grants it Editor on the project: anything that can run as it (a VM, a Cloud Run service without an explicit " +
    "account) holds Editor.",
  severity: "medium",
  enforcementLevel: "mandatory",
  remediationSteps: steps(
    'Declare gcp.projects.DefaultServiceAccounts({ project, action: "DISABLE" }) (or "DEPRIVILEGE" when something',
    "must still run as it), after the APIs; also enforce iam.automaticIamGrantsForDefaultServiceAccounts on the",
    "folder so the account never receives Editor (infra/bootstrap does).",
  ),
  configSchema: { properties: {} },
  validateStack: (args, report) => {
    const projects = args.resources.filter((r) => r.type === T.project);
    if (projects.length === 0) args.notApplicable("The stack creates no project");
    const handled = new Map<string, string | Unknown | undefined>();
    for (const r of args.resources.filter((x) => x.type === T.defaultServiceAccounts)) {
      const project = str(path(r.props, "project"));
      if (typeof project === "string") handled.set(project, str(path(r.props, "action")));
    }
    for (const project of projects) {
      const id = str(path(project.props, "projectId"));
      if (typeof id !== "string") continue;
      const action = handled.get(id);
      if (!handled.has(id)) {
        report(`Project "${project.name}" leaves its default service accounts as Google creates them.`, project.urn);
      } else if (isKnown(action) && (action === undefined || !STRIPPING_ACTIONS.has(action))) {
        report(`Project "${project.name}": its default service accounts' action is ${String(action)}.`, project.urn);
      }
    }
  },
};

interface QuotaConfig {
  quotaProjectTypes: string[];
}

export const providerQuotaProjectScoped: StackGuardrail = {
  name: "provider-quota-project-scoped",
  category: "project",
  description:
    "A gcp provider that sets billingProject or userProjectOverride (a quota project for user credentials) is used " +
    "only by the resources whose calls need it (quotaProjectTypes: the project, its APIs, its organization policies, " +
    "the budget); everything else uses a provider without one.",
  rationale:
    "With billingProject on the one provider every resource uses, every Compute, Secret Manager, Redis or Pub/Sub " +
    "call is billed to the quota (seed) project, where those APIs are off: the first `pulumi up` with user " +
    "credentials fails on the first of them.",
  severity: "medium",
  enforcementLevel: "mandatory",
  remediationSteps: steps(
    'Keep the main provider without billingProject; declare a second provider ("gcp-quota") with billingProject and',
    "userProjectOverride for the project, its projects.Service APIs, its orgpolicy.Policy resources and the budget",
    "only (infra/program.ts).",
  ),
  configSchema: {
    properties: {
      quotaProjectTypes: {
        type: "array",
        items: { type: "string" },
        default: [T.project, T.projectService, T.orgPolicy, T.billingBudget],
        description: "Resource types that may use a provider with a quota (billing) project.",
      },
    },
  },
  validateStack: (args, report) => {
    const { quotaProjectTypes } = configOf<QuotaConfig>(args, providerQuotaProjectScoped.configSchema);
    const offending = new Map<string, string[]>();
    for (const r of args.resources) {
      const provider = r.provider;
      if (!provider || provider.type !== T.gcpProvider || quotaProjectTypes.includes(r.type)) continue;
      const billing = str(path(provider.props, "billingProject"));
      const override = path(provider.props, "userProjectOverride");
      const quota = (typeof billing === "string" && billing !== "") || override === true || override === "true";
      if (quota)
        offending.set(provider.name, [...(offending.get(provider.name) ?? []), `${r.type.split(":")[2]} "${r.name}"`]);
    }
    for (const [provider, uses] of offending) {
      report(
        `Provider "${provider}" bills calls to a quota project (billingProject/userProjectOverride) and is used by ` +
          `${uses.length} resource(s) whose calls belong to their own project, e.g. ${uses.slice(0, 3).join(", ")}.`,
      );
    }
  },
};

export const projectRules: Guardrail[] = [
  projectNoAutoCreateNetwork,
  prodDeletionProtection,
  requiredLabels,
  allowedLocations,
  projectOrgPolicies,
  projectDefaultServiceAccountsStripped,
  providerQuotaProjectScoped,
];
