/**
 * `npm run bench:peers`: this gateway side by side with Portkey (the npm `@portkey-ai/gateway`, headless) and a bare
 * express route, in one run on one machine, in front of the same neutral upstream:
 *
 * - the native surface (`/v1beta/models/…:generateContent`) against the bare express route (the framework's ceiling)
 *   and against Portkey's OpenAI route (Portkey's main interface: it has no Gemini-shaped one);
 * - the OpenAI surface (`/v1beta/openai/chat/completions`) against Portkey's OpenAI route, with the same request;
 * - the bare proxy (express + undici, nothing else) shows what the extra HTTP hop alone costs.
 *
 * The upstream (`--upstream=neutral`, the default) is neutral-upstream.ts: a fixed answer from node:http, the
 * cheapest upstream node can serve, so the proxies' own costs dominate; `--upstream=emulator` puts the emulator there
 * instead. Closed-loop load from wrk (`-t1 -c16`, as the peers were first measured; `--loadgen=autocannon` or no wrk
 * installed: autocannon, which shares the two cores at a JavaScript client's cost), `--connections`, `--duration`
 * after `--warmup`. Ratios first, then the table with the CPU each server (and the upstream) spent per call. Portkey
 * is installed on first use from the npm registry into ~/.cache/gemini-gateway/portkey-<version> (never committed,
 * never a dependency). Reported, not asserted.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cachedPackage } from "./cached-package.js";
import { EmulatorControl } from "./emulator-control.js";
import { fixedConcurrency, type HttpTarget, type LoadResult } from "./load.js";
import { describeMachine, machineLine } from "./machine.js";
import { Meter } from "./proc.js";
import {
  killAllNow,
  newBenchKey,
  spawnChild,
  startBareExpressProcess,
  startBareProxyProcess,
  startEmulatorProcess,
  startGatewayProcess,
  startNeutralUpstreamProcess,
  type Child,
} from "./processes.js";
import { prepareRuntime, ROOT, serviceVersion } from "./runtime.js";
import { wrkConcurrency, wrkPath } from "./wrk.js";

const PORTKEY_VERSION = "1.15.2";
const arg = (name: string, fallback: number) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.split("=")[1]) : fallback;
};
const CONNECTIONS = arg("connections", 16);
const DURATION_S = arg("duration", 8);
const WARMUP_S = arg("warmup", 2);
const text = (name: string, fallback: string) =>
  process.argv.find((x) => x.startsWith(`--${name}=`))?.split("=")[1] ?? fallback;
const UPSTREAM = text("upstream", "neutral");
const LOADGEN = text("loadgen", "wrk");
if (!["neutral", "emulator"].includes(UPSTREAM)) throw new Error("--upstream is neutral or emulator");
if (!["wrk", "autocannon"].includes(LOADGEN)) throw new Error("--loadgen is wrk or autocannon");
/** `--only=native,openai`: a subset of the targets (bare, proxy, native, openai, portkey), e.g. to profile one. */
const TARGET_KEYS = ["bare", "proxy", "native", "openai", "portkey"] as const;
const ONLY = text("only", TARGET_KEYS.join(",")).split(",");
for (const k of ONLY)
  if (!(TARGET_KEYS as readonly string[]).includes(k)) throw new Error(`--only takes ${TARGET_KEYS}`);
/** `--cpu-prof`: the gateway runs with node --cpu-prof; the profile lands in bench/results/profiles/. */
const CPU_PROF = process.argv.includes("--cpu-prof");

process.once("exit", killAllNow);
process.once("SIGINT", () => (killAllNow(), process.exit(130)));

/** Portkey from the npm registry, installed once outside the repository. */
function portkeyServer(): string {
  return cachedPackage(
    `portkey-${PORTKEY_VERSION}`,
    `@portkey-ai/gateway@${PORTKEY_VERSION}`,
    "node_modules/@portkey-ai/gateway/build/start-server.js",
  );
}

function startPortkey(entry: string, port: number): Promise<Child> {
  return spawnChild({
    name: "portkey",
    args: [entry, "--headless", `--port=${port}`],
    env: {},
    ready: /(http:\/\/localhost:\d+)/,
    timeoutMs: 30_000,
  });
}

interface Run {
  name: string;
  server: string;
  load: LoadResult;
  cpuUsPerCall: number;
  /** CPU the upstream spent per call (undefined for the bare express route, which has none). */
  upstreamCpuUsPerCall: number | undefined;
  rssMiB: number;
}

async function main(): Promise<void> {
  const machine = describeMachine();
  console.log(`Peers side by side — ${new Date().toISOString()}\nMachine: ${machineLine(machine)}`);
  const runtime = prepareRuntime("auto");
  const service = serviceVersion();
  const key = newBenchKey();
  const children: Child[] = [];
  try {
    const upstream = UPSTREAM === "neutral" ? await startNeutralUpstreamProcess() : await startEmulatorProcess(runtime);
    children.push(upstream);
    if (UPSTREAM === "emulator") {
      await new EmulatorControl(upstream.url).configure({
        latency: null,
        errors: null,
        quota: null,
        responseTokens: 48,
        chunkTokens: 8,
      });
    }
    const wrk = LOADGEN === "wrk" ? wrkPath() : undefined;
    const loadgen = wrk ? `wrk -t1 (${wrk})` : "autocannon (in the bench process)";
    if (LOADGEN === "wrk" && !wrk) console.log("wrk is not installed (apt-get install wrk): using autocannon");
    const load = (t: HttpTarget, durationS: number) =>
      wrk
        ? wrkConcurrency(wrk, t, { connections: CONNECTIONS, durationS })
        : fixedConcurrency(t, { connections: CONNECTIONS, durationS });
    const gateway = await startGatewayProcess(runtime, {
      emulatorUrl: upstream.url,
      key,
      logLevel: "info",
      upstreamConnections: undefined,
      cpuProfDir: CPU_PROF ? join(ROOT, "bench/results/profiles") : undefined,
    });
    children.push(gateway);
    const bare = await startBareExpressProcess();
    children.push(bare);
    const bareProxy = await startBareProxyProcess(upstream.url);
    children.push(bareProxy);
    const portkeyPort = 20_000 + Math.floor(Math.random() * 10_000);
    const portkey = await startPortkey(portkeyServer(), portkeyPort);
    children.push({ ...portkey, url: `http://127.0.0.1:${portkeyPort}` });
    console.log(
      `Service: commit ${service.commit}${service.dirty ? " + uncommitted changes" : ""} (${runtime.note}); ` +
        `Portkey ${PORTKEY_VERSION} headless; upstream: ${upstream.name}; load: ${loadgen}, ` +
        `${CONNECTIONS} connections, ${DURATION_S} s after ${WARMUP_S} s warm-up\n`,
    );

    const gemini = JSON.stringify({
      contents: [{ role: "user", parts: [{ text: "Summarise the benefits of keep-alive connection pools." }] }],
    });
    const chat = JSON.stringify({
      model: "gemini-2.5-flash",
      messages: [{ role: "user", content: "Summarise the benefits of keep-alive connection pools." }],
    });
    const json = { "content-type": "application/json" };
    const all: [(typeof TARGET_KEYS)[number], HttpTarget, Child][] = [
      [
        "bare",
        {
          name: "bare express route",
          origin: bare.url,
          path: "/v1beta/models/gemini-2.5-flash:generateContent",
          headers: { ...json, "x-goog-api-key": key },
          body: gemini,
        },
        bare,
      ],
      [
        "proxy",
        {
          name: "bare proxy (one hop)",
          origin: bareProxy.url,
          path: "/v1beta/models/gemini-2.5-flash:generateContent",
          headers: { ...json, "x-goog-api-key": key },
          body: gemini,
        },
        bareProxy,
      ],
      [
        "native",
        {
          name: "gateway, native surface",
          origin: gateway.url,
          path: "/v1beta/models/gemini-2.5-flash:generateContent",
          headers: { ...json, "x-goog-api-key": key },
          body: gemini,
        },
        gateway,
      ],
      [
        "openai",
        {
          name: "gateway, OpenAI surface",
          origin: gateway.url,
          path: "/v1beta/openai/chat/completions",
          headers: { ...json, authorization: `Bearer ${key}` },
          body: chat,
        },
        gateway,
      ],
      [
        "portkey",
        {
          name: "Portkey, OpenAI route",
          origin: `http://127.0.0.1:${portkeyPort}`,
          path: "/v1/chat/completions",
          headers: {
            ...json,
            authorization: "Bearer emulator",
            "x-portkey-provider": "google",
            "x-portkey-custom-host": upstream.url,
          },
          body: chat,
        },
        portkey,
      ],
    ];
    const targets = all.filter(([k]) => ONLY.includes(k)).map(([, t, c]) => [t, c] as const);
    const runs: Run[] = [];
    for (const [t, server] of targets) {
      console.log(`  ${t.name}: warm-up ${WARMUP_S} s, then ${DURATION_S} s`);
      await load(t, WARMUP_S);
      const meter = new Meter(server.pid, true);
      const upstreamMeter = new Meter(upstream.pid, false);
      const result = await load(t, DURATION_S);
      const reading = meter.stop();
      const upstreamReading = upstreamMeter.stop();
      const perCall = (ms: number) => (result.requests ? (ms * 1000) / result.requests : NaN);
      runs.push({
        name: t.name,
        server: server.name,
        load: result,
        cpuUsPerCall: perCall(reading.cpuMs),
        upstreamCpuUsPerCall: server === bare ? undefined : perCall(upstreamReading.cpuMs),
        rssMiB: reading.hwmMb,
      });
    }

    const rps = (name: string) => runs.find((r) => r.name === name)?.load.rps ?? NaN;
    const ratios = [
      ["native surface ÷ Portkey", rps("gateway, native surface") / rps("Portkey, OpenAI route"), "≥ 6"],
      ["native surface ÷ bare express route", rps("gateway, native surface") / rps("bare express route"), "≥ 0.6"],
      ["OpenAI surface ÷ Portkey OpenAI route", rps("gateway, OpenAI surface") / rps("Portkey, OpenAI route"), "≥ 4"],
    ] as const;
    console.log("\nRatios (throughput, same machine, same run)");
    for (const [what, value, goal] of ratios)
      if (!Number.isNaN(value)) console.log(`  ${what.padEnd(40)} ${value.toFixed(2).padStart(6)}  (goal ${goal})`);
    console.log(
      `\n${"target".padEnd(26)} ${"req/s".padStart(7)} ${"p50 ms".padStart(7)} ${"p99 ms".padStart(7)} ` +
        `${"non-2xx".padStart(8)} ${"CPU µs/call".padStart(12)} ${"upstream µs".padStart(12)} ` +
        `${"peak RSS MiB".padStart(13)}`,
    );
    for (const r of runs) {
      console.log(
        `${r.name.padEnd(26)} ${r.load.rps.toFixed(0).padStart(7)} ${r.load.latencyMs.p50.toFixed(2).padStart(7)} ` +
          `${r.load.latencyMs.p99.toFixed(2).padStart(7)} ${String(r.load.non2xx + r.load.errors).padStart(8)} ` +
          `${r.cpuUsPerCall.toFixed(0).padStart(12)} ` +
          `${(r.upstreamCpuUsPerCall === undefined ? "—" : r.upstreamCpuUsPerCall.toFixed(0)).padStart(12)} ` +
          `${r.rssMiB.toFixed(0).padStart(13)}`,
      );
    }
    const out = join(ROOT, "bench/results", `peers-${Date.now()}.json`);
    writeFileSync(
      out,
      JSON.stringify(
        { machine, service, upstream: upstream.name, loadgen, connections: CONNECTIONS, runs, ratios },
        null,
        2,
      ),
    );
    console.log(`\nResults: ${out}`);
  } finally {
    await Promise.all(children.map((c) => c.stop().catch(() => undefined)));
  }
}

main().catch((err: unknown) => {
  console.error(err);
  killAllNow();
  process.exit(1);
});
