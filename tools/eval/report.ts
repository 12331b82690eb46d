/**
 * The report in three forms: JSON (the full record, and what a later run compares with as its baseline), markdown
 * (posted on the pull request and the run's summary: failures first, with the checks that failed and an excerpt of
 * the answer), and JUnit XML (CI test views).
 */
import type { CaseResult, EvalReport } from "./run.js";

export function toMarkdown(r: EvalReport): string {
  const s = r.summary;
  const ok = s.failed === 0 && s.errors === 0 && s.regressions === 0;
  const lines = [
    `## Semantic regression evaluation: ${ok ? "passed" : "FAILED"}`,
    "",
    `${s.cases} cases from ${r.suites.join(", ")} against \`${r.baseUrl}\` (profile \`${r.profile}\`), ` +
      `${(r.durationMs / 1000).toFixed(1)} s` +
      (s.rateLimited ? `, waited out ${s.rateLimited} rate-limit answers` : "") +
      ".",
    "",
    "| passed | failed | errors | regressions |",
    "| --- | --- | --- | --- |",
    `| ${s.passed} | ${s.failed} | ${s.errors} | ${s.regressions} |`,
    "",
  ];
  if (r.baseline) {
    lines.push(
      `Compared with the baseline: ${r.baseline.compared} cases` +
        (r.baseline.missing.length ? `; not run any more: ${r.baseline.missing.join(", ")}` : "") +
        ".",
      "",
    );
  } else {
    lines.push("No baseline: thresholds only.", "");
  }
  const bad = r.cases.filter((c) => c.status !== "pass" || c.regressions.length);
  if (bad.length) {
    lines.push("### Failing or regressed cases", "", "| case | version | what failed |", "| --- | --- | --- |");
    for (const c of bad) lines.push(`| \`${c.suite}/${c.id}\` | ${c.version ?? ""} | ${esc(whatFailed(c))} |`);
    lines.push("");
    for (const c of bad.filter((x) => x.answerExcerpt !== undefined)) {
      lines.push(`<details><summary>${esc(`${c.suite}/${c.id}`)}: the answer</summary>`, "", "```text");
      lines.push(c.answerExcerpt!.replaceAll("```", "ʼʼʼ"), "```", "</details>", "");
    }
  }
  lines.push(
    "### Every case",
    "",
    "| case | target | variant | result | similarity |",
    "| --- | --- | --- | --- | --- |",
  );
  for (const c of r.cases) {
    const sim = c.checks
      .filter((k) => k.score !== undefined)
      .map((k) => `${k.score!.toFixed(3)} (≥ ${k.threshold})`)
      .join(", ");
    const mark =
      c.status === "pass" && !c.regressions.length
        ? "✅ pass"
        : c.status === "pass"
          ? "⚠️ regressed"
          : `❌ ${c.status}`;
    lines.push(`| \`${c.suite}/${c.id}\` | ${esc(c.target)} | ${c.variant ?? ""} | ${mark} | ${sim} |`);
  }
  return lines.join("\n") + "\n";
}

export function toJUnit(r: EvalReport): string {
  const bySuite = new Map<string, CaseResult[]>();
  for (const c of r.cases) bySuite.set(c.suite, [...(bySuite.get(c.suite) ?? []), c]);
  const out = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(
    `<testsuites name="semantic regression evaluation" tests="${r.cases.length}" failures="${
      r.summary.failed + r.cases.filter((c) => c.status === "pass" && c.regressions.length).length
    }" errors="${r.summary.errors}" time="${(r.durationMs / 1000).toFixed(3)}">`,
  );
  for (const [suite, cases] of bySuite) {
    const failures = cases.filter((c) => c.status === "fail" || (c.status === "pass" && c.regressions.length)).length;
    const errors = cases.filter((c) => c.status === "error").length;
    const time = cases.reduce((t, c) => t + c.durationMs, 0) / 1000;
    out.push(
      `  <testsuite name="${xml(suite)}" tests="${cases.length}" failures="${failures}" errors="${errors}" time="${time.toFixed(3)}">`,
    );
    for (const c of cases) {
      out.push(
        `    <testcase classname="${xml(suite)}" name="${xml(c.id)}" time="${(c.durationMs / 1000).toFixed(3)}">`,
      );
      if (c.status === "error") out.push(`      <error message="${xml(c.error ?? "error")}"/>`);
      else if (c.status === "fail" || c.regressions.length) {
        out.push(`      <failure message="${xml(whatFailed(c))}">${xml(c.answerExcerpt ?? "")}</failure>`);
      }
      out.push("    </testcase>");
    }
    out.push("  </testsuite>");
  }
  out.push("</testsuites>");
  return out.join("\n") + "\n";
}

/** One line per case for the console. */
export function caseLine(c: CaseResult): string {
  const mark = c.status === "pass" && !c.regressions.length ? "✓" : "✗";
  const sim = c.checks.find((k) => k.score !== undefined);
  return `${mark} ${c.suite}/${c.id}${sim ? ` (similarity ${sim.score!.toFixed(3)})` : ""}${
    c.status === "pass" && !c.regressions.length ? "" : `: ${whatFailed(c)}`
  }`;
}

export function whatFailed(c: CaseResult): string {
  if (c.status === "error") return c.error ?? "error";
  return [...c.checks.filter((k) => !k.pass).map((k) => `${k.type}: ${k.detail}`), ...c.regressions].join("; ");
}

function esc(s: string): string {
  return s.replaceAll("|", "\\|").replaceAll("\n", " ");
}

function xml(s: string): string {
  return s.replace(/[<>&"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
