/**
 * The environment's own project and its APIs. The project is created in the configured folder (or organisation),
 * linked to the billing account, without the default network (autoCreateNetwork false), and in prod protected from
 * deletion both by Google (deletionPolicy PREVENT) and by Pulumi (protect).
 * APIs are never disabled on destroy (pitfall 2: deleting the project cleans up); each waits apiPropagationSeconds
 * after it is first enabled (pitfall 1), and every other resource depends on all of them.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config.js";
import { propagationWait } from "./common.js";

/**
 * What the environment uses. serviceusage and cloudresourcemanager are also enabled in the bootstrap project by the
 * bootstrap identity (docs/operations.md): the provider needs them before this project exists.
 */
export const APIS = [
  "serviceusage.googleapis.com",
  "cloudresourcemanager.googleapis.com",
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
}

export class ProjectFoundation extends pulumi.ComponentResource {
  readonly project: gcp.organizations.Project;
  readonly apis: gcp.projects.Service[];
  /** The project number (IAM principals of service agents, budget filter, deterministic Cloud Run URLs). */
  readonly number: pulumi.Output<string>;

  constructor(name: string, args: ProjectArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gemini-gateway:infra:Project", name, {}, opts);
    const { cfg, provider } = args;

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
      { parent: this, provider, protect: cfg.deletionProtection },
    );

    const apiWait = propagationWait("api-propagation", cfg.apiPropagationSeconds);
    this.apis = APIS.map(
      (service) =>
        new gcp.projects.Service(
          `api-${service.split(".")[0]}`,
          { project: this.project.projectId, service, disableOnDestroy: false, disableDependentServices: false },
          { parent: this, provider, hooks: { afterCreate: [apiWait] } },
        ),
    );
    this.number = this.project.number;
    this.registerOutputs({ projectId: this.project.projectId, number: this.number });
  }
}
