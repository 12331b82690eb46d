/**
 * Field names normalised once, at the edge: a parsed request whose fields are spelled the proto way
 * (`system_instruction`, `generation_config.max_output_tokens`) is rewritten to the lowerCamelCase JSON names, the
 * one spelling everything after validation reads — zod, the cache key, token estimates, the guard, the emulator.
 * Google accepts both spellings (request-messages.ts says why and which fields), so without this a gateway reading
 * only camelCase would validate, estimate, screen and cache-key a request by fields it does not see — and two
 * requests differing only in `system_instruction` would share a cached answer.
 *
 * Rules, as protobuf's JSON parser applies them:
 * - only fields of the messages in the table are renamed; map keys and Struct/Value contents are data, never touched;
 * - keys the table does not know are left exactly as they are (upstream refuses names it does not know either);
 * - the same field under both names in one object is a duplicate field: 400, as Google answers.
 * Objects with a renamed key are replaced by a copy in the original key order; everything else is left in place, so
 * when nothing needs renaming (the usual case) nothing is copied and the caller forwards the original bytes.
 * Leaf module: imports only other wire modules.
 */
import { errors } from "./errors.js";
import { protoName, REQUEST_MESSAGES, type FieldKind, type MessageName } from "./request-messages.js";

interface MessageSpec {
  /** proto name → JSON name, for the fields whose two names differ. */
  readonly byProtoName: ReadonlyMap<string, string>;
  /** JSON name → what the field holds. */
  readonly kinds: ReadonlyMap<string, FieldKind>;
}

const SPECS = new Map<MessageName, MessageSpec>(
  (Object.entries(REQUEST_MESSAGES) as [MessageName, Readonly<Record<string, FieldKind>>][]).map(([name, fields]) => {
    const byProtoName = new Map<string, string>();
    for (const json of Object.keys(fields)) if (protoName(json) !== json) byProtoName.set(protoName(json), json);
    return [name, { byProtoName, kinds: new Map(Object.entries(fields)) }];
  }),
);

export interface NormalisedRequest {
  doc: Record<string, unknown>;
  /** Whether any field was renamed: then the request must be re-serialised from `doc` to be forwarded. */
  renamed: boolean;
}

/** Rewrites `doc`, a request of message type `root`, to JSON field names. Throws 400 on a duplicate field. */
export function normaliseFieldNames(doc: Record<string, unknown>, root: MessageName): NormalisedRequest {
  const walk: Walk = { renamed: false, path: [] };
  const out = message(doc, root, walk);
  return { doc: out, renamed: walk.renamed };
}

interface Walk {
  renamed: boolean;
  /** Where the walk is, for the duplicate-field message. */
  path: string[];
}

function message(obj: Record<string, unknown>, type: MessageName, walk: Walk): Record<string, unknown> {
  const spec = SPECS.get(type)!;
  let target = obj;
  for (const key in obj) {
    if (spec.byProtoName.has(key)) {
      target = renamedCopy(obj, spec, walk);
      break;
    }
  }
  for (const name in target) {
    const kind = spec.kinds.get(name);
    if (kind === undefined || kind === null) continue; // unknown to the table, or data
    walk.path.push(name);
    const value = target[name];
    const next = field(value, kind, walk);
    if (next !== value) target[name] = next;
    walk.path.pop();
  }
  return target;
}

/** A copy with proto names replaced by JSON names, keys in their original order. */
function renamedCopy(obj: Record<string, unknown>, spec: MessageSpec, walk: Walk): Record<string, unknown> {
  walk.renamed = true;
  const out: Record<string, unknown> = {};
  for (const key in obj) {
    const json = spec.byProtoName.get(key);
    if (json !== undefined && Object.hasOwn(obj, json)) {
      throw errors.duplicateField(walk.path.join(".") || "(request)", json, key);
    }
    define(out, json ?? key, obj[key]);
  }
  return out;
}

/** A field's value: a message, a repeated message, or a map of messages. Anything else is left for zod/upstream. */
function field(value: unknown, kind: Exclude<FieldKind, null>, walk: Walk): unknown {
  if (typeof kind === "string") {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        if (!isObject(item)) continue;
        walk.path.push(String(i));
        value[i] = message(item, kind, walk);
        walk.path.pop();
      }
      return value;
    }
    return isObject(value) ? message(value, kind, walk) : value;
  }
  if (!isObject(value)) return value;
  // map<string, M>: the keys are data; only the values are messages.
  for (const key in value) {
    const item = value[key];
    if (!isObject(item)) continue;
    walk.path.push(key);
    const next = message(item, kind.map, walk);
    if (next !== item) define(value, key, next);
    walk.path.pop();
  }
  return value;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Sets an own property; `__proto__` (a legal JSON key, and data here) must not reach the prototype setter. */
function define(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__")
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}
