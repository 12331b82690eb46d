/** Data guardrails: Redis locked down, registries cleaned up, secrets kept in chosen regions and their versions kept. */
import * as gcp from "@pulumi/gcp";
import { validateResourceOfType } from "@pulumi/policy";
import { configOf, ENVIRONMENT_PROPERTY } from "../lib/config.js";
import { environmentOfResource, isProd } from "../lib/environment.js";
import { steps } from "../lib/guardrail.js";
import type { Guardrail, ResourceGuardrail } from "../lib/types.js";
import { bool, isKnown, knownItems, read, str, UNKNOWN } from "../lib/values.js";

const envSchema = { properties: { environment: ENVIRONMENT_PROPERTY } };

export const redisAuthAndTls: ResourceGuardrail = {
  name: "redis-auth-and-tls",
  category: "data",
  description:
    "Every Memorystore Redis instance sets authEnabled: true and transitEncryptionMode: SERVER_AUTHENTICATION.",
  rationale:
    "The store holds every tenant's quota and spend counters, cached model answers and the budget kill switch; " +
    "without AUTH anything in the VPC can read or reset them, without TLS they cross the network in clear. TLS " +
    "can only be enabled when the instance is created.",
  severity: "critical",
  enforcementLevel: "mandatory",
  remediationSteps: steps(
    'Set authEnabled: true and transitEncryptionMode: "SERVER_AUTHENTICATION" (this replaces an existing instance).',
    "Give the gateway REDIS_URL=rediss://… from a secret holding the authString output, and REDIS_TLS_CA_FILE with",
    "serverCaCerts[0].cert.",
  ),
  configSchema: { properties: {} },
  validateResource: validateResourceOfType(gcp.redis.Instance, (redis, args, report) => {
    const auth = bool(read(() => redis.authEnabled));
    if (isKnown(auth) && auth !== true) {
      report(
        `Redis instance "${args.name}" has AUTH disabled (authEnabled ${auth === undefined ? "unset" : "false"}).`,
      );
    }
    const tls = str(read(() => redis.transitEncryptionMode));
    if (isKnown(tls) && tls !== "SERVER_AUTHENTICATION") {
      report(
        `Redis instance "${args.name}" has transitEncryptionMode ${tls ?? "unset (DISABLED)"}: traffic is not encrypted.`,
      );
    }
  }),
};

export const redisPrivateServiceAccess: ResourceGuardrail = {
  name: "redis-private-service-access",
  category: "data",
  description:
    "Every Memorystore Redis instance uses connectMode PRIVATE_SERVICE_ACCESS on an explicit, non-default network " +
    "(authorizedNetwork set and not the `default` network).",
  rationale:
    "The default network has permissive auto-created firewall rules and is shared by anything else in the " +
    "project; private services access keeps the instance on the gateway's own VPC range.",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Create a dedicated gcp.compute.Network, a GlobalAddress (purpose VPC_PEERING) and a servicenetworking " +
    'Connection, then set connectMode: "PRIVATE_SERVICE_ACCESS" and authorizedNetwork: network.id.',
  configSchema: { properties: {} },
  validateResource: validateResourceOfType(gcp.redis.Instance, (redis, args, report) => {
    const mode = str(read(() => redis.connectMode));
    if (isKnown(mode) && mode !== "PRIVATE_SERVICE_ACCESS") {
      report(`Redis instance "${args.name}" has connectMode ${mode ?? "unset (DIRECT_PEERING)"}.`);
    }
    const network = str(read(() => redis.authorizedNetwork));
    if (network === undefined || network === "") {
      report(`Redis instance "${args.name}" sets no authorizedNetwork: it joins the project's default network.`);
    } else if (typeof network === "string" && /(^|\/)default$/.test(network)) {
      report(`Redis instance "${args.name}" is on the default network (${network}).`);
    }
  }),
};

export const redisHaInProd: ResourceGuardrail = {
  name: "redis-ha-in-prod",
  category: "data",
  description: "In prod, every Memorystore Redis instance has tier STANDARD_HA (default BASIC).",
  rationale:
    "A BASIC instance has no replica: maintenance or a zone failure empties it, resetting every tenant's quota " +
    "window and the budget kill switch while the gateway fails open or closed.",
  severity: "medium",
  enforcementLevel: "mandatory",
  remediationSteps: 'Set tier: "STANDARD_HA" for the prod stack (from stack config).',
  configSchema: envSchema,
  validateResource: validateResourceOfType(gcp.redis.Instance, (redis, args, report) => {
    const { environment } = configOf<{ environment: string }>(args, envSchema);
    if (!isProd(environmentOfResource(environment, args))) args.notApplicable("Only applies to prod");
    const tier = str(read(() => redis.tier));
    if (isKnown(tier) && tier !== "STANDARD_HA") {
      report(`Redis instance "${args.name}" has tier ${tier ?? "unset (BASIC)"} in prod; use STANDARD_HA.`);
    }
  }),
};

export const artifactRegistryCleanupPolicies: ResourceGuardrail = {
  name: "artifact-registry-cleanup-policies",
  category: "data",
  description:
    "Every Artifact Registry repository has at least one cleanup policy and cleanupPolicyDryRun is not true. " +
    "(Public IAM on repositories is iam-no-public-principals.)",
  rationale: "Every CI build pushes an image; without cleanup the repository grows (and bills) forever.",
  severity: "low",
  enforcementLevel: "advisory",
  remediationSteps:
    'Add cleanupPolicies, e.g. KEEP mostRecentVersions { keepCount: 20 } and DELETE condition { tagState: "UNTAGGED", ' +
    'olderThan: "2592000s" }, and leave cleanupPolicyDryRun false.',
  configSchema: { properties: {} },
  validateResource: validateResourceOfType(gcp.artifactregistry.Repository, (repo, args, report) => {
    const policies = knownItems(read(() => repo.cleanupPolicies));
    if (policies.values.length === 0 && !policies.sawUnknown) {
      report(`Artifact Registry repository "${args.name}" has no cleanupPolicies.`);
    }
    if (read(() => repo.cleanupPolicyDryRun) === true) {
      report(`Artifact Registry repository "${args.name}" has cleanupPolicyDryRun: true: nothing is deleted.`);
    }
  }),
};

export const secretUserManagedReplication: ResourceGuardrail = {
  name: "secret-user-managed-replication",
  category: "data",
  description:
    "Every Secret Manager secret uses replication.userManaged with explicit replicas (whose locations " +
    "allowed-locations checks), not replication.auto.",
  rationale:
    "Automatic replication lets Google store the secret in any region; the gateway's API key hashes, Redis AUTH " +
    "string and admin key must stay in the regions the project is allowed to use.",
  severity: "medium",
  enforcementLevel: "mandatory",
  remediationSteps: 'Set replication: { userManaged: { replicas: [{ location: "<region>" }, ...] } }.',
  configSchema: { properties: {} },
  validateResource: validateResourceOfType(gcp.secretmanager.Secret, (secret, args, report) => {
    const replication = read(() => secret.replication);
    if (replication === UNKNOWN) return;
    const auto = read(() => replication?.auto);
    const userManaged = read(() => replication?.userManaged);
    if (auto !== undefined && auto !== null && auto !== UNKNOWN) {
      report(`Secret "${args.name}" uses automatic replication: its data may be stored in any region.`);
      return;
    }
    if (userManaged === undefined || userManaged === null) {
      report(`Secret "${args.name}" has no replication.userManaged replicas.`);
      return;
    }
    if (userManaged === UNKNOWN) return;
    const replicas = knownItems(read(() => userManaged.replicas));
    if (replicas.values.length === 0 && !replicas.sawUnknown) {
      report(`Secret "${args.name}" has replication.userManaged with no replicas.`);
    }
  }),
};

const RETAINING_POLICIES = new Set(["DISABLE", "ABANDON"]);

export const secretVersionsRetained: ResourceGuardrail = {
  name: "secret-versions-retained",
  category: "data",
  description:
    "Every Secret Manager secret version a stack writes sets deletionPolicy DISABLE (or ABANDON), so a replaced " +
    "version is disabled, not destroyed (the provider's default is DELETE).",
  rationale:
    "Cloud Run pins secret versions by number: the previous revision reads the previous version. Rolling back to it " +
    "after a rotation works only if that version still exists; a destroyed version cannot be restored.",
  severity: "medium",
  enforcementLevel: "mandatory",
  remediationSteps: steps(
    'Set deletionPolicy: "DISABLE" on gcp.secretmanager.SecretVersion. To roll back, enable the version again',
    "(gcloud secrets versions enable N --secret S) and route traffic to the revision that pins it.",
  ),
  configSchema: { properties: {} },
  validateResource: validateResourceOfType(gcp.secretmanager.SecretVersion, (version, args, report) => {
    const policy = str(read(() => version.deletionPolicy));
    if (!isKnown(policy)) return;
    if (policy === undefined || !RETAINING_POLICIES.has(policy)) {
      report(
        `Secret version "${args.name}" has deletionPolicy ${policy ?? "unset (DELETE)"}: replacing it destroys the ` +
          "version the previous revision reads.",
      );
    }
  }),
};

export const dataRules: Guardrail[] = [
  redisAuthAndTls,
  redisPrivateServiceAccess,
  redisHaInProd,
  artifactRegistryCleanupPolicies,
  secretUserManagedReplication,
  secretVersionsRetained,
];
