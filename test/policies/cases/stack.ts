import { T } from "../../../policies/lib/types.js";
import { alert, remove, resource, set, UNKNOWN_VALUE, unset, type RuleCases } from "../fixtures.js";

export const stackCases: RuleCases[] = [
  {
    rule: "budget-configured",
    compliant: [
      { title: "one budget: 80% current, 100% forecast, topic and channel" },
      {
        title: "channels only (no topic) still notify someone",
        mutate: (rs) => unset(resource(rs, "budget"), "allUpdatesRule.pubsubTopic"),
      },
      {
        title: "a topic not known yet",
        mutate: (rs) => {
          set(resource(rs, "budget"), "allUpdatesRule.pubsubTopic", UNKNOWN_VALUE);
          unset(resource(rs, "budget"), "allUpdatesRule.monitoringNotificationChannels");
        },
      },
    ],
    violating: [
      { title: "no budget", mutate: (rs) => remove(rs, "budget"), message: /no billing budget/, resource: null },
      {
        title: "two budgets",
        mutate: (rs) => rs.push({ ...resource(rs, "budget"), name: "budget-2" }),
        message: /2 budgets/,
      },
      {
        title: "no forecast rule",
        mutate: (rs) =>
          set(resource(rs, "budget"), "thresholdRules", [{ thresholdPercent: 0.5 }, { thresholdPercent: 1 }]),
        message: /FORECASTED_SPEND/,
        resource: "budget",
      },
      {
        title: "forecast only (no current-spend rule)",
        mutate: (rs) =>
          set(resource(rs, "budget"), "thresholdRules", [{ thresholdPercent: 1, spendBasis: "FORECASTED_SPEND" }]),
        message: /CURRENT_SPEND/,
      },
      {
        title: "notifies nobody",
        mutate: (rs) => unset(resource(rs, "budget"), "allUpdatesRule"),
        message: /notifies nobody/,
      },
    ],
  },
  {
    rule: "alert-policies-present",
    compliant: [
      { title: "latency (PromQL), 5xx (Cloud Run filter), upstream 429 (PromQL)" },
      {
        title: "one MQL policy covering several kinds, channels not known yet",
        mutate: (rs) => {
          remove(rs, "latency-alert", "errors-alert", "upstream-429-alert");
          rs.push(
            alert(
              "combined",
              {
                conditionMonitoringQueryLanguage: {
                  query:
                    "fetch cloud_run_revision | metric 'run.googleapis.com/request_latencies' | percentile 99 ; " +
                    "fetch prometheus_target | metric 'prometheus.googleapis.com/gateway_requests_total/counter' " +
                    "| filter metric.code_class == '5xx' ; filter metric.outcome == 'rate_limited'",
                  duration: "300s",
                },
              },
              [UNKNOWN_VALUE],
            ),
          );
        },
      },
    ],
    violating: [
      {
        title: "no upstream 429 alert",
        mutate: (rs) => remove(rs, "upstream-429-alert"),
        message: /upstream 429s/,
        resource: null,
      },
      {
        title: "the gateway's own 429s are not upstream 429s",
        mutate: (rs) => {
          remove(rs, "upstream-429-alert");
          rs.push(
            alert("quota-alert", {
              conditionPrometheusQueryLanguage: { query: "sum(rate(gateway_rate_limit_rejections_total[5m])) > 1" },
            }),
          );
        },
        message: /upstream 429s/,
      },
      {
        title: "a 429 count is not latency",
        mutate: (rs) => remove(rs, "latency-alert", "platform-latency-alert"),
        message: /latency/,
      },
      {
        title: "a 5xx alert without notification channels",
        mutate: (rs) => set(resource(rs, "errors-alert"), "notificationChannels", []),
        message: /notifies nobody/,
        resource: "errors-alert",
      },
      {
        title: "no alert policies at all",
        mutate: (rs) => {
          for (let i = rs.length - 1; i >= 0; i--) if (rs[i]?.type === T.alertPolicy) rs.splice(i, 1);
        },
        message: /latency/,
      },
    ],
  },
  {
    rule: "dead-letters-watched",
    compliant: [
      { title: "the dead-letter topic kept by a subscription whose backlog an alert watches" },
      {
        title: "no dead-letter policy at all",
        mutate: (rs) => {
          unset(resource(rs, "budget-push"), "deadLetterPolicy");
          remove(rs, "dead-letter-alert");
        },
      },
    ],
    violating: [
      {
        title: "nothing keeps the dead letters",
        mutate: (rs) => remove(rs, "dead-letters"),
        message: /has no subscription: dead letters are dropped/,
        resource: "budget-push",
      },
      {
        title: "nobody watches the backlog",
        mutate: (rs) => remove(rs, "dead-letter-alert"),
        message: /No alert policy with a notification channel watches the backlog of budget-alerts-dead-inspect/,
      },
      {
        title: "the alert watches another subscription",
        mutate: (rs) =>
          set(
            resource(rs, "dead-letter-alert"),
            "conditions.0.conditionThreshold.filter",
            'resource.labels.subscription_id = "budget-push" AND metric.type = "pubsub.googleapis.com/subscription/num_undelivered_messages"',
          ),
        message: /watches the backlog/,
      },
    ],
  },
  {
    rule: "platform-metric-backstops",
    compliant: [
      { title: "Cloud Run 5xx and latency, and the sidecar's absence" },
      {
        env: "dev",
        title: "dev scales to zero: no absence alert needed",
        mutate: (rs) => remove(rs, "metrics-absent-alert"),
      },
    ],
    violating: [
      {
        title: "5xx only from the gateway's own metrics",
        mutate: (rs) => remove(rs, "errors-alert"),
        message: /server errors on Google's own metrics/,
        resource: null,
      },
      {
        title: "latency only from the gateway's own metrics",
        mutate: (rs) => remove(rs, "platform-latency-alert"),
        message: /latency on Google's own metrics/,
      },
      {
        title: "warm instances and no absence alert",
        mutate: (rs) => remove(rs, "metrics-absent-alert"),
        message: /no absence condition/,
      },
    ],
  },
  {
    rule: "prod-slos-with-burn-rate-alerts",
    compliant: [
      { title: "availability and latency SLOs, each with a two-window burn-rate alert" },
      {
        env: "dev",
        title: "dev may go without",
        mutate: (rs) => remove(rs, "slo-availability", "slo-latency", "slo-availability-burn", "slo-latency-burn"),
      },
    ],
    violating: [
      {
        title: "no latency SLO",
        mutate: (rs) => remove(rs, "slo-latency", "slo-latency-burn"),
        message: /no latency SLO/,
        resource: null,
      },
      {
        title: "a burn-rate alert on one window only",
        mutate: (rs) => {
          const conditions = (resource(rs, "slo-availability-burn").inputs.conditions as unknown[]).slice(0, 1);
          set(resource(rs, "slo-availability-burn"), "conditions", conditions);
        },
        message: /SLO "slo-availability" has no multi-window burn-rate alert/,
        resource: "slo-availability",
      },
      {
        title: "two windows combined with OR (pages on every blip)",
        mutate: (rs) => set(resource(rs, "slo-latency-burn"), "combiner", "OR"),
        resource: "slo-latency",
      },
      {
        title: "a burn-rate alert that notifies nobody",
        mutate: (rs) => set(resource(rs, "slo-latency-burn"), "notificationChannels", []),
        resource: "slo-latency",
      },
    ],
  },
];
