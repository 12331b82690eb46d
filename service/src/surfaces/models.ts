/**
 * The model reads: what `ai.models.list()` and `ai.models.get()` call, in both SDK modes (checked against
 * `@google/genai` 2.32: `listInternal`, `get`, `tModelsUrl`, `shouldPrependVertexProjectPath`):
 *
 *   GET /{v1|v1beta}/models[?pageSize&pageToken]                     Developer API models.list → {models, nextPageToken}
 *   GET /{v1|v1beta}/models/{model}                                 Developer API models.get  → Model
 *   GET /{v1|v1beta1}/publishers/google/models[?pageSize&pageToken]  Vertex publishers.models.list → {publisherModels, …}
 *   GET /{v1|v1beta1}/publishers/google/models/{model}              Vertex publishers.models.get  → PublisherModel
 *
 * (The SDK in Vertex mode reads base models without the project prefix: Vertex takes none there.) Answered from the
 * model catalogue (wire/models.ts) — no upstream call, no admission, no usage; only the models the gateway serves and
 * the caller's tenant may use are listed. Authenticated with the gateway key like model calls: 401 without a valid
 * key, 403 for a served model the tenant may not use, 404 for a model the gateway does not serve. Not in the audit
 * log (which records model calls and what they cost): each read is a debug log line (docs/lifecycle.md).
 *
 * Paging as the Developer API documents it (ai.google.dev/api/models): `pageSize` 50 by default, at most 1000; the
 * page token is opaque (an offset here) and must come from the previous page.
 */
import type { Request, Response } from "express";
import { writeError, writeJson } from "../http/write.js";
import type { Keyring } from "../pipeline/authenticate.js";
import { operationsServing } from "../pipeline/operations.js";
import type { Logger } from "../telemetry/logger.js";
import { errors, toGatewayError } from "../wire/errors.js";
import type { Tenant } from "../config/tenants.js";
import { MODEL_ID_PATTERN } from "../wire/gemini.js";
import { modelInfo } from "../wire/models.js";

export interface ModelReadsOptions {
  keyring: Keyring;
  /** The models the gateway serves (GATEWAY_MODELS), in order. */
  served: readonly string[];
  logger?: Logger;
}

type Api = "developer" | "vertex";
type Handler = (req: Request, res: Response) => void;

export interface ModelReads {
  list(api: Api): Handler;
  get(api: Api): Handler;
}

const VERSIONS: Record<Api, ReadonlySet<string>> = {
  developer: new Set(["v1", "v1beta"]),
  vertex: new Set(["v1", "v1beta1"]),
};

const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 1000;

export function createModelReads(o: ModelReadsOptions): ModelReads {
  /** Runs a read: version check, authentication, the answer or the error; one debug line either way. */
  const read =
    (api: Api, answer: (req: Request, tenant: Tenant) => unknown): Handler =>
    (req, res) => {
      let tenant: string | undefined;
      let status = 200;
      try {
        const version = String(req.params.version);
        if (!VERSIONS[api].has(version)) throw errors.notFound(`API version "${version.slice(0, 32)}"`);
        const { tenant: t } = o.keyring.authenticate(req.headers, req.rawHeaders);
        tenant = t.id;
        writeJson(res, 200, answer(req, t));
      } catch (err) {
        const e = toGatewayError(err);
        status = e.httpCode;
        writeError(res, e);
      }
      o.logger?.debug({ requestId: res.getHeader("x-request-id"), tenant, path: req.path, status }, "model read");
    };

  const list = (api: Api): Handler =>
    read(api, (req, tenant) => {
      const models = o.served.filter((m) => allowedFor(tenant, m));
      const { offset, size } = page(req);
      const slice = models.slice(offset, offset + size);
      const next = offset + size < models.length ? Buffer.from(String(offset + size)).toString("base64url") : undefined;
      const items = slice.map((m) => (api === "developer" ? developerModel(m) : publisherModel(m)));
      return {
        [api === "developer" ? "models" : "publisherModels"]: items,
        ...(next === undefined ? {} : { nextPageToken: next }),
      };
    });

  const get = (api: Api): Handler =>
    read(api, (req, tenant) => {
      const model = String(req.params.model);
      if (model.includes(":")) throw errors.methodNotAllowed("GET"); // a model call's path: POST only
      if (!MODEL_ID_PATTERN.test(model) || !o.served.includes(model)) throw errors.unknownModel(model);
      if (!allowedFor(tenant, model)) throw errors.modelNotAllowed(tenant.id, model);
      return api === "developer" ? developerModel(model) : publisherModel(model);
    });

  return { list, get };
}

function allowedFor(tenant: Tenant, model: string): boolean {
  return !tenant.models || tenant.models.has(model);
}

/** `pageSize` and `pageToken`: 400 for a size that is not a non-negative integer or a token not from a page. */
function page(req: Request): { offset: number; size: number } {
  const q = new URLSearchParams(req.url.includes("?") ? req.url.slice(req.url.indexOf("?") + 1) : "");
  const sizeText = q.get("pageSize");
  let size = DEFAULT_PAGE_SIZE;
  if (sizeText !== null && sizeText !== "") {
    if (!/^\d{1,9}$/.test(sizeText)) {
      throw errors.invalidArgument(`pageSize must be a non-negative integer, got "${sizeText.slice(0, 20)}".`);
    }
    size = Math.min(MAX_PAGE_SIZE, Number(sizeText) || DEFAULT_PAGE_SIZE);
  }
  const token = q.get("pageToken");
  let offset = 0;
  if (token) {
    const decoded = Buffer.from(token, "base64url").toString("utf8");
    if (!/^\d{1,6}$/.test(decoded)) throw errors.invalidArgument("pageToken is not a token from a previous page.");
    offset = Number(decoded);
  }
  return { offset, size };
}

/** The Developer API's Model resource. */
function developerModel(model: string): Record<string, unknown> {
  const info = modelInfo(model);
  const serving = operationsServing(model) as string[];
  if (!info) {
    // Served (GATEWAY_MODELS) but not in the catalogue: its id, and the methods the gateway serves for it.
    return {
      name: `models/${model}`,
      baseModelId: model,
      version: "",
      displayName: model,
      supportedGenerationMethods: serving.filter((m) => m !== "predict" && m !== "streamGenerateContent"),
    };
  }
  const out: Record<string, unknown> = {
    name: `models/${model}`,
    baseModelId: model,
    version: info.version,
    displayName: info.displayName,
    description: info.description,
    inputTokenLimit: info.inputTokenLimit,
    outputTokenLimit: info.outputTokenLimit,
    // Google's list, less what this gateway does not serve.
    supportedGenerationMethods: info.supportedGenerationMethods.filter((m) => serving.includes(m)),
  };
  for (const key of ["temperature", "maxTemperature", "topP", "topK", "thinking"] as const) {
    if (info[key] !== undefined) out[key] = info[key];
  }
  return out;
}

/** Vertex's PublisherModel (the fields a BASIC view carries: name, version, category, launch stage). */
function publisherModel(model: string): Record<string, unknown> {
  const info = modelInfo(model);
  return {
    name: `publishers/google/models/${model}`,
    versionId: info?.version || "default",
    openSourceCategory: "PROPRIETARY",
    launchStage: info?.launchStage ?? "GA",
  };
}
