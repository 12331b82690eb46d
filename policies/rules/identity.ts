/**
 * Identity guardrails: nothing public, no long-lived keys, least privilege on the project, and keyless CI pinned
 * to this repository.
 */
import * as gcp from "@pulumi/gcp";
import { validateResourceOfType, type PolicyResource } from "@pulumi/policy";
import { configOf } from "../lib/config.js";
import { steps, validateResourceOfTypes } from "../lib/guardrail.js";
import {
  grantsOf,
  isAdminRole,
  isIamType,
  PRIMITIVE_ROLES,
  PUBLIC_PRINCIPALS,
  serviceAccountEmail,
} from "../lib/iam.js";
import { HIERARCHY_IAM_TYPES, T, type Guardrail, type ResourceGuardrail, type StackGuardrail } from "../lib/types.js";
import { isKnown, path, read, str, UNKNOWN, type Unknown } from "../lib/values.js";
import { transitiveDependencies } from "../lib/workload.js";

export const iamNoPublicPrincipals: ResourceGuardrail = {
  name: "iam-no-public-principals",
  category: "identity",
  description:
    "No IAM member, binding or policy of any resource (project, Cloud Run service, secret, Artifact Registry " +
    "repository, topic, ...) grants a role to allUsers, allAuthenticatedUsers or principalSet://goog/public:all.",
  rationale:
    "A public principal on the gateway's Cloud Run service lets anyone on the internet invoke it, bypassing the load " +
    "balancer and Cloud Armor; on a secret, repository or topic it leaks keys, images or budget data.",
  severity: "critical",
  enforcementLevel: "mandatory",
  remediationSteps: steps(
    "Grant the role to specific identities (service accounts, groups, a WIF principalSet) instead. The gateway's",
    "public API is reached through the external HTTPS load balancer (ingress INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER)",
    "and authenticates callers by API key; since Cloud Run checks IAM on that path too, use IAP or the reviewed",
    "exception of cloud-run-invoker-iam-enabled (allowBehindLoadBalancer), never allUsers.",
  ),
  configSchema: { properties: {} },
  validateResource: validateResourceOfTypes(isIamType, "IAM member, binding and policy resources", (args, report) => {
    for (const g of grantsOf(args.type, args.props)) {
      if (isKnown(g.member) && PUBLIC_PRINCIPALS.has(g.member)) {
        report(
          `${args.type.split(":")[2]} "${args.name}" grants ${isKnown(g.role) ? g.role : "a role"} to ${g.member}: ` +
            "the resource becomes public.",
        );
      }
    }
  }),
};

export const iamNoServiceAccountKeys: ResourceGuardrail = {
  name: "iam-no-service-account-keys",
  category: "identity",
  description: "No user-managed service account keys (gcp:serviceaccount/key:Key).",
  rationale:
    "A key file is a long-lived bearer credential that can leak from a laptop, a CI log or Pulumi state. Cloud Run " +
    "runs as its attached service account with short-lived tokens, and CI authenticates through Workload Identity " +
    "Federation: nothing in this stack needs a key.",
  severity: "critical",
  enforcementLevel: "mandatory",
  remediationSteps: steps(
    "Delete the Key resource. Workloads on Google Cloud use their attached service account; GitHub Actions uses",
    "Workload Identity Federation (google-github-actions/auth with workload_identity_provider); people use",
    "service account impersonation (roles/iam.serviceAccountTokenCreator on that one account).",
  ),
  configSchema: { properties: {} },
  validateResource: validateResourceOfType(gcp.serviceaccount.Key, (_key, args, report) => {
    report(`Service account key "${args.name}": user-managed keys are long-lived credentials and are forbidden.`);
  }),
};

interface AllowedRolesConfig {
  allowedRoles: string[];
  conditionRequiredRoles: string[];
}

/** Admin roles that change who may do what: granted on the hierarchy only with a condition that limits them. */
const IAM_ADMIN_ROLES: ReadonlySet<string> = new Set([
  "roles/resourcemanager.projectIamAdmin",
  "roles/resourcemanager.folderIamAdmin",
  "roles/iam.securityAdmin",
]);

/** The condition expression of a grant (IAM member/binding `condition`), or undefined / UNKNOWN. */
function conditionOf(props: Record<string, unknown>): string | Unknown | undefined {
  return str(path(props, "condition.expression"));
}

export const iamNoPrimitiveOrAdminRoles: ResourceGuardrail = {
  name: "iam-no-primitive-or-admin-roles",
  category: "identity",
  description:
    "Project, folder and organization IAM grants no primitive role (roles/owner, roles/editor, roles/viewer) and " +
    "no *Admin role (a role whose last segment ends in 'admin', e.g. roles/run.admin, roles/iam.securityAdmin) " +
    "unless allowedRoles names it; an allowed role that changes who may do what (conditionRequiredRoles) carries " +
    "an IAM condition — for IAM admins one limiting the roles it may grant (iam.googleapis.com/modifiedGrantsByRole).",
  rationale:
    "Primitive roles span every service in the project (Editor can read every secret and redeploy the gateway); " +
    "admin roles can change IAM or delete data. Grant the narrow predefined roles a workload needs, on the narrowest " +
    "resource.",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps: steps(
    "Replace the grant with the predefined roles the principal needs (e.g. roles/run.developer instead of",
    "roles/run.admin, roles/aiplatform.user instead of roles/editor), granted on the resource rather than the project",
    "where possible. A deliberate exception (e.g. the deployer's roles/run.admin) goes in this rule's allowedRoles.",
    "Grant roles/resourcemanager.projectIamAdmin with a delegated-grants condition, e.g.",
    "api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly(['roles/aiplatform.user']), and",
    "roles/orgpolicy.policyAdmin (organisation-only) with a tag condition, resource.matchTag('<org>/<key>', '<value>').",
  ),
  configSchema: {
    properties: {
      allowedRoles: {
        type: "array",
        items: { type: "string" },
        default: [],
        description: "Admin roles deliberately allowed on the project (primitive roles never are).",
      },
      conditionRequiredRoles: {
        type: "array",
        items: { type: "string" },
        default: [...IAM_ADMIN_ROLES, "roles/orgpolicy.policyAdmin", "roles/resourcemanager.organizationAdmin"],
        description:
          "Allowed roles that must carry an IAM condition on the hierarchy (IAM admins: one mentioning " +
          "iam.googleapis.com/modifiedGrantsByRole).",
      },
    },
  },
  validateResource: validateResourceOfTypes(
    (t) => HIERARCHY_IAM_TYPES.has(t),
    "project, folder and organization IAM",
    (args, report) => {
      const { allowedRoles, conditionRequiredRoles } = configOf<AllowedRolesConfig>(
        args,
        iamNoPrimitiveOrAdminRoles.configSchema,
      );
      for (const g of grantsOf(args.type, args.props)) {
        if (!isKnown(g.role)) continue;
        const who = isKnown(g.member) ? g.member : "a principal";
        if (PRIMITIVE_ROLES.has(g.role)) {
          report(`"${args.name}" grants the primitive role ${g.role} to ${who}.`);
        } else if (isAdminRole(g.role) && !allowedRoles.includes(g.role)) {
          report(`"${args.name}" grants the admin role ${g.role} to ${who} at the resource hierarchy level.`);
        } else if (conditionRequiredRoles.includes(g.role) && !args.type.endsWith("Policy")) {
          const condition = conditionOf(args.props);
          if (!isKnown(condition)) continue;
          if (condition === undefined || condition.trim() === "") {
            report(`"${args.name}" grants ${g.role} to ${who} without an IAM condition limiting it.`);
          } else if (IAM_ADMIN_ROLES.has(g.role) && !condition.includes("modifiedGrantsByRole")) {
            report(
              `"${args.name}" grants ${g.role} to ${who} with a condition that does not limit the roles it may grant ` +
                "(iam.googleapis.com/modifiedGrantsByRole): it could grant itself anything.",
            );
          }
        }
      }
    },
  ),
};

const IMPERSONATION_ROLES: ReadonlySet<string> = new Set([
  "roles/iam.serviceAccountUser",
  "roles/iam.serviceAccountTokenCreator",
  "roles/iam.serviceAccountOpenIdTokenCreator",
  "roles/iam.workloadIdentityUser",
]);

export const iamNoProjectLevelImpersonation: ResourceGuardrail = {
  name: "iam-no-project-level-impersonation",
  category: "identity",
  description:
    "roles/iam.serviceAccountUser, serviceAccountTokenCreator, serviceAccountOpenIdTokenCreator and " +
    "workloadIdentityUser are not granted on the project (or folder/organization).",
  rationale:
    "Granted on the project these roles let the grantee act as every service account in it, including the " +
    "gateway's runtime identity and the deployer: one compromised principal becomes all of them.",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps: steps(
    "Grant the role on the one service account that needs it, with gcp.serviceaccount.IAMMember",
    "(serviceAccountId = the account's name): e.g. the deployer gets roles/iam.serviceAccountUser on the runtime",
    "service account only, the WIF principalSet gets roles/iam.workloadIdentityUser on the CI service account only.",
  ),
  configSchema: { properties: {} },
  validateResource: validateResourceOfTypes(
    (t) => HIERARCHY_IAM_TYPES.has(t),
    "project, folder and organization IAM",
    (args, report) => {
      for (const g of grantsOf(args.type, args.props)) {
        if (isKnown(g.role) && IMPERSONATION_ROLES.has(g.role)) {
          report(
            `"${args.name}" grants ${g.role} to ${isKnown(g.member) ? g.member : "a principal"} on the whole ` +
              "project: it can impersonate every service account there.",
          );
        }
      }
    },
  ),
};

interface RuntimeRolesConfig {
  allowedRoles: string[];
  runtimeServiceAccounts: string[];
}

export const iamRuntimeRoleAllowlist: StackGuardrail = {
  name: "iam-runtime-role-allowlist",
  category: "identity",
  description:
    "The runtime service accounts (every Cloud Run service's template.serviceAccount, plus runtimeServiceAccounts) " +
    "hold only allow-listed roles on the project (allowedRoles). Secret access is granted per secret, not here.",
  rationale:
    "The gateway calls Gemini and writes logs, metrics and traces; anything more is blast radius if the gateway " +
    "(which processes untrusted prompts) is compromised.",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps: steps(
    "Remove the extra project-level grant. The gateway needs roles/aiplatform.user, roles/logging.logWriter,",
    "roles/monitoring.metricWriter and roles/cloudtrace.agent on the project, and",
    "roles/secretmanager.secretAccessor on each of its own secrets (gcp.secretmanager.SecretIamMember).",
    "If a new role is really needed, add it to allowedRoles in the policy config and say why in the PR.",
  ),
  configSchema: {
    properties: {
      allowedRoles: {
        type: "array",
        items: { type: "string" },
        default: [
          "roles/aiplatform.user",
          "roles/logging.logWriter",
          "roles/monitoring.metricWriter",
          "roles/cloudtrace.agent",
        ],
        description: "Project-level roles a runtime service account may hold.",
      },
      runtimeServiceAccounts: {
        type: "array",
        items: { type: "string" },
        default: [],
        description:
          "More runtime identities: e-mails, or account ids (the part before @). Cloud Run services' " +
          "template.serviceAccount values are always included when known.",
      },
    },
  },
  validateStack: (args, report) => {
    const config = configOf<RuntimeRolesConfig>(args, iamRuntimeRoleAllowlist.configSchema);
    const emails = new Set<string>();
    for (const r of args.resources) {
      if (r.type !== T.cloudRunService) continue;
      const sa = str(read(() => (r.props["template"] as { serviceAccount?: unknown } | undefined)?.serviceAccount));
      if (typeof sa === "string" && sa !== "") emails.add(sa.toLowerCase());
    }
    const ids = new Set<string>();
    for (const e of config.runtimeServiceAccounts) (e.includes("@") ? emails : ids).add(e.toLowerCase());
    const isRuntime = (email: string) => emails.has(email) || ids.has(email.split("@")[0] ?? "");
    for (const r of args.resources) {
      if (!HIERARCHY_IAM_TYPES.has(r.type)) continue;
      for (const g of grantsOf(r.type, r.props)) {
        if (!isKnown(g.member) || !isKnown(g.role)) continue;
        const email = serviceAccountEmail(g.member);
        if (email && isRuntime(email) && !config.allowedRoles.includes(g.role)) {
          report(
            `"${r.name}" grants ${g.role} to the runtime service account ${email}; allowed on the project: ` +
              `${config.allowedRoles.join(", ")}.`,
            r.urn,
          );
        }
      }
    }
  },
};

const GITHUB_ISSUER = "https://token.actions.githubusercontent.com";

export const iamWifAttributeCondition: ResourceGuardrail = {
  name: "iam-wif-attribute-condition",
  category: "identity",
  description:
    "Every Workload Identity pool provider has an attributeCondition; a GitHub Actions provider's condition pins the " +
    "repository and its owner by numeric id (assertion.repository_id, assertion.repository_owner_id), pins what may " +
    "run (a workflow file, assertion.job_workflow_ref, or a branch, assertion.ref), and has no `||` through which an " +
    "alternative could skip those pins.",
  rationale:
    "GitHub signs every job's token with one issuer: without a condition a workflow in any repository on GitHub could " +
    "deploy to this project. Names (assertion.repository, repository_owner) can be renamed and then registered by " +
    "someone else; the numeric ids are never reused. Without a workflow or branch pin any workflow of the repository " +
    "— including one a pull request adds or edits — gets the identity.",
  severity: "critical",
  enforcementLevel: "mandatory",
  remediationSteps: steps(
    "Set attributeCondition, e.g. `assertion.repository_id == '123' && assertion.repository_owner_id == '456' &&",
    "assertion.event_name == 'push' && assertion.ref == 'refs/heads/main' && assertion.job_workflow_ref ==",
    "'owner/repo/.github/workflows/deploy.yml@refs/heads/main'` (ids: `gh api repos/OWNER/REPO --jq .id`,",
    "`gh api users/OWNER --jq .id`). Give each alternative its own provider instead of `||`. infra/bootstrap/github.ts",
    "builds these conditions.",
  ),
  configSchema: { properties: {} },
  validateResource: validateResourceOfType(gcp.iam.WorkloadIdentityPoolProvider, (provider, args, report) => {
    const condition = str(read(() => provider.attributeCondition));
    if (!isKnown(condition)) return;
    if (condition === undefined || condition.trim() === "") {
      report(
        `Workload Identity provider "${args.name}" has no attributeCondition: any identity of the issuer can use it.`,
      );
      return;
    }
    const issuer = str(read(() => provider.oidc?.issuerUri));
    if (issuer !== GITHUB_ISSUER) return;
    const missing = [
      [/assertion\.repository_id\s*==/, "the repository id (assertion.repository_id)"],
      [/assertion\.repository_owner_id\s*==/, "the owner id (assertion.repository_owner_id)"],
      [
        /assertion\.job_workflow_ref|assertion\.ref\s*==/,
        "a workflow (assertion.job_workflow_ref) or branch (assertion.ref)",
      ],
    ]
      .filter(([pattern]) => !(pattern as RegExp).test(condition))
      .map(([, what]) => what as string);
    if (missing.length) {
      report(
        `Workload Identity provider "${args.name}" trusts GitHub Actions but its attributeCondition does not pin ` +
          `${missing.join(", ")}.`,
      );
    }
    if (condition.includes("||")) {
      report(
        `Workload Identity provider "${args.name}": its attributeCondition has \`||\`, so one alternative can skip the ` +
          "pins; give each alternative its own provider.",
      );
    }
  }),
};

/** A Google-managed service agent: service-<project number>@<agent domain>.iam.gserviceaccount.com. */
const SERVICE_AGENT = /^serviceAccount:service-\d+@[a-z0-9-]+\.iam\.gserviceaccount\.com$/;
const MONITORING_SERVICE = "monitoring.googleapis.com";

export const serviceAgentsBeforeGrants: StackGuardrail = {
  name: "service-agents-before-grants",
  category: "identity",
  description:
    "Every IAM grant to a Google service agent (service-<n>@…iam.gserviceaccount.com) waits for that agent's " +
    "gcp.projects.ServiceIdentity, and every uptime check that signs its requests with the Monitoring service agent " +
    "(httpCheck.serviceAgentAuthentication) waits — through its run.invoker grant — for a ServiceIdentity of " +
    "monitoring.googleapis.com. Read from the resources' dependencies.",
  rationale:
    "Service agents are created lazily, on an API's first use; on a fresh project a grant to one that does not " +
    "exist yet is refused with a 400 and the first `pulumi up` fails half-way. cloud-foundation-fabric creates each " +
    "agent (google_project_service_identity) before granting it anything.",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps: steps(
    'Declare gcp.projects.ServiceIdentity("monitoring-agent", { project, service: "monitoring.googleapis.com" }) and',
    "grant its `member` output (not a member built from the project number), so the grant depends on it; do the same",
    "for Vertex AI (aiplatform.googleapis.com) and Pub/Sub (pubsub.googleapis.com) agents. Let the uptime check",
    "dependOn the invoker grants.",
  ),
  configSchema: { properties: {} },
  validateStack: (args, report) => {
    const identityOf = (r: PolicyResource) =>
      r.type === T.serviceIdentity ? str(path(r.props, "service")) : undefined;
    for (const r of args.resources) {
      if (isIamType(r.type)) {
        const agents = grantsOf(r.type, r.props).filter((g) => isKnown(g.member) && SERVICE_AGENT.test(g.member));
        if (agents.length && !transitiveDependencies(r).some((d) => d.type === T.serviceIdentity)) {
          report(
            `"${r.name}" grants ${String(agents[0]!.role)} to the service agent ${String(agents[0]!.member)} without ` +
              "waiting for its gcp.projects.ServiceIdentity: on a fresh project the agent may not exist yet.",
            r.urn,
          );
        }
      }
      if (r.type === T.uptimeCheck) {
        const auth = path(r.props, "httpCheck.serviceAgentAuthentication");
        if (auth === undefined || auth === null || auth === UNKNOWN) continue;
        if (!transitiveDependencies(r).some((d) => identityOf(d) === MONITORING_SERVICE)) {
          report(
            `Uptime check "${r.name}" signs its requests as the Monitoring service agent, but neither it nor its ` +
              `run.invoker grant waits for a ServiceIdentity of ${MONITORING_SERVICE}: the grant fails with a 400 on ` +
              "a fresh project.",
            r.urn,
          );
        }
      }
    }
  },
};

export const identityRules: Guardrail[] = [
  iamNoPublicPrincipals,
  iamNoServiceAccountKeys,
  iamNoPrimitiveOrAdminRoles,
  iamNoProjectLevelImpersonation,
  iamRuntimeRoleAllowlist,
  iamWifAttributeCondition,
  serviceAgentsBeforeGrants,
];
