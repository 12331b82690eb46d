/**
 * A small cache of prepared answers keyed by (surface, model, raw body). Benchmarks send the same body over and over;
 * an identical body always validates, counts and generates identically, so a hit skips JSON.parse, zod, the token
 * count, SHA-256 and the PRNG, and the non-stream answer is a pre-serialised template with only createTime and
 * responseId filled in. Measured on the 2-core machine, that work is most of the emulator's own per-request cost.
 * The cache is cleared whenever settings change (answers depend on responseTokens and the Model Armor pattern).
 */
import type { CandidateOutput } from "./generate.js";
import type { PromptCount } from "./tokens.js";

/** Placeholders in a serialised template; neither can occur in an emulator answer (fixed vocabulary, known model ids). */
export const CREATE_TIME_MARK = "%%CREATE_TIME%%";
export const RESPONSE_ID_MARK = "%%RESPONSE_ID%%";
const MARKS = /%%(CREATE_TIME|RESPONSE_ID)%%/;

export interface Prepared {
  prompt: PromptCount;
  /** Model Armor matched the prompt. */
  blocked: boolean;
  /** null when blocked. */
  cands: CandidateOutput[] | null;
  /** The serialised non-stream answer and its output tokens, made on first use. */
  full?: { template: Template; output: number };
}

/** A JSON string split at its placeholders: [text, mark, text, mark, text, ...]. */
export class Template {
  private readonly parts: string[];
  constructor(serialised: string) {
    this.parts = serialised.split(MARKS);
  }
  render(createTime: string, responseId: string): string {
    const p = this.parts;
    let s = p[0]!;
    for (let i = 1; i < p.length; i += 2) s += (p[i] === "CREATE_TIME" ? createTime : responseId) + p[i + 1]!;
    return s;
  }
}

export class AnswerCache {
  private readonly map = new Map<string, Prepared>();

  constructor(
    private readonly maxEntries = 256,
    /** Larger bodies are not cached: hashing the key would cost more than it saves, and memory stays bounded. */
    private readonly maxBodyChars = 16 * 1024,
  ) {}

  key(vertex: boolean, model: string, body: string): string | null {
    return body.length > this.maxBodyChars ? null : `${vertex ? "v" : "d"}${model}\u0000${body}`;
  }
  get(key: string): Prepared | undefined {
    return this.map.get(key);
  }
  set(key: string, value: Prepared): void {
    // Oldest-first eviction (Map keeps insertion order); good enough for a handful of hot bodies.
    if (this.map.size >= this.maxEntries) this.map.delete(this.map.keys().next().value!);
    this.map.set(key, value);
  }
  clear(): void {
    this.map.clear();
  }
}
