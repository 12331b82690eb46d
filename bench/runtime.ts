/**
 * How the service is run for a measurement: the compiled dist/ (rebuilt with `tsc -p service/tsconfig.build.json`
 * when older than service/src), or tsx as a fallback; and which code that was (commit, source hash), since service/
 * may change while benchmarks run.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (bench/..). */
export const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

export interface Runtime {
  kind: "dist" | "tsx";
  /** Why this runtime (e.g. "dist/ was up to date", "build failed: ..."). */
  note: string;
  gatewayArgs: string[];
  emulatorArgs: string[];
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (entry.name.endsWith(".ts")) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(p));
    else if (entry.name.endsWith(".ts")) out.push(p);
  }
  return out.sort();
}

export interface ServiceVersion {
  /** HEAD commit (read with `git rev-parse`, nothing else touches git), or "unknown". */
  commit: string;
  /** Whether service/ differs from HEAD (`git status --porcelain -- service`). */
  dirty: boolean | undefined;
  /** SHA-256 (first 12 hex digits) of every service/src/**.ts file: identifies the code measured. */
  sourceHash: string;
}

/** Which code was measured: another engineer may be changing service/ while benchmarks run. */
export function serviceVersion(): ServiceVersion {
  const git = (args: string[]) => spawnSync("git", args, { cwd: ROOT, encoding: "utf8" });
  const head = git(["rev-parse", "--short", "HEAD"]);
  const status = git(["status", "--porcelain", "--", "service"]);
  const hash = createHash("sha256");
  for (const file of sourceFiles(join(ROOT, "service/src"))) hash.update(file).update(readFileSync(file));
  return {
    commit: head.status === 0 ? head.stdout.trim() : "unknown",
    dirty: status.status === 0 ? status.stdout.trim() !== "" : undefined,
    sourceHash: hash.digest("hex").slice(0, 12),
  };
}

const DIST_GATEWAY = join(ROOT, "dist/service/main.js");
const DIST_EMULATOR = join(ROOT, "dist/service/emulator/main.js");

const tsxRuntime = (note: string): Runtime => ({
  kind: "tsx",
  note,
  gatewayArgs: ["--import", "tsx", "service/src/main.ts"],
  emulatorArgs: ["--import", "tsx", "service/src/emulator/main.ts"],
});

/** Picks the runtime; in "auto" and "dist" mode builds dist/ with `tsc -p service/tsconfig.build.json` when stale. */
export function prepareRuntime(mode: "auto" | "dist" | "tsx", gatewayEntry?: string): Runtime {
  if (gatewayEntry) {
    if (!existsSync(gatewayEntry)) throw new Error(`--gateway-entry ${gatewayEntry} does not exist`);
    const base = mode === "tsx" ? tsxRuntime("") : prepareRuntime(mode);
    return { ...base, gatewayArgs: [gatewayEntry], note: `${base.note}; gateway from ${gatewayEntry}` };
  }
  if (mode === "tsx") return tsxRuntime("requested with --runtime=tsx");
  const dist: Runtime = { kind: "dist", note: "", gatewayArgs: [DIST_GATEWAY], emulatorArgs: [DIST_EMULATOR] };
  const built = existsSync(DIST_GATEWAY) && existsSync(DIST_EMULATOR) ? statSync(DIST_GATEWAY).mtimeMs : 0;
  if (built >= newestMtime(join(ROOT, "service/src"))) return { ...dist, note: "dist/ was up to date" };

  process.stdout.write("Building the service (tsc -p service/tsconfig.build.json)... ");
  const tsc = join(ROOT, "node_modules/typescript/bin/tsc");
  const r = spawnSync(process.execPath, [tsc, "-p", "service/tsconfig.build.json"], { cwd: ROOT, encoding: "utf8" });
  if (r.status === 0) {
    console.log("done");
    return { ...dist, note: "dist/ rebuilt by the bench" };
  }
  const why = (r.stdout + r.stderr).trim().split("\n").slice(0, 5).join("\n");
  console.log("failed");
  if (mode === "dist") throw new Error(`npm run build failed:\n${why}`);
  console.warn(`WARNING: build failed, running the service with tsx instead:\n${why}`);
  return tsxRuntime(`build failed, fell back to tsx: ${why.split("\n")[0]}`);
}
