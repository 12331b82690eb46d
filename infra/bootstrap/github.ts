/**
 * Which GitHub Actions jobs may become which CI identity: the attribute conditions of the Workload Identity providers,
 * as pure functions of the config (tested on their own).
 *
 * GitHub signs every job's OIDC token with one issuer for all of GitHub, so the conditions are the whole trust
 * boundary. They pin the repository and its owner by numeric id (`repository_id`, `repository_owner_id`: never reused,
 * unlike names, which can be renamed and then re-registered by someone else), the event, the branch, and the workflow
 * file the job was defined in (`job_workflow_ref`: `owner/name/.github/workflows/<file>@<ref>`). The repository's name
 * appears only inside that workflow path; a rename makes the conditions fail closed.
 *
 * - <env>-apply: a push to the apply branch, in the deploy workflow as it is on that branch, in the environment's
 *   GitHub environment (prod: the protected `production`, whose reviewers approve the run).
 * - dev-preview: the pull-request workflow on a pull request. The job runs the pull request's code, so this identity
 *   reads only dev's state and decrypts only dev's key.
 * - prod-preview: the deploy workflow on the apply branch (the post-merge preview approvers look at). Pull requests
 *   never get an identity that can decrypt prod's state; they see prod through the offline check.
 *
 * Claims: docs.github.com/en/actions/reference/security/oidc (repository_id, repository_owner_id, job_workflow_ref,
 * environment, event_name, ref).
 */
import type { BootstrapConfig, Environment } from "./config.js";

export const GITHUB_ISSUER = "https://token.actions.githubusercontent.com";

export type CiRole = "preview" | "apply";

/** The identity's name: the provider id and the constant `attribute.ci_identity` it stamps. */
export const identityName = (env: Environment, role: CiRole): string => `${env}-${role}`;

const quote = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;

/** `owner/name/.github/workflows/<file>@` — the prefix of job_workflow_ref for jobs defined in that file. */
export const workflowRef = (cfg: Pick<BootstrapConfig, "githubRepository">, file: string): string =>
  `${cfg.githubRepository}/${file}@`;

/** The attribute condition of one identity's provider. */
export function attributeCondition(cfg: BootstrapConfig, env: Environment, role: CiRole): string {
  const applyRef = `refs/heads/${cfg.githubApplyBranch}`;
  const deployOnApplyBranch = [
    `assertion.event_name == 'push'`,
    `assertion.ref == ${quote(applyRef)}`,
    `assertion.job_workflow_ref == ${quote(workflowRef(cfg, cfg.deployWorkflow) + applyRef)}`,
  ];
  const scope =
    role === "apply"
      ? [
          ...deployOnApplyBranch,
          `assertion.environment == ${quote(env === "dev" ? cfg.devApplyEnvironment : cfg.prodApplyEnvironment)}`,
        ]
      : env === "dev"
        ? [
            `assertion.event_name == 'pull_request'`,
            `assertion.job_workflow_ref.startsWith(${quote(workflowRef(cfg, cfg.pullRequestWorkflow) + "refs/pull/")})`,
          ]
        : deployOnApplyBranch;
  return [
    `assertion.repository_id == ${quote(cfg.githubRepositoryId)}`,
    `assertion.repository_owner_id == ${quote(cfg.githubRepositoryOwnerId)}`,
    ...scope,
  ].join(" && ");
}

/** The attribute mapping: only claims every GitHub token carries, plus the constant identity name. */
export function attributeMapping(env: Environment, role: CiRole): Record<string, string> {
  return {
    "google.subject": "assertion.sub",
    "attribute.repository_id": "assertion.repository_id",
    "attribute.repository_owner_id": "assertion.repository_owner_id",
    "attribute.job_workflow_ref": "assertion.job_workflow_ref",
    "attribute.ref": "assertion.ref",
    // A principalSet on a pool matches tokens from every provider in it: each provider stamps a constant, and each
    // account trusts only its own, so a pull-request token can never act as an apply account.
    "attribute.ci_identity": quote(identityName(env, role)),
  };
}
