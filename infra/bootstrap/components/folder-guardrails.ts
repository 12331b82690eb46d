/**
 * What must hold in an environment's folder before its project exists, because the project's own first API calls
 * would otherwise undo it:
 * - compute.skipDefaultNetworkCreation: enabling Compute Engine in a new project creates the `default` network (open
 *   SSH/RDP firewall rules) unless this is enforced on an ancestor;
 * - iam.automaticIamGrantsForDefaultServiceAccounts: enabling Compute Engine creates the default compute account and,
 *   unless this is enforced, grants it Editor on the project.
 * And the environment's tag, bound to the folder: the org-level grant that lets the environment's deployer manage its
 * project's organization policies is conditioned on it (resource.matchTag), since roles/orgpolicy.policyAdmin can be
 * granted on the organisation only.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { childOf } from "../../components/common.js";

/** Boolean constraints enforced on every environment folder (the environment program sets its own on the project). */
export const FOLDER_CONSTRAINTS = [
  "compute.skipDefaultNetworkCreation",
  "iam.automaticIamGrantsForDefaultServiceAccounts",
] as const;

export interface FolderGuardrailsArgs {
  folderId: string;
  /** The tag value (tagValues/<id>) to bind to the folder. */
  tagValue: pulumi.Input<string>;
}

export class FolderGuardrails extends pulumi.ComponentResource {
  readonly tagBinding: gcp.tags.TagBinding;
  readonly policies: gcp.orgpolicy.Policy[];

  constructor(name: string, args: FolderGuardrailsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gemini-gateway:bootstrap:FolderGuardrails", name, {}, opts);
    const folder = `folders/${args.folderId}`;
    this.tagBinding = new gcp.tags.TagBinding(
      `${name}-tag`,
      { parent: `//cloudresourcemanager.googleapis.com/${folder}`, tagValue: args.tagValue },
      childOf(this, opts),
    );
    this.policies = FOLDER_CONSTRAINTS.map(
      (constraint) =>
        new gcp.orgpolicy.Policy(
          `${name}-${constraint}`,
          { parent: folder, name: `${folder}/policies/${constraint}`, spec: { rules: [{ enforce: "TRUE" }] } },
          childOf(this, opts),
        ),
    );
    this.registerOutputs({ folder });
  }
}
