/**
 * Export to Google Cloud Trace. Kept apart from tracing.ts because it is the one part that talks to Google and
 * loads gRPC; a gateway with tracing off never loads this module's exporter.
 */
import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import type { SpanExporter } from "@opentelemetry/sdk-trace-base";

/**
 * The Cloud Trace exporter, loaded on first use: the package pulls in gRPC (~130 ms to load on this machine), which a
 * gateway with tracing off must not pay, and loading it asynchronously keeps createTracing synchronous. It
 * authenticates with Application Default Credentials when it first exports.
 */
export function cloudTraceExporter(projectId: string, report: (error: Error) => void): SpanExporter {
  const ready: Promise<SpanExporter> = import("@google-cloud/opentelemetry-cloud-trace-exporter").then(
    // resourceFilter: without it the exporter drops service.name and service.version (its README).
    ({ TraceExporter }) => new TraceExporter({ projectId, resourceFilter: /^service\./ }),
  );
  ready.catch((err: unknown) => report(asError(err))); // also keeps a failed import from being an unhandled rejection
  return {
    export(spans, done) {
      let settled = false;
      const finish = (result: ExportResult) => {
        if (settled) return;
        settled = true;
        if (result.error) report(result.error);
        done(result);
      };
      ready
        .then((exporter) => exporter.export(spans, finish))
        .catch((err: unknown) => finish({ code: ExportResultCode.FAILED, error: asError(err) }));
    },
    shutdown: () => ready.then((exporter) => exporter.shutdown()).catch(() => undefined),
    forceFlush: () => ready.then((exporter) => exporter.forceFlush?.()).catch(() => undefined),
  };
}

export function exportErrorReporter(onExportError?: (error: Error) => void): (error: Error) => void {
  if (onExportError) return onExportError;
  // Without a handler, one warning: the exporter retries every batch and a missing IAM role would flood the logs.
  let warned = false;
  return (error) => {
    if (warned) return;
    warned = true;
    process.emitWarning(`Cloud Trace export failed (later failures are not reported): ${error.message}`);
  };
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
