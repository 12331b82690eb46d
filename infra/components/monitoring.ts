/**
 * Alerting and observability: e-mail notification channels, alert policies (each notifies every channel), an uptime
 * check on /healthz per region, and the dashboard.
 *
 * Gateway metrics (latency, 5xx, upstream 429s, spend) are PromQL over Managed Service for Prometheus, fed by the
 * sidecar in gateway.ts. disableMetricValidation lets those policies exist before the first sample arrives
 * (pitfall 16). Instance count and Redis memory use Cloud Run's and Memorystore's built-in metrics.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { childOptions, NAMES, PATHS, runAppHost, type Context } from "./common.js";
import { dashboardJson } from "./dashboard.js";
import { GATEWAY_METRICS as M, METRIC_LABELS as L } from "./metrics.js";

export interface MonitoringArgs {
  projectNumber: pulumi.Output<string>;
}

export class Monitoring extends pulumi.ComponentResource {
  readonly channels: gcp.monitoring.NotificationChannel[];
  readonly alertPolicies: gcp.monitoring.AlertPolicy[] = [];
  readonly uptimeChecks: gcp.monitoring.UptimeCheckConfig[] = [];
  private readonly ctx: Context;
  private readonly projectNumber: pulumi.Output<string>;

  constructor(name: string, args: MonitoringArgs, ctx: Context, opts?: pulumi.ComponentResourceOptions) {
    super("gemini-gateway:infra:Monitoring", name, {}, opts);
    this.ctx = ctx;
    const { cfg } = ctx;
    const project = cfg.projectId;
    this.projectNumber = args.projectNumber;

    this.channels = cfg.alertEmails.map(
      (email, i) =>
        new gcp.monitoring.NotificationChannel(
          `email-${i}`,
          { project, type: "email", displayName: `Gemini gateway on-call: ${email}`, labels: { email_address: email } },
          childOptions(this, ctx),
        ),
    );

    const threshold = (p: number) => p / 100;
    this.promqlPolicy(
      "latency-p95",
      "Gateway p95 latency",
      `histogram_quantile(0.95, sum by (le) (rate(${M.requestDuration}_bucket{code_class="${L.codeClass2xx}"}[5m]))) > ${cfg.alertLatencyP95Ms / 1000}`,
      "300s",
      "WARNING",
      `p95 of successful model calls above ${cfg.alertLatencyP95Ms} ms for 5 minutes. Compare with the upstream ` +
        `duration and the overhead histogram (docs/metrics.md) to tell Vertex latency from the gateway's own.`,
    );
    this.promqlPolicy(
      "error-ratio-5xx",
      "Gateway 5xx ratio",
      `sum(rate(${M.requests}{code_class="${L.codeClass5xx}"}[5m])) / sum(rate(${M.requests}[5m])) > ${threshold(cfg.alert5xxPercent)}`,
      "300s",
      "CRITICAL",
      `More than ${cfg.alert5xxPercent}% of model calls answered 5xx for 5 minutes. Check the audit log's error field ` +
        `and the upstream outcome breakdown; roll back (docs/operations.md) if it started with a deploy.`,
    );
    this.promqlPolicy(
      "upstream-429-ratio",
      "Upstream 429 ratio",
      `sum by (region) (rate(${M.upstreamDuration}_count{outcome="${L.outcomeRateLimited}"}[5m])) / ` +
        `sum by (region) (rate(${M.upstreamDuration}_count[5m])) > ${threshold(cfg.alertUpstream429Percent)}`,
      "600s",
      "ERROR",
      `More than ${cfg.alertUpstream429Percent}% of calls to Vertex AI rate-limited in a region for 10 minutes: ` +
        `Dynamic Shared Quota is short. Lower GATEWAY_CAPACITY, spread load across regions, or buy Provisioned Throughput.`,
    );
    this.promqlPolicy(
      "spend-rate",
      "Gateway spend rate",
      `sum(rate(${M.cost}[1h])) * 3600 > ${cfg.alertSpendUsdPerHour}`,
      "900s",
      "ERROR",
      `Spend at list prices above ${cfg.alertSpendUsdPerHour} USD/hour. Find the tenant on the dashboard ` +
        `(spend by tenant); its usdPerDay limit or the budget kill switch (docs/budget-kill-switch.md) can stop it.`,
    );

    const instanceThreshold = Math.max(1, Math.floor((cfg.maxInstances * cfg.alertInstancesPercent) / 100));
    this.thresholdPolicy(
      "instances-near-max",
      "Gateway instances near max",
      `resource.type = "cloud_run_revision" AND resource.labels.service_name = "${NAMES.service}" AND metric.type = "run.googleapis.com/container/instance_count"`,
      { perSeriesAligner: "ALIGN_MAX", crossSeriesReducer: "REDUCE_SUM", groupByFields: ["resource.label.location"] },
      instanceThreshold,
      "WARNING",
      `More than ${instanceThreshold} of ${cfg.maxInstances} instances in a region for 5 minutes: requests will ` +
        `queue then fail at the limit. Raise maxInstances (and check upstream capacity) or find the traffic source.`,
    );
    this.thresholdPolicy(
      "redis-memory",
      "Memorystore memory usage",
      `resource.type = "redis_instance" AND metric.type = "redis.googleapis.com/stats/memory/usage_ratio"`,
      { perSeriesAligner: "ALIGN_MEAN" },
      threshold(cfg.alertRedisMemoryPercent),
      "WARNING",
      `Redis above ${cfg.alertRedisMemoryPercent}% of its memory: cached answers are evicted first (volatile-lru), ` +
        `then quota windows. Raise redisMemoryGb or lower the cache TTLs.`,
    );

    new gcp.monitoring.Dashboard(
      "dashboard",
      { project, dashboardJson: dashboardJson(cfg.environment) },
      childOptions(this, ctx),
    );
    this.registerOutputs({ channels: this.channels.map((c) => c.name) });
  }

  /** The Monitoring service agent, which signs uptime checks' OIDC tokens (gateway.ts grants it run.invoker). */
  get agentMember(): pulumi.Output<string> {
    return pulumi.interpolate`serviceAccount:service-${this.projectNumber}@gcp-sa-monitoring-notification.iam.gserviceaccount.com`;
  }

  /** An authenticated uptime check on /healthz of one region's gateway, and an alert when it fails. */
  addUptimeCheck(region: string, grants: readonly pulumi.Resource[]): void {
    const { cfg } = this.ctx;
    const check = new gcp.monitoring.UptimeCheckConfig(
      `uptime-${region}`,
      {
        project: cfg.projectId,
        displayName: `Gateway ${region} ${PATHS.healthz}`,
        period: "60s",
        timeout: "10s",
        checkerType: "STATIC_IP_CHECKERS",
        httpCheck: {
          path: PATHS.healthz,
          port: 443,
          useSsl: true,
          validateSsl: true,
          requestMethod: "GET",
          serviceAgentAuthentication: { type: "OIDC_TOKEN" },
          acceptedResponseStatusCodes: [{ statusClass: "STATUS_CLASS_2XX" }],
        },
        monitoredResource: {
          type: "uptime_url",
          labels: { project_id: cfg.projectId, host: runAppHost(this.projectNumber, region) },
        },
      },
      childOptions(this, this.ctx, { dependsOn: [...grants] }),
    );
    this.uptimeChecks.push(check);
    this.thresholdPolicy(
      `uptime-${region}`,
      `Gateway ${region} uptime`,
      pulumi.interpolate`metric.type = "monitoring.googleapis.com/uptime_check/check_passed" AND resource.type = "uptime_url" AND metric.labels.check_id = "${check.uptimeCheckId}"`,
      {
        alignmentPeriod: "1200s",
        perSeriesAligner: "ALIGN_NEXT_OLDER",
        crossSeriesReducer: "REDUCE_COUNT_FALSE",
        groupByFields: ["resource.label.host"],
      },
      1,
      "CRITICAL",
      `${PATHS.healthz} of the ${region} gateway failing from more than one checker location for 10 minutes.`,
      "600s",
    );
  }

  private notify() {
    return {
      notificationChannels: this.channels.map((c) => c.name),
      alertStrategy: { autoClose: "1800s" },
    };
  }

  private promqlPolicy(
    id: string,
    displayName: string,
    query: string,
    duration: string,
    severity: string,
    runbook: string,
  ): void {
    this.policy(id, displayName, severity, runbook, {
      displayName,
      conditionPrometheusQueryLanguage: { query, duration, evaluationInterval: "60s", disableMetricValidation: true },
    });
  }

  private thresholdPolicy(
    id: string,
    displayName: string,
    filter: pulumi.Input<string>,
    aggregation: {
      alignmentPeriod?: string;
      perSeriesAligner: string;
      crossSeriesReducer?: string;
      groupByFields?: string[];
    },
    thresholdValue: number,
    severity: string,
    runbook: string,
    duration = "300s",
  ): void {
    this.policy(id, displayName, severity, runbook, {
      displayName,
      conditionThreshold: {
        filter,
        comparison: "COMPARISON_GT",
        thresholdValue,
        duration,
        aggregations: [{ alignmentPeriod: "60s", ...aggregation }],
        trigger: { count: 1 },
      },
    });
  }

  /** One alert policy with one condition, its runbook, and the environment's notification channels. */
  private policy(
    id: string,
    displayName: string,
    severity: string,
    runbook: string,
    condition: gcp.types.input.monitoring.AlertPolicyCondition,
  ): void {
    this.alertPolicies.push(
      new gcp.monitoring.AlertPolicy(
        `alert-${id}`,
        {
          project: this.ctx.cfg.projectId,
          displayName,
          combiner: "OR",
          severity,
          conditions: [condition],
          documentation: { mimeType: "text/markdown", subject: displayName, content: runbook },
          ...this.notify(),
        },
        childOptions(this, this.ctx),
      ),
    );
  }
}
