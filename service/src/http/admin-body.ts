/**
 * The JSON object an admin endpoint takes (key changes, label moves, feedback): small, read under its own limits so an
 * admin route can never be the way around the model calls' body budget.
 */
import type { IncomingMessage } from "node:http";
import { errors } from "../wire/errors.js";
import { readBody } from "./read-body.js";

const ADMIN_BODY = { maxBytes: 16 * 1024, timeoutMs: 10_000, maxJsonValues: 1_000 } as const;

/** The body as a JSON object; an empty body is `{}` when `emptyAllowed`, else a 400 like any non-object. */
export async function readAdminJson(req: IncomingMessage, emptyAllowed = false): Promise<Record<string, unknown>> {
  const raw = await readBody(req, ADMIN_BODY);
  if (emptyAllowed && raw.length === 0) return {};
  let body: unknown;
  try {
    body = JSON.parse(raw.toString("utf8"));
  } catch (e) {
    throw errors.invalidJson(e instanceof Error ? e.message : "The body is not JSON.");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw errors.invalidArgument("The body must be a JSON object.");
  }
  return body as Record<string, unknown>;
}
