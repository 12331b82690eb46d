/**
 * `npm run bench:store`: the hot-path cost of one admission decision, in memory and in Redis (over a unix socket
 * and over TCP to 127.0.0.1), with private redis-server processes started here. Two operations:
 * - admit: one decision over four windows (tenant requests/min, tokens/min, requests/day, the model's global
 *   tokens/min), as the admission stage makes it for every call; limits are high, so every call is admitted;
 * - reserve+reconcile: admit with a token hold, then reconcile it to the actual amount (two round trips per call).
 * Each is measured one at a time (latency of a decision on an idle store) and with 64 in flight from one client
 * (throughput, and latency under that load). Prints a table and writes bench/results/store-<timestamp>.json.
 * Numbers are reported, never asserted.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createMemoryStore } from "../service/src/store/memory.js";
import { createRedisStore } from "../service/src/store/redis.js";
import type { Charge, Store, Window } from "../service/src/store/store.js";
import { startRedisServer } from "../test/support/redis-server.js";
import { describeMachine, machineLine } from "./machine.js";
import { table } from "./report.js";
import { Samples, type Percentiles } from "./stats.js";

const SEQUENTIAL = 5000;
const CONCURRENCY = 64;
const DURATION_MS = 2000;
const TENANTS = 100;
const MINUTE = 60_000;

type Operation = "admit" | "reserve+reconcile";
interface Run {
  store: string;
  operation: Operation;
  mode: "sequential" | `${number} in flight`;
  opsPerSecond: number;
  latencyMs: Percentiles;
}

function windowsFor(i: number): { charges: Charge[]; tokens: Window[] } {
  const t = `bench:t${i % TENANTS}`;
  const tpm = { key: `${t}:tpm`, limit: 1_000_000_000, periodMs: MINUTE };
  const modelTpm = { key: "bench:m:gemini-2.5-flash:tpm", limit: 10_000_000_000, periodMs: MINUTE };
  const requests: Charge[] = [
    { key: `${t}:rpm`, limit: 1_000_000, periodMs: MINUTE, cost: 1 },
    { key: `${t}:rpd`, limit: 10_000_000, periodMs: 86_400_000, cost: 1 },
  ];
  return { charges: [...requests, { ...tpm, cost: 900 }, { ...modelTpm, cost: 900 }], tokens: [tpm, modelTpm] };
}

async function once(store: Store, op: Operation, i: number): Promise<void> {
  const { charges, tokens } = windowsFor(i);
  if (op === "admit") {
    if (!(await store.windows.admit(charges)).admitted) throw new Error("refused: limits too low for the bench");
    return;
  }
  const a = await store.windows.admit(charges.slice(0, 2), { windows: tokens, amount: 1200, ttlMs: 600_000 });
  if (!a.admitted || !a.reservation) throw new Error("refused: limits too low for the bench");
  await store.windows.reconcile(a.reservation, 900);
}

async function sequential(store: Store, op: Operation): Promise<{ opsPerSecond: number; latencyMs: Percentiles }> {
  for (let i = 0; i < 500; i++) await once(store, op, i); // warm-up: JIT, script cache
  const samples = new Samples();
  const started = performance.now();
  for (let i = 0; i < SEQUENTIAL; i++) {
    const t0 = performance.now();
    await once(store, op, i);
    samples.add(performance.now() - t0);
  }
  return { opsPerSecond: SEQUENTIAL / ((performance.now() - started) / 1000), latencyMs: samples.percentiles() };
}

async function concurrent(store: Store, op: Operation): Promise<{ opsPerSecond: number; latencyMs: Percentiles }> {
  const samples = new Samples();
  const started = performance.now();
  const until = started + DURATION_MS;
  let i = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until) {
        const t0 = performance.now();
        await once(store, op, i++);
        samples.add(performance.now() - t0);
      }
    }),
  );
  return { opsPerSecond: samples.count / ((performance.now() - started) / 1000), latencyMs: samples.percentiles() };
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const machine = describeMachine();
  console.log(`store bench — ${machineLine(machine)}`);
  const server = await startRedisServer({ tcp: true });
  const runs: Run[] = [];
  try {
    const stores: [string, () => Promise<Store>][] = [
      ["memory", async () => createMemoryStore()],
      ["redis (unix socket)", () => createRedisStore({ url: server.socketPath, prefix: "bench-unix:" })],
      ["redis (tcp 127.0.0.1)", () => createRedisStore({ url: server.tcpUrl!, prefix: "bench-tcp:" })],
    ];
    for (const [name, open] of stores) {
      const store = await open();
      try {
        for (const operation of ["admit", "reserve+reconcile"] as const) {
          runs.push({ store: name, operation, mode: "sequential", ...(await sequential(store, operation)) });
          runs.push({
            store: name,
            operation,
            mode: `${CONCURRENCY} in flight`,
            ...(await concurrent(store, operation)),
          });
        }
      } finally {
        await store.close();
      }
    }
  } finally {
    await server.close();
  }

  const us = (ms: number) => (ms * 1000).toFixed(0);
  console.log(
    table(
      ["store", "operation", "mode", "ops/s", "p50 µs", "p99 µs", "max µs"],
      runs.map((r) => [
        r.store,
        r.operation,
        r.mode,
        r.opsPerSecond.toFixed(0),
        us(r.latencyMs.p50),
        us(r.latencyMs.p99),
        us(r.latencyMs.max),
      ]),
    ),
  );
  const results = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine,
    settings: { sequential: SEQUENTIAL, concurrency: CONCURRENCY, durationMs: DURATION_MS, tenants: TENANTS },
    note: "admit = one decision over 4 windows; reserve+reconcile = 2 round trips; latency per operation in ms",
    runs,
  };
  const dir = join(dirname(fileURLToPath(import.meta.url)), "results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `store-${startedAt.toISOString().replace(/:/g, "-")}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`results: ${file}`);
}

await main();
