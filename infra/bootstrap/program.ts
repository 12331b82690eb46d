/**
 * The bootstrap (seed) stack: composition only.
 *
 *   seed project APIs → state bucket and one KMS key per stack → environment tag and folder guardrails
 *   → GitHub federation (a provider per CI identity) → per environment: a preview and an apply identity and their grants
 *
 * Its outputs are what the environment programs read (infra/bootstrap.ts) and what the workflows' repository variables
 * are set from (docs/operations.md, CI).
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { Deployer, type ResolvedGrant } from "./components/deployer.js";
import { GithubFederation } from "./components/federation.js";
import { FolderGuardrails } from "./components/folder-guardrails.js";
import { StateBackend } from "./components/state.js";
import { ENVIRONMENTS, environmentOf, loadBootstrapConfig, type BootstrapConfig, type Environment } from "./config.js";
import { attributeCondition, attributeMapping, identityName, type CiRole } from "./github.js";
import { DELEGATED_PROJECT_ROLES, rolesFor, stackStatePrefixes, type RoleGrant } from "./roles.js";

/** The environment program's Pulumi project: its stacks' state paths. */
export const ENVIRONMENT_PROJECT = "gemini-gateway";
export const BOOTSTRAP_STACK = "bootstrap";
export const KEY_RING = "pulumi-state";
export const POOL_ID = "ggw-github";
/** The organisation tag whose value (the environment) scopes each deployer's org-level role. */
export const ENVIRONMENT_TAG = "ggw-environment";

/** APIs the seed project serves: its own resources, and the client-based APIs its accounts' calls are billed to. */
export const SEED_APIS = [
  "serviceusage.googleapis.com",
  "cloudresourcemanager.googleapis.com",
  "cloudbilling.googleapis.com",
  "billingbudgets.googleapis.com",
  "iam.googleapis.com",
  "iamcredentials.googleapis.com",
  "sts.googleapis.com",
  "cloudkms.googleapis.com",
  "storage.googleapis.com",
  "orgpolicy.googleapis.com",
] as const;

export const accountId = (env: Environment, role: CiRole) => `ggw-${identityName(env, role)}`;
export const accountEmail = (cfg: BootstrapConfig, env: Environment, role: CiRole) =>
  `${accountId(env, role)}@${cfg.seedProjectId}.iam.gserviceaccount.com`;
export const secretsProviderUrl = (cfg: BootstrapConfig, stack: string) =>
  `gcpkms://projects/${cfg.seedProjectId}/locations/${cfg.location}/keyRings/${KEY_RING}/cryptoKeys/${stack}`;

const quoteList = (items: readonly string[]) => items.map((i) => `'${i}'`).join(", ");

export async function bootstrapStack(): Promise<Record<string, pulumi.Input<unknown>>> {
  const cfg = loadBootstrapConfig();
  const provider = new gcp.Provider("gcp", {
    project: cfg.seedProjectId,
    region: cfg.location,
    defaultLabels: {
      env: BOOTSTRAP_STACK,
      app: ENVIRONMENT_PROJECT,
      owner: cfg.owner,
      "cost-center": cfg.costCenter,
      "managed-by": "pulumi",
    },
  });
  const apis = SEED_APIS.map(
    (service) =>
      new gcp.projects.Service(
        `api-${service.split(".")[0]}`,
        { project: cfg.seedProjectId, service, disableOnDestroy: false, disableDependentServices: false },
        { provider },
      ),
  );
  const opts: pulumi.ComponentResourceOptions = { providers: { gcp: provider }, dependsOn: apis };

  const state = new StateBackend(
    "state",
    {
      project: cfg.seedProjectId,
      location: cfg.location,
      bucketName: cfg.stateBucket,
      stacks: [BOOTSTRAP_STACK, ...ENVIRONMENTS],
      keyRingName: KEY_RING,
      rotationPeriod: "7776000s", // 90 days
    },
    opts,
  );

  const tagKey = new gcp.tags.TagKey(
    "environment-tag",
    {
      parent: `organizations/${cfg.orgId}`,
      shortName: ENVIRONMENT_TAG,
      description: "Gemini gateway environment: scopes each environment's deployer (org-level grants)",
    },
    { provider, protect: true },
  );
  const guardrails = Object.fromEntries(
    ENVIRONMENTS.map((env) => {
      const value = new gcp.tags.TagValue(
        `environment-tag-${env}`,
        { parent: tagKey.id, shortName: env, description: `The ${env} environment's folder` },
        { provider, protect: true },
      );
      return [env, new FolderGuardrails(env, { folderId: environmentOf(cfg, env).folderId, tagValue: value.id }, opts)];
    }),
  ) as Record<Environment, FolderGuardrails>;

  const identities = ENVIRONMENTS.flatMap((env) => (["preview", "apply"] as const).map((role) => ({ env, role })));
  const federation = new GithubFederation(
    "github",
    {
      project: cfg.seedProjectId,
      poolId: POOL_ID,
      description: `CI of ${cfg.githubRepository} (repository id ${cfg.githubRepositoryId})`,
      identities: identities.map(({ env, role }) => ({
        name: identityName(env, role),
        attributeCondition: attributeCondition(cfg, env, role),
        attributeMapping: attributeMapping(env, role),
      })),
    },
    opts,
  );

  const resolve = (env: Environment, grant: RoleGrant): ResolvedGrant => {
    const folderId = environmentOf(cfg, env).folderId;
    const condition = (() => {
      switch (grant.condition) {
        case "delegated-grants":
          return {
            title: "Delegated role grants",
            description: "May grant or revoke only the roles the environment program grants on its project",
            expression: `api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly([${quoteList(DELEGATED_PROJECT_ROLES)}])`,
          };
        case "environment-tag":
          return {
            title: `Only ${env}`,
            description: `Only resources tagged ${ENVIRONMENT_TAG}=${env} (the ${env} folder and its project)`,
            expression: `resource.matchTag('${cfg.orgId}/${ENVIRONMENT_TAG}', '${env}')`,
          };
        case "stack-prefix":
          return {
            title: `Only the ${env} stack's state`,
            description: `Checkpoint, history, backups and lock of ${ENVIRONMENT_PROJECT}/${env}`,
            expression: stackStatePrefixes(cfg.stateBucket, ENVIRONMENT_PROJECT, env)
              .map((prefix) => `resource.name.startsWith('${prefix}')`)
              .join(" || "),
          };
        default:
          return undefined;
      }
    })();
    const base = { role: grant.role, ...(condition ? { condition } : {}) };
    switch (grant.scope) {
      case "environment-folder":
        return { ...base, target: { kind: "folder", folder: folderId } };
      case "organization":
        return { ...base, target: { kind: "organization", orgId: cfg.orgId } };
      case "billing-account":
        return { ...base, target: { kind: "billing-account", billingAccount: cfg.billingAccount } };
      case "state-bucket":
        return { ...base, target: { kind: "bucket", bucket: state.bucket.name } };
      case "stack-key":
        return { ...base, key: env, target: { kind: "crypto-key", cryptoKeyId: state.keys[env]!.id } };
      case "bootstrap-key":
        return {
          ...base,
          key: BOOTSTRAP_STACK,
          target: { kind: "crypto-key", cryptoKeyId: state.keys[BOOTSTRAP_STACK]!.id },
        };
      case "seed-project":
        return { ...base, target: { kind: "project", project: cfg.seedProjectId } };
    }
  };

  const deployers = Object.fromEntries(
    identities.map(({ env, role }) => [
      identityName(env, role),
      new Deployer(
        identityName(env, role),
        {
          project: cfg.seedProjectId,
          accountId: accountId(env, role),
          email: accountEmail(cfg, env, role),
          displayName:
            role === "apply" ? `CI: pulumi up ${env} (deploy workflow)` : `CI: pulumi preview ${env} (read-only)`,
          principalSet: federation.principalSet(identityName(env, role)),
          grants: rolesFor(role, env).map((grant) => resolve(env, grant)),
          impersonators: role === "apply" ? cfg.operators : [],
          grantsAfter: [guardrails[env].tagBinding],
        },
        opts,
      ),
    ]),
  );

  return {
    seedProject: cfg.seedProjectId,
    stateBucket: pulumi.interpolate`gs://${state.bucket.name}`,
    workloadIdentityPool: federation.pool.name,
    secretsProviders: { [BOOTSTRAP_STACK]: secretsProviderUrl(cfg, BOOTSTRAP_STACK) },
    stacks: Object.fromEntries(
      ENVIRONMENTS.map((env) => [
        env,
        {
          projectId: environmentOf(cfg, env).projectId,
          folderId: environmentOf(cfg, env).folderId,
          secretsProvider: secretsProviderUrl(cfg, env),
          ...Object.fromEntries(
            (["preview", "apply"] as const).map((role) => [
              role,
              {
                serviceAccount: deployers[identityName(env, role)]!.email,
                workloadIdentityProvider: federation.providers[identityName(env, role)]!.name,
              },
            ]),
          ),
        },
      ]),
    ),
  };
}
