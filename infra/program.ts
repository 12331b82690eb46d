/**
 * The stack: one environment in its own project. Composition only; each concern is a component in components/.
 *
 *   bootstrap outputs (deployer, seed) → project → organization policies → APIs → service agents
 *   → identities → network → cache → secrets → registry → Model Armor → monitoring → SLOs → budget → batch bucket
 *   → gateway per region → edge (when a domain is set) → uptime checks and the budget push subscription
 *
 * Config is read and validated first (infra/config.ts), then the bootstrap stack's outputs (infra/bootstrap-outputs.ts):
 * a bad or placeholder value, or a missing bootstrap, stops the run before anything is registered.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { readSeed } from "./bootstrap-outputs.js";
import { BatchBucket } from "./components/batch-bucket.js";
import { Budget, BudgetPush } from "./components/budget.js";
import { Cache } from "./components/cache.js";
import { PATHS, primaryRegion, propagationWait, runAppHost, type Context } from "./components/common.js";
import { Edge } from "./components/edge.js";
import { Gateway } from "./components/gateway.js";
import { Identities } from "./components/identities.js";
import { ModelArmor } from "./components/model-armor.js";
import { Monitoring } from "./components/monitoring.js";
import { Network } from "./components/network.js";
import { ProjectFoundation } from "./components/project.js";
import { Registry } from "./components/registry.js";
import { Secrets } from "./components/secrets.js";
import { ServiceAgents } from "./components/service-agents.js";
import { Slos } from "./components/slos.js";
import { UptimeChecks } from "./components/uptime.js";
import { loadStackConfig, PROJECT_NAME, type StackConfig } from "./config.js";
import { chooseImage, deployedImage, IMAGE_OUTPUT } from "./release.js";

/** The labels every resource carries through the provider's defaultLabels (the guardrails require them). */
export function requiredLabels(cfg: StackConfig): Record<string, string> {
  return {
    env: cfg.environment,
    app: PROJECT_NAME,
    owner: cfg.owner,
    "cost-center": cfg.costCenter,
    "managed-by": "pulumi",
  };
}

export type StackOutputs = Record<string, pulumi.Input<unknown>>;

/** Resource types a user-credential run bills to the quota project: calls made before the project can serve. */
export const QUOTA_PROJECT_TYPES = [
  "gcp:organizations/project:Project",
  "gcp:projects/service:Service",
  "gcp:orgpolicy/policy:Policy",
  "gcp:billing/budget:Budget",
] as const;

export async function gatewayStack(): Promise<StackOutputs> {
  const cfg = loadStackConfig();
  const seed = await readSeed(cfg);
  const primary = primaryRegion(cfg);
  // What this stack runs now is kept unless `image` asks for a change (infra/release.ts).
  const release = chooseImage(cfg, await deployedImage());
  if (release.change) await pulumi.log.warn(release.change);

  const providerArgs: gcp.ProviderArgs = {
    project: cfg.projectId,
    region: primary,
    defaultLabels: requiredLabels(cfg),
  };
  // Every call is billed to the project it acts on, whose APIs are enabled (never to the seed project).
  const provider = new gcp.Provider("gcp", providerArgs);
  // With user credentials, the calls made before this project can serve (creating it, enabling its APIs, its
  // organization policies) and the budget (no project) need a quota project: the seed, on a provider of their own.
  const quotaProvider = cfg.quotaProject
    ? new gcp.Provider("gcp-quota", { ...providerArgs, billingProject: cfg.quotaProject, userProjectOverride: true })
    : provider;

  const foundation = new ProjectFoundation("project", {
    cfg,
    provider,
    quotaProvider,
    creatorMember: seed.deployer.member,
  });
  const ctx: Context = {
    cfg,
    provider,
    apis: foundation.apis,
    iamWait: propagationWait("iam-propagation", cfg.iamPropagationSeconds),
  };
  const projectNumber = foundation.number;
  const agents = new ServiceAgents(
    "service-agents",
    { projectId: cfg.projectId },
    {
      providers: { gcp: provider },
      dependsOn: foundation.apis,
    },
  );

  const identities = new Identities("identities", { deployerMember: seed.deployer.member }, ctx);
  const network = new Network("network", ctx);
  const cache = new Cache("cache", { network }, ctx);
  const secrets = new Secrets("secrets", { identities, cache }, ctx);
  const registry = new Registry(
    "registry",
    {
      identities,
      writerMember: seed.deployer.member,
      // Prod's deployer copies the digest dev runs into prod's registry (deploy.yml, deploy-prod).
      promotionReaders: cfg.environment === "dev" ? [seed.deployers.prod.member] : [],
    },
    ctx,
  );
  const modelArmor = new ModelArmor("model-armor", { vertexAgentMember: agents.member("vertex") }, ctx);
  const monitoring = new Monitoring("monitoring", ctx);
  const channels = monitoring.channels.map((c) => c.name);
  new Slos("slos", { notificationChannels: channels }, ctx);
  const budget = new Budget(
    "budget",
    {
      projectNumber,
      channels: monitoring.channels,
      pubsubAgentMember: agents.member("pubsub"),
      budgetProvider: quotaProvider,
    },
    ctx,
  );
  const batchBucket = new BatchBucket("batch-bucket", { identities, vertexAgentMember: agents.member("vertex") }, ctx);

  // The push goes to the primary region's own URL (Pub/Sub is an internal caller even with internal-LB ingress).
  const budgetPushEndpoint = pulumi.interpolate`https://${runAppHost(projectNumber, primary)}${PATHS.budgetAlerts}`;

  const gateways: Record<string, Gateway> = {};
  let edge: Edge | undefined;
  if (cfg.deployGateway) {
    for (const region of cfg.regions) {
      gateways[region] = new Gateway(
        `gateway-${region}`,
        {
          region,
          image: release.image!,
          identities,
          secrets,
          network,
          registry,
          budgetPushAudience: budgetPushEndpoint,
          receivesBudgetPushes: region === primary,
          monitoringAgentMember: agents.member("monitoring"),
          batchBucket: batchBucket.name,
        },
        ctx,
      );
    }
    new UptimeChecks(
      "uptime",
      {
        projectNumber,
        regions: Object.fromEntries(Object.entries(gateways).map(([region, g]) => [region, g.invokerGrants])),
        notificationChannels: channels,
      },
      ctx,
    );
    new BudgetPush(
      "budget-push",
      {
        endpoint: budgetPushEndpoint,
        topicPath: budget.topicPath,
        deadLetterTopicPath: budget.deadLetterTopicPath,
        pushAccount: identities.budgetPush,
        pubsubAgentMember: agents.member("pubsub"),
        after: [budget.topic, budget.deadLetterTopic, ...gateways[primary]!.invokerGrants],
      },
      ctx,
    );
    if (cfg.domain) edge = new Edge("edge", { gateways, domain: cfg.domain }, ctx);
  }

  const gatewayUrls = Object.fromEntries(Object.entries(gateways).map(([region, g]) => [region, g.service.uri]));
  return {
    environment: cfg.environment,
    projectId: cfg.projectId,
    projectNumber,
    regions: cfg.regions,
    ...(edge ? { gatewayUrl: `https://${cfg.domain}`, loadBalancerIp: edge.address.address } : {}),
    ...(!edge && gateways[primary] ? { gatewayUrl: gateways[primary].service.uri } : {}),
    gatewayUrls,
    // What runs; the next run without `image` keeps it (read back by infra/release.ts).
    ...(release.image ? { [IMAGE_OUTPUT]: release.image } : {}),
    serviceAccounts: {
      runtime: identities.runtime.email,
      budgetPush: identities.budgetPush.email,
      deployer: seed.deployer.email,
    },
    modelArmorTemplates: {
      location: modelArmor.location,
      prompt: modelArmor.promptTemplateName,
      response: modelArmor.responseTemplateName,
    },
    redis: { host: cache.instance.host, port: cache.instance.port },
    artifactRegistry: registry.url,
    secrets: { tenants: secrets.tenants.secretId, adminKeySha256: secrets.adminKeySha256.secretId },
    budgetTopic: budget.topicPath,
    budgetPushEndpoint,
  };
}
