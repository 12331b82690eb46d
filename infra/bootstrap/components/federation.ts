/**
 * Workload Identity Federation for GitHub Actions, in the seed project: one pool, one OIDC provider per CI identity,
 * each with the attribute condition of ../github.ts. No keys anywhere: a job exchanges its GitHub token for a
 * short-lived Google token of exactly one account.
 *
 * Pools and providers are soft-deleted for 30 days and their ids stay taken (pitfall 17): they are protected.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { childOf } from "../../components/common.js";
import { GITHUB_ISSUER } from "../github.js";

export interface FederatedIdentity {
  /** Provider id and the constant attribute.ci_identity (e.g. "prod-apply"). */
  name: string;
  attributeCondition: pulumi.Input<string>;
  attributeMapping: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

export interface GithubFederationArgs {
  project: pulumi.Input<string>;
  poolId: pulumi.Input<string>;
  description: pulumi.Input<string>;
  identities: readonly FederatedIdentity[];
}

export class GithubFederation extends pulumi.ComponentResource {
  readonly pool: gcp.iam.WorkloadIdentityPool;
  /** identity name → its provider. */
  readonly providers: Record<string, gcp.iam.WorkloadIdentityPoolProvider>;

  constructor(name: string, args: GithubFederationArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gemini-gateway:bootstrap:GithubFederation", name, {}, opts);
    this.pool = new gcp.iam.WorkloadIdentityPool(
      "github-pool",
      {
        project: args.project,
        workloadIdentityPoolId: args.poolId,
        displayName: "GitHub Actions",
        description: args.description,
      },
      childOf(this, opts, { protect: true }),
    );
    this.providers = Object.fromEntries(
      args.identities.map((identity) => [
        identity.name,
        new gcp.iam.WorkloadIdentityPoolProvider(
          `github-${identity.name}`,
          {
            project: args.project,
            workloadIdentityPoolId: this.pool.workloadIdentityPoolId,
            workloadIdentityPoolProviderId: identity.name,
            displayName: `GitHub ${identity.name}`,
            attributeMapping: identity.attributeMapping,
            attributeCondition: identity.attributeCondition,
            oidc: { issuerUri: GITHUB_ISSUER },
          },
          childOf(this, opts, { protect: true }),
        ),
      ]),
    );
    this.registerOutputs({ pool: this.pool.name });
  }

  /** Every token a provider of this pool accepted for `identity` (its constant attribute.ci_identity). */
  principalSet(identity: string): pulumi.Output<string> {
    return pulumi.interpolate`principalSet://iam.googleapis.com/${this.pool.name}/attribute.ci_identity/${identity}`;
  }
}
