/**
 * `npm run bench:soak -- [--calls=1000000] [--connections=32]`: does the gateway's memory stay flat over a million
 * calls? Starts the emulator and the gateway (built as the image runs it, all features on), sends a mix of calls
 * closed-loop on `--connections` connections, and every 10 s reads from the gateway's own metrics (GATEWAY_METRICS_PORT):
 * heap used, RSS, open file descriptors and event-loop delay (p99, max). The mix, per 100 calls:
 *
 *   70 unary generate · 12 streams read to the end · 5 streams the client cuts after the first chunk ·
 *   5 answered from the response cache (temperature 0, a small set of prompts) · 4 upstream errors (an unknown
 *   model routed upstream: the emulator's 404) · 4 bad requests (a 400 before any upstream call)
 *
 * Reports the heap and RSS slope after warm-up (a least-squares line over the samples after the first quarter, in
 * MiB per 100,000 calls, ± two standard errors; also over the heap's floor, the least sample of each minute), fd
 * growth and event-loop delay. Reported, not asserted.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Pool } from "undici";
import { EmulatorControl } from "./emulator-control.js";
import { describeMachine, machineLine } from "./machine.js";
import { killAllNow, newBenchKey, startEmulatorProcess, startGatewayProcess, type Child } from "./processes.js";
import { prepareRuntime, ROOT, serviceVersion } from "./runtime.js";

const arg = (name: string, fallback: number) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.split("=")[1]) : fallback;
};
const CALLS = arg("calls", 1_000_000);
const CONNECTIONS = arg("connections", 32);
const SAMPLE_MS = arg("sample-ms", 10_000);

process.once("exit", killAllNow);
process.once("SIGINT", () => (killAllNow(), process.exit(130)));

interface Sample {
  t: number;
  calls: number;
  heapMiB: number;
  rssMiB: number;
  fds: number;
  lagP99Ms: number;
  lagMaxMs: number;
}

async function scrape(metricsUrl: string): Promise<Omit<Sample, "t" | "calls">> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(text)?.[1] ?? NaN);
  return {
    heapMiB: value("nodejs_heap_size_used_bytes") / 2 ** 20,
    rssMiB: value("process_resident_memory_bytes") / 2 ** 20,
    fds: value("process_open_fds"),
    lagP99Ms: value("nodejs_eventloop_lag_p99_seconds") * 1000,
    lagMaxMs: value("nodejs_eventloop_lag_max_seconds") * 1000,
  };
}

/** Least-squares slope of y over x, with its standard error (0 when there are too few points to have one). */
export function slope(xs: number[], ys: number[]): { slope: number; se: number } {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  const b = den === 0 ? 0 : num / den;
  let residuals = 0;
  for (let i = 0; i < n; i++) residuals += (ys[i]! - my - b * (xs[i]! - mx)) ** 2;
  const se = n > 2 && den > 0 ? Math.sqrt(residuals / (n - 2) / den) : 0;
  return { slope: b, se };
}

/**
 * The heap between collections is a saw-tooth (here 40–150 MiB), so a sample every 10 s lands anywhere on it and a
 * line through all samples is mostly noise. A leak raises the floor: the smallest sample of each group of six (one
 * minute at the default interval) is what the slope is fitted to as well.
 */
function floors<T>(xs: readonly T[], size: number, value: (x: T) => number): T[] {
  const out: T[] = [];
  for (let i = 0; i + size <= xs.length; i += size) {
    const group = xs.slice(i, i + size);
    out.push(group.reduce((lo, x) => (value(x) < value(lo) ? x : lo)));
  }
  return out;
}

async function main(): Promise<void> {
  const machine = describeMachine();
  console.log(`Soak — ${new Date().toISOString()}\nMachine: ${machineLine(machine)}`);
  const runtime = prepareRuntime("auto");
  const key = newBenchKey();
  const children: Child[] = [];
  try {
    const emulator = await startEmulatorProcess(runtime);
    children.push(emulator);
    await new EmulatorControl(emulator.url).configure({
      latency: null,
      errors: null,
      quota: null,
      responseTokens: 48,
      chunkTokens: 8,
    });
    const metricsPort = 30_000 + Math.floor(Math.random() * 10_000);
    const gateway = await startGatewayProcess(runtime, {
      emulatorUrl: emulator.url,
      key,
      logLevel: "info",
      upstreamConnections: undefined,
      cpuProfDir: undefined,
      env: {
        GATEWAY_METRICS_PORT: String(metricsPort),
        GATEWAY_MODELS: "gemini-2.5-flash,gemini-2.5-flash-lite,gemini-0-unknown",
      },
    });
    children.push(gateway);
    const metricsUrl = `http://127.0.0.1:${metricsPort}`;
    const service = serviceVersion();
    console.log(`Service: commit ${service.commit} (${runtime.note}); ${CALLS} calls on ${CONNECTIONS} connections\n`);

    const pool = new Pool(gateway.url, { connections: CONNECTIONS, pipelining: 1 });
    const headers = { "content-type": "application/json", "x-goog-api-key": key };
    const prompt = (text: string, extra: Record<string, unknown> = {}) =>
      JSON.stringify({ contents: [{ role: "user", parts: [{ text }] }], ...extra });
    const kinds = { unary: 0, stream: 0, cut: 0, cached: 0, upstreamError: 0, badRequest: 0, failed: 0 };
    let done = 0;

    const one = async (i: number): Promise<void> => {
      const slot = i % 100;
      const base = "/v1beta/models/gemini-2.5-flash";
      if (slot < 70) {
        const res = await pool.request({
          path: `${base}:generateContent`,
          method: "POST",
          headers,
          body: prompt(`unary ${i}`),
        });
        await res.body.text();
        kinds.unary++;
      } else if (slot < 87) {
        const cut = slot >= 82;
        const ac = new AbortController();
        const res = await pool.request({
          path: `${base}:streamGenerateContent?alt=sse`,
          method: "POST",
          headers,
          body: prompt(`stream ${i}`),
          signal: ac.signal,
        });
        if (cut) {
          for await (const _chunk of res.body) {
            ac.abort();
            break;
          }
          await res.body.text().catch(() => undefined);
          kinds.cut++;
        } else {
          await res.body.text();
          kinds.stream++;
        }
      } else if (slot < 92) {
        const body = prompt(`cached ${i % 20}`, { generationConfig: { temperature: 0 } });
        const res = await pool.request({ path: `${base}:generateContent`, method: "POST", headers, body });
        await res.body.text();
        kinds.cached++;
      } else if (slot < 96) {
        const res = await pool.request({
          path: "/v1beta/models/gemini-0-unknown:generateContent",
          method: "POST",
          headers,
          body: prompt(`error ${i}`),
        });
        await res.body.text();
        kinds.upstreamError++;
      } else {
        const res = await pool.request({ path: `${base}:generateContent`, method: "POST", headers, body: "{" });
        await res.body.text();
        kinds.badRequest++;
      }
    };

    const samples: Sample[] = [];
    const started = performance.now();
    const sampler = setInterval(() => {
      void scrape(metricsUrl).then((s) => {
        const sample = { t: (performance.now() - started) / 1000, calls: done, ...s };
        samples.push(sample);
        console.log(
          `  ${sample.t.toFixed(0).padStart(5)} s  ${String(done).padStart(8)} calls  heap ${s.heapMiB.toFixed(1)} MiB  ` +
            `rss ${s.rssMiB.toFixed(1)} MiB  fds ${s.fds}  loop p99 ${s.lagP99Ms.toFixed(1)} ms max ${s.lagMaxMs.toFixed(1)} ms`,
        );
      });
    }, SAMPLE_MS);
    let next = 0;
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        while (next < CALLS) {
          const i = next++;
          await one(i).catch(() => void kinds.failed++);
          done++;
        }
      }),
    );
    clearInterval(sampler);
    const wallS = (performance.now() - started) / 1000;
    await pool.close();
    samples.push({ t: wallS, calls: done, ...(await scrape(metricsUrl)) });

    const after = samples.slice(Math.floor(samples.length / 4));
    // MiB per 100,000 calls, ± two standard errors: "indistinguishable from zero" when the interval holds 0.
    const per100k = (points: readonly Sample[], y: (s: Sample) => number) => {
      const fit = slope(
        points.map((s) => s.calls),
        points.map(y),
      );
      return { slope: fit.slope * 100_000, plusMinus: 2 * fit.se * 100_000 };
    };
    const heapFloors = floors(after, 6, (s) => s.heapMiB);
    const summary = {
      calls: done,
      wallS,
      callsPerS: done / wallS,
      kinds,
      heapSlopeMiBPer100k: per100k(after, (s) => s.heapMiB),
      heapFloorSlopeMiBPer100k: per100k(heapFloors, (s) => s.heapMiB),
      rssSlopeMiBPer100k: per100k(after, (s) => s.rssMiB),
      heapMiB: { first: after[0]?.heapMiB, last: after.at(-1)?.heapMiB, max: Math.max(...after.map((s) => s.heapMiB)) },
      rssMiB: { first: after[0]?.rssMiB, last: after.at(-1)?.rssMiB, max: Math.max(...samples.map((s) => s.rssMiB)) },
      fds: { first: after[0]?.fds, last: after.at(-1)?.fds, max: Math.max(...samples.map((s) => s.fds)) },
      eventLoopP99MsMax: Math.max(...samples.map((s) => s.lagP99Ms)),
    };
    console.log(`\n${JSON.stringify(summary, null, 2)}`);
    const out = join(ROOT, "bench/results", `soak-${Date.now()}.json`);
    writeFileSync(out, JSON.stringify({ machine, service, summary, samples }, null, 2));
    console.log(`Results: ${out}`);
  } finally {
    await Promise.all(children.map((c) => c.stop().catch(() => undefined)));
  }
}

main().catch((err: unknown) => {
  console.error(err);
  killAllNow();
  process.exit(1);
});
