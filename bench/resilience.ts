/**
 * `npm run bench:resilience`: what routing and the response cache do under load. Two parts, each at a fixed offered
 * rate (300 req/s, open loop, 10 s after a 2 s warm-up; BENCH_RATE, BENCH_RATE_DURATION, BENCH_WARMUP,
 * BENCH_CONNECTIONS override):
 *
 *   1. Fault mixes. Two emulator processes stand in for two Vertex regions, A (us-central1) and B (europe-west4); a
 *      GATEWAY_UPSTREAMS_FILE routes gemini-2.5-flash to [A, B] with the default retry policy and breakers (written
 *      out below). A fresh gateway per mix, so breakers, cool-downs and the retry budget start clean:
 *        - mix 1: A answers 30% 503 and 10% 429 (RetryInfo 0.2 s), B healthy;
 *        - mix 2: A answers 100% 503 (down), B 5% 503.
 *      Reports the client success ratio, the upstream attempt ratio (model calls the two emulators saw, from their
 *      /__emulator/stats, per client call), where the attempts went, client p50/p99 (2xx) and non-2xx by status.
 *   2. Cache-hit latency. One gateway, one healthy emulator answering after firstTokenMs 50 (a miss costs ≥ 50 ms).
 *      A deterministic request (temperature 0) is sent once to fill the cache, then the same request at the fixed
 *      rate (every call a hit) vs. the same rate of a non-cacheable one (temperature 0.7): p50/p99 and the gateway's
 *      own x-gateway-overhead-ms.
 *
 * Prints the tables and writes bench/results/resilience-<timestamp>.json. Reported, not asserted.
 */
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parsePrometheus, type Samples } from "../test/support/prometheus.js";
import { EmulatorControl, type EmulatorStatsSnapshot } from "./emulator-control.js";
import { fixedRate, type HttpTarget, type RateResult } from "./load.js";
import { describeMachine, machineLine } from "./machine.js";
import { killAllNow, newBenchKey, spawnChild, startGatewayProcess, type Child } from "./processes.js";
import { prepareRuntime, ROOT, serviceVersion, type Runtime } from "./runtime.js";
import { MODEL_PATH, PROMPT } from "./scenarios.js";

const RATE = Number(process.env.BENCH_RATE ?? 300);
const DURATION_S = Number(process.env.BENCH_RATE_DURATION ?? 10);
const WARMUP_S = Number(process.env.BENCH_WARMUP ?? 2);
/** Retries and backoff hold calls open for a while: enough client connections that the pool never queues. */
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 256);

/** The upstreams file's retry and breaker sections: the gateway's defaults (config/upstreams.ts), written out. */
const RETRY = { maxAttempts: 3, budgetRatio: 0.2, baseDelayMs: 100, maxDelayMs: 5_000 };
const BREAKER = { consecutiveFailures: 5, failureRatio: 0.5, window: 20, minimumCalls: 10, halfOpenAfterMs: 10_000 };
const REGION_A = "us-central1";
const REGION_B = "europe-west4";

/** Emulator settings every run starts from: no faults, no artificial latency. */
const CLEAN = { errors: null, latency: null, retryDelaySeconds: 1 };

/**
 * Breakers that do not trip under mix 1 (all 20 of the last 20 calls, or 1,000 in a row, would have to fail): with
 * the default breakers A's opens within a second or so of mix 1 and then stays open for halfOpenAfterMs (10 s, the
 * length of the run), so only this extra row shows the retry budget at work with A still in the route. Not
 * failureRatio 1: the schema accepts it but cockatiel's CountBreaker throws a RangeError for a threshold ≥ 1 (every
 * call would be a 500).
 */
const BREAKER_NEVER_TRIPS = { ...BREAKER, consecutiveFailures: 1000, failureRatio: 0.99 };

interface Mix {
  name: string;
  a: Record<string, unknown>;
  b: Record<string, unknown>;
  breaker: typeof BREAKER;
}

const MIX_1 = { errors: { "503": 0.3, "429": 0.1 }, retryDelaySeconds: 0.2 };
const MIXES: Mix[] = [
  { name: "mix 1: A 30% 503 + 10% 429, B ok", a: MIX_1, b: {}, breaker: BREAKER },
  { name: "mix 1, breakers that never trip", a: MIX_1, b: {}, breaker: BREAKER_NEVER_TRIPS },
  {
    name: "mix 2: A down (100% 503), B 5% 503",
    a: { errors: { "503": 1 } },
    b: { errors: { "503": 0.05 } },
    breaker: BREAKER,
  },
];

const promptDoc = JSON.parse(PROMPT) as Record<string, unknown>;
const DETERMINISTIC = JSON.stringify({ ...promptDoc, generationConfig: { temperature: 0 } });
const SAMPLED = JSON.stringify({ ...promptDoc, generationConfig: { temperature: 0.7 } });

process.once("exit", killAllNow);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping the benchmark's processes`);
    killAllNow();
    process.exit(130);
  });
}

/** An emulator process answering as `region` (x-emulator-region), started like processes.ts starts the one. */
function startRegionEmulator(runtime: Runtime, region: string): Promise<Child> {
  return spawnChild({
    name: `emulator ${region}`,
    args: runtime.emulatorArgs,
    env: { EMULATOR_PORT: "0", EMULATOR_HOST: "127.0.0.1", EMULATOR_REGION: region },
    ready: /gemini emulator listening on (http:\/\/\S+)/,
  });
}

function target(name: string, origin: string, key: string, body: string): HttpTarget {
  return {
    name,
    origin,
    path: `${MODEL_PATH}:generateContent`,
    headers: { "content-type": "application/json", "x-goog-api-key": key },
    body,
  };
}

/** Warm-up, then zeroed emulator counters, then the measured run (with `during` watching it). */
async function measured<W>(
  t: HttpTarget,
  emulators: EmulatorControl[],
  during?: { start(): Promise<W> | W; stop(w: W): Promise<void> },
): Promise<RateResult> {
  const settings = { rate: RATE, durationS: DURATION_S, connections: CONNECTIONS };
  await fixedRate(t, { ...settings, durationS: WARMUP_S });
  await Promise.all(emulators.map((e) => e.reset()));
  const w = await during?.start();
  const load = await fixedRate(t, settings);
  if (during) await during.stop(w as W);
  return load;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The gateway's Prometheus metrics, read on its main port with the admin key. */
async function scrape(origin: string, adminKey: string): Promise<Samples> {
  const res = await fetch(`${origin}/metrics`, { headers: { authorization: `Bearer ${adminKey}` } });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET /metrics: HTTP ${res.status} ${text}`);
  return parsePrometheus(text);
}

/** gateway_retries_total{upstream,reason} after − before, e.g. {"emulator/us-central1 503": 12}. */
function retriesBetween(before: Samples, after: Samples): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of after) {
    const m = /^gateway_retries_total\{reason="([^"]*)",upstream="([^"]*)"\}$/.exec(k);
    if (!m) continue;
    const d = v - (before.get(k) ?? 0);
    if (d > 0) out[`${m[2]} ${m[1]}`] = d;
  }
  return out;
}

interface CircuitWatch {
  /** /readyz samples taken (every 100 ms). */
  samples: number;
  /** upstream|model → share of samples not closed (open or half-open). */
  notClosedShare: Record<string, number>;
  /** upstream|model → times seen going from closed (or half-open) to open. */
  opened: Record<string, number>;
}

/** Polls /readyz (details.circuits) every 100 ms until stopped. A breaker stays open ≥ halfOpenAfterMs: not missed. */
function watchCircuits(origin: string): { stop(): Promise<CircuitWatch> } {
  let stopped = false;
  const seen: Record<string, string>[] = [];
  const loop = (async () => {
    while (!stopped) {
      try {
        const res = await fetch(`${origin}/readyz`);
        const doc = (await res.json()) as { details?: { circuits?: Record<string, string> } };
        seen.push(doc.details?.circuits ?? {});
      } catch {
        // a missed sample: nothing to record
      }
      await sleep(100);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      const keys = new Set(seen.flatMap((s) => Object.keys(s)));
      const notClosedShare: Record<string, number> = {};
      const opened: Record<string, number> = {};
      for (const k of keys) {
        const states = seen.map((s) => s[k] ?? "closed");
        notClosedShare[k] = states.filter((x) => x !== "closed").length / Math.max(1, states.length);
        opened[k] = states.filter((x, i) => x === "open" && i > 0 && states[i - 1] !== "open").length;
      }
      return { samples: seen.length, notClosedShare, opened };
    },
  };
}

const non2xxByStatus = (load: RateResult): Record<string, number> =>
  Object.fromEntries(Object.entries(load.statusCodes).filter(([code]) => !code.startsWith("2")));

const upstreamCalls = (s: EmulatorStatsSnapshot) => s.requests.total;

interface MixRow {
  name: string;
  /** Client calls sent (rate × duration). */
  sent: number;
  ok: number;
  successRatio: number;
  /** Model calls A and B saw together, per client call. */
  attemptRatio: number;
  a: EmulatorStatsSnapshot["requests"];
  b: EmulatorStatsSnapshot["requests"];
  p50: number;
  p99: number;
  non2xx: Record<string, number>;
  errors: number;
  /** Retries the gateway made during the measured run, by upstream and reason (gateway_retries_total). */
  retries: Record<string, number>;
  /** Breaker states during the measured run, from /readyz. */
  circuits: CircuitWatch;
  load: RateResult;
}

interface CacheRow {
  name: string;
  sent: number;
  ok: number;
  /** Model calls the emulator saw during the measured run (0: every call was a hit). */
  upstreamCalls: number;
  p50: number;
  p99: number;
  overheadP50: number | undefined;
  overheadP99: number | undefined;
  non2xx: Record<string, number>;
  errors: number;
  load: RateResult;
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const machine = describeMachine();
  console.log(
    `Resilience and cache — ${machineLine(machine)}; ${RATE} req/s for ${DURATION_S} s per run after ` +
      `${WARMUP_S} s warm-up, ${CONNECTIONS} client connections\n`,
  );
  const runtime = prepareRuntime("auto");
  const service = serviceVersion();
  const key = newBenchKey();
  const adminKey = newBenchKey();
  const dir = mkdtempSync(join(tmpdir(), "gateway-resilience-"));
  const a = await startRegionEmulator(runtime, REGION_A);
  const b = await startRegionEmulator(runtime, REGION_B);
  const ctlA = new EmulatorControl(a.url);
  const ctlB = new EmulatorControl(b.url);
  /** The upstreams file for one mix: gemini-2.5-flash routed [A, B]. */
  const upstreamsFile = (name: string, breaker: typeof BREAKER): string => {
    const file = join(dir, `${name}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        upstreams: [
          { id: "a", provider: "vertex", region: REGION_A, baseUrl: a.url },
          { id: "b", provider: "vertex", region: REGION_B, baseUrl: b.url },
        ],
        routes: { "gemini-2.5-flash": ["a", "b"] },
        retry: RETRY,
        breaker,
      }),
    );
    return file;
  };
  const gatewayOptions = {
    emulatorUrl: a.url,
    key,
    logLevel: "info",
    upstreamConnections: undefined,
    cpuProfDir: undefined,
    env: { GATEWAY_ADMIN_KEY_SHA256: createHash("sha256").update(adminKey).digest("hex") },
  };

  const mixes: MixRow[] = [];
  const cache: CacheRow[] = [];
  try {
    // ---- 1. fault mixes ----
    for (const [i, mix] of MIXES.entries()) {
      // errors merge code by code: back to clean first, then the mix
      for (const [ctl, patch] of [
        [ctlA, mix.a],
        [ctlB, mix.b],
      ] as const) {
        await ctl.configure(CLEAN);
        await ctl.configure(patch);
      }
      const gateway = await startGatewayProcess(runtime, {
        ...gatewayOptions,
        env: { ...gatewayOptions.env, GATEWAY_UPSTREAMS_FILE: upstreamsFile(`mix-${i}`, mix.breaker) },
      });
      let load: RateResult;
      let retries: Record<string, number> = {};
      let circuits: CircuitWatch = { samples: 0, notClosedShare: {}, opened: {} };
      try {
        load = await measured(target(mix.name, gateway.url, key, PROMPT), [ctlA, ctlB], {
          start: async () => ({ before: await scrape(gateway.url, adminKey), watch: watchCircuits(gateway.url) }),
          stop: async ({ before, watch }) => {
            circuits = await watch.stop();
            retries = retriesBetween(before, await scrape(gateway.url, adminKey));
          },
        });
      } finally {
        await gateway.stop();
      }
      const [sa, sb] = await Promise.all([ctlA.stats(), ctlB.stats()]);
      const sent = Math.round(RATE * DURATION_S);
      const ok = load.latencyMs.count;
      mixes.push({
        name: mix.name,
        sent,
        ok,
        successRatio: ok / sent,
        attemptRatio: (upstreamCalls(sa) + upstreamCalls(sb)) / sent,
        a: sa.requests,
        b: sb.requests,
        p50: load.latencyMs.p50,
        p99: load.latencyMs.p99,
        non2xx: non2xxByStatus(load),
        errors: load.errors,
        retries,
        circuits,
        load,
      });
      console.log(`  ${mix.name}: done`);
    }

    // ---- 2. cache-hit latency ----
    await ctlA.configure(CLEAN);
    await ctlA.configure({ latency: { firstTokenMs: 50 } });
    await ctlB.configure(CLEAN);
    const gateway = await startGatewayProcess(runtime, gatewayOptions); // one upstream: A, no upstreams file
    try {
      const fill = await fetch(`${gateway.url}${MODEL_PATH}:generateContent`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-goog-api-key": key },
        body: DETERMINISTIC,
      });
      await fill.text();
      if (fill.status !== 200) throw new Error(`filling the cache: HTTP ${fill.status}`);
      const runs = [
        { name: "cache hit (temperature 0, cached)", body: DETERMINISTIC },
        { name: "not cacheable (temperature 0.7)", body: SAMPLED },
      ];
      for (const run of runs) {
        const load = await measured(target(run.name, gateway.url, key, run.body), [ctlA]);
        const s = await ctlA.stats();
        cache.push({
          name: run.name,
          sent: Math.round(RATE * DURATION_S),
          ok: load.latencyMs.count,
          upstreamCalls: upstreamCalls(s),
          p50: load.latencyMs.p50,
          p99: load.latencyMs.p99,
          overheadP50: load.serverOverheadMs?.p50,
          overheadP99: load.serverOverheadMs?.p99,
          non2xx: non2xxByStatus(load),
          errors: load.errors,
          load,
        });
        console.log(`  ${run.name}: done`);
      }
    } finally {
      await gateway.stop();
    }
  } finally {
    await Promise.all([a.stop(), b.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }

  const f = (n: number | undefined, d = 3) => (n === undefined || Number.isNaN(n) ? "—" : n.toFixed(d));
  const pct = (n: number) => `${(n * 100).toFixed(2)}%`;
  const codes = (c: Record<string, number>) =>
    Object.keys(c).length
      ? Object.entries(c)
          .map(([code, n]) => `${code}×${n}`)
          .join(" ")
      : "none";
  const seen = (r: EmulatorStatsSnapshot["requests"]) =>
    `${r.total} (${Object.entries(r.byStatus)
      .map(([code, n]) => `${code}:${n}`)
      .join(" ")})`;

  console.log(
    `\n${"fault mix".padEnd(36)}  success   attempts/call  p50 ms   p99 ms  client non-2xx   errors  ` +
      "upstream A calls (by status) / upstream B calls (by status)",
  );
  for (const r of mixes) {
    console.log(
      `${r.name.padEnd(36)}  ${pct(r.successRatio).padStart(7)}  ${f(r.attemptRatio).padStart(13)}  ` +
        `${f(r.p50).padStart(6)}  ${f(r.p99).padStart(7)}  ${codes(r.non2xx).padEnd(15)}  ${String(r.errors).padStart(6)}  ` +
        `A ${seen(r.a)} / B ${seen(r.b)}`,
    );
  }
  for (const r of mixes) {
    const breakers = Object.keys(r.circuits.notClosedShare)
      .map((k) => `${k} not closed ${pct(r.circuits.notClosedShare[k]!)} of the run, opened ${r.circuits.opened[k]}×`)
      .join("; ");
    console.log(
      `  ${r.name}: retries (to upstream, after) ${codes(r.retries)}; breakers: ${breakers || "none created"}`,
    );
  }
  console.log(
    `\n${"cache".padEnd(36)}  p50 ms   p99 ms  overhead p50 ms  overhead p99 ms  upstream calls  non-2xx  errors`,
  );
  for (const r of cache) {
    console.log(
      `${r.name.padEnd(36)}  ${f(r.p50).padStart(6)}  ${f(r.p99).padStart(7)}  ${f(r.overheadP50).padStart(15)}  ` +
        `${f(r.overheadP99).padStart(15)}  ${String(r.upstreamCalls).padStart(14)}  ${codes(r.non2xx).padStart(7)}  ` +
        `${String(r.errors).padStart(6)}`,
    );
  }

  const out = join(ROOT, "bench/results");
  mkdirSync(out, { recursive: true });
  const file = join(out, `resilience-${new Date().toISOString().replace(/:/g, "-")}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      {
        startedAt,
        finishedAt: new Date().toISOString(),
        machine,
        runtime: { kind: runtime.kind, note: runtime.note },
        service,
        rate: RATE,
        durationS: DURATION_S,
        warmupS: WARMUP_S,
        connections: CONNECTIONS,
        routes: { "gemini-2.5-flash": [REGION_A, REGION_B] },
        retry: RETRY,
        breaker: BREAKER,
        mixes: mixes.map((m, i) => ({
          ...m,
          emulatorA: MIXES[i]!.a,
          emulatorB: MIXES[i]!.b,
          breaker: MIXES[i]!.breaker,
        })),
        cache: { emulatorLatency: { firstTokenMs: 50 }, rows: cache },
      },
      null,
      2,
    ),
  );
  console.log(`\nResults: ${file}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    killAllNow();
    process.exit(1);
  },
);
