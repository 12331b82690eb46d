/**
 * Which node runs the servers a bench starts (gateway, emulator, baselines, Portkey): by default the Node the gateway
 * image runs (service/Dockerfile: Node 24 LTS), because that is what production pays per call — and on this machine
 * Node 20 costs two to three times more CPU per HTTP call than Node 24 for every server alike, which would measure the
 * runtime rather than the code. `BENCH_NODE` chooses:
 *
 *   BENCH_NODE=image    (default) Node 24 from the npm registry's node-linux-<arch> package, the version .ci/run
 *                       pins, cached in ~/.cache/gemini-gateway (installed on first use, never committed)
 *   BENCH_NODE=machine  the node running the bench
 *   BENCH_NODE=<path>   that node binary
 *
 * The load generator (wrk) and the bench's own process are unaffected.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { cachedPackage } from "./cached-package.js";
import { ROOT } from "./runtime.js";

export interface ServerNode {
  path: string;
  version: string;
  /** How it was chosen, for the report. */
  note: string;
}

/** The Node 24 version .ci/run pins (one place for it). */
function pinnedNode24(): string {
  const m = /^NODE24_VERSION=(\S+)$/m.exec(readFileSync(join(ROOT, ".ci/run"), "utf8"));
  if (!m) throw new Error(".ci/run no longer pins NODE24_VERSION: update bench/server-node.ts");
  return m[1]!;
}

function imageNode(): string {
  const version = pinnedNode24();
  if (process.version === `v${version}`) return process.execPath;
  const arch = process.arch === "arm64" ? "arm64" : "x64";
  // The same folder .ci/run installs into, so a machine that ran CI has it already.
  return cachedPackage(
    `node-linux-${arch}-${version}`,
    `node-linux-${arch}@${version}`,
    `node_modules/node-linux-${arch}/bin/node`,
  );
}

let chosen: ServerNode | undefined;

export function serverNode(): ServerNode {
  if (chosen) return chosen;
  const want = process.env.BENCH_NODE ?? "image";
  const path = want === "image" ? imageNode() : want === "machine" ? process.execPath : want;
  if (!existsSync(path)) throw new Error(`BENCH_NODE=${want}: ${path} does not exist`);
  const r = spawnSync(path, ["--version"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`BENCH_NODE=${want}: ${path} --version failed`);
  const version = r.stdout.trim();
  const note = want === "image" ? "the image's Node (BENCH_NODE=image)" : `BENCH_NODE=${want}`;
  chosen = { path, version, note };
  return chosen;
}
