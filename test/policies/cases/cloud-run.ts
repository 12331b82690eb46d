import { T } from "../../../policies/lib/types.js";
import { gatewayEnvs, PROJECT_ID, resource, set, setEnv, UNKNOWN_VALUE, unset, type RuleCases } from "../fixtures.js";

export const cloudRunCases: RuleCases[] = [
  {
    rule: "cloud-run-v2-only",
    compliant: [{ title: "the reference stack uses cloudrunv2" }],
    violating: [
      {
        title: "a v1 service",
        mutate: (rs) =>
          rs.push({
            type: T.cloudRunV1Service,
            name: "legacy",
            inputs: { location: "us-central1", template: { spec: { containers: [{ image: "gcr.io/x/y" }] } } },
          }),
        resource: "legacy",
      },
    ],
  },
  {
    rule: "cloud-run-ingress-internal-in-prod",
    compliant: [
      { title: "prod behind the load balancer" },
      { title: "dev may take all traffic", env: "dev" },
      {
        title: "prod, ingress not known yet",
        mutate: (rs) => set(resource(rs, "gateway"), "ingress", UNKNOWN_VALUE),
      },
    ],
    violating: [
      {
        title: "prod with ingress ALL",
        mutate: (rs) => set(resource(rs, "gateway"), "ingress", "INGRESS_TRAFFIC_ALL"),
        resource: "gateway",
      },
      {
        title: "prod with ingress unset (defaults to ALL)",
        mutate: (rs) => unset(resource(rs, "gateway"), "ingress"),
        message: /unset/,
      },
      {
        title: "the environment taken from the env label when config does not say",
        env: "dev",
        config: { environment: "" },
        mutate: (rs) => {
          set(resource(rs, "gateway"), "labels", { env: "prod" });
        },
      },
    ],
  },
  {
    rule: "cloud-run-invoker-iam-enabled",
    compliant: [
      { title: "the reference stack" },
      { title: "explicitly false", mutate: (rs) => set(resource(rs, "gateway"), "invokerIamDisabled", false) },
      {
        title: "the reviewed exception: disabled behind the load balancer only",
        config: { "cloud-run-invoker-iam-enabled": { allowBehindLoadBalancer: true } },
        mutate: (rs) => set(resource(rs, "gateway"), "invokerIamDisabled", true),
      },
    ],
    violating: [
      {
        title: "invokerIamDisabled: true",
        mutate: (rs) => set(resource(rs, "gateway"), "invokerIamDisabled", true),
        resource: "gateway",
      },
      {
        title: "the exception does not cover a service reachable directly",
        env: "dev",
        config: { allowBehindLoadBalancer: true },
        mutate: (rs) => set(resource(rs, "gateway"), "invokerIamDisabled", true),
        message: /INGRESS_TRAFFIC_ALL/,
      },
    ],
  },
  {
    rule: "cloud-run-dedicated-service-account",
    compliant: [
      { title: "the reference stack" },
      {
        title: "an account email not known yet",
        mutate: (rs) => set(resource(rs, "gateway"), "template.serviceAccount", UNKNOWN_VALUE),
      },
    ],
    violating: [
      {
        title: "no template.serviceAccount (default compute account)",
        mutate: (rs) => unset(resource(rs, "gateway"), "template.serviceAccount"),
        message: /default compute/,
      },
      {
        title: "the default compute account named explicitly",
        mutate: (rs) =>
          set(resource(rs, "gateway"), "template.serviceAccount", "123456789-compute@developer.gserviceaccount.com"),
      },
    ],
  },
  {
    rule: "cloud-run-scaling-bounds",
    compliant: [
      { title: "prod: max, concurrency and min 1" },
      { title: "dev may scale to zero", env: "dev" },
      {
        title: "max instances on the service-level scaling block",
        mutate: (rs) => {
          const gw = resource(rs, "gateway");
          unset(gw, "template.scaling.maxInstanceCount");
          set(gw, "scaling", { maxInstanceCount: 10 });
        },
      },
      {
        title: "min instances not known yet",
        mutate: (rs) => set(resource(rs, "gateway"), "template.scaling.minInstanceCount", UNKNOWN_VALUE),
      },
    ],
    violating: [
      {
        title: "no max instances",
        mutate: (rs) => unset(resource(rs, "gateway"), "template.scaling.maxInstanceCount"),
        message: /no maxInstanceCount/,
      },
      {
        title: "no concurrency",
        mutate: (rs) => unset(resource(rs, "gateway"), "template.maxInstanceRequestConcurrency"),
        message: /maxInstanceRequestConcurrency/,
      },
      {
        title: "prod scaling to zero",
        mutate: (rs) => set(resource(rs, "gateway"), "template.scaling.minInstanceCount", 0),
        message: /minInstanceCount 0 in prod/,
      },
    ],
  },
  {
    rule: "cloud-run-cpu-idle-explicit",
    compliant: [
      { title: "cpuIdle false" },
      {
        title: "cpuIdle true",
        mutate: (rs) => set(resource(rs, "gateway"), "template.containers.0.resources.cpuIdle", true),
      },
    ],
    violating: [
      {
        title: "resources without cpuIdle",
        mutate: (rs) => unset(resource(rs, "gateway"), "template.containers.0.resources.cpuIdle"),
        resource: "gateway",
      },
    ],
  },
  {
    rule: "cloud-run-health-probes",
    compliant: [{ title: "startup and liveness probes on the serving container (the sidecar has none)" }],
    violating: [
      {
        title: "no liveness probe",
        mutate: (rs) => unset(resource(rs, "gateway"), "template.containers.0.livenessProbe"),
        message: /livenessProbe/,
      },
      {
        title: "no probes at all",
        mutate: (rs) => {
          unset(resource(rs, "gateway"), "template.containers.0.livenessProbe");
          unset(resource(rs, "gateway"), "template.containers.0.startupProbe");
        },
        message: /startupProbe and livenessProbe/,
      },
    ],
  },
  {
    rule: "cloud-run-direct-vpc-egress",
    compliant: [
      { title: "Direct VPC egress, private ranges only" },
      {
        title: "no VPC access and no Redis",
        mutate: (rs) => {
          unset(resource(rs, "gateway"), "template.vpcAccess");
          const envs = gatewayEnvs(rs);
          envs.splice(
            envs.findIndex((e) => e.name === "REDIS_URL"),
            1,
          );
        },
      },
    ],
    violating: [
      {
        title: "egress ALL_TRAFFIC",
        mutate: (rs) => set(resource(rs, "gateway"), "template.vpcAccess.egress", "ALL_TRAFFIC"),
        message: /ALL_TRAFFIC/,
      },
      {
        title: "a Serverless VPC Access connector",
        mutate: (rs) =>
          set(resource(rs, "gateway"), "template.vpcAccess", {
            connector: "projects/p/locations/us-central1/connectors/c",
            egress: "PRIVATE_RANGES_ONLY",
          }),
        message: /connector/,
      },
      {
        title: "REDIS_URL without VPC access",
        mutate: (rs) => unset(resource(rs, "gateway"), "template.vpcAccess"),
        message: /Redis is unreachable/,
      },
    ],
  },
  {
    rule: "cloud-run-no-plaintext-secrets",
    compliant: [
      { title: "secrets from Secret Manager; a hash and a *_TOKENS count are not secrets" },
      {
        title: "an exempt name",
        config: { allowedNames: ["GATEWAY_ADMIN_KEY_SHA256", "PUBLIC_KEY_ID"] },
        mutate: (rs) => setEnv(rs, "PUBLIC_KEY_ID", "key-1"),
      },
      {
        title: "GATEWAY_KEYS_SECRET names a secret (exempt by default): the gateway reads its versions itself",
        mutate: (rs) => setEnv(rs, "GATEWAY_KEYS_SECRET", "projects/p/secrets/gateway-keys"),
      },
    ],
    violating: [
      {
        title: "API_KEY with a literal value",
        mutate: (rs) => setEnv(rs, "API_KEY", "AIzaSyD-not-a-real-key"),
        message: /API_KEY/,
        resource: "gateway",
      },
      {
        title: "a secret-named variable computed from an output (still a plain env var)",
        mutate: (rs) => setEnv(rs, "REDIS_PASSWORD", UNKNOWN_VALUE),
        message: /REDIS_PASSWORD/,
      },
      {
        title: "GATEWAY_KEYS_SECRET with a literal value once it is no longer exempt",
        config: { allowedNames: ["GATEWAY_ADMIN_KEY_SHA256"] },
        mutate: (rs) => setEnv(rs, "GATEWAY_KEYS_SECRET", "projects/p/secrets/gateway-keys"),
        message: /GATEWAY_KEYS_SECRET/,
      },
      {
        title: "REDIS_URL with the AUTH string inline",
        mutate: (rs) => setEnv(rs, "REDIS_URL", "rediss://:3f1c0e52-5a4b-4a8e-9d55-0c1f4b0b9e77@10.0.0.3:6378"),
        message: /URL with a password/,
      },
    ],
  },
  {
    rule: "cloud-run-image-from-own-registry",
    compliant: [
      { title: "the stack's own repository; Google's collector sidecar is exempt" },
      {
        title: "an image not known yet",
        mutate: (rs) => set(resource(rs, "gateway"), "template.containers.0.image", UNKNOWN_VALUE),
      },
    ],
    violating: [
      {
        title: "an image from Docker Hub",
        mutate: (rs) => set(resource(rs, "gateway"), "template.containers.0.image", "docker.io/library/nginx:latest"),
        message: /not from Artifact Registry/,
        resource: "gateway",
      },
      {
        title: "the dev project's registry in prod",
        mutate: (rs) =>
          set(
            resource(rs, "gateway"),
            "template.containers.0.image",
            "us-central1-docker.pkg.dev/gw-dev-5678/gateway/gateway:latest",
          ),
        message: /project gw-dev-5678/,
      },
      {
        title: "a repository the stack does not declare",
        mutate: (rs) =>
          set(
            resource(rs, "gateway"),
            "template.containers.0.image",
            `us-central1-docker.pkg.dev/${PROJECT_ID}/scratch/gateway:1`,
          ),
        message: /does not declare/,
      },
    ],
  },
  {
    rule: "cloud-run-image-pinned-in-prod",
    compliant: [
      { title: "prod pinned by digest" },
      {
        title: "dev may use a tag",
        env: "dev",
        mutate: (rs) =>
          set(
            resource(rs, "gateway"),
            "template.containers.0.image",
            `us-central1-docker.pkg.dev/${PROJECT_ID}/gateway/gateway:dev`,
          ),
      },
    ],
    violating: [
      {
        title: "prod on a tag",
        mutate: (rs) =>
          set(
            resource(rs, "gateway"),
            "template.containers.0.image",
            `us-central1-docker.pkg.dev/${PROJECT_ID}/gateway/gateway:1.4.0`,
          ),
        resource: "gateway",
      },
    ],
  },
];
