/**
 * The environment's own Artifact Registry repository: the only place its images come from (the gateway and the
 * mirrored metrics sidecar). Immutable tags, cleanup policies that keep enough recent versions to roll back to, and
 * no public IAM: the runtime account reads, the deployer (the bootstrap's apply identity) pushes, and the next
 * environment's deployer reads (prod copies the digest dev runs: deploy.yml, deploy-prod).
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { childOptions, NAMES, primaryRegion, type Context } from "./common.js";
import type { Identities } from "./identities.js";

export interface RegistryArgs {
  identities: Identities;
  /** The deployer (IAM member): pushes images. */
  writerMember: string;
  /** Deployers of later environments (IAM members): copy images from here. */
  promotionReaders: readonly string[];
}

export class Registry extends pulumi.ComponentResource {
  readonly repository: gcp.artifactregistry.Repository;
  /** <region>-docker.pkg.dev/<project>/<repository>: known at preview. */
  readonly url: string;

  constructor(name: string, args: RegistryArgs, ctx: Context, opts?: pulumi.ComponentResourceOptions) {
    super("gemini-gateway:infra:Registry", name, {}, opts);
    const { cfg } = ctx;
    const location = primaryRegion(cfg);
    this.url = `${location}-docker.pkg.dev/${cfg.projectId}/${NAMES.repository}`;

    this.repository = new gcp.artifactregistry.Repository(
      "repository",
      {
        project: cfg.projectId,
        location,
        repositoryId: NAMES.repository,
        format: "DOCKER",
        description: "Gemini gateway images (the gateway and its mirrored sidecars)",
        dockerConfig: { immutableTags: true },
        cleanupPolicyDryRun: false,
        cleanupPolicies: [
          // KEEP wins over DELETE: the last 30 versions of every image stay available for rollbacks, whatever their age.
          { id: "keep-recent", action: "KEEP", mostRecentVersions: { keepCount: 30 } },
          { id: "delete-untagged", action: "DELETE", condition: { tagState: "UNTAGGED", olderThan: "1209600s" } }, // 14 days
          { id: "delete-old", action: "DELETE", condition: { tagState: "ANY", olderThan: "31536000s" } }, // a year
        ],
      },
      childOptions(this, ctx),
    );

    const grant = (key: string, role: string, member: string, after: pulumi.Resource[] = []) =>
      new gcp.artifactregistry.RepositoryIamMember(
        `repository-${key}`,
        { project: cfg.projectId, location, repository: this.repository.repositoryId, role, member },
        childOptions(this, ctx, { dependsOn: after }),
      );
    grant("runtime-reader", "roles/artifactregistry.reader", args.identities.runtime.member, [
      args.identities.runtime.account,
    ]);
    grant("deployer-writer", "roles/artifactregistry.writer", args.writerMember);
    for (const reader of args.promotionReaders) {
      grant(`promotion-reader-${reader.split(/[:@]/)[1]}`, "roles/artifactregistry.reader", reader);
    }
    this.registerOutputs({ url: this.url });
  }

  /** A full image reference from a config value (name@sha256:… or name:tag). */
  image(ref: string): string {
    return `${this.url}/${ref}`;
  }
}
