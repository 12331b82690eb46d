/**
 * Secret Manager: everything sensitive the gateway reads, each secret granted to the runtime account on its own
 * (roles/secretmanager.secretAccessor per secret, never project-wide), replicated only in the environment's regions,
 * and read by Cloud Run at a pinned version (pitfall 6) as a secret env var or a secret volume, never as plaintext.
 *
 * - tenants file and admin-key SHA-256: the program creates the secrets, operators add versions with gcloud
 *   (docs/operations.md) and pin them with tenantsSecretVersion / adminKeySecretVersion. Pulumi never sees them.
 * - redis-url: `rediss://:<AUTH>@host:port`. The gateway takes Redis credentials from REDIS_URL only, so the AUTH
 *   string Memorystore generates (pitfall 9) is copied from the instance's authString output into this version,
 *   which stays a Pulumi secret in state.
 * - redis-ca: the instance's server CA certificates (all of them, so a CA rotation keeps working; pitfall 8).
 * - gmp-config: the metrics sidecar's RunMonitoring config (not sensitive; Cloud Run mounts files only from secrets).
 * - gateway-keys: the managed key records (SHA-256 digests, never a key; docs/keys.md). The gateway itself reads the
 *   latest version and adds one per change (GATEWAY_KEYS_SECRET), so it is granted secretAccessor and
 *   secretVersionAdder on this one secret — nothing project-wide, and no version is written or pinned by Pulumi.
 *
 * Each grant waits iamPropagationSeconds after creation before Cloud Run, which checks access at deploy (pitfall 5),
 * is created.
 *
 * Versions the program writes are disabled, not destroyed, when a new value replaces them (deletionPolicy DISABLE): the
 * previous Cloud Run revision pins the previous version number, and a rollback to it only needs that version enabled
 * again (`gcloud secrets versions enable`, docs/operations.md, Rollback). A destroyed version is gone for good.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { FIXED_SECRET_IDS } from "../config.js";
import type { Cache } from "./cache.js";
import { childOptions, PORTS, type Context } from "./common.js";
import type { Identities } from "./identities.js";

const [ADMIN_KEY_SECRET, REDIS_URL_SECRET, REDIS_CA_SECRET, COLLECTOR_CONFIG_SECRET, KEYS_SECRET] = FIXED_SECRET_IDS;

/** The Managed Service for Prometheus sidecar scrapes the gateway's metrics listener (GATEWAY_METRICS_PORT). */
export const COLLECTOR_CONFIG = [
  "apiVersion: monitoring.googleapis.com/v1beta",
  "kind: RunMonitoring",
  "metadata:",
  "  name: gemini-gateway",
  "spec:",
  "  endpoints:",
  `    - port: ${PORTS.metrics}`,
  "      path: /metrics",
  "      interval: 30s",
  "",
].join("\n");

export interface SecretRef {
  readonly secret: gcp.secretmanager.Secret;
  readonly secretId: string;
  /** The pinned version number Cloud Run reads. */
  readonly version: pulumi.Input<string>;
  readonly grant: gcp.secretmanager.SecretIamMember;
}

/** A secret the gateway writes at run time: no version from the program; read and add-version grants. */
export interface WritableSecretRef {
  readonly secret: gcp.secretmanager.Secret;
  readonly secretId: string;
  /** `projects/{project}/secrets/{id}`: what the gateway is told (GATEWAY_KEYS_SECRET). */
  readonly name: pulumi.Output<string>;
  readonly grants: readonly gcp.secretmanager.SecretIamMember[];
}

export interface SecretsArgs {
  identities: Identities;
  cache: Cache;
}

export class Secrets extends pulumi.ComponentResource {
  readonly tenants: SecretRef;
  readonly adminKeySha256: SecretRef;
  readonly redisUrl: SecretRef;
  readonly redisCa: SecretRef;
  readonly collectorConfig: SecretRef;
  readonly keys: WritableSecretRef;

  constructor(name: string, args: SecretsArgs, ctx: Context, opts?: pulumi.ComponentResourceOptions) {
    super("gemini-gateway:infra:Secrets", name, {}, opts);
    const { cfg } = ctx;
    const redis = args.cache.instance;

    this.tenants = this.secret(ctx, args, cfg.tenantsSecretId, "tenants", cfg.tenantsSecretVersion);
    this.adminKeySha256 = this.secret(ctx, args, ADMIN_KEY_SECRET, "admin", cfg.adminKeySecretVersion);
    this.redisUrl = this.secret(
      ctx,
      args,
      REDIS_URL_SECRET,
      "redis",
      pulumi.secret(pulumi.interpolate`rediss://:${redis.authString}@${redis.host}:${redis.port}`),
    );
    this.redisCa = this.secret(
      ctx,
      args,
      REDIS_CA_SECRET,
      "redis",
      redis.serverCaCerts.apply((certs) => `${certs.map((c) => c.cert.trim()).join("\n")}\n`),
    );
    this.collectorConfig = this.secret(
      ctx,
      args,
      COLLECTOR_CONFIG_SECRET,
      "telemetry",
      pulumi.output(COLLECTOR_CONFIG),
    );
    this.keys = this.writableSecret(ctx, args, KEYS_SECRET, "keys");
    this.registerOutputs({
      tenants: this.tenants.secretId,
      adminKeySha256: this.adminKeySha256.secretId,
      keys: this.keys.secretId,
    });
  }

  /** The secret itself: replicated in the stack's regions only, protected from deletion where the stack says. */
  private secretResource(ctx: Context, secretId: string, purpose: string): gcp.secretmanager.Secret {
    const { cfg } = ctx;
    return new gcp.secretmanager.Secret(
      secretId,
      {
        project: cfg.projectId,
        secretId,
        labels: { purpose },
        replication: { userManaged: { replicas: cfg.regions.map((location) => ({ location })) } },
        deletionProtection: cfg.deletionProtection,
      },
      childOptions(this, ctx),
    );
  }

  /**
   * A secret the gateway keeps itself: it reads the latest version and adds versions (each change one version, the
   * versions its history). Two grants on this secret only: secretAccessor (versions.access) and secretVersionAdder
   * (versions.add). Listing, disabling or destroying versions stays with operators.
   */
  private writableSecret(ctx: Context, args: SecretsArgs, secretId: string, purpose: string): WritableSecretRef {
    const { cfg } = ctx;
    const secret = this.secretResource(ctx, secretId, purpose);
    const grants = (["secretAccessor", "secretVersionAdder"] as const).map(
      (role) =>
        new gcp.secretmanager.SecretIamMember(
          `${secretId}-${role === "secretAccessor" ? "accessor" : "version-adder"}`,
          {
            project: cfg.projectId,
            secretId: secret.secretId,
            role: `roles/secretmanager.${role}`,
            member: args.identities.runtime.member,
          },
          childOptions(this, ctx, {
            dependsOn: [args.identities.runtime.account],
            hooks: { afterCreate: [ctx.iamWait] },
          }),
        ),
    );
    const name = pulumi.interpolate`projects/${cfg.projectId}/secrets/${secret.secretId}`;
    return { secret, secretId, name, grants };
  }

  /**
   * A secret with a per-secret accessor grant. `value` as a version number string means the version is added by
   * operators (pinned by config); as an Output, the program writes that value as a new version and pins it.
   */
  private secret(
    ctx: Context,
    args: SecretsArgs,
    secretId: string,
    purpose: string,
    value: string | pulumi.Output<string>,
  ): SecretRef {
    const { cfg } = ctx;
    const secret = this.secretResource(ctx, secretId, purpose);
    let version: pulumi.Input<string>;
    if (typeof value === "string") {
      version = value;
    } else {
      const written = new gcp.secretmanager.SecretVersion(
        `${secretId}-version`,
        { secret: secret.id, secretData: value, deletionPolicy: "DISABLE" },
        childOptions(this, ctx),
      );
      version = written.version;
    }
    const grant = new gcp.secretmanager.SecretIamMember(
      `${secretId}-accessor`,
      {
        project: cfg.projectId,
        secretId: secret.secretId,
        role: "roles/secretmanager.secretAccessor",
        member: args.identities.runtime.member,
      },
      childOptions(this, ctx, { dependsOn: [args.identities.runtime.account], hooks: { afterCreate: [ctx.iamWait] } }),
    );
    return { secret, secretId, version, grant };
  }
}
