/**
 * An authenticated uptime check on /healthz of each region's gateway (its run.app host: Google's checkers are internal
 * callers even with load-balancer-only ingress), and an alert when one fails. The checks sign their requests with an
 * OIDC token of the Monitoring service agent, which each gateway grants run.invoker (gateway.ts): the checks wait for
 * those grants, which wait for the agent's ServiceIdentity (service-agents.ts).
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { alertPolicy, threshold } from "./alert-policy.js";
import { childOptions, PATHS, runAppHost, type Context } from "./common.js";

export interface UptimeChecksArgs {
  projectNumber: pulumi.Input<string>;
  /** region → the invoker grants its check needs (the Monitoring agent's run.invoker, with its propagation wait). */
  regions: Record<string, readonly pulumi.Resource[]>;
  notificationChannels: readonly pulumi.Input<string>[];
}

export class UptimeChecks extends pulumi.ComponentResource {
  readonly checks: gcp.monitoring.UptimeCheckConfig[] = [];

  constructor(name: string, args: UptimeChecksArgs, ctx: Context, opts?: pulumi.ComponentResourceOptions) {
    super("gemini-gateway:infra:UptimeChecks", name, {}, opts);
    const { cfg } = ctx;
    for (const [region, grants] of Object.entries(args.regions)) {
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
            labels: { project_id: cfg.projectId, host: runAppHost(args.projectNumber, region) },
          },
        },
        childOptions(this, ctx, { dependsOn: [...grants] }),
      );
      this.checks.push(check);
      alertPolicy(
        `uptime-${region}`,
        {
          displayName: `Gateway ${region} uptime`,
          severity: "CRITICAL",
          conditions: [
            threshold(
              `Gateway ${region} uptime`,
              pulumi.interpolate`metric.type = "monitoring.googleapis.com/uptime_check/check_passed" AND resource.type = "uptime_url" AND metric.labels.check_id = "${check.uptimeCheckId}"`,
              {
                alignmentPeriod: "1200s",
                perSeriesAligner: "ALIGN_NEXT_OLDER",
                crossSeriesReducer: "REDUCE_COUNT_FALSE",
                groupByFields: ["resource.label.host"],
              },
              1,
              "600s",
            ),
          ],
          runbook: `${PATHS.healthz} of the ${region} gateway failing from more than one checker location for 10 minutes.`,
        },
        cfg.projectId,
        args.notificationChannels,
        childOptions(this, ctx),
      );
    }
    this.registerOutputs({ checks: this.checks.map((c) => c.uptimeCheckId) });
  }
}
