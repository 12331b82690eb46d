/**
 * What may change about prompts while the gateway runs, kept in the shared store so every instance sees it: a label
 * moved by an operator (`PUT /admin/prompts/{name}/labels/{label}`) or by an experiment's stop rule, and an
 * experiment's conclusion (its winner). The repository's `prompt.json` gives each label its version at deploy; a move
 * in the store wins over it until it is cleared (`DELETE …/labels/{label}`) — the next commit should carry the move
 * into the file, and `GET /admin/prompts/{name}` shows where each label's version comes from.
 *
 * Reads are cached per instance for `cacheMs` (default 1 s): a move reaches every instance within that, the instance
 * that made it at once, and a call costs no store round trip most of the time. When the store cannot answer, the file's
 * label is used and experiments run as configured (fail open, like the quota windows): a prompt call never fails
 * because Redis is down.
 */
import type { KeyValue, Leases } from "../store/store.js";

/** Effectively permanent: a label move stays until it is cleared or the repository's file takes it over. */
const KEEP_MS = 10 * 365 * 86_400_000;

export interface LabelMove {
  version: number;
  /** ISO time of the move, and who made it (`admin`, or `stop-rule:<experiment>`). */
  movedAt: string;
  by: string;
}

export interface Conclusion {
  winner: string;
  at: string;
  reason: string;
}

export interface PromptState {
  /** The store's move of this label, if any (cached). */
  labelMove(prompt: string, label: string): Promise<LabelMove | undefined>;
  moveLabel(prompt: string, label: string, version: number, by: string): Promise<LabelMove>;
  clearLabel(prompt: string, label: string): Promise<void>;
  /** The experiment's conclusion, if its stop rule (or an operator) ended it (cached). */
  conclusion(experiment: string): Promise<Conclusion | undefined>;
  /** Records the conclusion once: false when another instance concluded first. */
  conclude(experiment: string, conclusion: Conclusion): Promise<boolean>;
}

export interface PromptStateOptions {
  kv: KeyValue & Leases;
  cacheMs?: number;
  now?: () => number;
  /** A store read or write failed (counted and logged by the caller). */
  onStoreError?: (err: Error) => void;
}

export function createPromptState(o: PromptStateOptions): PromptState {
  const cacheMs = o.cacheMs ?? 1000;
  const now = o.now ?? Date.now;
  const cache = new Map<string, { value: string | null; until: number }>();
  const labelKey = (prompt: string, label: string) => `prompt-label:${prompt}:${label}`;
  const conclusionKey = (experiment: string) => `experiment-conclusion:${experiment}`;

  async function read(key: string): Promise<string | null> {
    const hit = cache.get(key);
    if (hit && hit.until > now()) return hit.value;
    let value: string | null;
    try {
      value = await o.kv.get(key);
    } catch (err) {
      o.onStoreError?.(err as Error);
      return hit?.value ?? null; // the last known value, else the repository's
    }
    cache.set(key, { value, until: now() + cacheMs });
    return value;
  }
  const parse = <T>(raw: string | null): T | undefined =>
    raw === null ? undefined : ((JSON.parse(raw) as T | null) ?? undefined);

  return {
    async labelMove(prompt, label) {
      return parse<LabelMove>(await read(labelKey(prompt, label)));
    },
    async moveLabel(prompt, label, version, by) {
      const move: LabelMove = { version, movedAt: new Date(now()).toISOString(), by };
      const raw = JSON.stringify(move);
      await o.kv.set(labelKey(prompt, label), raw, KEEP_MS);
      cache.set(labelKey(prompt, label), { value: raw, until: now() + cacheMs });
      return move;
    },
    async clearLabel(prompt, label) {
      // A KeyValue has no delete: an empty marker that expires at once would race a concurrent move, so write
      // "null", read back as "no move".
      await o.kv.set(labelKey(prompt, label), "null", KEEP_MS);
      cache.set(labelKey(prompt, label), { value: "null", until: now() + cacheMs });
    },
    async conclusion(experiment) {
      return parse<Conclusion>(await read(conclusionKey(experiment)));
    },
    async conclude(experiment, conclusion) {
      const raw = JSON.stringify(conclusion);
      const won = await o.kv.claim(conclusionKey(experiment), raw, KEEP_MS);
      if (won) cache.set(conclusionKey(experiment), { value: raw, until: now() + cacheMs });
      return won;
    },
  };
}
