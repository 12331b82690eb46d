/**
 * What identifies a cacheable answer, and whether a call may use the response cache at all.
 *
 * The key is SHA-256 (hex) over a canonical JSON of everything that shapes the model's answer: the tenant, the model
 * and every field of the request but `labels` — contents, systemInstruction, generationConfig, tools, toolConfig,
 * safetySettings, cachedContent, and fields the gateway does not know (serviceTier, a field added next year): a field
 * Google reads may change the answer, and leaving one out would serve one request another's answer. The request is
 * read after validation, where field names are normalised (wire/field-names.ts): `system_instruction` is keyed as
 * `systemInstruction`, so the spelling never decides whether two requests share an entry. Canonical: object keys
 * sorted at every depth, arrays kept in order (order is meaning in contents and parts), absent fields left out — so
 * two requests that differ only in key order, whitespace or field-name spelling share an entry. Deliberately NOT in
 * the key:
 * - the method (stream or not): both surfaces replay one entry either way (response-cache.ts), so a streamed request
 *   can be served from a unary answer and vice versa;
 * - labels, the API version and anything the gateway adds (attribution labels, Model Armor template): they change the
 *   bill's attribution or the route, not the answer.
 * The tenant IS in the key, so no entry is ever shared across tenants (one tenant's prompt never answers another's).
 * `cachedContent` is in the key too, beyond the fields named in the design: it names a context cache whose content is
 * part of the prompt, so leaving it out could serve an answer computed on another context.
 *
 * Decision: only deterministic requests are cached by default (temperature exactly 0); a client opts in for other
 * requests with `x-gateway-cache: use` and opts out with `x-gateway-cache: bypass` or `Cache-Control: no-store`.
 */
import { createHash } from "node:crypto";
import { errors } from "../wire/errors.js";

/**
 * Bumped when the key's inputs or the entry format change, so old entries are never read by a new gateway.
 * 2: every request field but labels (1 keyed seven named fields, and missed their snake_case spellings).
 */
const KEY_VERSION = 2;

/** Request fields that never shape the answer: billing attribution. */
const NOT_KEYED: ReadonlySet<string> = new Set(["labels"]);

/** The request header a client uses to opt in or out. */
export const CACHE_HEADER = "x-gateway-cache";

export type CacheDecision = "use" | "bypass";

/** The two request headers the decision reads, already reduced to one string each (absent: undefined). */
export interface CacheHeaders {
  xGatewayCache?: string;
  cacheControl?: string;
}

/** SHA-256 hex of the canonical JSON of tenant, model and the request's fields but labels. */
export function cacheKey(tenant: string, model: string, doc: Readonly<Record<string, unknown>>): string {
  // The request under its own member: its fields can never collide with the key's own (v, tenant, model).
  const request = Object.create(null) as Record<string, unknown>; // no prototype: a `__proto__` field is a field
  for (const field of Object.keys(doc)) {
    if (!NOT_KEYED.has(field)) request[field] = doc[field];
  }
  return createHash("sha256")
    .update(canonicalJson({ v: KEY_VERSION, tenant, model, request }))
    .digest("hex");
}

/**
 * JSON with object keys sorted at every depth and arrays in order; `undefined` members are left out as
 * JSON.stringify leaves them out. Input is a parsed JSON document, so only JSON values are expected.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`;
  const obj = value as Record<string, unknown>;
  const members: string[] = [];
  for (const k of Object.keys(obj).sort()) {
    if (obj[k] !== undefined) members.push(`${JSON.stringify(k)}:${canonicalJson(obj[k])}`);
  }
  return `{${members.join(",")}}`;
}

/**
 * "use" when the client asks for it (`x-gateway-cache: use`), or when the request is deterministic
 * (generationConfig.temperature === 0) and the client did not opt out (`x-gateway-cache: bypass`, or `no-store` in
 * Cache-Control). An explicit `use` wins over Cache-Control: the gateway's own header is the more specific request.
 * Any other x-gateway-cache value is a 400, so a typo never silently changes what a client pays for.
 */
export function cacheDecision(doc: Readonly<Record<string, unknown>>, headers: CacheHeaders): CacheDecision {
  const asked = headers.xGatewayCache?.trim().toLowerCase();
  if (asked === "use") return "use";
  if (asked === "bypass") return "bypass";
  if (asked !== undefined && asked !== "") {
    throw errors.invalidArgument(
      `${CACHE_HEADER} must be "use" or "bypass", got "${asked.slice(0, 40)}". ` +
        `Leave it out to cache only deterministic requests (generationConfig.temperature 0).`,
    );
  }
  if (hasNoStore(headers.cacheControl)) return "bypass";
  const config = doc.generationConfig;
  const temperature =
    typeof config === "object" && config !== null ? (config as Record<string, unknown>).temperature : undefined;
  return temperature === 0 ? "use" : "bypass";
}

/** Cache-Control is a comma-separated list of directives, some with `=value`; names are case-insensitive. */
function hasNoStore(cacheControl: string | undefined): boolean {
  if (!cacheControl) return false;
  return cacheControl.split(",").some((d) => d.split("=")[0]!.trim().toLowerCase() === "no-store");
}
