/**
 * The parse budget on the hot path, measured in this process for `npm run bench:amplification`: what the scan of
 * read-body costs per body shape (µs per KB: every request pays it), and what the field-name walk of validate.ts costs
 * when a body has an `_` byte and the walk is not skipped.
 */
import { JsonScanner, MAX_JSON_DEPTH } from "../service/src/http/json-scan.js";
import { normaliseFieldNames } from "../service/src/wire/field-names.js";

const MiB = 1024 * 1024;
/** The gateway's default GATEWAY_MAX_JSON_VALUES. */
const MAX_VALUES = 100_000;

/** Mean µs of `fn` over enough repetitions to take ~200 ms, after a warm-up. */
function timeUs(fn: () => void): number {
  for (let i = 0; i < 20; i++) fn();
  let reps = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 200) {
    fn();
    reps++;
  }
  return ((performance.now() - t0) * 1000) / reps;
}

/** The scan as read-body runs it: a new scanner per body, fed 64 KiB chunks. */
function scanUs(body: Buffer): { us: number; values: number } {
  let values = 0;
  const us = timeUs(() => {
    const s = new JsonScanner({ maxValues: Number.MAX_SAFE_INTEGER, maxDepth: MAX_JSON_DEPTH });
    for (let at = 0; at < body.length; at += 65536) s.feed(body.subarray(at, at + 65536));
    values = s.values;
  });
  return { us, values };
}

export function hotPath(): {
  scan: { name: string; bytes: number; values: number; us: number; usPerKb: number }[];
  walk: { name: string; us: number }[];
} {
  const request = (text: string) =>
    JSON.stringify({
      contents: [{ role: "user", parts: [{ text }] }],
      generationConfig: { temperature: 0.2, maxOutputTokens: 256 },
    });
  const oneKb = Buffer.from(request("Explain TCP and UDP, briefly. ".repeat(40).slice(0, 1024 - request("").length)));
  const chat = Buffer.from(
    JSON.stringify({
      contents: Array.from({ length: 2000 }, (_, i) => ({
        role: i % 2 ? "model" : "user",
        parts: [{ text: "word ".repeat(100) }],
      })),
    }),
  );
  const image = Buffer.from(
    JSON.stringify({ contents: [{ parts: [{ inlineData: { mimeType: "image/png", data: "A".repeat(15 * MiB) } }] }] }),
  );
  const structure = Buffer.from(`{"x":[${"[],".repeat(MAX_VALUES / 2)}[]]}`);
  const scans: [string, Buffer][] = [
    ["1 KB request", oneKb],
    ["2,000-turn chat", chat],
    ["15 MiB inline image", image],
    [`${MAX_VALUES / 2} empty arrays (all structure)`, structure],
  ];
  const scan = scans.map(([name, body]) => {
    const { us, values } = scanUs(body);
    return { name, bytes: body.length, values, us, usPerKb: us / (body.length / 1024) };
  });
  // The walk runs only when the body has an `_` byte (or a \u escape): code in a prompt is enough. Timed on a copy
  // of the parsed request (the copy's own time subtracted), as validate.ts walks a fresh parse.
  const walks: [string, unknown][] = [
    [
      "1 KB request with snake_case names",
      JSON.parse(oneKb.toString().replace("generationConfig", "generation_config")),
    ],
    ["2,000-turn chat (camelCase, walk not skipped)", JSON.parse(chat.toString())],
  ];
  const walk = walks.map(([name, doc]) => ({
    name,
    us:
      timeUs(() => normaliseFieldNames(structuredClone(doc) as Record<string, unknown>, "GenerateContentRequest")) -
      timeUs(() => structuredClone(doc)),
  }));
  return { scan, walk };
}
