/**
 * Stage: validate. Is the request well-formed? Parses the body once, normalises its field names (proto snake_case → JSON lowerCamel,
 * wire/field-names.ts) so every later stage reads one spelling, checks it against the wire subset we read, and
 * produces the bytes to forward. Size, depth and value-count limits were applied while the body arrived
 * (read-body.ts), so parsing here is bounded.
 *
 * What the gateway changes in a request: Vertex `labels` naming the tenant and key, merged with the client's own
 * labels, so Cloud Billing can attribute spend; and field names, when the client used proto names. When neither
 * applies (the usual case) the labels are spliced into the original bytes; otherwise the body is re-serialized from
 * the parsed object, which keeps every field and value (only whitespace, number spelling and field-name spelling may
 * change).
 */
import { isUtf8 } from "node:buffer";
import type { Tenant } from "../config/tenants.js";
import { errors } from "../wire/errors.js";
import type { EmbedBatch } from "./embed-request.js";
import { normaliseFieldNames } from "../wire/field-names.js";
import type { MessageName } from "../wire/request-messages.js";
import {
  CountTokensRequestSchema,
  describeIssues,
  GenerateContentRequestSchema,
  type ModelMethod,
} from "../wire/gemini.js";

/** Labels the gateway adds for attribution; keys and values follow Vertex label rules. */
export function attributionLabels(tenant: Tenant, keyId: string, feature?: string): Record<string, string> {
  return feature
    ? { "gateway-tenant": tenant.id, "gateway-key": keyId, "gateway-feature": feature }
    : { "gateway-tenant": tenant.id, "gateway-key": keyId };
}

/** A request body that parsed and matched the wire subset; `doc` is read by later stages, never re-sent as is. */
export interface ValidatedBody {
  method: ModelMethod;
  /** The request bytes: as received, or re-serialized from `doc` when field names were normalised. */
  raw: Buffer;
  /** The parsed request, every field under its JSON (lowerCamelCase) name. */
  doc: Readonly<Record<string, unknown>>;
  /** countTokens in the Developer API's wrapped form, rewritten to the Vertex form (the only reshaping ever done). */
  rewritten: Buffer | undefined;
  /** Embedding operations: the request's inputs, decoded from whichever API the client spoke (embed-request.ts). */
  embed?: EmbedBatch;
}

export function validateBody(method: ModelMethod, received: Buffer): ValidatedBody {
  const { raw, record } = parseRequest(
    received,
    method === "countTokens" ? "CountTokensRequest" : "GenerateContentRequest",
  );

  if (method === "countTokens") {
    const parsed = CountTokensRequestSchema.safeParse(record);
    if (!parsed.success) throw errors.invalidArgument(`Invalid countTokens request: ${describeIssues(parsed.error)}`);
    const wrapped = parsed.data.generateContentRequest;
    if (wrapped) {
      // Developer API form {generateContentRequest:{...}} → the Vertex form, which takes the fields directly.
      const { contents, systemInstruction, tools, generationConfig } = wrapped as Record<string, unknown>;
      const inner = { contents, systemInstruction, tools, generationConfig };
      return { method, raw, doc: inner, rewritten: Buffer.from(JSON.stringify(inner)) };
    }
    if (!parsed.data.contents?.length) throw errors.invalidArgument("countTokens needs non-empty contents.");
    return { method, raw, doc: record, rewritten: undefined };
  }

  const parsed = GenerateContentRequestSchema.safeParse(record);
  if (!parsed.success) throw errors.invalidArgument(`Invalid GenerateContentRequest: ${describeIssues(parsed.error)}`);
  return { method, raw, doc: record, rewritten: undefined };
}

/**
 * A request body as a JSON object with its field names normalised (`message` names the request message, for which
 * fields are renamed); `raw` is re-serialised when a name was renamed. 400 when it is empty, not UTF-8, not JSON or
 * not an object.
 */
export function parseRequest(received: Buffer, message: MessageName): { raw: Buffer; record: Record<string, unknown> } {
  let raw = received;
  if (raw.length === 0) throw errors.invalidArgument("The request body is empty; send a JSON object.");
  // JSON.parse would quietly turn invalid bytes into U+FFFD while we forward the original bytes: refuse them.
  if (!isUtf8(raw)) throw errors.invalidJson("The request body is not valid UTF-8.");
  let doc: unknown;
  try {
    doc = JSON.parse(raw.toString("utf8"));
  } catch (err) {
    throw errors.invalidJson(syntaxErrorOf(err));
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw errors.invalidJson("The request body must be a JSON object.");
  }
  let record = doc as Record<string, unknown>;
  if (mayHaveProtoNames(raw)) {
    const normalised = normaliseFieldNames(record, message);
    record = normalised.doc;
    if (normalised.renamed) raw = Buffer.from(JSON.stringify(record));
  }
  return { raw, record };
}

/** Fields the gateway adds to a generateContent request: attribution labels, and the tenant's Model Armor config. */
export interface RequestAdditions {
  labels: Record<string, string>;
  modelArmorConfig: object | undefined;
  /** The upstream's name of the context cache the request uses, in place of the client's (resources/ownership.ts). */
  cachedContent?: string | undefined;
}

/**
 * The bytes to forward. countTokens goes as the client sent it (Vertex takes no labels there). generateContent gets
 * the additions spliced into the original bytes when the client sent no labels (the usual case); otherwise the
 * body is re-serialized from the parsed object with the labels merged, which keeps every field and value (only
 * whitespace and number spelling may change).
 */
export function requestBody(body: ValidatedBody, add: RequestAdditions): Buffer {
  if (body.method === "countTokens") return body.rewritten ?? body.raw;
  const extra: Record<string, unknown> = { labels: add.labels };
  if (add.modelArmorConfig) extra.modelArmorConfig = add.modelArmorConfig;
  const clientLabels = body.doc.labels;
  if (add.cachedContent !== undefined) {
    const labels = clientLabels && typeof clientLabels === "object" ? { ...clientLabels, ...add.labels } : add.labels;
    return Buffer.from(JSON.stringify({ ...body.doc, ...extra, labels, cachedContent: add.cachedContent }));
  }
  if (clientLabels && typeof clientLabels === "object") {
    return Buffer.from(JSON.stringify({ ...body.doc, ...extra, labels: { ...clientLabels, ...add.labels } }));
  }
  return spliceFields(body.raw, extra);
}

/**
 * The parser's complaint without the parser's quote of the input: V8 messages can embed a slice of the body
 * (`Unexpected token 'h', "hello …" is not valid JSON`), and error messages reach the audit log, which never holds
 * request content.
 */
function syntaxErrorOf(err: unknown): string {
  const message = String((err as Error)?.message ?? "");
  const at = /at position (\d+)/.exec(message);
  if (at) return `Syntax error at character ${at[1]}.`;
  if (/Unexpected end of JSON input/.test(message)) return "The JSON text ends too early.";
  return "The body is not valid JSON.";
}

/**
 * Whether any key could be a proto name: they all contain `_`, or spell it as an escape (`\u005f`). Without either
 * byte in the body (most requests) the walk is skipped; memchr over the body costs ~1 µs per 100 KB.
 */
function mayHaveProtoNames(raw: Buffer): boolean {
  return raw.indexOf(0x5f /* _ */) !== -1 || raw.indexOf("\\u") !== -1;
}

/** Inserts the fields before the closing brace of the top-level object, leaving every other byte as it was. */
function spliceFields(raw: Buffer, fields: Record<string, unknown>): Buffer {
  let end = raw.length - 1;
  while (end >= 0 && raw[end] !== 0x7d /* } */) end--;
  let before = end - 1;
  while (
    before >= 0 &&
    (raw[before] === 0x20 || raw[before] === 0x0a || raw[before] === 0x0d || raw[before] === 0x09)
  ) {
    before--;
  }
  const empty = raw[before] === 0x7b; /* { */
  const members = JSON.stringify(fields).slice(1, -1); // `"labels":{...},"modelArmorConfig":{...}`
  const insertion = Buffer.from(`${empty ? "" : ","}${members}`);
  return Buffer.concat([raw.subarray(0, end), insertion, raw.subarray(end)]);
}
