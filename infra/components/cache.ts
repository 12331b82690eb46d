/**
 * Memorystore for Redis: the gateway's shared state (quota windows, spend counters, budget switch, response cache).
 * AUTH and in-transit encryption together (pitfalls 8, 9: TLS can only be chosen at creation), reachable only through
 * private services access on the environment's own VPC. One instance in the primary region serves every region, so
 * limits stay fleet-wide (infra/README.md discusses the trade-off). The AUTH string and the server CA leave the
 * instance only through Secret Manager (secrets.ts).
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { childOptions, NAMES, primaryRegion, type Context } from "./common.js";
import type { Network } from "./network.js";

export interface CacheArgs {
  network: Network;
}

export class Cache extends pulumi.ComponentResource {
  readonly instance: gcp.redis.Instance;

  constructor(name: string, args: CacheArgs, ctx: Context, opts?: pulumi.ComponentResourceOptions) {
    super("gemini-gateway:infra:Cache", name, {}, opts);
    const { cfg } = ctx;
    const { network } = args;

    this.instance = new gcp.redis.Instance(
      "redis",
      {
        project: cfg.projectId,
        name: NAMES.redis,
        displayName: "Gemini gateway shared state",
        region: primaryRegion(cfg),
        tier: cfg.redisTier,
        memorySizeGb: cfg.redisMemoryGb,
        redisVersion: cfg.redisVersion,
        authEnabled: true,
        transitEncryptionMode: "SERVER_AUTHENTICATION",
        connectMode: "PRIVATE_SERVICE_ACCESS",
        authorizedNetwork: network.networkPath,
        reservedIpRange: NAMES.psaRange,
        // Counters and cached answers all carry TTLs: under memory pressure evict those rather than refuse writes.
        redisConfigs: { "maxmemory-policy": "volatile-lru" },
        persistenceConfig: { persistenceMode: "DISABLED" },
        maintenancePolicy: {
          weeklyMaintenanceWindows: [{ day: "SUNDAY", startTime: { hours: 3, minutes: 0, seconds: 0, nanos: 0 } }],
        },
        deletionProtection: cfg.deletionProtection,
      },
      // The name is fixed, so a replacement (a tier change) must delete first; the gateway fails open meanwhile.
      childOptions(this, ctx, { dependsOn: [network.network, network.psaConnection], deleteBeforeReplace: true }),
    );
    this.registerOutputs({ host: this.instance.host, port: this.instance.port });
  }
}
