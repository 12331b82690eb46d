/**
 * The paths of tenant-owned resources on both APIs, matched before express like model calls:
 *
 *   Developer API (`/v1beta`)                          Vertex AI (`/{v1|v1beta1}/projects/{p}/locations/{l}`)
 *   POST   cachedContents                              POST   …/cachedContents                    create (a model call)
 *   GET    cachedContents[/{id}]                        GET    …/cachedContents[/{id}]             list, get
 *   PATCH  cachedContents/{id}, DELETE …               PATCH, DELETE …/cachedContents/{id}
 *   POST   interactions                                POST   …/interactions                      create (unary / SSE)
 *   GET    interactions/{id}[?stream=true&last_event_id=], DELETE …, POST interactions/{id}/cancel (or :cancel)
 *   POST   models/{m}:batchGenerateContent (gemini.ts)  POST   …/batchPredictionJobs               create (a model call)
 *   GET    batches[/{id}], DELETE batches/{id},         GET    …/batchPredictionJobs[/{id}], DELETE …, POST …:cancel
 *   POST   batches/{id}:cancel
 *
 * A create goes to the pipeline as a RouteTarget whose model is in the body (decodeBody); everything else takes the
 * lighter path (pipeline/resources/light.ts). Names in answers are the client's API's (pipeline/resources/names.ts).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { DecodedBody, RouteTarget } from "../pipeline/call.js";
import type { ResponseEncoder } from "../pipeline/encoder.js";
import type { ModelCallHandler } from "../pipeline/pipeline.js";
import { batchHandler, listBatches } from "../pipeline/resources/batches.js";
import { cacheHandler, listCaches } from "../pipeline/resources/caches.js";
import { interactionHandler } from "../pipeline/resources/interactions.js";
import type { LightHandler } from "../pipeline/resources/light.js";
import { cacheForClient, modelIdOf, type ClientScope } from "../pipeline/resources/names.js";
import { parseObject } from "../pipeline/resources/ownership.js";
import { errors, GatewayError, type ErrorEnvelope } from "../wire/errors.js";
import { writeError } from "../http/write.js";

export type LightRunner = (
  req: IncomingMessage,
  res: ServerResponse,
  scope: ClientScope,
  operation: string,
  handler: LightHandler,
) => Promise<void>;

const JSON_TYPE = "application/json; charset=UTF-8";
const envelope = (e: ErrorEnvelope) => Buffer.from(JSON.stringify(e));

/** Unary answers as they came (or rewritten), streams as SSE `data:` events, errors in Google's envelope. */
function encoder(unary: (body: Buffer) => Buffer = (b) => b): ResponseEncoder {
  return {
    unaryContentType: JSON_TYPE,
    streamContentType: "text/event-stream",
    unary,
    streamStart: () => "",
    streamEvent: (payload) => `data: ${payload}\n\n`,
    streamEnd: () => "",
    error: envelope,
    upstreamError: (body) => body,
    streamError: (e) => `data: ${JSON.stringify({ event_type: "error", error: e.error })}\n\n`,
  };
}

/** A create's model, from its body (`models/{m}`, `publishers/google/models/{m}`, `projects/…/models/{m}` or `m`). */
function modelFromBody(raw: Buffer, field: string, method?: (doc: Record<string, unknown>) => string): DecodedBody {
  const doc = parseObject(raw.toString("utf8"));
  if (!doc) throw errors.invalidJson("The request body must be a JSON object.");
  const model = modelIdOf(doc[field]);
  if (!model) throw errors.invalidArgument(`The request needs a ${field}, such as "models/gemini-2.5-flash".`);
  return { model, raw, ...(method ? { method: method(doc) } : {}) };
}

function createTarget(
  surface: "gemini" | "vertex",
  version: string,
  scope: ClientScope,
  method: string,
  decodeBody: (raw: Buffer) => DecodedBody,
  enc: ResponseEncoder,
): RouteTarget {
  const apiVersion =
    surface === "gemini"
      ? version === "v1beta"
        ? "v1beta1"
        : undefined
      : version === "v1" || version === "v1beta1"
        ? version
        : undefined;
  return { surface, version, apiVersion, method, model: undefined, encoder: enc, decodeBody, scope };
}

const DEVELOPER = /^\/(v1beta)\/(cachedContents|interactions|batches)(?:\/([^/:]+)(?:(?:\/|:)(cancel))?)?$/;
const VERTEX =
  /^\/(v1|v1beta1)\/(projects\/[^/]+\/locations\/[^/]+)\/(cachedContents|interactions|batchPredictionJobs)(?:\/([^/:]+)(?:(?:\/|:)(cancel))?)?$/;

export interface ResourceSurface {
  /** Handles the request when its path is a resource path; false otherwise. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
}

export function createResourceSurface(o: {
  handleModelCall: ModelCallHandler;
  runLight: LightRunner;
}): ResourceSurface {
  return {
    handle(req, res) {
      const url = req.url ?? "/";
      const q = url.indexOf("?");
      const path = q < 0 ? url : url.slice(0, q);
      let m = DEVELOPER.exec(path);
      let scope: ClientScope;
      let version: string;
      let collection: string;
      let id: string | undefined;
      let action: string | undefined;
      if (m) {
        scope = { api: "developer", parent: undefined };
        [version, collection, id, action] = [m[1]!, m[2]!, m[3], m[4]];
      } else {
        m = VERTEX.exec(path);
        if (!m) return false;
        scope = { api: "vertex", parent: m[2]! };
        [version, collection, id, action] = [m[1]!, m[3]!, m[4], m[5]];
      }
      const surface = scope.api === "developer" ? "gemini" : "vertex";
      const verb = req.method ?? "";
      if (id !== undefined) {
        try {
          id = decodeURIComponent(id);
        } catch {
          writeError(res, errors.invalidArgument("The request URL could not be parsed."));
          return true;
        }
      }
      const light = (operation: string, handler: LightHandler) => void o.runLight(req, res, scope, operation, handler);
      const refuse = (err: GatewayError) => void writeError(res, err);

      if (collection === "cachedContents") {
        if (action) return (refuse(errors.notFound(`${verb} ${path}`)), true);
        if (id === undefined) {
          if (verb === "GET") return (light("cachedContents.list", listCaches), true);
          if (verb !== "POST") return (refuse(errors.methodNotAllowed(verb)), true);
          let model = "";
          const target = createTarget(
            surface,
            version,
            scope,
            "cachedContents.create",
            (raw) => {
              const d = modelFromBody(raw, "model");
              model = d.model;
              return d;
            },
            encoder((body) => {
              const doc = parseObject(body.toString("utf8"));
              return doc ? Buffer.from(JSON.stringify(cacheForClient(doc, scope, model))) : body;
            }),
          );
          void o.handleModelCall(req, res, target);
          return true;
        }
        const name = scope.api === "vertex" ? `${scope.parent}/cachedContents/${id}` : `cachedContents/${id}`;
        if (verb === "GET" || verb === "PATCH" || verb === "DELETE") {
          return (light(`cachedContents.${verb.toLowerCase()}`, cacheHandler(name, verb)), true);
        }
        return (refuse(errors.methodNotAllowed(verb)), true);
      }

      if (collection === "interactions") {
        if (id === undefined) {
          if (verb !== "POST") return (refuse(errors.methodNotAllowed(verb)), true);
          const target = createTarget(
            surface,
            version,
            scope,
            "interactions.create",
            (raw) =>
              modelFromBody(raw, "model", (doc) =>
                doc.stream === true ? "interactions.stream" : "interactions.create",
              ),
            encoder(),
          );
          void o.handleModelCall(req, res, target);
          return true;
        }
        if (action === "cancel") {
          return verb === "POST"
            ? (light("interactions.cancel", interactionHandler(id, "cancel")), true)
            : (refuse(errors.methodNotAllowed(verb)), true);
        }
        if (verb === "GET") return (light("interactions.get", interactionHandler(id, "get")), true);
        if (verb === "DELETE") return (light("interactions.delete", interactionHandler(id, "delete")), true);
        return (refuse(errors.methodNotAllowed(verb)), true);
      }

      // batches (Developer) / batchPredictionJobs (Vertex)
      if (id === undefined) {
        if (verb === "GET") return (light("batches.list", listBatches), true);
        if (verb === "POST" && scope.api === "vertex") {
          const target = createTarget(
            surface,
            version,
            scope,
            "batchPredictionJobs.create",
            (raw) => modelFromBody(raw, "model"),
            encoder(),
          );
          void o.handleModelCall(req, res, target);
          return true;
        }
        // The Batch API creates at models/{m}:batchGenerateContent (a model path: surfaces/gemini.ts).
        return (refuse(errors.methodNotAllowed(verb)), true);
      }
      const name = scope.api === "vertex" ? `${scope.parent}/batchPredictionJobs/${id}` : `batches/${id}`;
      if (action === "cancel") {
        return verb === "POST"
          ? (light("batches.cancel", batchHandler(name, "cancel")), true)
          : (refuse(errors.methodNotAllowed(verb)), true);
      }
      if (verb === "GET") return (light("batches.get", batchHandler(name, "get")), true);
      if (verb === "DELETE") return (light("batches.delete", batchHandler(name, "delete")), true);
      return (refuse(errors.methodNotAllowed(verb)), true);
    },
  };
}
