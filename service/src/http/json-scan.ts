/**
 * A parse budget for request bodies: an incremental scanner of JSON structure, fed each chunk as it arrives, that
 * counts JSON values and tracks nesting depth, and refuses the body the moment either crosses its limit — before
 * `JSON.parse` ever sees it.
 *
 * Why: what a parsed body costs is not its size but its number of values. 20 MiB of `[[],[],…]` is 7 million arrays;
 * parsed, validated, hashed for the cache key and estimated, that was 20 s of a blocked event loop and 1.3 GB of heap.
 * Counting values as bytes arrive bounds the parse and every later walk over the tree (zod, cache key, estimates,
 * guard) by the limit, whatever the body's shape, and the work done here is one pass per byte spread over the chunks
 * (no long synchronous loop at the end).
 *
 * What it is not: a validator. It tracks only what the limits need (in-string and escape state, depth, value starts);
 * malformed JSON is JSON.parse's to refuse later. Its counts are exact for valid JSON, and for malformed JSON exact up
 * to the first error, which is as far as JSON.parse gets before it gives up.
 *
 * Cost: strings — nearly all the bytes of a real request (text, base64 media) — are skipped with `Buffer.indexOf`
 * (memchr); only structure is walked byte by byte. No allocation per chunk.
 */
import { errors, type GatewayError } from "../wire/errors.js";

export interface JsonLimits {
  /** Objects, arrays, strings, numbers, true/false/null; object keys are not values and are not counted. */
  readonly maxValues: number;
  /** Nesting of objects and arrays; the top-level object is depth 1. */
  readonly maxDepth: number;
}

/**
 * Protobuf's JSON parser, behind every Google API, refuses nesting deeper than 100: deeper bodies can never be served,
 * so this is a constant, not a setting.
 */
export const MAX_JSON_DEPTH = 100;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;

/** Bytes that end a number or literal outside strings: whitespace and structural characters. */
const DELIMITER = new Uint8Array(256);
for (const c of [0x20, 0x09, 0x0a, 0x0d, 0x2c, COLON, 0x5b, 0x5d, 0x7b, 0x7d, QUOTE]) DELIMITER[c] = 1;

export class JsonScanner {
  /** Value starts seen, object keys included (every string is counted when it opens). */
  private tokens = 0;
  /** Colons outside strings: one per object key, so values = tokens − colons. */
  private colons = 0;
  private depth = 0;
  private inString = false;
  /** In a string, the previous chunk ended with an unpaired backslash: this chunk's first byte is escaped. */
  private escaped = false;
  /** Inside a number or a literal (true, false, null), which may span chunks. */
  private inScalar = false;

  constructor(private readonly limits: JsonLimits) {}

  /** JSON values seen so far. */
  get values(): number {
    return this.tokens - this.colons;
  }

  /** Scans the next chunk; returns the refusal the moment a limit is crossed (then stop feeding), else undefined. */
  feed(chunk: Buffer): GatewayError | undefined {
    const { maxValues, maxDepth } = this.limits;
    // Locals in the loop, written back at the end: V8 keeps them in registers (fields cost ~2x per byte here).
    let { tokens, colons, depth, inScalar } = this;
    const end = chunk.length;
    let i = this.inString ? this.skipString(chunk, 0) : 0;
    let refusal: GatewayError | undefined;
    while (i < end) {
      const c = chunk[i++]!;
      if (DELIMITER[c] === 0) {
        // A number or literal byte: the first one starts a value.
        if (!inScalar) {
          inScalar = true;
          if (++tokens - colons > maxValues) refusal = errors.tooManyJsonValues(maxValues);
        }
      } else {
        inScalar = false;
        if (c === QUOTE) {
          if (++tokens - colons > maxValues) refusal = errors.tooManyJsonValues(maxValues);
          this.inString = true;
          i = this.skipString(chunk, i);
        } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
          if (++tokens - colons > maxValues) refusal = errors.tooManyJsonValues(maxValues);
          else if (++depth > maxDepth) refusal = errors.jsonTooDeep(maxDepth);
        } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
          depth--;
        } else if (c === COLON) {
          colons++;
        }
      }
      if (refusal) break;
    }
    this.tokens = tokens;
    this.colons = colons;
    this.depth = depth;
    this.inScalar = inScalar;
    return refusal;
  }

  /**
   * From `from` inside a string: jumps to its closing quote (returns the index after it, leaving the string) or to the
   * chunk's end. A quote is escaped when an odd run of backslashes precedes it; runs are counted only from `from`,
   * because the byte before `from` is the opening quote, an escaped byte, or (across chunks) settled by `escaped`.
   */
  private skipString(chunk: Buffer, from: number): number {
    let i = from;
    if (this.escaped) {
      this.escaped = false;
      i++; // the escaped byte (a quote or a backslash among others) cannot end the string
    }
    const end = chunk.length;
    while (i < end) {
      const quote = chunk.indexOf(QUOTE, i);
      if (quote === -1) {
        // The string goes on in the next chunk; an odd run of backslashes at the end escapes its first byte.
        let run = 0;
        for (let j = end - 1; j >= i && chunk[j] === BACKSLASH; j--) run++;
        this.escaped = run % 2 === 1;
        return end;
      }
      let run = 0;
      for (let j = quote - 1; j >= i && chunk[j] === BACKSLASH; j--) run++;
      if (run % 2 === 0) {
        this.inString = false;
        return quote + 1;
      }
      i = quote + 1; // an escaped quote: the string goes on
    }
    return end;
  }
}
