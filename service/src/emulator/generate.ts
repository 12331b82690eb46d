/**
 * Deterministic answers. A candidate's text is a function of (model, the request's text parts, systemInstruction
 * text, candidate index, generationConfig.seed): those are hashed with SHA-256, the digest seeds a small PRNG (sfc32)
 * and the PRNG picks words from a fixed vocabulary. The same request therefore always gets the same text, different
 * candidates get different texts, and a shorter answer (maxOutputTokens) is always a prefix of the longer one.
 *
 * A request whose system instruction has a reference section (`Policy:` …) gets a grounded answer instead: the
 * statements that match its question, or a refusal (grounded.ts).
 *
 * An answer is kept as "pieces", one per token: the first is a word, the others are a space plus a word, so
 * `pieces.join("")` is the text and `pieces.length` is the exact output token count (see tokens.ts).
 */
import { createHash } from "node:crypto";
import type { Content, GenerationConfig, Part } from "../wire/gemini.js";
import { groundedAnswer } from "./grounded.js";
import { valueForSchema } from "./schema-value.js";
import { NO_THINKING, type ThinkingPlan } from "./thinking.js";
import { declarationsOf, functionsToCall, signsCalls, thoughtSignature, type PlannedCall } from "./tools.js";

export type FinishReasonName = "STOP" | "MAX_TOKENS";

export interface CandidateOutput {
  /** The answer's text (or JSON text) in pieces of one token; empty when the answer is function calls. */
  pieces: string[];
  finishReason: FinishReasonName;
  /** Function calls instead of text (tools.ts). */
  calls?: PlannedCall[];
  /** Thought tokens spent (thinking.ts), and their text when the request asked to see them. */
  thoughtTokens?: number;
  thought?: string;
  /** Gemini 3: the thought signature of this answer (on its first call, or its last part). */
  signature?: string;
}

// 64 three-letter words, so that every piece but the first is exactly four characters (a space and a word) and the
// first is three: one word is one token is four characters, Google's rule of thumb, exactly. Any client's chars/4
// estimate of a partial answer (a stream cut mid-way) therefore equals the emulator's own count.
const VOCABULARY = (
  "act air ant ape arc ark art ash bay bee bit bog bow box bud bug cab cap cat cod cog cow cub cup dam den dew dot " +
  "elm emu eel fan fig fin fir fox gem gnu hat hay hen hut ice ink inn ivy jar jay jet key kit lab log map mat mud " +
  "net oak oar owl pea pen pod rim"
).split(" ");
const V = VOCABULARY.length;

/** Every piece variant precomputed once: [leading space][capitalised] x word. Sentences start with a capital. */
const PIECES: string[] = [];
for (let space = 0; space < 2; space++)
  for (let cap = 0; cap < 2; cap++)
    for (const w of VOCABULARY) {
      const word = cap ? w[0]!.toUpperCase() + w.slice(1) : w;
      PIECES.push(`${space ? " " : ""}${word}`);
    }
const piece = (space: boolean, cap: boolean, w: number): string =>
  PIECES[((space ? 1 : 0) * 2 + (cap ? 1 : 0)) * V + w]!;

/** sfc32: tiny, fast, good enough statistically for picking words; returns uint32. */
function sfc32(a: number, b: number, c: number, d: number): () => number {
  return () => {
    a |= 0;
    b |= 0;
    c |= 0;
    d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
}

function words(rand: () => number, count: number): string[] {
  const out = new Array<string>(count);
  let sentenceLeft = 0;
  for (let i = 0; i < count; i++) {
    const start = sentenceLeft === 0;
    if (start) sentenceLeft = 6 + (rand() % 9); // sentences of 6..14 words
    sentenceLeft--;
    const w = rand() % V;
    out[i] = piece(i > 0, start, w);
  }
  return out;
}

/** The text parts of `contents`, joined by newlines: what Model Armor screens. */
export function promptText(contents: readonly Content[]): string {
  let s = "";
  for (const c of contents)
    for (const p of c.parts) if (typeof p.text === "string") s = s.length ? `${s}\n${p.text}` : p.text;
  return s;
}

/** Cuts the answer before the first occurrence of any stop sequence; null if none occurs. */
function cutAtStop(pieces: string[], stops: readonly string[]): string[] | null {
  const text = pieces.join("");
  let at = -1;
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i !== -1 && (at === -1 || i < at)) at = i;
  }
  if (at === -1) return null;
  const kept: string[] = [];
  let pos = 0;
  for (const p of pieces) {
    if (pos + p.length <= at) kept.push(p);
    else {
      if (at > pos) kept.push(p.slice(0, at - pos)); // a partial word still costs one token
      break;
    }
    pos += p.length;
  }
  return kept;
}

export interface GenerateInput {
  model: string;
  contents: readonly Content[];
  systemInstruction?: { parts: Part[] } | undefined;
  generationConfig?: GenerationConfig | undefined;
  responseTokens: number;
  tools?: readonly object[] | undefined;
  toolConfig?: unknown;
  thinking?: ThinkingPlan;
}

/** A JSON answer's text as pieces of four characters: one token each (tokens.ts's rule), so cuts land on tokens. */
function jsonPieces(text: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += 4) out.push(text.slice(i, i + 4));
  return out;
}

/** Without a schema, a JSON answer is an object with the answer's words. */
const DEFAULT_JSON_SCHEMA = { type: "object", properties: { answer: { type: "string" } }, required: ["answer"] };

export function generateCandidates(input: GenerateInput): CandidateOutput[] {
  const cfg = input.generationConfig;
  const n = cfg?.candidateCount ?? 1;
  const natural = input.responseTokens;
  const max = cfg?.maxOutputTokens;
  const count = max !== undefined && max < natural ? max : natural;
  const truncated = count < natural;
  const stops = cfg?.stopSequences;

  // Hash the prompt once; each candidate continues from a copy with its own index.
  const base = createHash("sha256");
  base.update(input.model);
  for (const c of input.contents)
    for (const p of c.parts) if (typeof p.text === "string") base.update("\u0001").update(p.text);
  if (input.systemInstruction)
    for (const p of input.systemInstruction.parts) if (typeof p.text === "string") base.update("\u0002").update(p.text);
  if (cfg?.seed !== undefined) base.update(`\u0003${cfg.seed}`);
  // What tools answered changes the answer (only requests that carry function responses hash them).
  for (const c of input.contents)
    for (const p of c.parts) if (p.functionResponse) base.update("\u0005").update(JSON.stringify(p.functionResponse));

  const calling = functionsToCall(declarationsOf(input.tools), input.toolConfig, input.contents);
  const mime = (cfg as { responseMimeType?: unknown } | undefined)?.responseMimeType;
  const json = !calling && typeof mime === "string" && mime.startsWith("application/json");
  const thinking = input.thinking ?? NO_THINKING;
  const grounded = calling || json ? undefined : groundedAnswer(input.systemInstruction, input.contents);

  const out: CandidateOutput[] = [];
  for (let i = 0; i < n; i++) {
    const h = (i === n - 1 ? base : base.copy()).update(`\u0004${i}`).digest();
    const rand = sfc32(h.readUInt32LE(0), h.readUInt32LE(4), h.readUInt32LE(8), h.readUInt32LE(12));
    let candidate: CandidateOutput;
    if (calling) {
      const calls = calling.map((d) => ({ name: d.name, args: argsFor(d.schema, rand) }));
      candidate = { pieces: [], finishReason: "STOP", calls };
    } else {
      let pieces: string[];
      let cut: boolean;
      if (json) {
        const schema = cfg?.responseJsonSchema ?? cfg?.responseSchema ?? DEFAULT_JSON_SCHEMA;
        const all = jsonPieces(JSON.stringify(valueForSchema(schema, rand)));
        pieces = max !== undefined && max < all.length ? all.slice(0, max) : all;
        cut = pieces.length < all.length;
      } else if (grounded !== undefined) {
        const all = jsonPieces(grounded); // four characters a token, like JSON answers
        pieces = max !== undefined && max < all.length ? all.slice(0, max) : all;
        cut = pieces.length < all.length;
      } else {
        pieces = words(rand, count);
        cut = truncated;
      }
      const stopped = stops?.length ? cutAtStop(pieces, stops) : null;
      candidate = stopped
        ? { pieces: stopped, finishReason: "STOP" }
        : { pieces, finishReason: cut ? "MAX_TOKENS" : "STOP" };
    }
    if (thinking.tokens > 0) {
      candidate.thoughtTokens = thinking.tokens;
      if (thinking.include) {
        const thoughtRand = sfc32(h.readUInt32LE(16), h.readUInt32LE(20), h.readUInt32LE(24), h.readUInt32LE(28));
        candidate.thought = words(thoughtRand, thinking.tokens).join("");
      }
    }
    if (signsCalls(input.model) && (candidate.calls || thinking.tokens > 0)) {
      candidate.signature = thoughtSignature(`${input.model}|${h.toString("hex")}`);
    }
    out.push(candidate);
  }
  return out;
}

/** A function call's arguments: an object matching its parameter schema ({} for a function without one). */
function argsFor(schema: unknown, rand: () => number): Record<string, unknown> {
  if (schema === undefined) return {};
  const v = valueForSchema(schema, rand);
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}
