/**
 * The offline check's output: a plan and the pack's verdict for one stack (text, markdown, or the stable JSON form
 * other tools read), and the markdown of a promotion (what differs between two stacks' plans, and both verdicts).
 *
 * JSON: {"stack", "resources": [{"type", "name", "inputs"}], "violations": [{"policy", "severity",
 * "enforcementLevel", "resourceType", "resourceName", "message", "remediation"}]} — resource fields are null for
 * stack-level rules. Fields are only ever added, never renamed.
 */
import { flatten, readableInputs, renderPlan } from "../../infra/offline/plan.js";
import type { ProgramRun } from "../../infra/offline/run.js";
import type { Violation } from "../lib/evaluate.js";

export type Format = "text" | "markdown" | "json";

export interface CheckResult {
  stack: string;
  run: ProgramRun;
  violations: Violation[];
}

export function renderReport(r: CheckResult, format: Format): string {
  if (format === "json") {
    return JSON.stringify(
      {
        stack: r.stack,
        resources: r.run.resources.map(({ type, name, inputs }) => ({ type, name, inputs })),
        violations: r.violations.map((v) => ({
          policy: v.policy,
          severity: v.severity,
          enforcementLevel: v.enforcementLevel,
          resourceType: v.resourceType,
          resourceName: v.resourceName,
          message: v.message,
          remediation: v.remediation,
        })),
      },
      null,
      2,
    );
  }
  const md = format === "markdown";
  const plan = renderPlan(r.run, r.stack);
  return [
    md
      ? `## Plan: ${r.stack}\n\n<details><summary>${r.run.resources.length} resources</summary>\n\n\`\`\`\n${plan}\n\`\`\`\n</details>\n`
      : plan,
    verdict(r, md),
  ].join("\n");
}

/** The violations, mandatory first, each with its remediation; a one-line verdict when there are none. */
function verdict(r: CheckResult, md: boolean): string {
  const mandatory = r.violations.filter((v) => v.enforcementLevel === "mandatory");
  const advisory = r.violations.filter((v) => v.enforcementLevel !== "mandatory");
  const head = `${md ? "### " : ""}Policy check (${r.stack}): ${mandatory.length} mandatory, ${advisory.length} advisory violation(s)`;
  if (!r.violations.length) return `${head}\n\n${md ? "✅ " : ""}Every rule of the pack passes.`;
  const lines = [...mandatory, ...advisory].map((v) => {
    const where = v.resourceType ? `${v.resourceType} "${v.resourceName}"` : "stack";
    return md
      ? `- **${v.enforcementLevel}** \`${v.policy}\` (${v.severity}) on ${where}: ${v.message}\n  - Fix: ${oneLine(v.remediation)}`
      : `  [${v.enforcementLevel}] ${v.policy} (${v.severity}) on ${where}\n      ${v.message}\n      fix: ${oneLine(v.remediation)}`;
  });
  return `${head}\n\n${lines.join("\n")}`;
}

/** Markdown for a PR comment: resources added, removed and changed from `a` to `b`, then both verdicts. */
export function promotionMarkdown(a: CheckResult, b: CheckResult): string {
  const key = (t: string, n: string) => `${t} "${n}"`;
  const index = (r: CheckResult) =>
    new Map(r.run.resources.map((x) => [key(x.type, x.name), new Map(flatten(readableInputs(x)))] as const));
  const from = index(a);
  const to = index(b);
  const added = [...to.keys()].filter((k) => !from.has(k)).sort();
  const removed = [...from.keys()].filter((k) => !to.has(k)).sort();
  const changed: string[] = [];
  for (const [k, props] of to) {
    const before = from.get(k);
    if (!before) continue;
    const diffs: string[] = [];
    for (const p of new Set([...before.keys(), ...props.keys()])) {
      const x = JSON.stringify(before.get(p));
      const y = JSON.stringify(props.get(p));
      if (x !== y) diffs.push(`  - \`${p}\`: ${x ?? "(unset)"} → ${y ?? "(unset)"}`);
    }
    if (diffs.length) changed.push(`- ${k}\n${diffs.sort().join("\n")}`);
  }
  const list = (items: string[]) => (items.length ? items.map((i) => `- ${i}`).join("\n") : "_none_");
  return [
    `## Promotion ${a.stack} → ${b.stack}`,
    "",
    `${a.run.resources.length} resources in ${a.stack}, ${b.run.resources.length} in ${b.stack}.`,
    "",
    `### Only in ${b.stack} (${added.length})`,
    list(added),
    "",
    `### Only in ${a.stack} (${removed.length})`,
    list(removed),
    "",
    `### Changed (${changed.length})`,
    changed.length ? changed.sort().join("\n") : "_none_",
    "",
    verdict(a, true),
    "",
    verdict(b, true),
  ].join("\n");
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, " ").trim();
}
