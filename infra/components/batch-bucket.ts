/**
 * The batch bucket: where the gateway stages batch jobs' requests as JSONL for Vertex AI batch prediction, and where
 * the jobs write their predictions (service/src/pipeline/resources/batches.ts). One bucket per environment, in the
 * primary region (batch jobs run there):
 *
 * - uniform bucket-level access and public access prevention enforced: IAM only, never public, no object ACLs;
 * - lifecycle: objects are deleted after `BATCH_OBJECT_DAYS` (the gateway deletes a job's objects when the job is
 *   deleted; this catches the rest), and unfinished multipart uploads after a day;
 * - least privilege, on this bucket only: the gateway's runtime identity creates, reads, lists and deletes objects
 *   (roles/storage.objectUser); the Vertex AI service agent reads the inputs and writes the outputs of the jobs it
 *   runs for the project (roles/storage.objectUser) — through the agent's ServiceIdentity (service-agents.ts), which
 *   exists only once created.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { childOptions, primaryRegion, type Context } from "./common.js";
import type { Identities } from "./identities.js";

/** Batch inputs and outputs older than this are deleted (Vertex batch jobs finish within 24 hours). */
export const BATCH_OBJECT_DAYS = 7;

export interface BatchBucketArgs {
  identities: Identities;
  /** The Vertex AI service agent (IAM member, from its ServiceIdentity): batch prediction reads and writes here. */
  vertexAgentMember: pulumi.Input<string>;
}

export class BatchBucket extends pulumi.ComponentResource {
  readonly bucket: gcp.storage.Bucket;
  /** The bucket's name: what the gateway's GATEWAY_BATCH_BUCKET is set to. */
  readonly name: pulumi.Output<string>;

  constructor(name: string, args: BatchBucketArgs, ctx: Context, opts?: pulumi.ComponentResourceOptions) {
    super("gemini-gateway:infra:BatchBucket", name, {}, opts);
    const { cfg } = ctx;

    this.bucket = new gcp.storage.Bucket(
      "bucket",
      {
        project: cfg.projectId,
        name: `${cfg.projectId}-ggw-batch`,
        location: primaryRegion(cfg).toUpperCase(),
        storageClass: "STANDARD",
        uniformBucketLevelAccess: true,
        publicAccessPrevention: "enforced",
        forceDestroy: cfg.environment !== "prod",
        lifecycleRules: [
          { action: { type: "Delete" }, condition: { age: BATCH_OBJECT_DAYS } },
          { action: { type: "AbortIncompleteMultipartUpload" }, condition: { age: 1 } },
        ],
      },
      childOptions(this, ctx),
    );
    this.name = this.bucket.name;

    const grant = (key: string, member: pulumi.Input<string>, dependsOn: pulumi.Resource[]) =>
      new gcp.storage.BucketIAMMember(
        `bucket-${key}`,
        { bucket: this.bucket.name, role: "roles/storage.objectUser", member },
        childOptions(this, ctx, { dependsOn, hooks: { afterCreate: [ctx.iamWait] } }),
      );
    grant("runtime", args.identities.runtime.member, [args.identities.runtime.account]);
    grant("vertex-agent", args.vertexAgentMember, []);
    this.registerOutputs({ name: this.name });
  }
}
