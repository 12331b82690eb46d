import { T } from "../../../policies/lib/types.js";
import { PROJECT_ID, resource, RUNTIME_SA, set, UNKNOWN_VALUE, unset, type RuleCases } from "../fixtures.js";

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
    ],
    violating: [
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
      { title: "the reference provider pins the repository" },
      {
        title: "a condition not known yet",
        mutate: (rs) => set(resource(rs, "github-provider"), "attributeCondition", UNKNOWN_VALUE),
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
        title: "a GitHub condition that does not pin a repository",
        mutate: (rs) =>
          set(resource(rs, "github-provider"), "attributeCondition", 'assertion.ref == "refs/heads/main"'),
        message: /does not pin a repository/,
      },
    ],
  },
];
