/**
 * Recognising what an alert policy watches, from the text of its conditions only (display names are not trusted):
 * conditionThreshold.filter / denominatorFilter, conditionAbsent.filter, conditionMatchedLog.filter,
 * conditionMonitoringQueryLanguage.query, conditionPrometheusQueryLanguage.query and conditionSql.query.
 *
 * - latency: the text mentions "latenc" (run.googleapis.com/request_latencies), histogram_quantile or percentile,
 *   or "duration" without being a `_count` series (gateway_request_duration_seconds_bucket is latency;
 *   gateway_upstream_duration_seconds_count{outcome="rate_limited"} is a count of calls, not latency);
 * - 5xx: the text mentions 5xx (code_class="5xx", response_code_class="5xx"), response_code="5..",
 *   response_code_class = 500 (the load balancer's numeric class) or outcome="server_error";
 * - upstream 429: the text mentions 429, RESOURCE_EXHAUSTED or rate_limited (outcome="rate_limited" on
 *   gateway_upstream_duration_seconds). The gateway's own refusals (gateway_rate_limit_rejections_total) do not
 *   count: they are the quota working, not Vertex pushing back.
 *
 * One policy may cover several kinds.
 */
import { knownItems, path, walkStrings } from "./values.js";

export type AlertKind = "latency" | "5xx" | "upstream-429";
export const ALERT_KINDS: readonly AlertKind[] = ["latency", "5xx", "upstream-429"];

const CONDITION_TEXT_FIELDS = [
  "conditionThreshold.filter",
  "conditionThreshold.denominatorFilter",
  "conditionAbsent.filter",
  "conditionMatchedLog.filter",
  "conditionMonitoringQueryLanguage.query",
  "conditionPrometheusQueryLanguage.query",
  "conditionSql.query",
];

/** The condition texts of an alert policy's props (unknown parts skipped). */
export function conditionTexts(props: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const condition of knownItems(path(props, "conditions") as unknown[]).values) {
    for (const field of CONDITION_TEXT_FIELDS) walkStrings(path(condition, field), (s) => out.push(s));
  }
  return out;
}

export function classify(text: string): Set<AlertKind> {
  const kinds = new Set<AlertKind>();
  if (/latenc|histogram_quantile|percentile/i.test(text) || (/duration/i.test(text) && !/_count\b/i.test(text))) {
    kinds.add("latency");
  }
  if (/5xx|response_code(_class)?\s*[=:]\s*"?5\d\d|server_error/i.test(text)) kinds.add("5xx");
  if (/\b429\b|RESOURCE_EXHAUSTED|rate_limited/i.test(text)) kinds.add("upstream-429");
  return kinds;
}

export function kindsOf(props: Record<string, unknown>): Set<AlertKind> {
  const kinds = new Set<AlertKind>();
  for (const t of conditionTexts(props)) for (const k of classify(t)) kinds.add(k);
  return kinds;
}

/** Metric prefixes Google writes without the gateway's metrics sidecar (Cloud Run, the load balancer). */
export const PLATFORM_METRIC = /\b(run\.googleapis\.com|loadbalancing\.googleapis\.com)\//;

/** Each condition of an alert policy: its kinds, its text, and whether it is an absence condition. */
export function conditionsOf(
  props: Record<string, unknown>,
): { kinds: Set<AlertKind>; text: string; absent: boolean; threshold: Record<string, unknown> | undefined }[] {
  return knownItems(path(props, "conditions") as unknown[]).values.map((condition) => {
    const texts: string[] = [];
    for (const field of CONDITION_TEXT_FIELDS) walkStrings(path(condition, field), (s) => texts.push(s));
    const text = texts.join("\n");
    const absent = path(condition, "conditionAbsent") !== undefined && path(condition, "conditionAbsent") !== null;
    const threshold = path(condition, "conditionThreshold") as Record<string, unknown> | undefined;
    return { kinds: classify(text), text, absent, threshold: threshold ?? undefined };
  });
}
