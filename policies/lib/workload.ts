/**
 * Which stacks run a workload. The environment rules (a budget, alerts, backstops) are about stacks that create a
 * project or run Cloud Run services; a seed stack (infra/bootstrap: state, keys, CI identities) has neither, and
 * those rules do not apply to it, rather than being disabled in its config.
 */
import type { PolicyResource } from "@pulumi/policy";
import { T } from "./types.js";

export function isWorkloadStack(resources: readonly PolicyResource[]): boolean {
  return resources.some((r) => r.type === T.project || r.type === T.cloudRunService || r.type === T.cloudRunV1Service);
}

/** Everything `r` waits for, directly or through what it waits for (the engine's dependency graph). */
export function transitiveDependencies(r: PolicyResource): PolicyResource[] {
  const seen = new Set<PolicyResource>();
  const stack = [...r.dependencies];
  while (stack.length) {
    const d = stack.pop()!;
    if (seen.has(d)) continue;
    seen.add(d);
    stack.push(...d.dependencies);
  }
  return [...seen];
}
