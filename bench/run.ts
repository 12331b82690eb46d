/**
 * `npm run bench`: starts the emulator, the gateway and the two baselines (bare express, bare proxy) as separate
 * processes on this machine, runs the scenarios (scenarios.ts), prints a table per scenario and the targets with
 * ✓/✗, and writes bench/results/<timestamp>.json and bench/results/latest.json. Targets are reported, not asserted:
 * the exit code is 0 unless something crashed. Every child process is killed at the end, on error and on Ctrl-C.
 */
import { join } from "node:path";
import { EmulatorControl } from "./emulator-control.js";
import { describeMachine, machineLine } from "./machine.js";
import { parseOptions, usage, type BenchOptions, type ScenarioName } from "./options.js";
import {
  killAllNow,
  newBenchKey,
  startBareExpressProcess,
  startBareProxyProcess,
  startEmulatorProcess,
  startGatewayProcess,
  type Child,
} from "./processes.js";
import { prepareRuntime, ROOT, serviceVersion } from "./runtime.js";
import { fixedText, rateText, streamsText, targetsOf, targetsTable, writeResults, type Results } from "./report.js";
import { runFixed, runRate, runStreams, type Stack } from "./scenarios.js";

const RESULTS_DIR = join(ROOT, "bench/results");

process.once("exit", killAllNow);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping the benchmark's processes`);
    killAllNow();
    process.exit(130);
  });
}

async function main(): Promise<number> {
  if (process.argv.includes("--help") || process.argv.includes("-h")) {
    console.log(usage());
    return 0;
  }
  let o: BenchOptions;
  try {
    o = parseOptions(process.argv.slice(2), process.env);
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  const startedAt = new Date().toISOString();
  const machine = describeMachine();
  console.log(`Gemini gateway benchmark — ${startedAt}`);
  console.log(`Machine: ${machineLine(machine)}`);
  console.log(
    `The load generator (this process), the gateway and the emulator share these ${machine.cores} cores: ` +
      "every number below includes that competition.",
  );

  const runtime = prepareRuntime(o.runtime, o.gatewayEntry);
  const service = serviceVersion();
  const key = newBenchKey();
  const children: Child[] = [];
  const stopAll = () => Promise.all(children.map((c) => c.stop()));
  const results: Results = {
    startedAt,
    finishedAt: "",
    machine,
    runtime: { kind: runtime.kind, note: runtime.note },
    service,
    gateway: {
      logLevel: o.logLevel,
      stdout: "piped to the bench and drained (read and discarded)",
      upstreamConnections: o.upstreamConnections === undefined ? "gateway default" : String(o.upstreamConnections),
      upstreamProtocol: o.upstreamProtocol,
    },
    options: { ...o, only: [...o.only] },
    errors: {},
    targets: [],
  };

  try {
    const emulator = await startEmulatorProcess(runtime);
    children.push(emulator);
    const gateway = await startGatewayProcess(runtime, {
      emulatorUrl: emulator.url,
      key,
      logLevel: o.logLevel,
      upstreamConnections: o.upstreamConnections,
      cpuProfDir: o.cpuProf ? join(RESULTS_DIR, "profiles") : undefined,
      env: { GATEWAY_UPSTREAM_PROTOCOL: o.upstreamProtocol },
    });
    children.push(gateway);
    const bare = o.only.has("fixed") ? await startBareExpressProcess() : undefined;
    if (bare) children.push(bare);
    const bareProxy = o.only.has("fixed") ? await startBareProxyProcess(emulator.url) : undefined;
    if (bareProxy) children.push(bareProxy);
    const stack: Stack = { emulator, gateway, bare, bareProxy, control: new EmulatorControl(emulator.url), key };

    console.log(
      `Service: commit ${service.commit}${service.dirty ? " + uncommitted changes" : ""}, source ${service.sourceHash}, ` +
        `${runtime.kind} (${runtime.note}); gateway LOG_LEVEL=${o.logLevel}, stdout piped and drained; ` +
        `GATEWAY_UPSTREAM_CONNECTIONS=${results.gateway.upstreamConnections}, ` +
        `GATEWAY_UPSTREAM_PROTOCOL=${o.upstreamProtocol}`,
    );
    const pids = children.map((c) => `${c.name} ${c.url} (pid ${c.pid})`).join(", ");
    console.log(`Processes: ${pids}; load generator pid ${process.pid}\n`);

    const log = (s: string) => console.log(s);
    const run = async (name: ScenarioName, fn: () => Promise<void>) => {
      if (!o.only.has(name)) return;
      try {
        await fn();
      } catch (err) {
        results.errors[name] = (err as Error).stack ?? String(err);
        console.error(`scenario ${name} failed: ${(err as Error).stack ?? String(err)}\n`);
      }
    };

    await run("fixed", async () => {
      console.log(
        `1. Fixed concurrency: ${o.connections} connections, ${o.durationS} s per target after ${o.warmupS} s warm-up`,
      );
      results.fixed = await runFixed(stack, o, log);
      console.log(`\n${fixedText(results.fixed)}\n`);
    });

    await run("rate", async () => {
      console.log(`2. Fixed offered rate: ${o.rate} req/s for ${o.rateDurationS} s (open loop, evenly spaced)`);
      results.rate = await runRate(stack, o, log);
      console.log(`\n${rateText(results.rate)}\n`);
    });

    await run("streams", async () => {
      console.log(
        `3. Many slow streams: ${o.streams} SSE streams opened over ${o.streamRampMs} ms; emulator perChunkMs ` +
          `${o.streamPerChunkMs}, responseTokens ${o.streamResponseTokens}, chunkTokens ${o.streamChunkTokens}`,
      );
      results.streams = await runStreams(stack, o, log);
      console.log(`\n${streamsText(results.streams)}\n`);
    });
  } catch (err) {
    results.errors.setup = (err as Error).stack ?? String(err);
    console.error(`benchmark setup failed: ${(err as Error).stack ?? String(err)}`);
  } finally {
    await stopAll().catch(() => killAllNow());
  }

  results.targets = targetsOf(results);
  results.finishedAt = new Date().toISOString();
  if (results.targets.length) console.log(`Targets (reported, not asserted)\n${targetsTable(results.targets)}\n`);
  const file = writeResults(RESULTS_DIR, results);
  console.log(`Results: ${file} (and bench/results/latest.json)`);
  if (o.cpuProf) console.log(`Gateway CPU profile: ${join(RESULTS_DIR, "profiles")}/`);
  return Object.keys(results.errors).length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    killAllNow();
    process.exit(1);
  },
);
