/**
 * Stack-level guardrails: a budget that can alert, alerts for what breaks a Gemini gateway — also when its metrics
 * sidecar is down — the budget's dead letters watched, and service level objectives with burn-rate alerts in prod.
 * They concern stacks that run a workload (a project or Cloud Run services), not a seed stack (lib/workload.ts).
 */
import type { PolicyResource } from "@pulumi/policy";
import { ALERT_KINDS, conditionsOf, kindsOf, PLATFORM_METRIC, type AlertKind } from "../lib/alerts.js";
import { isGatewayService, minInstancesOf, type CloudRunServiceProps } from "../lib/cloudrun.js";
import { configOf, ENVIRONMENT_PROPERTY } from "../lib/config.js";
import { environmentOfStack, isProd } from "../lib/environment.js";
import { steps } from "../lib/guardrail.js";
import { T, type Guardrail, type StackGuardrail } from "../lib/types.js";
import { isKnown, items, knownItems, path, str, UNKNOWN } from "../lib/values.js";
import { isWorkloadStack } from "../lib/workload.js";

export const budgetConfigured: StackGuardrail = {
  name: "budget-configured",
  category: "stack",
  description:
    "The stack declares exactly one billing budget (gcp:billing/budget:Budget) with a FORECASTED_SPEND and a " +
    "CURRENT_SPEND threshold rule (a rule without spendBasis is CURRENT_SPEND) and a target: " +
    "allUpdatesRule.pubsubTopic or allUpdatesRule.monitoringNotificationChannels.",
  rationale:
    "Gemini spend scales with traffic and nothing upstream caps it; the budget is the backstop that tells people " +
    "(forecast: before the month is gone) and feeds the gateway's kill switch. Two budgets on one project drift " +
    "apart and double-alert.",
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps: steps(
    "Declare one gcp.billing.Budget filtered to the project (budgetFilter.projects: [`projects/${number}`]) with",
    'thresholdRules [{ thresholdPercent: 0.8 }, { thresholdPercent: 1.0, spendBasis: "FORECASTED_SPEND" }] and',
    'allUpdatesRule { pubsubTopic, schemaVersion: "1.0", monitoringNotificationChannels }.',
  ),
  configSchema: { properties: {} },
  validateStack: (args, report) => {
    if (!isWorkloadStack(args.resources)) args.notApplicable("No project or Cloud Run service: not an environment");
    const budgets = args.resources.filter((r) => r.type === T.budget);
    if (budgets.length === 0) {
      report("The stack declares no billing budget (gcp:billing/budget:Budget).");
      return;
    }
    if (budgets.length > 1) {
      report(
        `The stack declares ${budgets.length} budgets (${budgets.map((b) => b.name).join(", ")}); keep exactly one.`,
      );
    }
    for (const b of budgets) {
      const rules = items(path(b.props, "thresholdRules") as unknown[]);
      if (rules !== UNKNOWN) {
        const bases = new Set<string>();
        let unknownBasis = false;
        for (const rule of rules) {
          const basis = str(path(rule, "spendBasis"));
          if (basis === UNKNOWN || rule === UNKNOWN) unknownBasis = true;
          else bases.add(basis ?? "CURRENT_SPEND");
        }
        const missing = ["FORECASTED_SPEND", "CURRENT_SPEND"].filter((s) => !bases.has(s));
        if (missing.length > 0 && !unknownBasis) {
          report(`Budget "${b.name}" has no ${missing.join(" or ")} threshold rule.`, b.urn);
        }
      }
      const topic = str(path(b.props, "allUpdatesRule.pubsubTopic"));
      const channels = items(path(b.props, "allUpdatesRule.monitoringNotificationChannels") as unknown[]);
      const hasTopic = topic === UNKNOWN || (typeof topic === "string" && topic !== "");
      const hasChannels = channels === UNKNOWN || channels.length > 0;
      if (!hasTopic && !hasChannels) {
        report(
          `Budget "${b.name}" notifies nobody: set allUpdatesRule.pubsubTopic or monitoringNotificationChannels.`,
          b.urn,
        );
      }
    }
  },
};

const KIND_TEXT: Record<AlertKind, string> = {
  latency: "latency (request_latencies / *_duration_seconds_bucket)",
  "5xx": 'server errors (code_class="5xx" / response_code_class)',
  "upstream-429": 'upstream 429s (outcome="rate_limited" / RESOURCE_EXHAUSTED)',
};

export const alertPoliciesPresent: StackGuardrail = {
  name: "alert-policies-present",
  category: "stack",
  description:
    "The stack declares Cloud Monitoring alert policies for latency, 5xx errors and upstream 429s (recognised from " +
    "their condition filter/query text, see docs), each with at least one notification channel; and no alert " +
    "policy is without a notification channel.",
  rationale:
    "These are the three ways the gateway fails its callers: slow answers, errors, and Vertex's Dynamic Shared " +
    "Quota pushing back. An alert with no channel pages nobody.",
  severity: "medium",
  enforcementLevel: "mandatory",
  remediationSteps: steps(
    "Add gcp.monitoring.AlertPolicy resources whose conditions query e.g.",
    "histogram_quantile(0.99, sum by (le) (rate(gateway_request_duration_seconds_bucket[5m]))),",
    'sum(rate(gateway_requests_total{code_class="5xx"}[5m])) / sum(rate(gateway_requests_total[5m])) and',
    'sum(rate(gateway_upstream_duration_seconds_count{outcome="rate_limited"}[5m])) (see docs/metrics.md),',
    "each with notificationChannels: [channel.name].",
  ),
  configSchema: { properties: {} },
  validateStack: (args, report) => {
    if (!isWorkloadStack(args.resources)) args.notApplicable("No project or Cloud Run service: not an environment");
    const policies = args.resources.filter((r) => r.type === T.alertPolicy);
    const covered = new Map<AlertKind, boolean>(); // kind → some matching policy has a channel
    for (const p of policies) {
      const channels = items(path(p.props, "notificationChannels") as unknown[]);
      const hasChannel = channels === UNKNOWN || channels.length > 0;
      if (!hasChannel) {
        report(`Alert policy "${p.name}" has no notificationChannels: it notifies nobody.`, p.urn);
      }
      for (const k of kindsOf(p.props)) covered.set(k, (covered.get(k) ?? false) || hasChannel);
    }
    for (const kind of ALERT_KINDS) {
      if (!covered.has(kind)) report(`No alert policy watches ${KIND_TEXT[kind]}.`);
      else if (covered.get(kind) === false) {
        report(`The alert policies watching ${KIND_TEXT[kind]} have no notification channel.`);
      }
    }
  },
};

const hasChannel = (p: PolicyResource) => {
  const channels = items(path(p.props, "notificationChannels") as unknown[]);
  return channels === UNKNOWN || channels.length > 0;
};
const lastSegment = (s: string) => s.slice(s.lastIndexOf("/") + 1);
const BACKLOG_METRIC = /pubsub\.googleapis\.com\/subscription\/(num_undelivered_messages|oldest_unacked_message_age)/;

export const deadLettersWatched: StackGuardrail = {
  name: "dead-letters-watched",
  category: "stack",
  description:
    "Every Pub/Sub subscription with a deadLetterPolicy has its dead-letter topic kept by a subscription, and an alert " +
    "policy with a notification channel watches that subscription's backlog " +
    "(pubsub.googleapis.com/subscription/num_undelivered_messages or oldest_unacked_message_age, naming its " +
    "subscription_id).",
  rationale:
    "A dead letter is a budget notification the gateway refused ten times: the kill switch missed that update. " +
    "A topic without a subscription drops what it receives, and a backlog nobody watches is found when the month's " +
    "bill arrives.",
  severity: "medium",
  enforcementLevel: "mandatory",
  remediationSteps: steps(
    "Subscribe to the dead-letter topic (messageRetentionDuration 7 days, no expiry) and add an alert policy:",
    'conditionThreshold.filter \'resource.type = "pubsub_subscription" AND resource.labels.subscription_id =',
    '"<name>" AND metric.type = "pubsub.googleapis.com/subscription/num_undelivered_messages"\' above 0, with',
    "notificationChannels (infra/components/monitoring.ts).",
  ),
  configSchema: { properties: {} },
  validateStack: (args, report) => {
    const subscriptions = args.resources.filter((r) => r.type === T.pubsubSubscription);
    const policies = args.resources.filter((r) => r.type === T.alertPolicy);
    for (const sub of subscriptions) {
      const deadLetter = str(path(sub.props, "deadLetterPolicy.deadLetterTopic"));
      if (typeof deadLetter !== "string" || deadLetter === "") continue;
      const keepers = subscriptions.filter((k) => {
        const topic = str(path(k.props, "topic"));
        return typeof topic === "string" && lastSegment(topic) === lastSegment(deadLetter);
      });
      if (keepers.length === 0) {
        report(
          `Dead-letter topic ${deadLetter} of "${sub.name}" has no subscription: dead letters are dropped.`,
          sub.urn,
        );
        continue;
      }
      const names = keepers.map((k) => str(path(k.props, "name"))).filter((n): n is string => typeof n === "string");
      if (names.length < keepers.length) continue; // a keeper's name is not known yet
      const watched = policies.some(
        (p) =>
          hasChannel(p) &&
          conditionsOf(p.props).some(
            (c) =>
              BACKLOG_METRIC.test(c.text) &&
              names.some((n) => new RegExp(`subscription_id\\s*=\\s*"${n}"`).test(c.text)),
          ),
      );
      if (!watched) {
        report(
          `No alert policy with a notification channel watches the backlog of ${names.join(", ")}, where "${sub.name}" ` +
            "dead-letters what it cannot deliver.",
          sub.urn,
        );
      }
    }
  },
};

export const platformMetricBackstops: StackGuardrail = {
  name: "platform-metric-backstops",
  category: "stack",
  description:
    "A stack running the gateway on Cloud Run alerts on 5xx and on latency from metrics Google writes itself " +
    "(run.googleapis.com/…, loadbalancing.googleapis.com/…), each with a notification channel — not only from the " +
    "gateway's Prometheus metrics; and where a gateway keeps warm instances (minInstanceCount ≥ 1), an absence " +
    "condition (conditionAbsent) fires when the gateway's Prometheus series stop arriving.",
  rationale:
    "The gateway's metrics reach Cloud Monitoring through a sidecar. If it stops — a bad mirror, a missing role, CPU " +
    "throttled — every PromQL alert goes quiet exactly when something is wrong. Google's own request metrics do not " +
    "depend on it, and an absence alert says the sidecar is gone.",
  severity: "medium",
  enforcementLevel: "mandatory",
  remediationSteps: steps(
    "Add threshold conditions on run.googleapis.com/request_count (response_code_class 5xx over all requests, a",
    "denominatorFilter) and run.googleapis.com/request_latencies (ALIGN_PERCENTILE_95), or the load balancer's",
    "loadbalancing.googleapis.com/https/request_count and total_latencies, and a conditionAbsent on",
    "prometheus.googleapis.com/gateway_inflight_requests/gauge (infra/components/monitoring.ts).",
  ),
  configSchema: { properties: {} },
  validateStack: (args, report) => {
    const services = args.resources.filter(
      (r) => r.type === T.cloudRunService && isGatewayService(r.props as CloudRunServiceProps),
    );
    if (services.length === 0) args.notApplicable("No gateway service on Cloud Run");
    const conditions = args.resources
      .filter((r) => r.type === T.alertPolicy && hasChannel(r))
      .flatMap((p) => conditionsOf(p.props));
    for (const kind of ["5xx", "latency"] as const) {
      if (!conditions.some((c) => c.kinds.has(kind) && PLATFORM_METRIC.test(c.text))) {
        report(
          `No alert policy watches ${kind === "5xx" ? "server errors" : "latency"} on Google's own metrics ` +
            "(run.googleapis.com/ or loadbalancing.googleapis.com/): if the metrics sidecar stops, nothing fires.",
        );
      }
    }
    const warm = services.some((s) => {
      const min = minInstancesOf(s.props as CloudRunServiceProps);
      return isKnown(min) && typeof min === "number" && min >= 1;
    });
    if (warm && !conditions.some((c) => c.absent && c.text.includes("prometheus.googleapis.com/"))) {
      report(
        "Gateway services keep warm instances, but no absence condition (conditionAbsent) watches their Prometheus " +
          "series: a stopped metrics sidecar goes unnoticed.",
      );
    }
  },
};

const SLO_SCHEMA = { properties: { environment: ENVIRONMENT_PROPERTY } };
const BURN_RATE = /select_slo_burn_rate\(\s*"([^"]+)"\s*,\s*"?(\d+)([smhd]?)"?\s*\)/;
const SECONDS: Record<string, number> = { "": 1, s: 1, m: 60, h: 3600, d: 86400 };

export const prodSlosWithBurnRateAlerts: StackGuardrail = {
  name: "prod-slos-with-burn-rate-alerts",
  category: "stack",
  description:
    "In prod, the stack declares Cloud Monitoring SLOs (gcp:monitoring/slo:Slo) for availability (a request-based " +
    "good/total ratio) and for latency (a distribution cut), and every SLO is watched by an alert policy that " +
    "combines with AND at least two select_slo_burn_rate conditions on it with different lookback windows (a " +
    "multi-window burn rate), with a notification channel.",
  rationale:
    "Availability and latency targets are the service level the gateway promises its tenants; alerting on the rate " +
    "at which the error budget burns, over a long and a short window, pages early for fast burns and stays quiet for " +
    'blips (Google SRE workbook, "Alerting on SLOs").',
  severity: "high",
  enforcementLevel: "mandatory",
  remediationSteps: steps(
    "Declare a gcp.monitoring.CustomService and gcp.monitoring.Slo resources (requestBasedSli.goodTotalRatio for",
    "availability, requestBasedSli.distributionCut for latency), and per SLO an alert policy with combiner AND and",
    'conditions select_slo_burn_rate("projects/<p>/services/<s>/serviceLevelObjectives/<slo>", "3600s") and',
    '(…, "300s") above the same burn rate (infra/components/slos.ts).',
  ),
  configSchema: SLO_SCHEMA,
  validateStack: (args, report) => {
    const { environment } = configOf<{ environment: string }>(args, SLO_SCHEMA);
    if (!isProd(environmentOfStack(environment, args.resources))) args.notApplicable("Only applies to prod");
    if (!isWorkloadStack(args.resources)) args.notApplicable("No project or Cloud Run service: not an environment");
    const slos = args.resources.filter((r) => r.type === T.slo);
    const has = (field: string) => slos.some((s) => path(s.props, field) !== undefined);
    if (!has("requestBasedSli.goodTotalRatio"))
      report("Prod declares no availability SLO (requestBasedSli.goodTotalRatio).");
    if (!has("requestBasedSli.distributionCut"))
      report("Prod declares no latency SLO (requestBasedSli.distributionCut).");

    // SLO name → the lookbacks of each AND-combined, notifying policy's burn-rate conditions on it.
    const windows = new Map<string, Set<number>[]>();
    for (const p of args.resources.filter((r) => r.type === T.alertPolicy)) {
      if (!hasChannel(p) || str(path(p.props, "combiner")) !== "AND") continue;
      const perSlo = new Map<string, Set<number>>();
      for (const c of knownItems(path(p.props, "conditions") as unknown[]).values) {
        const filter = str(path(c, "conditionThreshold.filter"));
        const m = typeof filter === "string" ? BURN_RATE.exec(filter) : null;
        if (!m) continue;
        const set = perSlo.get(m[1]!) ?? new Set<number>();
        set.add(Number(m[2]) * SECONDS[m[3] ?? ""]!);
        perSlo.set(m[1]!, set);
      }
      for (const [name, set] of perSlo) windows.set(name, [...(windows.get(name) ?? []), set]);
    }
    for (const slo of slos) {
      const [project, service, id] = ["project", "service", "sloId"].map((k) => str(path(slo.props, k)));
      if (![project, service, id].every((v) => typeof v === "string")) continue;
      const name = `projects/${String(project)}/services/${String(service)}/serviceLevelObjectives/${String(id)}`;
      if (!(windows.get(name) ?? []).some((set) => set.size >= 2)) {
        report(
          `SLO "${slo.name}" has no multi-window burn-rate alert: no AND-combined policy with a channel and two ` +
            `select_slo_burn_rate("${name}", …) conditions of different lookbacks.`,
          slo.urn,
        );
      }
    }
  },
};

export const stackRules: Guardrail[] = [
  budgetConfigured,
  alertPoliciesPresent,
  deadLettersWatched,
  platformMetricBackstops,
  prodSlosWithBurnRateAlerts,
];
