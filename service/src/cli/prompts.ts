/**
 * `npm run prompts -- <command> [folder]` (folder: GATEWAY_PROMPTS_DIR, else ./prompts):
 *
 *   lock    add every new version's content hash to prompts.lock.json; refuses (exit 1) when a locked version changed
 *   check   load the folder as the gateway does (lock, templates, labels, experiments): exit 1 naming each problem
 *
 * A version is immutable once locked (prompts/lock.ts): change an answer by adding a version and moving a label.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_MODELS } from "../config/env.js";
import { LOCK_FILE, updatedLock } from "../prompts/lock.js";
import { loadPrompts, readLock, scanVersions } from "../prompts/registry.js";

function main(argv: string[]): number {
  const [command, folder] = argv;
  const dir = folder ?? process.env.GATEWAY_PROMPTS_DIR ?? "prompts";
  const models = process.env.GATEWAY_MODELS?.split(",").map((m) => m.trim()) ?? [...DEFAULT_MODELS];
  try {
    if (command === "lock") {
      const found = new Map([...scanVersions(dir)].map(([key, v]) => [key, v.hash]));
      const before = readLock(dir);
      const lock = updatedLock(found, before);
      const added = Object.keys(lock.versions).filter((k) => !(k in before.versions));
      writeFileSync(join(dir, LOCK_FILE), JSON.stringify(lock, null, 2) + "\n");
      console.log(added.length ? `locked ${added.join(", ")}` : "nothing new to lock");
      loadPrompts(dir, models);
      return 0;
    }
    if (command === "check") {
      const registry = loadPrompts(dir, models);
      const versions = [...registry.prompts.values()].reduce((n, p) => n + p.versions.size, 0);
      console.log(`${dir}: ${registry.prompts.size} prompts, ${versions} versions, all locked and valid`);
      return 0;
    }
  } catch (err) {
    console.error((err as Error).message);
    return 1;
  }
  console.error("usage: npm run prompts -- lock|check [folder]");
  return 2;
}

process.exit(main(process.argv.slice(2)));
