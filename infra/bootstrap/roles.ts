/**
 * What each CI identity may do, as data: every role, where it is granted, and why. The bootstrap program grants exactly
 * these (components/deployer.ts), docs/operations.md lists them, and tests check both against the environment program's
 * plan. Predefined, granular roles only: never roles/owner or roles/editor (the policy pack refuses primitive roles on
 * the hierarchy, and the bootstrap's pack config allows these admin roles by name: policies/config/bootstrap.json).
 *
 * Checked against Google's IAM role reference (docs.cloud.google.com/iam/docs/roles-permissions/*, December 2026):
 * roles/orgpolicy.policyAdmin is grantable on the organisation only, hence the tag condition; Cloud Armor policies need
 * roles/compute.securityAdmin while roles/compute.networkAdmin attaches them to backend services (Cloud Armor docs,
 * "Set up IAM permissions").
 */
import { RUNTIME_ROLES } from "../components/identities.js";
import { VERTEX_AGENT_ROLE } from "../components/model-armor.js";
import type { Environment } from "./config.js";

/** Where a role is granted. */
export type GrantScope =
  | "environment-folder" // the environment's folder: its project inherits it, nothing else does
  | "organization" // only with the environment's tag as condition
  | "billing-account"
  | "state-bucket"
  | "stack-key" // the KMS key of the identity's own stack
  | "bootstrap-key" // the KMS key of the bootstrap stack (whose state holds no secret)
  | "seed-project";

export interface RoleGrant {
  role: string;
  scope: GrantScope;
  why: string;
  /**
   * - delegated-grants: the role may only grant or revoke DELEGATED_PROJECT_ROLES (iam.googleapis.com/modifiedGrantsByRole)
   * - environment-tag: only on resources tagged with the identity's environment (resource.matchTag)
   * - stack-prefix: only objects under the identity's own stack's state paths
   */
  condition?: "delegated-grants" | "environment-tag" | "stack-prefix";
  /** Only these environments (default: all). */
  only?: readonly Environment[];
}

/** The project-level roles the environment program grants, and so all the apply identity may grant on its project. */
export const DELEGATED_PROJECT_ROLES: readonly string[] = [...RUNTIME_ROLES, VERTEX_AGENT_ROLE];

export const APPLY_ROLES: readonly RoleGrant[] = [
  {
    role: "roles/resourcemanager.projectCreator",
    scope: "environment-folder",
    why: "creates the environment's project in its folder (the environment program removes the Owner grant Google gives the creator)",
  },
  {
    role: "roles/browser",
    scope: "environment-folder",
    why: "reads the folder and the project (resourcemanager.projects.get), which every project-scoped call checks",
  },
  {
    role: "roles/billing.projectManager",
    scope: "environment-folder",
    why: "links the project to the billing account (project side of the billing assignment)",
  },
  {
    role: "roles/serviceusage.serviceUsageAdmin",
    scope: "environment-folder",
    why: "enables the project's APIs and creates the service agents (generateServiceIdentity)",
  },
  {
    role: "roles/iam.serviceAccountAdmin",
    scope: "environment-folder",
    why: "creates the runtime and push accounts, grants itself actAs on them, disables the default compute account",
  },
  {
    role: "roles/resourcemanager.projectIamAdmin",
    scope: "environment-folder",
    condition: "delegated-grants",
    why: "grants the runtime account its four roles and Vertex AI's agent roles/modelarmor.user — and nothing else (delegated role grants)",
  },
  {
    role: "roles/compute.networkAdmin",
    scope: "environment-folder",
    why: "VPC, subnets, private services range, serverless NEGs, backend service, URL map, HTTPS proxy, SSL policy, address, forwarding rule",
  },
  {
    role: "roles/compute.securityAdmin",
    scope: "environment-folder",
    why: "the Cloud Armor security policy and the managed SSL certificate",
  },
  {
    role: "roles/servicenetworking.networksAdmin",
    scope: "environment-folder",
    why: "the private services access peering Memorystore uses",
  },
  { role: "roles/redis.admin", scope: "environment-folder", why: "the Memorystore instance" },
  {
    role: "roles/secretmanager.admin",
    scope: "environment-folder",
    why: "the secrets, the versions the program writes, and one accessor grant per secret",
  },
  {
    role: "roles/artifactregistry.admin",
    scope: "environment-folder",
    why: "the image repository, its cleanup policies and reader/writer grants; pushes images (build job)",
  },
  { role: "roles/run.admin", scope: "environment-folder", why: "the Cloud Run services and their invoker grants" },
  { role: "roles/modelarmor.admin", scope: "environment-folder", why: "the Model Armor templates" },
  {
    role: "roles/monitoring.editor",
    scope: "environment-folder",
    why: "notification channels, alert policies, uptime checks, the dashboard, services and SLOs",
  },
  {
    role: "roles/pubsub.admin",
    scope: "environment-folder",
    why: "the budget topics and subscriptions and their publisher/subscriber grants",
  },
  {
    role: "roles/resourcemanager.projectDeleter",
    scope: "environment-folder",
    only: ["dev"],
    why: "`pulumi destroy` of dev (prod's project is PREVENT-protected and deleted by hand)",
  },
  {
    role: "roles/orgpolicy.policyAdmin",
    scope: "organization",
    condition: "environment-tag",
    why: "the project's organization policies (grantable on the organisation only: limited to resources tagged with this environment)",
  },
  { role: "roles/billing.user", scope: "billing-account", why: "links the new project to the billing account" },
  {
    role: "roles/billing.costsManager",
    scope: "billing-account",
    why: "creates the project's budget (project Owner is not enough)",
  },
  {
    role: "roles/storage.objectViewer",
    scope: "state-bucket",
    why: "reads state: its own stack's and the bootstrap stack's outputs (StackReference)",
  },
  {
    role: "roles/storage.objectUser",
    scope: "state-bucket",
    condition: "stack-prefix",
    why: "writes its own stack's checkpoint, history, backups and lock, and nobody else's",
  },
  {
    role: "roles/cloudkms.cryptoKeyDecrypter",
    scope: "stack-key",
    why: "decrypts its stack's data key (secrets in state); the key was wrapped once at `pulumi stack init`",
  },
  {
    role: "roles/cloudkms.cryptoKeyDecrypter",
    scope: "bootstrap-key",
    why: "opens the bootstrap stack to read its outputs (that state holds no secret)",
  },
  {
    role: "roles/serviceusage.serviceUsageConsumer",
    scope: "seed-project",
    why: "the seed project is the quota project of its own accounts' client-based API calls",
  },
];

export const PREVIEW_ROLES: readonly RoleGrant[] = [
  {
    role: "roles/storage.objectViewer",
    scope: "state-bucket",
    why: "reads state: previews without --refresh read only the state (own stack and bootstrap outputs)",
  },
  {
    role: "roles/cloudkms.cryptoKeyDecrypter",
    scope: "stack-key",
    why: "decrypts its own stack's data key — and no other environment's",
  },
  {
    role: "roles/cloudkms.cryptoKeyDecrypter",
    scope: "bootstrap-key",
    why: "opens the bootstrap stack to read its outputs (that state holds no secret)",
  },
  {
    role: "roles/serviceusage.serviceUsageConsumer",
    scope: "seed-project",
    why: "the seed project is the quota project of its own accounts' client-based API calls",
  },
];

/** The roles of one identity in one environment. */
export const rolesFor = (role: "apply" | "preview", env: Environment): RoleGrant[] =>
  (role === "apply" ? APPLY_ROLES : PREVIEW_ROLES).filter((g) => !g.only || g.only.includes(env));

/**
 * The object-name prefixes of one stack in a DIY (bucket) backend with project-scoped stacks: its checkpoint, its
 * update history, its backups and its lock.
 */
export function stackStatePrefixes(bucket: string, project: string, stack: string): string[] {
  const objects = `projects/_/buckets/${bucket}/objects/.pulumi`;
  return [
    `${objects}/stacks/${project}/${stack}.json`,
    `${objects}/history/${project}/${stack}/`,
    `${objects}/backups/${project}/${stack}/`,
    `${objects}/locks/${project}/${stack}/`,
  ];
}
