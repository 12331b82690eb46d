/**
 * A reference stack that satisfies every guardrail (hand-built with the real type tokens and @pulumi/gcp property
 * shapes), small helpers to mutate it, and a case runner: every rule has compliant and violating variants, each
 * evaluated against that one rule through the real evaluate() path.
 */
import { expect } from "vitest";
import { evaluate, type EvaluateResource, type Violation } from "../../policies/lib/evaluate.js";
import { allPolicies } from "../../policies/rules/index.js";
import { T } from "../../policies/lib/types.js";

export type Env = "prod" | "dev";
export type Rec = Record<string, unknown>;

export const PROJECT_ID = "gw-prod-1234";
export const RUNTIME_SA = `gateway-run@${PROJECT_ID}.iam.gserviceaccount.com`;
export const PUSH_SA = `budget-push@${PROJECT_ID}.iam.gserviceaccount.com`;
export const PUSH_URL = "https://gateway.example.com/internal/budget-alerts";
export const TEMPLATE_NAME = `projects/${PROJECT_ID}/locations/us-central1/templates/gateway-prompt`;
export const IMAGE = `us-central1-docker.pkg.dev/${PROJECT_ID}/gateway/gateway@sha256:${"a".repeat(64)}`;
export const CAPACITY = JSON.stringify({
  reservedInteractiveShare: 0.2,
  models: [
    { model: "gemini-2.5-flash", requestsPerMinute: 3000, tokensPerMinute: 4_000_000 },
    { model: "gemini-2.5-pro", region: "us-central1", requestsPerMinute: 120, tokensPerMinute: 1_000_000 },
  ],
});

const labels = (env: Env) => ({ env, app: "gemini-gateway", owner: "platform-team", "cost-center": "cc-4242" });
const r = (type: string, name: string, inputs: Rec, more: Partial<EvaluateResource> = {}): EvaluateResource => ({
  type,
  name,
  inputs,
  ...more,
});

/** A GitHub provider's condition pinning the repository and owner by id, and the deploy workflow on main. */
export const PINNED_CONDITION =
  "assertion.repository_id == '260064828' && assertion.repository_owner_id == '1342004' && " +
  "assertion.ref == 'refs/heads/main' && " +
  "assertion.job_workflow_ref == 'acme/gemini-gateway/.github/workflows/deploy.yml@refs/heads/main'";

export const SLO_NAME = (id: string) => `projects/${PROJECT_ID}/services/gateway/serviceLevelObjectives/${id}`;

/** A multi-window burn-rate alert on one SLO: two select_slo_burn_rate conditions combined with AND. */
export function burnRateAlert(name: string, sloId: string, windows: [string, string] = ["3600s", "300s"]) {
  return r(T.alertPolicy, name, {
    displayName: name,
    combiner: "AND",
    conditions: windows.map((w) => ({
      displayName: `${sloId} over ${w}`,
      conditionThreshold: {
        filter: `select_slo_burn_rate("${SLO_NAME(sloId)}", "${w}")`,
        comparison: "COMPARISON_GT",
        thresholdValue: 14.4,
        duration: "0s",
      },
    })),
    notificationChannels: ["projects/p/notificationChannels/42"],
  });
}

/** A stack every rule accepts, for `env`. Fresh objects on every call. */
export function referenceStack(env: Env = "prod"): EvaluateResource[] {
  const prod = env === "prod";
  return [
    r(T.gcpProvider, "gcp", {
      project: PROJECT_ID,
      region: "us-central1",
      defaultLabels: JSON.stringify(labels(env)), // provider inputs carry maps JSON-encoded
    }),
    r(T.project, "project", {
      projectId: PROJECT_ID,
      name: PROJECT_ID,
      orgId: "123456789012",
      billingAccount: "012345-6789AB-CDEF01",
      autoCreateNetwork: false,
      deletionPolicy: prod ? "PREVENT" : "DELETE",
      labels: labels(env),
    }),
    r(T.projectService, "run-api", { service: "run.googleapis.com", disableOnDestroy: false }),
    ...[
      ["iam.disableServiceAccountKeyCreation", { rules: [{ enforce: "TRUE" }] }],
      ["compute.skipDefaultNetworkCreation", { rules: [{ enforce: "TRUE" }] }],
      ["storage.publicAccessPrevention", { rules: [{ enforce: "TRUE" }] }],
      [
        "gcp.resourceLocations",
        { rules: [{ values: { allowedValues: ["in:us-central1-locations", "in:us-east4-locations"] } }] },
      ],
      ...(prod
        ? [["run.allowedIngress", { rules: [{ values: { allowedValues: ["is:internal-and-cloud-load-balancing"] } }] }]]
        : []),
    ].map(([constraint, spec]) =>
      r(T.orgPolicy, `org-policy-${String(constraint)}`, {
        parent: `projects/${PROJECT_ID}`,
        name: `projects/${PROJECT_ID}/policies/${String(constraint)}`,
        spec,
      }),
    ),
    r(T.defaultServiceAccounts, "default-service-accounts", { project: PROJECT_ID, action: "DISABLE" }),
    r(T.serviceIdentity, "monitoring-agent", { project: PROJECT_ID, service: "monitoring.googleapis.com" }),
    r(T.serviceAccount, "runtime-sa", { accountId: "gateway-run", displayName: "gateway runtime" }),
    r(T.serviceAccount, "push-sa", { accountId: "budget-push", displayName: "budget alert push" }),
    ...[
      "roles/aiplatform.user",
      "roles/logging.logWriter",
      "roles/monitoring.metricWriter",
      "roles/cloudtrace.agent",
    ].map((role) =>
      r(T.projectIamMember, `runtime-${role.split("/")[1]}`, {
        project: PROJECT_ID,
        role,
        member: `serviceAccount:${RUNTIME_SA}`,
      }),
    ),
    r("gcp:serviceaccount/iAMMember:IAMMember", "deployer-acts-as-runtime", {
      serviceAccountId: `projects/${PROJECT_ID}/serviceAccounts/${RUNTIME_SA}`,
      role: "roles/iam.serviceAccountUser",
      member: `serviceAccount:deployer@${PROJECT_ID}.iam.gserviceaccount.com`,
    }),
    r("gcp:iam/workloadIdentityPool:WorkloadIdentityPool", "github-pool", { workloadIdentityPoolId: `github-${env}` }),
    r(T.wifProvider, "github-provider", {
      workloadIdentityPoolId: `github-${env}`,
      workloadIdentityPoolProviderId: "github",
      attributeMapping: { "google.subject": "assertion.sub", "attribute.repository": "assertion.repository" },
      attributeCondition: PINNED_CONDITION,
      oidc: { issuerUri: "https://token.actions.githubusercontent.com" },
    }),
    r("gcp:compute/network:Network", "vpc", { name: "gateway-vpc", autoCreateSubnetworks: false }),
    r("gcp:compute/subnetwork:Subnetwork", "subnet", {
      network: "gateway-vpc",
      region: "us-central1",
      ipCidrRange: "10.10.0.0/26",
    }),
    r("gcp:compute/globalAddress:GlobalAddress", "psa-range", {
      purpose: "VPC_PEERING",
      addressType: "INTERNAL",
      prefixLength: 24,
      network: "gateway-vpc",
    }),
    r(T.redisInstance, "redis", {
      region: "us-central1",
      locationId: "us-central1-a",
      alternativeLocationId: prod ? "us-central1-b" : undefined,
      tier: prod ? "STANDARD_HA" : "BASIC",
      memorySizeGb: 1,
      redisVersion: "REDIS_7_2",
      authEnabled: true,
      transitEncryptionMode: "SERVER_AUTHENTICATION",
      connectMode: "PRIVATE_SERVICE_ACCESS",
      authorizedNetwork: `projects/${PROJECT_ID}/global/networks/gateway-vpc`,
    }),
    ...["redis-url", "tenants"].map((id) =>
      r(T.secret, `secret-${id}`, {
        secretId: id,
        replication: { userManaged: { replicas: [{ location: "us-central1" }, { location: "us-east4" }] } },
        deletionProtection: prod,
      }),
    ),
    r(T.secretVersion, "tenants-v1", {
      secret: `projects/${PROJECT_ID}/secrets/tenants`,
      deletionPolicy: "DISABLE",
      // What the analyzer sees of a Pulumi secret: here in the mocks' wire shape, unwrapped by evaluate().
      secretData: {
        "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
        value: JSON.stringify({
          tenants: [{ id: "acme", keySha256: ["b".repeat(64)], modelArmor: { promptTemplate: TEMPLATE_NAME } }],
        }),
      },
    }),
    r("gcp:secretmanager/secretIamMember:SecretIamMember", "runtime-reads-tenants", {
      secretId: "tenants",
      role: "roles/secretmanager.secretAccessor",
      member: `serviceAccount:${RUNTIME_SA}`,
    }),
    r(T.artifactRepository, "registry", {
      location: "us-central1",
      repositoryId: "gateway",
      format: "DOCKER",
      cleanupPolicies: [
        { id: "keep-recent", action: "KEEP", mostRecentVersions: { keepCount: 20 } },
        { id: "drop-untagged", action: "DELETE", condition: { tagState: "UNTAGGED", olderThan: "2592000s" } },
      ],
    }),
    r(T.cloudRunService, "gateway", {
      location: "us-central1",
      ingress: prod ? "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER" : "INGRESS_TRAFFIC_ALL",
      deletionProtection: prod,
      template: {
        serviceAccount: RUNTIME_SA,
        maxInstanceRequestConcurrency: 80,
        scaling: { minInstanceCount: prod ? 1 : 0, maxInstanceCount: prod ? 20 : 3 },
        vpcAccess: {
          egress: "PRIVATE_RANGES_ONLY",
          networkInterfaces: [{ network: "gateway-vpc", subnetwork: "gateway-run" }],
        },
        containers: [
          {
            name: "gateway",
            image: IMAGE,
            ports: { containerPort: 8080 },
            resources: { cpuIdle: false, startupCpuBoost: true, limits: { cpu: "2", memory: "1Gi" } },
            startupProbe: { httpGet: { path: "/healthz" }, failureThreshold: 10 },
            livenessProbe: { httpGet: { path: "/healthz" } },
            envs: [
              { name: "GATEWAY_UPSTREAM", value: "vertex" },
              { name: "GOOGLE_CLOUD_PROJECT", value: PROJECT_ID },
              { name: "GOOGLE_CLOUD_LOCATION", value: "us-central1" },
              { name: "GATEWAY_CAPACITY", value: CAPACITY },
              { name: "GATEWAY_TENANTS_FILE", value: "/secrets/tenants/tenants.json" },
              { name: "GATEWAY_BUDGET_PUSH_AUDIENCE", value: PUSH_URL },
              { name: "GATEWAY_BUDGET_PUSH_SERVICE_ACCOUNT", value: PUSH_SA },
              { name: "GATEWAY_ADMIN_KEY_SHA256", value: "c".repeat(64) },
              { name: "GATEWAY_USAGE_ANOMALY_MIN_TOKENS", value: "10000" },
              { name: "REDIS_URL", valueSource: { secretKeyRef: { secret: "redis-url", version: "1" } } },
            ],
            volumeMounts: [{ name: "tenants", mountPath: "/secrets/tenants" }],
          },
          {
            name: "collector",
            image: "us-docker.pkg.dev/cloud-ops-agents-artifacts/cloud-run-gmp-sidecar/cloud-run-gmp-sidecar:1.2.0",
          },
        ],
        volumes: [{ name: "tenants", secret: { secret: "tenants", items: [{ version: "1", path: "tenants.json" }] } }],
      },
    }),
    r(T.cloudRunServiceIamMember, "push-invokes-gateway", {
      location: "us-central1",
      name: "gateway",
      role: "roles/run.invoker",
      member: `serviceAccount:${PUSH_SA}`,
    }),
    // The uptime check signs its requests as the Monitoring agent, whose invoker grant waits for the agent.
    r(
      T.cloudRunServiceIamMember,
      "uptime-invoker",
      { location: "us-central1", name: "gateway", role: "roles/run.invoker", member: UNKNOWN_VALUE },
      { dependencies: ["monitoring-agent"], propertyDependencies: { member: ["monitoring-agent"] } },
    ),
    r(
      T.uptimeCheck,
      "uptime",
      {
        displayName: "gateway /healthz",
        httpCheck: { path: "/healthz", useSsl: true, serviceAgentAuthentication: { type: "OIDC_TOKEN" } },
        monitoredResource: { type: "uptime_url", labels: { host: "gateway-1.us-central1.run.app" } },
      },
      { dependencies: ["uptime-invoker"] },
    ),
    r(T.notificationChannel, "oncall", { type: "email", labels: { email_address: "oncall@example.com" } }),
    r(T.pubsubTopic, "budget-topic", { name: "budget-alerts" }),
    r(T.pubsubTopic, "dead-letter-topic", { name: "budget-alerts-dead" }),
    r(T.pubsubSubscription, "dead-letters", {
      name: "budget-alerts-dead-inspect",
      topic: `projects/${PROJECT_ID}/topics/budget-alerts-dead`,
    }),
    r(T.pubsubSubscription, "budget-push", {
      topic: `projects/${PROJECT_ID}/topics/budget-alerts`,
      pushConfig: { pushEndpoint: PUSH_URL, oidcToken: { serviceAccountEmail: PUSH_SA, audience: PUSH_URL } },
      deadLetterPolicy: { deadLetterTopic: "budget-alerts-dead", maxDeliveryAttempts: 10 },
    }),
    r(T.budget, "budget", {
      billingAccount: "012345-6789AB-CDEF01",
      displayName: "gemini-gateway",
      amount: { specifiedAmount: { currencyCode: "USD", units: "1000" } },
      budgetFilter: { projects: ["projects/123456789"] },
      thresholdRules: [{ thresholdPercent: 0.8 }, { thresholdPercent: 1.0, spendBasis: "FORECASTED_SPEND" }],
      allUpdatesRule: {
        pubsubTopic: `projects/${PROJECT_ID}/topics/budget-alerts`,
        schemaVersion: "1.0",
        monitoringNotificationChannels: ["projects/gw-prod-1234/notificationChannels/42"],
      },
    }),
    alert("latency-alert", {
      conditionPrometheusQueryLanguage: {
        query: "histogram_quantile(0.99, sum by (le) (rate(gateway_request_duration_seconds_bucket[5m]))) > 20",
        duration: "300s",
      },
    }),
    alert("errors-alert", {
      conditionThreshold: {
        filter:
          'resource.type = "cloud_run_revision" AND metric.type = "run.googleapis.com/request_count" AND ' +
          'metric.labels.response_code_class = "5xx"',
        comparison: "COMPARISON_GT",
        duration: "300s",
        thresholdValue: 5,
      },
    }),
    alert("platform-latency-alert", {
      conditionThreshold: {
        filter: 'resource.type = "cloud_run_revision" AND metric.type = "run.googleapis.com/request_latencies"',
        comparison: "COMPARISON_GT",
        duration: "300s",
        thresholdValue: 30000,
      },
    }),
    alert("metrics-absent-alert", {
      conditionAbsent: {
        filter:
          'resource.type = "prometheus_target" AND metric.type = "prometheus.googleapis.com/gateway_inflight_requests/gauge"',
        duration: "600s",
      },
    }),
    alert("dead-letter-alert", {
      conditionThreshold: {
        filter:
          'resource.type = "pubsub_subscription" AND resource.labels.subscription_id = "budget-alerts-dead-inspect" ' +
          'AND metric.type = "pubsub.googleapis.com/subscription/num_undelivered_messages"',
        comparison: "COMPARISON_GT",
        duration: "60s",
        thresholdValue: 0,
      },
    }),
    r(T.slo, "slo-availability", {
      project: PROJECT_ID,
      service: "gateway",
      sloId: "availability",
      goal: 0.999,
      rollingPeriodDays: 28,
      requestBasedSli: {
        goodTotalRatio: {
          badServiceFilter:
            'metric.type = "prometheus.googleapis.com/gateway_requests_total/counter" AND metric.labels.code_class = "5xx"',
          totalServiceFilter: 'metric.type = "prometheus.googleapis.com/gateway_requests_total/counter"',
        },
      },
    }),
    r(T.slo, "slo-latency", {
      project: PROJECT_ID,
      service: "gateway",
      sloId: "overhead",
      goal: 0.99,
      rollingPeriodDays: 28,
      requestBasedSli: {
        distributionCut: {
          distributionFilter: 'metric.type = "prometheus.googleapis.com/gateway_overhead_seconds/histogram"',
          range: { min: 0, max: 0.025 },
        },
      },
    }),
    burnRateAlert("slo-availability-burn", "availability"),
    burnRateAlert("slo-latency-burn", "overhead"),
    alert("upstream-429-alert", {
      conditionPrometheusQueryLanguage: {
        query:
          'sum(rate(gateway_upstream_duration_seconds_count{outcome="rate_limited"}[5m])) ' +
          "/ sum(rate(gateway_upstream_duration_seconds_count[5m])) > 0.05",
        duration: "300s",
      },
    }),
    r(T.modelArmorTemplate, "prompt-template", {
      location: "us-central1",
      templateId: "gateway-prompt",
      filterConfig: {
        piAndJailbreakFilterSettings: { filterEnforcement: "ENABLED", confidenceLevel: "MEDIUM_AND_ABOVE" },
        maliciousUriFilterSettings: { filterEnforcement: "ENABLED" },
      },
    }),
  ];
}

export function alert(name: string, condition: Rec, channels: unknown[] = ["projects/p/notificationChannels/42"]) {
  return r(T.alertPolicy, name, {
    displayName: name,
    combiner: "OR",
    conditions: [{ displayName: name, ...condition }],
    notificationChannels: channels,
  });
}

export function resource(resources: EvaluateResource[], name: string): EvaluateResource {
  const found = resources.find((x) => x.name === name);
  if (!found) throw new Error(`no resource ${name} in the fixture`);
  return found;
}

export function remove(resources: EvaluateResource[], ...names: string[]): void {
  for (const name of names) {
    const i = resources.findIndex((x) => x.name === name);
    if (i < 0) throw new Error(`no resource ${name} in the fixture`);
    resources.splice(i, 1);
  }
}

function walk(obj: unknown, dotted: string): { parent: Rec; key: string } {
  const parts = dotted.split(".");
  let cur = obj as Rec;
  for (const p of parts.slice(0, -1)) {
    if (typeof cur[p] !== "object" || cur[p] === null) cur[p] = {};
    cur = cur[p] as Rec;
  }
  return { parent: cur, key: parts[parts.length - 1] as string };
}

/** Sets a dotted path ("template.scaling.maxInstanceCount", "template.containers.0.image") in a resource's inputs. */
export function set(res: EvaluateResource, dotted: string, value: unknown): void {
  const { parent, key } = walk(res.inputs, dotted);
  parent[key] = value;
}

export function unset(res: EvaluateResource, dotted: string): void {
  const { parent, key } = walk(res.inputs, dotted);
  delete parent[key];
}

export function get(res: EvaluateResource, dotted: string): unknown {
  let cur: unknown = res.inputs;
  for (const p of dotted.split(".")) cur = (cur as Rec | undefined)?.[p];
  return cur;
}

/** The gateway container's env list (mutable). */
export function gatewayEnvs(resources: EvaluateResource[]): { name: string; value?: unknown; valueSource?: unknown }[] {
  return get(resource(resources, "gateway"), "template.containers.0.envs") as {
    name: string;
    value?: unknown;
    valueSource?: unknown;
  }[];
}

export function setEnv(resources: EvaluateResource[], name: string, value: unknown): void {
  const envs = gatewayEnvs(resources);
  const existing = envs.find((e) => e.name === name);
  if (existing) {
    existing.value = value;
    delete existing.valueSource;
  } else envs.push({ name, value });
}

export function removeEnv(resources: EvaluateResource[], name: string): void {
  const envs = gatewayEnvs(resources);
  const i = envs.findIndex((e) => e.name === name);
  if (i >= 0) envs.splice(i, 1);
}

/** The unknown sentinel a preview (or a setMocks program) puts where a value is not known yet. */
export const UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export interface Variant {
  title: string;
  env?: Env;
  config?: Record<string, unknown>;
  /** Changes the reference stack for `env`. */
  mutate?: (resources: EvaluateResource[]) => void;
  /** Instead of the reference stack. */
  resources?: () => EvaluateResource[];
  /** Violating variants: a message that must appear, and the resource it must name (null = the stack). */
  message?: RegExp;
  resource?: string | null;
}

export interface RuleCases {
  rule: string;
  compliant: Variant[];
  violating: Variant[];
}

export function runVariant(rule: string, v: Variant): Violation[] {
  const env = v.env ?? "prod";
  const resources = v.resources ? v.resources() : referenceStack(env);
  v.mutate?.(resources);
  const policy = allPolicies.find((p) => p.name === rule);
  if (!policy) throw new Error(`no rule ${rule}`);
  return evaluate(resources, { environment: env, ...v.config }, [policy]);
}

export function expectCompliant(rule: string, v: Variant): void {
  expect(runVariant(rule, v)).toEqual([]);
}

export function expectViolating(rule: string, v: Variant): void {
  const found = runVariant(rule, v);
  expect(found.length).toBeGreaterThan(0);
  for (const f of found) expect(f.policy).toBe(rule);
  if (v.message) expect(found.map((f) => f.message)).toContainEqual(expect.stringMatching(v.message));
  if (v.resource !== undefined) expect(found.map((f) => f.resourceName)).toContain(v.resource);
}
