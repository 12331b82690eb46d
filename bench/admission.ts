/**
 * `npm run bench:admission`: what shared limits cost on the hot path. The same fixed-rate load (500 req/s, open
 * loop, 10 s after a warm-up) goes through the gateway three times, to a tenant:
 *
 *   1. without limits (admission skipped),
 *   2. with limits in the in-memory store (one instance),
 *   3. with limits in Redis (a private redis-server on a unix socket, as on Cloud Run with Memorystore it is TCP),
 *      leased (the default with Redis: decided in memory against leases, quota/leased-windows.ts) and per call
 *      (GATEWAY_ADMISSION=per-call: one Redis round trip per call);
 *   4. the same two with Redis 10 ms away (a delaying TCP proxy, 5 ms each way: a store in another zone or region);
 *   5. leased on a three-primary Redis Cluster (REDIS_CLUSTER=true);
 *   6. leased with an upstream capacity for the model (GATEWAY_CAPACITY: two more windows).
 *
 * With leasing, what admission adds should not depend on how far Redis is. Limits are set high enough that every call is admitted, so the numbers are the cost of deciding, not of refusing.
 * Prints p50/p99 latency, what each adds over the run without limits, gateway CPU per call, and Redis's CPU per call
 * (its own `INFO cpu`; on the cluster, the busiest primary's) with what that means: the calls per second one Redis
 * primary carries, fleet-wide, before its one thread saturates (10^6 µs ÷ µs per call); writes
 * bench/results/admission-<timestamp>.json. Reported, not asserted.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startDelayProxy } from "../test/support/delay-proxy.js";
import { startRedisCluster } from "../test/support/redis-cluster.js";
import { startRedisServer } from "../test/support/redis-server.js";
import { fixedRate } from "./load.js";
import { describeMachine, machineLine } from "./machine.js";
import { Meter } from "./proc.js";
import { killAllNow, newBenchKey, startEmulatorProcess, startGatewayProcess, type Child } from "./processes.js";
import { prepareRuntime, ROOT } from "./runtime.js";
import { MODEL_PATH, PROMPT } from "./scenarios.js";

const RATE = Number(process.env.BENCH_RATE ?? 500);
const DURATION_S = Number(process.env.BENCH_RATE_DURATION ?? 10);
const WARMUP_S = Number(process.env.BENCH_WARMUP ?? 2);
const LIMITS = { requestsPerMinute: 6_000_000, tokensPerMinute: 1_000_000_000, requestsPerDay: 100_000_000 };

process.once("exit", killAllNow);

/** A Redis server's own CPU time in ms (user + sys, from INFO cpu), by unix socket or TCP port. */
function redisCpuMs(where: { socket: string } | { port: number }): number {
  const at = "socket" in where ? ["-s", where.socket] : ["-h", "127.0.0.1", "-p", String(where.port)];
  const out = spawnSync("redis-cli", [...at, "info", "cpu"], { encoding: "utf8" }).stdout;
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, "m").exec(out)?.[1] ?? NaN);
  return (field("used_cpu_user") + field("used_cpu_sys")) * 1000;
}

async function main(): Promise<void> {
  const machine = describeMachine();
  console.log(`Admission cost — ${machineLine(machine)}; ${RATE} req/s for ${DURATION_S} s per variant\n`);
  const runtime = prepareRuntime("auto");
  const key = newBenchKey();
  const redis = await startRedisServer();
  const far = await startDelayProxy(redis.socketPath, 5);
  const farUrl = `redis://127.0.0.1:${far.port}`;
  const cluster = await startRedisCluster();
  const emulator: Child = await startEmulatorProcess(runtime);
  const perCall = { GATEWAY_ADMISSION: "per-call" };
  const single = [{ socket: redis.socketPath }];
  const nodes = cluster.ports.map((port) => ({ port }));
  const variants: {
    name: string;
    limits?: Record<string, number>;
    env?: Record<string, string>;
    /** The Redis servers this variant uses (their CPU is read around the run). */
    redis?: ({ socket: string } | { port: number })[];
  }[] = [
    { name: "no limits (admission skipped)" },
    { name: "limits, in-memory store", limits: LIMITS },
    { name: "Redis, leased", limits: LIMITS, env: { REDIS_URL: redis.socketPath }, redis: single },
    { name: "Redis, per call", limits: LIMITS, env: { REDIS_URL: redis.socketPath, ...perCall }, redis: single },
    { name: "Redis 10 ms away, leased", limits: LIMITS, env: { REDIS_URL: farUrl }, redis: single },
    { name: "Redis 10 ms away, per call", limits: LIMITS, env: { REDIS_URL: farUrl, ...perCall }, redis: single },
    {
      name: "Redis Cluster (3), leased",
      limits: LIMITS,
      env: { REDIS_URL: cluster.url, REDIS_CLUSTER: "true" },
      redis: nodes,
    },
    {
      name: "Redis + capacity, leased",
      limits: LIMITS,
      env: {
        REDIS_URL: redis.socketPath,
        GATEWAY_CAPACITY: JSON.stringify({
          models: [{ model: "gemini-2.5-flash", requestsPerMinute: 6_000_000, tokensPerMinute: 1_000_000_000 }],
        }),
      },
      redis: single,
    },
  ];
  const rows = [];
  try {
    for (const v of variants) {
      const gateway = await startGatewayProcess(runtime, {
        emulatorUrl: emulator.url,
        key,
        logLevel: "info",
        upstreamConnections: undefined,
        cpuProfDir: undefined,
        limits: v.limits,
        env: v.env,
      });
      const target = {
        name: v.name,
        origin: gateway.url,
        path: `${MODEL_PATH}:generateContent`,
        headers: { "content-type": "application/json", "x-goog-api-key": key },
        body: PROMPT,
      };
      const settings = { rate: RATE, durationS: DURATION_S, connections: 64 };
      await fixedRate(target, { ...settings, durationS: WARMUP_S });
      const meter = new Meter(gateway.pid);
      const redisBefore = (v.redis ?? []).map(redisCpuMs);
      const load = await fixedRate(target, settings);
      const m = meter.stop();
      // The busiest server's CPU per call: on a cluster, the primary that saturates first.
      const redisUsPerCall = v.redis
        ? Math.max(...v.redis.map((r, i) => ((redisCpuMs(r) - redisBefore[i]!) * 1000) / load.requests))
        : undefined;
      await gateway.stop();
      rows.push({
        name: v.name,
        requests: load.requests,
        non2xx: load.non2xx,
        errors: load.errors,
        p50: load.latencyMs.p50,
        p99: load.latencyMs.p99,
        overheadP50: load.serverOverheadMs?.p50,
        cpuUsPerCall: (m.cpuMs * 1000) / load.requests,
        redisUsPerCall,
        callsPerSecondPerPrimary: redisUsPerCall ? 1e6 / redisUsPerCall : undefined,
      });
      console.log(`  ${v.name}: done`);
    }
  } finally {
    await emulator.stop();
    await far.close();
    await cluster.close();
    await redis.close();
  }
  const base = rows[0]!;
  const f = (n: number | undefined, d = 3) => (n === undefined ? "—" : n.toFixed(d));
  console.log(
    `\n${"variant".padEnd(32)}  p50 ms  p99 ms  +p50 ms  +p99 ms  overhead p50 ms  CPU µs/call  ` +
      `Redis µs/call  calls/s per primary  non-2xx  errors`,
  );
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(32)}  ${f(r.p50).padStart(6)}  ${f(r.p99).padStart(6)}  ${f(r.p50 - base.p50).padStart(7)}  ` +
        `${f(r.p99 - base.p99).padStart(7)}  ${f(r.overheadP50).padStart(15)}  ${f(r.cpuUsPerCall, 0).padStart(11)}  ` +
        `${f(r.redisUsPerCall, 1).padStart(13)}  ${f(r.callsPerSecondPerPrimary, 0).padStart(19)}  ` +
        `${String(r.non2xx).padStart(7)}  ${String(r.errors).padStart(6)}`,
    );
  }
  const dir = join(ROOT, "bench/results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `admission-${new Date().toISOString().replace(/:/g, "-")}.json`);
  writeFileSync(file, JSON.stringify({ machine, rate: RATE, durationS: DURATION_S, rows }, null, 2));
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
