/**
 * A token estimate made before the call, for reserving against tokens-per-minute limits. It only has to be in the
 * right range: the reservation is reconciled to the actual `usageMetadata` after the call. Rules:
 *
 * - text (in contents, systemInstruction, and the JSON of tools and function calls/responses): 1 token per 4 UTF-16
 *   characters, rounded up per part — Google's own rule of thumb for Gemini;
 * - every other part (inline or file data: images, audio, video, documents): 258 tokens, Gemini's count for one
 *   image up to 384 px; longer media are under-estimated and reconciled after the call;
 * - output: `maxOutputTokens` (or the configured default) × `candidateCount`, plus `thinkingConfig.thinkingBudget`
 *   when it is positive.
 *
 * Hand-written: the exact count needs a countTokens round trip, which would double the calls.
 */
const CHARS_PER_TOKEN = 4;
const MEDIA_PART_TOKENS = 258;

export interface TokenEstimate {
  prompt: number;
  /** Output, thinking budget included. */
  output: number;
  total: number;
}

export function estimateTokens(doc: Readonly<Record<string, unknown>>, defaultOutputTokens: number): TokenEstimate {
  let text = 0;
  let media = 0;
  const content = (c: unknown) => {
    const parts = (c as { parts?: unknown } | null)?.parts;
    if (!Array.isArray(parts)) return;
    for (const part of parts) {
      if (!part || typeof part !== "object") continue;
      const p = part as Record<string, unknown>;
      if (typeof p.text === "string") text += charsToTokens(p.text.length);
      else if (p.functionCall || p.functionResponse) text += charsToTokens(JSON.stringify(p).length);
      else media++;
    }
  };
  if (Array.isArray(doc.contents)) for (const c of doc.contents) content(c);
  if (doc.systemInstruction) content(doc.systemInstruction);
  if (Array.isArray(doc.tools)) text += charsToTokens(JSON.stringify(doc.tools).length);

  const config = (doc.generationConfig ?? {}) as {
    maxOutputTokens?: unknown;
    candidateCount?: unknown;
    thinkingConfig?: { thinkingBudget?: unknown };
  };
  const maxOutput = positive(config.maxOutputTokens) ?? defaultOutputTokens;
  const candidates = positive(config.candidateCount) ?? 1;
  const thinking = positive(config.thinkingConfig?.thinkingBudget) ?? 0;
  const prompt = text + media * MEDIA_PART_TOKENS;
  const output = maxOutput * candidates + thinking;
  return { prompt, output, total: prompt + output };
}

function positive(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.floor(v) : undefined;
}

function charsToTokens(chars: number): number {
  return Math.ceil(chars / CHARS_PER_TOKEN);
}

const TEXT_KEY = '"text"';

/**
 * Output tokens in one response chunk, estimated by the same rule from its text parts (thought parts included:
 * thinking is billed as output), without parsing the JSON: for a stream cut before its final chunk, the only usage
 * there is. Escape sequences count as one character.
 */
export function estimateChunkOutputTokens(json: string): number {
  let tokens = 0;
  let at = json.indexOf(TEXT_KEY);
  while (at !== -1) {
    let i = at + TEXT_KEY.length;
    while (json.charCodeAt(i) === 32) i++; // Vertex writes `"text": "…"`
    if (json.charCodeAt(i) === 58 /* : */) {
      i++;
      while (json.charCodeAt(i) === 32) i++;
      if (json.charCodeAt(i) === 34 /* " */) {
        let chars = 0;
        for (i++; i < json.length; i++) {
          const c = json.charCodeAt(i);
          if (c === 34) break;
          if (c === 92 /* \ */) i += json.charCodeAt(i + 1) === 117 /* u */ ? 5 : 1;
          chars++;
        }
        tokens += charsToTokens(chars);
      }
    }
    at = json.indexOf(TEXT_KEY, i);
  }
  return tokens;
}
