/**
 * A package from the npm registry installed once into `~/.cache/gemini-gateway/<dir>` (XDG_CACHE_HOME respected),
 * outside the repository, never a dependency: what the benches run beside the gateway (Portkey, the image's Node).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/** The path of `entry` inside the cached install of `spec` (e.g. `@portkey-ai/gateway@1.15.2`), installing it first. */
export function cachedPackage(dir: string, spec: string, entry: string): string {
  const root = join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "gemini-gateway", dir);
  const path = join(root, entry);
  if (existsSync(path)) return path;
  mkdirSync(root, { recursive: true });
  console.log(`installing ${spec} from the npm registry into ${root}`);
  const r = spawnSync(
    "npm",
    ["install", "--prefix", root, "--no-audit", "--no-fund", "--no-save", "--loglevel=error", spec],
    { stdio: "inherit" },
  );
  if (r.status !== 0 || !existsSync(path)) throw new Error(`could not install ${spec} into ${root}`);
  return path;
}
