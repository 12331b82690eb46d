/**
 * `npm run eval -- --suite <file|folder> --base-url <gateway> --key <key> [options]` (docs/evaluation.md)
 *
 *   --suite <path>         a suite file or a folder of them; repeatable
 *   --base-url <url>       the gateway under test
 *   --key <key>            a tenant key (or GATEWAY_EVAL_KEY)
 *   --out <dir>            where report.json, report.md and junit.xml go (default eval-report)
 *   --baseline <file>      a previous report.json: a case that passed there and fails now, or a similarity that fell
 *                          by more than --tolerance, is a regression (a missing file: thresholds only)
 *   --update-baseline      write this run's report to --baseline when every case passed
 *   --tolerance <x>        default 0.05
 *   --profile <name>       which per-profile thresholds apply (default "default"; "emulator" for the emulator)
 *   --concurrency <n>      calls in flight at once (default 4); 429s are waited out for every worker
 *   --timeout-ms <n>       per request (default 60000)
 *
 * Exit 0 when every case passed and nothing regressed, 1 when not, 2 when the run itself could not be made.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { caseLine, toJUnit, toMarkdown } from "./report.js";
import { exitCodeOf, runEval, type EvalReport } from "./run.js";
import { loadSuites } from "./suite.js";

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: [...argv],
      options: {
        suite: { type: "string", multiple: true },
        "base-url": { type: "string" },
        key: { type: "string" },
        out: { type: "string", default: "eval-report" },
        baseline: { type: "string" },
        "update-baseline": { type: "boolean", default: false },
        tolerance: { type: "string", default: "0.05" },
        profile: { type: "string", default: "default" },
        concurrency: { type: "string", default: "4" },
        "timeout-ms": { type: "string", default: "60000" },
      },
      strict: true,
    }).values;
  } catch (err) {
    console.error(`${(err as Error).message}\nusage: npm run eval -- --suite <file> --base-url <url> --key <key>`);
    return 2;
  }
  const key = args.key ?? env.GATEWAY_EVAL_KEY;
  if (!args.suite?.length || !args["base-url"] || !key) {
    console.error("usage: npm run eval -- --suite <file|folder> --base-url <gateway> --key <key> [--baseline <file>]");
    return 2;
  }
  let suites;
  try {
    suites = loadSuites(args.suite);
  } catch (err) {
    console.error(`cannot read the suites: ${(err as Error).message}`);
    return 2;
  }
  let baseline: EvalReport | undefined;
  if (args.baseline && existsSync(args.baseline)) {
    baseline = JSON.parse(readFileSync(args.baseline, "utf8")) as EvalReport;
  } else if (args.baseline) {
    console.error(`no baseline at ${args.baseline}: thresholds only`);
  }
  const tty = process.stderr.isTTY;
  let report: EvalReport;
  try {
    report = await runEval({
      baseUrl: args["base-url"],
      key,
      suites,
      concurrency: Math.max(1, Number(args.concurrency) || 4),
      profile: args.profile,
      timeoutMs: Number(args["timeout-ms"]) || 60_000,
      baseline,
      tolerance: Number(args.tolerance),
      onProgress: (done, total, result) => {
        if (tty) process.stderr.write(`\r${progressBar(done, total)}`);
        else console.error(`[${done}/${total}] ${caseLine(result)}`);
      },
    });
  } catch (err) {
    console.error(`\nthe evaluation could not run: ${(err as Error).message}`);
    return 2;
  }
  if (tty) process.stderr.write("\n");
  mkdirSync(args.out, { recursive: true });
  writeFileSync(join(args.out, "report.json"), JSON.stringify(report, null, 2) + "\n");
  writeFileSync(join(args.out, "report.md"), toMarkdown(report));
  writeFileSync(join(args.out, "junit.xml"), toJUnit(report));
  for (const c of report.cases) if (tty || c.status !== "pass" || c.regressions.length) console.log(caseLine(c));
  const s = report.summary;
  console.log(
    `${s.passed}/${s.cases} passed, ${s.failed} failed, ${s.errors} errors, ${s.regressions} regressions ` +
      `(report: ${join(args.out, "report.md")})`,
  );
  const code = exitCodeOf(report);
  if (args["update-baseline"] && args.baseline) {
    if (code === 0) {
      writeFileSync(args.baseline, JSON.stringify(report, null, 2) + "\n");
      console.log(`baseline written: ${args.baseline}`);
    } else {
      console.error("baseline not written: the run did not pass");
    }
  }
  return code;
}

function progressBar(done: number, total: number): string {
  const width = 30;
  const filled = Math.round((done / total) * width);
  return `[${"█".repeat(filled)}${"░".repeat(width - filled)}] ${done}/${total} cases`;
}

if (process.argv[1] && /tools[\\/]eval[\\/]cli\.ts$/.test(process.argv[1])) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
