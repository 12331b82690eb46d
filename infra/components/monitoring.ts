/**
 * Alerting and observability: e-mail notification channels, alert policies (each notifies every channel) and the
 * dashboard. Uptime checks come after the gateways (uptime.ts), the SLOs and their burn-rate alerts in slos.ts.
 *
 * Two independent sources, so that one failing never silences both:
 * - the gateway's own metrics (latency, 5xx, upstream 429s, spend), PromQL over Managed Service for Prometheus, fed by
 *   the sidecar in gateway.ts (disableMetricValidation: the policies may exist before the first sample, pitfall 16);
 * - backstops on metrics Google writes without the sidecar: Cloud Run's request_count and request_latencies per
 *   region, the load balancer's request_count and total_latencies (prod), instance count, Redis memory, and the
 *   budget dead-letter backlog (Pub/Sub). Where instances are always warm (minInstances ≥ 1), an absence alert fires
 *   when the sidecar's series stop arriving: then the PromQL policies above cannot fire.
 * Metric types from Google's metrics list (run.googleapis.com, loadbalancing.googleapis.com, pubsub.googleapis.com,
 * redis.googleapis.com), checked December 2026.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { alertPolicy, promql, threshold, type AlertSpec } from "./alert-policy.js";
import { childOptions, NAMES, type Context } from "./common.js";
import { dashboardJson } from "./dashboard.js";
import { GATEWAY_METRICS as M, METRIC_LABELS as L, promMetricType } from "./metrics.js";

const runFilter = (metric: string, extra = "") =>
  `resource.type = "cloud_run_revision" AND resource.labels.service_name = "${NAMES.service}" AND ` +
  `metric.type = "run.googleapis.com/${metric}"${extra}`;
const lbFilter = (metric: string, extra = "") =>
  `resource.type = "https_lb_rule" AND resource.labels.forwarding_rule_name = "${NAMES.forwardingRule}" AND ` +
  `metric.type = "loadbalancing.googleapis.com/https/${metric}"${extra}`;

export class Monitoring extends pulumi.ComponentResource {
  readonly channels: gcp.monitoring.NotificationChannel[];
  readonly alertPolicies: gcp.monitoring.AlertPolicy[] = [];

  constructor(name: string, ctx: Context, opts?: pulumi.ComponentResourceOptions) {
    super("gemini-gateway:infra:Monitoring", name, {}, opts);
    const { cfg } = ctx;
    const project = cfg.projectId;

    this.channels = cfg.alertEmails.map(
      (email, i) =>
        new gcp.monitoring.NotificationChannel(
          `email-${i}`,
          { project, type: "email", displayName: `Gemini gateway on-call: ${email}`, labels: { email_address: email } },
          childOptions(this, ctx),
        ),
    );
    const alert = (id: string, spec: AlertSpec) =>
      this.alertPolicies.push(
        alertPolicy(
          id,
          spec,
          project,
          this.channels.map((c) => c.name),
          childOptions(this, ctx),
        ),
      );
    const ratio = (p: number) => p / 100;

    // --- the gateway's own metrics (through the sidecar) ---
    alert("latency-p95", {
      displayName: "Gateway p95 latency",
      severity: "WARNING",
      conditions: [
        promql(
          "Gateway p95 latency",
          `histogram_quantile(0.95, sum by (le) (rate(${M.requestDuration}_bucket{code_class="${L.codeClass2xx}"}[5m]))) > ${cfg.alertLatencyP95Ms / 1000}`,
          "300s",
        ),
      ],
      runbook:
        `p95 of successful model calls above ${cfg.alertLatencyP95Ms} ms for 5 minutes. Compare with the upstream ` +
        `duration and the overhead histogram (docs/metrics.md) to tell Vertex latency from the gateway's own.`,
    });
    alert("error-ratio-5xx", {
      displayName: "Gateway 5xx ratio",
      severity: "CRITICAL",
      conditions: [
        promql(
          "Gateway 5xx ratio",
          `sum(rate(${M.requests}{code_class="${L.codeClass5xx}"}[5m])) / sum(rate(${M.requests}[5m])) > ${ratio(cfg.alert5xxPercent)}`,
          "300s",
        ),
      ],
      runbook:
        `More than ${cfg.alert5xxPercent}% of model calls answered 5xx for 5 minutes. Check the audit log's error field ` +
        `and the upstream outcome breakdown; roll back (docs/operations.md) if it started with a deploy.`,
    });
    alert("upstream-429-ratio", {
      displayName: "Upstream 429 ratio",
      severity: "ERROR",
      conditions: [
        promql(
          "Upstream 429 ratio",
          `sum by (region) (rate(${M.upstreamDuration}_count{outcome="${L.outcomeRateLimited}"}[5m])) / ` +
            `sum by (region) (rate(${M.upstreamDuration}_count[5m])) > ${ratio(cfg.alertUpstream429Percent)}`,
          "600s",
        ),
      ],
      runbook:
        `More than ${cfg.alertUpstream429Percent}% of calls to Vertex AI rate-limited in a region for 10 minutes: ` +
        `Dynamic Shared Quota is short. Lower GATEWAY_CAPACITY, spread load across regions, or buy Provisioned Throughput.`,
    });
    alert("spend-rate", {
      displayName: "Gateway spend rate",
      severity: "ERROR",
      conditions: [
        promql("Gateway spend rate", `sum(rate(${M.cost}[1h])) * 3600 > ${cfg.alertSpendUsdPerHour}`, "900s"),
      ],
      runbook:
        `Spend at list prices above ${cfg.alertSpendUsdPerHour} USD/hour. Find the tenant on the dashboard ` +
        `(spend by tenant); its usdPerDay limit or the budget kill switch (docs/budget-kill-switch.md) can stop it.`,
    });

    // --- backstops on Google's own metrics (no sidecar involved) ---
    const byRegion = {
      perSeriesAligner: "ALIGN_RATE",
      crossSeriesReducer: "REDUCE_SUM",
      groupByFields: ["resource.label.location"],
    };
    alert("cloud-run-5xx-ratio", {
      displayName: "Cloud Run 5xx ratio (platform)",
      severity: "CRITICAL",
      conditions: [
        threshold(
          "Cloud Run 5xx ratio",
          runFilter("request_count", ` AND metric.labels.response_code_class = "5xx"`),
          byRegion,
          ratio(cfg.alert5xxPercent),
          "300s",
          runFilter("request_count"),
        ),
      ],
      runbook:
        `More than ${cfg.alert5xxPercent}% of requests in a region answered 5xx, as Cloud Run counts them (also when ` +
        `the metrics sidecar is down, and including instances that crashed before answering). Cloud Run also counts ` +
        `504s from clients' own deadlines, which the gateway's metric does not: compare with "Gateway 5xx ratio".`,
    });
    alert("cloud-run-latency-p95", {
      displayName: "Cloud Run p95 latency (platform)",
      severity: "WARNING",
      conditions: [
        threshold(
          "Cloud Run p95 latency",
          runFilter("request_latencies"),
          {
            perSeriesAligner: "ALIGN_PERCENTILE_95",
            crossSeriesReducer: "REDUCE_MAX",
            groupByFields: ["resource.label.location"],
          },
          cfg.alertLatencyP95Ms,
        ),
      ],
      runbook:
        `p95 of Cloud Run request latency above ${cfg.alertLatencyP95Ms} ms in a region for 5 minutes (streams count ` +
        `their whole duration). Independent of the metrics sidecar.`,
    });
    if (cfg.domain) {
      const lb = { perSeriesAligner: "ALIGN_RATE", crossSeriesReducer: "REDUCE_SUM" };
      alert("load-balancer-5xx-ratio", {
        displayName: "Load balancer 5xx ratio (platform)",
        severity: "CRITICAL",
        conditions: [
          threshold(
            "Load balancer 5xx ratio",
            lbFilter("request_count", " AND metric.labels.response_code_class = 500"),
            lb,
            ratio(cfg.alert5xxPercent),
            "300s",
            lbFilter("request_count"),
          ),
        ],
        runbook:
          `More than ${cfg.alert5xxPercent}% of requests at the load balancer answered 5xx: what clients on ` +
          `${cfg.domain} see, including backends that were unreachable (no healthy region).`,
      });
      alert("load-balancer-latency-p95", {
        displayName: "Load balancer p95 latency (platform)",
        severity: "WARNING",
        conditions: [
          threshold(
            "Load balancer p95 latency",
            lbFilter("total_latencies"),
            { perSeriesAligner: "ALIGN_PERCENTILE_95", crossSeriesReducer: "REDUCE_MAX" },
            cfg.alertLatencyP95Ms,
          ),
        ],
        runbook: `p95 at the load balancer above ${cfg.alertLatencyP95Ms} ms for 5 minutes (clients' view).`,
      });
    }
    if (cfg.minInstances >= 1) {
      alert("gateway-metrics-absent", {
        displayName: "Gateway metrics absent",
        severity: "ERROR",
        conditions: [
          {
            displayName: "No gateway_inflight_requests series for 10 minutes",
            conditionAbsent: {
              filter: `resource.type = "prometheus_target" AND metric.type = "${promMetricType(M.inflight, "gauge")}"`,
              duration: "600s",
              aggregations: [
                { alignmentPeriod: "300s", perSeriesAligner: "ALIGN_MEAN", crossSeriesReducer: "REDUCE_SUM" },
              ],
              trigger: { count: 1 },
            },
          },
        ],
        runbook:
          `Every warm instance exports gateway_inflight_requests each scrape; none arrived for 10 minutes, so the ` +
          `PromQL alerts and the SLOs are blind. Check the collector container's logs (mirrored image, gmp-config ` +
          `secret, monitoring.metricWriter) and cpuIdle false. The platform backstops still watch 5xx and latency.`,
      });
    }
    alert("budget-dead-letters", {
      displayName: "Budget notifications dead-lettered",
      severity: "ERROR",
      conditions: [
        threshold(
          "Undelivered budget notifications in the dead-letter subscription",
          `resource.type = "pubsub_subscription" AND resource.labels.subscription_id = "${NAMES.budgetDeadLetterSubscription}" ` +
            `AND metric.type = "pubsub.googleapis.com/subscription/num_undelivered_messages"`,
          { perSeriesAligner: "ALIGN_MAX" },
          0,
          "60s",
        ),
      ],
      runbook:
        `Budget notifications the gateway refused ten times are waiting in ${NAMES.budgetDeadLetterSubscription}: the ` +
        `kill switch missed those updates. Read them (gcloud pubsub subscriptions pull ${NAMES.budgetDeadLetterSubscription} ` +
        `--project ${project}), fix the cause (OIDC audience or push account mismatch, gateway down), then check ` +
        `GET /admin/budget (docs/budget-kill-switch.md).`,
    });

    const instanceThreshold = Math.max(1, Math.floor((cfg.maxInstances * cfg.alertInstancesPercent) / 100));
    alert("instances-near-max", {
      displayName: "Gateway instances near max",
      severity: "WARNING",
      conditions: [
        threshold(
          "Gateway instances near max",
          runFilter("container/instance_count"),
          {
            perSeriesAligner: "ALIGN_MAX",
            crossSeriesReducer: "REDUCE_SUM",
            groupByFields: ["resource.label.location"],
          },
          instanceThreshold,
        ),
      ],
      runbook:
        `More than ${instanceThreshold} of ${cfg.maxInstances} instances in a region for 5 minutes: requests will ` +
        `queue then fail at the limit. Raise maxInstances (and check upstream capacity) or find the traffic source.`,
    });
    alert("redis-memory", {
      displayName: "Memorystore memory usage",
      severity: "WARNING",
      conditions: [
        threshold(
          "Memorystore memory usage",
          `resource.type = "redis_instance" AND metric.type = "redis.googleapis.com/stats/memory/usage_ratio"`,
          { perSeriesAligner: "ALIGN_MEAN" },
          ratio(cfg.alertRedisMemoryPercent),
        ),
      ],
      runbook:
        `Redis above ${cfg.alertRedisMemoryPercent}% of its memory: cached answers are evicted first (volatile-lru), ` +
        `then quota windows. Raise redisMemoryGb or lower the cache TTLs.`,
    });

    new gcp.monitoring.Dashboard(
      "dashboard",
      { project, dashboardJson: dashboardJson(cfg.environment) },
      childOptions(this, ctx),
    );
    this.registerOutputs({ channels: this.channels.map((c) => c.name) });
  }
}
