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
        mutate: (rs) => remove(rs, "latency-alert"),
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
];
