import { T } from "../../../policies/lib/types.js";
import { remove, resource, set, setEnv, UNKNOWN_VALUE, unset, type RuleCases } from "../fixtures.js";

export const projectCases: RuleCases[] = [
  {
    rule: "project-no-auto-create-network",
    compliant: [{ title: "autoCreateNetwork false" }],
    violating: [
      {
        title: "autoCreateNetwork unset (true)",
        mutate: (rs) => unset(resource(rs, "project"), "autoCreateNetwork"),
        message: /unset/,
        resource: "project",
      },
    ],
  },
  {
    rule: "prod-deletion-protection",
    compliant: [
      { title: "prod protected" },
      { title: "dev unprotected", env: "dev" },
      {
        title: "prod with the provider defaults (project PREVENT, Cloud Run protected)",
        mutate: (rs) => {
          unset(resource(rs, "project"), "deletionPolicy");
          unset(resource(rs, "gateway"), "deletionProtection");
        },
      },
    ],
    violating: [
      {
        title: "prod project deletable",
        mutate: (rs) => set(resource(rs, "project"), "deletionPolicy", "DELETE"),
        resource: "project",
      },
      {
        title: "prod Cloud Run service unprotected",
        mutate: (rs) => set(resource(rs, "gateway"), "deletionProtection", false),
        resource: "gateway",
      },
      {
        title: "prod secret without deletionProtection",
        mutate: (rs) => unset(resource(rs, "secret-tenants"), "deletionProtection"),
        resource: "secret-tenants",
      },
    ],
  },
  {
    rule: "required-labels",
    compliant: [
      { title: "labels from the provider's defaultLabels" },
      {
        title: "labels set on the resource, provider without defaults",
        mutate: (rs) => {
          unset(resource(rs, "gcp"), "defaultLabels");
          for (const r of rs) {
            set(r, "labels", { env: "prod", app: "gemini-gateway", owner: "platform", "cost-center": "cc-1" });
          }
        },
      },
      {
        title: "labels not known yet",
        mutate: (rs) => {
          unset(resource(rs, "gcp"), "defaultLabels");
          for (const r of rs) set(r, "labels", UNKNOWN_VALUE);
        },
      },
    ],
    violating: [
      {
        title: "no provider defaults and no labels",
        mutate: (rs) => unset(resource(rs, "gcp"), "defaultLabels"),
        message: /lacks the labels env, app, owner, cost-center/,
        resource: "gateway",
      },
      {
        title: "an empty owner",
        mutate: (rs) => set(resource(rs, "redis"), "labels", { owner: "" }),
        message: /lacks the labels owner/,
        resource: "redis",
      },
      {
        title: "a resource on another (explicit) provider without defaults",
        mutate: (rs) => {
          rs.push({ type: T.gcpProvider, name: "gcp-east", inputs: { region: "us-east4" } });
          rs.push({ type: T.pubsubTopic, name: "east-topic", inputs: { name: "east" }, provider: "gcp-east" });
        },
        resource: "east-topic",
      },
    ],
  },
  {
    rule: "allowed-locations",
    compliant: [
      { title: "us-central1, us-east4 replicas, zones in us-central1" },
      {
        title: "multi-region us and the global Vertex endpoint",
        mutate: (rs) => {
          set(resource(rs, "registry"), "location", "us");
          setEnv(rs, "GOOGLE_CLOUD_LOCATION", "global");
        },
      },
      {
        title: "a configured region",
        config: { allowedRegions: ["asia-northeast1"] },
        resources: () => [
          { type: T.cloudRunService, name: "tokyo", inputs: { location: "asia-northeast1", template: {} } },
        ],
      },
    ],
    violating: [
      {
        title: "a Cloud Run service in asia-east1",
        mutate: (rs) => set(resource(rs, "gateway"), "location", "asia-east1"),
        message: /asia-east1/,
        resource: "gateway",
      },
      {
        title: "a Redis zone outside the allowed regions",
        mutate: (rs) => set(resource(rs, "redis"), "alternativeLocationId", "asia-east1-b"),
        message: /alternativeLocationId/,
      },
      {
        title: "a secret replica outside the allowed regions",
        mutate: (rs) =>
          set(resource(rs, "secret-tenants"), "replication", {
            userManaged: { replicas: [{ location: "us-central1" }, { location: "australia-southeast1" }] },
          }),
        message: /replicas\[1\]/,
        resource: "secret-tenants",
      },
      {
        title: "a Model Armor template outside the allowed regions",
        mutate: (rs) => set(resource(rs, "prompt-template"), "location", "asia-south1"),
        resource: "prompt-template",
      },
      {
        title: "Vertex global when global is not allowed",
        config: { allowGlobal: false },
        mutate: (rs) => setEnv(rs, "GOOGLE_CLOUD_LOCATION", "global"),
        message: /GOOGLE_CLOUD_LOCATION/,
      },
      {
        title: "the provider's default region",
        mutate: (rs) => set(resource(rs, "gcp"), "region", "southamerica-east1"),
        resource: "gcp",
      },
    ],
  },
  {
    rule: "project-org-policies",
    compliant: [
      { title: "prod: the five constraints, run.allowedIngress included" },
      { env: "dev", title: "dev: no run.allowedIngress (ingress ALL behind IAM)" },
      {
        title: "a multi-region value group that is allowed",
        mutate: (rs) =>
          set(resource(rs, "org-policy-gcp.resourceLocations"), "spec", {
            rules: [{ values: { allowedValues: ["in:us-locations"] } }],
          }),
      },
    ],
    violating: [
      {
        title: "no key-creation constraint",
        mutate: (rs) => remove(rs, "org-policy-iam.disableServiceAccountKeyCreation"),
        message: /no organization policy iam\.disableServiceAccountKeyCreation/,
        resource: "project",
      },
      {
        title: "the default network not skipped (not enforced)",
        mutate: (rs) =>
          set(resource(rs, "org-policy-compute.skipDefaultNetworkCreation"), "spec", { rules: [{ enforce: "FALSE" }] }),
        message: /is not enforced/,
        resource: "org-policy-compute.skipDefaultNetworkCreation",
      },
      {
        env: "dev",
        title: "dev without public access prevention (it holds in every environment)",
        mutate: (rs) => remove(rs, "org-policy-storage.publicAccessPrevention"),
        message: /no organization policy storage\.publicAccessPrevention/,
        resource: "project",
      },
      {
        title: "public access prevention not enforced",
        mutate: (rs) =>
          set(resource(rs, "org-policy-storage.publicAccessPrevention"), "spec", { rules: [{ enforce: "FALSE" }] }),
        message: /is not enforced/,
        resource: "org-policy-storage.publicAccessPrevention",
      },
      {
        title: "locations outside allowedRegions",
        mutate: (rs) =>
          set(resource(rs, "org-policy-gcp.resourceLocations"), "spec", {
            rules: [{ values: { allowedValues: ["in:asia-east1-locations"] } }],
          }),
        message: /asia-east1-locations, outside allowedRegions/,
      },
      {
        title: "prod without the ingress constraint",
        mutate: (rs) => remove(rs, "org-policy-run.allowedIngress"),
        message: /no organization policy run\.allowedIngress/,
      },
      {
        title: "prod ingress allowing all",
        mutate: (rs) =>
          set(resource(rs, "org-policy-run.allowedIngress"), "spec", {
            rules: [{ values: { allowedValues: ["is:all"] } }],
          }),
        message: /allows is:all/,
      },
    ],
  },
  {
    rule: "project-default-service-accounts-stripped",
    compliant: [
      { title: "the default accounts disabled" },
      {
        title: "deprivileged instead",
        mutate: (rs) => set(resource(rs, "default-service-accounts"), "action", "DEPRIVILEGE"),
      },
    ],
    violating: [
      {
        title: "left as Google creates them (Editor on the project)",
        mutate: (rs) => remove(rs, "default-service-accounts"),
        message: /leaves its default service accounts/,
        resource: "project",
      },
      {
        title: "a resource for another project",
        mutate: (rs) => set(resource(rs, "default-service-accounts"), "project", "another-project"),
        resource: "project",
      },
    ],
  },
  {
    rule: "provider-quota-project-scoped",
    compliant: [
      { title: "one provider, no quota project" },
      {
        title: "a quota provider used by the project and the budget only",
        mutate: (rs) => {
          rs.push({
            type: T.gcpProvider,
            name: "gcp-quota",
            inputs: { project: "gw-prod-1234", billingProject: "seed-project", userProjectOverride: "true" },
          });
          resource(rs, "project").provider = "gcp-quota";
          resource(rs, "budget").provider = "gcp-quota";
        },
      },
    ],
    violating: [
      {
        title: "billingProject on the provider every resource uses",
        mutate: (rs) => {
          set(resource(rs, "gcp"), "billingProject", "seed-project");
          set(resource(rs, "gcp"), "userProjectOverride", "true");
        },
        message: /Provider "gcp" bills calls to a quota project/,
        resource: null,
      },
    ],
  },
];
