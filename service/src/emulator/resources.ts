/**
 * The emulator's resources — what a project owns upstream — and their routes: context caches (caches.ts),
 * interactions (interactions.ts) and batch prediction jobs (batches.ts) on a Vertex location, and the Cloud Storage
 * their batch jobs read and write (storage.ts). Model calls and the control plane are elsewhere (model-call.ts,
 * server.ts). Vertex wants a bearer token on every resource path, as on model calls.
 *
 *   /{v1|v1beta1}/projects/{p}/locations/{l}/cachedContents[/{id}]                     POST, GET, PATCH, DELETE
 *   /{v1|v1beta1}/projects/{p}/locations/{l}/interactions[/{id}[/cancel]]              POST, GET, DELETE
 *   /{v1|v1beta1}/projects/{p}/locations/{l}/batchPredictionJobs[/{id}[:cancel]]       POST, GET, DELETE
 *   /storage/v1/…, /upload/storage/v1/…, /download/storage/v1/…                        Cloud Storage JSON API
 *   /v1/projects/{p}/secrets…                                                          Secret Manager subset (secrets.ts)
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { errors, GatewayError, toGatewayError } from "../wire/errors.js";
import { BatchStore } from "./batches.js";
import { CacheStore } from "./caches.js";
import { cutShort, endCall, failCall, finishCall, startCall, type Call } from "./http.js";
import { InteractionStore, interactionView, type InteractionRecord } from "./interactions.js";
import { checkAuth } from "./routes.js";
import type { EmulatorState } from "./state.js";
import { ObjectStore } from "./storage.js";
import { SecretStore } from "./secrets.js";

export interface ResourceState {
  caches: CacheStore;
  interactions: InteractionStore;
  batches: BatchStore;
  storage: ObjectStore;
  secrets: SecretStore;
}

/** Ids unique across emulator processes (two regions in one test must not hand out the same id), then a counter. */
function idSource(numeric: boolean): () => string {
  const prefix = numeric
    ? String(1 + Math.floor(Math.random() * 9)) + String(Math.floor(Math.random() * 1e8)).padStart(8, "0")
    : Math.random().toString(36).slice(2, 10);
  let seq = 0;
  return () => `${numeric ? prefix : `v1_${prefix}`}${String(++seq).padStart(6, "0")}`;
}

export function createResourceState(settings: () => EmulatorState["settings"]): ResourceState {
  const storage = new ObjectStore();
  const s = () => {
    const all = settings();
    return { responseTokens: all.responseTokens, chunkTokens: all.chunkTokens, ...all.resources };
  };
  return {
    storage,
    secrets: new SecretStore(),
    caches: new CacheStore(idSource(true)),
    interactions: new InteractionStore(idSource(false), s),
    batches: new BatchStore(idSource(true), storage, s),
  };
}

export function clearResources(r: ResourceState): void {
  r.caches.clear();
  r.interactions.clear();
  r.batches.clear();
  r.storage.clear();
  r.secrets.clear();
}

const LOCATION =
  /^\/(v1|v1beta1)\/(projects\/[^/]+\/locations\/[^/]+)\/(cachedContents|interactions|batchPredictionJobs)(?:\/([^/:]+)(?:(?:\/|:)(cancel))?)?$/;

/** Handles a resource or storage request; false when the path is neither (a model call, or a 404). */
export function handleResource(
  state: EmulatorState,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  query: string,
): boolean {
  const storage =
    path.startsWith("/storage/v1/") ||
    path.startsWith("/upload/storage/v1/") ||
    path.startsWith("/download/storage/v1/");
  const secrets = !storage && SecretStore.owns(path);
  const m = storage || secrets ? null : LOCATION.exec(path);
  if (!storage && !secrets && !m) return false;
  const call = startCall(state, req, res);
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("error", () => undefined);
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    call.body = body.length > 64 * 1024 ? `(${body.length} bytes)` : body.toString("utf8");
    try {
      if (secrets) {
        state.resources.secrets.handle(req, res, path, new URLSearchParams(query), body);
        finishCall(call, res.statusCode);
        return;
      }
      if (storage) {
        if (!state.resources.storage.handle(req, res, path, new URLSearchParams(query), body)) {
          failCall(call, errors.notFound(path));
        } else finishCall(call, res.statusCode);
        return;
      }
      const denied = checkAuth(
        { vertex: true, apiVersion: m![1]!, resource: m![2]!, model: "", method: m![3]! },
        req.headers,
        null,
      );
      if (denied) return failCall(call, denied);
      route(state, call, m![2]!, m![3]!, m![4], m![5], new URLSearchParams(query));
    } catch (err) {
      failCall(call, toGatewayError(err));
    }
  });
  return true;
}

function route(
  state: EmulatorState,
  call: Call,
  parent: string,
  collection: string,
  id: string | undefined,
  action: string | undefined,
  query: URLSearchParams,
): void {
  const verb = call.req.method ?? "";
  const body = (): Record<string, unknown> => {
    if (!call.body) return {};
    try {
      const doc = JSON.parse(call.body) as unknown;
      if (doc && typeof doc === "object" && !Array.isArray(doc)) return doc as Record<string, unknown>;
    } catch {
      // fall through
    }
    throw errors.invalidJson("The body must be a JSON object.");
  };
  const ok = (doc: unknown) => endCall(call, 200, JSON.stringify(doc));
  const { caches, interactions, batches } = state.resources;
  const notAllowed = () => failCall(call, errors.methodNotAllowed(verb));

  if (collection === "cachedContents") {
    if (action) return failCall(call, errors.notFound(`${parent}/cachedContents/${id}:${action}`));
    const name = `${parent}/cachedContents/${id}`;
    if (!id)
      return verb === "POST"
        ? ok(caches.create(parent, body()))
        : verb === "GET"
          ? ok(caches.list(parent))
          : notAllowed();
    if (verb === "GET") return ok(caches.get(name));
    if (verb === "PATCH") return ok(caches.patch(name, body()));
    if (verb === "DELETE") return ok(caches.delete(name));
    return notAllowed();
  }

  if (collection === "batchPredictionJobs") {
    if (!id)
      return verb === "POST"
        ? ok(batches.create(parent, body()))
        : verb === "GET"
          ? ok(batches.list(parent))
          : notAllowed();
    if (action === "cancel") return verb === "POST" ? ok(batches.cancel(id)) : notAllowed();
    if (verb === "GET") return ok(batches.get(id));
    if (verb === "DELETE") return ok(batches.delete(id));
    return notAllowed();
  }

  // interactions
  if (!id) {
    if (verb !== "POST") return notAllowed();
    const doc = body();
    const rec = interactions.create(doc);
    if (doc.stream === true) return stream(state, call, rec.events);
    return ok(interactionView(rec));
  }
  if (action === "cancel") return verb === "POST" ? ok(interactionView(interactions.cancel(id))) : notAllowed();
  if (verb === "DELETE") {
    interactions.delete(id);
    return ok({});
  }
  if (verb !== "GET") return notAllowed();
  const rec: InteractionRecord = interactions.get(id);
  if (query.get("stream") === "true") {
    if (rec.status !== "completed") {
      throw new GatewayError(400, "FAILED_PRECONDITION", `Interaction ${id} is ${rec.status}; nothing to stream yet.`);
    }
    return stream(state, call, interactions.eventsAfter(rec, query.get("last_event_id") ?? undefined));
  }
  return ok(interactionView(rec));
}

/**
 * Writes interaction events as SSE, `chunkTokens` words per delta, `latency.perChunkMs` apart; the connection breaks
 * after `streamBreakAfterChunks` events when that is set (a cut stream, as model-call.ts cuts generate streams).
 */
function stream(state: EmulatorState, call: Call, events: Record<string, unknown>[]): void {
  const { res } = call;
  res.writeHead(200, { "content-type": "text/event-stream", "x-emulator-region": state.settings.region });
  let i = 0;
  const step = () => {
    call.timer = undefined;
    if (call.finished || res.destroyed) return;
    if (i === state.settings.streamBreakAfterChunks) {
      finishCall(call, 200);
      cutShort(res);
      return;
    }
    if (i === events.length) {
      res.end("data: [DONE]\n\n");
      return finishCall(call, 200);
    }
    res.write(`data: ${JSON.stringify(events[i++])}\n\n`);
    const wait = state.settings.latency.perChunkMs;
    if (wait > 0) call.timer = setTimeout(step, wait);
    else setImmediate(step);
  };
  step();
}
