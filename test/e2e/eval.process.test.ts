// `npm run eval` (tools/eval/) as CI runs it, against a real gateway and emulator: the example suites pass against the
// repository's prompts and the committed baseline; after a pull request's kind of change — a new version whose policy
// answers returns differently, with the label and the experiment moved to it — the same command exits 1 and its
// reports (JSON, markdown, JUnit) name the cases that failed and regressed.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_MODELS } from "../../service/src/config/env.js";
import { LOCK_FILE, updatedLock } from "../../service/src/prompts/lock.js";
import { loadPrompts, readLock, scanVersions } from "../../service/src/prompts/registry.js";
import { startStack, type Stack } from "../support/stack.js";

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function runEvalCommand(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "tools/eval/cli.ts", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, stdout, stderr };
}

const evalArgs = (out: string) => [
  "--suite",
  "evals/suites",
  "--base-url",
  stack!.gateway.url,
  "--key",
  stack!.keys.acme,
  "--profile",
  "emulator",
  "--baseline",
  "evals/baselines/emulator.json",
  "--out",
  out,
];

describe("npm run eval", () => {
  it("passes the example suites against the emulator, writing JSON, markdown and JUnit", async () => {
    stack = await startStack({ env: { GATEWAY_PROMPTS_DIR: "prompts", LOG_LEVEL: "warn" } });
    const out = mkdtempSync(join(tmpdir(), "ggw-eval-"));
    const run = await runEvalCommand(evalArgs(out));
    expect(run.stdout).toContain("22/22 passed, 0 failed, 0 errors, 0 regressions");
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/\[22\/22\] ✓ /); // progress, one line per case when stderr is not a terminal
    const report = JSON.parse(readFileSync(join(out, "report.json"), "utf8")) as {
      summary: Record<string, number>;
      baseline: { compared: number };
    };
    expect(report.summary).toMatchObject({ cases: 22, passed: 22, regressions: 0 });
    expect(report.baseline.compared).toBe(22);
    expect(readFileSync(join(out, "report.md"), "utf8")).toContain("## Semantic regression evaluation: passed");
    expect(readFileSync(join(out, "junit.xml"), "utf8")).toMatch(/<testsuites [^>]*tests="22" failures="0"/);
  });

  it("fails after the template changes its answer, with reports naming the cases", async () => {
    // The change a pull request would make: v3 says returns are 14 days for store credit; production and the
    // experiment move to it.
    const dir = mkdtempSync(join(tmpdir(), "ggw-prompts-"));
    cpSync("prompts", dir, { recursive: true });
    const folder = join(dir, "support-answer");
    const v1 = JSON.parse(readFileSync(join(folder, "v1.json"), "utf8")) as { system: string; description: string };
    const v3 = {
      ...v1,
      description: "Returns shortened to 14 days, for store credit.",
      system: v1.system.replace(
        "Unused items can be returned within 30 days of delivery for a full refund.",
        "Unused items can be exchanged within 14 days of delivery for store credit only.",
      ),
    };
    expect(v3.system).not.toBe(v1.system);
    writeFileSync(join(folder, "v3.json"), JSON.stringify(v3, null, 2));
    const prompt = JSON.parse(readFileSync(join(folder, "prompt.json"), "utf8")) as {
      labels: Record<string, number>;
      experiment: { variants: { version: number }[] };
    };
    prompt.labels.production = 3;
    for (const v of prompt.experiment.variants) v.version = 3;
    writeFileSync(join(folder, "prompt.json"), JSON.stringify(prompt, null, 2));
    const found = new Map([...scanVersions(dir)].map(([k, v]) => [k, v.hash]));
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify(updatedLock(found, readLock(dir))));
    expect(loadPrompts(dir, DEFAULT_MODELS).prompts.get("support-answer")!.versions.size).toBe(3);

    stack = await startStack({ env: { GATEWAY_PROMPTS_DIR: dir, LOG_LEVEL: "warn" } });
    const out = mkdtempSync(join(tmpdir(), "ggw-eval-"));
    const run = await runEvalCommand(evalArgs(out));
    expect(run.code).toBe(1);
    const report = JSON.parse(readFileSync(join(out, "report.json"), "utf8")) as {
      summary: { failed: number; regressions: number };
      cases: { id: string; status: string; version: string; regressions: string[] }[];
    };
    const failing = report.cases.filter((c) => c.status !== "pass").map((c) => c.id);
    // Every variant of both returns cases, and nothing else.
    expect(failing.sort()).toEqual([
      "returns-window-formal[control]",
      "returns-window-formal[flash-lite]",
      "returns-window-formal[holdout]",
      "returns-window[control]",
      "returns-window[flash-lite]",
      "returns-window[holdout]",
    ]);
    const returns = report.cases.find((c) => c.id === "returns-window[control]")!;
    expect(returns.version).toBe("3");
    expect(returns.regressions[0]).toBe("passed in the baseline, now fail");
    expect(returns.regressions.join(" ")).toMatch(/similarity -?0\.\d+ fell from 0\.905/); // the new policy no longer covers it
    const md = readFileSync(join(out, "report.md"), "utf8");
    expect(md).toContain("## Semantic regression evaluation: FAILED");
    expect(md).toContain(
      "| `support-answer/returns-window[control]` | 3 | similarity: cosine -0.008 < 0.6; " +
        'contains: does not contain "30 days"; passed in the baseline, now fail; ' +
        "similarity -0.008 fell from 0.905 (tolerance 0.05) |",
    );
    expect(md).toContain("exchanged within 14 days"); // the formal case's answer, in its excerpt
    expect(readFileSync(join(out, "junit.xml"), "utf8")).toContain(
      '<testcase classname="support-answer" name="returns-window[control]"',
    );
    expect(run.stdout).toContain("✗ support-answer/returns-window[control]");
  });

  it("refuses to run without its arguments (exit 2)", async () => {
    const run = await runEvalCommand(["--suite", "evals/suites"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("usage: npm run eval");
  });
});
