/**
 * The last stage of every call: one CallRecord goes to the audit log, the metrics and the unusual-usage watch.
 * Kept apart from the pipeline so the pipeline reads as the order of stages, and this file as what gets counted.
 */
import { totalTokens } from "../accounting/cost.js";
import type { AuditLog } from "./audit.js";
import type { CallRecord } from "./call-record.js";
import { codeClass, type GatewayMetrics } from "./metrics.js";
import type { UsageWatch } from "./usage-watch.js";

export type CallRecorder = (record: CallRecord) => void;

export function createCallRecorder(metrics: GatewayMetrics, audit: AuditLog, usage: UsageWatch): CallRecorder {
  const m = metrics;
  return (r) => {
    audit(r);

    const model = m.modelLabel(r.model);
    const tenant = r.tenant ?? "none";
    const cls = codeClass(r.status, r.error?.kind);
    m.requests.inc({ surface: r.surface, model, tenant, code_class: cls });
    m.requestDuration.observe({ surface: r.surface, model, code_class: cls }, r.durationMs / 1000);
    m.overhead.observe({ surface: r.surface }, r.overheadMs / 1000);

    const up = r.upstream;
    if (up) {
      const labels = { provider: up.provider, region: up.region, model, outcome: up.outcome };
      m.upstreamDuration.observe(labels, up.durationMs / 1000);
      if (r.stream && up.firstChunkMs !== undefined) {
        m.timeToFirstToken.observe({ provider: up.provider, model }, up.firstChunkMs / 1000);
      }
    }
    if (r.tokens && r.tenant) {
      const t = r.tokens;
      m.tokens.inc({ model, tenant, type: "input" }, t.input + t.toolUsePrompt);
      m.tokens.inc({ model, tenant, type: "output" }, t.output);
      m.tokens.inc({ model, tenant, type: "cached_input" }, t.cachedInput);
      m.tokens.inc({ model, tenant, type: "reasoning" }, t.thinking);
      usage.add(r.tenant, totalTokens(t));
    }
    if (r.cost && r.tenant) m.costUsd.inc({ model, tenant }, r.cost.totalUsd);
    if (r.unpriced) m.unpricedCalls.inc({ model });
    m.cacheResults.inc({ result: r.cache });
    if (r.savedUsd && r.tenant) m.cacheSavedUsd.inc({ tenant }, r.savedUsd);
    if (r.injection?.flagged) {
      for (const category of r.injection.categories.length ? r.injection.categories : ["unspecified"]) {
        m.injectionDetections.inc({ tenant, category, action: r.injection.action });
      }
    }
    // scope: tenant | capacity | queue | store for rate limits; spend (a tenant's USD limit) | budget (the project's).
    if (r.admission === "limited") m.rateLimitRejections.inc({ scope: r.admissionScope ?? "tenant" });
    if (r.admission === "over-budget") m.budgetRejections.inc({ scope: r.admissionScope ?? "spend" });
    if (r.modelArmorBlock) m.modelArmorBlocks.inc({ tenant, model, stage: r.modelArmorBlock });
    if (r.streamError) m.streamErrors.inc({ model });
    const p = r.prompt;
    if (p) {
      m.promptRequests.inc({ prompt: p.name, version: String(p.version), variant: p.variant, code_class: cls });
      if (r.cost) m.promptCostUsd.inc({ prompt: p.name, variant: p.variant }, r.cost.totalUsd);
      if (p.pregenerated) m.promptPregenerated.inc({ prompt: p.name });
    }
  };
}
