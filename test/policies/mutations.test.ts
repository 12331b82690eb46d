/**
 * "A mutation fails both a test and the check" (issue 14), on the real programs' plans: each mutation — grant Owner,
 * drop the Monitoring service agent, widen a Workload Identity provider's condition — is applied to the plan the
 * offline run captures for a stack (infra/offline/run.ts, what `npm run check` evaluates), and the mutated plan must
 * be refused twice: by the policy pack, with the stack's pack config, through the check's own code
 * (policies/check/check.ts), and by the predicate the infra tests assert on the unmutated plan
 * (test/support/plan-checks.ts). Both must accept the plan as the program makes it, or the test proves nothing.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { named, TYPES } from "../../infra/offline/plan.js";
import { runProgram, UNKNOWN, type ProgramRun, type StackName } from "../../infra/offline/run.js";
import { checkRun } from "../../policies/check/check.js";
import { monitoringAgentProblems, primitiveRoleGrants, providerConditionProblems } from "../support/plan-checks.js";

interface Mutation {
  title: string;
  stack: StackName;
  /** Changes a copy of the plan, as the program would plan it after the same change to its code. */
  mutate: (run: ProgramRun) => void;
  /** The mandatory violations the check must report: rule and resource. */
  violations: { policy: string; resourceName: string; message: RegExp }[];
  /** The infra tests' predicate: the problems it finds (none on the real plan). */
  predicate: (run: ProgramRun) => string[];
  problem: RegExp;
}

/** A new project-level grant of roles/owner, planned like the program's own project grants. */
function grantOwner(run: ProgramRun): void {
  const model = named(run, TYPES.projectIam, "runtime-aiplatform-user");
  run.resources.push({
    ...structuredClone(model),
    name: "mutation-owner",
    urn: model.urn!.replace(/::runtime-aiplatform-user$/, "::mutation-owner"),
    inputs: { ...model.inputs, role: "roles/owner", member: "user:someone@example.com" },
  });
}

/**
 * No ServiceIdentity for monitoring.googleapis.com: the uptime checks' invoker grants name the agent by an address
 * built from the project's number (unknown in a first preview), so they wait for the project, not for the agent.
 */
function dropMonitoringAgent(run: ProgramRun): void {
  const agent = named(run, TYPES.serviceIdentity, "monitoring-agent");
  const project = run.resources.find((r) => r.type === TYPES.project)!;
  run.resources = run.resources.filter((r) => r !== agent);
  const without = (urns: string[] | undefined) => urns?.filter((u) => u !== agent.urn);
  for (const r of run.resources) {
    if (r.dependencies) r.dependencies = without(r.dependencies);
    for (const [k, urns] of Object.entries(r.propertyDependencies ?? {})) r.propertyDependencies![k] = without(urns)!;
    if (r.type === TYPES.runIam && r.name.endsWith("-uptime-checks")) {
      r.inputs.member = UNKNOWN;
      r.propertyDependencies = { ...r.propertyDependencies, member: [project.urn!] };
      r.dependencies = [...(r.dependencies ?? []), project.urn!];
    }
  }
}

/** dev's preview provider also accepts any workflow of any repository of an owner named "acme". */
function widenProviderCondition(run: ProgramRun): void {
  const provider = named(run, TYPES.poolProvider, "github-dev-preview");
  provider.inputs.attributeCondition = `${String(provider.inputs.attributeCondition)} || assertion.repository_owner == 'acme'`;
}

const MUTATIONS: Mutation[] = [
  ...(["dev", "prod"] as const).flatMap((stack): Mutation[] => [
    {
      title: "grant owner",
      stack,
      mutate: grantOwner,
      violations: [
        { policy: "iam-no-primitive-or-admin-roles", resourceName: "mutation-owner", message: /roles\/owner/ },
      ],
      predicate: primitiveRoleGrants,
      problem: /"mutation-owner" grants roles\/owner/,
    },
    {
      title: "drop the monitoring identity",
      stack,
      mutate: dropMonitoringAgent,
      violations: (stack === "prod" ? ["europe-west1", "europe-west4"] : ["europe-west4"]).map((region) => ({
        policy: "service-agents-before-grants",
        resourceName: `uptime-${region}`,
        message: /waits for a ServiceIdentity of monitoring\.googleapis\.com/,
      })),
      predicate: monitoringAgentProblems,
      problem: /no ServiceIdentity named monitoring-agent/,
    },
  ]),
  {
    title: "widen a provider condition",
    stack: "bootstrap",
    mutate: widenProviderCondition,
    violations: [{ policy: "iam-wif-attribute-condition", resourceName: "github-dev-preview", message: /\|\|/ }],
    predicate: providerConditionProblems,
    problem: /^dev-preview: condition .*\|\| assertion\.repository_owner == 'acme'/,
  },
];

const mandatory = (stack: StackName, run: ProgramRun) =>
  checkRun(stack, run)
    .violations.filter((v) => v.enforcementLevel === "mandatory")
    .map((v) => ({ policy: v.policy, resourceName: v.resourceName, message: v.message }));

const copy = (run: ProgramRun): ProgramRun => structuredClone(run);

describe.each(["dev", "prod", "bootstrap"] as const)("mutations of the %s plan", (stack) => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram(stack);
  });
  const mutations = MUTATIONS.filter((m) => m.stack === stack);

  it("the plan as the program makes it passes the check and every predicate", () => {
    expect(mandatory(stack, run)).toEqual([]);
    for (const m of mutations) expect(m.predicate(run), m.title).toEqual([]);
  });

  it.each(mutations.map((m) => [m.title, m] as const))("%s: the check refuses it, and so does the test", (_, m) => {
    const mutated = copy(run);
    m.mutate(mutated);
    expect(mutated.resources).not.toEqual(run.resources);

    const found = mandatory(stack, mutated);
    expect(found).toHaveLength(m.violations.length);
    for (const v of m.violations) {
      expect(found).toContainEqual({
        policy: v.policy,
        resourceName: v.resourceName,
        message: expect.stringMatching(v.message),
      });
    }

    const problems = m.predicate(mutated);
    expect(
      problems.some((p) => m.problem.test(p)),
      problems.join("\n"),
    ).toBe(true);
  });
});
