/**
 * The bootstrap stack's configuration: every key is declared in ./Pulumi.yaml and validated here by one zod schema,
 * with the same placeholder guard and messages as the environments (../config.ts).
 */
import { z } from "zod";
import {
  LABEL_VALUE,
  list,
  orPlaceholder,
  parseConfig,
  PRINCIPAL,
  PROJECT_ID,
  readEngineConfig,
  REGION,
} from "../config.js";

/** The Pulumi project name of the bootstrap program, also its config namespace. */
export const BOOTSTRAP_PROJECT = "gemini-gateway-bootstrap";

/** The environment stacks the bootstrap serves (the environment program's stack files). */
export const ENVIRONMENTS = ["dev", "prod"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

const projectId = orPlaceholder(z.string().regex(PROJECT_ID, "must be a Google Cloud project id"));
const numericId = (what: string) => orPlaceholder(z.string().regex(/^\d{1,20}$/, `must be a numeric ${what} id`));
const workflowFile = z
  .string()
  .regex(/^\.github\/workflows\/[A-Za-z0-9._-]+\.ya?ml$/, "must be a workflow file under .github/workflows/");

export const BootstrapConfigSchema = z
  .strictObject({
    seedProjectId: projectId,
    orgId: numericId("organisation"),
    billingAccount: orPlaceholder(
      z.string().regex(/^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$/, "must look like 012345-6789AB-CDEF01"),
    ),
    location: z.string().regex(REGION, 'must be a region such as "europe-west4"'),
    stateBucket: orPlaceholder(
      z.string().regex(/^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$/, "must be a bucket name (lowercase, no dots)"),
    ),
    owner: z.string().regex(LABEL_VALUE, "must be a label value: lowercase letters, digits, _ or -"),
    costCenter: z.string().regex(LABEL_VALUE, "must be a label value: lowercase letters, digits, _ or -"),

    devFolderId: numericId("folder"),
    devProjectId: projectId,
    devApplyEnvironment: z.string().regex(/^[A-Za-z0-9._ -]+$/, "must be a GitHub environment name"),
    prodFolderId: numericId("folder"),
    prodProjectId: projectId,
    prodApplyEnvironment: z.string().regex(/^[A-Za-z0-9._ -]+$/, "must be a GitHub environment name"),

    githubRepository: orPlaceholder(z.string().regex(/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/, "must be owner/name")),
    githubRepositoryId: numericId("repository"),
    githubRepositoryOwnerId: numericId("repository owner"),
    githubApplyBranch: z.string().regex(/^[A-Za-z0-9._/-]+$/, "must be a branch name"),
    pullRequestWorkflow: workflowFile,
    deployWorkflow: workflowFile,
    operators: list(
      z
        .string()
        .regex(PRINCIPAL, "must be user:, group:, serviceAccount:, …")
        .refine((p) => !/^(allUsers|allAuthenticatedUsers)$/.test(p), "public principals are refused"),
    ),
  })
  .superRefine((c, ctx) => {
    if (c.devFolderId === c.prodFolderId && !/replace/i.test(c.devFolderId)) {
      ctx.addIssue({
        code: "custom",
        path: ["prodFolderId"],
        message: "must differ from devFolderId: each environment's deployer is scoped to its own folder",
      });
    }
    if (c.devProjectId === c.prodProjectId) {
      ctx.addIssue({ code: "custom", path: ["prodProjectId"], message: "must differ from devProjectId" });
    }
  });

export type BootstrapConfig = z.output<typeof BootstrapConfigSchema>;

/** Per-environment settings, looked up by environment. */
export function environmentOf(cfg: BootstrapConfig, env: Environment) {
  return env === "dev"
    ? { folderId: cfg.devFolderId, projectId: cfg.devProjectId, applyEnvironment: cfg.devApplyEnvironment }
    : { folderId: cfg.prodFolderId, projectId: cfg.prodProjectId, applyEnvironment: cfg.prodApplyEnvironment };
}

export function loadBootstrapConfig(
  raw: Record<string, string> = readEngineConfig(BOOTSTRAP_PROJECT),
  env: Readonly<Record<string, string | undefined>> = process.env,
): BootstrapConfig {
  return parseConfig(BootstrapConfigSchema, BOOTSTRAP_PROJECT, raw, env);
}
