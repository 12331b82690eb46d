/**
 * The GitHub Actions workflows: valid against GitHub's workflow schema (action-validator, the schema GitHub's own
 * editor uses), and shaped as the CI conventions require — tests and the offline check of every stack on pull requests,
 * a real preview with the policy pack, keyless authentication only, and prod deployed from dev's image digest after
 * approval in a protected environment.
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
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Job {
  needs?: string | string[];
  environment?: string;
  permissions?: Record<string, string>;
  strategy?: { matrix?: Record<string, unknown> };
  steps: Step[];
}
const jobsOf = (f: string) => (yaml.load(text(f)) as { jobs: Record<string, Job> }).jobs;

describe("GitHub workflows", () => {
  it("exist, and every one is valid against GitHub's workflow schema", () => {
    expect(files.sort()).toEqual(["deploy.yml", "pull-request.yml"]);
    for (const f of files) expect(validateWorkflow(text(f)).errors, f).toEqual([]);
  });

  it("the validator does catch a broken workflow", () => {
    const broken = text("deploy.yml").replace("runs-on: ubuntu-latest", "runs_on: ubuntu-latest");
    expect(validateWorkflow(broken).errors.length).toBeGreaterThan(0);
  });

  it("pull requests run the tests, the offline check of every stack, and a preview with the policy pack", () => {
    const jobs = jobsOf("pull-request.yml");
    expect(jobs.test!.steps.some((s) => s.run?.includes(".ci/run"))).toBe(true);
    const check = jobs["offline-check"]!.steps.map((s) => s.run ?? "").join("\n");
    for (const stack of ["dev", "prod"]) expect(check).toContain(`check -- --stack ${stack}`);
    expect(check).toContain("check -- --promote dev prod");
    expect(jobs["offline-check"]!.steps.some((s) => s.uses?.startsWith("marocchino/sticky-pull-request-comment"))).toBe(
      true,
    );
    const preview = jobs.preview!;
    expect(preview.strategy?.matrix?.stack).toEqual(["dev", "prod"]);
    const pulumi = preview.steps.find((s) => s.uses?.startsWith("pulumi/actions"))!;
    expect(pulumi.with).toMatchObject({ command: "preview", policyPacks: "policies", "comment-on-pr": true });
    expect(preview.permissions?.["id-token"]).toBe("write");
  });

  it("deploys dev on merge, and prod only after approval, with the same image digest", () => {
    const jobs = jobsOf("deploy.yml");
    const up = (job: Job) => job.steps.find((s) => s.uses?.startsWith("pulumi/actions"))!.with!;
    expect(up(jobs["deploy-dev"]!)).toMatchObject({ command: "up", "stack-name": "dev", policyPacks: "policies" });
    expect(up(jobs["deploy-prod"]!)).toMatchObject({ command: "up", "stack-name": "prod", policyPacks: "policies" });
    expect(jobs["deploy-prod"]!.environment).toBe("production");
    expect(jobs["deploy-prod"]!.needs).toEqual(expect.arrayContaining(["build", "deploy-dev"]));
    for (const job of ["deploy-dev", "deploy-prod"]) {
      expect(String(up(jobs[job]!)["config-map"])).toContain("needs.build.outputs.digest");
    }
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
