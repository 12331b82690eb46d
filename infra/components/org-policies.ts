/**
 * Guardrails Google enforces on every API call to the project — console, gcloud, `pulumi refresh`/`import`/`destroy`
 * and any program, with or without the policy pack — as project-level organization policies (Organization Policy API
 * v2, gcp.orgpolicy.Policy). They sit beside the CrossGuard pack, which checks the program before it runs; the pack's
 * project-org-policies rule requires these (docs/guardrails.md, "Which guardrail lives where").
 *
 * Constraint names and values from Google's list of organization policy constraints (checked December 2026):
 * iam.disableServiceAccountKeyCreation, compute.skipDefaultNetworkCreation and storage.publicAccessPrevention (boolean),
 * gcp.resourceLocations (list, value groups `in:<region>-locations`), run.allowedIngress (list:
 * `is:internal-and-cloud-load-balancing`). All but run.allowedIngress hold in every environment.
 *
 * They are created right after the project and before any API is enabled: enabling Compute Engine is what would
 * create the default network (the bootstrap also enforces skipDefaultNetworkCreation on the folder, which is what
 * covers the project's very first moments).
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { childOf } from "./common.js";

export interface OrgPolicySpec {
  constraint: string;
  /** Why the project needs it. */
  why: string;
  spec: gcp.types.input.orgpolicy.PolicySpec;
}

export interface OrgPoliciesArgs {
  projectId: string;
  /** Regions resources may be created in (the stack's regions and the Model Armor location). */
  locations: readonly string[];
  /** Cloud Run services may only take traffic through the load balancer (prod). */
  internalIngressOnly: boolean;
}

/** The policies for a project, as data (the docs and tests read the same list). */
export function orgPolicySpecs(args: Omit<OrgPoliciesArgs, "projectId">): OrgPolicySpec[] {
  const enforce = { rules: [{ enforce: "TRUE" }] };
  return [
    {
      constraint: "iam.disableServiceAccountKeyCreation",
      why: "no long-lived service-account keys: Cloud Run, Pub/Sub and CI all get short-lived tokens",
      spec: enforce,
    },
    {
      constraint: "compute.skipDefaultNetworkCreation",
      why: "no `default` network with its open SSH/RDP firewall rules; the gateway uses its own VPC",
      spec: enforce,
    },
    {
      constraint: "storage.publicAccessPrevention",
      why: "no bucket or object in the project is ever public: batch inputs and outputs are tenants' prompts and answers",
      spec: enforce,
    },
    {
      constraint: "gcp.resourceLocations",
      why: "data residency: prompts, keys and logs only in the stack's regions",
      spec: { rules: [{ values: { allowedValues: [...new Set(args.locations)].map((l) => `in:${l}-locations`) } }] },
    },
    ...(args.internalIngressOnly
      ? [
          {
            constraint: "run.allowedIngress",
            why: "Cloud Run answers only through the load balancer (Cloud Armor), never on its run.app URL from outside",
            spec: { rules: [{ values: { allowedValues: ["is:internal-and-cloud-load-balancing"] } }] },
          },
        ]
      : []),
  ];
}

export class OrgPolicies extends pulumi.ComponentResource {
  readonly policies: gcp.orgpolicy.Policy[];

  constructor(name: string, args: OrgPoliciesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gemini-gateway:infra:OrgPolicies", name, {}, opts);
    const parent = `projects/${args.projectId}`;
    this.policies = orgPolicySpecs(args).map(
      ({ constraint, spec }) =>
        new gcp.orgpolicy.Policy(
          `org-policy-${constraint}`,
          { parent, name: `${parent}/policies/${constraint}`, spec },
          childOf(this, opts),
        ),
    );
    this.registerOutputs({ constraints: this.policies.map((p) => p.name) });
  }
}
