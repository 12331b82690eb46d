/**
 * The environment's own project and what makes it safe before anything runs in it, in this order:
 *
 *   project (folder or org, billing, autoCreateNetwork false, PREVENT in prod)
 *   → organization policies Google enforces on every call (org-policies.ts)
 *   → APIs (each waits apiPropagationSeconds after it is first enabled: pitfall 1; never disabled on destroy: pitfall 2)
 *   → the default compute account disabled (it was never granted a role: the bootstrap enforces
 *     iam.automaticIamGrantsForDefaultServiceAccounts on the folder), and the Owner role Google gives the project's
 *     creator (the deployer) removed: the deployer keeps only its granular roles from the bootstrap.
 *
 * The project, its APIs and its organization policies use the quota provider: with user credentials these calls are
 * made before the project can be its own quota project (program.ts). Every other resource depends on the APIs.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { modelArmorPlacement, type StackConfig } from "../config.js";
import { propagationWait } from "./common.js";
import { OrgPolicies } from "./org-policies.js";

/**
 * What the environment uses. serviceusage and cloudresourcemanager are also enabled in the seed project (the
 * bootstrap): the provider needs them before this project exists.
 */
export const APIS = [
  "serviceusage.googleapis.com",
  "cloudresourcemanager.googleapis.com",
  "orgpolicy.googleapis.com",
  "iam.googleapis.com",
  "iamcredentials.googleapis.com",
  "sts.googleapis.com",
  "compute.googleapis.com",
  "servicenetworking.googleapis.com",
  "run.googleapis.com",
  "redis.googleapis.com",
  "secretmanager.googleapis.com",
  "artifactregistry.googleapis.com",
  "aiplatform.googleapis.com",
  "modelarmor.googleapis.com",
  "logging.googleapis.com",
  "monitoring.googleapis.com",
  "cloudtrace.googleapis.com",
  "pubsub.googleapis.com",
  "billingbudgets.googleapis.com",
] as const;

export interface ProjectArgs {
  cfg: StackConfig;
  provider: gcp.Provider;
  /** Carries the quota (billing) project for user-credential runs; the main provider otherwise. */
  quotaProvider: gcp.Provider;
  /** The deployer (the project's creator), whose creator Owner grant is removed. */
  creatorMember: string;
}

export class ProjectFoundation extends pulumi.ComponentResource {
  readonly project: gcp.organizations.Project;
  readonly orgPolicies: OrgPolicies;
  readonly apis: gcp.projects.Service[];
  /** The project number (IAM principals of service agents, budget filter, deterministic Cloud Run URLs). */
  readonly number: pulumi.Output<string>;

  constructor(name: string, args: ProjectArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gemini-gateway:infra:Project", name, {}, opts);
    const { cfg, provider, quotaProvider } = args;

    this.project = new gcp.organizations.Project(
      "project",
      {
        projectId: cfg.projectId,
        name: `Gemini gateway ${cfg.environment}`,
        ...(cfg.folderId ? { folderId: cfg.folderId } : { orgId: cfg.orgId }),
        billingAccount: cfg.billingAccount,
        autoCreateNetwork: false,
        deletionPolicy: cfg.deletionProtection ? "PREVENT" : "DELETE",
      },
      { parent: this, provider: quotaProvider, protect: cfg.deletionProtection },
    );

    const armor = modelArmorPlacement(cfg);
    this.orgPolicies = new OrgPolicies(
      "org-policies",
      {
        projectId: cfg.projectId,
        locations: [...cfg.regions, armor.location],
        internalIngressOnly: cfg.domain !== undefined,
      },
      { parent: this, providers: { gcp: quotaProvider }, dependsOn: [this.project] },
    );

    const apiWait = propagationWait("api-propagation", cfg.apiPropagationSeconds);
    this.apis = APIS.map(
      (service) =>
        new gcp.projects.Service(
          `api-${service.split(".")[0]}`,
          { project: this.project.projectId, service, disableOnDestroy: false, disableDependentServices: false },
          { parent: this, provider: quotaProvider, dependsOn: [this.orgPolicies], hooks: { afterCreate: [apiWait] } },
        ),
    );

    // Unused and stripped: nothing here runs as the default compute account (every workload has its own), and it never
    // held a role (folder policy). Disabled rather than deleted: Google cannot restore a deleted default account.
    new gcp.projects.DefaultServiceAccounts(
      "default-service-accounts",
      { project: cfg.projectId, action: "DISABLE", restorePolicy: "REVERT_AND_IGNORE_FAILURE" },
      { parent: this, provider, dependsOn: this.apis },
    );
    // Google makes whoever creates a project its Owner. The deployer works from its granular folder roles instead.
    new gcp.projects.IamMemberRemove(
      "creator-owner-removed",
      { project: cfg.projectId, role: "roles/owner", member: args.creatorMember },
      { parent: this, provider, dependsOn: this.apis },
    );

    this.number = this.project.number;
    this.registerOutputs({ projectId: this.project.projectId, number: this.number });
  }
}
