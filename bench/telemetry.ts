/**
 * `npm run bench:telemetry`: what recording one call costs — the audit record (one JSON line through pino), the
 * Prometheus updates and the usage watch — measured in-process on realistic call records, so the number is the
 * telemetry's own CPU time and not lost in the noise of an HTTP benchmark. Pino writes to a real file descriptor
 * (/dev/null) as it would to stdout. Prints the median and p99 of per-batch means; writes
 * bench/results/telemetry-<timestamp>.json. Target (reported, not asserted): under 0.2 ms per call.
 */
import { mkdirSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { costOf, tokenUsageOf } from "../service/src/accounting/cost.js";
import { loadPriceTable } from "../service/src/accounting/prices.js";
import { createAuditLog, promptFingerprint } from "../service/src/telemetry/audit.js";
import type { CallRecord } from "../service/src/telemetry/call-record.js";
import { createLogger } from "../service/src/telemetry/logger.js";
import { createMetrics } from "../service/src/telemetry/metrics.js";
import { createCallRecorder } from "../service/src/telemetry/recorder.js";
import { createUsageWatch } from "../service/src/telemetry/usage-watch.js";
import { GEMINI_MODELS } from "../service/src/wire/gemini.js";
import { describeMachine, machineLine } from "./machine.js";
import { ROOT } from "./runtime.js";
import { Samples } from "./stats.js";

const BATCHES = 200;
const PER_BATCH = 500;

const tenants = Array.from({ length: 20 }, (_, i) => `tenant-${i}`);
const metrics = createMetrics({ tenants, models: GEMINI_MODELS });
const logger = createLogger("info", pino.destination({ dest: openSync("/dev/null", "w"), sync: false }));
const record = createCallRecorder(
  metrics,
  createAuditLog(logger, "bench-project"),
  createUsageWatch({ factor: 5, minTokensPerMinute: 10_000, onAnomaly: () => undefined }),
);
const audit = createAuditLog(logger, "bench-project");
const metricsOnly = createCallRecorder(
  metrics,
  () => undefined,
  createUsageWatch({ factor: 5, minTokensPerMinute: 10_000, onAnomaly: () => undefined }),
);
const prices = loadPriceTable();
const usage = { promptTokenCount: 812, candidatesTokenCount: 240, thoughtsTokenCount: 120, totalTokenCount: 1172 };

function callRecord(i: number): CallRecord {
  const model = GEMINI_MODELS[i % GEMINI_MODELS.length]!;
  const stream = i % 4 === 0;
  return {
    requestId: `req-${i}`,
    surface: i % 2 ? "gemini" : "vertex",
    tenant: tenants[i % tenants.length],
    keyId: "0123456789ab",
    model,
    method: stream ? "streamGenerateContent" : "generateContent",
    stream,
    status: 200,
    error: undefined,
    durationMs: 412.5 + (i % 50),
    overheadMs: 0.21,
    upstream: {
      id: "vertex/us-central1",
      provider: "vertex",
      region: "us-central1",
      attempts: 1,
      status: 200,
      outcome: "ok",
      durationMs: 412.3,
      firstChunkMs: stream ? 180.2 : undefined,
    },
    tokens: tokenUsageOf(usage),
    usageEstimated: false,
    cost: costOf(prices, model, usage),
    unpriced: false,
    promptSha256: "9f2c1e0b7d4a5c3e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e",
    injection: { score: 0.05, categories: [], flagged: false, action: "log" },
    modelArmorBlock: undefined,
    admission: "admitted",
    admissionScope: undefined,
    queuedMs: 0,
    priority: "interactive",
    feature: undefined,
    cache: "bypass",
    savedUsd: undefined,
    streamError: undefined,
    cutBy: undefined,
    http: {
      method: "POST",
      path: `/v1beta/models/${model}:generateContent`,
      userAgent: "google-genai-sdk/2.32.0 gl-node/v20.20.2",
      remoteIp: "10.0.0.7",
      requestBytes: 3120,
      responseBytes: 1480,
    },
    trace: { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", sampled: false },
  };
}

function measure(label: string, fn: (i: number) => void): { label: string; medianUs: number; p99Us: number } {
  const perCall = new Samples();
  let i = 0;
  for (let w = 0; w < 20_000; w++) fn(i++); // warm-up: JIT, metric series created
  for (let b = 0; b < BATCHES; b++) {
    const t0 = performance.now();
    for (let k = 0; k < PER_BATCH; k++) fn(i++);
    perCall.add(((performance.now() - t0) * 1000) / PER_BATCH);
  }
  const p = perCall.percentiles();
  return { label, medianUs: p.p50, p99Us: p.p99 };
}

const records = Array.from({ length: 1000 }, (_, i) => callRecord(i));
const doc = {
  systemInstruction: { parts: [{ text: "You are a support assistant for a shipping company. Be brief." }] },
  contents: [
    { role: "user", parts: [{ text: "Where is my parcel? The tracking number is 1Z999AA10123456784.".repeat(8) }] },
  ],
};

const rows = [
  measure("record a call: audit line + metrics + usage watch", (i) => record(records[i % records.length]!)),
  measure("  of which the audit record (one JSON line)", (i) => audit(records[i % records.length]!)),
  measure("  of which the metrics and usage watch", (i) => metricsOnly(records[i % records.length]!)),
  measure("prompt fingerprint (SHA-256 of the normalized prompt, ~0.5 KB)", () => promptFingerprint(doc)),
  measure("cost of a call (price table lookup)", (i) => costOf(prices, GEMINI_MODELS[i % 7]!, usage)),
];

const machine = describeMachine();
console.log(`Telemetry cost per call — ${machineLine(machine)}\n`);
console.log(`${"what".padEnd(66)}  median µs  p99 µs`);
for (const r of rows)
  console.log(`${r.label.padEnd(66)}  ${r.medianUs.toFixed(2).padStart(9)}  ${r.p99Us.toFixed(2).padStart(6)}`);
const total = rows.filter((r) => !r.label.startsWith("  ")).reduce((n, r) => n + r.medianUs, 0);
console.log(
  `\nmetrics + audit + fingerprint + cost: ${total.toFixed(1)} µs per call (target < 200 µs) ${total < 200 ? "✓" : "✗"}`,
);

const dir = join(ROOT, "bench/results");
mkdirSync(dir, { recursive: true });
const file = join(dir, `telemetry-${new Date().toISOString().replace(/:/g, "-")}.json`);
writeFileSync(file, JSON.stringify({ machine, rows, totalMedianUs: total }, null, 2));
console.log(`Results: ${file}`);
logger.flush();
