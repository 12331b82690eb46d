/** Stack-level guardrails: a budget that can alert, and alerts for what breaks a Gemini gateway. */
import { ALERT_KINDS, kindsOf, type AlertKind } from "../lib/alerts.js";
import { steps } from "../lib/guardrail.js";
import { T, type Guardrail, type StackGuardrail } from "../lib/types.js";
import { items, path, str, UNKNOWN } from "../lib/values.js";

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

export const stackRules: Guardrail[] = [budgetConfigured, alertPoliciesPresent];
