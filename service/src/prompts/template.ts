/**
 * Templates and their variables. The syntax is one thing: `{{name}}` (spaces allowed inside the braces) stands for a
 * declared variable; there is no logic, no escaping, no filters. Rendering is one pass over the template's own text:
 * a value is inserted as it is and never read as template text again, so a caller's value that contains `{{other}}`
 * stays those characters (no template injection), and the structure of the request (system instruction, user turn,
 * generation config) is built as JSON by the gateway, never by concatenating a value into JSON.
 *
 * A caller's variables are checked against the version's declarations before anything renders: every problem is
 * reported at once, each naming its variable (`variables.<name>`), as a 400 with a google.rpc.BadRequest detail.
 */
import { GatewayError } from "../wire/errors.js";
import type { VariableSpec } from "./schema.js";

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;
/** Strings are limited even when a variable sets no maxLength: a template is not a way around the body limits. */
export const DEFAULT_MAX_LENGTH = 10_000;

export type VariableValue = string | number | boolean;

/** The variable names a template uses, in order of first use. */
export function placeholders(text: string): string[] {
  return [...new Set([...text.matchAll(PLACEHOLDER)].map((m) => m[1]!))];
}

/**
 * Load-time check of a template's text: every placeholder names a declared variable, no stray `{{` or `}}` is left
 * (it would reach the model as text, a sign of a typo), and — for the system instruction — only enum variables appear.
 * Returns the problems, each as a sentence naming where.
 */
export function templateProblems(
  text: string,
  where: string,
  declared: Readonly<Record<string, VariableSpec>>,
  enumOnly: boolean,
): string[] {
  const problems: string[] = [];
  for (const name of placeholders(text)) {
    const spec = declared[name];
    if (!spec) problems.push(`${where} uses {{${name}}}, which is not a declared variable`);
    else if (enumOnly && !spec.enum) {
      problems.push(
        `${where} uses {{${name}}}, which is not an enum variable: only values the template's reviewers have ` +
          `seen may reach the system instruction`,
      );
    }
  }
  const rest = text.replace(PLACEHOLDER, "");
  if (rest.includes("{{") || rest.includes("}}")) problems.push(`${where} has a {{ or }} that is not a placeholder`);
  return problems;
}

/** One pass: each placeholder becomes its value's text; values are never scanned for placeholders. */
export function render(text: string, values: Readonly<Record<string, VariableValue>>): string {
  return text.replace(PLACEHOLDER, (_, name: string) => {
    const v = values[name];
    return v === undefined ? "" : String(v);
  });
}

export interface Violation {
  field: string;
  description: string;
}

/** The caller's variables, checked and with defaults filled in; a 400 naming every bad variable otherwise. */
export function checkVariables(
  declared: Readonly<Record<string, VariableSpec>>,
  given: unknown,
  promptRef: string,
): Record<string, VariableValue> {
  const violations: Violation[] = [];
  const values: Record<string, VariableValue> = {};
  if (given === undefined) given = {};
  if (typeof given !== "object" || given === null || Array.isArray(given)) {
    throw variablesError([{ field: "variables", description: "must be an object of variable values" }], promptRef);
  }
  const input = given as Record<string, unknown>;
  for (const name of Object.keys(input)) {
    if (!Object.hasOwn(declared, name)) {
      violations.push({ field: `variables.${name}`, description: `is not a variable of ${promptRef}` });
    }
  }
  for (const [name, spec] of Object.entries(declared)) {
    const field = `variables.${name}`;
    const v = Object.hasOwn(input, name) ? input[name] : undefined;
    if (v === undefined || v === null) {
      if (spec.default !== undefined) values[name] = spec.default;
      else if (!spec.optional) violations.push({ field, description: `is missing (${describeType(spec)})` });
      continue;
    }
    const problem = valueProblem(spec, v);
    if (problem) violations.push({ field, description: problem });
    else values[name] = v as VariableValue;
  }
  if (violations.length) throw variablesError(violations, promptRef);
  return values;
}

function valueProblem(spec: VariableSpec, v: unknown): string | undefined {
  const got = Array.isArray(v) ? "an array" : typeof v === "object" ? "an object" : `a ${typeof v}`;
  switch (spec.type) {
    case "string": {
      if (typeof v !== "string") return `must be a string, got ${got}`;
      if (spec.enum && !spec.enum.includes(v)) return `must be one of ${spec.enum.join(", ")}`;
      const max = spec.maxLength ?? DEFAULT_MAX_LENGTH;
      if (v.length > max) return `is longer than ${max} characters`;
      if (spec.minLength !== undefined && v.length < spec.minLength) {
        return `is shorter than ${spec.minLength} characters`;
      }
      return undefined;
    }
    case "boolean":
      return typeof v === "boolean" ? undefined : `must be a boolean, got ${got}`;
    case "number":
    case "integer": {
      if (typeof v !== "number" || !Number.isFinite(v)) return `must be ${describeType(spec)}, got ${got}`;
      if (spec.type === "integer" && !Number.isInteger(v)) return "must be an integer";
      if (spec.minimum !== undefined && v < spec.minimum) return `must be at least ${spec.minimum}`;
      if (spec.maximum !== undefined && v > spec.maximum) return `must be at most ${spec.maximum}`;
      return undefined;
    }
  }
}

function describeType(spec: VariableSpec): string {
  if (spec.enum) return `one of ${spec.enum.join(", ")}`;
  return spec.type === "integer" ? "an integer" : `a ${spec.type}`;
}

function variablesError(violations: Violation[], promptRef: string): GatewayError {
  const list = violations.map((v) => `${v.field} ${v.description}`).join("; ");
  return new GatewayError(400, "INVALID_ARGUMENT", `Invalid variables for prompt ${promptRef}: ${list}.`, [
    { "@type": "type.googleapis.com/google.rpc.BadRequest", fieldViolations: violations },
  ]);
}
