/**
 * Reading resource properties safely during a preview.
 *
 * The analyzer hands rules a proxy over the resource's properties: reading a value that is not known yet (an output
 * of a resource still to be created) throws `UnknownValueError`, and the engine then downgrades the whole rule to
 * advisory for that run. Rules read through `read()` instead: an unknown value becomes `UNKNOWN`, which every rule
 * treats as "not violating" (the next preview or update, with the value known, checks it), and the rule never throws.
 * The offline evaluator (`evaluate.ts`) wraps inputs in the same proxy, so both paths behave alike.
 */
import { UnknownValueError } from "@pulumi/policy";

export const UNKNOWN: unique symbol = Symbol.for("gemini-gateway.policies.unknown");
export type Unknown = typeof UNKNOWN;

/**
 * The sentinels Pulumi uses for values not known during preview (@pulumi/policy's proxy.js; the first is also
 * @pulumi/pulumi's `unknownValue`, which `setMocks` programs produce for outputs not yet resolved).
 */
export const UNKNOWN_SENTINELS: ReadonlySet<string> = new Set([
  "04da6b54-80e4-46f7-96ec-b56ff0331ba9", // string (and the runtime's generic unknown)
  "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7", // boolean
  "3eeb2bf0-c639-47a8-9e75-3b44932eb421", // number
  "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2", // array
  "030794c1-ac77-496b-92df-f27374a8bd58", // asset
  "e48ece36-62e2-4504-bad9-02848725956a", // archive
  "dd056dcd-154b-4c76-9bd3-c8f88648b5ff", // object
]);

export function isUnknownSentinel(v: unknown): boolean {
  return typeof v === "string" && UNKNOWN_SENTINELS.has(v);
}

export function isUnknownError(e: unknown): boolean {
  return e instanceof UnknownValueError || (typeof e === "object" && e !== null && "unknownTypeSentinel" in e);
}

/** Evaluates a property read; `UNKNOWN` when the value (or anything on the path to it) is not known yet. */
export function read<T>(f: () => T): T | Unknown {
  try {
    const v = f();
    return isUnknownSentinel(v) ? UNKNOWN : v;
  } catch (e) {
    if (isUnknownError(e)) return UNKNOWN;
    throw e;
  }
}

export function isKnown<T>(v: T | Unknown): v is T {
  return v !== UNKNOWN;
}

/** A known string, `UNKNOWN`, or undefined for anything else (absent, null, another type). */
export function str(v: unknown): string | Unknown | undefined {
  if (v === UNKNOWN || isUnknownSentinel(v)) return UNKNOWN;
  return typeof v === "string" ? v : undefined;
}

export function num(v: unknown): number | Unknown | undefined {
  if (v === UNKNOWN || isUnknownSentinel(v)) return UNKNOWN;
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

export function bool(v: unknown): boolean | Unknown | undefined {
  if (v === UNKNOWN || isUnknownSentinel(v)) return UNKNOWN;
  return typeof v === "boolean" ? v : undefined;
}

/**
 * The elements of an array property, each read safely (an element may be unknown while the array is known).
 * `UNKNOWN` when the array itself is unknown; [] when it is absent or not an array.
 */
export function items<T>(v: readonly T[] | T[] | null | undefined | Unknown): (T | Unknown)[] | Unknown {
  if (v === UNKNOWN) return UNKNOWN;
  if (!Array.isArray(v)) return [];
  const arr: readonly T[] = v;
  const out: (T | Unknown)[] = [];
  const n = read(() => arr.length);
  if (n === UNKNOWN) return UNKNOWN;
  for (let i = 0; i < n; i++) out.push(read(() => arr[i] as T));
  return out;
}

/** Like items(), dropping unknown elements and treating an unknown array as empty; `sawUnknown` tells. */
export function knownItems<T>(v: readonly T[] | T[] | null | undefined | Unknown): {
  values: T[];
  sawUnknown: boolean;
} {
  const all = items(v);
  if (all === UNKNOWN) return { values: [], sawUnknown: true };
  const values = all.filter(isKnown);
  return { values, sawUnknown: values.length !== all.length };
}

/** The entries of a map-like property (labels), each value read safely. `UNKNOWN` when the map is unknown. */
export function entries(v: unknown): [string, unknown][] | Unknown {
  if (v === UNKNOWN || isUnknownSentinel(v)) return UNKNOWN;
  if (typeof v === "string") {
    // Provider inputs carry maps JSON-encoded (e.g. the gcp provider's defaultLabels).
    try {
      const parsed: unknown = JSON.parse(v);
      return entries(parsed);
    } catch {
      return [];
    }
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return [];
  const obj = v as Record<string, unknown>;
  return Object.keys(obj).map((k) => [k, read(() => obj[k])]);
}

/**
 * Visits every string inside a value (objects, arrays, nested), reporting unknown values separately, without ever
 * throwing. Used for "does anything reference X" checks.
 */
export function walkStrings(v: unknown, visit: (s: string) => void, onUnknown: () => void = () => {}, depth = 0): void {
  if (depth > 32) return;
  if (v === UNKNOWN || isUnknownSentinel(v)) {
    onUnknown();
    return;
  }
  if (typeof v === "string") {
    visit(v);
    return;
  }
  if (typeof v !== "object" || v === null) return;
  const obj = v as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    const child = read(() => obj[key]);
    walkStrings(child, visit, onUnknown, depth + 1);
  }
}

/** Reads a dotted path from an untyped record ("template.scaling.maxInstanceCount"), safely. */
export function path(obj: unknown, dotted: string): unknown {
  return read(() => {
    let cur: unknown = obj;
    for (const part of dotted.split(".")) {
      if (cur === null || typeof cur !== "object") return undefined;
      cur = (cur as Record<string, unknown>)[part];
      if (isUnknownSentinel(cur)) return UNKNOWN;
    }
    return cur;
  });
}
