/**
 * Where every stack keeps its state: a private, versioned bucket (uniform access, public access prevention enforced)
 * and one KMS key per stack, which wraps that stack's data key for the secrets in its state (Pulumi's `gcpkms://`
 * secrets provider). One key per stack is what lets each stack's CI identities decrypt their own stack's secrets and
 * no other's: dev's deployers can never read prod's Redis AUTH string.
 *
 * Everything here is protected: a key cannot be recreated under the same name, and the bucket holds every stack.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { childOf } from "../../components/common.js";

export interface StateBackendArgs {
  project: pulumi.Input<string>;
  location: pulumi.Input<string>;
  bucketName: pulumi.Input<string>;
  /** One key per stack name. */
  stacks: readonly string[];
  keyRingName: pulumi.Input<string>;
  /** How often each key gets a new primary version (old versions still decrypt). */
  rotationPeriod: pulumi.Input<string>;
}

export class StateBackend extends pulumi.ComponentResource {
  readonly bucket: gcp.storage.Bucket;
  readonly keyRing: gcp.kms.KeyRing;
  /** stack → its key. */
  readonly keys: Record<string, gcp.kms.CryptoKey>;

  constructor(name: string, args: StateBackendArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gemini-gateway:bootstrap:StateBackend", name, {}, opts);
    const child = childOf(this, opts, { protect: true });

    this.bucket = new gcp.storage.Bucket(
      "state",
      {
        project: args.project,
        name: args.bucketName,
        location: args.location,
        uniformBucketLevelAccess: true,
        publicAccessPrevention: "enforced",
        versioning: { enabled: true },
        forceDestroy: false,
        // Every update writes a checkpoint and a history entry: keep 50 older versions of each object.
        lifecycleRules: [{ action: { type: "Delete" }, condition: { numNewerVersions: 50, withState: "ARCHIVED" } }],
      },
      child,
    );

    this.keyRing = new gcp.kms.KeyRing(
      "state-keys",
      { project: args.project, name: args.keyRingName, location: args.location },
      child,
    );
    this.keys = Object.fromEntries(
      args.stacks.map((stack) => [
        stack,
        new gcp.kms.CryptoKey(
          `state-key-${stack}`,
          {
            name: stack,
            keyRing: this.keyRing.id,
            purpose: "ENCRYPT_DECRYPT",
            rotationPeriod: args.rotationPeriod,
          },
          child,
        ),
      ]),
    );
    this.registerOutputs({ bucket: this.bucket.name });
  }
}
