/**
 * Structured logs in the JSON shape Cloud Logging reads from a container's stdout: `severity`, `message`, `time`,
 * `httpRequest`, and the trace fields it correlates on. Content of prompts and responses is never passed here.
 */
import { pino, type Logger, type DestinationStream } from "pino";

export type { Logger };

const SEVERITY: Record<string, string> = {
  trace: "DEBUG",
  debug: "DEBUG",
  info: "INFO",
  warn: "WARNING",
  error: "ERROR",
  fatal: "CRITICAL",
};

/**
 * Standard output, buffered: lines are written in batches of about 8 KiB, at least every 200 ms, instead of one write
 * per line (an audit record per call made stdout writes ~5% of the gateway's CPU under load: docs/benchmarks.md).
 * What is buffered is written synchronously when the process exits, however it exits.
 */
function bufferedStdout(): DestinationStream {
  const stream = pino.destination({ dest: 1, sync: false, minLength: 8 * 1024, periodicFlush: 200 });
  process.once("exit", () => {
    try {
      stream.flushSync();
    } catch {
      // stdout already closed: nothing left to write to
    }
  });
  return stream;
}

export function createLogger(level: string, destination: DestinationStream = bufferedStdout()): Logger {
  return pino(
    {
      level,
      messageKey: "message",
      base: undefined, // no pid/hostname: Cloud Run adds the instance id itself
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ severity: SEVERITY[label] ?? "DEFAULT" }) },
    },
    destination,
  );
}

/**
 * The stream a logger writes to. The audit log writes its pre-serialized records there (telemetry/audit.ts), so they
 * interleave in order with the other lines and tests that capture a logger's output see them too.
 */
export function destinationOf(logger: Logger): DestinationStream {
  return (logger as unknown as Record<symbol, DestinationStream>)[pino.symbols.streamSym]!;
}
