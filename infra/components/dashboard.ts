/**
 * The operations dashboard as Cloud Monitoring dashboardJson: the gateway's own metrics through PromQL (Managed
 * Service for Prometheus) next to Cloud Run's and Memorystore's built-in metrics. Built from data so that the JSON is
 * deterministic (stable diffs in the plan snapshot).
 */
import { GATEWAY_METRICS as M } from "./metrics.js";

interface Tile {
  title: string;
  /** A PromQL query, or a Monitoring filter for built-in metrics. */
  promql?: string;
  filter?: string;
  aligner?: string;
  reducer?: string;
  groupBy?: string[];
}

const TILES: Tile[] = [
  { title: "Model calls per second by code class", promql: `sum by (code_class) (rate(${M.requests}[5m]))` },
  {
    title: "5xx share of model calls",
    promql: `sum(rate(${M.requests}{code_class="5xx"}[5m])) / sum(rate(${M.requests}[5m]))`,
  },
  {
    title: "p95 latency of successful calls (s)",
    promql: `histogram_quantile(0.95, sum by (le) (rate(${M.requestDuration}_bucket{code_class="2xx"}[5m])))`,
  },
  {
    title: "p95 time to first token by model (s)",
    promql: `histogram_quantile(0.95, sum by (le, model) (rate(${M.timeToFirstToken}_bucket[5m])))`,
  },
  {
    title: "Upstream calls rate-limited (429) by region",
    promql: `sum by (region) (rate(${M.upstreamDuration}_count{outcome="rate_limited"}[5m])) / sum by (region) (rate(${M.upstreamDuration}_count[5m]))`,
  },
  { title: "Spend at list prices (USD per hour) by tenant", promql: `sum by (tenant) (rate(${M.cost}[1h])) * 3600` },
  { title: "Tokens per second by type", promql: `sum by (type) (rate(${M.tokens}[5m]))` },
  { title: "Quota refusals per minute by scope", promql: `sum by (scope) (rate(${M.rateLimitRejections}[5m])) * 60` },
  { title: "Budget refusals per minute by scope", promql: `sum by (scope) (rate(${M.budgetRejections}[5m])) * 60` },
  { title: "Admission queue depth by priority", promql: `sum by (priority) (${M.queueDepth})` },
  { title: "Quota store errors per minute", promql: `sum(rate(${M.storeErrors}[5m])) * 60` },
  {
    title: "Cloud Run instances by region",
    filter: 'metric.type="run.googleapis.com/container/instance_count" resource.type="cloud_run_revision"',
    aligner: "ALIGN_MAX",
    reducer: "REDUCE_SUM",
    groupBy: ["resource.label.location"],
  },
  {
    title: "Memorystore memory usage ratio",
    filter: 'metric.type="redis.googleapis.com/stats/memory/usage_ratio" resource.type="redis_instance"',
    aligner: "ALIGN_MEAN",
    reducer: "REDUCE_MAX",
  },
];

function dataSet(tile: Tile): Record<string, unknown> {
  if (tile.promql) return { plotType: "LINE", timeSeriesQuery: { prometheusQuery: tile.promql } };
  return {
    plotType: "LINE",
    timeSeriesQuery: {
      timeSeriesFilter: {
        filter: tile.filter,
        aggregation: {
          alignmentPeriod: "60s",
          perSeriesAligner: tile.aligner,
          crossSeriesReducer: tile.reducer,
          ...(tile.groupBy ? { groupByFields: tile.groupBy } : {}),
        },
      },
    },
  };
}

export function dashboardJson(environment: string): string {
  const width = 24;
  const height = 16;
  return JSON.stringify({
    displayName: `Gemini gateway (${environment})`,
    mosaicLayout: {
      columns: 48,
      tiles: TILES.map((tile, i) => ({
        xPos: (i % 2) * width,
        yPos: Math.floor(i / 2) * height,
        width,
        height,
        widget: { title: tile.title, xyChart: { dataSets: [dataSet(tile)] } },
      })),
    },
  });
}
