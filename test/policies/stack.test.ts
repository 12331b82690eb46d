import { describe, expect, it } from "vitest";
import { classify } from "../../policies/lib/alerts.js";
import { stackCases } from "./cases/stack.js";
import { expectCompliant, expectViolating } from "./fixtures.js";

for (const c of stackCases) {
  describe(c.rule, () => {
    for (const v of c.compliant) it(`accepts: ${v.title}`, () => expectCompliant(c.rule, v));
    for (const v of c.violating) it(`reports: ${v.title}`, () => expectViolating(c.rule, v));
  });
}

describe("alert recognition (lib/alerts.ts)", () => {
  const cases: [string, string[]][] = [
    // docs/metrics.md's PromQL
    [
      'sum by (tenant) (rate(gateway_requests_total{code_class="5xx"}[5m])) / sum by (tenant) (rate(gateway_requests_total[5m]))',
      ["5xx"],
    ],
    [
      'histogram_quantile(0.99, sum by (le) (rate(gateway_request_duration_seconds_bucket{code_class="2xx"}[5m])))',
      ["latency"],
    ],
    [
      'sum by (region) (rate(gateway_upstream_duration_seconds_count{outcome="rate_limited"}[5m])) / sum by (region) (rate(gateway_upstream_duration_seconds_count[5m]))',
      ["upstream-429"],
    ],
    ["sum by (scope) (rate(gateway_rate_limit_rejections_total[5m])) * 60", []],
    // Cloud Monitoring filters on Cloud Run's built-in metrics
    ['metric.type="run.googleapis.com/request_latencies" resource.type="cloud_run_revision"', ["latency"]],
    ['metric.type="run.googleapis.com/request_count" metric.labels.response_code_class="5xx"', ["5xx"]],
    ['metric.type="run.googleapis.com/request_count" metric.labels.response_code="503"', ["5xx"]],
    // the load balancer's numeric class
    [
      'metric.type = "loadbalancing.googleapis.com/https/request_count" AND metric.labels.response_code_class = 500',
      ["5xx"],
    ],
    ['metric.type = "loadbalancing.googleapis.com/https/total_latencies"', ["latency"]],
    ['metric.type="prometheus.googleapis.com/gateway_request_duration_seconds/histogram"', ["latency"]],
    ['jsonPayload.upstream.status=429 OR jsonPayload.error.status="RESOURCE_EXHAUSTED"', ["upstream-429"]],
    ['sum(rate(gateway_upstream_duration_seconds_count{outcome="server_error"}[5m]))', ["5xx"]],
  ];
  for (const [text, kinds] of cases) {
    it(`${kinds.join("+") || "nothing"} ← ${text.slice(0, 70)}`, () => {
      expect([...classify(text)].sort()).toEqual(kinds);
    });
  }
});
