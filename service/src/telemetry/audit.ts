/**
 * The audit log: exactly one structured record per model call, success or failure, written to the logger's
 * destination as one JSON line in the logger's shape (`severity`, `time`, `message`), whatever LOG_LEVEL says. It doubles as the access log (it carries Cloud Logging's `httpRequest`), so a call costs one line,
 * not two. Every record carries the label `logging.googleapis.com/labels: {"log": "gateway-audit"}` so a Cloud
 * Logging sink (to BigQuery, say) can route audit records on `labels.log="gateway-audit"`: docs/metrics.md shows
 * the sink filter.
 *
 * Content never appears: the record holds ids, counts, timings, the prompt's SHA-256 and the injection verdict.
 * Error messages the gateway writes name fields, never values; upstream error messages are not copied in.
 */
import { createHash } from "node:crypto";
import type { CallRecord } from "./call-record.js";
import { destinationOf, type Logger } from "./logger.js";
import { codeClass } from "./metrics.js";
import { traceLogFields } from "./trace.js";

export const AUDIT_LOG_LABEL = "gateway-audit";
const LABELS = Object.freeze({ log: AUDIT_LOG_LABEL });

export type AuditLog = (record: CallRecord) => void;

export function createAuditLog(logger: Logger, project: string): AuditLog {
  // Written straight to the logger's destination as one JSON.stringify: through pino's per-key serializer the record
  // cost ~3× the CPU per call, most of it garbage collection (docs/benchmarks.md). Same shape as the logger's lines.
  const destination = destinationOf(logger);
  return (r) => {
    const cls = codeClass(r.status, r.error?.kind);
    const severity = cls === "5xx" ? "ERROR" : cls === "4xx" ? "WARNING" : "INFO";
    destination.write(
      JSON.stringify({
        severity,
        time: new Date().toISOString(),
        "logging.googleapis.com/labels": LABELS,
        ...traceLogFields(r.trace, project),
        httpRequest: {
          requestMethod: r.http.method,
          requestUrl: r.http.path,
          status: r.status,
          latency: `${(r.durationMs / 1000).toFixed(6)}s`,
          userAgent: r.http.userAgent,
          remoteIp: r.http.remoteIp,
          requestSize: r.http.requestBytes === undefined ? undefined : String(r.http.requestBytes),
          responseSize: String(r.http.responseBytes),
        },
        requestId: r.requestId,
        surface: r.surface,
        tenant: r.tenant,
        keyId: r.keyId,
        model: r.model,
        method: r.method,
        stream: r.stream,
        durationMs: round(r.durationMs),
        overheadMs: round(r.overheadMs),
        upstream: r.upstream && {
          id: r.upstream.id,
          status: r.upstream.status,
          outcome: r.upstream.outcome,
          durationMs: round(r.upstream.durationMs),
          attempts: r.upstream.attempts,
          firstChunkMs: r.upstream.firstChunkMs === undefined ? undefined : round(r.upstream.firstChunkMs),
        },
        tokens: r.tokens,
        usageEstimated: r.usageEstimated || undefined,
        costUsd: r.cost?.totalUsd,
        unpriced: r.unpriced || undefined,
        cache: r.cache,
        savedUsd: r.savedUsd,
        promptSha256: r.promptSha256,
        injection: r.injection && {
          score: Math.round(r.injection.score * 1000) / 1000,
          categories: r.injection.categories,
          flagged: r.injection.flagged,
          action: r.injection.action,
        },
        modelArmorBlock: r.modelArmorBlock,
        admission: r.admission,
        admissionScope: r.admissionScope,
        queuedMs: r.queuedMs ? round(r.queuedMs) : undefined,
        priority: r.priority,
        feature: r.feature,
        prompt: r.prompt && {
          name: r.prompt.name,
          version: r.prompt.version,
          variant: r.prompt.variant,
          experiment: r.prompt.experiment,
          forced: r.prompt.forced || undefined,
          pregenerated: r.prompt.pregenerated || undefined,
        },
        error: r.error,
        streamError: r.streamError,
        cutBy: r.cutBy,
        message: r.error ? "model call failed" : "model call",
      }) + "\n",
    );
  };
}

/** An administrative change (a key created, rotated, revoked): who did what to which key of which tenant. */
export interface AdminAuditEvent {
  /** `admin-key`, or the console session's actor. */
  actor: string;
  /** e.g. `key.create`, `key.rotate`, `key.revoke`. */
  action: string;
  tenant?: string;
  keyId?: string;
  previousKeyId?: string;
  expiresAt?: string | null;
}

export type AdminAuditLog = (event: AdminAuditEvent) => void;

/**
 * Audit records of administrative changes, beside the calls' own (same label, same destination, whatever LOG_LEVEL
 * says). Ids and names only: a key's secret is never passed here, so it cannot be written.
 */
export function createAdminAuditLog(logger: Logger): AdminAuditLog {
  const destination = destinationOf(logger);
  return (e) => {
    destination.write(
      JSON.stringify({
        severity: "NOTICE",
        time: new Date().toISOString(),
        "logging.googleapis.com/labels": LABELS,
        admin: true,
        actor: e.actor,
        action: e.action,
        tenant: e.tenant,
        keyId: e.keyId,
        previousKeyId: e.previousKeyId,
        expiresAt: e.expiresAt,
        message: `admin ${e.action} by ${e.actor}`,
      }) + "\n",
    );
  };
}

/**
 * SHA-256 of the normalized prompt: system instruction and contents, one line per text part as `role: text`
 * (Unicode NFC, whitespace runs collapsed, trimmed); other parts by kind and MIME type. Two requests that say the
 * same thing hash the same whatever their JSON spelling, so repeats, abuse campaigns and an incident's prompt can
 * be correlated from the audit log without the log holding any text.
 */
export function promptFingerprint(doc: Readonly<Record<string, unknown>>): string {
  const hash = createHash("sha256");
  const addContent = (role: string, content: unknown) => {
    const parts = (content as { parts?: unknown } | null)?.parts;
    if (!Array.isArray(parts)) return;
    for (const part of parts) {
      if (!part || typeof part !== "object") continue;
      const p = part as Record<string, unknown>;
      if (typeof p.text === "string") {
        hash.update(`${role}: ${p.text.normalize("NFC").replace(/\s+/g, " ").trim()}\n`);
      } else {
        const kind = Object.keys(p).sort().join("+");
        const blob = (p.inlineData ?? p.fileData) as
          { mimeType?: unknown; data?: unknown; fileUri?: unknown } | undefined;
        hash.update(`${role}: [${kind} ${String(blob?.mimeType ?? "")}]\n`);
        // Inline data is hashed as is: the same image twice is the same prompt.
        if (typeof blob?.data === "string") hash.update(blob.data);
        if (typeof blob?.fileUri === "string") hash.update(blob.fileUri);
      }
    }
  };
  if (doc.systemInstruction) addContent("system", doc.systemInstruction);
  if (Array.isArray(doc.contents)) {
    for (const c of doc.contents) addContent(String((c as { role?: unknown } | null)?.role ?? "user"), c);
  }
  return hash.digest("hex");
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
