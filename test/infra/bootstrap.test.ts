/**
 * The bootstrap (seed) program, checked offline like the environments: what it creates, who may become which CI
 * identity, what each identity may do (and may not: decrypt another stack's secrets, write another stack's state,
 * grant other roles, be Owner or Editor anywhere), and that the environments read exactly what it outputs.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { ENVIRONMENTS, loadBootstrapConfig, type BootstrapConfig } from "../../infra/bootstrap/config.js";
import { attributeCondition } from "../../infra/bootstrap/github.js";
import { APPLY_ROLES, DELEGATED_PROJECT_ROLES, PREVIEW_ROLES } from "../../infra/bootstrap/roles.js";
import { at, flatten, GRANT_TYPES, named, ofType, renderPlan, TYPES } from "../../infra/offline/plan.js";
import {
  OFFLINE_BOOTSTRAP_OUTPUTS,
  runProgram,
  SECRET,
  stackConfig,
  type CapturedResource,
  type ProgramRun,
} from "../../infra/offline/run.js";
import { PROVIDER_CONDITIONS, providerConditionProblems } from "../support/plan-checks.js";

const SEED = "replace-with-seed-project-id";
const email = (id: string) => `serviceAccount:${id}@${SEED}.iam.gserviceaccount.com`;
const grantsOf = (run: ProgramRun, member: string) =>
  run.resources.filter((r) => GRANT_TYPES.includes(r.type) && r.inputs.member === member);

/** The config the program reads (placeholders accepted, as in every offline run). */
function config(overrides: Record<string, unknown> = {}): BootstrapConfig {
  const raw = Object.fromEntries(
    Object.entries(stackConfig("bootstrap", { config: overrides })).map(([k, v]) => [
      k.replace(/^gemini-gateway-bootstrap:/, ""),
      v,
    ]),
  );
  return loadBootstrapConfig(raw, { GGW_ALLOW_PLACEHOLDERS: "1" });
}

describe("bootstrap", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram("bootstrap");
  });

  it("plan matches its committed snapshot", async () => {
    await expect(renderPlan(run, "bootstrap")).toMatchFileSnapshot("./__snapshots__/plan-bootstrap.txt");
  });

  it("keeps state in a private, versioned bucket, with one KMS key per stack", () => {
    expect(named(run, TYPES.bucket, "state").inputs).toMatchObject({
      uniformBucketLevelAccess: true,
      publicAccessPrevention: "enforced",
      versioning: { enabled: true },
      forceDestroy: false,
    });
    expect(ofType(run, TYPES.cryptoKey).map((k) => k.inputs.name)).toEqual(["bootstrap", "dev", "prod"]);
    for (const k of ofType(run, TYPES.cryptoKey)) expect(k.inputs).toMatchObject({ purpose: "ENCRYPT_DECRYPT" });
  });

  it("puts the identity pool and the CI accounts in the seed project, not in the projects they deploy", () => {
    expect(named(run, TYPES.pool, "github-pool").inputs).toMatchObject({
      project: SEED,
      workloadIdentityPoolId: "ggw-github",
    });
    expect(ofType(run, TYPES.account).map((a) => [a.inputs.accountId, a.inputs.project])).toEqual(
      ENVIRONMENTS.flatMap((env) => [
        [`ggw-${env}-preview`, SEED],
        [`ggw-${env}-apply`, SEED],
      ]),
    );
  });

  it("pins every provider by repository id and owner id, and each identity to its workflow, event and branch", () => {
    // Exactly the four providers, each with exactly its condition (PROVIDER_CONDITIONS), GitHub's issuer, and
    // neither the repository's or owner's (renamable) name nor `||`.
    expect(providerConditionProblems(run)).toEqual([]);
    expect(Object.keys(PROVIDER_CONDITIONS).sort()).toEqual(["dev-apply", "dev-preview", "prod-apply", "prod-preview"]);
  });

  it("lets each federated identity become exactly one account", () => {
    const wif = ofType(run, TYPES.accountIam).filter((g) => g.inputs.role === "roles/iam.workloadIdentityUser");
    expect(wif.map((g) => g.name).sort()).toEqual(
      ["dev-apply", "dev-preview", "prod-apply", "prod-preview"].map((i) => `ggw-${i}-wif`),
    );
    for (const g of wif) {
      const identity = g.name.replace(/^ggw-|-wif$/g, "");
      expect(String(g.inputs.member)).toMatch(/^<unknown>|attribute\.ci_identity\//);
      const provider = named(run, TYPES.poolProvider, `github-${identity}`);
      expect(at(provider.inputs, "attributeMapping")).toMatchObject({ "attribute.ci_identity": `'${identity}'` });
    }
  });

  it("grants every apply identity exactly the listed roles, on its own environment's folder, never Owner or Editor", () => {
    for (const env of ENVIRONMENTS) {
      const grants = grantsOf(run, email(`ggw-${env}-apply`));
      const onFolder = grants.filter((g) => g.type === TYPES.folderIam);
      expect(onFolder.map((g) => g.inputs.role).sort()).toEqual(
        APPLY_ROLES.filter((r) => r.scope === "environment-folder" && (!r.only || r.only.includes(env)))
          .map((r) => r.role)
          .sort(),
      );
      for (const g of onFolder) expect(g.inputs.folder).toBe(`folders/REPLACE_WITH_${env.toUpperCase()}_FOLDER_ID`);
      for (const g of grants) expect(g.inputs.role).not.toMatch(/^roles\/(owner|editor|viewer)$/);
      expect(grants.map((g) => g.inputs.role)).toContain("roles/billing.costsManager");
    }
    // Only dev may be destroyed by CI.
    expect(grantsOf(run, email("ggw-prod-apply")).map((g) => g.inputs.role)).not.toContain(
      "roles/resourcemanager.projectDeleter",
    );
  });

  it("limits the apply identity's IAM admin to the roles the environment program grants (delegated role grants)", async () => {
    const grant = named(run, TYPES.folderIam, "ggw-prod-apply-folder-resourcemanager-projectIamAdmin");
    const expression = String(at(grant.inputs, "condition.expression"));
    expect(expression).toMatch(/^api\.getAttribute\('iam\.googleapis\.com\/modifiedGrantsByRole', \[\]\)\.hasOnly\(\[/);
    // What the environments really grant on their projects is exactly what may be granted.
    const granted = new Set<string>();
    for (const env of ENVIRONMENTS) {
      for (const g of ofType(await runProgram(env), TYPES.projectIam)) granted.add(String(g.inputs.role));
    }
    expect([...granted].sort()).toEqual([...DELEGATED_PROJECT_ROLES].sort());
    for (const role of DELEGATED_PROJECT_ROLES) expect(expression).toContain(`'${role}'`);
  });

  it("scopes the organisation-only org-policy admin role to the environment's tag, bound to its folder", () => {
    for (const env of ENVIRONMENTS) {
      const grant = named(run, TYPES.organizationIam, `ggw-${env}-apply-organization-orgpolicy-policyAdmin`);
      expect(grant.inputs).toMatchObject({ orgId: "REPLACE_WITH_ORG_ID", role: "roles/orgpolicy.policyAdmin" });
      expect(at(grant.inputs, "condition.expression")).toBe(
        `resource.matchTag('REPLACE_WITH_ORG_ID/ggw-environment', '${env}')`,
      );
      const binding = named(run, TYPES.tagBinding, `${env}-tag`);
      expect(binding.inputs.parent).toBe(
        `//cloudresourcemanager.googleapis.com/folders/REPLACE_WITH_${env.toUpperCase()}_FOLDER_ID`,
      );
      expect(grant.dependencies).toContain(binding.urn);
    }
  });

  it("lets each identity decrypt only its own stack's key (and the bootstrap's, which guards no secret)", () => {
    const keyOf = (g: CapturedResource) => g.name.split("-").pop();
    for (const env of ENVIRONMENTS) {
      for (const role of ["preview", "apply"]) {
        const keys = grantsOf(run, email(`ggw-${env}-${role}`)).filter((g) => g.type === TYPES.cryptoKeyIam);
        expect(keys.map((k) => [keyOf(k), k.inputs.role]).sort(), `${env}-${role}`).toEqual(
          [
            ["bootstrap", "roles/cloudkms.cryptoKeyDecrypter"],
            [env, "roles/cloudkms.cryptoKeyDecrypter"],
          ].sort(),
        );
      }
    }
    // The bootstrap's own state holds nothing secret.
    expect(JSON.stringify(run.resources)).not.toContain(SECRET);
    expect(JSON.stringify(run.outputs)).not.toContain(SECRET);
  });

  it("lets an apply identity write its own stack's state and nobody else's; previews only read", () => {
    for (const env of ENVIRONMENTS) {
      const bucket = grantsOf(run, email(`ggw-${env}-apply`)).filter((g) => g.type === TYPES.bucketIam);
      expect(bucket.map((g) => g.inputs.role).sort()).toEqual([
        "roles/storage.objectUser",
        "roles/storage.objectViewer",
      ]);
      const writer = bucket.find((g) => g.inputs.role === "roles/storage.objectUser")!;
      const expression = String(at(writer.inputs, "condition.expression"));
      for (const part of [
        "stacks/gemini-gateway/",
        "history/gemini-gateway/",
        "backups/gemini-gateway/",
        "locks/gemini-gateway/",
      ]) {
        expect(expression).toContain(`objects/.pulumi/${part}${env}`);
      }
      expect(expression).not.toContain(env === "dev" ? "/prod" : "/dev");
      const preview = grantsOf(run, email(`ggw-${env}-preview`));
      expect(preview.map((g) => g.inputs.role).sort()).toEqual(PREVIEW_ROLES.map((r) => r.role).sort());
      expect(preview.filter((g) => g.type === TYPES.folderIam)).toHaveLength(0);
    }
  });

  it("enforces, on each environment folder, what must hold before its project exists", () => {
    const policies = ofType(run, TYPES.orgPolicy).map((p) => [
      p.inputs.parent,
      String(p.inputs.name).split("/policies/")[1],
    ]);
    expect(policies.sort()).toEqual(
      ENVIRONMENTS.flatMap((env) =>
        ["compute.skipDefaultNetworkCreation", "iam.automaticIamGrantsForDefaultServiceAccounts"].map((c) => [
          `folders/REPLACE_WITH_${env.toUpperCase()}_FOLDER_ID`,
          c,
        ]),
      ).sort(),
    );
  });

  it("outputs what the environments read, as their offline runs assume", () => {
    const actual = new Map(flatten(run.outputs));
    for (const [path, value] of flatten(OFFLINE_BOOTSTRAP_OUTPUTS)) expect(actual.get(path), path).toEqual(value);
  });
});

describe("attribute conditions follow the config", () => {
  it("use another apply branch and workflow file when configured", () => {
    const cfg = config({ githubApplyBranch: "release", deployWorkflow: ".github/workflows/ship.yml" });
    expect(attributeCondition(cfg, "prod", "apply")).toContain(
      "assertion.job_workflow_ref == 'REPLACE_WITH_GITHUB_OWNER/gemini-gateway/.github/workflows/ship.yml@refs/heads/release'",
    );
    expect(attributeCondition(cfg, "prod", "apply")).toContain("assertion.ref == 'refs/heads/release'");
  });
});

describe("docs/operations.md", () => {
  it("grants no Owner or Editor, and lists every role the bootstrap grants", async () => {
    const { readFileSync } = await import("node:fs");
    const doc = readFileSync("docs/operations.md", "utf8");
    expect(doc).not.toMatch(/add-iam-policy-binding[^\n]*roles\/(owner|editor)\b/);
    for (const { role } of [...APPLY_ROLES, ...PREVIEW_ROLES]) expect(doc, role).toContain(role);
  });
});
