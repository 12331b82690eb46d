/**
 * A deterministic JSON value that matches a schema: what the emulator answers with when `responseMimeType` is JSON
 * (`responseJsonSchema` or `responseSchema`) and what it puts in a function call's `args` (`parametersJsonSchema` or
 * `parameters`). Both schema dialects are read: JSON Schema (lower-case types, type lists, `$ref`/`$defs`, `const`,
 * `anyOf`/`oneOf`/`allOf`, `prefixItems`) and Gemini's OpenAPI subset (upper-case types, `nullable`).
 *
 * Choices are the PRNG's (seeded by the caller from the request, so the same request gets the same value): one of the
 * enum values, a non-null alternative, every declared property (only the required ones below depth 3, which ends
 * recursive schemas), as many array items as `minItems` asks (else 2, at most `maxItems`), numbers within
 * `minimum`/`maximum`, strings in the common formats (date-time, date, email, uri, uuid) or a few words.
 */
type Schema = Record<string, unknown>;

const WORDS = "alpha beta gamma delta river stone maple cedar ember frost harbor meadow".split(" ");
const MAX_DEPTH = 8;

const isRecord = (v: unknown): v is Schema => typeof v === "object" && v !== null && !Array.isArray(v);

export function valueForSchema(schema: unknown, rand: () => number): unknown {
  return value(schema, { root: isRecord(schema) ? schema : {}, rand }, 0);
}

interface Ctx {
  root: Schema;
  rand: () => number;
}

function value(schema: unknown, ctx: Ctx, depth: number): unknown {
  if (!isRecord(schema)) return word(ctx);
  if (typeof schema.$ref === "string") {
    const target = resolve(ctx.root, schema.$ref);
    return depth > MAX_DEPTH ? null : value(target, ctx, depth + 1);
  }
  if (Array.isArray(schema.allOf)) {
    let merged: Schema = {};
    for (const part of schema.allOf) {
      const p = isRecord(part) && typeof part.$ref === "string" ? resolve(ctx.root, part.$ref) : part;
      if (isRecord(p))
        merged = { ...merged, ...p, properties: { ...(merged.properties as Schema), ...(p.properties as Schema) } };
    }
    const { allOf: _allOf, ...rest } = schema;
    return value({ ...merged, ...rest }, ctx, depth);
  }
  const alternatives = (schema.anyOf ?? schema.oneOf) as unknown[] | undefined;
  if (Array.isArray(alternatives) && alternatives.length) {
    const chosen = alternatives.find((a) => !(isRecord(a) && typeOf(a) === "null")) ?? alternatives[0];
    const { anyOf: _a, oneOf: _o, ...rest } = schema;
    return value(isRecord(chosen) ? { ...rest, ...chosen } : chosen, ctx, depth);
  }
  if (schema.const !== undefined) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length) {
    const options = schema.enum.filter((v) => v !== null);
    return options.length ? options[ctx.rand() % options.length] : null;
  }
  switch (typeOf(schema)) {
    case "object":
      return object(schema, ctx, depth);
    case "array":
      return array(schema, ctx, depth);
    case "integer":
      return Math.round(number(schema, ctx));
    case "number":
      return number(schema, ctx) + (Number.isInteger(schema.maximum) ? 0 : 0.5);
    case "boolean":
      return ctx.rand() % 2 === 0;
    case "null":
      return null;
    default:
      return string(schema, ctx);
  }
}

/** The schema's type, lower-cased; the first non-null one of a list; inferred from its keywords when absent. */
function typeOf(schema: Schema): string | undefined {
  const t = schema.type;
  if (typeof t === "string") return t.toLowerCase();
  if (Array.isArray(t)) {
    const names = t.filter((x): x is string => typeof x === "string").map((x) => x.toLowerCase());
    return names.find((x) => x !== "null") ?? names[0];
  }
  if (isRecord(schema.properties)) return "object";
  if (schema.items !== undefined || schema.prefixItems !== undefined) return "array";
  return undefined;
}

function object(schema: Schema, ctx: Ctx, depth: number): Record<string, unknown> {
  const props = isRecord(schema.properties) ? schema.properties : {};
  const required = new Set(Array.isArray(schema.required) ? schema.required : []);
  const order = Array.isArray(schema.propertyOrdering)
    ? [...(schema.propertyOrdering as string[]), ...Object.keys(props)]
    : Object.keys(props);
  const out: Record<string, unknown> = {};
  for (const key of order) {
    if (key in out || !(key in props)) continue;
    if (depth >= 3 && !required.has(key)) continue;
    out[key] = value(props[key], ctx, depth + 1);
  }
  return out;
}

function array(schema: Schema, ctx: Ctx, depth: number): unknown[] {
  const prefix = Array.isArray(schema.prefixItems) ? schema.prefixItems : [];
  const min = typeof schema.minItems === "number" ? schema.minItems : undefined;
  const max = typeof schema.maxItems === "number" ? schema.maxItems : undefined;
  let count = min ?? Math.max(prefix.length, depth >= 3 ? 0 : 2);
  if (max !== undefined) count = Math.min(count, max);
  const out: unknown[] = [];
  for (let i = 0; i < count; i++) {
    out.push(value(i < prefix.length ? prefix[i] : (schema.items ?? {}), ctx, depth + 1));
  }
  return out;
}

function number(schema: Schema, ctx: Ctx): number {
  const min = typeof schema.minimum === "number" ? schema.minimum : undefined;
  const max = typeof schema.maximum === "number" ? schema.maximum : undefined;
  const low = Math.ceil(min ?? (max !== undefined ? max - 100 : 0));
  const high = Math.floor(max ?? low + 100);
  if (high <= low) return min ?? max ?? 0;
  // One less than the span, so the +0.5 of a non-integer number stays within a maximum.
  return low + (ctx.rand() % Math.max(1, high - low));
}

function word(ctx: Ctx): string {
  return WORDS[ctx.rand() % WORDS.length]!;
}

function string(schema: Schema, ctx: Ctx): string {
  const w = word(ctx);
  switch (schema.format) {
    case "date-time":
      return "2026-01-01T00:00:00Z";
    case "date":
      return "2026-01-01";
    case "time":
      return "12:00:00";
    case "email":
      return `${w}@example.com`;
    case "uri":
    case "url":
      return `https://example.com/${w}`;
    case "uuid":
      return "00000000-0000-4000-8000-000000000000";
    default: {
      let s = `${w} ${word(ctx)}`;
      if (typeof schema.maxLength === "number") s = s.slice(0, schema.maxLength);
      if (typeof schema.minLength === "number") s = s.padEnd(schema.minLength, "x");
      return s;
    }
  }
}

/** A local reference (`#/$defs/X`, `#/definitions/X`, a JSON pointer); {} when it points nowhere. */
function resolve(root: Schema, ref: string): unknown {
  if (ref === "#") return root;
  if (!ref.startsWith("#/")) return {};
  let node: unknown = root;
  for (const raw of ref.slice(2).split("/")) {
    const key = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
    node = isRecord(node) ? node[key] : Array.isArray(node) ? node[Number(key)] : undefined;
  }
  return node ?? {};
}
