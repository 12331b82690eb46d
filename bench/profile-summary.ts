/**
 * `npx tsx bench/profile-summary.ts <file.cpuprofile> [--top=N]`: what a V8 CPU profile (`node --cpu-prof`, e.g. from
 * `npm run bench -- --only=fixed --cpu-prof`) says, as text for docs/benchmarks.md: self time by function and by
 * source area (the gateway's own folders, express, undici, prom-client, pino, node internals, GC), and inclusive time
 * of the gateway's stages. Samples taken while idle are left out of the shares.
 */
import { readFileSync } from "node:fs";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const file = process.argv[2];
if (!file) {
  console.error("usage: tsx bench/profile-summary.ts <file.cpuprofile> [--top=N]");
  process.exit(2);
}
const top = Number(process.argv.find((a) => a.startsWith("--top="))?.split("=")[1] ?? 25);
const p = JSON.parse(readFileSync(file, "utf8")) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// Time per node from the sample stream (timeDeltas are µs between samples).
const selfUs = new Map<number, number>();
for (let i = 0; i < p.samples.length; i++) {
  const id = p.samples[i]!;
  selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
}
const name = (n: Node) => n.callFrame.functionName || "(anonymous)";
const idle = (n: Node) => ["(idle)", "(program)"].includes(n.callFrame.functionName);
const area = (n: Node): string => {
  const url = n.callFrame.url;
  if (n.callFrame.functionName === "(garbage collector)") return "GC";
  const svc = /service\/src\/([^/]+)\//.exec(url) ?? /dist\/service\/([^/]+)\//.exec(url);
  if (svc) return `gateway ${svc[1]}/`;
  if (/dist\/service\/[^/]+\.js$|service\/src\/[^/]+\.ts$/.test(url)) return "gateway (top)";
  const mod = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (mod) return mod[1]!;
  if (url.startsWith("node:")) return `node ${url.slice(5).split("/")[0]}`;
  return url ? "other" : "native / V8";
};

let busyUs = 0;
const byFunction = new Map<string, number>();
const byArea = new Map<string, number>();
for (const [id, us] of selfUs) {
  const n = byId.get(id)!;
  if (idle(n)) continue;
  busyUs += us;
  const where = n.callFrame.url
    ? `${n.callFrame.url.replace(/^.*\/(service|node_modules)\//, "$1/")}:${n.callFrame.lineNumber + 1}`
    : "";
  const key = `${name(n)} ${where}`.trim();
  byFunction.set(key, (byFunction.get(key) ?? 0) + us);
  byArea.set(area(n), (byArea.get(area(n)) ?? 0) + us);
}

// Inclusive time of each gateway function: a sample counts once for every distinct gateway function on its stack.
const inclusive = new Map<string, number>();
for (const [id, us] of selfUs) {
  if (idle(byId.get(id)!)) continue;
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const n = byId.get(cur)!;
    if (!/service\/src\/|dist\/service\//.test(n.callFrame.url)) continue;
    const key = `${name(n)} (${n.callFrame.url.replace(/^.*\/(service\/src|dist\/service)\//, "")})`;
    if (seen.has(key)) continue;
    seen.add(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + us);
  }
}

const pct = (us: number) => `${((100 * us) / busyUs).toFixed(1).padStart(5)}%`;
const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
console.log(
  `${file}: ${(busyUs / 1000).toFixed(0)} ms busy of ${((p.endTime - p.startTime) / 1000).toFixed(0)} ms profiled\n`,
);
console.log("Self time by area");
for (const [k, us] of sorted(byArea)) console.log(`  ${pct(us)}  ${k}`);
console.log(`\nSelf time by function (top ${top})`);
for (const [k, us] of sorted(byFunction).slice(0, top)) console.log(`  ${pct(us)}  ${k}`);
console.log(`\nInclusive time of the gateway's functions (top ${top})`);
for (const [k, us] of sorted(inclusive).slice(0, top)) console.log(`  ${pct(us)}  ${k}`);
