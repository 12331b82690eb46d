/**
 * Every guardrail the policy pack enforces, checked on what the program registers for both stacks (mocked preview).
 * A guardrail that only holds by accident (a provider default) is not good enough: each is asserted as an explicit
 * input.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  runProgram,
  SECRET,
  UNKNOWN,
  type CapturedResource,
  type ProgramRun,
  type StackName,
} from "../../infra/offline/run.js";
import { at, named, ofType, TYPES } from "../../infra/offline/plan.js";

const RUNTIME_ROLES = [
  "roles/aiplatform.user",
  "roles/cloudtrace.agent",
  "roles/logging.logWriter",
  "roles/monitoring.metricWriter",
];
const SECRET_LOOKING = /KEY|TOKEN|SECRET|PASSWORD/i;

interface Container {
  name: string;
  image: string;
  envs?: { name: string; value?: unknown; valueSource?: { secretKeyRef: { secret: string; version: string } } }[];
  resources?: { cpuIdle?: boolean; limits?: Record<string, string>; startupCpuBoost?: boolean };
  startupProbe?: { httpGet?: { path: string } };
  livenessProbe?: { httpGet?: { path: string } };
  ports?: { containerPort: number };
}

const containersOf = (service: CapturedResource) => at(service.inputs, "template.containers") as Container[];

describe.each(["dev", "prod"] as StackName[])("guardrails: %s", (stack) => {
  let run: ProgramRun;
  const prod = stack === "prod";
  beforeAll(async () => {
    run = await runProgram(stack);
  });

  it("uses one explicit provider carrying the required labels, for every resource", () => {
    const [provider, ...others] = ofType(run, TYPES.provider);
    expect(others).toHaveLength(0);
    const labels = JSON.parse(String(provider!.inputs.defaultLabels)) as Record<string, string>;
    expect(labels).toMatchObject({ env: stack, app: "gemini-gateway" });
    expect(Object.keys(labels)).toEqual(expect.arrayContaining(["env", "app", "owner", "cost-center"]));
    for (const r of run.resources.filter((r) => r.type !== TYPES.provider)) {
      expect(r.provider, `${r.type} ${r.name}`).toMatch(/::pulumi:providers:gcp::gcp::/);
    }
  });

  it("creates the project without the default network, protected in prod", () => {
    const project = named(run, TYPES.project, "project");
    expect(project.inputs.autoCreateNetwork).toBe(false);
    expect(project.inputs.deletionPolicy).toBe(prod ? "PREVENT" : "DELETE");
    expect(project.inputs.billingAccount).toBeTypeOf("string");
    for (const api of ofType(run, TYPES.api)) expect(api.inputs.disableOnDestroy, api.name).toBe(false);
  });

  it("runs every gateway as the runtime service account, never the default one", () => {
    const services = ofType(run, TYPES.run);
    expect(services).toHaveLength(prod ? 2 : 1);
    for (const s of services) {
      const account = at(s.inputs, "template.serviceAccount");
      expect(account, s.name).toBe(`ggw-runtime@${run.outputs.projectId}.iam.gserviceaccount.com`);
      expect(String(account)).not.toMatch(/-compute@developer\.gserviceaccount\.com$/);
    }
    expect(ofType(run, TYPES.runV1)).toHaveLength(0);
  });

  it("bounds scaling and concurrency, with warm instances in prod", () => {
    for (const s of ofType(run, TYPES.run)) {
      const max = at(s.inputs, "template.scaling.maxInstanceCount") as number;
      const min = at(s.inputs, "template.scaling.minInstanceCount") as number;
      expect(max).toBeGreaterThan(0);
      expect(max).toBeLessThanOrEqual(100);
      expect(min).toBeGreaterThanOrEqual(prod ? 1 : 0);
      expect(at(s.inputs, "template.maxInstanceRequestConcurrency")).toBeTypeOf("number");
    }
  });

  it("sets resources with an explicit cpuIdle on every container, and probes on the gateway", () => {
    for (const s of ofType(run, TYPES.run)) {
      for (const c of containersOf(s)) {
        expect(c.resources?.cpuIdle, `${s.name}/${c.name}`).toBeTypeOf("boolean");
        expect(c.resources?.limits?.cpu).toBeDefined();
        expect(c.resources?.limits?.memory).toBeDefined();
      }
      const gateway = containersOf(s).find((c) => c.ports)!;
      expect(gateway.name).toBe("gateway");
      expect(gateway.resources?.startupCpuBoost).toBe(true);
      expect(gateway.startupProbe?.httpGet?.path).toBe("/readyz");
      expect(gateway.livenessProbe?.httpGet?.path).toBe("/healthz");
    }
  });

  it("egresses to private ranges only through the environment's VPC", () => {
    for (const s of ofType(run, TYPES.run)) {
      expect(at(s.inputs, "template.vpcAccess.egress")).toBe("PRIVATE_RANGES_ONLY");
      expect(at(s.inputs, "template.vpcAccess.networkInterfaces[0].network")).toBe("ggw-vpc");
      expect(at(s.inputs, "template.vpcAccess.networkInterfaces[0].subnetwork")).toBe(`ggw-${s.inputs.location}`);
    }
    const network = named(run, TYPES.network, "vpc");
    expect(network.inputs.autoCreateSubnetworks).toBe(false);
    const subnets = ofType(run, TYPES.subnet);
    expect(subnets.map((s) => s.inputs.region)).toEqual(run.outputs.regions);
    for (const s of subnets) expect(s.inputs.ipCidrRange).toMatch(/\/24$/);
  });

  it("takes ingress from the load balancer only in prod, and keeps IAM on", () => {
    for (const s of ofType(run, TYPES.run)) {
      expect(s.inputs.ingress).toBe(prod ? "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER" : "INGRESS_TRAFFIC_ALL");
      expect(s.inputs.invokerIamDisabled).toBe(false);
      expect(s.inputs.deletionProtection).toBe(prod);
    }
  });

  it("grants nothing to allUsers or allAuthenticatedUsers, and creates no service-account key", () => {
    const everything = JSON.stringify(run.resources);
    expect(everything).not.toMatch(/allUsers|allAuthenticatedUsers/);
    expect(ofType(run, TYPES.accountKey)).toHaveLength(0);
    for (const grant of ofType(run, TYPES.runIam)) expect(grant.inputs.role).toBe("roles/run.invoker");
  });

  it("gives the runtime account exactly the allowlisted project roles, and no primitive or admin role to anyone", () => {
    const grants = ofType(run, TYPES.projectIam);
    const runtime = grants.filter((g) => String(g.inputs.member).startsWith("serviceAccount:ggw-runtime@"));
    expect(runtime.map((g) => g.inputs.role).sort()).toEqual(RUNTIME_ROLES);
    for (const g of grants) {
      expect(g.inputs.role).not.toMatch(/^roles\/(owner|editor|viewer)$|Admin$|admin$/);
      expect(g.inputs.role).not.toMatch(/serviceAccountUser|serviceAccountTokenCreator/);
    }
  });

  it("lets the deployer act as the runtime and push accounts, on each account only, and push images", () => {
    const deployer = `serviceAccount:ggw-${stack}-apply@replace-with-seed-project-id.iam.gserviceaccount.com`;
    const actAs = ofType(run, TYPES.accountIam);
    expect(actAs.map((g) => [g.name, g.inputs.role, g.inputs.member])).toEqual([
      ["deployer-acts-as-ggw-runtime", "roles/iam.serviceAccountUser", deployer],
      ["deployer-acts-as-ggw-budget-push", "roles/iam.serviceAccountUser", deployer],
    ]);
    expect(named(run, TYPES.repositoryIam, "repository-deployer-writer").inputs).toMatchObject({
      role: "roles/artifactregistry.writer",
      member: deployer,
    });
    // No identity pool, provider or CI account in the environment's own project: they live in the seed project.
    expect(ofType(run, TYPES.pool)).toHaveLength(0);
    expect(ofType(run, TYPES.poolProvider)).toHaveLength(0);
  });

  it("secures Redis: AUTH, TLS, private service access on the environment's network, HA in prod", () => {
    const redis = named(run, TYPES.redis, "redis");
    expect(redis.inputs).toMatchObject({
      authEnabled: true,
      transitEncryptionMode: "SERVER_AUTHENTICATION",
      connectMode: "PRIVATE_SERVICE_ACCESS",
      authorizedNetwork: `projects/${run.outputs.projectId}/global/networks/ggw-vpc`,
      tier: prod ? "STANDARD_HA" : "BASIC",
      deletionProtection: prod,
    });
    expect(named(run, TYPES.globalAddress, "psa-range").inputs.purpose).toBe("VPC_PEERING");
    expect(named(run, TYPES.psa, "psa-connection").inputs.service).toBe("servicenetworking.googleapis.com");
  });

  it("keeps every secret out of plain config and env: secret refs and files at pinned versions", () => {
    for (const s of ofType(run, TYPES.run)) {
      for (const c of containersOf(s)) {
        for (const env of c.envs ?? []) {
          // GATEWAY_KEYS_SECRET names a secret (the gateway reads and adds its versions itself); it holds no value.
          if (env.name === "GATEWAY_KEYS_SECRET") {
            expect(env.value).toBe(`projects/${run.outputs.projectId}/secrets/gateway-keys`);
          } else if (SECRET_LOOKING.test(env.name)) expect(env.value, env.name).toBeUndefined();
          if (env.valueSource) expect(env.valueSource.secretKeyRef.version).not.toBe("latest");
        }
      }
      const redisUrl = containersOf(s)[0]!.envs!.find((e) => e.name === "REDIS_URL")!;
      expect(redisUrl.valueSource?.secretKeyRef.secret).toBe("redis-url");
      for (const volume of at(s.inputs, "template.volumes") as { secret: { items: { version: string }[] } }[]) {
        for (const item of volume.secret.items) expect(item.version).not.toBe("latest");
      }
    }
    for (const version of ofType(run, TYPES.secretVersion)) {
      expect([SECRET, UNKNOWN], version.name).toContain(version.inputs.secretData);
    }
    expect(named(run, TYPES.secretVersion, "redis-url-version").inputs.secretData).toBe(UNKNOWN);
  });

  it("grants secret access per secret to the runtime account, replicated in the stack's regions only", () => {
    const secrets = ofType(run, TYPES.secret);
    const all = ofType(run, TYPES.secretIam);
    const grants = all.filter((g) => g.inputs.role === "roles/secretmanager.secretAccessor");
    expect(grants).toHaveLength(secrets.length);
    // The one other grant: adding versions to the managed keys' secret (docs/keys.md), on that secret only.
    expect(all.filter((g) => !grants.includes(g)).map((g) => g.inputs)).toEqual([
      expect.objectContaining({
        secretId: "gateway-keys",
        role: "roles/secretmanager.secretVersionAdder",
        member: `serviceAccount:ggw-runtime@${run.outputs.projectId}.iam.gserviceaccount.com`,
      }),
    ]);
    for (const secret of secrets) {
      const grant = grants.find((g) => g.inputs.secretId === secret.inputs.secretId);
      expect(grant?.inputs, String(secret.inputs.secretId)).toMatchObject({
        role: "roles/secretmanager.secretAccessor",
        member: `serviceAccount:ggw-runtime@${run.outputs.projectId}.iam.gserviceaccount.com`,
      });
      const replicas = at(secret.inputs, "replication.userManaged.replicas") as { location: string }[];
      expect(replicas.map((r) => r.location)).toEqual(run.outputs.regions);
      expect(secret.inputs.deletionProtection).toBe(prod);
    }
    // Every secret the service reads has its grant.
    const referenced = new Set<string>();
    for (const s of ofType(run, TYPES.run)) {
      for (const c of containersOf(s))
        for (const e of c.envs ?? []) if (e.valueSource) referenced.add(e.valueSource.secretKeyRef.secret);
      for (const v of at(s.inputs, "template.volumes") as { secret: { secret: string } }[])
        referenced.add(v.secret.secret);
    }
    for (const id of referenced) expect(grants.map((g) => g.inputs.secretId)).toContain(id);
  });

  it("pulls images only from the environment's own registry, which has cleanup policies and no public access", () => {
    const registry = String(run.outputs.artifactRegistry);
    for (const s of ofType(run, TYPES.run)) {
      for (const c of containersOf(s)) expect(c.image.startsWith(`${registry}/`), c.image).toBe(true);
    }
    const repository = named(run, TYPES.repository, "repository");
    expect(repository.inputs.format).toBe("DOCKER");
    expect((repository.inputs.cleanupPolicies as unknown[]).length).toBeGreaterThan(0);
    for (const g of ofType(run, TYPES.repositoryIam)) expect(g.inputs.member).toMatch(/^serviceAccount:ggw-/);
  });

  it("has exactly one budget, with forecast rules and a Pub/Sub target", () => {
    const [budget, ...more] = ofType(run, TYPES.budget);
    expect(more).toHaveLength(0);
    const rules = budget!.inputs.thresholdRules as { spendBasis: string; thresholdPercent: number }[];
    expect(rules.some((r) => r.spendBasis === "FORECASTED_SPEND")).toBe(true);
    expect(rules.some((r) => r.spendBasis === "CURRENT_SPEND")).toBe(true);
    expect(budget!.inputs.allUpdatesRule).toMatchObject({
      pubsubTopic: `projects/${run.outputs.projectId}/topics/budget-alerts`,
      schemaVersion: "1.0",
    });
    expect(at(budget!.inputs, "budgetFilter.projects[0]")).toBe(UNKNOWN); // projects/<number>, known after the project
  });

  it("pushes budget notifications with an OIDC token of the push account the gateway expects", () => {
    const push = named(run, TYPES.subscription, "budget-push");
    const pushAccount = `ggw-budget-push@${run.outputs.projectId}.iam.gserviceaccount.com`;
    expect(at(push.inputs, "pushConfig.oidcToken.serviceAccountEmail")).toBe(pushAccount);
    expect(at(push.inputs, "deadLetterPolicy.deadLetterTopic")).toBe(
      `projects/${run.outputs.projectId}/topics/budget-alerts-dead`,
    );
    for (const s of ofType(run, TYPES.run)) {
      const envs = containersOf(s)[0]!.envs!;
      expect(envs.find((e) => e.name === "GATEWAY_BUDGET_PUSH_SERVICE_ACCOUNT")?.value).toBe(pushAccount);
    }
    const invokers = ofType(run, TYPES.runIam).filter((g) => g.inputs.member === `serviceAccount:${pushAccount}`);
    expect(invokers.map((g) => g.inputs.location)).toEqual([(run.outputs.regions as string[])[0]]);
  });

  it("has alert policies for latency, 5xx, upstream 429s, instances, Redis memory, spend and uptime, each notifying", () => {
    const policies = ofType(run, TYPES.alert);
    const queries = policies.map((p) => JSON.stringify(p.inputs.conditions));
    for (const needle of [
      "gateway_request_duration_seconds_bucket",
      'gateway_requests_total{code_class=\\"5xx\\"}',
      'gateway_upstream_duration_seconds_count{outcome=\\"rate_limited\\"}',
      "run.googleapis.com/container/instance_count",
      "redis.googleapis.com/stats/memory/usage_ratio",
      "gateway_cost_usd_total",
    ]) {
      expect(
        queries.some((q) => q.includes(needle)),
        needle,
      ).toBe(true);
    }
    for (const p of policies) {
      expect((p.inputs.notificationChannels as unknown[]).length, p.name).toBeGreaterThan(0);
    }
    // One uptime check per region on /healthz, each with its alert (the filter names the check's generated id).
    const regions = run.outputs.regions as string[];
    expect(ofType(run, TYPES.uptime).map((u) => [u.name, at(u.inputs, "httpCheck.path")])).toEqual(
      regions.map((r) => [`uptime-${r}`, "/healthz"]),
    );
    for (const r of regions) expect(policies.map((p) => p.name)).toContain(`alert-uptime-${r}`);
    expect(ofType(run, TYPES.dashboard)).toHaveLength(1);
  });

  it("protects a prod edge with Cloud Armor and TLS (no edge in dev)", () => {
    const backends = ofType(run, TYPES.backend);
    if (!prod) {
      expect(backends).toHaveLength(0);
      return;
    }
    expect(backends[0]!.inputs.loadBalancingScheme).toBe("EXTERNAL_MANAGED");
    expect(backends[0]!.inputs.securityPolicy).toBe(UNKNOWN);
    const rules = at(named(run, TYPES.securityPolicy, "armor").inputs, "rules") as { action: string }[];
    expect(rules.map((r) => r.action)).toContain("rate_based_ban");
    expect(ofType(run, TYPES.neg).map((n) => n.inputs.networkEndpointType)).toEqual(["SERVERLESS", "SERVERLESS"]);
    expect(at(named(run, TYPES.certificate, "certificate").inputs, "managed.domains")).toEqual([
      "gateway.replace-with-your-domain.example",
    ]);
  });
});
