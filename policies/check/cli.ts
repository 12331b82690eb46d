/**
 * `npm run check` — the offline plan-and-check: runs a Pulumi program under mocks with a stack's config (no cloud, no
 * Pulumi CLI, no credentials), prints a readable plan, evaluates every rule of the policy pack against the resources
 * it would create, prints violations with remediation, and exits non-zero on any mandatory violation.
 *
 *   npm run check -- --stack prod                       the plan and the pack's verdict for one stack
 *   npm run check -- --stack bootstrap                  the bootstrap (seed) program's stack (infra/bootstrap)
 *   npm run check -- --stack dev --format json          a stable JSON form for other tools (see report.ts)
 *   npm run check -- --stack prod --program <dir>       another program (a directory with index.ts using @pulumi/gcp)
 *   npm run check -- --stack prod --config <file>       another stack file than Pulumi.<stack>.yaml
 *   npm run check -- --promote dev prod                 markdown for a PR: what promoting dev to prod changes
 *
 * Exit codes: 0 no mandatory violation · 1 a mandatory violation · 2 bad usage or the program failed to run.
 */
import { existsSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { StackName } from "../../infra/offline/run.js";
import { checkStack, hasMandatory } from "./check.js";
import { promotionMarkdown, renderReport, type CheckResult, type Format } from "./report.js";

const USAGE = `usage: npm run check -- --stack <dev|prod|bootstrap> [--format text|markdown|json] [--program <dir>] [--config <file>]
       npm run check -- --promote <from> <to> [--program <dir>]`;

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        stack: { type: "string" },
        format: { type: "string", default: "text" },
        program: { type: "string" },
        config: { type: "string" },
        promote: { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
    });
  } catch (err) {
    return usage((err as Error).message);
  }
  const { values, positionals } = args;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const format = values.format as Format;
  if (!["text", "markdown", "json"].includes(format)) return usage(`--format must be text, markdown or json`);
  const program = values.program ? programEntry(values.program) : undefined;
  if (program instanceof Error) return usage(program.message);

  if (values.promote) {
    const [from, to] = positionals;
    if (!isEnv(from) || !isEnv(to) || positionals.length !== 2) return usage("--promote takes two stacks: dev prod");
    const [a, b] = [await check(from, program, undefined), await check(to, program, undefined)];
    console.log(promotionMarkdown(a, b));
    return [a, b].some(hasMandatory) ? 1 : 0;
  }
  if (!isStack(values.stack)) return usage("--stack must be dev, prod or bootstrap");
  if (positionals.length) return usage(`unexpected argument: ${positionals[0]}`);
  const result = await check(values.stack, program, values.config);
  console.log(renderReport(result, format));
  return hasMandatory(result) ? 1 : 0;
}

function check(stack: StackName, program: string | undefined, configFile: string | undefined): Promise<CheckResult> {
  return checkStack(stack, { ...(program ? { program } : {}), ...(configFile ? { configFile } : {}) });
}

function programEntry(dir: string): string | Error {
  const abs = isAbsolute(dir) ? dir : resolve(process.cwd(), dir);
  const entry = abs.endsWith(".ts") ? abs : resolve(abs, "index.ts");
  return existsSync(entry) ? entry : new Error(`no program at ${entry} (a directory with index.ts)`);
}

const isStack = (s: unknown): s is StackName => s === "dev" || s === "prod" || s === "bootstrap";
const isEnv = (s: unknown): s is "dev" | "prod" => s === "dev" || s === "prod";

function usage(why: string): number {
  console.error(`${why}\n${USAGE}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`check failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  },
);
