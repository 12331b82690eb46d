/**
 * What a case's answer is checked for. Similarity is the cosine of the answer's and the expected answer's embeddings,
 * both computed by the gateway under test (its own embedding model), so the check measures meaning the way the
 * deployment itself would; the rest are plain text checks, JSON-schema validity, and refusals.
 */
import type { Check } from "./suite.js";
import { thresholdFor } from "./suite.js";

export interface Answer {
  text: string;
  finishReason: string | undefined;
  blockReason: string | undefined;
}

export interface CheckResult {
  type: Check["type"];
  pass: boolean;
  /** Similarity: the cosine; absent for other checks. */
  score?: number;
  threshold?: number;
  detail: string;
}

/** Finish reasons and phrases that mean the model declined to answer. */
const REFUSAL_FINISH = new Set(["SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "MODEL_ARMOR", "RECITATION"]);
const REFUSAL_TEXT =
  /\b(I'm sorry|I am sorry|I apologi[sz]e|I can(?:'|’|no)t (?:help|assist|answer|provide)|I(?:'m| am) (?:not able|unable) to|I won(?:'|’)t be able)\b/i;

export function isRefusal(a: Answer): boolean {
  if (a.blockReason) return true;
  if (a.finishReason && REFUSAL_FINISH.has(a.finishReason)) return true;
  return REFUSAL_TEXT.test(a.text.slice(0, 400));
}

export function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na && nb ? dot / Math.sqrt(na * nb) : 0;
}

/** Runs the checks that need no embeddings; similarity checks are scored by the caller (`similarityResult`). */
export function textCheck(check: Exclude<Check, { type: "similarity" }>, a: Answer): CheckResult {
  switch (check.type) {
    case "contains":
    case "notContains": {
      const hay = check.caseSensitive ? a.text : a.text.toLowerCase();
      const needle = check.caseSensitive ? check.value : check.value.toLowerCase();
      const found = hay.includes(needle);
      const pass = check.type === "contains" ? found : !found;
      return { type: check.type, pass, detail: `${found ? "contains" : "does not contain"} "${check.value}"` };
    }
    case "regex": {
      const pass = new RegExp(check.pattern, check.flags).test(a.text);
      return {
        type: "regex",
        pass,
        detail: `${pass ? "matches" : "does not match"} /${check.pattern}/${check.flags ?? ""}`,
      };
    }
    case "jsonSchema": {
      let value: unknown;
      try {
        value = JSON.parse(a.text);
      } catch {
        return { type: "jsonSchema", pass: false, detail: "the answer is not JSON" };
      }
      const problems = validateJson(value, check.schema);
      return {
        type: "jsonSchema",
        pass: problems.length === 0,
        detail: problems.length ? problems.slice(0, 3).join("; ") : "valid against the schema",
      };
    }
    case "refusal": {
      const refused = isRefusal(a);
      return {
        type: "refusal",
        pass: refused === check.expected,
        detail: refused ? "the model declined" : "the model answered",
      };
    }
  }
}

export function similarityResult(
  check: Extract<Check, { type: "similarity" }>,
  score: number,
  profile: string,
): CheckResult {
  const threshold = thresholdFor(check.threshold, profile);
  return {
    type: "similarity",
    pass: score >= threshold,
    score,
    threshold,
    detail: `cosine ${score.toFixed(3)} ${score >= threshold ? "≥" : "<"} ${threshold}`,
  };
}

/**
 * JSON Schema validation for the keywords Gemini's structured output takes (type, enum, const, properties, required,
 * additionalProperties, items, prefixItems, min/maxItems, min/maxLength, pattern, minimum, maximum, anyOf, oneOf,
 * allOf, local $ref to $defs): enough to tell a structured answer broke, without a validator dependency.
 */
export function validateJson(value: unknown, schema: unknown, path = "$", root: unknown = schema): string[] {
  if (schema === true || schema === undefined) return [];
  if (schema === false) return [`${path}: not allowed`];
  const s = schema as Record<string, unknown>;
  if (typeof s.$ref === "string") {
    const m = /^#\/(\$defs|definitions)\/(.+)$/.exec(s.$ref);
    const target = m ? ((root as Record<string, Record<string, unknown>>)[m[1]!] ?? {})[m[2]!] : undefined;
    return target === undefined ? [`${path}: unresolvable $ref ${s.$ref}`] : validateJson(value, target, path, root);
  }
  const out: string[] = [];
  const types = s.type === undefined ? undefined : Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
  if (types && !types.some((t) => typeMatches(value, t))) return [`${path}: expected ${types.join(" or ")}`];
  if (Array.isArray(s.enum) && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    out.push(`${path}: not one of ${JSON.stringify(s.enum)}`);
  }
  if ("const" in s && JSON.stringify(s.const) !== JSON.stringify(value))
    out.push(`${path}: not ${JSON.stringify(s.const)}`);
  if (typeof value === "string") {
    if (typeof s.minLength === "number" && value.length < s.minLength) out.push(`${path}: shorter than ${s.minLength}`);
    if (typeof s.maxLength === "number" && value.length > s.maxLength) out.push(`${path}: longer than ${s.maxLength}`);
    if (typeof s.pattern === "string" && !new RegExp(s.pattern, "u").test(value))
      out.push(`${path}: does not match ${s.pattern}`);
  }
  if (typeof value === "number") {
    if (typeof s.minimum === "number" && value < s.minimum) out.push(`${path}: below ${s.minimum}`);
    if (typeof s.maximum === "number" && value > s.maximum) out.push(`${path}: above ${s.maximum}`);
  }
  if (Array.isArray(value)) {
    if (typeof s.minItems === "number" && value.length < s.minItems)
      out.push(`${path}: fewer than ${s.minItems} items`);
    if (typeof s.maxItems === "number" && value.length > s.maxItems) out.push(`${path}: more than ${s.maxItems} items`);
    const prefix = Array.isArray(s.prefixItems) ? (s.prefixItems as unknown[]) : [];
    value.forEach((item, i) => {
      const itemSchema = i < prefix.length ? prefix[i] : s.items;
      out.push(...validateJson(item, itemSchema, `${path}[${i}]`, root));
    });
  }
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    const props = (s.properties ?? {}) as Record<string, unknown>;
    for (const r of (s.required as string[] | undefined) ?? []) if (!(r in obj)) out.push(`${path}.${r}: required`);
    for (const [k, v] of Object.entries(obj)) {
      if (k in props) out.push(...validateJson(v, props[k], `${path}.${k}`, root));
      else if (s.additionalProperties !== undefined) {
        out.push(...validateJson(v, s.additionalProperties, `${path}.${k}`, root));
      }
    }
  }
  if (Array.isArray(s.allOf)) for (const sub of s.allOf) out.push(...validateJson(value, sub, path, root));
  if (Array.isArray(s.anyOf) && !s.anyOf.some((sub) => validateJson(value, sub, path, root).length === 0)) {
    out.push(`${path}: matches none of anyOf`);
  }
  if (
    Array.isArray(s.oneOf) &&
    s.oneOf.filter((sub) => validateJson(value, sub, path, root).length === 0).length !== 1
  ) {
    out.push(`${path}: does not match exactly one of oneOf`);
  }
  return out;
}

function typeMatches(value: unknown, type: string): boolean {
  switch (type) {
    case "null":
      return value === null;
    case "array":
      return Array.isArray(value);
    case "object":
      return typeof value === "object" && value !== null && !Array.isArray(value);
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    default:
      return typeof value === type;
  }
}
