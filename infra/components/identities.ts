/**
 * The workload identities. The gateway runs as its own service account (never the default compute one, pitfall 7)
 * holding only the four project roles below; its secret access is granted per secret (secrets.ts) and its registry
 * access on the one repository (registry.ts). Budget notifications are pushed as a dedicated account that can do
 * nothing but invoke the gateway (gateway.ts). No service-account keys exist anywhere: Cloud Run, Pub/Sub and CI
 * (the bootstrap's Workload Identity Federation, infra/bootstrap) all obtain short-lived tokens.
 *
 * The deployer (this environment's apply identity, from the bootstrap) sets these accounts on Cloud Run and on the
 * push subscription, which needs roles/iam.serviceAccountUser on each (pitfall 7): granted here, on each account only,
 * and what uses an account waits for its grant (`actAs`).
 *
 * Emails are computed from the account ids (they are deterministic), so every grant and the Cloud Run service name
 * their principal with values known at preview time, which is what the policy pack's mandatory rules read.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { ACCOUNT_IDS, childOptions, saEmail, type Context } from "./common.js";

/** The runtime allowlist (the policy pack enforces the same list). */
export const RUNTIME_ROLES = [
  "roles/aiplatform.user", // call Gemini on Vertex AI
  "roles/logging.logWriter", // audit records and logs
  "roles/monitoring.metricWriter", // the Managed Service for Prometheus sidecar
  "roles/cloudtrace.agent", // GATEWAY_TRACE_EXPORTER=cloud-trace
] as const;

export interface ServiceAccountRef {
  readonly account: gcp.serviceaccount.Account;
  /** The deployer's roles/iam.serviceAccountUser on this account: whatever runs as it waits for this. */
  readonly actAs: gcp.serviceaccount.IAMMember;
  /** Known at preview time. */
  readonly email: string;
  readonly member: string;
}

export interface IdentitiesArgs {
  /** The deployer (IAM member), who may act as these accounts. */
  deployerMember: string;
}

export class Identities extends pulumi.ComponentResource {
  readonly runtime: ServiceAccountRef;
  readonly budgetPush: ServiceAccountRef;

  constructor(name: string, args: IdentitiesArgs, ctx: Context, opts?: pulumi.ComponentResourceOptions) {
    super("gemini-gateway:infra:Identities", name, {}, opts);
    const { cfg } = ctx;

    this.runtime = this.account(ctx, args, ACCOUNT_IDS.runtime, "Gemini gateway (Cloud Run runtime)");
    for (const role of RUNTIME_ROLES) {
      new gcp.projects.IAMMember(
        `runtime-${role.split("/")[1]!.replace(/\./g, "-")}`,
        { project: cfg.projectId, role, member: this.runtime.member },
        childOptions(this, ctx, { dependsOn: [this.runtime.account] }),
      );
    }
    this.budgetPush = this.account(ctx, args, ACCOUNT_IDS.budgetPush, "Budget notifications pushed to the gateway");
    this.registerOutputs({ runtime: this.runtime.email, budgetPush: this.budgetPush.email });
  }

  private account(ctx: Context, args: IdentitiesArgs, accountId: string, displayName: string): ServiceAccountRef {
    const account = new gcp.serviceaccount.Account(
      accountId,
      { project: ctx.cfg.projectId, accountId, displayName },
      childOptions(this, ctx),
    );
    const actAs = new gcp.serviceaccount.IAMMember(
      `deployer-acts-as-${accountId}`,
      { serviceAccountId: account.name, role: "roles/iam.serviceAccountUser", member: args.deployerMember },
      childOptions(this, ctx, { hooks: { afterCreate: [ctx.iamWait] } }),
    );
    const email = saEmail(accountId, ctx.cfg.projectId);
    return { account, actAs, email, member: `serviceAccount:${email}` };
  }
}
