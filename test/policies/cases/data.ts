import { resource, set, UNKNOWN_VALUE, unset, type RuleCases } from "../fixtures.js";

export const dataCases: RuleCases[] = [
  {
    rule: "redis-auth-and-tls",
    compliant: [
      { title: "AUTH and TLS on" },
      {
        title: "values not known yet",
        mutate: (rs) => set(resource(rs, "redis"), "authEnabled", "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7"),
      },
    ],
    violating: [
      { title: "no AUTH", mutate: (rs) => unset(resource(rs, "redis"), "authEnabled"), message: /AUTH disabled/ },
      {
        title: "no TLS",
        mutate: (rs) => set(resource(rs, "redis"), "transitEncryptionMode", "DISABLED"),
        message: /not encrypted/,
        resource: "redis",
      },
    ],
  },
  {
    rule: "redis-private-service-access",
    compliant: [
      { title: "private services access on the gateway VPC" },
      {
        title: "network id not known yet",
        mutate: (rs) => set(resource(rs, "redis"), "authorizedNetwork", UNKNOWN_VALUE),
      },
    ],
    violating: [
      {
        title: "direct peering",
        mutate: (rs) => set(resource(rs, "redis"), "connectMode", "DIRECT_PEERING"),
        message: /DIRECT_PEERING/,
      },
      {
        title: "no authorized network",
        mutate: (rs) => unset(resource(rs, "redis"), "authorizedNetwork"),
        message: /default network/,
      },
      {
        title: "the default network",
        mutate: (rs) => set(resource(rs, "redis"), "authorizedNetwork", "projects/p/global/networks/default"),
        message: /default network/,
      },
    ],
  },
  {
    rule: "redis-ha-in-prod",
    compliant: [{ title: "prod STANDARD_HA" }, { title: "dev BASIC", env: "dev" }],
    violating: [
      { title: "prod BASIC", mutate: (rs) => set(resource(rs, "redis"), "tier", "BASIC"), resource: "redis" },
      { title: "prod tier unset", mutate: (rs) => unset(resource(rs, "redis"), "tier"), message: /unset \(BASIC\)/ },
    ],
  },
  {
    rule: "artifact-registry-cleanup-policies",
    compliant: [{ title: "keep 20, delete untagged" }],
    violating: [
      {
        title: "no cleanup policies",
        mutate: (rs) => unset(resource(rs, "registry"), "cleanupPolicies"),
        resource: "registry",
      },
      {
        title: "dry run only",
        mutate: (rs) => set(resource(rs, "registry"), "cleanupPolicyDryRun", true),
        message: /dry/i,
      },
    ],
  },
  {
    rule: "secret-user-managed-replication",
    compliant: [{ title: "user-managed replicas" }],
    violating: [
      {
        title: "automatic replication",
        mutate: (rs) => set(resource(rs, "secret-tenants"), "replication", { auto: {} }),
        message: /automatic replication/,
        resource: "secret-tenants",
      },
      {
        title: "user-managed without replicas",
        mutate: (rs) => set(resource(rs, "secret-tenants"), "replication", { userManaged: { replicas: [] } }),
      },
    ],
  },
  {
    rule: "secret-versions-retained",
    compliant: [
      { title: "DISABLE: a replaced version is disabled, not destroyed" },
      { title: "ABANDON", mutate: (rs) => set(resource(rs, "tenants-v1"), "deletionPolicy", "ABANDON") },
      { title: "not known yet", mutate: (rs) => set(resource(rs, "tenants-v1"), "deletionPolicy", UNKNOWN_VALUE) },
    ],
    violating: [
      {
        title: "unset (the provider's default DELETE)",
        mutate: (rs) => unset(resource(rs, "tenants-v1"), "deletionPolicy"),
        message: /unset \(DELETE\)/,
        resource: "tenants-v1",
      },
      { title: "DELETE", mutate: (rs) => set(resource(rs, "tenants-v1"), "deletionPolicy", "DELETE") },
    ],
  },
];
