/**
 * Deploy identities for GitHub Actions through Workload Identity Federation: no keys, tokens minted per job.
 *
 * One pool, two providers, each pinned to the repository by its attributeCondition:
 * - `github-preview`: any workflow of the repository (pull requests run `pulumi preview`);
 * - `github-apply`: only pushes or manual runs on the apply branch (and, when configured, inside a protected GitHub
 *   environment): `pulumi up`.
 * A principalSet on a pool matches tokens of every provider in it, so each provider stamps a constant
 * `attribute.ci_role`, and each service account trusts only its role: a pull-request token can never act as the
 * apply account.
 *
 * What the two accounts may do in the project is not granted here (that would need Admin roles on project IAM, which
 * the guardrails forbid in this program): the bootstrap grants them on the environment's folder, the state bucket and
 * the billing account (docs/operations.md). Here they only get what is scoped to one resource: the apply account may
 * act as the runtime and push accounts (pitfall 7) and push images (registry.ts).
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { ACCOUNT_IDS, childOptions, NAMES, saEmail, type Context } from "./common.js";
import type { Identities, ServiceAccountRef } from "./identities.js";

const GITHUB_ISSUER = "https://token.actions.githubusercontent.com";

export interface CiArgs {
  identities: Identities;
}

export class CiIdentities extends pulumi.ComponentResource {
  readonly pool: gcp.iam.WorkloadIdentityPool;
  readonly previewProvider: gcp.iam.WorkloadIdentityPoolProvider;
  readonly applyProvider: gcp.iam.WorkloadIdentityPoolProvider;
  readonly preview: ServiceAccountRef;
  readonly apply: ServiceAccountRef;

  constructor(name: string, args: CiArgs, ctx: Context, opts?: pulumi.ComponentResourceOptions) {
    super("gemini-gateway:infra:CiIdentities", name, {}, opts);
    const { cfg } = ctx;
    const repo = cfg.githubRepository;

    this.pool = new gcp.iam.WorkloadIdentityPool(
      "github-pool",
      {
        project: cfg.projectId,
        workloadIdentityPoolId: NAMES.wifPool,
        displayName: "GitHub Actions",
        description: `Deploys of ${repo} (${cfg.environment})`,
      },
      childOptions(this, ctx),
    );

    const mapping = (role: string) => ({
      "google.subject": "assertion.sub",
      "attribute.repository": "assertion.repository",
      "attribute.ref": "assertion.ref",
      "attribute.event_name": "assertion.event_name",
      "attribute.ci_role": `'${role}'`,
    });
    const provider = (id: string, role: string, attributeCondition: string) =>
      new gcp.iam.WorkloadIdentityPoolProvider(
        id,
        {
          project: cfg.projectId,
          workloadIdentityPoolId: NAMES.wifPool,
          workloadIdentityPoolProviderId: id,
          displayName: `GitHub ${role}`,
          attributeMapping: mapping(role),
          attributeCondition,
          oidc: { issuerUri: GITHUB_ISSUER },
        },
        childOptions(this, ctx, { dependsOn: [this.pool] }),
      );

    this.previewProvider = provider("github-preview", "preview", `assertion.repository == '${repo}'`);
    this.applyProvider = provider(
      "github-apply",
      "apply",
      [
        `assertion.repository == '${repo}'`,
        `assertion.ref == 'refs/heads/${cfg.githubApplyBranch}'`,
        `assertion.event_name in ['push', 'workflow_dispatch']`,
        ...(cfg.githubApplyEnvironment ? [`assertion.environment == '${cfg.githubApplyEnvironment}'`] : []),
      ].join(" && "),
    );

    this.preview = this.deployer(ctx, ACCOUNT_IDS.ciPreview, "preview", "CI: pulumi preview (read-only)");
    this.apply = this.deployer(ctx, ACCOUNT_IDS.ciApply, "apply", "CI: pulumi up (apply branch only)");

    // The deployer sets these accounts on Cloud Run and the push subscription, which needs actAs on each.
    const { runtime, budgetPush } = args.identities;
    for (const [key, target] of [
      ["runtime", runtime],
      ["budget-push", budgetPush],
    ] as const) {
      new gcp.serviceaccount.IAMMember(
        `ci-apply-acts-as-${key}`,
        { serviceAccountId: target.account.name, role: "roles/iam.serviceAccountUser", member: this.apply.member },
        childOptions(this, ctx, { dependsOn: [this.apply.account] }),
      );
    }
    this.registerOutputs({ preview: this.previewProvider.name, apply: this.applyProvider.name });
  }

  private deployer(ctx: Context, accountId: string, role: string, displayName: string): ServiceAccountRef {
    const account = new gcp.serviceaccount.Account(
      accountId,
      { project: ctx.cfg.projectId, accountId, displayName },
      childOptions(this, ctx),
    );
    new gcp.serviceaccount.IAMMember(
      `${accountId}-wif`,
      {
        serviceAccountId: account.name,
        role: "roles/iam.workloadIdentityUser",
        member: pulumi.interpolate`principalSet://iam.googleapis.com/${this.pool.name}/attribute.ci_role/${role}`,
      },
      childOptions(this, ctx),
    );
    const email = saEmail(accountId, ctx.cfg.projectId);
    return { account, email, member: `serviceAccount:${email}` };
  }
}
