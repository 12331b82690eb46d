/**
 * The stack: one environment in its own project. Composition only; each concern is a component in components/.
 *
 *   project → identities, CI identities → network → cache → secrets → registry → Model Armor → monitoring → budget
 *   → batch bucket → gateway per region → edge (when a domain is set) → uptime checks and the budget push subscription
 *
 * Config is read and validated first (infra/config.ts): a bad or placeholder value stops the run before anything is
 * registered.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { BatchBucket } from "./components/batch-bucket.js";
import { Budget } from "./components/budget.js";
import { Cache } from "./components/cache.js";
import { CiIdentities } from "./components/ci.js";
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

export async function gatewayStack(): Promise<StackOutputs> {
  const cfg = loadStackConfig();
  const primary = primaryRegion(cfg);
  // What this stack runs now is kept unless `image` asks for a change (infra/release.ts).
  const release = chooseImage(cfg, await deployedImage());
  if (release.change) await pulumi.log.warn(release.change);

  const provider = new gcp.Provider("gcp", {
    project: cfg.projectId,
    region: primary,
    defaultLabels: requiredLabels(cfg),
    // With user credentials, API calls are billed to the bootstrap project (budgets need it: pitfall 14).
    ...(cfg.quotaProject ? { billingProject: cfg.quotaProject, userProjectOverride: true } : {}),
  });

  const foundation = new ProjectFoundation("project", { cfg, provider });
  const ctx: Context = {
    cfg,
    provider,
    apis: foundation.apis,
    iamWait: propagationWait("iam-propagation", cfg.iamPropagationSeconds),
  };
  const projectNumber = foundation.number;

  const identities = new Identities("identities", ctx);
  const ci = new CiIdentities("ci", { identities }, ctx);
  const network = new Network("network", ctx);
  const cache = new Cache("cache", { network }, ctx);
  const secrets = new Secrets("secrets", { identities, cache }, ctx);
  const registry = new Registry("registry", { identities, ci }, ctx);
  const modelArmor = new ModelArmor("model-armor", ctx);
  const monitoring = new Monitoring("monitoring", { projectNumber }, ctx);
  const budget = new Budget("budget", { projectNumber, identities, channels: monitoring.channels }, ctx);
  const batchBucket = new BatchBucket("batch-bucket", { identities }, ctx);

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
          monitoringAgentMember: monitoring.agentMember,
          monitoringAgentReady: monitoring.channels,
          batchBucket: batchBucket.name,
        },
        ctx,
      );
      monitoring.addUptimeCheck(region, gateways[region].invokerGrants);
    }
    budget.addPushSubscription(budgetPushEndpoint, gateways[primary]!.invokerGrants);
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
      ciPreview: ci.preview.email,
      ciApply: ci.apply.email,
    },
    workloadIdentityProviders: { preview: ci.previewProvider.name, apply: ci.applyProvider.name },
    modelArmorTemplates: { prompt: modelArmor.promptTemplateName, response: modelArmor.responseTemplateName },
    redis: { host: cache.instance.host, port: cache.instance.port },
    artifactRegistry: registry.url,
    secrets: { tenants: secrets.tenants.secretId, adminKeySha256: secrets.adminKeySha256.secretId },
    budgetTopic: budget.topicPath,
    batchBucket: batchBucket.name,
    budgetPushEndpoint,
  };
}
