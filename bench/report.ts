/**
 * Printing (plain-text tables, targets with ✓/✗) and the JSON results file. Targets are reported, never asserted.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Machine } from "./machine.js";
import type { ServiceVersion } from "./runtime.js";
import type { BenchOptions } from "./options.js";
import type { FixedScenario, Meters, RateRun, RateScenario, StreamRun, StreamsScenario } from "./scenarios.js";

export interface Target {
  name: string;
  measured: string;
  goal: string;
  met: boolean;
}

export interface Results {
  startedAt: string;
  finishedAt: string;
  machine: Machine;
  runtime: { kind: string; note: string };
  service: ServiceVersion;
  gateway: { logLevel: string; stdout: string; upstreamConnections: string; upstreamProtocol?: string };
  options: Omit<BenchOptions, "only"> & { only: string[] };
  fixed?: FixedScenario;
  rate?: RateScenario;
  streams?: StreamsScenario;
  errors: Record<string, string>;
  targets: Target[];
}

const f = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "–");
const signed = (n: number, digits = 2) => (Number.isFinite(n) ? `${n >= 0 ? "+" : ""}${n.toFixed(digits)}` : "–");

/** Left-aligns the first column, right-aligns the rest. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

const ok = (met: boolean) => (met ? "✓" : "✗");

/** One line per run: who used the CPUs (cores = CPU seconds per second of the run) and accept-queue overflows. */
function metersLine(label: string, m: Meters): string {
  const procs = Object.entries(m.processes)
    .filter(([, r]) => r.cores >= 0.005)
    .map(([name, r]) => `${name} ${f(r.cores)}`);
  return (
    `  ${label}: cores used — ${[...procs, `load generator ${f(m.client.cores)}`].join(", ")}; ` +
    `listen-queue overflows ${m.machine.listenOverflows}`
  );
}

export function fixedText(s: FixedScenario): string {
  const rows = s.runs.map((r) => [
    r.target,
    f(r.load.rps, 0),
    f(r.load.latencyMs.p50),
    f(r.load.latencyMs.p90),
    f(r.load.latencyMs.p99),
    String(r.load.errors),
    String(r.load.non2xx),
    f(r.serverCpuUsPerRequest, 0),
    f(r.server.cores),
  ]);
  return [
    table(
      ["target", "req/s", "p50 ms", "p90 ms", "p99 ms", "errors", "non-2xx", "server CPU µs/req", "server cores"],
      rows,
    ),
    `gateway ÷ bare express throughput: ${f(s.gatewayToBare)} (target ≥ 0.5) ${ok(s.gatewayToBare >= 0.5)}; ` +
      `gateway ÷ bare proxy: ${f(s.gatewayToBareProxy)} (no target: the gateway's stages beyond the extra hop)`,
    ...s.runs.map((r) => metersLine(r.target, r.meters)),
  ].join("\n");
}

export function rateText(s: RateScenario): string {
  const row = (r: RateRun) => [
    r.target,
    f(r.load.rps, 0),
    f(r.load.latencyMs.p50, 3),
    f(r.load.latencyMs.p90, 3),
    f(r.load.latencyMs.p99, 3),
    f(r.load.latencyMs.max, 1),
    String(r.load.errors),
    String(r.load.non2xx),
  ];
  const added = [
    "added by the gateway",
    "",
    signed(s.addedMs.p50, 3),
    signed(s.addedMs.p90, 3),
    signed(s.addedMs.p99, 3),
    "",
    "",
    "",
  ];
  return [
    table(
      ["target", "achieved req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors", "non-2xx"],
      [row(s.direct), row(s.viaGateway), added],
    ),
    `added latency p50 ${f(s.addedMs.p50, 3)} ms (target < 1 ms) ${ok(s.addedMs.p50 < 1)}; p99 ${f(s.addedMs.p99, 3)} ms`,
    `gateway CPU per request ${f(s.gatewayCpuUsPerRequest, 0)} µs (the emulator alone, direct run: ` +
      `${f(s.emulatorCpuUsPerRequestDirect, 0)} µs); gateway RSS ${f(s.gatewayRssMb, 0)} MiB ` +
      `(peak sampled ${f(s.gatewayPeakRssMb, 0)} MiB); access log ${f(s.viaGateway.gatewayLogBytesPerRequest ?? NaN, 0)} bytes/request`,
    ...(s.viaGateway.load.serverOverheadMs
      ? [
          `gateway overhead from x-gateway-overhead-ms: p50 ${f(s.viaGateway.load.serverOverheadMs.p50, 3)} ms, ` +
            `p99 ${f(s.viaGateway.load.serverOverheadMs.p99, 3)} ms (its own time up to the response head)`,
        ]
      : []),
    `client dispatch lag p99 ${f(s.viaGateway.load.dispatchLagMs.p99)} ms (how late the generator sent against its schedule)`,
    metersLine(s.direct.target, s.direct.meters),
    metersLine(s.viaGateway.target, s.viaGateway.meters),
  ].join("\n");
}

export function streamsText(s: StreamsScenario): string {
  const row = (r: StreamRun) => [
    r.target,
    String(r.result.ok),
    String(r.result.failed),
    String(r.emulatorStats.peakConcurrency),
    f(r.result.ttftMs.p50, 1),
    f(r.result.ttftMs.p99, 1),
    f(r.result.maxGapMs.p99, 0),
    f(r.result.totalMs.p50, 0),
    f(r.result.totalMs.p99, 0),
  ];
  const added = [
    "added by the gateway",
    "",
    "",
    "",
    signed(s.addedTtftMs.p50, 1),
    signed(s.addedTtftMs.p99, 1),
    "",
    "",
    "",
  ];
  const lines = [
    table(
      [
        "target",
        "ok",
        "failed",
        "emulator peak concurrency",
        "TTFT p50 ms",
        "TTFT p99 ms",
        "max gap p99 ms",
        "total p50 ms",
        "total p99 ms",
      ],
      [row(s.direct), row(s.viaGateway), added],
    ),
    `gateway peak RSS (VmHWM, reset before its run) ${f(s.gatewayPeakRssMb, 0)} MiB (target < 512 MiB) ` +
      `${ok(s.gatewayPeakRssMb < 512)}; gateway CPU ${f(s.gatewayCpuMsPerStream)} ms per stream`,
  ];
  const p = s.viaGateway.emulatorStats.protocols;
  if (p) {
    lines.push(
      `gateway → emulator over ${s.upstreamProtocol ?? "http1"}: the emulator saw ${p.h2.requests} HTTP/2 calls on ` +
        `${p.h2.connections} connections, ${p["http/1.1"].requests} HTTP/1.1 calls on ${p["http/1.1"].connections}`,
    );
  }
  for (const r of [s.direct, s.viaGateway]) {
    if (r.result.failed) lines.push(`  ${r.target} failures: ${JSON.stringify(r.result.failures)}`);
    lines.push(metersLine(r.target, r.meters) + `; client peak open streams ${r.result.clientPeakOpen}`);
  }
  return lines.join("\n");
}

export function targetsOf(r: Pick<Results, "fixed" | "rate" | "streams">): Target[] {
  const out: Target[] = [];
  if (r.fixed) {
    out.push({
      name: "gateway ÷ bare express throughput (fixed concurrency)",
      measured: f(r.fixed.gatewayToBare),
      goal: "≥ 0.5",
      met: r.fixed.gatewayToBare >= 0.5,
    });
  }
  if (r.rate) {
    out.push({
      name: `added latency p50 at ${r.rate.rate} req/s`,
      measured: `${f(r.rate.addedMs.p50, 3)} ms`,
      goal: "< 1 ms",
      met: r.rate.addedMs.p50 < 1,
    });
  }
  if (r.streams) {
    const s = r.streams;
    out.push({
      name: `gateway peak RSS with ${s.streams} open streams`,
      measured: `${f(s.gatewayPeakRssMb, 0)} MiB`,
      goal: "< 512 MiB",
      met: s.gatewayPeakRssMb < 512,
    });
    out.push({
      name: "streams completed OK through the gateway",
      measured: `${s.viaGateway.result.ok} / ${s.streams}`,
      goal: `${s.streams} / ${s.streams}`,
      met: s.viaGateway.result.ok === s.streams,
    });
    out.push({
      name: "streams open at once at the emulator (via gateway)",
      measured: String(s.viaGateway.emulatorStats.peakConcurrency),
      goal: `= ${s.streams}`,
      met: s.viaGateway.emulatorStats.peakConcurrency >= s.streams,
    });
  }
  return out;
}

export function targetsTable(targets: Target[]): string {
  return table(
    ["target", "measured", "goal", ""],
    targets.map((t) => [t.name, t.measured, t.goal, t.met ? "✓" : "✗"]),
  );
}

/** Writes bench/results/<timestamp>.json and bench/results/latest.json; returns the first path. */
export function writeResults(dir: string, results: Results): string {
  mkdirSync(dir, { recursive: true });
  const text = `${JSON.stringify(results, null, 2)}\n`;
  const file = join(dir, `${results.startedAt.replace(/:/g, "-")}.json`);
  writeFileSync(file, text);
  writeFileSync(join(dir, "latest.json"), text);
  return file;
}
