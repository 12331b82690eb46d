/**
 * What makes a version immutable: `prompts.lock.json` at the top of the prompts folder holds the SHA-256 of every
 * version's content (canonical JSON: keys sorted, no whitespace — so reformatting a file changes nothing, and any
 * change of content does). The gateway refuses to start when a version's content differs from its locked hash, or a
 * version is not locked yet; `npm run prompts -- lock` adds new versions and refuses to rewrite a locked one. A
 * changed answer is therefore a new version, reviewed in its pull request, never an edit under an existing number.
 */
import { createHash } from "node:crypto";

export const LOCK_FILE = "prompts.lock.json";

export interface LockFile {
  /** `<prompt>@<version>` → hex SHA-256 of the version's canonical JSON. */
  versions: Record<string, string>;
}

/** JSON with keys sorted at every depth and no whitespace. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.keys(value as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(",")}}`;
  }
  return JSON.stringify(value);
}

export function contentHash(parsed: unknown): string {
  return createHash("sha256").update(canonicalJson(parsed)).digest("hex");
}

export const lockKey = (prompt: string, version: number) => `${prompt}@${version}`;

export interface LockCheck {
  /** Versions whose content is not what was locked: each must become a new version instead. */
  changed: string[];
  /** Versions not in the lock yet (`npm run prompts -- lock` adds them). */
  unlocked: string[];
}

/** Compares the versions found (key → hash) with the lock. */
export function checkLock(found: ReadonlyMap<string, string>, lock: LockFile): LockCheck {
  const changed: string[] = [];
  const unlocked: string[] = [];
  for (const [key, hash] of found) {
    const locked = lock.versions[key];
    if (locked === undefined) unlocked.push(key);
    else if (locked !== hash) changed.push(key);
  }
  return { changed, unlocked };
}

/** The lock with every unlocked version added, keys sorted; throws when a locked version changed. */
export function updatedLock(found: ReadonlyMap<string, string>, lock: LockFile): LockFile {
  const { changed } = checkLock(found, lock);
  if (changed.length) {
    throw new Error(
      `These locked versions changed: ${changed.join(", ")}. A version is immutable: put the change in a new ` +
        `version (v<N+1>.json) and move a label to it.`,
    );
  }
  const versions: Record<string, string> = { ...lock.versions };
  for (const [key, hash] of found) versions[key] ??= hash;
  return { versions: Object.fromEntries(Object.entries(versions).sort(([a], [b]) => a.localeCompare(b))) };
}
