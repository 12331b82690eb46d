/**
 * The offline check itself, without the command line: a stack's plan (infra/offline/run.ts) evaluated against every
 * rule of the pack with that stack's pack config. `npm run check` (cli.ts) prints it; tests call it on plans they
 * have changed (test/policies/mutations.test.ts).
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { REPO_ROOT, runProgram, type ProgramRun, type RunOptions, type StackName } from "../../infra/offline/run.js";
import { evaluate } from "../lib/evaluate.js";
import type { CheckResult } from "./report.js";

/** The pack's config for a stack (policies/config/<stack>.json), as `pulumi preview --policy-pack-config` takes it. */
export function packConfig(stack: StackName): Record<string, unknown> {
  const file = resolve(REPO_ROOT, "policies/config", `${stack}.json`);
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>) : {};
}

/** The pack's verdict on a plan of `stack`. */
export function checkRun(stack: StackName, run: ProgramRun): CheckResult {
  return { stack, run, violations: evaluate(run.resources, packConfig(stack)) };
}

/** Runs the stack's program offline and checks its plan: what `npm run check -- --stack <stack>` reports. */
export async function checkStack(
  stack: StackName,
  options: Pick<RunOptions, "program" | "configFile"> = {},
): Promise<CheckResult> {
  return checkRun(stack, await runProgram(stack, options));
}

export const hasMandatory = (r: CheckResult): boolean => r.violations.some((v) => v.enforcementLevel === "mandatory");
