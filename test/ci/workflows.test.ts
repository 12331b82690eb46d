/**
 * The GitHub Actions workflows: valid against GitHub's workflow schema (action-validator, the schema GitHub's own
 * editor uses), and shaped as the CI conventions require — tests and the offline check of every stack on pull requests,
 * a real preview with the policy pack, keyless authentication only, and one image digest from build to prod: dev
 * deployed with it, prod previewed with it, the approved plan applied. (Linting: lint.test.ts.)
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import yaml from "js-yaml";
import { describe, expect, it } from "vitest";

const require = createRequire(import.meta.url);
const { validateWorkflow } = require("@action-validator/core") as {
  validateWorkflow(src: string): { errors: unknown[] };
};

const DIR = ".github/workflows";
const files = readdirSync(DIR).filter((f) => f.endsWith(".yml"));
const text = (f: string) => readFileSync(`${DIR}/${f}`, "utf8");

interface Step {
  id?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  needs?: string | string[];
  outputs?: Record<string, string>;
  environment?: string;
  permissions?: Record<string, string>;
  strategy?: { matrix?: Record<string, unknown> };
  steps: Step[];
}
const jobsOf = (f: string) => (yaml.load(text(f)) as { jobs: Record<string, Job> }).jobs;
/** The `with:` of a job's pulumi/actions step that runs a command (not the install-only one). */
const pulumiCommand = (job: Job) =>
  job.steps.find((s) => s.uses?.startsWith("pulumi/actions") && s.with?.command)!.with!;

describe("GitHub workflows", () => {
  it("exist, and every one is valid against GitHub's workflow schema", () => {
    expect(files.sort()).toEqual(["deploy.yml", "pull-request.yml"]);
    for (const f of files) expect(validateWorkflow(text(f)).errors, f).toEqual([]);
  });

  it("the validator does catch a broken workflow", () => {
    const broken = text("deploy.yml").replace("runs-on: ubuntu-latest", "runs_on: ubuntu-latest");
    expect(validateWorkflow(broken).errors.length).toBeGreaterThan(0);
  });

  it("pull requests run the tests, the offline check of every stack, and a preview of dev with the policy pack", () => {
    const jobs = jobsOf("pull-request.yml");
    expect(jobs.test!.steps.some((s) => s.run?.includes(".ci/run"))).toBe(true);
    const check = jobs["offline-check"]!.steps.map((s) => s.run ?? "").join("\n");
    for (const stack of ["dev", "prod", "bootstrap"]) expect(check).toContain(`check -- --stack ${stack}`);
    expect(check).toContain("check -- --promote dev prod");
    expect(jobs["offline-check"]!.steps.some((s) => s.uses?.startsWith("marocchino/sticky-pull-request-comment"))).toBe(
      true,
    );
    expect(Object.keys(jobs).sort()).toEqual(["offline-check", "preview-dev", "test"]);
    const preview = jobs["preview-dev"]!;
    const pulumi = pulumiCommand(preview);
    expect(pulumi).toMatchObject({
      command: "preview",
      "stack-name": "dev",
      policyPacks: "policies",
      policyPackConfigs: "policies/config/dev.json",
      "comment-on-pr": true,
    });
    expect(pulumi["config-map"]).toBeUndefined(); // dev keeps what it runs
    expect(preview.permissions?.["id-token"]).toBe("write");
  });

  it("each job that authenticates uses the one identity the bootstrap's conditions allow it (infra/bootstrap)", () => {
    const bootstrap = yaml.load(readFileSync("infra/bootstrap/Pulumi.yaml", "utf8")) as {
      config: Record<string, { default?: unknown }>;
    };
    const defaults = (key: string) => String(bootstrap.config[key]!.default);
    // Which workflow file and GitHub environment each identity's provider accepts.
    const allowed: Record<string, { file: string; environment?: string }> = {
      DEV_WIF_PREVIEW_PROVIDER: { file: defaults("pullRequestWorkflow") },
      PROD_WIF_PREVIEW_PROVIDER: { file: defaults("deployWorkflow") },
      DEV_WIF_APPLY_PROVIDER: { file: defaults("deployWorkflow"), environment: defaults("devApplyEnvironment") },
      PROD_WIF_APPLY_PROVIDER: { file: defaults("deployWorkflow"), environment: defaults("prodApplyEnvironment") },
    };
    const seen = new Set<string>();
    for (const f of files) {
      for (const [name, job] of Object.entries(jobsOf(f))) {
        for (const step of job.steps.filter((s) => s.uses?.startsWith("google-github-actions/auth"))) {
          const provider = /vars\.([A-Z_]+)/.exec(String(step.with?.workload_identity_provider))![1]!;
          const account = /vars\.([A-Z_]+)/.exec(String(step.with?.service_account))![1]!;
          expect(allowed[provider], `${f} ${name}: ${provider}`).toBeDefined();
          expect(`${DIR}/${f}`, `${f} ${name}`).toBe(allowed[provider]!.file);
          expect(job.environment, `${f} ${name}`).toBe(allowed[provider]!.environment);
          // The account that goes with the provider.
          const [env, role] = provider.split("_WIF_") as [string, string];
          expect(account).toBe(`${env}_${role === "APPLY_PROVIDER" ? "DEPLOY" : "PREVIEW"}_SERVICE_ACCOUNT`);
          seen.add(provider);
        }
      }
    }
    expect([...seen].sort()).toEqual(Object.keys(allowed).sort());
  });

  it("one digest from build to prod: dev is deployed with it, prod previewed with it, and the approved plan applied", () => {
    const jobs = jobsOf("deploy.yml");
    const dev = pulumiCommand(jobs["deploy-dev"]!);
    const preview = pulumiCommand(jobs["preview-prod"]!);
    const prod = pulumiCommand(jobs["deploy-prod"]!);
    expect(dev).toMatchObject({ command: "up", "stack-name": "dev", policyPacks: "policies" });
    expect(preview).toMatchObject({ command: "preview", "stack-name": "prod", policyPacks: "policies" });
    expect(prod).toMatchObject({ command: "up", "stack-name": "prod", policyPacks: "policies" });
    const configMap = String(dev["config-map"]);
    expect(configMap).toContain('"gemini-gateway:image": {"value": "gateway@${{ needs.build.outputs.digest }}"');
    expect(preview["config-map"]).toBe(configMap);
    expect(prod["config-map"]).toBe(configMap);
    // The plan the approvers saw is the plan prod applies.
    expect(preview.plan).toBe("prod-plan.json");
    expect(prod.plan).toBe(preview.plan);
    const upload = jobs["preview-prod"]!.steps.find((s) => s.uses?.startsWith("actions/upload-artifact"))!.with!;
    const download = jobs["deploy-prod"]!.steps.find((s) => s.uses?.startsWith("actions/download-artifact"))!.with!;
    expect(upload).toMatchObject({ name: download.name, path: preview.plan, overwrite: true });
    expect(jobs["deploy-prod"]!.environment).toBe("production");
    expect(jobs["deploy-prod"]!.needs).toEqual(["build", "preview-prod", "eval-dev"]);
    expect(jobs["preview-prod"]!.needs).toEqual(["build", "deploy-dev"]);
    expect(jobs["preview-prod"]!.environment).toBeUndefined(); // runs before approval, as the read-only identity
  });

  it("the semantic evaluation runs against dev after its deploy, reports on the PR, and gates prod", () => {
    const jobs = jobsOf("deploy.yml");
    const evalJob = jobs["eval-dev"]!;
    expect(evalJob.needs).toBe("deploy-dev");
    expect(jobs["deploy-prod"]!.needs).toContain("eval-dev");
    const step = evalJob.steps.find((s) => s.id === "eval")!;
    const run = step.run!;
    // The URL is deploy-dev's stack output, handed over as a job output: the eval job needs no cloud identity.
    expect(step.env?.GATEWAY_URL).toBe("${{ needs.deploy-dev.outputs.gateway-url }}");
    expect(jobs["deploy-dev"]!.outputs?.["gateway-url"]).toBe("${{ steps.up.outputs.gatewayUrl }}");
    expect(evalJob.permissions?.["id-token"]).toBeUndefined();
    expect(evalJob.steps.some((s) => s.uses?.startsWith("google-github-actions/auth"))).toBe(false);
    expect(run).toMatch(/npm run --silent eval -- --suite evals\/suites --base-url "\$GATEWAY_URL"/);
    expect(run).toContain("--baseline evals/baselines/dev.json");
    expect(existsSync("evals/suites")).toBe(true);
    const post = evalJob.steps.find((s) => s.uses?.startsWith("marocchino/sticky-pull-request-comment"))!;
    expect(post.with).toMatchObject({ path: "eval-report/report.md", number: "${{ steps.pr.outputs.number }}" });
    const gate = evalJob.steps.at(-1)!;
    expect(gate.if).toBe("steps.eval.outputs.status != '0'");
    expect(gate.run).toContain("exit 1");
    expect(evalJob.environment).toBeUndefined(); // read-only identity; the key is a repository secret
  });

  it("re-runs are idempotent: one immutable tag per commit, an existing one is reused, prod's copy is skipped", () => {
    const jobs = jobsOf("deploy.yml");
    const build = jobs.build!;
    const existing = build.steps.find((s) => s.id === "existing")!;
    expect(existing.run).toContain('gcloud artifacts docker images describe "$IMAGE:$GITHUB_SHA"');
    const push = build.steps.find((s) => s.uses?.startsWith("docker/build-push-action"))!;
    expect(push.if).toBe("steps.existing.outputs.digest == ''");
    expect(push.with?.tags).toBe("${{ vars.DEV_REGISTRY }}/gateway:${{ github.sha }}");
    const copy = jobs["deploy-prod"]!.steps.map((s) => s.run ?? "").join("\n");
    expect(copy).toContain('gcloud artifacts docker images describe "$TARGET@$DIGEST"');
    expect(copy).toMatch(/gcrane" cp "\$SOURCE" "\$TARGET:\$GITHUB_SHA"/);
    expect(copy).not.toMatch(/gcloud artifacts docker images copy/); // no such command
  });

  it("every pulumi/actions step installs the CLI version in .pulumi-version, no older than the SDK", () => {
    const pinned = readFileSync(".pulumi-version", "utf8").trim();
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
    const sdk = (
      JSON.parse(readFileSync("package.json", "utf8")) as { devDependencies: Record<string, string> }
    ).devDependencies["@pulumi/pulumi"]!.replace(/^[\^~]/, "");
    const [a, b] = [pinned, sdk].map((v) => v.split(".").map(Number));
    expect(a![0]! * 1e6 + a![1]! * 1e3 + a![2]!).toBeGreaterThanOrEqual(b![0]! * 1e6 + b![1]! * 1e3 + b![2]!);
    let steps = 0;
    for (const f of files) {
      for (const job of Object.values(jobsOf(f))) {
        for (const step of job.steps.filter((s) => s.uses?.startsWith("pulumi/actions"))) {
          expect(step.with?.["pulumi-version-file"]).toBe(".pulumi-version");
          steps++;
        }
      }
    }
    expect(steps).toBeGreaterThanOrEqual(4); // preview dev, up dev, preview prod, up prod
  });

  it("builds the image from the repository's Dockerfile", () => {
    const build = jobsOf("deploy.yml").build!.steps.find((s) => s.uses?.startsWith("docker/build-push-action"))!;
    const file = String(build.with?.file);
    expect(existsSync(file), file).toBe(true);
    expect(readFileSync(file, "utf8")).toMatch(/CMD \["node", "dist\/service\/main.js"\]/);
  });

  it("authenticates to Google Cloud only through Workload Identity Federation, never with a key", () => {
    for (const f of files) {
      const src = text(f);
      expect(src).not.toMatch(/credentials_json|GOOGLE_APPLICATION_CREDENTIALS|service_account_key/i);
      for (const job of Object.values(jobsOf(f))) {
        for (const step of job.steps.filter((s) => s.uses?.startsWith("google-github-actions/auth"))) {
          expect(step.with).toHaveProperty("workload_identity_provider");
          expect(job.permissions?.["id-token"]).toBe("write");
        }
      }
    }
  });
});
