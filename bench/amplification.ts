/**
 * `npm run bench:amplification`: what bodies built to blow up when parsed cost a real gateway process (issue 12).
 * Each body is under the 20 MiB size limit and valid JSON; the parse budget (service/src/pipeline/json-scan.ts) must
 * refuse it while it arrives. For each body, sent once and then three at once, it reports:
 *
 * - time to refusal: from the first byte sent to the response head (the client may still be uploading);
 * - the gateway's RSS before, at its peak (sampled from /proc/<pid>/status every 50 ms) and 1 s after;
 * - `/healthz` latency p50/max, probed every 20 ms on its own connection while the attack runs.
 *
 * Two accepted bodies are measured the same way for comparison: a 15 MiB inline image (the usual big request) and the
 * most expensive shape just under the value limit (distinct object keys in a function response).
 *
 * First, in this process, what the scan costs on the hot path (µs per KB, per body shape) and what the field-name
 * walk costs when a body has an `_` (so the walk is not skipped).
 * Targets (refused within 1 s, RSS growth under 100 MB) are printed with ✓/✗, never asserted. Writes
 * bench/results/amplification-<timestamp>.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { join } from "node:path";
import { describeMachine, machineLine } from "./machine.js";
import { memory } from "./proc.js";
import { killAllNow, newBenchKey, startEmulatorProcess, startGatewayProcess, type Child } from "./processes.js";
import { prepareRuntime, ROOT, serviceVersion } from "./runtime.js";
import { table } from "./report.js";
import { hotPath } from "./scan-cost.js";
import { Samples } from "./stats.js";

const MiB = 1024 * 1024;
const PATH = "/v1beta/models/gemini-2.5-flash:generateContent";
const PROMPT = '{"contents":[{"parts":[{"text":"x"}]}]';
/** The gateway's default GATEWAY_MAX_JSON_VALUES. */
const MAX_VALUES = 100_000;
const SETTLE_MS = 1_000;
/**
 * `--only=<text>`: the bodies whose name contains it; `--concurrency=1,3`: how many at once, per round;
 * `--gateway-entry=<js>`: measure another build of the gateway (a "before").
 */
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

process.once("exit", killAllNow);

/** `head` + `unit` repeated to ~19 MiB + `tail`: under the 20 MiB limit, so only the parse budget can refuse it. */
const fill = (head: string, unit: string, tail: string) =>
  Buffer.from(head + unit.repeat(Math.floor((19 * MiB - head.length - tail.length) / unit.length)) + tail);

interface Case {
  name: string;
  body: Buffer;
  /** Whether the gateway should refuse it (the attack) or serve it (a comparison). */
  refused: boolean;
}

function cases(): Case[] {
  const distinctKeys = Array.from({ length: MAX_VALUES - 100 }, (_, i) => `"key${i}":0`).join(",");
  return [
    { name: "[[],[],…] filler", body: fill(`${PROMPT},"x":[`, "[],", "[]]}"), refused: true },
    {
      name: "1.6 M tiny text parts",
      body: fill('{"contents":[{"parts":[', '{"text":"a"},', '{"text":"a"}]}]}'),
      refused: true,
    },
    { name: "deep nesting", body: fill(`${PROMPT},"x":`, "[", ""), refused: true },
    { name: "many strings", body: fill(`${PROMPT},"x":[`, '"",', '""]}'), refused: true },
    { name: "many object keys", body: fill(`${PROMPT},"x":{`, '"k":0,', '"k":0}}'), refused: true },
    {
      name: "accepted: 15 MiB inline image",
      body: Buffer.from(
        JSON.stringify({
          contents: [
            { parts: [{ text: "describe" }, { inlineData: { mimeType: "image/png", data: "A".repeat(15 * MiB) } }] },
          ],
        }),
      ),
      refused: false,
    },
    {
      name: `accepted: ${MAX_VALUES - 100} distinct keys`,
      body: Buffer.from(
        `{"contents":[{"role":"user","parts":[{"functionResponse":{"name":"f","response":{${distinctKeys}}}}]}]}`,
      ),
      refused: false,
    },
  ];
}

/** Sends one body; resolves with the status and the time to the response head, once the exchange is over. */
function send(origin: string, key: string, body: Buffer): Promise<{ status: number; ms: number }> {
  const url = new URL(origin);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let head = 0;
    let status = 0;
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method: "POST",
        path: PATH,
        agent: false,
        headers: { "content-type": "application/json", "x-goog-api-key": key, "content-length": body.length },
      },
      (res) => {
        head = performance.now() - t0;
        status = res.statusCode ?? 0;
        res.resume();
        res.on("end", () => resolve({ status, ms: head }));
      },
    );
    // The server answers a refused body before it has all of it and may then close: not a failure of the bench.
    req.on("error", (err) => (status ? resolve({ status, ms: head }) : reject(err)));
    req.end(body);
  });
}

/** RSS of `pid` every 50 ms, and /healthz on its own keep-alive connection every 20 ms, until stopped. */
function watch(pid: number, origin: string) {
  const rss: number[] = [];
  const sample = () => rss.push(memory(pid).rssMb);
  sample();
  const sampler = setInterval(sample, 50);
  const health = new Samples();
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let running = true;
  const prober = (async () => {
    while (running) {
      const t0 = performance.now();
      await new Promise<void>((resolve) => {
        const req = request(`${origin}/healthz`, { agent }, (res) => {
          res.resume();
          res.on("end", () => resolve());
        });
        req.on("error", () => resolve());
        req.end();
      });
      const ms = performance.now() - t0;
      health.add(ms);
      if (ms < 20) await new Promise((r) => setTimeout(r, 20 - ms));
    }
  })();
  return {
    async stop() {
      running = false;
      clearInterval(sampler);
      await prober;
      agent.destroy();
      sample();
      return { peakMb: Math.max(...rss), health: health.percentiles() };
    },
  };
}

interface Row {
  name: string;
  concurrency: number;
  statuses: number[];
  refusalMs: number;
  rssBeforeMb: number;
  rssPeakMb: number;
  rssAfterMb: number;
  healthzP50Ms: number;
  healthzMaxMs: number;
  refused: boolean;
}

async function measure(gateway: Child, key: string, c: Case, concurrency: number): Promise<Row> {
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const before = memory(gateway.pid).rssMb;
  const w = watch(gateway.pid, gateway.url);
  const results = await Promise.all(Array.from({ length: concurrency }, () => send(gateway.url, key, c.body)));
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const { peakMb, health } = await w.stop();
  return {
    name: c.name,
    concurrency,
    statuses: results.map((r) => r.status),
    refusalMs: Math.max(...results.map((r) => r.ms)),
    rssBeforeMb: before,
    rssPeakMb: peakMb,
    rssAfterMb: memory(gateway.pid).rssMb,
    healthzP50Ms: health.p50,
    healthzMaxMs: health.max,
    refused: c.refused,
  };
}

async function main(): Promise<void> {
  const machine = describeMachine();
  console.log(`Amplification bodies — ${machineLine(machine)}\n`);
  const hot = hotPath();
  console.log(
    table(
      ["scan (in process)", "bytes", "values", "µs", "µs/KB"],
      hot.scan.map((r) => [r.name, String(r.bytes), String(r.values), r.us.toFixed(1), r.usPerKb.toFixed(3)]),
    ),
  );
  console.log(
    `\n${table(
      ["field-name walk (in process)", "µs"],
      hot.walk.map((r) => [r.name, r.us.toFixed(1)]),
    )}\n`,
  );
  const runtime = prepareRuntime("auto", arg("gateway-entry"));
  const key = newBenchKey();
  const only = arg("only");
  const all = cases().filter((c) => only === undefined || c.name.includes(only));
  const emulator = await startEmulatorProcess(runtime);
  const gateway = await startGatewayProcess(runtime, {
    emulatorUrl: emulator.url,
    key,
    logLevel: "warn",
    upstreamConnections: undefined,
    cpuProfDir: undefined,
  });
  const rows: Row[] = [];
  try {
    for (const concurrency of (arg("concurrency") ?? "1,3").split(",").map(Number)) {
      for (const c of all) {
        rows.push(await measure(gateway, key, c, concurrency));
        console.log(`  ${c.name} ×${concurrency}: done`);
      }
    }
  } finally {
    await gateway.stop();
    await emulator.stop();
  }

  const f = (n: number, d = 0) => n.toFixed(d);
  console.log(
    `\n${table(
      [
        "body",
        "×",
        "status",
        "to answer ms",
        "RSS before MB",
        "peak MB",
        "after MB",
        "healthz p50 ms",
        "healthz max ms",
        "target",
      ],
      rows.map((r) => {
        const growth = r.rssPeakMb - r.rssBeforeMb;
        const met = !r.refused || (r.refusalMs < 1000 && growth < 100);
        return [
          r.name,
          String(r.concurrency),
          [...new Set(r.statuses)].join("/"),
          f(r.refusalMs, 1),
          f(r.rssBeforeMb),
          f(r.rssPeakMb),
          f(r.rssAfterMb),
          f(r.healthzP50Ms, 2),
          f(r.healthzMaxMs, 1),
          r.refused ? (met ? "✓" : "✗") : "(served)",
        ];
      }),
    )}`,
  );
  console.log("\nTargets for refused bodies: answered within 1 s, RSS growth (peak − before) under 100 MB.");
  const dir = join(ROOT, "bench/results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `amplification-${new Date().toISOString().replace(/:/g, "-")}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      { machine, runtime: { kind: runtime.kind, note: runtime.note }, service: serviceVersion(), hotPath: hot, rows },
      null,
      2,
    ),
  );
  console.log(`Results: ${file}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    killAllNow();
    process.exit(1);
  },
);
