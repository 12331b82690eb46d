/**
 * The lighter path for resource reads, lists, updates, cancels and deletes — calls that are not model calls (no
 * admission, no response cache), like the model reads of surfaces/models.ts — and what they share: the caller is
 * authenticated with the gateway key, the resource's owner checked in the registry (another tenant's: 404, as if
 * absent), and the upstream call goes through the router pinned to the upstream that holds the resource (retries,
 * breakers and connection slots as any call; never another upstream). Each is one `info` log line with its request
 * id, tenant, operation, resource and status.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Tenant } from "../../config/tenants.js";
import { writeError, writeJson } from "../../http/write.js";
import type { Router, Routed } from "../../route/router.js";
import type { ResourceTarget, UpstreamMethod } from "../../upstream/provider.js";
import { errors, toGatewayError, type ErrorEnvelope } from "../../wire/errors.js";
import type { Keyring } from "../authenticate.js";
import type { ResourceDeps } from "./context.js";
import type { ClientScope } from "./names.js";
import { parseObject, readAll } from "./ownership.js";

/** What a light handler gets: who asked, in which API, and how to reach the resource's upstream. */
export interface LightCall {
  requestId: string;
  tenant: Tenant;
  scope: ClientScope;
  req: IncomingMessage;
  res: ServerResponse;
  query: URLSearchParams;
  deps: ResourceDeps;
  /** Sends one upstream call pinned to `upstream` (the resource's). */
  send(o: {
    upstream: string;
    resource: string;
    model: string;
    method: UpstreamMethod;
    target: ResourceTarget;
    body?: Buffer;
  }): Promise<Routed>;
  /** The request body (PATCH), read with the gateway's limits. */
  body(): Promise<Buffer>;
}

export type LightHandler = (c: LightCall) => Promise<void>;

export interface LightOptions {
  keyring: Keyring;
  router: Router;
  deps: ResourceDeps;
  upstreamTimeoutMs: number;
  readBody(req: IncomingMessage): Promise<Buffer>;
}

/** Runs a light handler: authentication, errors in Google's envelope, the log line. */
export function createLightRunner(o: LightOptions) {
  return async function run(
    req: IncomingMessage,
    res: ServerResponse,
    scope: ClientScope,
    operation: string,
    handler: LightHandler,
  ): Promise<void> {
    const requestId = String(res.getHeader("x-request-id"));
    let tenant: string | undefined;
    let status = 200;
    const abort = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) abort.abort();
    };
    res.once("close", onClose);
    try {
      const identity = o.keyring.authenticate(req.headers, req.rawHeaders);
      tenant = identity.tenant.id;
      const q = (req.url ?? "").indexOf("?");
      const deadline = Date.now() + o.upstreamTimeoutMs;
      await handler({
        requestId,
        tenant: identity.tenant,
        scope,
        req,
        res,
        query: new URLSearchParams(q < 0 ? "" : (req.url ?? "").slice(q + 1)),
        deps: o.deps,
        body: () => o.readBody(req),
        send: (s) =>
          o.router.send({
            model: s.model,
            method: s.method,
            apiVersion: "v1beta1",
            resource: s.target,
            body: s.body ?? Buffer.alloc(0),
            serverTimeout: undefined,
            traceparent: undefined,
            signal: abort.signal,
            deadline,
            waitDeadline: deadline,
            pin: { upstream: s.upstream, resource: s.resource },
          }),
      });
      status = res.statusCode;
    } catch (err) {
      const e = toGatewayError(err);
      status = e.httpCode;
      if (!res.headersSent) writeError(res, e);
      else if (!res.writableEnded) res.end();
    } finally {
      res.off("close", onClose);
    }
    o.deps.logger.info({ requestId, tenant, operation, path: (req.url ?? "").split("?")[0], status }, "resource call");
  };
}

/**
 * The upstream's answer as JSON, or — for an error — relayed to the client as it came (status, Google's envelope) and
 * undefined returned. A 2xx that is not a JSON object is a 502.
 */
export async function upstreamJson(c: LightCall, routed: Routed): Promise<Record<string, unknown> | undefined> {
  const body = await readAll(routed.response.body);
  const status = routed.response.status;
  if (status < 200 || status >= 300) {
    const envelope = parseObject(body.toString("utf8")) as ErrorEnvelope | undefined;
    if (envelope?.error) writeJson(c.res, status, envelope);
    else writeError(c.res, errors.upstreamBroken(`HTTP ${status} without a Gemini error body`));
    return undefined;
  }
  if (body.length === 0) return {};
  const doc = parseObject(body.toString("utf8"));
  if (!doc) throw errors.upstreamBroken("the answer is not a JSON object");
  return doc;
}

/** `pageSize` (default 50, at most 1000) and an opaque `pageToken` (an offset), as the model reads page. */
export function page<T>(c: LightCall, items: readonly T[]): { items: T[]; next: string | undefined } {
  const sizeText = c.query.get("pageSize");
  if (sizeText && !/^\d{1,9}$/.test(sizeText)) throw errors.invalidArgument("pageSize must be a non-negative integer.");
  const size = Math.min(1000, Number(sizeText) || 50);
  const token = c.query.get("pageToken");
  let offset = 0;
  if (token) {
    const decoded = Buffer.from(token, "base64url").toString("utf8");
    if (!/^\d{1,6}$/.test(decoded)) throw errors.invalidArgument("pageToken is not a token from a previous page.");
    offset = Number(decoded);
  }
  const next = offset + size < items.length ? Buffer.from(String(offset + size)).toString("base64url") : undefined;
  return { items: items.slice(offset, offset + size), next };
}
