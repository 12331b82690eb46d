/**
 * Reading a mocked run: finders, flattening, and the readable plan the snapshots commit. No test-framework imports,
 * so the offline policy check can print the same plan.
 */
import { createHash } from "node:crypto";
import type { CapturedResource, ProgramRun } from "./run.js";

export const TYPES = {
  provider: "pulumi:providers:gcp",
  project: "gcp:organizations/project:Project",
  api: "gcp:projects/service:Service",
  projectIam: "gcp:projects/iAMMember:IAMMember",
  account: "gcp:serviceaccount/account:Account",
  accountIam: "gcp:serviceaccount/iAMMember:IAMMember",
  accountKey: "gcp:serviceaccount/key:Key",
  secret: "gcp:secretmanager/secret:Secret",
  secretVersion: "gcp:secretmanager/secretVersion:SecretVersion",
  secretIam: "gcp:secretmanager/secretIamMember:SecretIamMember",
  redis: "gcp:redis/instance:Instance",
  network: "gcp:compute/network:Network",
  subnet: "gcp:compute/subnetwork:Subnetwork",
  globalAddress: "gcp:compute/globalAddress:GlobalAddress",
  psa: "gcp:servicenetworking/connection:Connection",
  run: "gcp:cloudrunv2/service:Service",
  runV1: "gcp:cloudrun/service:Service",
  runIam: "gcp:cloudrunv2/serviceIamMember:ServiceIamMember",
  repository: "gcp:artifactregistry/repository:Repository",
  repositoryIam: "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember",
  alert: "gcp:monitoring/alertPolicy:AlertPolicy",
  channel: "gcp:monitoring/notificationChannel:NotificationChannel",
  uptime: "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig",
  dashboard: "gcp:monitoring/dashboard:Dashboard",
  budget: "gcp:billing/budget:Budget",
  topic: "gcp:pubsub/topic:Topic",
  subscription: "gcp:pubsub/subscription:Subscription",
  pool: "gcp:iam/workloadIdentityPool:WorkloadIdentityPool",
  poolProvider: "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider",
  armorTemplate: "gcp:modelarmor/template:Template",
  neg: "gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup",
  backend: "gcp:compute/backendService:BackendService",
  securityPolicy: "gcp:compute/securityPolicy:SecurityPolicy",
  urlMap: "gcp:compute/uRLMap:URLMap",
  httpsProxy: "gcp:compute/targetHttpsProxy:TargetHttpsProxy",
  certificate: "gcp:compute/managedSslCertificate:ManagedSslCertificate",
  forwardingRule: "gcp:compute/globalForwardingRule:GlobalForwardingRule",
  orgPolicy: "gcp:orgpolicy/policy:Policy",
  defaultServiceAccounts: "gcp:projects/defaultServiceAccounts:DefaultServiceAccounts",
  iamMemberRemove: "gcp:projects/iamMemberRemove:IamMemberRemove",
  serviceIdentity: "gcp:projects/serviceIdentity:ServiceIdentity",
  customService: "gcp:monitoring/customService:CustomService",
  slo: "gcp:monitoring/slo:Slo",
  // the bootstrap (seed) program
  bucket: "gcp:storage/bucket:Bucket",
  bucketIam: "gcp:storage/bucketIAMMember:BucketIAMMember",
  keyRing: "gcp:kms/keyRing:KeyRing",
  cryptoKey: "gcp:kms/cryptoKey:CryptoKey",
  cryptoKeyIam: "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember",
  folderIam: "gcp:folder/iAMMember:IAMMember",
  organizationIam: "gcp:organizations/iAMMember:IAMMember",
  billingAccountIam: "gcp:billing/accountIamMember:AccountIamMember",
  tagKey: "gcp:tags/tagKey:TagKey",
  tagValue: "gcp:tags/tagValue:TagValue",
  tagBinding: "gcp:tags/tagBinding:TagBinding",
} as const;

/** Every IAM grant type the programs register (the "no Owner or Editor anywhere" checks read these). */
export const GRANT_TYPES: readonly string[] = [
  TYPES.projectIam,
  TYPES.accountIam,
  TYPES.secretIam,
  TYPES.runIam,
  TYPES.repositoryIam,
  TYPES.bucketIam,
  TYPES.cryptoKeyIam,
  TYPES.folderIam,
  TYPES.organizationIam,
  TYPES.billingAccountIam,
  "gcp:pubsub/topicIAMMember:TopicIAMMember",
  "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember",
];

export function ofType(run: ProgramRun, type: string): CapturedResource[] {
  return run.resources.filter((r) => r.type === type);
}

export function named(run: ProgramRun, type: string, name: string): CapturedResource {
  const found = run.resources.find((r) => r.type === type && r.name === name);
  if (!found) throw new Error(`no ${type} named ${name}`);
  return found;
}

export function countsByType(run: ProgramRun): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of [...run.resources].sort((a, b) => a.type.localeCompare(b.type))) {
    counts[r.type] = (counts[r.type] ?? 0) + 1;
  }
  return counts;
}

/** A value at a dotted path (`template.containers[0].image`). */
export function at(value: unknown, path: string): unknown {
  let current = value;
  for (const part of path.match(/[^.[\]]+/g) ?? []) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/** Leaf values by path, keys sorted: `a.b[0].c` → value. */
export function flatten(value: unknown, prefix = ""): [string, unknown][] {
  if (Array.isArray(value)) {
    if (value.length === 0) return [[prefix, []]];
    return value.flatMap((v, i) => flatten(v, `${prefix}[${i}]`));
  }
  if (value && typeof value === "object") {
    const keys = Object.keys(value).sort();
    if (keys.length === 0) return [[prefix, {}]];
    return keys.flatMap((k) => flatten((value as Record<string, unknown>)[k], prefix ? `${prefix}.${k}` : k));
  }
  return [[prefix, value]];
}

/**
 * Inputs as reviewers read them: Cloud Run env vars keyed by name (`envs.LOG_LEVEL.value`) rather than by position,
 * so adding one variable changes one line of a diff, not every following one.
 */
export function readableInputs(resource: CapturedResource): Record<string, unknown> {
  if (resource.type !== TYPES.run) return resource.inputs;
  const copy = structuredClone(resource.inputs);
  const containers = at(copy, "template.containers");
  if (Array.isArray(containers)) {
    for (const c of containers as { envs?: unknown }[]) {
      if (Array.isArray(c.envs)) {
        c.envs = Object.fromEntries(
          (c.envs as { name: string }[]).map(({ name, ...rest }) => [name, rest] as [string, unknown]),
        );
      }
    }
  }
  return copy;
}

function show(value: unknown): string {
  if (typeof value === "string" && value.length > 600) {
    const digest = createHash("sha256").update(value).digest("hex").slice(0, 12);
    return `«${value.length} chars, sha256 ${digest}»`;
  }
  return JSON.stringify(value);
}

/**
 * The plan as reviewers read it: counts by type, then every resource (by type, then name) with its inputs flattened
 * and sorted, then the outputs. <unknown> marks what the provider computes during the apply; <secret>, secret values.
 */
export function renderPlan(run: ProgramRun, stack: string): string {
  const lines = [
    `# Plan of stack "${stack}" under mocks (a first preview: <unknown> = computed by the provider at apply time).`,
    `# Regenerate: npx vitest run test/infra -u`,
    "",
    `## ${run.resources.length} resources by type`,
  ];
  for (const [type, n] of Object.entries(countsByType(run))) lines.push(`${String(n).padStart(4)}  ${type}`);
  const sorted = [...run.resources].sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name));
  for (const r of sorted) {
    lines.push("", `## ${r.type} :: ${r.name}`);
    for (const [path, value] of flatten(readableInputs(r))) lines.push(`  ${path} = ${show(value)}`);
  }
  lines.push("", "## outputs");
  for (const [path, value] of flatten(run.outputs)) lines.push(`  ${path} = ${show(value)}`);
  return `${lines.join("\n")}\n`;
}
