/**
 * Service level objectives as code: a Cloud Monitoring service for the gateway and, per environment, three SLOs with
 * targets from stack config — availability (calls not answered 5xx), the gateway's own overhead, and time to first
 * token — each watched by multi-window, multi-burn-rate alert policies as in Google's SRE workbook ("Alerting on
 * SLOs", recommended parameters): page when 2% of the period's error budget burns in 1 hour (confirmed over 5
 * minutes) or 5% in 6 hours (over 30 minutes), open a ticket when 10% burns in 3 days (over 6 hours). A burn-rate
 * threshold is that fraction of the budget × the period / the long window (14.4, 6 and 1 for 30 days).
 *
 * The SLIs read the gateway's Prometheus metrics as Managed Service for Prometheus writes them
 * (prometheus.googleapis.com/<name>/<kind>, resource prometheus_target): request-based good/total ratios and
 * distribution cuts at a histogram bucket bound (infra/config.ts checks the bound). A client's own deadline is a 4xx
 * (decision 0013), so 5xx are the gateway's and its upstream's failures. Burn rates are read with the
 * select_slo_burn_rate selector in a threshold condition (Cloud Monitoring, "Creating an alerting policy" for SLOs).
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { alertPolicy, type AlertSpec } from "./alert-policy.js";
import { childOptions, NAMES, type Context } from "./common.js";
import { GATEWAY_METRICS as M, METRIC_LABELS as L, promMetricType } from "./metrics.js";

/** The SRE workbook's multiwindow, multi-burn-rate tiers. */
export const BURN_RATE_TIERS = [
  { id: "fast", budgetFraction: 0.02, longSeconds: 3600, shortSeconds: 300, severity: "CRITICAL", action: "page" },
  { id: "slow", budgetFraction: 0.05, longSeconds: 21600, shortSeconds: 1800, severity: "ERROR", action: "page" },
  {
    id: "ticket",
    budgetFraction: 0.1,
    longSeconds: 259200,
    shortSeconds: 21600,
    severity: "WARNING",
    action: "ticket",
  },
] as const;

/** The burn rate at which `budgetFraction` of a `periodDays` error budget is spent within `longSeconds`. */
export const burnRateThreshold = (budgetFraction: number, periodDays: number, longSeconds: number): number =>
  Math.round(((budgetFraction * periodDays * 86_400) / longSeconds) * 1000) / 1000;

/** A percent as the fraction Cloud Monitoring takes (99.9 → 0.999, without binary noise). */
const fraction = (percent: number) => Number((percent / 100).toFixed(6));

const prometheus = (metric: string, kind: "counter" | "histogram", extra = "") =>
  `metric.type = "${promMetricType(metric, kind)}" AND resource.type = "prometheus_target"${extra}`;

export interface Objective {
  id: string;
  displayName: string;
  /** Fraction of good events, e.g. 0.999. */
  goal: number;
  sli: gcp.types.input.monitoring.SloRequestBasedSli;
  runbook: string;
}

/** The three objectives, from stack config. */
export function objectives(cfg: Context["cfg"]): Objective[] {
  return [
    {
      id: "availability",
      displayName: `Model calls not answered 5xx: ${cfg.sloAvailabilityPercent}%`,
      goal: fraction(cfg.sloAvailabilityPercent),
      sli: {
        goodTotalRatio: {
          badServiceFilter: prometheus(M.requests, "counter", ` AND metric.labels.code_class = "${L.codeClass5xx}"`),
          totalServiceFilter: prometheus(M.requests, "counter"),
        },
      },
      runbook:
        "Model calls answered 5xx are spending the availability budget. Check the 5xx alerts, the upstream outcome " +
        "breakdown and recent deploys (docs/operations.md, Rollback).",
    },
    {
      id: "overhead",
      displayName: `Gateway overhead within ${cfg.sloOverheadMs} ms: ${cfg.sloOverheadPercent}%`,
      goal: fraction(cfg.sloOverheadPercent),
      sli: {
        distributionCut: {
          distributionFilter: prometheus(M.overhead, "histogram"),
          range: { min: 0, max: cfg.sloOverheadMs / 1000 },
        },
      },
      runbook:
        "The gateway's own time per call (duration minus upstream wait) is over its objective: admission queueing, " +
        "Redis latency, CPU (instances near max, cpuIdle). docs/metrics.md, gateway_overhead_seconds.",
    },
    {
      id: "first-token",
      displayName: `Streams' first token within ${cfg.sloFirstTokenMs} ms: ${cfg.sloFirstTokenPercent}%`,
      goal: fraction(cfg.sloFirstTokenPercent),
      sli: {
        distributionCut: {
          distributionFilter: prometheus(M.timeToFirstToken, "histogram"),
          range: { min: 0, max: cfg.sloFirstTokenMs / 1000 },
        },
      },
      runbook:
        "Streams wait too long for their first chunk: upstream latency (gateway_upstream_duration_seconds by region), " +
        "retries and failover, or queueing. Compare with the overhead SLO to tell the gateway from Vertex.",
    },
  ];
}

export interface SlosArgs {
  notificationChannels: readonly pulumi.Input<string>[];
}

export class Slos extends pulumi.ComponentResource {
  readonly service: gcp.monitoring.CustomService;
  readonly slos: gcp.monitoring.Slo[] = [];
  readonly alertPolicies: gcp.monitoring.AlertPolicy[] = [];

  constructor(name: string, args: SlosArgs, ctx: Context, opts?: pulumi.ComponentResourceOptions) {
    super("gemini-gateway:infra:Slos", name, {}, opts);
    const { cfg } = ctx;
    const project = cfg.projectId;
    this.service = new gcp.monitoring.CustomService(
      "slo-service",
      { project, serviceId: NAMES.sloService, displayName: `Gemini gateway (${cfg.environment})` },
      childOptions(this, ctx),
    );
    for (const objective of objectives(cfg)) {
      this.slos.push(
        new gcp.monitoring.Slo(
          `slo-${objective.id}`,
          {
            project,
            service: NAMES.sloService,
            sloId: objective.id,
            displayName: objective.displayName,
            goal: objective.goal,
            rollingPeriodDays: cfg.sloPeriodDays,
            requestBasedSli: objective.sli,
          },
          childOptions(this, ctx, { dependsOn: [this.service] }),
        ),
      );
      // Known at preview: projects/<id>/services/<service>/serviceLevelObjectives/<slo>.
      const sloName = `projects/${project}/services/${NAMES.sloService}/serviceLevelObjectives/${objective.id}`;
      for (const tier of BURN_RATE_TIERS) {
        const burn = burnRateThreshold(tier.budgetFraction, cfg.sloPeriodDays, tier.longSeconds);
        const condition = (seconds: number) => ({
          displayName: `${objective.id}: burn rate above ${burn} over ${seconds / 60} min`,
          conditionThreshold: {
            filter: `select_slo_burn_rate("${sloName}", "${seconds}s")`,
            comparison: "COMPARISON_GT",
            thresholdValue: burn,
            duration: "0s",
            trigger: { count: 1 },
          },
        });
        const spec: AlertSpec = {
          displayName: `SLO ${objective.id}: ${tier.budgetFraction * 100}% of the error budget in ${tier.longSeconds / 3600} h`,
          severity: tier.severity,
          combiner: "AND",
          conditions: [condition(tier.longSeconds), condition(tier.shortSeconds)],
          runbook:
            `${tier.action === "page" ? "Page" : "Ticket"}: at this rate ${tier.budgetFraction * 100}% of the ` +
            `${cfg.sloPeriodDays}-day error budget of "${objective.displayName}" burns within ` +
            `${tier.longSeconds / 3600} h (still burning over the last ${tier.shortSeconds / 60} min). ${objective.runbook}`,
        };
        this.alertPolicies.push(
          alertPolicy(
            `slo-${objective.id}-${tier.id}`,
            spec,
            project,
            args.notificationChannels,
            childOptions(this, ctx, { dependsOn: [this.slos[this.slos.length - 1]!] }),
          ),
        );
      }
    }
    this.registerOutputs({ service: this.service.name });
  }
}
