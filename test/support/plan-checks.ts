/**
 * What the infra tests require of a plan, as predicates that return the problems they find (none: the plan holds).
 * test/infra/first-deploy.test.ts and test/infra/bootstrap.test.ts assert them on the programs' real plans;
 * test/policies/mutations.test.ts asserts that each one rejects a mutated plan that the policy pack rejects too.
 */
import { at, GRANT_TYPES, ofType, TYPES } from "../../infra/offline/plan.js";
import type { CapturedResource, ProgramRun } from "../../infra/offline/run.js";

/** Everything `r` waits for, directly or transitively (dependencies, as the offline run captures them). */
export function waitsFor(run: ProgramRun, r: CapturedResource): CapturedResource[] {
  const index = new Map(run.resources.map((x) => [x.urn!, x]));
  const seen = new Set<string>();
  const stack = [...(r.dependencies ?? [])];
  while (stack.length) {
    const urn = stack.pop()!;
    if (seen.has(urn)) continue;
    seen.add(urn);
    stack.push(...(index.get(urn)?.dependencies ?? []));
  }
  return [...seen].map((u) => index.get(u)).filter((x): x is CapturedResource => x !== undefined);
}

export const grantsIn = (run: ProgramRun): CapturedResource[] =>
  run.resources.filter((r) => GRANT_TYPES.includes(r.type));

/** Grants of a primitive role (owner, editor, viewer) on any resource. */
export function primitiveRoleGrants(run: ProgramRun): string[] {
  return grantsIn(run)
    .filter((g) => /^roles\/(owner|editor|viewer)$/.test(String(g.inputs.role)))
    .map((g) => `${g.type} "${g.name}" grants ${String(g.inputs.role)} to ${String(g.inputs.member)}`);
}

/**
 * The uptime checks' run.invoker grants go to the Monitoring service agent's ServiceIdentity ("monitoring-agent"):
 * the grant's member comes from it, the grant waits for it, and so does every uptime check.
 */
export function monitoringAgentProblems(run: ProgramRun): string[] {
  const agent = ofType(run, TYPES.serviceIdentity).find((a) => a.name === "monitoring-agent");
  if (!agent) return ["no ServiceIdentity named monitoring-agent"];
  const problems: string[] = [];
  if (agent.inputs.service !== "monitoring.googleapis.com") {
    problems.push(`monitoring-agent is the agent of ${String(agent.inputs.service)}`);
  }
  const grants = ofType(run, TYPES.runIam).filter((g) => g.name.endsWith("-uptime-checks"));
  if (grants.length === 0) problems.push("no run.invoker grant for the uptime checks");
  for (const g of grants) {
    const from = g.propertyDependencies?.member ?? [];
    if (from.length !== 1 || from[0] !== agent.urn) {
      problems.push(`"${g.name}": member ${String(g.inputs.member)} does not come from monitoring-agent`);
    }
    if (!g.dependencies?.includes(agent.urn!)) problems.push(`"${g.name}" does not wait for monitoring-agent`);
  }
  for (const check of ofType(run, TYPES.uptime)) {
    if (!waitsFor(run, check).some((r) => r.urn === agent.urn)) {
      problems.push(`uptime check "${check.name}" does not wait for monitoring-agent`);
    }
  }
  return problems;
}

const IDS =
  "assertion.repository_id == 'REPLACE_WITH_GITHUB_REPOSITORY_ID' && assertion.repository_owner_id == 'REPLACE_WITH_GITHUB_OWNER_ID'";
const DEPLOY =
  "assertion.event_name == 'push' && assertion.ref == 'refs/heads/main' && assertion.job_workflow_ref == " +
  "'REPLACE_WITH_GITHUB_OWNER/gemini-gateway/.github/workflows/deploy.yml@refs/heads/main'";

/** Each bootstrap provider's attribute condition, for the committed stack file (placeholders included). */
export const PROVIDER_CONDITIONS: Readonly<Record<string, string>> = {
  // pull requests: the pull-request workflow only, and only dev's preview
  "dev-preview":
    `${IDS} && assertion.event_name == 'pull_request' && assertion.job_workflow_ref.startsWith(` +
    "'REPLACE_WITH_GITHUB_OWNER/gemini-gateway/.github/workflows/pull-request.yml@refs/pull/')",
  // prod's preview: the post-merge preview in the deploy workflow, never a pull request's code
  "prod-preview": `${IDS} && ${DEPLOY}`,
  "dev-apply": `${IDS} && ${DEPLOY} && assertion.environment == 'dev'`,
  "prod-apply": `${IDS} && ${DEPLOY} && assertion.environment == 'production'`,
};

/**
 * The bootstrap's Workload Identity providers: exactly the four, each GitHub's issuer and exactly its condition
 * (repository id and owner id, workflow, event and branch), never the renamable repository name or `||`.
 */
export function providerConditionProblems(run: ProgramRun): string[] {
  const providers = ofType(run, TYPES.poolProvider);
  const problems: string[] = [];
  const ids = providers.map((p) => String(p.inputs.workloadIdentityPoolProviderId)).sort();
  const expected = Object.keys(PROVIDER_CONDITIONS).sort();
  if (JSON.stringify(ids) !== JSON.stringify(expected)) {
    problems.push(`providers ${ids.join(", ")}; expected ${expected.join(", ")}`);
  }
  for (const p of providers) {
    const id = String(p.inputs.workloadIdentityPoolProviderId);
    const condition = String(p.inputs.attributeCondition);
    if (id in PROVIDER_CONDITIONS && condition !== PROVIDER_CONDITIONS[id]) {
      problems.push(`${id}: condition ${condition}; expected ${PROVIDER_CONDITIONS[id]}`);
    }
    if (/assertion\.repository ==|assertion\.repository_owner ==|\|\|/.test(condition)) {
      problems.push(`${id}: condition names the repository or owner by name, or has ||: ${condition}`);
    }
    if (at(p.inputs, "oidc.issuerUri") !== "https://token.actions.githubusercontent.com") {
      problems.push(`${id}: issuer ${String(at(p.inputs, "oidc.issuerUri"))}`);
    }
  }
  return problems;
}
