/**
 * Policy configuration: each rule declares a `configSchema` whose properties all have defaults, and reads its config
 * through `configOf`, which lays what the engine passes over those defaults (so a rule behaves the same whether or
 * not the caller applied the schema's defaults). Shared schema fragments live here so one name means one thing.
 */
import type { PolicyConfigSchema } from "@pulumi/policy";

type PolicyConfigJSONSchema = PolicyConfigSchema["properties"][string];

export const ENVIRONMENT_PROPERTY: PolicyConfigJSONSchema = {
  type: "string",
  default: "",
  description:
    'The stack\'s environment ("dev", "prod", ...). Empty: taken from the resource\'s `env` label (or the provider\'s ' +
    "default labels), else from the stack name in the URN. Prod-only checks apply when it is prod or production.",
};

export const DEFAULT_ALLOWED_REGIONS = [
  "us-central1",
  "us-east1",
  "us-east4",
  "us-west1",
  "europe-west1",
  "europe-west4",
] as const;

export const ALLOWED_REGIONS_PROPERTY: PolicyConfigJSONSchema = {
  type: "array",
  items: { type: "string" },
  default: [...DEFAULT_ALLOWED_REGIONS],
  description: "Regions resources may live in (zones are checked by their region).",
};

/** Reads a rule's config: the schema's defaults, overlaid with whatever the engine (or evaluate()) passes. */
export function configOf<C extends object>(args: { getConfig<U extends object>(): U }, schema: PolicyConfigSchema): C {
  const given = args.getConfig<Record<string, unknown>>();
  return { ...schemaDefaults(schema), ...given } as C;
}

/** The `default` of every property of a schema that has one (deep-copied: callers may not share arrays). */
export function schemaDefaults(schema: PolicyConfigSchema | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, prop] of Object.entries(schema?.properties ?? {})) {
    if (prop.default !== undefined) out[key] = structuredClone(prop.default);
  }
  return out;
}

/**
 * Checks a value against one property schema (the subset of JSON Schema these rules use: type, items, enum,
 * minimum, maximum, additionalProperties of type). Returns a problem description, or undefined when valid.
 */
export function checkValue(value: unknown, schema: PolicyConfigJSONSchema, where: string): string | undefined {
  const types = schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];
  if (types.length > 0 && !types.some((t) => hasType(value, t))) {
    return `${where} must be ${types.join(" or ")}, got ${JSON.stringify(value)}`;
  }
  if (schema.enum && !schema.enum.some((e) => e === value)) {
    return `${where} must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(", ")}`;
  }
  if (typeof value === "number") {
    if (schema.minimum !== undefined && value < schema.minimum) return `${where} must be >= ${schema.minimum}`;
    if (schema.maximum !== undefined && value > schema.maximum) return `${where} must be <= ${schema.maximum}`;
  }
  if (Array.isArray(value) && schema.items && typeof schema.items === "object" && !Array.isArray(schema.items)) {
    const itemSchema = schema.items;
    for (let i = 0; i < value.length; i++) {
      const problem = checkValue(value[i], itemSchema, `${where}[${i}]`);
      if (problem) return problem;
    }
  }
  if (
    value !== null &&
    typeof value === "object" &&
    !Array.isArray(value) &&
    schema.additionalProperties &&
    typeof schema.additionalProperties === "object"
  ) {
    const valueSchema = schema.additionalProperties;
    for (const [k, v] of Object.entries(value)) {
      const problem = checkValue(v, valueSchema, `${where}.${k}`);
      if (problem) return problem;
    }
  }
  return undefined;
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case "string":
      return typeof value === "string";
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "boolean":
      return typeof value === "boolean";
    case "array":
      return Array.isArray(value);
    case "object":
      return typeof value === "object" && value !== null && !Array.isArray(value);
    case "null":
      return value === null;
    default:
      return false;
  }
}
