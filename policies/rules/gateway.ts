/**
 * This project's own guardrails: the gateway's capacity stays under the stack's caps, the budget kill switch is
 * wired end to end, and prod screens prompts with Model Armor.
 */
import * as gcp from "@pulumi/gcp";
import { validateResourceOfType, type PolicyResource, type StackValidationArgs } from "@pulumi/policy";
import {
  concurrencyOf,
  envVar,
  isGatewayService,
  maxInstancesOf,
  type CloudRunServiceProps,
  type EnvVar,
} from "../lib/cloudrun.js";
import { configOf, ENVIRONMENT_PROPERTY } from "../lib/config.js";
import { environmentOfStack, isProd } from "../lib/environment.js";
import { BUDGET_ALERTS_PATH, GATEWAY_ENV, parseCapacityEnvelope } from "../lib/gateway.js";
import { steps } from "../lib/guardrail.js";
import { T, type Guardrail, type ResourceGuardrail, type StackGuardrail } from "../lib/types.js";
import { isKnown, path, str, UNKNOWN, walkStrings, type Unknown } from "../lib/values.js";
import { MODEL_ARMOR_VERTEX_LOCATIONS } from "../../infra/model-armor-locations.js";

interface CapsConfig {
  maxInstances: number;
  maxConcurrency: number;
  maxRequestsPerMinute: number;
  maxTokensPerMinute: number;
}

export const gatewayCapacityWithinCaps: ResourceGuardrail = {
  name: "gateway-capacity-within-caps",
  category: "gateway",
  description:
    "Per Cloud Run service, maxInstanceCount <= maxInstances and maxInstanceRequestConcurrency <= maxConcurrency " +
    "(so instances × concurrency stays under their product); on the gateway's services, GATEWAY_CAPACITY is set " +
    "and its envelope — the sum of requestsPerMinute and of tokensPerMinute over its entries — stays under " +
    "maxRequestsPerMinute and maxTokensPerMinute, with every entry bounding both.",
  rationale:
    "Gemini 2.x on Vertex uses Dynamic Shared Quota: nothing upstream caps a runaway fleet. GATEWAY_CAPACITY is " +
    "the gateway's own fleet-wide cap and Cloud Run's limits bound how much traffic can try; these caps are what " +
    "the stack's owners signed up to pay for.",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps: steps(
    "Lower template.scaling.maxInstanceCount / template.maxInstanceRequestConcurrency, and set",
    'GATEWAY_CAPACITY (e.g. {"models":[{"model":"gemini-2.5-flash","requestsPerMinute":3000,"tokensPerMinute":4000000}]})',
    "with both numbers on every entry, summing under the caps — or raise the caps in the policy config for this",
    "stack after the budget owner agrees.",
  ),
  configSchema: {
    properties: {
      maxInstances: { type: "integer", minimum: 1, default: 50, description: "Cap on maxInstanceCount per service." },
      maxConcurrency: {
        type: "integer",
        minimum: 1,
        default: 250,
        description: "Cap on maxInstanceRequestConcurrency per service.",
      },
      maxRequestsPerMinute: {
        type: "integer",
        minimum: 1,
        default: 10000,
        description: "Cap on the sum of GATEWAY_CAPACITY requestsPerMinute.",
      },
      maxTokensPerMinute: {
        type: "integer",
        minimum: 1,
        default: 20000000,
        description: "Cap on the sum of GATEWAY_CAPACITY tokensPerMinute.",
      },
    },
  },
  validateResource: validateResourceOfType(gcp.cloudrunv2.Service, (svc, args, report) => {
    const caps = configOf<CapsConfig>(args, gatewayCapacityWithinCaps.configSchema);
    const max = maxInstancesOf(svc);
    const concurrency = concurrencyOf(svc);
    const product =
      typeof max === "number" && typeof concurrency === "number"
        ? ` (${max} × ${concurrency} = ${max * concurrency} concurrent requests; cap ${caps.maxInstances * caps.maxConcurrency})`
        : "";
    if (typeof max === "number" && max > caps.maxInstances) {
      report(
        `Cloud Run service "${args.name}" allows ${max} instances, over the cap of ${caps.maxInstances}${product}.`,
      );
    }
    if (typeof concurrency === "number" && concurrency > caps.maxConcurrency) {
      report(
        `Cloud Run service "${args.name}" allows ${concurrency} concurrent requests per instance, over the cap of ` +
          `${caps.maxConcurrency}${product}.`,
      );
    }
    if (!isGatewayService(svc)) return;
    const capacity = envVar(svc, GATEWAY_ENV.CAPACITY);
    if (!capacity) {
      report(
        `Gateway service "${args.name}" does not set ${GATEWAY_ENV.CAPACITY}: nothing caps the fleet's requests and ` +
          "tokens per minute to Vertex.",
      );
      return;
    }
    if (capacity.fromSecret || !isKnown(capacity.value) || capacity.value === undefined) return;
    const parsed = parseCapacityEnvelope(capacity.value);
    if ("error" in parsed) {
      report(`Gateway service "${args.name}": ${GATEWAY_ENV.CAPACITY} ${parsed.error}.`);
      return;
    }
    if (parsed.models.length === 0) {
      report(`Gateway service "${args.name}": ${GATEWAY_ENV.CAPACITY} lists no models: the envelope is unbounded.`);
      return;
    }
    const dims = [
      { key: "requestsPerMinute", cap: caps.maxRequestsPerMinute, capName: "maxRequestsPerMinute" },
      { key: "tokensPerMinute", cap: caps.maxTokensPerMinute, capName: "maxTokensPerMinute" },
    ] as const;
    for (const d of dims) {
      const unbounded = parsed.models.filter((m) => m[d.key] === undefined).map((m) => m.model);
      if (unbounded.length > 0) {
        report(
          `Gateway service "${args.name}": ${GATEWAY_ENV.CAPACITY} sets no ${d.key} for ${unbounded.join(", ")}: ` +
            `that envelope is unbounded (cap ${d.cap}).`,
        );
        continue;
      }
      const total = parsed.models.reduce((sum, m) => sum + (m[d.key] ?? 0), 0);
      if (total > d.cap) {
        report(
          `Gateway service "${args.name}": ${GATEWAY_ENV.CAPACITY} allows ${total} ${d.key} in total, over ` +
            `${d.capName} ${d.cap}.`,
        );
      }
    }
  }),
};

function topicId(v: string): string {
  return v.split("/").pop() ?? v;
}

function gatewayServices(resources: readonly PolicyResource[]): PolicyResource[] {
  return resources.filter((r) => r.type === T.cloudRunService && isGatewayService(r.props as CloudRunServiceProps));
}

export const gatewayBudgetKillSwitchWired: StackGuardrail = {
  name: "gateway-budget-kill-switch-wired",
  category: "gateway",
  description: steps(
    "The budget feeds the gateway's kill switch: its allUpdatesRule.pubsubTopic is set (with schemaVersion",
    `"1.0"); a Pub/Sub push subscription (on that topic, when both are known) has a pushEndpoint ending in`,
    `${BUDGET_ALERTS_PATH} and an oidcToken; and the gateway's services set ${GATEWAY_ENV.BUDGET_PUSH_AUDIENCE}`,
    `and ${GATEWAY_ENV.BUDGET_PUSH_SERVICE_ACCOUNT}, matching the subscription's audience (default: the endpoint)`,
    "and service account when the values are known.",
  ),
  rationale:
    "An e-mail at 100% of budget does not stop traffic; the kill switch does (docs/budget-kill-switch.md). Each " +
    "missing link — no topic, no push subscription, no OIDC token (the endpoint refuses unauthenticated pushes), " +
    "the env vars unset (the endpoint answers 404) or mismatched (403) — silently turns the switch off.",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps: steps(
    'Set the budget\'s allUpdatesRule { pubsubTopic: topic.id, schemaVersion: "1.0" }; declare a',
    "gcp.pubsub.Subscription on that topic with pushConfig { pushEndpoint: `${url}/internal/budget-alerts`,",
    "oidcToken: { serviceAccountEmail: pushSa.email, audience } } (plus a dead-letter policy); and set",
    `${GATEWAY_ENV.BUDGET_PUSH_AUDIENCE} = audience and ${GATEWAY_ENV.BUDGET_PUSH_SERVICE_ACCOUNT} = pushSa.email on`,
    "the gateway.",
  ),
  configSchema: { properties: {} },
  validateStack: (args, report) => {
    const budgets = args.resources.filter((r) => r.type === T.budget);
    if (budgets.length === 0) args.notApplicable("No budget (budget-configured reports that)");
    const topics: string[] = [];
    let topicUnknown = false;
    for (const b of budgets) {
      const topic = str(path(b.props, "allUpdatesRule.pubsubTopic"));
      if (topic === UNKNOWN) topicUnknown = true;
      else if (topic === undefined || topic === "") {
        report(
          `Budget "${b.name}" has no allUpdatesRule.pubsubTopic: the gateway's kill switch never hears of it.`,
          b.urn,
        );
        continue;
      } else topics.push(topic);
      const schema = str(path(b.props, "allUpdatesRule.schemaVersion"));
      if (isKnown(schema) && schema !== "1.0") {
        report(`Budget "${b.name}" publishes to Pub/Sub without allUpdatesRule.schemaVersion "1.0".`, b.urn);
      }
    }

    interface Push {
      r: PolicyResource;
      endpoint: string | Unknown;
      topic: string | Unknown | undefined;
      oidc: unknown;
      audience: string | Unknown | undefined;
      account: string | Unknown | undefined;
    }
    const pushes: Push[] = args.resources
      .filter((r) => r.type === T.pubsubSubscription)
      .map((r): Push => ({
        r,
        endpoint: str(path(r.props, "pushConfig.pushEndpoint")) ?? "",
        topic: str(path(r.props, "topic")),
        oidc: path(r.props, "pushConfig.oidcToken"),
        audience: str(path(r.props, "pushConfig.oidcToken.audience")),
        account: str(path(r.props, "pushConfig.oidcToken.serviceAccountEmail")),
      }))
      .filter((p) => p.endpoint === UNKNOWN || p.endpoint.replace(/\/+$/, "").endsWith(BUDGET_ALERTS_PATH));
    if (pushes.length === 0) {
      report(`No Pub/Sub subscription pushes to the gateway's ${BUDGET_ALERTS_PATH} endpoint.`);
      return;
    }
    for (const p of pushes) {
      if (p.oidc === undefined || p.oidc === null) {
        report(
          `Subscription "${p.r.name}" pushes budget alerts without an oidcToken: the gateway refuses them (401).`,
          p.r.urn,
        );
      }
      if (!topicUnknown && topics.length > 0 && typeof p.topic === "string") {
        const subTopic = p.topic;
        if (!topics.some((t) => topicId(t) === topicId(subTopic))) {
          report(`Subscription "${p.r.name}" reads topic ${subTopic}, not the budget's ${topics.join(", ")}.`, p.r.urn);
        }
      }
    }

    for (const svc of gatewayServices(args.resources)) {
      const props = svc.props as CloudRunServiceProps;
      const audience = envVar(props, GATEWAY_ENV.BUDGET_PUSH_AUDIENCE);
      const account = envVar(props, GATEWAY_ENV.BUDGET_PUSH_SERVICE_ACCOUNT);
      const missing: string[] = [];
      if (!audience) missing.push(GATEWAY_ENV.BUDGET_PUSH_AUDIENCE);
      if (!account) missing.push(GATEWAY_ENV.BUDGET_PUSH_SERVICE_ACCOUNT);
      if (missing.length > 0) {
        report(`Gateway service "${svc.name}" does not set ${missing.join(" and ")}: the kill switch is off.`, svc.urn);
        continue;
      }
      const literal = (v: EnvVar | undefined) =>
        v && !v.fromSecret && typeof v.value === "string" ? v.value : undefined;
      const aud = literal(audience);
      const sa = literal(account);
      const matchesAudience = pushes.some((p) => {
        const expected = p.audience ?? p.endpoint;
        return aud === undefined || !isKnown(expected) || expected === aud;
      });
      if (!matchesAudience) {
        report(
          `Gateway service "${svc.name}" expects push audience ${aud}, which no budget-alert subscription uses ` +
            "(the gateway would answer 401).",
          svc.urn,
        );
      }
      const matchesAccount = pushes.some(
        (p) => sa === undefined || !isKnown(p.account) || p.account?.toLowerCase() === sa.toLowerCase(),
      );
      if (!matchesAccount) {
        report(
          `Gateway service "${svc.name}" expects push service account ${sa}, which no budget-alert subscription ` +
            "signs as (the gateway would answer 403).",
          svc.urn,
        );
      }
    }
  },
};

const MODEL_ARMOR_SCHEMA = { properties: { environment: ENVIRONMENT_PROPERTY } };

/** The prod stack's templates with the prompt-injection and jailbreak filter enabled; undefined when not prod. */
function enabledTemplates(args: StackValidationArgs): {
  enabled: PolicyResource[];
  all: PolicyResource[];
  unknown: boolean;
} {
  const { environment } = configOf<{ environment: string }>(args, MODEL_ARMOR_SCHEMA);
  if (!isProd(environmentOfStack(environment, args.resources))) args.notApplicable("Only applies to prod");
  const all = args.resources.filter((r) => r.type === T.modelArmorTemplate);
  const enabled: PolicyResource[] = [];
  let unknown = false;
  for (const t of all) {
    const enforcement = str(path(t.props, "filterConfig.piAndJailbreakFilterSettings.filterEnforcement"));
    if (enforcement === UNKNOWN) unknown = true;
    else if (enforcement === "ENABLED") enabled.push(t);
  }
  return { enabled, all, unknown };
}

export const prodModelArmorTemplate: StackGuardrail = {
  name: "prod-model-armor-template",
  category: "gateway",
  description:
    "In prod, the stack declares a Model Armor template (gcp:modelarmor/template:Template) with " +
    "filterConfig.piAndJailbreakFilterSettings.filterEnforcement ENABLED (prod-model-armor-referenced checks " +
    "that the gateway uses it).",
  rationale:
    "The gateway's own injection scorer is a fast first look; Model Armor's prompt-injection and jailbreak filter " +
    "is the screening prod relies on (docs/injection.md). Without a template there is nothing to attach to Vertex " +
    "calls.",
  severity: "critical",
  enforcementLevel: "mandatory",
  remediationSteps: steps(
    'Declare gcp.modelarmor.Template with filterConfig.piAndJailbreakFilterSettings { filterEnforcement: "ENABLED",',
    'confidenceLevel: "MEDIUM_AND_ABOVE" } in an allowed location.',
  ),
  configSchema: MODEL_ARMOR_SCHEMA,
  validateStack: (args, report) => {
    const { enabled, all, unknown } = enabledTemplates(args);
    if (all.length === 0) {
      report("Prod declares no Model Armor template (gcp:modelarmor/template:Template).");
    } else if (enabled.length === 0 && !unknown) {
      report(
        "No Model Armor template enables the prompt-injection and jailbreak filter " +
          `(filterConfig.piAndJailbreakFilterSettings.filterEnforcement ENABLED): ${all.map((t) => t.name).join(", ")}.`,
      );
    }
  },
};

export const prodModelArmorReferenced: StackGuardrail = {
  name: "prod-model-armor-referenced",
  category: "gateway",
  description: steps(
    "In prod, the gateway uses an enabled Model Armor template: its resource name (…/templates/<templateId>)",
    "appears in some other resource's inputs — a Cloud Run env var, a SecretVersion's secretData (the tenants file's",
    "modelArmor.promptTemplate), a bucket object. Advisory: a tenants file managed outside Pulumi is invisible here.",
  ),
  rationale:
    "A template nobody references screens nothing: the gateway attaches Model Armor per tenant " +
    "(modelArmor.promptTemplate in the tenants file), and a tenant without it is unscreened.",
  severity: "high",
  enforcementLevel: "advisory",
  remediationSteps: steps(
    "Reference projects/<project>/locations/<location>/templates/<templateId> as each tenant's",
    "modelArmor.promptTemplate in the tenants file (GATEWAY_TENANTS_FILE). When the tenants file is added outside",
    "Pulumi (gcloud secrets versions add), check it there and set this rule to disabled in that stack's policy",
    "config, saying so in the PR.",
  ),
  configSchema: MODEL_ARMOR_SCHEMA,
  validateStack: (args, report) => {
    const { enabled } = enabledTemplates(args);
    const ids = enabled
      .map((t) => str(path(t.props, "templateId")))
      .filter((id): id is string => typeof id === "string" && id !== "");
    if (ids.length === 0) args.notApplicable("No enabled template with a known id (prod-model-armor-template)");
    const escaped = ids.map((id) => id.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    const patterns = escaped.map((id) => new RegExp(`templates/${id}(?![A-Za-z0-9_-])`));
    let referenced = false;
    let sawUnknown = false;
    for (const r of args.resources) {
      if (r.type === T.modelArmorTemplate) continue;
      walkStrings(
        r.props,
        (s) => {
          if (patterns.some((p) => p.test(s))) referenced = true;
        },
        () => {
          if (r.type === T.cloudRunService || r.type === T.secretVersion) sawUnknown = true;
        },
      );
      if (referenced) return;
    }
    if (!sawUnknown) {
      report(
        `Model Armor template ${ids.join(", ")} is declared but nothing in the stack references it (no Cloud Run env ` +
          `var, secret version or object contains …/templates/${ids[0]}): no tenant is screened with it.`,
      );
    }
  },
};

interface ArmorRegionsConfig {
  environment: string;
  modelArmorVertexLocations: string[];
}

export const modelArmorInGatewayRegions: StackGuardrail = {
  name: "model-armor-in-gateway-regions",
  category: "gateway",
  description:
    "Where the stack has Model Armor templates (always in prod), every gateway service's Vertex AI location " +
    "(env GOOGLE_CLOUD_LOCATION) is one where Vertex AI's Model Armor integration is offered " +
    "(modelArmorVertexLocations) and holds an enabled prompt template (piAndJailbreakFilterSettings ENABLED).",
  rationale:
    "Vertex screens a call only with templates in the location it serves, and only in the integration's few " +
    "locations. A second region whose gateway calls Vertex elsewhere gives its tenants errors (template not found) " +
    "or no screening at all.",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps: steps(
    "Create the templates in each location the gateways call Vertex in, or send every region's Vertex calls to one",
    "supported location that has them (stack config vertexLocation; infra/config.ts refuses other combinations).",
    "Extend modelArmorVertexLocations only when Google's integration page lists a new location.",
  ),
  configSchema: {
    properties: {
      environment: ENVIRONMENT_PROPERTY,
      modelArmorVertexLocations: {
        type: "array",
        items: { type: "string" },
        default: [...MODEL_ARMOR_VERTEX_LOCATIONS],
        description:
          "Locations of Vertex AI's Model Armor integration (cloud.google.com/security-command-center/docs/" +
          "model-armor-vertex-integration).",
      },
    },
  },
  validateStack: (args, report) => {
    const config = configOf<ArmorRegionsConfig>(args, modelArmorInGatewayRegions.configSchema);
    const templates = args.resources.filter((r) => r.type === T.modelArmorTemplate);
    const prod = isProd(environmentOfStack(config.environment, args.resources));
    if (templates.length === 0 && !prod) args.notApplicable("No Model Armor template outside prod");
    const screening = new Set<string>();
    let unknownTemplate = false;
    for (const t of templates) {
      const enforcement = str(path(t.props, "filterConfig.piAndJailbreakFilterSettings.filterEnforcement"));
      const location = str(path(t.props, "location"));
      if (enforcement === UNKNOWN || location === UNKNOWN) unknownTemplate = true;
      else if (enforcement === "ENABLED" && typeof location === "string") screening.add(location);
    }
    for (const svc of args.resources.filter((r) => r.type === T.cloudRunService)) {
      const props = svc.props as CloudRunServiceProps;
      if (!isGatewayService(props)) continue;
      const location = envVar(props, GATEWAY_ENV.LOCATION)?.value;
      if (typeof location !== "string") continue;
      if (!config.modelArmorVertexLocations.includes(location)) {
        report(
          `Gateway service "${svc.name}" calls Vertex AI in ${location}, where Model Armor's Vertex integration is not ` +
            `offered (${config.modelArmorVertexLocations.join(", ")}): its tenants are not screened.`,
          svc.urn,
        );
      } else if (!screening.has(location) && !unknownTemplate) {
        report(
          `Gateway service "${svc.name}" calls Vertex AI in ${location}, but no enabled Model Armor prompt template ` +
            `lives there (templates in: ${[...screening].join(", ") || "none"}).`,
          svc.urn,
        );
      }
    }
  },
};

export const gatewayRules: Guardrail[] = [
  gatewayCapacityWithinCaps,
  gatewayBudgetKillSwitchWired,
  prodModelArmorTemplate,
  prodModelArmorReferenced,
  modelArmorInGatewayRegions,
];
