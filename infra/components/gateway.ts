/**
 * The gateway on Cloud Run (v2), one service per region. Everything a guardrail reads is a plain value known at
 * preview: the explicit runtime account (pitfall 7), scaling bounds and concurrency, CPU/memory with cpuIdle and
 * startup boost, probes (/readyz to start, /healthz to stay alive), Direct VPC egress for private ranges only (Redis),
 * ingress (internal load balancer only when the edge exists, else all), deletion protection, the image from the
 * environment's own registry, and env var names taken from the service's ENV (service/src/config/env.ts), so the two
 * cannot drift. Secrets arrive as secret env vars or secret files at pinned versions, never as plain values.
 *
 * A second container, the Managed Service for Prometheus sidecar, scrapes the metrics listener
 * (GATEWAY_METRICS_PORT, reachable only on localhost) so the alert policies' PromQL has data.
 *
 * Access: no allUsers, IAM stays on (invokerIamDisabled false). roles/run.invoker goes to the configured invokers,
 * the budget push account (primary region) and the Monitoring service agent (uptime checks), whose grant takes the
 * agent from its ServiceIdentity (service-agents.ts) so it never names an agent that does not exist yet. The service
 * waits for the deployer's actAs grant on the runtime account (pitfall 7). See infra/README.md.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { ENV, type TraceExporterName } from "../../service/src/config/env.js";
import { poolFor } from "../../service/src/config/connections.js";
import { childOptions, NAMES, PATHS, PORTS, type Context } from "./common.js";
import type { Identities } from "./identities.js";
import type { Network } from "./network.js";
import type { Registry } from "./registry.js";
import type { SecretRef, Secrets } from "./secrets.js";

const TRACE_EXPORTER: TraceExporterName = "cloud-trace";
/** Cloud Run's default sidecar size, stated so that cpuIdle is explicit on every container. */
const COLLECTOR_LIMITS = { cpu: "1", memory: "512Mi" } as const;

export interface GatewayArgs {
  region: string;
  /** The gateway image, registry-relative (name@sha256:digest or name:tag): infra/release.ts decides it. */
  image: string;
  identities: Identities;
  secrets: Secrets;
  network: Network;
  registry: Registry;
  /** The budget push endpoint URL, also the OIDC audience (docs/budget-kill-switch.md). */
  budgetPushAudience: pulumi.Input<string>;
  /** Receives budget pushes: grants the push account the invoker role here. */
  receivesBudgetPushes: boolean;
  /** The Monitoring service agent (IAM member, from its ServiceIdentity), which signs uptime checks' OIDC tokens. */
  monitoringAgentMember: pulumi.Input<string>;
  /** The batch bucket (batch-bucket.ts), where batch jobs are staged. */
  batchBucket?: pulumi.Input<string>;
}

export class Gateway extends pulumi.ComponentResource {
  readonly service: gcp.cloudrunv2.Service;
  readonly invokerGrants: gcp.cloudrunv2.ServiceIamMember[] = [];

  constructor(name: string, args: GatewayArgs, ctx: Context, opts?: pulumi.ComponentResourceOptions) {
    super("gemini-gateway:infra:Gateway", name, {}, opts);
    const { cfg } = ctx;
    const { region, identities, secrets, network, registry } = args;
    const behindLoadBalancer = cfg.domain !== undefined;

    const plain = (envName: string, value: pulumi.Input<string>) => ({ name: envName, value });
    const fromSecret = (envName: string, ref: SecretRef) => ({
      name: envName,
      valueSource: { secretKeyRef: { secret: ref.secret.secretId, version: ref.version } },
    });
    const secretVolume = (volume: string, ref: SecretRef, path: string) => ({
      name: volume,
      secret: { secret: ref.secret.secretId, items: [{ path, version: ref.version }] },
    });

    const envs = [
      plain(ENV.PROJECT, cfg.projectId),
      plain(ENV.LOCATION, cfg.vertexLocation ?? region),
      plain(ENV.UPSTREAM, "vertex"),
      plain(ENV.CAPACITY, cfg.capacity),
      // rediss://:<AUTH>@host:port — credentials, so a secret even though the name does not look like one.
      fromSecret(ENV.REDIS_URL, secrets.redisUrl),
      plain(ENV.REDIS_TLS_CA_FILE, `${PATHS.redisCaDir}/${PATHS.redisCaFile}`),
      plain(ENV.TENANTS_FILE, `${PATHS.tenantsDir}/${PATHS.tenantsFile}`),
      fromSecret(ENV.ADMIN_KEY_SHA256, secrets.adminKeySha256),
      plain(ENV.METRICS_PORT, String(PORTS.metrics)),
      plain(ENV.BUDGET_PUSH_AUDIENCE, args.budgetPushAudience),
      plain(ENV.BUDGET_PUSH_SERVICE_ACCOUNT, identities.budgetPush.email),
      plain(ENV.TRACE_EXPORTER, TRACE_EXPORTER),
      plain(ENV.LOG_LEVEL, cfg.logLevel),
      // Enough connections per upstream that the instance's `concurrency` requests never wait for one.
      plain(ENV.UPSTREAM_CONNECTIONS, String(poolFor(cfg.concurrency))),
      ...(args.batchBucket ? [plain(ENV.BATCH_BUCKET, args.batchBucket)] : []),
      // The name of the secret holding the managed keys (docs/keys.md), not its value: the gateway reads and adds
      // versions through the API with its own identity.
      plain(ENV.KEYS_SECRET, secrets.keys.name),
    ];

    const secretGrants = [
      secrets.tenants,
      secrets.adminKeySha256,
      secrets.redisUrl,
      secrets.redisCa,
      secrets.collectorConfig,
    ]
      .map((ref) => ref.grant)
      .concat(secrets.keys.grants);

    this.service = new gcp.cloudrunv2.Service(
      `gateway-${region}`,
      {
        project: cfg.projectId,
        name: NAMES.service,
        location: region,
        description: `Gemini gateway (${cfg.environment})`,
        ingress: behindLoadBalancer ? "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER" : "INGRESS_TRAFFIC_ALL",
        invokerIamDisabled: false,
        deletionProtection: cfg.deletionProtection,
        // Clients behind the load balancer mint ID tokens for the public host name.
        ...(behindLoadBalancer ? { customAudiences: [`https://${cfg.domain}`] } : {}),
        template: {
          serviceAccount: identities.runtime.email,
          maxInstanceRequestConcurrency: cfg.concurrency,
          timeout: `${cfg.requestTimeoutSeconds}s`,
          executionEnvironment: "EXECUTION_ENVIRONMENT_GEN2",
          scaling: { minInstanceCount: cfg.minInstances, maxInstanceCount: cfg.maxInstances },
          vpcAccess: {
            egress: "PRIVATE_RANGES_ONLY",
            networkInterfaces: [{ network: NAMES.network, subnetwork: `ggw-${region}` }],
          },
          volumes: [
            secretVolume("tenants", secrets.tenants, PATHS.tenantsFile),
            secretVolume("redis-ca", secrets.redisCa, PATHS.redisCaFile),
            secretVolume("collector-config", secrets.collectorConfig, PATHS.collectorConfigFile),
          ],
          containers: [
            {
              name: "gateway",
              image: registry.image(args.image),
              ports: { name: "http1", containerPort: PORTS.http },
              envs,
              resources: {
                limits: { cpu: cfg.cpu, memory: cfg.memory },
                cpuIdle: cfg.cpuIdle,
                startupCpuBoost: true,
              },
              // /readyz turns 200 once an upstream token exists (Redis outages do not block start: fail-open).
              startupProbe: {
                httpGet: { path: PATHS.readyz, port: PORTS.http },
                initialDelaySeconds: 0,
                periodSeconds: 2,
                timeoutSeconds: 2,
                failureThreshold: 30,
              },
              livenessProbe: {
                httpGet: { path: PATHS.healthz, port: PORTS.http },
                periodSeconds: 15,
                timeoutSeconds: 3,
                failureThreshold: 3,
              },
              volumeMounts: [
                { name: "tenants", mountPath: PATHS.tenantsDir },
                { name: "redis-ca", mountPath: PATHS.redisCaDir },
              ],
            },
            {
              name: "collector",
              image: registry.image(cfg.collectorImage),
              dependsOns: ["gateway"],
              resources: { limits: { ...COLLECTOR_LIMITS }, cpuIdle: cfg.cpuIdle, startupCpuBoost: false },
              volumeMounts: [{ name: "collector-config", mountPath: PATHS.collectorConfigDir }],
            },
          ],
        },
      },
      childOptions(this, ctx, {
        dependsOn: [
          identities.runtime.account,
          identities.runtime.actAs,
          network.subnets[region]!,
          registry.repository,
          ...secretGrants,
        ],
      }),
    );

    interface Invoker {
      key: string;
      member: pulumi.Input<string>;
      after: readonly pulumi.Resource[];
    }
    const invokers: Invoker[] = [
      // Named after the principal, so reordering the list changes nothing.
      ...cfg.invokers.map((member) => ({
        key: `invoker-${member.replace(/[^A-Za-z0-9-]+/g, "-").toLowerCase()}`,
        member,
        after: [],
      })),
      ...(args.receivesBudgetPushes
        ? [{ key: "budget-push", member: identities.budgetPush.member, after: [identities.budgetPush.account] }]
        : []),
      { key: "uptime-checks", member: args.monitoringAgentMember, after: [] },
    ];
    for (const { key, member, after } of invokers) {
      this.invokerGrants.push(
        new gcp.cloudrunv2.ServiceIamMember(
          `gateway-${region}-${key}`,
          { project: cfg.projectId, location: region, name: this.service.name, role: "roles/run.invoker", member },
          childOptions(this, ctx, { dependsOn: after, hooks: { afterCreate: [ctx.iamWait] } }),
        ),
      );
    }
    this.registerOutputs({ uri: this.service.uri });
  }
}
