/**
 * What every component shares: the validated config, the one gcp.Provider (defaultLabels, project), the API gate
 * (pitfall 1: every resource depends on the enabled APIs), fixed names, and the propagation waits.
 * Names follow one scheme with no random suffixes (one project per environment, so names need no environment prefix).
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config.js";

export interface Context {
  readonly cfg: StackConfig;
  /**
   * The explicit provider every resource uses: project, primary region and the required labels as defaultLabels. It
   * never carries a billing (quota) project, so each call is billed to the project it acts on, whose APIs are on.
   */
  readonly provider: gcp.Provider;
  /** The enabled APIs (each with its propagation wait): every other resource depends on them. */
  readonly apis: readonly pulumi.Resource[];
  /** Waits iamPropagationSeconds after a grant is first created (pitfall 5). */
  readonly iamWait: pulumi.ResourceHook;
}

/** Service account ids (6–30 chars) of the environment's identities. */
export const ACCOUNT_IDS = {
  runtime: "ggw-runtime",
  budgetPush: "ggw-budget-push",
} as const;

export const NAMES = {
  /** The Cloud Run service in every region (its deterministic URL is https://gateway-<number>.<region>.run.app). */
  service: "gateway",
  network: "ggw-vpc",
  psaRange: "ggw-psa",
  redis: "ggw-redis",
  repository: "containers",
  budgetTopic: "budget-alerts",
  budgetDeadLetterTopic: "budget-alerts-dead",
  /** The subscription that keeps dead letters (a topic without one drops them): its backlog is alerted on. */
  budgetDeadLetterSubscription: "budget-alerts-dead-inspect",
  /** The Cloud Monitoring service the SLOs belong to. */
  sloService: "gemini-gateway",
  /** The global forwarding rule of the edge (prod): the load balancer metrics are labelled with it. */
  forwardingRule: "ggw-edge-https",
} as const;

/** Paths inside the gateway container. */
export const PATHS = {
  healthz: "/healthz",
  readyz: "/readyz",
  /** service/src/budget/alerts-endpoint.ts BUDGET_ALERTS_PATH (a test checks they agree). */
  budgetAlerts: "/internal/budget-alerts",
  tenantsDir: "/etc/gateway/tenants",
  tenantsFile: "tenants.json",
  redisCaDir: "/etc/gateway/redis-ca",
  redisCaFile: "ca.pem",
  /** Where the Managed Service for Prometheus sidecar reads its RunMonitoring config. */
  collectorConfigDir: "/etc/rungmp",
  collectorConfigFile: "config.yaml",
} as const;

export const PORTS = { http: 8080, metrics: 9464 } as const;

export const saEmail = (accountId: string, projectId: string): string =>
  `${accountId}@${projectId}.iam.gserviceaccount.com`;

/** Deterministic Cloud Run URL: known from the project number alone, so the service's own env can name it. */
export const runAppHost = (projectNumber: pulumi.Input<string>, region: string): pulumi.Output<string> =>
  pulumi.interpolate`${NAMES.service}-${projectNumber}.${region}.run.app`;

export const primaryRegion = (cfg: StackConfig): string => cfg.regions[0]!;

/** Child options: parent, the explicit provider, and the API gate plus any extra dependencies. */
export type ChildExtras = Omit<pulumi.CustomResourceOptions, "dependsOn" | "parent" | "provider"> & {
  dependsOn?: readonly pulumi.Resource[];
};

export function childOptions(
  parent: pulumi.Resource,
  ctx: Context,
  extra: ChildExtras = {},
): pulumi.CustomResourceOptions {
  const { dependsOn = [], ...rest } = extra;
  return { parent, provider: ctx.provider, ...rest, dependsOn: [...ctx.apis, ...dependsOn] };
}

/**
 * A hook that sleeps after a resource is first created (or replaced), never on later runs: Terraform's time_sleep
 * without an extra provider. APIs and IAM grants take minutes to propagate (pitfalls 1 and 5); dependents wait.
 */
export function propagationWait(name: string, seconds: number): pulumi.ResourceHook {
  return new pulumi.ResourceHook(name, async () => {
    if (seconds > 0) await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  });
}

/**
 * Options for a child of a component that was itself given `opts`: the parent (whose providers the child inherits)
 * and the component's dependsOn, which Pulumi does not pass on to children by itself.
 */
export function childOf(
  parent: pulumi.Resource,
  opts: pulumi.ComponentResourceOptions | undefined,
  extra: pulumi.CustomResourceOptions = {},
): pulumi.CustomResourceOptions {
  const inherited = opts?.dependsOn ? [opts.dependsOn].flat() : [];
  const own = extra.dependsOn ? [extra.dependsOn].flat() : [];
  return { ...extra, parent, dependsOn: [...inherited, ...own] as pulumi.Input<pulumi.Resource>[] };
}
