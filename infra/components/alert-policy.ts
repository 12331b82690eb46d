/**
 * One alert policy: its conditions, a runbook, and the environment's notification channels. Shared by the components
 * that alert (monitoring.ts, uptime.ts, slos.ts) so every policy notifies and auto-closes the same way.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

export type Condition = gcp.types.input.monitoring.AlertPolicyCondition;

export interface AlertSpec {
  displayName: string;
  severity: "CRITICAL" | "ERROR" | "WARNING";
  runbook: string;
  conditions: Condition[];
  /** OR (default): any condition fires; AND: every condition at once (multi-window burn rates). */
  combiner?: "OR" | "AND";
}

export function alertPolicy(
  id: string,
  spec: AlertSpec,
  project: string,
  channels: readonly pulumi.Input<string>[],
  opts: pulumi.CustomResourceOptions,
): gcp.monitoring.AlertPolicy {
  return new gcp.monitoring.AlertPolicy(
    `alert-${id}`,
    {
      project,
      displayName: spec.displayName,
      combiner: spec.combiner ?? "OR",
      severity: spec.severity,
      conditions: spec.conditions,
      documentation: { mimeType: "text/markdown", subject: spec.displayName, content: spec.runbook },
      notificationChannels: [...channels],
      alertStrategy: { autoClose: "1800s" },
    },
    opts,
  );
}

/** A PromQL condition over Managed Service for Prometheus; it may exist before the first sample (pitfall 16). */
export const promql = (displayName: string, query: string, duration: string): Condition => ({
  displayName,
  conditionPrometheusQueryLanguage: { query, duration, evaluationInterval: "60s", disableMetricValidation: true },
});

export interface Aggregation {
  alignmentPeriod?: string;
  perSeriesAligner: string;
  crossSeriesReducer?: string;
  groupByFields?: string[];
}

/** A threshold on a Cloud Monitoring filter (built-in metrics), optionally as a ratio over a denominator filter. */
export const threshold = (
  displayName: string,
  filter: pulumi.Input<string>,
  aggregation: Aggregation,
  thresholdValue: number,
  duration = "300s",
  denominatorFilter?: string,
): Condition => ({
  displayName,
  conditionThreshold: {
    filter,
    comparison: "COMPARISON_GT",
    thresholdValue,
    duration,
    aggregations: [{ alignmentPeriod: "60s", ...aggregation }],
    ...(denominatorFilter
      ? { denominatorFilter, denominatorAggregations: [{ alignmentPeriod: "60s", ...aggregation }] }
      : {}),
    trigger: { count: 1 },
  },
});
