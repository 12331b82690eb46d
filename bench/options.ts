/**
 * The benchmark's knobs. Each can be given as a flag (`npm run bench -- --duration=5`) or as an environment variable
 * (`BENCH_DURATION=5 npm run bench`); a flag wins. Defaults are sized so the whole run takes about two minutes.
 */

export const SCENARIOS = ["fixed", "rate", "streams"] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface BenchOptions {
  /** Which scenarios to run, in the order of SCENARIOS. */
  only: ReadonlySet<ScenarioName>;
  /** Seconds of discarded load before each measured run. */
  warmupS: number;
  /** Scenario 1: seconds per measured run, and connections. */
  durationS: number;
  connections: number;
  /** Scenario 2: offered rate (req/s), seconds, and the client's connection pool size. */
  rate: number;
  rateDurationS: number;
  rateConnections: number;
  /** Scenario 3: number of concurrent streams, the emulator's stream shape, the ramp and a per-stream deadline. */
  streams: number;
  streamPerChunkMs: number;
  streamResponseTokens: number;
  streamChunkTokens: number;
  streamRampMs: number;
  streamTimeoutMs: number;
  streamWarmup: number;
  /** Gateway settings: LOG_LEVEL and GATEWAY_UPSTREAM_CONNECTIONS (undefined = the gateway's own default). */
  logLevel: string;
  upstreamConnections: number | undefined;
  /** Gateway GATEWAY_UPSTREAM_PROTOCOL: http1 (its default) or http2 (to the emulator as h2c). */
  upstreamProtocol: "http1" | "http2";
  /** Start the gateway with --cpu-prof; the profile lands in bench/results/profiles/. */
  cpuProf: boolean;
  /** "auto": compiled dist/ (built if missing or stale), falling back to tsx if the build fails. */
  runtime: "auto" | "dist" | "tsx";
  /** A different compiled gateway entry (e.g. a patched copy of dist/) for A/B experiments; undefined = dist/. */
  gatewayEntry: string | undefined;
}

interface Spec {
  flag: string;
  help: string;
  parse(raw: string | undefined): unknown;
}

const num =
  (fallback: number, min = 0) =>
  (raw: string | undefined): number => {
    if (raw === undefined || raw.trim() === "") return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min) throw new Error(`expected a number ≥ ${min}, got "${raw}"`);
    return n;
  };

const bool = (raw: string | undefined): boolean => raw !== undefined && /^(1|true|yes|on|)$/i.test(raw.trim());

const SPECS: Record<keyof BenchOptions, Spec> = {
  only: {
    flag: "only",
    help: `comma-separated subset of ${SCENARIOS.join(",")} (default: all)`,
    parse: (raw) => {
      if (raw === undefined || raw.trim() === "") return new Set(SCENARIOS);
      const names = raw.split(",").map((s) => s.trim());
      for (const n of names) {
        if (!(SCENARIOS as readonly string[]).includes(n)) throw new Error(`unknown scenario "${n}"`);
      }
      return new Set(names);
    },
  },
  warmupS: { flag: "warmup", help: "warm-up seconds before each measured run (2)", parse: num(2) },
  durationS: { flag: "duration", help: "scenario 1: seconds per measured run (10)", parse: num(10, 1) },
  connections: { flag: "connections", help: "scenario 1: concurrent connections (16)", parse: num(16, 1) },
  rate: { flag: "rate", help: "scenario 2: offered requests per second (500)", parse: num(500, 1) },
  rateDurationS: { flag: "rate-duration", help: "scenario 2: seconds per measured run (10)", parse: num(10, 1) },
  rateConnections: {
    flag: "rate-connections",
    help: "scenario 2: client connection pool size (64; only limits bursts)",
    parse: num(64, 1),
  },
  streams: { flag: "streams", help: "scenario 3: concurrent SSE streams (2000)", parse: num(2000, 1) },
  streamPerChunkMs: { flag: "stream-per-chunk-ms", help: "scenario 3: emulator perChunkMs (200)", parse: num(200) },
  streamResponseTokens: {
    flag: "stream-tokens",
    help: "scenario 3: emulator responseTokens (400: 50 chunks, ~10 s per stream, so all streams overlap)",
    parse: num(400, 1),
  },
  streamChunkTokens: { flag: "stream-chunk-tokens", help: "scenario 3: emulator chunkTokens (8)", parse: num(8, 1) },
  streamRampMs: {
    flag: "stream-ramp-ms",
    help: "scenario 3: spread the stream opens over this many ms (1000)",
    parse: num(1000),
  },
  streamTimeoutMs: {
    flag: "stream-timeout-ms",
    help: "scenario 3: per-stream deadline (60000)",
    parse: num(60_000, 1000),
  },
  streamWarmup: {
    flag: "stream-warmup",
    help: "scenario 3: warm-up streams through the gateway, 5 chunks each (50)",
    parse: num(50),
  },
  logLevel: {
    flag: "log-level",
    help: "gateway LOG_LEVEL (info: one access-log line per call, drained from a pipe)",
    parse: (raw) => (raw === undefined || raw.trim() === "" ? "info" : raw.trim()),
  },
  upstreamConnections: {
    flag: "upstream-connections",
    help: "gateway GATEWAY_UPSTREAM_CONNECTIONS (default: unset, the gateway's own default)",
    parse: (raw) => (raw === undefined || raw.trim() === "default" ? undefined : num(4096, 1)(raw)),
  },
  upstreamProtocol: {
    flag: "upstream-protocol",
    help: "gateway GATEWAY_UPSTREAM_PROTOCOL: http1 (default) or http2 (calls share h2c connections to the emulator)",
    parse: (raw) => {
      const v = raw === undefined || raw.trim() === "" ? "http1" : raw.trim();
      if (v !== "http1" && v !== "http2") throw new Error(`expected http1 or http2, got "${raw}"`);
      return v;
    },
  },
  cpuProf: {
    flag: "cpu-prof",
    help: "run the gateway with --cpu-prof (profile in bench/results/profiles/)",
    parse: bool,
  },
  runtime: {
    flag: "runtime",
    help: "auto | dist | tsx (auto: compiled dist/, rebuilt when stale)",
    parse: (raw) => {
      const v = raw === undefined || raw.trim() === "" ? "auto" : raw.trim();
      if (v !== "auto" && v !== "dist" && v !== "tsx") throw new Error(`expected auto, dist or tsx, got "${raw}"`);
      return v;
    },
  },
  gatewayEntry: {
    flag: "gateway-entry",
    help: "run this gateway entry file instead of dist/service/main.js (A/B experiments)",
    parse: (raw) => (raw === undefined || raw.trim() === "" ? undefined : raw.trim()),
  },
};

const envName = (flag: string) => `BENCH_${flag.toUpperCase().replace(/-/g, "_")}`;

export function usage(): string {
  const lines = Object.values(SPECS).map((s) => `  --${s.flag.padEnd(22)} ${envName(s.flag).padEnd(28)} ${s.help}`);
  return `Usage: npm run bench -- [--flag=value ...]   (or the BENCH_* environment variable)\n${lines.join("\n")}`;
}

/** Parses flags and environment; throws an Error naming the bad flag. */
export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): BenchOptions {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new Error(`unexpected argument "${arg}"\n${usage()}`);
    flags.set(m[1]!, m[2] ?? "");
  }
  const known = new Set(Object.values(SPECS).map((s) => s.flag));
  for (const f of flags.keys()) if (!known.has(f)) throw new Error(`unknown flag --${f}\n${usage()}`);

  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(SPECS)) {
    const raw = flags.get(spec.flag) ?? env[envName(spec.flag)];
    try {
      out[key] = spec.parse(raw);
    } catch (err) {
      throw new Error(`--${spec.flag} / ${envName(spec.flag)}: ${(err as Error).message}`);
    }
  }
  return out as unknown as BenchOptions;
}
