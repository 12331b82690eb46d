/**
 * Words as the emulator compares them, for its hashed-feature embeddings (embed.ts) and its grounded answers
 * (grounded.ts): lowercase runs of letters and digits, common English function words dropped, and a light suffix
 * stemmer so that "returns", "returned" and "returning" are one word. Crude on purpose: it only has to make texts that
 * share content words look alike, and texts that do not look unrelated — deterministically, without a model.
 */

const STOPWORDS = new Set(
  (
    "a about above after again all also am an and any are as at be been before being below between both but by can " +
    "could did do does doing down during each few for from further had has have having he her here hers him his how " +
    "i if in into is it its itself just me more most my no nor not now of off on once only or other our ours out over " +
    "own same she should so some such than that the their theirs them then there these they this those through to too " +
    "under until up very was we were what when where which while who whom why will with would you your yours"
  ).split(" "),
);

/** "returned" → "return", "policies" → "policy", "days" → "day"; short words are left alone. */
export function stem(word: string): string {
  if (word.length <= 3 || /^\d/.test(word)) return word;
  if (word.endsWith("ies") && word.length > 4) return `${word.slice(0, -3)}y`;
  for (const suffix of ["ing", "ed", "es", "s"]) {
    if (word.endsWith(suffix) && word.length - suffix.length >= 3 && !word.endsWith("ss")) {
      return word.slice(0, -suffix.length);
    }
  }
  return word;
}

/** The content words of a text, stemmed, in order. */
export function contentWords(text: string): string[] {
  const out: string[] = [];
  for (const m of text.toLowerCase().matchAll(/[\p{L}\p{N}]+/gu)) {
    const w = m[0];
    if (!STOPWORDS.has(w)) out.push(stem(w));
  }
  return out;
}
