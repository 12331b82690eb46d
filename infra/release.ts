/**
 * Which gateway image a run deploys. The image is a release, not a setting: CI builds it, deploys it to dev and
 * promotes the same digest to prod, and every run after that keeps it. So the stack files hold no image; the stack's
 * own `gatewayImage` output (what the last `up` deployed, read back through a StackReference to this very stack) is
 * what a run without an `image` config value keeps, and `image` (CI passes it for the run that rolls a new digest out,
 * or an operator for a rollback) is what changes it — with a warning naming both digests, so no run changes the image
 * silently. docs/decisions/0015-real-toolchain.md.
 */
import * as pulumi from "@pulumi/pulumi";
import { StackConfigError, type StackConfig } from "./config.js";

/** The stack output that records the gateway image a stack runs (registry-relative: name@sha256:digest). */
export const IMAGE_OUTPUT = "gatewayImage";

export interface ImageChoice {
  /** The image this run deploys; undefined only when the gateway is not deployed and never was. */
  image: string | undefined;
  /** Why it differs from what the stack runs, for the run's log; undefined when nothing changes. */
  change?: string;
}

/** The image to deploy from the configured one (a change) and the deployed one (what to keep). */
export function chooseImage(
  cfg: Pick<StackConfig, "image" | "deployGateway">,
  deployed: string | undefined,
): ImageChoice {
  const image = cfg.image ?? deployed;
  if (cfg.deployGateway && !image) {
    throw new StackConfigError(
      [
        "Invalid stack configuration:",
        `  gemini-gateway:image: is required for the gateway's first deployment (the stack has no ${IMAGE_OUTPUT} output yet):`,
        "    pass the digest for this run, e.g. `pulumi up --config image=gateway@sha256:<digest>` (docs/operations.md)",
      ].join("\n"),
    );
  }
  if (cfg.image && deployed && cfg.image !== deployed) {
    return { image, change: `gateway image: ${deployed} (deployed) → ${cfg.image} (config 'image')` };
  }
  if (cfg.image && !deployed)
    return { image, change: `gateway image: ${cfg.image} (config 'image'; none deployed yet)` };
  return { image };
}

/** This stack's fully qualified name, as a StackReference takes it (DIY backends use the organization "organization"). */
export function thisStack(): string {
  return `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
}

/** The image the last `up` of this stack deployed: its own `gatewayImage` output, or undefined before the first. */
export async function deployedImage(): Promise<string | undefined> {
  const self = new pulumi.StackReference("deployed-release", { name: thisStack() });
  const details = await self.getOutputDetails(IMAGE_OUTPUT);
  return typeof details.value === "string" && details.value !== "" ? details.value : undefined;
}
