/**
 * The two stacks as wholes: inventories, the exact differences between dev and prod, the bootstrap stage, the
 * Cloud Run environment against the service's own config loader, and the committed plan snapshots.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { MAX_UPSTREAM_CALLS_PER_REQUEST } from "../../service/src/config/connections.js";
import { ENV, loadConfig } from "../../service/src/config/env.js";
import { DEFAULT_MODELS } from "../../service/src/config/env.js";
import { parseTenants, sha256Hex } from "../../service/src/config/tenants.js";
import { runProgram, SECRET, UNKNOWN, type CapturedResource, type ProgramRun } from "../../infra/offline/run.js";
import {
  at,
  countsByType,
  flatten,
  named,
  ofType,
  readableInputs,
  renderPlan,
  TYPES,
} from "../../infra/offline/plan.js";

const COMMON = {
  "gcp:artifactregistry/repository:Repository": 1,
  "gcp:billing/budget:Budget": 1,
  "gcp:compute/network:Network": 1,
  "gcp:modelarmor/template:Template": 2,
  "gcp:monitoring/customService:CustomService": 1, // the SLOs' service
  "gcp:monitoring/dashboard:Dashboard": 1,
  "gcp:monitoring/notificationChannel:NotificationChannel": 1,
  "gcp:monitoring/slo:Slo": 3, // availability, gateway overhead, time to first token
  "gcp:organizations/project:Project": 1,
  "gcp:projects/defaultServiceAccounts:DefaultServiceAccounts": 1, // the default compute account disabled
  "gcp:projects/iAMMember:IAMMember": 5, // the runtime's four roles, modelarmor.user for Vertex AI's agent
  "gcp:projects/iamMemberRemove:IamMemberRemove": 1, // the Owner role Google gives the project's creator
  "gcp:projects/service:Service": 19,
  "gcp:projects/serviceIdentity:ServiceIdentity": 3, // Monitoring, Vertex AI and Pub/Sub agents, before their grants
  "gcp:pubsub/subscription:Subscription": 2,
  "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember": 1,
  "gcp:pubsub/topic:Topic": 2,
  "gcp:pubsub/topicIAMMember:TopicIAMMember": 2,
  "gcp:redis/instance:Instance": 1,
  "gcp:secretmanager/secret:Secret": 6,
  "gcp:secretmanager/secretIamMember:SecretIamMember": 7,
  "gcp:secretmanager/secretVersion:SecretVersion": 3,
  "gcp:serviceaccount/account:Account": 2, // runtime, budget push (the CI accounts live in the seed project)
  "gcp:serviceaccount/iAMMember:IAMMember": 2, // the deployer's actAs on each
  "gcp:servicenetworking/connection:Connection": 1,
  "gcp:storage/bucket:Bucket": 1, // batch jobs' staging
  "gcp:storage/bucketIAMMember:BucketIAMMember": 2, // the runtime and Vertex AI's agent, on that bucket only
  "pulumi:providers:gcp": 1,
};

/** Alert policies: 4 on the gateway's metrics, 5 backstops on Google's, 9 SLO burn-rate tiers, and per region uptime. */
const INVENTORY = {
  dev: {
    ...COMMON,
    "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember": 3, // runtime, deployer, prod's deployer (promotion)
    "gcp:cloudrunv2/service:Service": 1,
    "gcp:cloudrunv2/serviceIamMember:ServiceIamMember": 3, // invokers, budget push, uptime checks
    "gcp:compute/globalAddress:GlobalAddress": 1, // private services access range
    "gcp:compute/subnetwork:Subnetwork": 1,
    "gcp:monitoring/alertPolicy:AlertPolicy": 19,
    "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig": 1,
    "gcp:orgpolicy/policy:Policy": 4,
  },
  prod: {
    ...COMMON,
    "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember": 2,
    "gcp:cloudrunv2/service:Service": 2,
    "gcp:cloudrunv2/serviceIamMember:ServiceIamMember": 5,
    "gcp:compute/backendService:BackendService": 1,
    "gcp:compute/globalAddress:GlobalAddress": 2, // + the load balancer's address
    "gcp:compute/globalForwardingRule:GlobalForwardingRule": 1,
    "gcp:compute/managedSslCertificate:ManagedSslCertificate": 1,
    "gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup": 2,
    "gcp:compute/sSLPolicy:SSLPolicy": 1,
    "gcp:compute/securityPolicy:SecurityPolicy": 1,
    "gcp:compute/subnetwork:Subnetwork": 2,
    "gcp:compute/targetHttpsProxy:TargetHttpsProxy": 1,
    "gcp:compute/uRLMap:URLMap": 1,
    "gcp:monitoring/alertPolicy:AlertPolicy": 23, // + the load balancer's 5xx and latency, metrics absence, uptime
    "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig": 2,
    "gcp:orgpolicy/policy:Policy": 5, // + run.allowedIngress
  },
};

/** Plausible values for what Cloud Run fills in at deploy time (secret refs) or the provider computes (unknowns). */
const SECRET_VALUES: Record<string, string> = {
  "redis-url": "rediss://:0b1f6a8e-auth-string@10.20.0.3:6378",
  "gateway-admin-key-sha256": sha256Hex("an admin key"),
};
const UNKNOWN_VALUES: Record<string, string> = {
  [ENV.BUDGET_PUSH_AUDIENCE]: "https://gateway-123456789012.europe-west4.run.app/internal/budget-alerts",
};

interface Container {
  name: string;
  envs?: { name: string; value?: string; valueSource?: { secretKeyRef: { secret: string } } }[];
  volumeMounts?: { name: string; mountPath: string }[];
}

function gatewayEnv(service: CapturedResource): Record<string, string> {
  const gateway = (at(service.inputs, "template.containers") as Container[]).find((c) => c.name === "gateway")!;
  const env: Record<string, string> = {};
  for (const e of gateway.envs ?? []) {
    const value = e.valueSource
      ? SECRET_VALUES[e.valueSource.secretKeyRef.secret]
      : e.value === UNKNOWN
        ? UNKNOWN_VALUES[e.name]
        : e.value;
    if (value === undefined) throw new Error(`no plausible value for ${e.name} (${JSON.stringify(e)})`);
    env[e.name] = value;
  }
  return env;
}

/** The file a path env var names exists in a secret volume mounted at its directory. */
function mountedFile(service: CapturedResource, path: string): boolean {
  const gateway = (at(service.inputs, "template.containers") as Container[]).find((c) => c.name === "gateway")!;
  const dir = path.slice(0, path.lastIndexOf("/"));
  const file = path.slice(path.lastIndexOf("/") + 1);
  const mount = gateway.volumeMounts?.find((m) => m.mountPath === dir);
  const volumes = at(service.inputs, "template.volumes") as { name: string; secret: { items: { path: string }[] } }[];
  const volume = volumes.find((v) => v.name === mount?.name);
  return volume?.secret.items.some((i) => i.path === file) ?? false;
}

describe("stacks", () => {
  const runs = {} as Record<"dev" | "prod", ProgramRun>;
  beforeAll(async () => {
    runs.dev = await runProgram("dev");
    runs.prod = await runProgram("prod");
  });

  it.each(["dev", "prod"] as const)("%s registers the expected inventory", (stack) => {
    expect(countsByType(runs[stack])).toEqual(Object.fromEntries(Object.entries(INVENTORY[stack]).sort()));
  });

  it.each(["dev", "prod"] as const)("%s plan matches its committed snapshot", async (stack) => {
    await expect(renderPlan(runs[stack], stack)).toMatchFileSnapshot(`./__snapshots__/plan-${stack}.txt`);
  });

  it.each(["dev", "prod"] as const)(
    "%s: every Cloud Run env var is one the service reads, and loadConfig accepts the set",
    (stack) => {
      const names = new Set<string>(Object.values(ENV));
      for (const service of ofType(runs[stack], TYPES.run)) {
        const env = gatewayEnv(service);
        for (const name of Object.keys(env)) expect(names.has(name), name).toBe(true);
        const config = loadConfig(env);
        // Every region calls Vertex where the Model Armor templates are (prod: europe-west4 from both regions).
        expect(config.upstream).toMatchObject({
          kind: "vertex",
          project: runs[stack].outputs.projectId,
          location: (runs[stack].outputs.modelArmorTemplates as { location: string }).location,
        });
        expect(config.quota.redisUrl).toMatch(/^rediss:\/\//);
        expect(config.tracing.exporter).toBe("cloud-trace");
        expect(config.metrics.port).toBe(9464);
        expect(config.metrics.adminKeySha256).toMatch(/^[0-9a-f]{64}$/);
        expect(config.budget?.pushServiceAccount).toBe(
          `ggw-budget-push@${runs[stack].outputs.projectId}.iam.gserviceaccount.com`,
        );
        expect(mountedFile(service, config.tenantsFile!)).toBe(true);
        expect(mountedFile(service, config.quota.redisTlsCaFile!)).toBe(true);
      }
    },
  );

  it("prod differs from dev exactly by the second region, the edge, and the intended settings", () => {
    const project = /replace-with-(dev|prod)-project-id/g;
    const deployer = /ggw-(dev|prod)-apply@/g; // each environment's own deploy identity (the bootstrap's)
    const key = (r: CapturedResource) => `${r.type} :: ${r.name.replace(/-invoker-.*/, "-invoker-<principal>")}`;
    const dev = new Map(runs.dev.resources.map((r) => [key(r), r]));
    const prod = new Map(runs.prod.resources.map((r) => [key(r), r]));
    // dev lets prod's deployer copy the digest dev runs into prod's registry.
    expect([...dev.keys()].filter((k) => !prod.has(k))).toEqual([
      "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember :: repository-promotion-reader-ggw-prod-apply",
    ]);
    expect([...prod.keys()].filter((k) => !dev.has(k)).sort()).toEqual(
      [
        "gcp:cloudrunv2/service:Service :: gateway-europe-west1",
        "gcp:cloudrunv2/serviceIamMember:ServiceIamMember :: gateway-europe-west1-invoker-<principal>",
        "gcp:cloudrunv2/serviceIamMember:ServiceIamMember :: gateway-europe-west1-uptime-checks",
        "gcp:compute/subnetwork:Subnetwork :: subnet-europe-west1",
        "gcp:monitoring/alertPolicy:AlertPolicy :: alert-uptime-europe-west1",
        "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig :: uptime-europe-west1",
        // warm instances: an absence alert when the metrics sidecar's series stop
        "gcp:monitoring/alertPolicy:AlertPolicy :: alert-gateway-metrics-absent",
        // Google enforces load-balancer-only ingress
        "gcp:orgpolicy/policy:Policy :: org-policy-run.allowedIngress",
        // the edge
        "gcp:compute/backendService:BackendService :: backend",
        "gcp:compute/globalAddress:GlobalAddress :: address",
        "gcp:compute/globalForwardingRule:GlobalForwardingRule :: https",
        "gcp:compute/managedSslCertificate:ManagedSslCertificate :: certificate",
        "gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup :: neg-europe-west1",
        "gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup :: neg-europe-west4",
        "gcp:compute/sSLPolicy:SSLPolicy :: tls",
        "gcp:compute/securityPolicy:SecurityPolicy :: armor",
        "gcp:compute/targetHttpsProxy:TargetHttpsProxy :: https-proxy",
        "gcp:compute/uRLMap:URLMap :: url-map",
        "gcp:monitoring/alertPolicy:AlertPolicy :: alert-load-balancer-5xx-ratio",
        "gcp:monitoring/alertPolicy:AlertPolicy :: alert-load-balancer-latency-p95",
      ].sort(),
    );

    const changed: Record<string, string[]> = {};
    for (const [k, d] of dev) {
      const p = prod.get(k);
      if (!p) continue;
      const norm = (v: unknown) =>
        JSON.stringify(v)?.replace(project, "<project>").replace(deployer, "ggw-<env>-apply@");
      const dv = new Map(flatten(readableInputs(d)).map(([path, v]) => [path, norm(v)]));
      const pv = new Map(flatten(readableInputs(p)).map(([path, v]) => [path, norm(v)]));
      const paths = [...new Set([...dv.keys(), ...pv.keys()])].filter((path) => dv.get(path) !== pv.get(path));
      if (paths.length) changed[k] = paths.sort();
    }
    const secretPaths = ["deletionProtection", "replication.userManaged.replicas[1].location"];
    expect(changed).toEqual({
      "pulumi:providers:gcp :: gcp": ["defaultLabels"], // env label
      "gcp:organizations/project:Project :: project": ["deletionPolicy", "folderId", "name"],
      "gcp:orgpolicy/policy:Policy :: org-policy-gcp.resourceLocations": ["spec.rules[0].values.allowedValues[1]"],
      "gcp:monitoring/customService:CustomService :: slo-service": ["displayName"],
      "gcp:monitoring/notificationChannel:NotificationChannel :: email-0": ["displayName", "labels.email_address"],
      "gcp:monitoring/dashboard:Dashboard :: dashboard": ["dashboardJson"], // its title
      "gcp:monitoring/alertPolicy:AlertPolicy :: alert-spend-rate": [
        "conditions[0].conditionPrometheusQueryLanguage.query",
        "documentation.content",
      ],
      "gcp:monitoring/alertPolicy:AlertPolicy :: alert-instances-near-max": [
        "conditions[0].conditionThreshold.thresholdValue",
        "documentation.content",
      ],
      "gcp:secretmanager/secret:Secret :: gateway-tenants": secretPaths,
      "gcp:secretmanager/secret:Secret :: gateway-admin-key-sha256": secretPaths,
      "gcp:secretmanager/secret:Secret :: gateway-keys": secretPaths,
      "gcp:secretmanager/secret:Secret :: redis-url": secretPaths,
      "gcp:secretmanager/secret:Secret :: redis-ca": secretPaths,
      "gcp:secretmanager/secret:Secret :: gmp-config": secretPaths,
      "gcp:storage/bucket:Bucket :: bucket": ["forceDestroy"], // prod's batch bucket is never destroyed with objects in it
      "gcp:billing/budget:Budget :: budget": [
        "amount.specifiedAmount.units",
        "displayName",
        "thresholdRules[1].thresholdPercent",
        "thresholdRules[2].thresholdPercent",
        "thresholdRules[3].spendBasis",
        "thresholdRules[4].spendBasis",
        "thresholdRules[4].thresholdPercent",
        "thresholdRules[5].spendBasis",
        "thresholdRules[5].thresholdPercent",
      ],
      // SLO targets from stack config (prod's are stricter), and so the runbooks that quote them
      "gcp:monitoring/slo:Slo :: slo-availability": ["displayName", "goal"],
      "gcp:monitoring/slo:Slo :: slo-first-token": ["displayName", "requestBasedSli.distributionCut.range.max"],
      ...Object.fromEntries(
        ["availability", "first-token"].flatMap((slo) =>
          ["fast", "slow", "ticket"].map((tier) => [
            `gcp:monitoring/alertPolicy:AlertPolicy :: alert-slo-${slo}-${tier}`,
            ["documentation.content"],
          ]),
        ),
      ),
      "gcp:redis/instance:Instance :: redis": ["deletionProtection", "memorySizeGb", "tier"],
      "gcp:cloudrunv2/service:Service :: gateway-europe-west4": [
        "customAudiences[0]",
        "deletionProtection",
        "description",
        "ingress",
        "template.containers[0].envs.GATEWAY_CAPACITY.value",
        "template.containers[0].envs.LOG_LEVEL.value",
        "template.containers[0].resources.limits.cpu",
        "template.containers[0].resources.limits.memory",
        "template.scaling.maxInstanceCount",
        "template.scaling.minInstanceCount",
      ],
      "gcp:cloudrunv2/serviceIamMember:ServiceIamMember :: gateway-europe-west4-invoker-<principal>": ["member"],
    });
    const redis = (r: ProgramRun) => named(r, TYPES.redis, "redis").inputs;
    expect([redis(runs.dev).tier, redis(runs.prod).tier]).toEqual(["BASIC", "STANDARD_HA"]);
    const ingress = (r: ProgramRun) => named(r, TYPES.run, "gateway-europe-west4").inputs.ingress;
    expect([ingress(runs.dev), ingress(runs.prod)]).toEqual([
      "INGRESS_TRAFFIC_ALL",
      "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
    ]);
  });

  it("outputs what an operator needs, and the Model Armor names are valid in a tenants file", () => {
    for (const stack of ["dev", "prod"] as const) {
      const outputs = runs[stack].outputs;
      expect(Object.keys(outputs)).toEqual(
        expect.arrayContaining([
          "projectId",
          "gatewayUrl",
          "gatewayUrls",
          "serviceAccounts",
          "modelArmorTemplates",
          "redis",
          "artifactRegistry",
          "secrets",
        ]),
      );
      const armor = outputs.modelArmorTemplates as { prompt: string; response: string };
      const doc = {
        tenants: [
          {
            id: "acme",
            keySha256: sha256Hex("k"),
            models: ["*"],
            modelArmor: { promptTemplate: armor.prompt, responseTemplate: armor.response },
          },
        ],
      };
      expect(parseTenants(doc, DEFAULT_MODELS)[0]!.modelArmor?.promptTemplateName).toBe(armor.prompt);
    }
    expect(runs.prod.outputs.gatewayUrl).toBe("https://gateway.replace-with-your-domain.example");
    expect(runs.dev.outputs.gatewayUrl).toBe(UNKNOWN); // the service's URI, known after the apply
  });
});

describe("the instance's concurrency and its upstream connections", () => {
  it.each(["dev", "prod"] as const)(
    "%s: each gateway's pool carries Cloud Run's concurrency, every request fanned out at most",
    async (stack) => {
      const run = await runProgram(stack);
      const services = ofType(run, TYPES.run);
      expect(services.length).toBeGreaterThan(0);
      for (const service of services) {
        const concurrency = at(service.inputs, "template.maxInstanceRequestConcurrency") as number;
        const config = loadConfig(gatewayEnv(service));
        expect(concurrency).toBeGreaterThan(0);
        // A call holds at most MAX_UPSTREAM_CALLS_PER_REQUEST upstream connections at once (embeddings fanned out):
        // with this pool no request on a full instance waits for a connection.
        expect(config.upstream.connections).toBeGreaterThanOrEqual(concurrency * MAX_UPSTREAM_CALLS_PER_REQUEST);
      }
    },
  );
});

describe("computed values", () => {
  it("aims the budget push, its OIDC audience and the gateway's expected audience at the same URL", async () => {
    const run = await runProgram("dev", {
      computed: ({ type }) => (type === TYPES.project ? { number: "123456789012" } : undefined),
    });
    const url = "https://gateway-123456789012.europe-west4.run.app/internal/budget-alerts";
    const push = named(run, TYPES.subscription, "budget-push");
    expect(at(push.inputs, "pushConfig.pushEndpoint")).toBe(url);
    expect(at(push.inputs, "pushConfig.oidcToken.audience")).toBe(url);
    const envs = at(named(run, TYPES.run, "gateway-europe-west4").inputs, "template.containers[0].envs") as {
      name: string;
      value?: string;
    }[];
    expect(envs.find((e) => e.name === ENV.BUDGET_PUSH_AUDIENCE)?.value).toBe(url);
    expect(at(named(run, TYPES.budget, "budget").inputs, "budgetFilter.projects")).toEqual(["projects/123456789012"]);
    expect(at(named(run, TYPES.uptime, "uptime-europe-west4").inputs, "monitoredResource.labels.host")).toBe(
      "gateway-123456789012.europe-west4.run.app",
    );
    expect(named(run, TYPES.secretVersion, "gmp-config-version").inputs.secretData).toBe(SECRET);
  });
});

describe("bootstrap stage (deployGateway: false)", () => {
  it("creates everything the gateway needs, and nothing that points at it", async () => {
    const run = await runProgram("prod", { config: { deployGateway: false } });
    for (const type of [TYPES.run, TYPES.runIam, TYPES.neg, TYPES.backend, TYPES.uptime, TYPES.forwardingRule]) {
      expect(ofType(run, type), type).toHaveLength(0);
    }
    expect(ofType(run, TYPES.subscription).map((s) => s.name)).toEqual(["budget-dead-letters"]);
    expect(ofType(run, TYPES.alert).map((a) => a.name)).not.toContainEqual(expect.stringMatching(/uptime/));
    for (const type of [TYPES.redis, TYPES.repository, TYPES.budget, TYPES.project, TYPES.secret]) {
      expect(ofType(run, type).length, type).toBeGreaterThan(0);
    }
    expect(run.outputs.gatewayUrl).toBeUndefined();
  });
});
