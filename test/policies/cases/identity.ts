import { T } from "../../../policies/lib/types.js";
import {
  PINNED_CONDITION,
  PROJECT_ID,
  remove,
  resource,
  RUNTIME_SA,
  set,
  UNKNOWN_VALUE,
  unset,
  type RuleCases,
} from "../fixtures.js";

const folderMember = (name: string, role: string, condition?: string) => ({
  type: "gcp:folder/iAMMember:IAMMember",
  name,
  inputs: {
    folder: "folders/1234567",
    role,
    member: `serviceAccount:deployer@seed.iam.gserviceaccount.com`,
    ...(condition ? { condition: { title: "limit", expression: condition } } : {}),
  },
});
const DELEGATED = "api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly(['roles/aiplatform.user'])";

const projectMember = (name: string, role: string, member: string) => ({
  type: T.projectIamMember,
  name,
  inputs: { project: PROJECT_ID, role, member },
});

export const identityCases: RuleCases[] = [
  {
    rule: "iam-no-public-principals",
    compliant: [
      { title: "the reference stack (invoker granted to the push service account only)" },
      {
        title: "a member whose value is not known yet",
        mutate: (rs) => set(resource(rs, "push-invokes-gateway"), "member", UNKNOWN_VALUE),
      },
    ],
    violating: [
      {
        title: "allUsers as Cloud Run invoker",
        mutate: (rs) => set(resource(rs, "push-invokes-gateway"), "member", "allUsers"),
        message: /allUsers/,
        resource: "push-invokes-gateway",
      },
      {
        title: "allAuthenticatedUsers in a secret IAM binding",
        mutate: (rs) =>
          rs.push({
            type: "gcp:secretmanager/secretIamBinding:SecretIamBinding",
            name: "tenants-readers",
            inputs: {
              secretId: "tenants",
              role: "roles/secretmanager.secretAccessor",
              members: ["allAuthenticatedUsers"],
            },
          }),
        resource: "tenants-readers",
      },
      {
        title: "allUsers reading the Artifact Registry repository through an IAM policy document",
        mutate: (rs) =>
          rs.push({
            type: "gcp:artifactregistry/repositoryIamPolicy:RepositoryIamPolicy",
            name: "registry-policy",
            inputs: {
              repository: "gateway",
              policyData: JSON.stringify({
                bindings: [{ role: "roles/artifactregistry.reader", members: ["allUsers"] }],
              }),
            },
          }),
        resource: "registry-policy",
      },
    ],
  },
  {
    rule: "iam-no-service-account-keys",
    compliant: [{ title: "the reference stack has no key" }],
    violating: [
      {
        title: "a user-managed key",
        mutate: (rs) =>
          rs.push({ type: T.serviceAccountKey, name: "ci-key", inputs: { serviceAccountId: RUNTIME_SA } }),
        resource: "ci-key",
      },
    ],
  },
  {
    rule: "iam-no-primitive-or-admin-roles",
    compliant: [
      { title: "the reference stack" },
      {
        title: "an admin role on a single resource is not project IAM",
        mutate: (rs) =>
          rs.push({
            type: "gcp:secretmanager/secretIamMember:SecretIamMember",
            name: "secret-admin",
            inputs: { secretId: "tenants", role: "roles/secretmanager.admin", member: "group:sec@example.com" },
          }),
      },
      {
        title: "an admin role on the allow-list",
        config: { "iam-no-primitive-or-admin-roles": { allowedRoles: ["roles/run.admin"] } },
        mutate: (rs) =>
          rs.push(
            projectMember("deployer-run", "roles/run.admin", "serviceAccount:deployer@x.iam.gserviceaccount.com"),
          ),
      },
      {
        title: "an allowed IAM admin limited to the roles it may grant (delegated role grants)",
        config: { "iam-no-primitive-or-admin-roles": { allowedRoles: ["roles/resourcemanager.projectIamAdmin"] } },
        mutate: (rs) => rs.push(folderMember("deployer-iam", "roles/resourcemanager.projectIamAdmin", DELEGATED)),
      },
      {
        title: "the organisation-only org-policy admin limited by a tag condition",
        config: { "iam-no-primitive-or-admin-roles": { allowedRoles: ["roles/orgpolicy.policyAdmin"] } },
        mutate: (rs) =>
          rs.push({
            ...folderMember("deployer-orgpolicy", "roles/orgpolicy.policyAdmin", "resource.matchTag('1/env', 'dev')"),
            type: "gcp:organizations/iAMMember:IAMMember",
          }),
      },
    ],
    violating: [
      {
        title: "an allowed IAM admin without a condition: it could grant itself anything",
        config: { "iam-no-primitive-or-admin-roles": { allowedRoles: ["roles/resourcemanager.projectIamAdmin"] } },
        mutate: (rs) => rs.push(folderMember("deployer-iam", "roles/resourcemanager.projectIamAdmin")),
        message: /without an IAM condition/,
        resource: "deployer-iam",
      },
      {
        title: "an allowed IAM admin whose condition does not limit the roles it grants",
        config: { "iam-no-primitive-or-admin-roles": { allowedRoles: ["roles/resourcemanager.projectIamAdmin"] } },
        mutate: (rs) =>
          rs.push(
            folderMember(
              "deployer-iam",
              "roles/resourcemanager.projectIamAdmin",
              "request.time < timestamp('2030-01-01T00:00:00Z')",
            ),
          ),
        message: /modifiedGrantsByRole/,
      },
      {
        title: "roles/owner on a folder",
        mutate: (rs) => rs.push(folderMember("deployer-owner", "roles/owner")),
        message: /primitive role roles\/owner/,
        resource: "deployer-owner",
      },
      {
        title: "roles/editor on the project",
        mutate: (rs) => rs.push(projectMember("editor", "roles/editor", "user:dev@example.com")),
        message: /primitive role roles\/editor/,
        resource: "editor",
      },
      {
        title: "roles/owner in a project IAM binding",
        mutate: (rs) =>
          rs.push({
            type: T.projectIamBinding,
            name: "owners",
            inputs: { project: PROJECT_ID, role: "roles/owner", members: ["group:admins@example.com"] },
          }),
        resource: "owners",
      },
      {
        title: "an *Admin role on the project",
        mutate: (rs) => rs.push(projectMember("sec-admin", "roles/iam.securityAdmin", "user:dev@example.com")),
        message: /admin role/,
      },
    ],
  },
  {
    rule: "iam-no-project-level-impersonation",
    compliant: [{ title: "the reference stack grants serviceAccountUser on the runtime account only" }],
    violating: [
      {
        title: "serviceAccountUser on the project",
        mutate: (rs) =>
          rs.push(
            projectMember(
              "deployer-sa-user",
              "roles/iam.serviceAccountUser",
              "serviceAccount:deployer@x.iam.gserviceaccount.com",
            ),
          ),
        resource: "deployer-sa-user",
      },
      {
        title: "serviceAccountTokenCreator on the project",
        mutate: (rs) =>
          rs.push(projectMember("token-creator", "roles/iam.serviceAccountTokenCreator", "user:dev@example.com")),
      },
    ],
  },
  {
    rule: "iam-runtime-role-allowlist",
    compliant: [
      { title: "the reference stack (the four allowed roles)" },
      {
        title: "an extra role that is allow-listed in config",
        config: {
          "iam-runtime-role-allowlist": {
            allowedRoles: [
              "roles/aiplatform.user",
              "roles/logging.logWriter",
              "roles/monitoring.metricWriter",
              "roles/cloudtrace.agent",
              "roles/modelarmor.user",
            ],
          },
        },
        mutate: (rs) =>
          rs.push(projectMember("runtime-armor", "roles/modelarmor.user", `serviceAccount:${RUNTIME_SA}`)),
      },
      {
        title: "the runtime account is not known yet (an output): nothing to link",
        mutate: (rs) => {
          set(resource(rs, "gateway"), "template.serviceAccount", UNKNOWN_VALUE);
          rs.push(
            projectMember("runtime-secrets", "roles/secretmanager.secretAccessor", `serviceAccount:${RUNTIME_SA}`),
          );
        },
      },
    ],
    violating: [
      {
        title: "secretAccessor on the whole project for the runtime account",
        mutate: (rs) =>
          rs.push(
            projectMember("runtime-secrets", "roles/secretmanager.secretAccessor", `serviceAccount:${RUNTIME_SA}`),
          ),
        message: /secretmanager\.secretAccessor/,
        resource: "runtime-secrets",
      },
      {
        title: "an extra role for an account named in runtimeServiceAccounts",
        config: { runtimeServiceAccounts: ["worker"] },
        mutate: (rs) =>
          rs.push(
            projectMember(
              "worker-storage",
              "roles/storage.objectViewer",
              `serviceAccount:worker@${PROJECT_ID}.iam.gserviceaccount.com`,
            ),
          ),
        resource: "worker-storage",
      },
    ],
  },
  {
    rule: "iam-wif-attribute-condition",
    compliant: [
      { title: "the reference provider pins repository and owner ids and the deploy workflow on main" },
      {
        title: "a condition not known yet",
        mutate: (rs) => set(resource(rs, "github-provider"), "attributeCondition", UNKNOWN_VALUE),
      },
      {
        title: "pull requests of one workflow file (job_workflow_ref prefix)",
        mutate: (rs) =>
          set(
            resource(rs, "github-provider"),
            "attributeCondition",
            "assertion.repository_id == '1' && assertion.repository_owner_id == '2' && " +
              "assertion.job_workflow_ref.startsWith('acme/gw/.github/workflows/pull-request.yml@refs/pull/')",
          ),
      },
    ],
    violating: [
      {
        title: "no attributeCondition",
        mutate: (rs) => unset(resource(rs, "github-provider"), "attributeCondition"),
        message: /no attributeCondition/,
        resource: "github-provider",
      },
      {
        title: "the repository pinned by name only (renamable, re-registrable)",
        mutate: (rs) =>
          set(resource(rs, "github-provider"), "attributeCondition", "assertion.repository == 'acme/gemini-gateway'"),
        message: /does not pin the repository id \(assertion\.repository_id\), the owner id/,
        resource: "github-provider",
      },
      {
        title: "any workflow of the repository (no job_workflow_ref or ref)",
        mutate: (rs) =>
          set(
            resource(rs, "github-provider"),
            "attributeCondition",
            "assertion.repository_id == '1' && assertion.repository_owner_id == '2'",
          ),
        message: /a workflow \(assertion\.job_workflow_ref\) or branch/,
      },
      {
        title: "a condition widened with ||",
        mutate: (rs) => set(resource(rs, "github-provider"), "attributeCondition", `${PINNED_CONDITION} || true`),
        message: /\|\|/,
      },
    ],
  },
  {
    rule: "service-agents-before-grants",
    compliant: [
      { title: "the uptime check's invoker grant waits for the Monitoring agent's ServiceIdentity" },
      {
        title: "a grant to a named agent that waits for its ServiceIdentity",
        mutate: (rs) =>
          rs.push(
            {
              type: T.projectIamMember,
              name: "vertex-armor",
              inputs: {
                project: PROJECT_ID,
                role: "roles/modelarmor.user",
                member: "serviceAccount:service-123@gcp-sa-aiplatform.iam.gserviceaccount.com",
              },
              dependencies: ["vertex-agent"],
            },
            { type: T.serviceIdentity, name: "vertex-agent", inputs: { service: "aiplatform.googleapis.com" } },
          ),
      },
      {
        title: "an uptime check without service-agent authentication",
        mutate: (rs) => {
          unset(resource(rs, "uptime"), "httpCheck.serviceAgentAuthentication");
          resource(rs, "uptime").dependencies = [];
        },
      },
    ],
    violating: [
      {
        title: "the Monitoring agent's grant built from the project number: nothing creates the agent first",
        mutate: (rs) => {
          remove(rs, "monitoring-agent");
          resource(rs, "uptime-invoker").dependencies = ["project"];
        },
        message: /ServiceIdentity of monitoring\.googleapis\.com/,
        resource: "uptime",
      },
      {
        title: "a grant to a named service agent that nothing creates first",
        mutate: (rs) =>
          rs.push({
            type: T.projectIamMember,
            name: "vertex-armor",
            inputs: {
              project: PROJECT_ID,
              role: "roles/modelarmor.user",
              member: "serviceAccount:service-123@gcp-sa-aiplatform.iam.gserviceaccount.com",
            },
          }),
        message: /without waiting for its gcp\.projects\.ServiceIdentity/,
        resource: "vertex-armor",
      },
    ],
  },
];
