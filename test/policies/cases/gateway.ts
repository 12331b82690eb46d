import { T } from "../../../policies/lib/types.js";
import {
  PUSH_URL,
  remove,
  removeEnv,
  resource,
  set,
  setEnv,
  UNKNOWN_VALUE,
  unset,
  type RuleCases,
} from "../fixtures.js";

export const gatewayCases: RuleCases[] = [
  {
    rule: "gateway-capacity-within-caps",
    compliant: [
      { title: "20 × 80 and 3120 rpm / 5M tpm under the default caps" },
      {
        title: "capacity computed at deploy time (not known yet)",
        mutate: (rs) => setEnv(rs, "GATEWAY_CAPACITY", UNKNOWN_VALUE),
      },
      {
        title: "capacity from a secret",
        mutate: (rs) => {
          removeEnv(rs, "GATEWAY_CAPACITY");
          (
            resource(rs, "gateway").inputs["template"] as { containers: { envs: unknown[] }[] }
          ).containers[0]?.envs.push({
            name: "GATEWAY_CAPACITY",
            valueSource: { secretKeyRef: { secret: "capacity", version: "2" } },
          });
        },
      },
      {
        title: "a non-gateway service needs no GATEWAY_CAPACITY",
        resources: () => [
          {
            type: T.cloudRunService,
            name: "docs-site",
            inputs: {
              location: "us-central1",
              template: { scaling: { maxInstanceCount: 2 }, containers: [{ image: "x" }] },
            },
          },
        ],
      },
    ],
    violating: [
      {
        title: "max instances over the cap",
        config: { maxInstances: 10 },
        message: /20 instances, over the cap of 10 \(20 × 80 = 1600 concurrent requests; cap 2500\)/,
        resource: "gateway",
      },
      {
        title: "concurrency over the cap",
        mutate: (rs) => set(resource(rs, "gateway"), "template.maxInstanceRequestConcurrency", 1000),
        message: /1000 concurrent requests per instance/,
      },
      {
        title: "requests per minute over the cap",
        config: { "gateway-capacity-within-caps": { maxRequestsPerMinute: 3000 } },
        message: /3120 requestsPerMinute in total, over maxRequestsPerMinute 3000/,
      },
      {
        title: "tokens per minute over the cap",
        config: { maxTokensPerMinute: 4_000_000 },
        message: /5000000 tokensPerMinute/,
      },
      {
        title: "an entry with no token bound",
        mutate: (rs) =>
          setEnv(
            rs,
            "GATEWAY_CAPACITY",
            JSON.stringify({ models: [{ model: "gemini-2.5-pro", requestsPerMinute: 120 }] }),
          ),
        message: /no tokensPerMinute for gemini-2\.5-pro/,
      },
      {
        title: "no GATEWAY_CAPACITY on the gateway",
        mutate: (rs) => removeEnv(rs, "GATEWAY_CAPACITY"),
        message: /does not set GATEWAY_CAPACITY/,
      },
      {
        title: "GATEWAY_CAPACITY that is not JSON",
        mutate: (rs) => setEnv(rs, "GATEWAY_CAPACITY", "models: flash=3000"),
        message: /not valid JSON/,
      },
    ],
  },
  {
    rule: "gateway-budget-kill-switch-wired",
    compliant: [
      { title: "topic, push subscription with OIDC, env matching" },
      {
        title: "endpoint and topic not known yet (service URL and topic id are outputs)",
        mutate: (rs) => {
          set(resource(rs, "budget-push"), "pushConfig.pushEndpoint", UNKNOWN_VALUE);
          set(resource(rs, "budget-push"), "topic", UNKNOWN_VALUE);
          set(resource(rs, "budget"), "allUpdatesRule.pubsubTopic", UNKNOWN_VALUE);
        },
      },
      {
        title: "audience defaults to the endpoint",
        mutate: (rs) => unset(resource(rs, "budget-push"), "pushConfig.oidcToken.audience"),
      },
    ],
    violating: [
      {
        title: "the budget has no topic",
        mutate: (rs) => unset(resource(rs, "budget"), "allUpdatesRule.pubsubTopic"),
        message: /no allUpdatesRule\.pubsubTopic/,
        resource: "budget",
      },
      {
        title: "no schemaVersion with the topic",
        mutate: (rs) => unset(resource(rs, "budget"), "allUpdatesRule.schemaVersion"),
        message: /schemaVersion/,
      },
      {
        title: "no push subscription to the endpoint",
        mutate: (rs) => remove(rs, "budget-push"),
        message: /No Pub\/Sub subscription pushes/,
      },
      {
        title: "a push to another path",
        mutate: (rs) =>
          set(resource(rs, "budget-push"), "pushConfig.pushEndpoint", "https://gateway.example.com/alerts"),
        message: /No Pub\/Sub subscription pushes/,
      },
      {
        title: "no OIDC token",
        mutate: (rs) => unset(resource(rs, "budget-push"), "pushConfig.oidcToken"),
        message: /without an oidcToken/,
        resource: "budget-push",
      },
      {
        title: "a subscription on another topic",
        mutate: (rs) => set(resource(rs, "budget-push"), "topic", "projects/p/topics/other"),
        message: /not the budget's/,
      },
      {
        title: "the gateway does not set the push audience",
        mutate: (rs) => removeEnv(rs, "GATEWAY_BUDGET_PUSH_AUDIENCE"),
        message: /kill switch is off/,
        resource: "gateway",
      },
      {
        title: "the gateway expects another audience",
        mutate: (rs) => setEnv(rs, "GATEWAY_BUDGET_PUSH_AUDIENCE", `${PUSH_URL}-old`),
        message: /401/,
      },
      {
        title: "the gateway expects another service account",
        mutate: (rs) => setEnv(rs, "GATEWAY_BUDGET_PUSH_SERVICE_ACCOUNT", "someone@p.iam.gserviceaccount.com"),
        message: /403/,
      },
    ],
  },
  {
    rule: "prod-model-armor-template",
    compliant: [
      { title: "prod: a template with the PI and jailbreak filter on" },
      { title: "dev needs no template", env: "dev", mutate: (rs) => remove(rs, "prompt-template") },
      {
        title: "enforcement not known yet",
        mutate: (rs) =>
          set(
            resource(rs, "prompt-template"),
            "filterConfig.piAndJailbreakFilterSettings.filterEnforcement",
            UNKNOWN_VALUE,
          ),
      },
    ],
    violating: [
      { title: "prod without a template", mutate: (rs) => remove(rs, "prompt-template"), message: /no Model Armor/ },
      {
        title: "the PI and jailbreak filter disabled",
        mutate: (rs) =>
          set(
            resource(rs, "prompt-template"),
            "filterConfig.piAndJailbreakFilterSettings.filterEnforcement",
            "DISABLED",
          ),
        message: /prompt-injection and jailbreak filter/,
      },
      {
        title: "no PI and jailbreak settings at all",
        mutate: (rs) => unset(resource(rs, "prompt-template"), "filterConfig.piAndJailbreakFilterSettings"),
      },
      {
        title: "prod taken from the stack name in URNs when config does not say",
        config: { environment: "" },
        resources: () => [
          {
            type: T.cloudRunService,
            name: "gateway",
            urn: "urn:pulumi:prod::gemini-gateway::gcp:cloudrunv2/service:Service::gateway",
            inputs: {},
          },
        ],
        message: /no Model Armor/,
      },
    ],
  },
  {
    rule: "prod-model-armor-referenced",
    compliant: [
      { title: "prod: referenced by the tenants secret version" },
      { title: "dev is not checked", env: "dev", mutate: (rs) => remove(rs, "tenants-v1") },
      {
        title: "referenced from a Cloud Run env var",
        mutate: (rs) => {
          remove(rs, "tenants-v1");
          setEnv(rs, "MODEL_ARMOR_TEMPLATE", "projects/gw-prod-1234/locations/us-central1/templates/gateway-prompt");
        },
      },
      {
        title: "the tenants file is computed at deploy time (not known yet)",
        mutate: (rs) => set(resource(rs, "tenants-v1"), "secretData", UNKNOWN_VALUE),
      },
      {
        title: "the tenants secret's value hidden in a captured run (<secret>)",
        mutate: (rs) => set(resource(rs, "tenants-v1"), "secretData", "<secret>"),
      },
    ],
    violating: [
      {
        title: "declared but referenced nowhere",
        mutate: (rs) => remove(rs, "tenants-v1"),
        message: /nothing in the stack references it/,
        resource: null,
      },
      {
        title: "a reference to another template with a longer id does not count",
        mutate: (rs) =>
          set(
            resource(rs, "tenants-v1"),
            "secretData",
            JSON.stringify({
              tenants: [{ modelArmor: { promptTemplate: "projects/p/locations/l/templates/gateway-prompt-v2" } }],
            }),
          ),
        message: /nothing in the stack references it/,
      },
    ],
  },
  {
    rule: "model-armor-in-gateway-regions",
    compliant: [
      { title: "the gateway calls Vertex where its enabled template is" },
      {
        env: "dev",
        title: "dev without templates",
        mutate: (rs) => {
          remove(rs, "prompt-template");
          setEnv(rs, "GOOGLE_CLOUD_LOCATION", "europe-west1");
        },
      },
    ],
    violating: [
      {
        title: "a region where Vertex's Model Armor integration is not offered",
        mutate: (rs) => setEnv(rs, "GOOGLE_CLOUD_LOCATION", "europe-west1"),
        message: /calls Vertex AI in europe-west1, where Model Armor's Vertex integration is not offered/,
        resource: "gateway",
      },
      {
        title: "a supported location without a template there",
        mutate: (rs) => setEnv(rs, "GOOGLE_CLOUD_LOCATION", "us-east4"),
        message: /no enabled Model Armor prompt template lives there \(templates in: us-central1\)/,
      },
      {
        title: "the template there does not screen prompt injection",
        mutate: (rs) =>
          set(
            resource(rs, "prompt-template"),
            "filterConfig.piAndJailbreakFilterSettings.filterEnforcement",
            "DISABLED",
          ),
        message: /templates in: none/,
      },
    ],
  },
];
