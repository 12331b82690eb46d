/**
 * One CI identity: a service account in the seed project that exactly one federated GitHub identity may become
 * (roles/iam.workloadIdentityUser for its principalSet, on this account only), holding exactly the grants it is given
 * — each on the narrowest resource, some with an IAM condition — and impersonable by the configured operators only.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { childOf } from "../../components/common.js";

export type GrantTarget =
  | { kind: "folder"; folder: string }
  | { kind: "organization"; orgId: string }
  | { kind: "billing-account"; billingAccount: string }
  | { kind: "bucket"; bucket: pulumi.Input<string> }
  | { kind: "crypto-key"; cryptoKeyId: pulumi.Input<string> }
  | { kind: "project"; project: string };

export interface ResolvedGrant {
  role: string;
  target: GrantTarget;
  /** Resource-name suffix telling two grants of one role apart (e.g. which key). */
  key?: string;
  condition?: { title: string; description: string; expression: pulumi.Input<string> };
}

export interface DeployerArgs {
  project: pulumi.Input<string>;
  accountId: string;
  /** The account's e-mail, known before it exists: <accountId>@<project>.iam.gserviceaccount.com. */
  email: string;
  displayName: string;
  /** The federated identity allowed to become this account. */
  principalSet: pulumi.Input<string>;
  grants: readonly ResolvedGrant[];
  /** Principals allowed to impersonate it (break glass). */
  impersonators: readonly string[];
  /** Resources the grants wait for (the tag bindings an org-level condition reads). */
  grantsAfter?: readonly pulumi.Resource[];
}

const short = (role: string) => role.replace(/^roles\//, "").replace(/\./g, "-");

export class Deployer extends pulumi.ComponentResource {
  readonly account: gcp.serviceaccount.Account;
  readonly email: string;
  readonly member: string;

  constructor(name: string, args: DeployerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gemini-gateway:bootstrap:Deployer", name, {}, opts);
    this.email = args.email;
    this.member = `serviceAccount:${args.email}`;
    this.account = new gcp.serviceaccount.Account(
      args.accountId,
      { project: args.project, accountId: args.accountId, displayName: args.displayName },
      childOf(this, opts),
    );
    const onAccount = (key: string, role: string, member: pulumi.Input<string>) =>
      new gcp.serviceaccount.IAMMember(
        `${args.accountId}-${key}`,
        { serviceAccountId: this.account.name, role, member },
        childOf(this, opts),
      );
    onAccount("wif", "roles/iam.workloadIdentityUser", args.principalSet);
    for (const principal of args.impersonators) {
      onAccount(
        `impersonated-by-${principal.replace(/[^A-Za-z0-9-]+/g, "-").toLowerCase()}`,
        "roles/iam.serviceAccountTokenCreator",
        principal,
      );
    }

    const after = childOf(this, opts, { dependsOn: [this.account, ...(args.grantsAfter ?? [])] });
    for (const grant of args.grants) {
      const id = `${args.accountId}-${grant.target.kind}-${short(grant.role)}${grant.key ? `-${grant.key}` : ""}`;
      const common = {
        role: grant.role,
        member: this.member,
        ...(grant.condition ? { condition: grant.condition } : {}),
      };
      const t = grant.target;
      switch (t.kind) {
        case "folder":
          new gcp.folder.IAMMember(id, { folder: `folders/${t.folder}`, ...common }, after);
          break;
        case "organization":
          new gcp.organizations.IAMMember(id, { orgId: t.orgId, ...common }, after);
          break;
        case "billing-account":
          new gcp.billing.AccountIamMember(id, { billingAccountId: t.billingAccount, ...common }, after);
          break;
        case "bucket":
          new gcp.storage.BucketIAMMember(id, { bucket: t.bucket, ...common }, after);
          break;
        case "crypto-key":
          new gcp.kms.CryptoKeyIAMMember(id, { cryptoKeyId: t.cryptoKeyId, ...common }, after);
          break;
        case "project":
          new gcp.projects.IAMMember(id, { project: t.project, ...common }, after);
          break;
      }
    }
    this.registerOutputs({ email: this.email });
  }
}
