/** Cloud Run guardrails: private ingress in prod, IAM on every call, a dedicated identity, bounded scaling. */
import * as gcp from "@pulumi/gcp";
import { validateResourceOfType } from "@pulumi/policy";
import {
  concurrencyOf,
  containerName,
  containersOf,
  envVarsOf,
  mainContainer,
  maxInstancesOf,
  minInstancesOf,
  type CloudRunServiceProps,
} from "../lib/cloudrun.js";
import { configOf, ENVIRONMENT_PROPERTY } from "../lib/config.js";
import { environmentOfResource, isProd } from "../lib/environment.js";
import { GATEWAY_ENV } from "../lib/gateway.js";
import { show, steps } from "../lib/guardrail.js";
import { T, type Guardrail, type ResourceGuardrail, type StackGuardrail } from "../lib/types.js";
import { isKnown, knownItems, read, str, UNKNOWN } from "../lib/values.js";

interface EnvConfig {
  environment: string;
}

const envSchema = { properties: { environment: ENVIRONMENT_PROPERTY } };

export const cloudRunV2Only: ResourceGuardrail = {
  name: "cloud-run-v2-only",
  category: "cloud-run",
  description:
    "Cloud Run services use the v2 resource (gcp:cloudrunv2/service:Service); v1 gcp:cloudrun/service is banned.",
  rationale:
    "Every Cloud Run rule here reads the v2 shape (template.scaling, vpcAccess.networkInterfaces, " +
    "invokerIamDisabled...). A v1 service would slip past all of them, and v1 lacks Direct VPC egress and startup " +
    "CPU boost settings the gateway relies on.",
  severity: "medium",
  enforcementLevel: "mandatory",
  remediationSteps: "Declare the service as gcp.cloudrunv2.Service (import the existing one with `pulumi import`).",
  configSchema: { properties: {} },
  validateResource: validateResourceOfType(gcp.cloudrun.Service, (_svc, args, report) => {
    report(
      `Cloud Run service "${args.name}" uses the v1 resource gcp:cloudrun/service:Service; use gcp.cloudrunv2.Service.`,
    );
  }),
};

const INTERNAL_INGRESS = new Set(["INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER", "INGRESS_TRAFFIC_INTERNAL_ONLY"]);

export const cloudRunIngressInternalInProd: ResourceGuardrail = {
  name: "cloud-run-ingress-internal-in-prod",
  category: "cloud-run",
  description:
    "In prod, every Cloud Run service sets ingress to INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER (or INTERNAL_ONLY); " +
    "unset means INGRESS_TRAFFIC_ALL.",
  rationale:
    "Prod sits behind the global external HTTPS load balancer with Cloud Armor. With ingress ALL, the run.app URL " +
    "bypasses both.",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps:
    'Set ingress: "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER" on the service and reach it through the load balancer.',
  configSchema: envSchema,
  validateResource: validateResourceOfType(gcp.cloudrunv2.Service, (svc, args, report) => {
    const { environment } = configOf<EnvConfig>(args, envSchema);
    if (!isProd(environmentOfResource(environment, args))) args.notApplicable("Only applies to prod");
    const ingress = str(read(() => svc.ingress));
    if (!isKnown(ingress)) return;
    if (ingress === undefined || !INTERNAL_INGRESS.has(ingress)) {
      report(
        `Cloud Run service "${args.name}" has ingress ${ingress ?? "unset (INGRESS_TRAFFIC_ALL)"} in prod: the run.app ` +
          "URL bypasses the load balancer and Cloud Armor.",
      );
    }
  }),
};

export const cloudRunInvokerIamEnabled: ResourceGuardrail = {
  name: "cloud-run-invoker-iam-enabled",
  category: "cloud-run",
  description:
    "No Cloud Run service sets invokerIamDisabled: true — unless allowBehindLoadBalancer is on and the service's " +
    "ingress is INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER.",
  rationale:
    "invokerIamDisabled turns off the IAM check on every request: the service becomes callable by anyone who can " +
    "reach it, exactly like granting allUsers the invoker role. Cloud Run checks IAM on the load balancer path too, " +
    "so a public API whose callers authenticate with API keys needs either IAP or this check off; the exception is " +
    "only safe when the load balancer (with Cloud Armor) is the only way in.",
  severity: "critical",
  enforcementLevel: "mandatory",
  remediationSteps: steps(
    "Remove invokerIamDisabled (or set it false) and grant roles/run.invoker to the callers that need it",
    "(Pub/Sub push needs its service account). For the public gateway behind the global load balancer, either put",
    "IAP on the backend service or, after review, set allowBehindLoadBalancer: true for this rule in the stack's",
    'policy config with ingress "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER".',
  ),
  configSchema: {
    properties: {
      allowBehindLoadBalancer: {
        type: "boolean",
        default: false,
        description:
          "Accept invokerIamDisabled on services whose ingress is INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER " +
          "(a reviewed exception for a public API behind the load balancer and Cloud Armor).",
      },
    },
  },
  validateResource: validateResourceOfType(gcp.cloudrunv2.Service, (svc, args, report) => {
    if (read(() => svc.invokerIamDisabled) !== true) return;
    const { allowBehindLoadBalancer } = configOf<{ allowBehindLoadBalancer: boolean }>(
      args,
      cloudRunInvokerIamEnabled.configSchema,
    );
    const ingress = str(read(() => svc.ingress));
    if (allowBehindLoadBalancer && ingress === UNKNOWN) return;
    if (allowBehindLoadBalancer && ingress === "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER") return;
    const shown = typeof ingress === "string" ? ingress : "unset (INGRESS_TRAFFIC_ALL)";
    report(
      `Cloud Run service "${args.name}" sets invokerIamDisabled: true` +
        (allowBehindLoadBalancer ? ` with ingress ${shown}` : "") +
        ": IAM no longer guards its invocations.",
    );
  }),
};

export const cloudRunDedicatedServiceAccount: ResourceGuardrail = {
  name: "cloud-run-dedicated-service-account",
  category: "cloud-run",
  description:
    "Every Cloud Run service sets template.serviceAccount to a dedicated account, not the default compute " +
    "(…-compute@developer.gserviceaccount.com) or App Engine (…@appspot.gserviceaccount.com) account.",
  rationale:
    "Without template.serviceAccount the revision runs as the default compute service account, which often holds " +
    "roles/editor on the project and is shared by everything else that defaults to it.",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Create a gcp.serviceaccount.Account for the service, grant it only what it needs (see " +
    "iam-runtime-role-allowlist) and set template.serviceAccount to its email.",
  configSchema: { properties: {} },
  validateResource: validateResourceOfType(gcp.cloudrunv2.Service, (svc, args, report) => {
    const sa = str(read(() => svc.template?.serviceAccount));
    if (!isKnown(sa)) return;
    if (sa === undefined || sa === "") {
      report(
        `Cloud Run service "${args.name}" has no template.serviceAccount: it runs as the default compute account.`,
      );
    } else if (/-compute@developer\.gserviceaccount\.com$|@appspot\.gserviceaccount\.com$/.test(sa)) {
      report(`Cloud Run service "${args.name}" runs as the default service account ${sa}.`);
    }
  }),
};

export const cloudRunScalingBounds: ResourceGuardrail = {
  name: "cloud-run-scaling-bounds",
  category: "cloud-run",
  description:
    "Every Cloud Run service sets a maximum instance count (template.scaling or service-level scaling) and " +
    "template.maxInstanceRequestConcurrency; in prod, minInstanceCount is at least 1. The caps themselves are " +
    "gateway-capacity-within-caps.",
  rationale:
    "Without a maximum, a traffic spike or a retry storm scales the gateway to Cloud Run's default limit and with " +
    "it the Gemini spend (Vertex's Dynamic Shared Quota caps nothing per project). Prod keeps a warm instance so " +
    "the first request after idle does not pay a cold start.",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Set template.scaling.maxInstanceCount and template.maxInstanceRequestConcurrency from stack config, and in " +
    "prod template.scaling.minInstanceCount >= 1.",
  configSchema: envSchema,
  validateResource: validateResourceOfType(gcp.cloudrunv2.Service, (svc, args, report) => {
    const { environment } = configOf<EnvConfig>(args, envSchema);
    const max = maxInstancesOf(svc);
    if (max === undefined) {
      report(
        `Cloud Run service "${args.name}" sets no maxInstanceCount: scaling is bounded only by Cloud Run's default.`,
      );
    }
    if (concurrencyOf(svc) === undefined) {
      report(
        `Cloud Run service "${args.name}" does not set template.maxInstanceRequestConcurrency (Cloud Run's default is 80).`,
      );
    }
    if (isProd(environmentOfResource(environment, args))) {
      const min = minInstancesOf(svc);
      if (min !== UNKNOWN && (min === undefined || min < 1)) {
        report(`Cloud Run service "${args.name}" has minInstanceCount ${show(min)} in prod: set it to at least 1.`);
      }
    }
  }),
};

export const cloudRunCpuIdleExplicit: ResourceGuardrail = {
  name: "cloud-run-cpu-idle-explicit",
  category: "cloud-run",
  description: "The serving container of every Cloud Run service sets resources.cpuIdle explicitly (true or false).",
  rationale:
    "When resources is set the provider otherwise shows a permanent diff on cpuIdle, and whether CPU is throttled " +
    "between requests decides if background work (quota-store polling, budget state, metric flushes) runs.",
  severity: "low",
  enforcementLevel: "advisory",
  remediationSteps: "Set containers[].resources.cpuIdle (false keeps CPU allocated between requests).",
  configSchema: { properties: {} },
  validateResource: validateResourceOfType(gcp.cloudrunv2.Service, (svc, args, report) => {
    const c = mainContainer(svc);
    if (!c) return;
    const idle = read(() => c.resources?.cpuIdle);
    if (idle === undefined || idle === null) {
      report(`Cloud Run service "${args.name}": the serving container does not set resources.cpuIdle.`);
    }
  }),
};

export const cloudRunHealthProbes: ResourceGuardrail = {
  name: "cloud-run-health-probes",
  category: "cloud-run",
  description: "The serving container of every Cloud Run service has a startupProbe and a livenessProbe.",
  rationale:
    "The gateway needs its config, Redis and Google's certificates before it can serve; a startup probe holds " +
    "traffic until then, and a liveness probe replaces an instance whose event loop is wedged.",
  severity: "medium",
  enforcementLevel: "advisory",
  remediationSteps:
    "Add startupProbe and livenessProbe (httpGet on the gateway's health path) to the serving container.",
  configSchema: { properties: {} },
  validateResource: validateResourceOfType(gcp.cloudrunv2.Service, (svc, args, report) => {
    const c = mainContainer(svc);
    if (!c) return;
    const missing = [];
    const startup = read(() => c.startupProbe);
    const liveness = read(() => c.livenessProbe);
    if (startup === undefined || startup === null) missing.push("startupProbe");
    if (liveness === undefined || liveness === null) missing.push("livenessProbe");
    if (missing.length > 0) {
      report(`Cloud Run service "${args.name}": the serving container has no ${missing.join(" and ")}.`);
    }
  }),
};

export const cloudRunDirectVpcEgress: ResourceGuardrail = {
  name: "cloud-run-direct-vpc-egress",
  category: "cloud-run",
  description:
    "A Cloud Run service with VPC access uses Direct VPC egress (vpcAccess.networkInterfaces, no connector) with " +
    "egress PRIVATE_RANGES_ONLY; a service that sets REDIS_URL has VPC access at all.",
  rationale:
    "Memorystore is reachable only inside the VPC. Direct VPC egress needs no connector VMs; PRIVATE_RANGES_ONLY " +
    "keeps Vertex AI calls on Google's public path instead of requiring Cloud NAT.",
  severity: "medium",
  enforcementLevel: "advisory",
  remediationSteps:
    'Set template.vpcAccess = { networkInterfaces: [{ network, subnetwork }], egress: "PRIVATE_RANGES_ONLY" } ' +
    "(a /26 or larger subnet).",
  configSchema: { properties: {} },
  validateResource: validateResourceOfType(gcp.cloudrunv2.Service, (svc, args, report) => {
    const vpc = read(() => svc.template?.vpcAccess);
    if (vpc === UNKNOWN) return;
    if (vpc === undefined || vpc === null) {
      const redis = envVarsOf(svc).vars.find((v) => v.name === GATEWAY_ENV.REDIS_URL);
      if (redis) report(`Cloud Run service "${args.name}" sets REDIS_URL but has no vpcAccess: Redis is unreachable.`);
      return;
    }
    const connector = str(read(() => vpc.connector));
    if (typeof connector === "string" && connector !== "") {
      report(`Cloud Run service "${args.name}" uses a Serverless VPC Access connector; use Direct VPC egress.`);
    }
    const nics = knownItems(read(() => vpc.networkInterfaces));
    if (nics.values.length === 0 && !nics.sawUnknown && !(typeof connector === "string" && connector !== "")) {
      report(`Cloud Run service "${args.name}" has vpcAccess without networkInterfaces.`);
    }
    const egress = str(read(() => vpc.egress));
    if (isKnown(egress) && egress !== "PRIVATE_RANGES_ONLY") {
      report(`Cloud Run service "${args.name}" has VPC egress ${egress ?? "unset"}; set PRIVATE_RANGES_ONLY.`);
    }
  }),
};

interface SecretsConfig {
  secretNamePattern: string;
  allowedNames: string[];
}

const LITERAL_SECRET_VALUES: { what: string; re: RegExp }[] = [
  { what: "a URL with a password", re: /^[a-z][a-z0-9+.-]*:\/\/[^/@\s]*:[^/@\s]+@/i },
  { what: "a Google API key", re: /AIza[0-9A-Za-z_-]{35}/ },
  { what: "a private key", re: /-----BEGIN [A-Z ]*PRIVATE KEY-----/ },
];

export const cloudRunNoPlaintextSecrets: ResourceGuardrail = {
  name: "cloud-run-no-plaintext-secrets",
  category: "cloud-run",
  description:
    "No Cloud Run env var whose name looks secret (a _-separated KEY, TOKEN, SECRET, PASSWORD, CREDENTIALS ... " +
    "segment; secretNamePattern) has a literal value, and no literal value looks like a credential (a URL with a " +
    "password, a Google API key, a private key). Such values come from Secret Manager (valueSource.secretKeyRef).",
  rationale:
    "A literal env value is stored in Pulumi state and in the Cloud Run revision, readable by anyone with " +
    "run.services.get; it leaks through `gcloud run services describe`, CI logs and state exports.",
  severity: "critical",
  enforcementLevel: "mandatory",
  remediationSteps: steps(
    "Store the value in a gcp.secretmanager.Secret (+ SecretVersion), grant the runtime account",
    "roles/secretmanager.secretAccessor on that secret, and use",
    "envs: [{ name, valueSource: { secretKeyRef: { secret: secret.secretId, version: '<n>' } } }] or a secret volume.",
    "A name that matches but is not secret (e.g. a hash) goes in allowedNames.",
  ),
  configSchema: {
    properties: {
      secretNamePattern: {
        type: "string",
        default: "(^|_)(KEY|APIKEY|API_KEY|TOKEN|SECRET|PASSWORD|PASSWD|PWD|CREDENTIAL|CREDENTIALS|AUTH_STRING)(_|$)",
        description: "Case-insensitive regular expression for env var names that must not carry a literal value.",
      },
      allowedNames: {
        type: "array",
        items: { type: "string" },
        // GATEWAY_KEYS_SECRET holds a secret's resource name (projects/{p}/secrets/{s}), not its value.
        default: [GATEWAY_ENV.ADMIN_KEY_SHA256, GATEWAY_ENV.KEYS_SECRET],
        description:
          "Env var names exempt from the name check (their values are not secret, e.g. a SHA-256, or the name of a " +
          "Secret Manager secret).",
      },
    },
  },
  validateResource: validateResourceOfType(gcp.cloudrunv2.Service, (svc, args, report) => {
    const config = configOf<SecretsConfig>(args, cloudRunNoPlaintextSecrets.configSchema);
    const pattern = new RegExp(config.secretNamePattern, "i");
    for (const v of envVarsOf(svc).vars) {
      if (!isKnown(v.name) || !v.hasLiteral) continue;
      const value = v.value;
      if (pattern.test(v.name) && !config.allowedNames.includes(v.name) && value !== "") {
        report(
          `Cloud Run service "${args.name}": env var ${v.name} (container ${v.container}) has a literal value; ` +
            "take it from Secret Manager (valueSource.secretKeyRef).",
        );
        continue;
      }
      if (typeof value === "string") {
        const hit = LITERAL_SECRET_VALUES.find((p) => p.re.test(value));
        if (hit) {
          report(
            `Cloud Run service "${args.name}": env var ${v.name} (container ${v.container}) holds ${hit.what} in ` +
              "plain text; take it from Secret Manager.",
          );
        }
      }
    }
  }),
};

interface ImageConfig {
  allowedImagePrefixes: string[];
  registryProject: string;
}

const AR_IMAGE = /^([a-z0-9-]+)-docker\.pkg\.dev\/([^/]+)\/([^/]+)\/(.+)$/;

export const cloudRunImageFromOwnRegistry: StackGuardrail = {
  name: "cloud-run-image-from-own-registry",
  category: "cloud-run",
  description:
    "Every container image of every Cloud Run service comes from Artifact Registry (<location>-docker.pkg.dev) in " +
    "the stack's own project (registryProject, else the Project resource's projectId or the service's project), " +
    "from a repository this stack declares when it declares any; images under allowedImagePrefixes are exempt.",
  rationale:
    "Images from Docker Hub or another team's registry bypass this environment's vulnerability scanning, cleanup " +
    "and IAM; a prod service pulling from the dev registry runs something prod never promoted.",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Push the image to this environment's Artifact Registry repository and reference it as " +
    "<location>-docker.pkg.dev/<project>/<repository>/<image>@sha256:<digest>; mirror third-party sidecars there " +
    "(or, for Google-published sidecars, add their prefix to allowedImagePrefixes).",
  configSchema: {
    properties: {
      allowedImagePrefixes: {
        type: "array",
        items: { type: "string" },
        default: ["us-docker.pkg.dev/cloud-ops-agents-artifacts/"],
        description: "Image prefixes allowed from elsewhere (default: Google's Cloud Run collector sidecars).",
      },
      registryProject: {
        type: "string",
        default: "",
        description: "The project hosting the registry; empty = the stack's own project.",
      },
    },
  },
  validateStack: (args, report) => {
    const config = configOf<ImageConfig>(args, cloudRunImageFromOwnRegistry.configSchema);
    const services = args.resources.filter((r) => r.type === T.cloudRunService);
    if (services.length === 0) args.notApplicable("No Cloud Run services");
    const projectIds = args.resources
      .filter((r) => r.type === T.project)
      .map((r) => str(read(() => r.props["projectId"])))
      .filter((p): p is string => typeof p === "string");
    const repos = args.resources
      .filter((r) => r.type === T.artifactRepository)
      .map((r) => ({
        id: str(read(() => r.props["repositoryId"])),
        location: str(read(() => r.props["location"])),
        project: str(read(() => r.props["project"])),
      }));
    const reposKnown = repos.length > 0 && repos.every((r) => typeof r.id === "string");
    for (const r of services) {
      const svc = r.props as CloudRunServiceProps;
      const svcProject = str(read(() => svc.project));
      const ownProject =
        config.registryProject ||
        (projectIds.length === 1 ? projectIds[0] : undefined) ||
        (typeof svcProject === "string" ? svcProject : undefined);
      containersOf(svc).values.forEach((c, i) => {
        const image = str(read(() => c.image));
        if (typeof image !== "string") return;
        if (config.allowedImagePrefixes.some((p) => image.startsWith(p))) return;
        const where = `Cloud Run service "${r.name}" container ${containerName(c, i)}`;
        const m = AR_IMAGE.exec(image);
        if (!m) {
          report(`${where} runs ${image}, which is not from Artifact Registry (<location>-docker.pkg.dev).`, r.urn);
          return;
        }
        const [, location, project, repository] = m;
        if (ownProject && project !== ownProject) {
          report(`${where} pulls from project ${project}, not this environment's project ${ownProject}.`, r.urn);
          return;
        }
        if (reposKnown) {
          const match = repos.find(
            (repo) =>
              repo.id === repository &&
              (typeof repo.location !== "string" || repo.location === location) &&
              (typeof repo.project !== "string" || repo.project === project),
          );
          if (!match) {
            report(
              `${where} pulls from repository ${location}/${repository}, which this stack does not declare ` +
                `(declared: ${repos.map((x) => `${String(x.location)}/${String(x.id)}`).join(", ")}).`,
              r.urn,
            );
          }
        }
      });
    }
  },
};

export const cloudRunImagePinnedInProd: ResourceGuardrail = {
  name: "cloud-run-image-pinned-in-prod",
  category: "cloud-run",
  description: "In prod, the serving container's image is pinned by digest (…@sha256:<digest>), not a tag.",
  rationale:
    "Promotion deploys to prod the exact image tested in dev. A tag can be moved; a digest cannot, and a new " +
    "revision (scale-out, restart) would otherwise pull whatever the tag points to now.",
  severity: "medium",
  enforcementLevel: "advisory",
  remediationSteps: "Reference the image as <repository>/<image>@sha256:<digest> (the digest the dev stack deployed).",
  configSchema: envSchema,
  validateResource: validateResourceOfType(gcp.cloudrunv2.Service, (svc, args, report) => {
    const { environment } = configOf<EnvConfig>(args, envSchema);
    if (!isProd(environmentOfResource(environment, args))) args.notApplicable("Only applies to prod");
    const c = mainContainer(svc);
    const image = c && str(read(() => c.image));
    if (typeof image === "string" && !/@sha256:[0-9a-f]{64}$/.test(image)) {
      report(`Cloud Run service "${args.name}" runs ${image} in prod: pin the image by digest.`);
    }
  }),
};

export const cloudRunRules: Guardrail[] = [
  cloudRunV2Only,
  cloudRunIngressInternalInProd,
  cloudRunInvokerIamEnabled,
  cloudRunDedicatedServiceAccount,
  cloudRunScalingBounds,
  cloudRunCpuIdleExplicit,
  cloudRunHealthProbes,
  cloudRunDirectVpcEgress,
  cloudRunNoPlaintextSecrets,
  cloudRunImageFromOwnRegistry,
  cloudRunImagePinnedInProd,
];
