/**
 * What an environment reads from the bootstrap (seed) stack (infra/bootstrap/): the seed project and, per environment,
 * the deploy identities. Read through a StackReference as plain values (known at preview, like every value a guardrail
 * reads), validated with a schema so a missing bootstrap, or one prepared for another project, stops the run with a
 * message rather than a half-wired stack.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { StackConfigError, type StackConfig } from "./config.js";

const Identity = z.object({ serviceAccount: z.string().regex(/^[a-z0-9-]+@[a-z0-9-]+\.iam\.gserviceaccount\.com$/) });
const EnvironmentOutputs = z.object({
  projectId: z.string(),
  secretsProvider: z.string().startsWith("gcpkms://"),
  preview: Identity,
  apply: Identity,
});
const BootstrapOutputsSchema = z.object({
  seedProject: z.string(),
  stacks: z.object({ dev: EnvironmentOutputs, prod: EnvironmentOutputs }),
});

export type BootstrapOutputs = z.output<typeof BootstrapOutputsSchema>;

/** Everything this environment takes from the bootstrap. */
export interface Seed {
  /** The seed project (quota project of the CI accounts' client-based calls). */
  seedProject: string;
  /** This environment's apply (deploy) identity: runs `pulumi up`, acts as the runtime accounts, pushes images. */
  deployer: { email: string; member: string };
  /** Every environment's apply identity, by environment (dev's registry lets prod's deployer copy the digest). */
  deployers: Record<"dev" | "prod", { email: string; member: string }>;
}

const member = (email: string) => ({ email, member: `serviceAccount:${email}` });

/** Checks the bootstrap's outputs against this stack's config and picks what the environment needs. */
export function seedFrom(
  outputs: unknown,
  cfg: Pick<StackConfig, "environment" | "projectId" | "bootstrapStack">,
): Seed {
  const parsed = BootstrapOutputsSchema.safeParse(outputs);
  if (!parsed.success) {
    throw new StackConfigError(
      [
        `The bootstrap stack ${cfg.bootstrapStack} does not have the outputs this stack needs:`,
        ...parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`),
        "Run `pulumi up` in infra/bootstrap first (docs/operations.md, Bootstrap), or set bootstrapStack.",
      ].join("\n"),
    );
  }
  const out = parsed.data;
  const mine = out.stacks[cfg.environment];
  if (mine.projectId !== cfg.projectId) {
    throw new StackConfigError(
      `Invalid stack configuration:\n  gemini-gateway:projectId: is ${cfg.projectId}, but the bootstrap stack ` +
        `${cfg.bootstrapStack} prepared ${mine.projectId} for ${cfg.environment} (its ${cfg.environment}ProjectId): ` +
        "its deployer's roles are granted on that project's folder",
    );
  }
  return {
    seedProject: out.seedProject,
    deployer: member(mine.apply.serviceAccount),
    deployers: { dev: member(out.stacks.dev.apply.serviceAccount), prod: member(out.stacks.prod.apply.serviceAccount) },
  };
}

/** Reads the bootstrap stack's outputs (plain values: known during a preview). */
export async function readSeed(cfg: Pick<StackConfig, "environment" | "projectId" | "bootstrapStack">): Promise<Seed> {
  const ref = new pulumi.StackReference("bootstrap", { name: cfg.bootstrapStack });
  const outputs: Record<string, unknown> = {};
  for (const key of ["seedProject", "stacks"]) outputs[key] = (await ref.getOutputDetails(key)).value;
  return seedFrom(outputs, cfg);
}
