/**
 * Resource type tokens (checked against @pulumi/gcp 9.37's `__pulumiType`s; casing matters) and the shape of a
 * guardrail: a @pulumi/policy policy plus the metadata the docs and the offline check use.
 */
import type {
  PolicyConfigSchema,
  ResourceValidation,
  ResourceValidationPolicy,
  Severity,
  StackValidationPolicy,
} from "@pulumi/policy";

export const T = {
  project: "gcp:organizations/project:Project",
  projectService: "gcp:projects/service:Service",
  projectIamMember: "gcp:projects/iAMMember:IAMMember",
  projectIamBinding: "gcp:projects/iAMBinding:IAMBinding",
  projectIamPolicy: "gcp:projects/iAMPolicy:IAMPolicy",
  serviceAccount: "gcp:serviceaccount/account:Account",
  serviceAccountKey: "gcp:serviceaccount/key:Key",
  wifProvider: "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider",
  cloudRunV1Service: "gcp:cloudrun/service:Service",
  cloudRunService: "gcp:cloudrunv2/service:Service",
  cloudRunServiceIamMember: "gcp:cloudrunv2/serviceIamMember:ServiceIamMember",
  redisInstance: "gcp:redis/instance:Instance",
  secret: "gcp:secretmanager/secret:Secret",
  secretVersion: "gcp:secretmanager/secretVersion:SecretVersion",
  artifactRepository: "gcp:artifactregistry/repository:Repository",
  budget: "gcp:billing/budget:Budget",
  pubsubTopic: "gcp:pubsub/topic:Topic",
  pubsubSubscription: "gcp:pubsub/subscription:Subscription",
  alertPolicy: "gcp:monitoring/alertPolicy:AlertPolicy",
  notificationChannel: "gcp:monitoring/notificationChannel:NotificationChannel",
  modelArmorTemplate: "gcp:modelarmor/template:Template",
  orgPolicy: "gcp:orgpolicy/policy:Policy",
  defaultServiceAccounts: "gcp:projects/defaultServiceAccounts:DefaultServiceAccounts",
  serviceIdentity: "gcp:projects/serviceIdentity:ServiceIdentity",
  uptimeCheck: "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig",
  slo: "gcp:monitoring/slo:Slo",
  billingBudget: "gcp:billing/budget:Budget",
  gcpProvider: "pulumi:providers:gcp",
} as const;

/** IAM on the resource hierarchy (project, folder, organization): where primitive and admin roles are banned. */
export const HIERARCHY_IAM_TYPES: ReadonlySet<string> = new Set([
  T.projectIamMember,
  T.projectIamBinding,
  T.projectIamPolicy,
  "gcp:folder/iAMMember:IAMMember",
  "gcp:folder/iAMBinding:IAMBinding",
  "gcp:folder/iAMPolicy:IAMPolicy",
  "gcp:organizations/iAMMember:IAMMember",
  "gcp:organizations/iAMBinding:IAMBinding",
  "gcp:organizations/iAMPolicy:IAMPolicy",
]);

/** Project-level IAM only. */
export const PROJECT_IAM_TYPES: ReadonlySet<string> = new Set([
  T.projectIamMember,
  T.projectIamBinding,
  T.projectIamPolicy,
]);

export type Category = "identity" | "cloud-run" | "data" | "project" | "stack" | "gateway";

/** What every guardrail carries besides its validation function. */
export interface GuardrailMeta {
  name: string;
  description: string;
  severity: Severity;
  /** Only these two: `remediate` has no meaning for these rules and `disabled` is a deployment-time choice. */
  enforcementLevel: "mandatory" | "advisory";
  /** How to fix a violation (shown by Pulumi Cloud; copied into every offline violation). */
  remediationSteps: string;
  /** Why the rule exists. */
  rationale: string;
  category: Category;
  /** Always present (possibly with no properties) so the docs and the offline check can list it. */
  configSchema: PolicyConfigSchema;
}

export type ResourceGuardrail = ResourceValidationPolicy & GuardrailMeta & { validateResource: ResourceValidation };
export type StackGuardrail = StackValidationPolicy & GuardrailMeta;
export type Guardrail = ResourceGuardrail | StackGuardrail;

export function isStackGuardrail(g: Guardrail): g is StackGuardrail {
  return typeof (g as Partial<StackGuardrail>).validateStack === "function";
}
