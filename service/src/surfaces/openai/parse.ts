/**
 * Reading a request body of the OpenAI-compatible surface: UTF-8 JSON checked against its schema (wire/openai.ts),
 * every failure a 400 in OpenAI's terms — the first problem, its path as `param` (`messages[2].content[0].type`),
 * an unknown argument as OpenAI words it ("Unrecognized request argument supplied: top_k").
 */
import { isUtf8 } from "node:buffer";
import type { z } from "zod";
import { invalidParam } from "./error-shape.js";

export function parseBody<T>(raw: Buffer, schema: z.ZodType<T>, what: string): T {
  if (!raw.length) throw invalidParam("body", `The request body is empty; send a ${what} request.`);
  if (!isUtf8(raw)) throw invalidParam("body", "The request body is not valid UTF-8.");
  let json: unknown;
  try {
    json = JSON.parse(raw.toString("utf8"));
  } catch {
    throw invalidParam("body", "The request body is not valid JSON.");
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw issueError(parsed.error);
  return parsed.data;
}

/** A zod failure as OpenAI states it: the first issue, its path as `param`. */
function issueError(error: z.ZodError): Error {
  const issue = error.issues[0]!;
  const path = paramOf(issue.path);
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0]!;
    const param = path ? `${path}.${key}` : key;
    return invalidParam(param, `Unrecognized request argument supplied: ${param}`);
  }
  if (issue.code === "invalid_union" && issue.errors.length) {
    // "Invalid input" says nothing: name what the most specific alternative wanted (e.g. a part's type).
    const inner = issue.errors.flat().reduce((a, b) => (b.path.length > a.path.length ? b : a));
    const at = paramOf([...issue.path, ...inner.path]);
    return invalidParam(at, `Invalid value for ${at}: ${inner.message}.`);
  }
  return invalidParam(path || "body", `Invalid value for ${path || "the request"}: ${issue.message}.`);
}

/** A zod path in OpenAI's spelling: `messages[2].content[0].image_url`. */
export function paramOf(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}
