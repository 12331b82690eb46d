/**
 * The parse budget's scanner (service/src/pipeline/json-scan.ts): exact value counts and depth, whatever the chunk
 * boundaries (inside strings, escapes, numbers, literals), and refusal the moment a limit is crossed — before the
 * rest of an amplification body is even looked at.
 */
import { describe, expect, it } from "vitest";
import { JsonScanner, MAX_JSON_DEPTH } from "../../service/src/http/json-scan.js";
import type { GatewayError } from "../../service/src/wire/errors.js";

const UNLIMITED = { maxValues: Number.MAX_SAFE_INTEGER, maxDepth: Number.MAX_SAFE_INTEGER };

/** Values of a parsed document, counted the way the scanner defines them (object keys are not values). */
function countValues(v: unknown): number {
  if (Array.isArray(v)) return 1 + v.reduce((n: number, x) => n + countValues(x), 0);
  if (v !== null && typeof v === "object") return 1 + Object.values(v).reduce((n: number, x) => n + countValues(x), 0);
  return 1;
}

function scan(
  chunks: Buffer[],
  limits = UNLIMITED,
): { values: number; refusal: GatewayError | undefined; fed: number } {
  const s = new JsonScanner(limits);
  let fed = 0;
  for (const c of chunks) {
    fed += c.length;
    const refusal = s.feed(c);
    if (refusal) return { values: s.values, refusal, fed };
  }
  return { values: s.values, refusal: undefined, fed };
}

/** Every way of cutting `buf` in two, and one-byte chunks. */
function splits(buf: Buffer): Buffer[][] {
  const out: Buffer[][] = [[buf]];
  for (let at = 1; at < buf.length; at++) out.push([buf.subarray(0, at), buf.subarray(at)]);
  out.push([...buf].map((b) => Buffer.from([b])));
  return out;
}

const DOCS = [
  "{}",
  "[]",
  '{"a":1}',
  ' { "a" : [ 1 , -2.5e+3 , true , false , null , "x" ] , "b" : { } } ',
  '{"contents":[{"role":"user","parts":[{"text":"hi"},{"inlineData":{"mimeType":"image/png","data":"AAAA"}}]}]}',
  String.raw`{"quote":"a\"b","backslash":"c\\","both":"\\\"","tail":"\\\\"}`,
  String.raw`{"k\"e:y":"v:a{l[u}e]","u":"\u0041\\u005f","esc":"\/\b\f\n\r\t"}`,
  String.raw`["\\", "\"", "\\\\\"", ":", "{", "[", ","]`,
  '{"ünïcødé":"日本語テキスト","emoji":"😀"}',
  "[1,[2,[3,[4,[5,[]]]]]]",
  "12345",
  '"a string"',
];

describe("JsonScanner counts", () => {
  it.each(DOCS)("%s: exact value count at every chunk boundary", (doc) => {
    const expected = countValues(JSON.parse(doc));
    for (const chunks of splits(Buffer.from(doc))) {
      const r = scan(chunks);
      expect(r.refusal).toBeUndefined();
      expect(r.values, chunks.map((c) => c.toString()).join("|")).toBe(expected);
    }
  });

  it("counts random documents exactly, cut into random chunks", () => {
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const gen = (depth: number): unknown => {
      const r = rand();
      if (depth > 5 || r < 0.3) return [1.5, 's\\"q', true, null, "\\", -7][Math.floor(rand() * 6)];
      if (r < 0.65) return Array.from({ length: Math.floor(rand() * 4) }, () => gen(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(rand() * 4) }, (_, i) => [`k"${i}\\`, gen(depth + 1)]));
    };
    for (let n = 0; n < 200; n++) {
      const doc = gen(0);
      const buf = Buffer.from(JSON.stringify(doc, null, n % 2 ? 1 : undefined));
      const chunks: Buffer[] = [];
      for (let at = 0; at < buf.length;) {
        const len = 1 + Math.floor(rand() * 7);
        chunks.push(buf.subarray(at, at + len));
        at += len;
      }
      expect(scan(chunks).values).toBe(countValues(doc));
    }
  });
});

describe("JsonScanner limits", () => {
  it(`accepts nesting of ${MAX_JSON_DEPTH} and refuses ${MAX_JSON_DEPTH + 1} with a 400 naming the limit`, () => {
    const limits = { maxValues: 1e6, maxDepth: MAX_JSON_DEPTH };
    const at = (d: number) => Buffer.from(`${"[".repeat(d)}${"]".repeat(d)}`);
    expect(scan([at(MAX_JSON_DEPTH)], limits).refusal).toBeUndefined();
    const r = scan([at(MAX_JSON_DEPTH + 1)], limits);
    expect(r.refusal).toMatchObject({ httpCode: 400, status: "INVALID_ARGUMENT" });
    expect(r.refusal!.message).toMatch(/nested deeper than 100 levels/);
  });

  it("refuses the value past the limit with a 413 naming it, and not one before", () => {
    const limits = { maxValues: 10, maxDepth: 100 };
    expect(scan([Buffer.from("[1,2,3,4,5,6,7,8,9]")], limits).refusal).toBeUndefined(); // 10 values
    const r = scan([Buffer.from("[1,2,3,4,5,6,7,8,9,10]")], limits);
    expect(r.refusal).toMatchObject({ httpCode: 413, status: "INVALID_ARGUMENT" });
    expect(r.refusal!.message).toMatch(/more JSON values than the gateway's limit of 10\b/);
    // Object keys are not values: 5 members = 1 object + 5 values.
    expect(scan([Buffer.from('{"a":1,"b":2,"c":3,"d":4,"e":5}')], { maxValues: 6, maxDepth: 100 }).refusal).toBe(
      undefined,
    );
  });

  /** The amplification bodies of issue 12, each ~20 MiB, fed in 64 KiB chunks as a socket delivers them. */
  const MiB = 1024 * 1024;
  const fill = (head: string, unit: string, tail: string) =>
    Buffer.from(head + unit.repeat(Math.floor((20 * MiB - head.length - tail.length) / unit.length)) + tail);
  const amplification: [string, () => Buffer, number][] = [
    ["[[],[],…] filler", () => fill('{"contents":[{"parts":[{"text":"x"}]}],"x":[', "[],", "[]]}"), 413],
    ["tiny text parts", () => fill('{"contents":[{"parts":[', '{"text":"a"},', '{"text":"a"}]}]}'), 413],
    ["many strings", () => fill('{"contents":[{"parts":[{"text":"x"}]}],"x":[', '"",', '""]}'), 413],
    ["many object keys", () => fill('{"contents":[{"parts":[{"text":"x"}]}],"x":{', '"k":0,', '"k":0}}'), 413],
    ["deep nesting", () => fill('{"x":', "[", ""), 400],
  ];
  it.each(amplification)("refuses %s after reading a fraction of it", (_name, body, status) => {
    const buf = body();
    const chunks: Buffer[] = [];
    for (let at = 0; at < buf.length; at += 64 * 1024) chunks.push(buf.subarray(at, at + 64 * 1024));
    const r = scan(chunks, { maxValues: 100_000, maxDepth: MAX_JSON_DEPTH });
    expect(r.refusal?.httpCode).toBe(status);
    expect(r.fed).toBeLessThan(buf.length / 10);
  });
});
