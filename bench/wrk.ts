/**
 * Closed-loop load with wrk (C, one thread by default: `wrk -t1 -c16`, as the peers were first measured), for
 * comparisons where the load generator's own CPU matters: on a 2-core machine autocannon (JavaScript) takes a core's
 * worth of time that the servers under test then lack, and takes more of it the faster the server answers. wrk is a
 * Debian package (`apt-get install wrk`); `wrkPath()` is undefined when it is not installed and the caller falls back
 * to autocannon (load.ts) and says so.
 *
 * The request comes from a Lua script written per target; only the `done` callback is used (a per-response callback
 * slows wrk down), so non-2xx answers are counted (wrk's `errors.status`: status ≥ 400) but not broken down by code.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { HttpTarget, LoadResult } from "./load.js";

export function wrkPath(): string | undefined {
  const r = spawnSync("sh", ["-c", "command -v wrk"], { encoding: "utf8" });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
}

/** A Lua long string that cannot be closed by the text itself. */
function luaString(text: string): string {
  let eq = "=";
  while (text.includes(`]${eq}]`)) eq += "=";
  return `[${eq}[${text}]${eq}]`;
}

function script(target: HttpTarget): string {
  const headers = Object.entries(target.headers)
    .map(([k, v]) => `wrk.headers[ ${luaString(k)} ] = ${luaString(v)}`)
    .join("\n");
  return `wrk.method = "POST"
wrk.path = ${luaString(target.path)}
wrk.body = ${luaString(target.body)}
${headers}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"durationUs":%d,"status":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,' ..
    '"mean":%f,"p50":%d,"p90":%d,"p99":%d,"max":%d}\\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
`;
}

interface WrkSummary {
  requests: number;
  durationUs: number;
  status: number;
  connect: number;
  read: number;
  write: number;
  timeout: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export async function wrkConcurrency(
  wrk: string,
  target: HttpTarget,
  o: { connections: number; durationS: number; threads?: number },
): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), "bench-wrk-"));
  const file = join(dir, "request.lua");
  writeFileSync(file, script(target));
  try {
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(
        wrk,
        [
          `-t${o.threads ?? 1}`,
          `-c${o.connections}`,
          `-d${o.durationS}s`,
          "--timeout",
          "30s",
          "-s",
          file,
          target.origin + target.path,
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      child.once("error", reject);
      child.once("exit", (code) =>
        code === 0 ? resolve(stdout) : reject(new Error(`wrk exited ${code}: ${stderr || stdout}`)),
      );
    });
    const line = out.split("\n").find((l) => l.startsWith("WRK_RESULT "));
    if (!line) throw new Error(`wrk printed no result (did the Lua script load?):\n${out}`);
    const s = JSON.parse(line.slice("WRK_RESULT ".length)) as WrkSummary;
    const durationS = s.durationUs / 1e6;
    const ms = (us: number) => us / 1000;
    return {
      requests: s.requests,
      durationS,
      rps: s.requests / durationS,
      // wrk's latencies cover every response; with no non-2xx answers they are the 2xx latencies load.ts reports.
      latencyMs: {
        count: s.requests,
        mean: ms(s.mean),
        p50: ms(s.p50),
        p90: ms(s.p90),
        p99: ms(s.p99),
        max: ms(s.max),
      },
      errors: s.connect + s.read + s.write + s.timeout,
      non2xx: s.status,
      statusCodes: { "2xx/3xx": s.requests - s.status, "≥400": s.status },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
