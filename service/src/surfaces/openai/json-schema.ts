/**
 * OpenAI clients' JSON Schemas (tool `parameters`, `response_format.json_schema.schema`) as Gemini takes them.
 *
 * They go to Gemini as JSON Schema — `parametersJsonSchema` and `responseJsonSchema` — never as the OpenAPI-subset
 * `Schema` proto (`parameters`, `responseSchema`), whose parser refuses `additionalProperties`, `$schema`, `const` and
 * type lists outright ("Unknown name … Cannot find field", "Proto field is not repeating"): the failures peers' users
 * report. Google documents the JSON Schema fields as accepting `$id $defs $ref $anchor type format title description
 * enum (strings and numbers) items prefixItems minItems maxItems minimum maximum anyOf oneOf properties
 * additionalProperties required` (+ `propertyOrdering`), a `$ref` with no sibling other than `$`-keywords, and cyclic
 * references only where not required (@google/genai 2.32 `GenerationConfig.responseJsonSchema`). So the schema is
 * rewritten into exactly that subset (decision 0015):
 *
 * - local `$ref`s (`#/$defs/…`, `#/definitions/…`, any JSON pointer) are inlined, siblings merged over the target;
 *   recursive ones stay `$ref`s into `$defs` (their siblings dropped); `allOf` is merged into one schema;
 * - type lists (`["string","null"]`) and OpenAPI's `nullable` become `anyOf` of one-type schemas, each with the
 *   keywords that apply to its type; `const` becomes a one-value `enum`; `null` in an `enum` becomes a `null` branch;
 * - annotations without meaning for generation (`$schema`, `default`, `examples`, …, `x-*`) are dropped silently;
 *   constraints Gemini does not enforce (`pattern`, `minLength`, `uniqueItems`, `not`, …) are dropped and reported
 *   (`dropped`, sent back as `x-gateway-schema-dropped`): the client still validates what it receives;
 * - what cannot be expressed is refused with a 400 naming the keyword's path: external or unresolvable `$ref`s,
 *   `allOf` branches that contradict each other, `enum`/`const` values other than strings, numbers and null, a
 *   `false` schema, and, for tools, a root that is not an object.
 */
import { invalidParam } from "./error-shape.js";

type Schema = Record<string, unknown>;

/** The keywords kept (Google's documented list), besides `$ref`/`$defs`, which are handled on their own. */
const KEPT = new Set([
  "$id",
  "$anchor",
  "type",
  "format",
  "title",
  "description",
  "enum",
  "items",
  "prefixItems",
  "minItems",
  "maxItems",
  "minimum",
  "maximum",
  "anyOf",
  "oneOf",
  "properties",
  "additionalProperties",
  "required",
  "propertyOrdering",
]);

/** Dropped without a word: they describe a schema, they do not constrain what is generated. */
const ANNOTATIONS = new Set([
  "$schema",
  "$comment",
  "$vocabulary",
  "$dynamicAnchor",
  "default",
  "examples",
  "example",
  "readOnly",
  "writeOnly",
  "deprecated",
  "contentMediaType",
  "contentEncoding",
  "contentSchema",
  "discriminator",
  "externalDocs",
  "xml",
  "strict",
]);

const TYPES = new Set(["string", "number", "integer", "boolean", "object", "array", "null"]);

/** Keywords that mean something only for one kind of value: they follow their type into its anyOf branch. */
const FOR_TYPE: Record<string, readonly string[]> = {
  object: ["properties", "additionalProperties", "required", "propertyOrdering"],
  array: ["items", "prefixItems", "minItems", "maxItems"],
  string: ["format", "enum"],
  number: ["format", "enum", "minimum", "maximum"],
  integer: ["format", "enum", "minimum", "maximum"],
  boolean: [],
  null: [],
};
const TYPED = new Set(Object.values(FOR_TYPE).flat());

/** Bounds on what inlining may produce: beyond them Gemini would refuse the request anyway, less helpfully. */
const MAX_NODES = 5_000;
const MAX_DEPTH = 48;

export interface SchemaRewrite {
  schema: Schema;
  /** Keywords dropped because Gemini does not enforce them (each once, in the order met). */
  dropped: string[];
}

interface Context {
  root: Schema;
  param: string;
  nodes: number;
  dropped: Set<string>;
  /** Recursive references kept as `$ref`: pointer → name under the output's `$defs`. */
  recursive: Map<string, string>;
}

const isRecord = (v: unknown): v is Schema => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Rewrites `schema` for Gemini. `param` is the request path of the schema (e.g. `tools[0].function.parameters`),
 * named in a 400 together with the keyword's own path. `objectRoot`: the root must describe an object (function
 * parameters, as both OpenAI and Gemini require).
 */
export function toGeminiJsonSchema(schema: unknown, param: string, o: { objectRoot: boolean }): SchemaRewrite {
  if (!isRecord(schema)) throw invalidParam(param, `${param} must be a JSON Schema object.`);
  const ctx: Context = { root: schema, param, nodes: 0, dropped: new Set(), recursive: new Map() };
  const out = rewrite(schema, param, ctx, [], 0);
  if (o.objectRoot) {
    if (out.type === undefined && out.anyOf === undefined && out.$ref === undefined) out.type = "object";
    if (out.type !== "object") {
      throw invalidParam(param, `${param} must describe an object (type "object"): function arguments are an object.`);
    }
  }
  // Recursive definitions, rewritten once each (a definition may reveal further ones).
  const defs: Schema = {};
  for (let done = 0; done < ctx.recursive.size; done++) {
    const [pointer, name] = [...ctx.recursive.entries()][done]!;
    defs[name] = rewrite(resolve(ctx, pointer, `${param}.$defs.${name}`), `${param}.$defs.${name}`, ctx, [pointer], 0);
  }
  if (ctx.recursive.size) out.$defs = defs;
  return { schema: out, dropped: [...ctx.dropped] };
}

/** One schema node, rewritten; `stack` holds the references being inlined above it (to find recursion). */
function rewrite(node: unknown, path: string, ctx: Context, stack: readonly string[], depth: number): Schema {
  if (++ctx.nodes > MAX_NODES || depth > MAX_DEPTH) {
    throw invalidParam(
      ctx.param,
      `${ctx.param} is too large once its $refs are inlined (over ${MAX_NODES} schemas or ${MAX_DEPTH} levels).`,
    );
  }
  if (node === true) return {};
  if (!isRecord(node)) {
    throw invalidParam(
      path,
      `${path} must be a JSON Schema object${node === false ? " (false cannot be expressed)" : ""}.`,
    );
  }
  const flat = flatten(node, path, ctx, stack);
  if ("ref" in flat) return { $ref: flat.ref };
  const { schema: s, stack: inner } = flat;
  const child = (v: unknown, p: string) => rewrite(v, p, ctx, inner, depth + 1);

  // Which types the value may have: `type` (one or a list), OpenAPI's `nullable`, and what enum/const imply.
  let types = typeList(s.type, `${path}.type`);
  if (s.nullable === true && types && !types.includes("null")) types = [...types, "null"];
  let values: unknown[] | undefined;
  if (s.const !== undefined) values = [s.const];
  if (Array.isArray(s.enum)) values = values ? values.filter((v) => (s.enum as unknown[]).includes(v)) : s.enum;
  let enumNull = false;
  if (values) {
    for (const v of values) {
      if (v !== null && typeof v !== "string" && typeof v !== "number") {
        const keyword = s.const !== undefined ? "const" : "enum";
        throw invalidParam(
          `${path}.${keyword}`,
          `${path}.${keyword}: Gemini takes only strings and numbers (and null) as enum values, ` +
            `got ${JSON.stringify(v)}.`,
        );
      }
    }
    enumNull = values.includes(null);
    values = values.filter((v) => v !== null);
    if (enumNull) {
      // A nullable enum: null is its own branch; without a type, the values say which.
      types ??= [...new Set(values.map((v) => (typeof v === "number" ? "number" : "string")))];
      if (!types.includes("null")) types = [...types, "null"];
    }
  }

  const out: Schema = {};
  for (const [key, value] of Object.entries(s)) {
    if (key === "type" || key === "nullable" || key === "const" || key === "enum") continue;
    if (key.startsWith("x-") || ANNOTATIONS.has(key) || key === "$defs" || key === "definitions") continue;
    if (!KEPT.has(key)) {
      ctx.dropped.add(key);
      continue;
    }
    const at = `${path}.${key}`;
    switch (key) {
      case "properties":
        if (!isRecord(value)) throw invalidParam(at, `${at} must be an object of schemas.`);
        out.properties = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, child(v, `${at}.${k}`)]));
        break;
      case "items":
        // Draft-04 tuples (`items: [...]`) are `prefixItems` today.
        if (Array.isArray(value)) out.prefixItems = value.map((v, i) => child(v, `${at}[${i}]`));
        else if (value === false)
          ctx.dropped.add("items"); // "no items beyond prefixItems": not enforced
        else if (value !== true) out.items = child(value, at);
        break;
      case "prefixItems":
      case "anyOf":
      case "oneOf":
        if (!Array.isArray(value)) throw invalidParam(at, `${at} must be an array of schemas.`);
        out[key] = value.map((v, i) => child(v, `${at}[${i}]`));
        break;
      case "additionalProperties":
        out.additionalProperties = typeof value === "boolean" ? value : child(value, at);
        break;
      default:
        out[key] = value;
    }
  }
  if (values) out.enum = values;
  if (!types || types.length === 1) {
    if (types) out.type = types[0];
    if (types?.[0] === "null") delete out.enum;
    return out;
  }
  return splitByType(out, types);
}

/**
 * `{type: [a, b], …}` as `{anyOf: [{type: a, …a's keywords}, {type: b, …}], …shared}`: Google lists `type` and
 * `anyOf` but does not say whether `type` may be a list, so the unambiguous form is sent.
 */
function splitByType(s: Schema, types: readonly string[]): Schema {
  const shared: Schema = {};
  for (const [k, v] of Object.entries(s)) if (!TYPED.has(k)) shared[k] = v;
  const branches = types.map((t) => {
    const branch: Schema = { type: t };
    for (const k of FOR_TYPE[t]!) {
      if (s[k] === undefined) continue;
      if (k === "enum") {
        const kept = (s.enum as unknown[]).filter((v) =>
          t === "string" ? typeof v === "string" : typeof v === "number",
        );
        if (kept.length) branch.enum = kept;
      } else branch[k] = s[k];
    }
    return branch;
  });
  if (shared.anyOf !== undefined || shared.oneOf !== undefined) {
    // Both a type list and alternatives: each typed branch must also match one alternative.
    const alternatives = { anyOf: shared.anyOf, oneOf: shared.oneOf };
    delete shared.anyOf;
    delete shared.oneOf;
    for (const b of branches) for (const [k, v] of Object.entries(alternatives)) if (v !== undefined) b[k] = v;
  }
  return { ...shared, anyOf: branches };
}

function typeList(type: unknown, path: string): string[] | undefined {
  if (type === undefined) return undefined;
  const list = Array.isArray(type) ? type : [type];
  const out: string[] = [];
  for (const t of list) {
    const name = typeof t === "string" ? t.toLowerCase() : undefined; // OpenAPI-style "STRING" too
    if (!name || !TYPES.has(name)) throw invalidParam(path, `${path}: ${JSON.stringify(t)} is not a JSON Schema type.`);
    if (!out.includes(name)) out.push(name);
  }
  return out;
}

type Flat = { ref: string } | { schema: Schema; stack: readonly string[] };

/**
 * This node with its `$ref` and `allOf` resolved into one plain schema (children untouched), or the name of a
 * recursive reference to keep. `stack` grows by each reference inlined, so recursion below is found.
 */
function flatten(node: Schema, path: string, ctx: Context, stack: readonly string[]): Flat {
  let schema: Schema = node;
  let inner = stack;
  const ref = node.$ref;
  if (ref !== undefined) {
    const at = `${path}.$ref`;
    if (typeof ref !== "string" || !ref.startsWith("#")) {
      throw invalidParam(
        at,
        `${at}: only references inside the schema ("#/$defs/…") can be sent; ${JSON.stringify(ref)} is not one.`,
      );
    }
    const pointer = ref.replace(/^#\/definitions\//, "#/$defs/");
    if (pointer === "#" || stack.includes(pointer)) return { ref: `#/$defs/${recursiveName(ctx, pointer)}` };
    const { $ref: _ref, ...siblings } = node;
    const target = flatten(resolve(ctx, pointer, at), at, ctx, [...stack, pointer]);
    if ("ref" in target) return target;
    inner = target.stack;
    schema = Object.keys(siblings).length ? merge(target.schema, siblings, path) : target.schema;
  }
  if (Array.isArray(schema.allOf)) {
    const { allOf, ...rest } = schema;
    let merged: Schema = {};
    for (const [i, branch] of (allOf as unknown[]).entries()) {
      if (branch === true) continue;
      if (!isRecord(branch)) throw invalidParam(`${path}.allOf[${i}]`, `${path}.allOf[${i}] must be a schema.`);
      const flat = flatten(branch, `${path}.allOf[${i}]`, ctx, inner);
      if ("ref" in flat) {
        throw invalidParam(`${path}.allOf[${i}]`, `${path}.allOf[${i}]: a recursive $ref cannot be merged (allOf).`);
      }
      inner = flat.stack;
      merged = merge(merged, flat.schema, `${path}.allOf`);
    }
    schema = merge(merged, rest, path);
  }
  return { schema, stack: inner };
}

/**
 * Two schemas a value must both match, as one: types intersected, properties and required joined (a property in
 * both must match both), enums intersected, bounds tightened; other keywords of `b` win (a `$ref`'s siblings over
 * its target). Contradictions are refused.
 */
function merge(a: Schema, b: Schema, path: string): Schema {
  const out: Schema = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const prev = out[key];
    if (prev === undefined) {
      out[key] = value;
      continue;
    }
    switch (key) {
      case "type": {
        const x = typeList(prev, `${path}.type`)!;
        const y = typeList(value, `${path}.type`)!;
        // integer is a number: {number} ∩ {integer} = {integer}.
        const both = x.filter((t) => y.includes(t) || (t === "integer" && y.includes("number")));
        if (x.includes("number") && y.includes("integer") && !both.includes("integer")) both.push("integer");
        if (!both.length) {
          throw invalidParam(path, `${path}: the merged schemas want different types (${x} and ${y}).`);
        }
        out.type = both.length === 1 ? both[0] : both;
        break;
      }
      case "properties":
        if (isRecord(prev) && isRecord(value)) {
          const props: Schema = { ...prev };
          for (const [k, v] of Object.entries(value)) props[k] = props[k] === undefined ? v : { allOf: [props[k], v] };
          out.properties = props;
        }
        break;
      case "required":
        if (Array.isArray(prev) && Array.isArray(value)) out.required = [...new Set([...prev, ...value])];
        break;
      case "enum":
        if (Array.isArray(prev) && Array.isArray(value)) out.enum = prev.filter((v) => value.includes(v));
        break;
      case "minimum":
      case "minItems":
        out[key] = Math.max(Number(prev), Number(value));
        break;
      case "maximum":
      case "maxItems":
        out[key] = Math.min(Number(prev), Number(value));
        break;
      case "items":
        out.items = { allOf: [prev, value] };
        break;
      case "anyOf":
      case "oneOf":
        throw invalidParam(
          `${path}.${key}`,
          `${path}: two ${key} lists cannot be merged into one schema Gemini takes.`,
        );
      default:
        out[key] = value;
    }
  }
  return out;
}

/** The schema a local reference points at (a JSON pointer into the root); a 400 when there is none. */
function resolve(ctx: Context, pointer: string, at: string): Schema {
  if (pointer === "#") return ctx.root;
  let node: unknown = ctx.root;
  for (const raw of pointer.slice(2).split("/")) {
    const key = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
    const next: unknown = isRecord(node)
      ? (node[key] ?? (key === "$defs" ? node.definitions : undefined))
      : Array.isArray(node)
        ? node[Number(key)]
        : undefined;
    node = next;
  }
  if (!isRecord(node)) throw invalidParam(at, `${at}: ${JSON.stringify(pointer)} does not point at a schema.`);
  return node;
}

/** The `$defs` name a recursive reference keeps in the output. */
function recursiveName(ctx: Context, pointer: string): string {
  const known = ctx.recursive.get(pointer);
  if (known) return known;
  const base = pointer === "#" ? "root" : pointer.replace(/^#\/\$defs\//, "").replace(/[^A-Za-z0-9_.-]+/g, "_");
  let name = base || "def";
  for (let i = 2; [...ctx.recursive.values()].includes(name); i++) name = `${base}_${i}`;
  ctx.recursive.set(pointer, name);
  return name;
}
