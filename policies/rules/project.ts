/** Project-wide guardrails: no default network, protection in prod, required labels, allowed locations. */
import * as gcp from "@pulumi/gcp";
import { validateResourceOfType } from "@pulumi/policy";
import { envVar, type CloudRunServiceProps } from "../lib/cloudrun.js";
import { ALLOWED_REGIONS_PROPERTY, configOf, ENVIRONMENT_PROPERTY } from "../lib/config.js";
import { environmentOfResource, isProd } from "../lib/environment.js";
import { GATEWAY_ENV } from "../lib/gateway.js";
import { steps, validateResourceOfTypes } from "../lib/guardrail.js";
import { locationProblem, type LocationPolicy } from "../lib/locations.js";
import { T, type Guardrail, type ResourceGuardrail } from "../lib/types.js";
import { bool, entries, isKnown, knownItems, path, read, str, UNKNOWN } from "../lib/values.js";

export const projectNoAutoCreateNetwork: ResourceGuardrail = {
  name: "project-no-auto-create-network",
  category: "project",
  description: "Every project sets autoCreateNetwork: false (the provider default is true).",
  rationale:
    "The auto-created `default` network has a subnet in every region and firewall rules allowing SSH, RDP and " +
    "ICMP from anywhere; the gateway uses its own VPC.",
  severity: "medium",
  enforcementLevel: "mandatory",
  remediationSteps: "Set autoCreateNetwork: false on the gcp.organizations.Project and declare the VPC explicitly.",
  configSchema: { properties: {} },
  validateResource: validateResourceOfType(gcp.organizations.Project, (project, args, report) => {
    const auto = bool(read(() => project.autoCreateNetwork));
    if (isKnown(auto) && auto !== false) {
      report(`Project "${args.name}" has autoCreateNetwork ${auto === undefined ? "unset (true)" : "true"}.`);
    }
  }),
};

const PROTECTED_TYPES = new Set<string>([T.project, T.cloudRunService, T.secret]);
const envSchema = { properties: { environment: ENVIRONMENT_PROPERTY } };

export const prodDeletionProtection: ResourceGuardrail = {
  name: "prod-deletion-protection",
  category: "project",
  description:
    "In prod: the project's deletionPolicy is PREVENT (unset = the provider's default PREVENT), Cloud Run services " +
    "do not set deletionProtection: false (default true), and secrets set deletionProtection: true (default false).",
  rationale:
    "A mistaken `pulumi destroy`, a stack rename or a refactor that changes a resource's name would otherwise " +
    "delete the prod project, the serving gateway or its keys.",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps: steps(
    'Drive protection from stack config: deletionPolicy: "PREVENT" on the Project, deletionProtection: true on',
    "Cloud Run services and secrets in prod. Turning it off later takes an `up` before a destroy.",
  ),
  configSchema: envSchema,
  validateResource: validateResourceOfTypes(
    (t) => PROTECTED_TYPES.has(t),
    "projects, Cloud Run services and secrets",
    (args, report) => {
      const { environment } = configOf<{ environment: string }>(args, envSchema);
      if (!isProd(environmentOfResource(environment, args))) args.notApplicable("Only applies to prod");
      if (args.type === T.project) {
        const policy = str(read(() => args.props["deletionPolicy"]));
        if (typeof policy === "string" && policy !== "PREVENT") {
          report(`Project "${args.name}" has deletionPolicy ${policy} in prod; use PREVENT.`);
        }
      } else if (args.type === T.cloudRunService) {
        if (bool(read(() => args.props["deletionProtection"])) === false) {
          report(`Cloud Run service "${args.name}" sets deletionProtection: false in prod.`);
        }
      } else {
        const p = bool(read(() => args.props["deletionProtection"]));
        if (isKnown(p) && p !== true) report(`Secret "${args.name}" does not set deletionProtection: true in prod.`);
      }
    },
  ),
};

/**
 * Types with a `labels` input subject to the provider's defaultLabels (checked in @pulumi/gcp 9.37's typings).
 * Monitoring resources are not listed: their `userLabels` ignore defaultLabels, and a NotificationChannel's
 * `labels` are channel settings.
 */
export const LABELLED_TYPES: ReadonlySet<string> = new Set([
  T.project,
  T.cloudRunService,
  "gcp:cloudrunv2/job:Job",
  T.redisInstance,
  T.secret,
  T.artifactRepository,
  T.pubsubTopic,
  T.pubsubSubscription,
  T.modelArmorTemplate,
  "gcp:storage/bucket:Bucket",
  "gcp:compute/globalAddress:GlobalAddress",
  "gcp:compute/globalForwardingRule:GlobalForwardingRule",
  "gcp:compute/securityPolicy:SecurityPolicy",
  "gcp:compute/address:Address",
  "gcp:compute/forwardingRule:ForwardingRule",
]);

export const requiredLabels: ResourceGuardrail = {
  name: "required-labels",
  category: "project",
  description:
    "Every labelable resource (projects, Cloud Run services and jobs, Redis, secrets, repositories, topics, " +
    "subscriptions, Model Armor templates, buckets, addresses, forwarding rules, security policies) carries the " +
    "requiredLabels with non-empty values, counting the provider's defaultLabels.",
  rationale:
    "Billing exports and budgets are sliced by these labels (cost-center, app, env), and on-call finds the owner " +
    "of a resource from them.",
  severity: "medium",
  enforcementLevel: "advisory",
  remediationSteps:
    "Set defaultLabels on the gcp provider (env, app, owner, cost-center from stack config) so every resource " +
    "inherits them, or set labels on the resource.",
  configSchema: {
    properties: {
      requiredLabels: {
        type: "array",
        items: { type: "string" },
        default: ["env", "app", "owner", "cost-center"],
        description: "Label keys every labelable resource must carry.",
      },
    },
  },
  validateResource: validateResourceOfTypes(
    (t) => LABELLED_TYPES.has(t),
    "resources with labels",
    (args, report) => {
      const config = configOf<{ requiredLabels: string[] }>(args, requiredLabels.configSchema);
      const own = entries(read(() => args.props["labels"]));
      const defaults = entries(read(() => args.provider?.props["defaultLabels"]));
      if (own === UNKNOWN || defaults === UNKNOWN) return;
      const labels = new Map<string, unknown>([...defaults, ...own]);
      const missing = config.requiredLabels.filter((k) => {
        const v = labels.get(k);
        return v !== UNKNOWN && (typeof v !== "string" || v === "");
      });
      if (missing.length > 0) {
        report(`${args.type.split(":")[2]} "${args.name}" lacks the labels ${missing.join(", ")}.`);
      }
    },
  ),
};

export const allowedLocations: ResourceGuardrail = {
  name: "allowed-locations",
  category: "project",
  description:
    "Every `location`, `region` and `zone` input of every resource (and the gcp provider's region/zone), Redis " +
    "locationId/alternativeLocationId, secret userManaged replica locations, Pub/Sub topic " +
    "messageStoragePolicy.allowedPersistenceRegions, Model Armor template locations and the gateway's Vertex " +
    "location (env GOOGLE_CLOUD_LOCATION) are in allowedRegions (zones by their region), allowedMultiRegions, or " +
    '"global" when allowGlobal.',
  rationale:
    "Prompts, responses, keys and logs must stay in the regions the organisation has approved for data " +
    "residency and where capacity has been planned.",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Use a region from allowedRegions (stack config `region`), or extend allowedRegions in the policy config " +
    "after review.",
  configSchema: {
    properties: {
      allowedRegions: ALLOWED_REGIONS_PROPERTY,
      allowedMultiRegions: {
        type: "array",
        items: { type: "string" },
        default: ["us", "eu"],
        description: 'Multi-regions allowed (Artifact Registry "us", Model Armor "us", buckets "EU"...).',
      },
      allowGlobal: {
        type: "boolean",
        default: true,
        description: 'Whether "global" is allowed (e.g. the Vertex AI global endpoint).',
      },
    },
  },
  validateResource: validateResourceOfTypes(
    () => true,
    "every resource",
    (args, report) => {
      const policy = configOf<LocationPolicy>(args, allowedLocations.configSchema);
      const found: { where: string; value: string }[] = [];
      const add = (where: string, v: unknown) => {
        const s = str(v);
        if (typeof s === "string" && s !== "") found.push({ where, value: s });
      };
      for (const key of ["location", "region", "zone"])
        add(
          key,
          read(() => args.props[key]),
        );
      if (args.type === T.redisInstance) {
        add(
          "locationId",
          read(() => args.props["locationId"]),
        );
        add(
          "alternativeLocationId",
          read(() => args.props["alternativeLocationId"]),
        );
      }
      if (args.type === T.secret) {
        const replicas = knownItems(path(args.props, "replication.userManaged.replicas") as unknown[]);
        replicas.values.forEach((r, i) => add(`replication.userManaged.replicas[${i}].location`, path(r, "location")));
      }
      if (args.type === T.pubsubTopic) {
        const regions = knownItems(path(args.props, "messageStoragePolicy.allowedPersistenceRegions") as unknown[]);
        regions.values.forEach((r, i) => add(`messageStoragePolicy.allowedPersistenceRegions[${i}]`, r));
      }
      if (args.type === T.cloudRunService) {
        const loc = envVar(args.props as CloudRunServiceProps, GATEWAY_ENV.LOCATION);
        if (loc) add(`env ${GATEWAY_ENV.LOCATION} (the Vertex AI location)`, loc.value);
      }
      for (const f of found) {
        const problem = locationProblem(f.value, policy);
        if (problem) report(`${args.type.split(":")[2]} "${args.name}": ${f.where} ${f.value}: ${problem}.`);
      }
    },
  ),
};

export const projectRules: Guardrail[] = [
  projectNoAutoCreateNetwork,
  prodDeletionProtection,
  requiredLabels,
  allowedLocations,
];
