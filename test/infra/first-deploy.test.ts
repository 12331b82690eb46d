/**
 * A first `pulumi up` on a fresh organisation, read from the plans: what is created before what (the engine's
 * dependencies, as the offline run captures them), which provider bills which call, which identities exist
 * afterwards and what they may do, and what keeps watching when the metrics sidecar does not.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { burnRateThreshold, BURN_RATE_TIERS } from "../../infra/components/slos.js";
import { StackConfigError } from "../../infra/config.js";
import { MODEL_ARMOR_VERTEX_LOCATIONS } from "../../infra/model-armor-locations.js";
import { at, named, ofType, TYPES } from "../../infra/offline/plan.js";
import { runProgram, type EnvStack, type ProgramRun } from "../../infra/offline/run.js";
import { QUOTA_PROJECT_TYPES } from "../../infra/program.js";
import { grantsIn, monitoringAgentProblems, primitiveRoleGrants } from "../support/plan-checks.js";

describe.each(["dev", "prod", "bootstrap"] as const)("%s: no Owner or Editor anywhere", (stack) => {
  it("grants no primitive role (owner, editor, viewer) on any resource", async () => {
    const run = await runProgram(stack);
    expect(grantsIn(run).length).toBeGreaterThan(0);
    expect(primitiveRoleGrants(run)).toEqual([]);
  });
});

describe.each(["dev", "prod"] as EnvStack[])("first deploy of %s", (stack) => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram(stack);
  });

  it("creates the Monitoring service agent before granting it run.invoker for the uptime checks", () => {
    // The agent exists, each invoker grant's member comes from it and waits for it, and so does each uptime check.
    expect(monitoringAgentProblems(run)).toEqual([]);
    const grants = ofType(run, TYPES.runIam).filter((g) => g.name.endsWith("-uptime-checks"));
    expect(grants).toHaveLength(stack === "prod" ? 2 : 1);
    expect(ofType(run, TYPES.uptime)).toHaveLength(grants.length);
  });

  it("grants every service agent its role through the agent's ServiceIdentity", () => {
    const agents = ofType(run, TYPES.serviceIdentity);
    expect(agents.map((a) => a.inputs.service).sort()).toEqual([
      "aiplatform.googleapis.com",
      "monitoring.googleapis.com",
      "pubsub.googleapis.com",
    ]);
    const agentUrns = new Set(agents.map((a) => a.urn));
    const toAgents = grantsIn(run).filter((g) => g.propertyDependencies?.member?.some((u) => agentUrns.has(u)));
    expect(toAgents.map((g) => [g.name, g.inputs.role]).sort()).toEqual(
      [
        ["bucket-vertex-agent", "roles/storage.objectUser"],
        ["budget-push-pubsub-subscriber", "roles/pubsub.subscriber"],
        ["dead-letter-topic-pubsub-publisher", "roles/pubsub.publisher"],
        ["vertex-agent-modelarmor-user", "roles/modelarmor.user"],
        ...Object.keys(run.outputs.gatewayUrls as object).map((r) => [
          `gateway-${r}-uptime-checks`,
          "roles/run.invoker",
        ]),
      ].sort(),
    );
    // No grant names an agent built from the project number instead.
    for (const g of grantsIn(run)) expect(String(g.inputs.member)).not.toMatch(/@gcp-sa-|serverless-robot/);
  });

  it("lets Google enforce the guardrails too: organization policies on the project, before any API is enabled", () => {
    const policies = ofType(run, TYPES.orgPolicy);
    const constraints = policies.map((p) => String(p.inputs.name).split("/policies/")[1]);
    expect(constraints.sort()).toEqual(
      [
        "compute.skipDefaultNetworkCreation",
        "gcp.resourceLocations",
        "iam.disableServiceAccountKeyCreation",
        "storage.publicAccessPrevention",
        ...(stack === "prod" ? ["run.allowedIngress"] : []),
      ].sort(),
    );
    const project = `projects/replace-with-${stack}-project-id`;
    for (const p of policies) expect(p.inputs.parent).toBe(project);
    if (stack === "prod") {
      expect(at(named(run, TYPES.orgPolicy, "org-policy-run.allowedIngress").inputs, "spec.rules[0].values")).toEqual({
        allowedValues: ["is:internal-and-cloud-load-balancing"],
      });
    }
    expect(
      at(named(run, TYPES.orgPolicy, "org-policy-gcp.resourceLocations").inputs, "spec.rules[0].values.allowedValues"),
    ).toEqual((run.outputs.regions as string[]).map((r) => `in:${r}-locations`));
    // Enabling Compute Engine would create the default network: every API waits for the policies.
    for (const api of ofType(run, TYPES.api)) {
      for (const p of policies) expect(api.dependencies, api.name).toContain(p.urn);
    }
  });

  it("leaves no Owner behind: the creator's Owner grant is removed and the default compute account disabled", () => {
    const removal = named(run, TYPES.iamMemberRemove, "creator-owner-removed");
    expect(removal.inputs).toMatchObject({
      role: "roles/owner",
      member: `serviceAccount:ggw-${stack}-apply@replace-with-seed-project-id.iam.gserviceaccount.com`,
    });
    const defaults = named(run, TYPES.defaultServiceAccounts, "default-service-accounts");
    expect(defaults.inputs).toMatchObject({ action: "DISABLE", project: `replace-with-${stack}-project-id` });
    // After Compute Engine (which creates the account) is enabled.
    expect(defaults.dependencies).toContain(named(run, TYPES.api, "api-compute").urn);
  });

  it("bills each call to the project it acts on: the main provider carries no quota project", () => {
    const [provider, ...more] = ofType(run, TYPES.provider);
    expect(more).toHaveLength(0);
    expect(provider!.inputs.billingProject).toBeUndefined();
    expect(provider!.inputs.userProjectOverride).toBeUndefined();
  });

  it("runs every gateway where its tenants' Model Armor templates are, in a location Vertex screens with them", () => {
    const templates = ofType(run, TYPES.armorTemplate);
    const locations = new Set(templates.map((t) => t.inputs.location));
    expect(locations.size).toBe(1);
    const [location] = [...locations] as string[];
    expect(MODEL_ARMOR_VERTEX_LOCATIONS).toContain(location);
    for (const svc of ofType(run, TYPES.run)) {
      const envs = at(svc.inputs, "template.containers[0].envs") as { name: string; value?: string }[];
      expect(envs.find((e) => e.name === "GOOGLE_CLOUD_LOCATION")?.value, svc.name).toBe(location);
    }
  });

  it("keeps replaced secret versions (disabled, not destroyed) so the previous revision can come back", () => {
    const versions = ofType(run, TYPES.secretVersion);
    expect(versions).toHaveLength(3);
    for (const v of versions) expect(v.inputs.deletionPolicy, v.name).toBe("DISABLE");
  });

  it("waits for the deployer's actAs before Cloud Run and the push subscription name the accounts", () => {
    const actAs = (id: string) => named(run, TYPES.accountIam, `deployer-acts-as-${id}`).urn;
    for (const svc of ofType(run, TYPES.run)) expect(svc.dependencies).toContain(actAs("ggw-runtime"));
    expect(named(run, TYPES.subscription, "budget-push").dependencies).toContain(actAs("ggw-budget-push"));
  });
});

describe("alerts that do not depend on the metrics sidecar", () => {
  const conditions = (run: ProgramRun) =>
    ofType(run, TYPES.alert).flatMap((p) =>
      (p.inputs.conditions as Record<string, unknown>[]).map((c) => ({ policy: p, text: JSON.stringify(c), c })),
    );

  it.each(["dev", "prod"] as EnvStack[])(
    "%s: Cloud Run 5xx and latency from Google's own metrics, and the dead-letter backlog",
    async (stack) => {
      const run = await runProgram(stack);
      const all = conditions(run);
      const find = (needle: RegExp) => all.filter((x) => needle.test(x.text));
      expect(find(/run\.googleapis\.com\/request_count.*response_code_class = \\"5xx\\"/)).toHaveLength(1);
      expect(find(/run\.googleapis\.com\/request_latencies/)).toHaveLength(1);
      const deadLetters = find(/num_undelivered_messages/);
      expect(deadLetters).toHaveLength(1);
      expect(deadLetters[0]!.text).toContain('subscription_id = \\"budget-alerts-dead-inspect\\"');
      expect(named(run, TYPES.subscription, "budget-dead-letters").inputs.name).toBe("budget-alerts-dead-inspect");
      for (const { policy } of all) expect((policy.inputs.notificationChannels as unknown[]).length).toBeGreaterThan(0);
      // A dev instance scales to zero: no absence alert there (the series stop whenever nobody calls).
      expect(all.some((x) => x.c.conditionAbsent)).toBe(stack === "prod");
    },
  );

  it("prod: the load balancer's 5xx and latency, and an alert when the sidecar's series stop", async () => {
    const run = await runProgram("prod");
    const texts = conditions(run).map((x) => x.text);
    expect(texts.filter((t) => t.includes("loadbalancing.googleapis.com/https/request_count"))).toHaveLength(1);
    expect(texts.filter((t) => t.includes("loadbalancing.googleapis.com/https/total_latencies"))).toHaveLength(1);
    const absent = conditions(run).find((x) => x.c.conditionAbsent)!;
    expect(absent.text).toContain("prometheus.googleapis.com/gateway_inflight_requests/gauge");
  });
});

describe("SLOs as code", () => {
  it("the SRE workbook's burn rates: 14.4, 6 and 1 over a 30-day budget", () => {
    expect(BURN_RATE_TIERS.map((t) => burnRateThreshold(t.budgetFraction, 30, t.longSeconds))).toEqual([14.4, 6, 1]);
    expect(BURN_RATE_TIERS.map((t) => burnRateThreshold(t.budgetFraction, 28, t.longSeconds))).toEqual([
      13.44, 5.6, 0.933,
    ]);
  });

  it.each([
    ["dev", 0.99],
    ["prod", 0.999],
  ] as const)(
    "%s: availability, overhead and first-token SLOs from stack config, each with three burn-rate alerts",
    async (stack, goal) => {
      const run = await runProgram(stack);
      const slos = ofType(run, TYPES.slo);
      expect(slos.map((s) => s.inputs.sloId)).toEqual(["availability", "overhead", "first-token"]);
      expect(named(run, TYPES.slo, "slo-availability").inputs).toMatchObject({ goal, rollingPeriodDays: 28 });
      expect(
        at(named(run, TYPES.slo, "slo-availability").inputs, "requestBasedSli.goodTotalRatio.badServiceFilter"),
      ).toBe(
        'metric.type = "prometheus.googleapis.com/gateway_requests_total/counter" AND resource.type = "prometheus_target" AND metric.labels.code_class = "5xx"',
      );
      expect(at(named(run, TYPES.slo, "slo-overhead").inputs, "requestBasedSli.distributionCut.range.max")).toBe(0.025);
      for (const slo of slos) {
        const name = `projects/replace-with-${stack}-project-id/services/gemini-gateway/serviceLevelObjectives/${String(slo.inputs.sloId)}`;
        const policies = ofType(run, TYPES.alert).filter((p) => JSON.stringify(p.inputs.conditions).includes(name));
        expect(policies.map((p) => p.name)).toEqual(
          ["fast", "slow", "ticket"].map((tier) => `alert-slo-${String(slo.inputs.sloId)}-${tier}`),
        );
        for (const p of policies) {
          expect(p.inputs.combiner).toBe("AND");
          const filters = (p.inputs.conditions as { conditionThreshold: { filter: string } }[]).map(
            (c) => c.conditionThreshold.filter,
          );
          expect(filters).toHaveLength(2);
          expect(new Set(filters).size).toBe(2);
        }
      }
    },
  );
});

describe("a quota project for user credentials", () => {
  it("goes on a provider of its own, used only by the project, its APIs, its organization policies and the budget", async () => {
    const run = await runProgram("dev", { config: { quotaProject: "acme-ggw-seed" } });
    const providers = ofType(run, TYPES.provider);
    expect(providers.map((p) => p.name).sort()).toEqual(["gcp", "gcp-quota"]);
    const main = named(run, TYPES.provider, "gcp");
    const quota = named(run, TYPES.provider, "gcp-quota");
    expect(main.inputs.billingProject).toBeUndefined();
    expect(quota.inputs).toMatchObject({ billingProject: "acme-ggw-seed", userProjectOverride: "true" });
    const onQuota = run.resources.filter((r) => r.provider?.startsWith(`${quota.urn}::`));
    expect([...new Set(onQuota.map((r) => r.type))].sort()).toEqual([...QUOTA_PROJECT_TYPES].sort());
    expect(onQuota.filter((r) => r.type === TYPES.api)).toHaveLength(19);
    // Compute, Secret Manager, Redis and Pub/Sub calls stay on the environment's own project.
    for (const type of [TYPES.network, TYPES.secret, TYPES.redis, TYPES.topic, TYPES.run]) {
      for (const r of ofType(run, type)) expect(r.provider, `${type} ${r.name}`).toContain(`${main.urn}::`);
    }
  });
});

describe("config validation: Model Armor usable in every gateway region", () => {
  it("refuses a second region whose Vertex calls would go where no template is", async () => {
    const error = (await runProgram("prod", { config: { vertexLocation: "" } }).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(StackConfigError);
    expect(error.message).toMatch(/vertexLocation: the europe-west1 gateway would call Vertex AI in europe-west1/);
  });

  it("refuses templates where Vertex's Model Armor integration is not offered", async () => {
    const error = (await runProgram("dev", { config: { regions: ["europe-west1"] } }).catch(
      (e: unknown) => e,
    )) as Error;
    expect(error).toBeInstanceOf(StackConfigError);
    expect(error.message).toMatch(/Model Armor templates would live in europe-west1/);
  });
});
