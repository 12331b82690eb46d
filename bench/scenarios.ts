/**
 * The three scenarios. Each drives load with load.ts / streams.ts, brackets the measured run with /proc meters on
 * the server processes (proc.ts), and returns plain data; printing is report.ts's job.
 */
import type { EmulatorControl, EmulatorStatsSnapshot } from "./emulator-control.js";
import { fixedConcurrency, fixedRate, type HttpTarget, type LoadResult, type RateResult } from "./load.js";
import type { BenchOptions } from "./options.js";
import type { Child } from "./processes.js";
import { MachineMeter, Meter, SelfMeter, type MachineReading, type MeterReading } from "./proc.js";
import { manyStreams, type StreamsResult } from "./streams.js";

export const MODEL_PATH = "/v1beta/models/gemini-2.5-flash";
export const PROMPT = JSON.stringify({
  contents: [{ role: "user", parts: [{ text: "Summarise the benefits of keep-alive connection pools." }] }],
});

export interface Stack {
  emulator: Child;
  gateway: Child;
  /** The baselines, only started when scenario 1 runs. */
  bare: Child | undefined;
  bareProxy: Child | undefined;
  control: EmulatorControl;
  key: string;
}

function target(name: string, child: Child, key: string, stream: boolean): HttpTarget {
  return {
    name,
    origin: child.url,
    path: `${MODEL_PATH}:${stream ? "streamGenerateContent?alt=sse" : "generateContent"}`,
    headers: { "content-type": "application/json", "x-goog-api-key": key },
    body: PROMPT,
  };
}

/** The emulator's settings for request/response scenarios: no artificial latency, a 48-token (708-byte) answer. */
const UNARY_SETTINGS = { latency: null, errors: null, quota: null, responseTokens: 48, chunkTokens: 8 };

const perRequestUs = (cpuMs: number, requests: number) => (requests > 0 ? (cpuMs * 1000) / requests : NaN);

export interface Meters {
  /** Every server process of the stack, by name ("emulator", "gateway", "bare express"). */
  processes: Record<string, MeterReading>;
  /** The load generator (this process). */
  client: { cpuMs: number; cores: number; series: { t: number; cores: number }[] };
  machine: MachineReading;
}

/** Starts /proc meters on every process of the stack, the load generator and the machine. */
function measure(stack: Stack, resetHwmOf?: Child): { stop(): Meters } {
  const children = [stack.emulator, stack.gateway, stack.bare, stack.bareProxy].filter(
    (c): c is Child => c !== undefined,
  );
  const meters = children.map((c) => [c.name, new Meter(c.pid, c === resetHwmOf)] as const);
  const self = new SelfMeter();
  const machine = new MachineMeter();
  return {
    stop() {
      const processes: Record<string, MeterReading> = {};
      for (const [name, m] of meters) processes[name] = m.stop();
      return { processes, client: self.stop(), machine: machine.stop() };
    },
  };
}

// ---- 1. fixed concurrency -----------------------------------------------------------------------------------------

export interface FixedRun {
  target: string;
  load: LoadResult;
  /** The process answering the load (emulator, bare express or gateway). */
  server: MeterReading;
  serverCpuUsPerRequest: number;
  meters: Meters;
}

export interface FixedScenario {
  connections: number;
  durationS: number;
  warmupS: number;
  runs: FixedRun[];
  /** Gateway req/s ÷ bare express req/s (the target). */
  gatewayToBare: number;
  /** Gateway req/s ÷ bare proxy req/s: what the gateway's own stages cost, the extra hop set aside. */
  gatewayToBareProxy: number;
}

export async function runFixed(stack: Stack, o: BenchOptions, log: (s: string) => void): Promise<FixedScenario> {
  await stack.control.configure(UNARY_SETTINGS);
  const plan: [HttpTarget, Child][] = [
    [target("emulator (direct)", stack.emulator, stack.key, false), stack.emulator],
    [target("bare express", stack.bare!, stack.key, false), stack.bare!],
    [target("bare proxy → emulator", stack.bareProxy!, stack.key, false), stack.bareProxy!],
    [target("gateway → emulator", stack.gateway, stack.key, false), stack.gateway],
  ];
  const runs: FixedRun[] = [];
  for (const [t, server] of plan) {
    log(`  ${t.name}: warm-up ${o.warmupS} s, then ${o.durationS} s at ${o.connections} connections`);
    if (o.warmupS > 0) await fixedConcurrency(t, { connections: o.connections, durationS: o.warmupS });
    const meters = measure(stack);
    const load = await fixedConcurrency(t, { connections: o.connections, durationS: o.durationS });
    const m = meters.stop();
    const reading = m.processes[server.name]!;
    runs.push({
      target: t.name,
      load,
      server: reading,
      serverCpuUsPerRequest: perRequestUs(reading.cpuMs, load.requests),
      meters: m,
    });
  }
  const rps = (name: string) => runs.find((r) => r.target === name)!.load.rps;
  return {
    connections: o.connections,
    durationS: o.durationS,
    warmupS: o.warmupS,
    runs,
    gatewayToBare: rps("gateway → emulator") / rps("bare express"),
    gatewayToBareProxy: rps("gateway → emulator") / rps("bare proxy → emulator"),
  };
}

// ---- 2. fixed offered rate ----------------------------------------------------------------------------------------

export interface RateRun {
  target: string;
  load: RateResult;
  meters: Meters;
  /** Gateway stdout (access log) bytes per request during the run. */
  gatewayLogBytesPerRequest: number | undefined;
}

export interface RateScenario {
  rate: number;
  durationS: number;
  warmupS: number;
  direct: RateRun;
  viaGateway: RateRun;
  /** Gateway minus direct, per percentile (a difference of two distributions, not a per-request difference). */
  addedMs: { p50: number; p90: number; p99: number };
  gatewayCpuUsPerRequest: number;
  emulatorCpuUsPerRequestDirect: number;
  gatewayRssMb: number;
  gatewayPeakRssMb: number;
}

export async function runRate(stack: Stack, o: BenchOptions, log: (s: string) => void): Promise<RateScenario> {
  await stack.control.configure(UNARY_SETTINGS);
  const settings = { rate: o.rate, durationS: o.rateDurationS, connections: o.rateConnections };
  const one = async (t: HttpTarget, viaGateway: boolean): Promise<RateRun> => {
    log(`  ${t.name}: warm-up ${o.warmupS} s, then ${o.rateDurationS} s at ${o.rate} req/s`);
    if (o.warmupS > 0) await fixedRate(t, { ...settings, durationS: o.warmupS });
    const meters = measure(stack);
    const log0 = stack.gateway.stdout().bytes;
    const load = await fixedRate(t, settings);
    return {
      target: t.name,
      load,
      meters: meters.stop(),
      gatewayLogBytesPerRequest: viaGateway ? (stack.gateway.stdout().bytes - log0) / load.requests : undefined,
    };
  };
  const direct = await one(target("emulator (direct)", stack.emulator, stack.key, false), false);
  const viaGateway = await one(target("gateway → emulator", stack.gateway, stack.key, false), true);
  const g = viaGateway.load.latencyMs;
  const d = direct.load.latencyMs;
  const gw = viaGateway.meters.processes[stack.gateway.name]!;
  return {
    rate: o.rate,
    durationS: o.rateDurationS,
    warmupS: o.warmupS,
    direct,
    viaGateway,
    addedMs: { p50: g.p50 - d.p50, p90: g.p90 - d.p90, p99: g.p99 - d.p99 },
    gatewayCpuUsPerRequest: perRequestUs(gw.cpuMs, viaGateway.load.requests),
    emulatorCpuUsPerRequestDirect: perRequestUs(
      direct.meters.processes[stack.emulator.name]!.cpuMs,
      direct.load.requests,
    ),
    gatewayRssMb: gw.rssMb,
    gatewayPeakRssMb: gw.sampledPeakRssMb,
  };
}

// ---- 3. many slow streams -----------------------------------------------------------------------------------------

export interface StreamRun {
  target: string;
  result: StreamsResult;
  /** Emulator stats for this run alone (reset before it): peakConcurrency proves how many were open at once. */
  emulatorStats: EmulatorStatsSnapshot;
  /** The gateway's VmHWM is reset before its run, so its hwmMb is that run's peak. */
  meters: Meters;
}

export interface StreamsScenario {
  streams: number;
  emulatorSettings: { perChunkMs: number; responseTokens: number; chunkTokens: number };
  rampMs: number;
  direct: StreamRun;
  viaGateway: StreamRun;
  addedTtftMs: { p50: number; p99: number };
  gatewayPeakRssMb: number;
  gatewayCpuMsPerStream: number;
  /** GATEWAY_UPSTREAM_PROTOCOL of the gateway under test. */
  upstreamProtocol?: "http1" | "http2";
}

export async function runStreams(stack: Stack, o: BenchOptions, log: (s: string) => void): Promise<StreamsScenario> {
  const emulatorSettings = {
    perChunkMs: o.streamPerChunkMs,
    responseTokens: o.streamResponseTokens,
    chunkTokens: o.streamChunkTokens,
  };
  const configure = (responseTokens: number) =>
    stack.control.configure({
      latency: { firstTokenMs: 0, perChunkMs: o.streamPerChunkMs, jitterMs: 0 },
      errors: null,
      quota: null,
      responseTokens,
      chunkTokens: o.streamChunkTokens,
    });
  const streamOpts = { streams: o.streams, rampMs: o.streamRampMs, timeoutMs: o.streamTimeoutMs };
  const gatewayTarget = target("gateway → emulator", stack.gateway, stack.key, true);
  try {
    if (o.streamWarmup > 0) {
      log(`  warm-up: ${o.streamWarmup} short streams through the gateway`);
      await configure(o.streamChunkTokens * 5);
      await manyStreams(gatewayTarget, { ...streamOpts, streams: o.streamWarmup, rampMs: 0 });
    }
    await configure(o.streamResponseTokens);
    const one = async (t: HttpTarget, viaGateway: boolean): Promise<StreamRun> => {
      log(`  ${t.name}: ${o.streams} streams opened over ${o.streamRampMs} ms`);
      await stack.control.idle();
      await stack.control.reset();
      const meters = measure(stack, viaGateway ? stack.gateway : undefined);
      const result = await manyStreams(t, streamOpts);
      return { target: t.name, result, emulatorStats: await stack.control.stats(), meters: meters.stop() };
    };
    const direct = await one(target("emulator (direct)", stack.emulator, stack.key, true), false);
    const viaGateway = await one(gatewayTarget, true);
    const g = viaGateway.meters.processes[stack.gateway.name]!;
    return {
      streams: o.streams,
      emulatorSettings,
      rampMs: o.streamRampMs,
      direct,
      viaGateway,
      addedTtftMs: {
        p50: viaGateway.result.ttftMs.p50 - direct.result.ttftMs.p50,
        p99: viaGateway.result.ttftMs.p99 - direct.result.ttftMs.p99,
      },
      gatewayPeakRssMb: g.hwmReset ? g.hwmMb : g.sampledPeakRssMb,
      gatewayCpuMsPerStream: g.cpuMs / o.streams,
      upstreamProtocol: o.upstreamProtocol,
    };
  } finally {
    await stack.control.configure(UNARY_SETTINGS).catch(() => undefined);
  }
}
