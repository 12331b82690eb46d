/**
 * The route table: every path the gateway answers, in one place.
 *
 *   POST /{v1|v1beta}/models/{model}:{method}                                        Gemini Developer API
 *   POST /{v1|v1beta1}/projects/{p}/locations/{l}/publishers/google/models/{m}:{method}   Vertex AI
 *   POST /{v1|v1beta1}/publishers/google/models/{m}:{method}                         Vertex AI, no project prefix
 *   GET  /{v1|v1beta}/models[/{m}]                                                   model reads, Developer API
 *   GET  /{v1|v1beta1}/publishers/google/models[/{m}]                                model reads, Vertex AI
 *   GET  /healthz, GET /readyz                                                       Cloud Run probes
 *   GET  /metrics                                                                    Prometheus, admin key only
 *   GET  /admin/usage?period=day|month                                               usage and spend, admin key only
 *   GET  /admin/budget, POST /admin/budget/reset                                     budget kill switch, admin key only
 *   GET  /admin/summary                                                              this instance's requests, errors,
 *                                                                                    latency percentiles, upstream calls,
 *                                                                                    retries, circuits (console/summary.ts)
 *   GET  /admin/resources[?tenant=ID]                                                tenants' caches, interactions, batch
 *                                                                                    jobs (ownership registry)
 *   /console/…                                                                       the operator console (console/routes.ts)
 *   POST /internal/budget-alerts                                                     budget alerts (Pub/Sub push, OIDC)
 *   POST /v1beta/openai/chat/completions, POST /v1beta/openai/embeddings             OpenAI-compatible surface
 *   GET  /v1beta/openai/models[/{m}]                                                 its models, OpenAI's shape
 *   /v1beta/{cachedContents,interactions,batches}…, /{v}/projects/{p}/locations/{l}/{cachedContents,interactions,
 *   batchPredictionJobs}…                                                             tenant-owned resources (resources.ts)
 *   POST /v1beta/prompts/{ref}:{method}, POST /v1beta/feedback, /admin/prompts…      prompt templates (prompts/)
 *   GET/POST /admin/keys, POST /admin/keys/{id}/rotate|revoke                        key lifecycle (keys.ts)
 *   GET  /admin/tenants                                                              tenants, limits, use (tenants.ts)
 *
 * "admin key only" (adminOnly): the admin key as `Authorization: Bearer`, or a console session cookie — with the
 * session's CSRF token in `x-csrf-token` on anything but GET/HEAD (console/admin-auth.ts). `res.locals.adminActor` then
 * names the caller for audit records: `admin-key`, or `console:<8 hex of the session id's SHA-256>`.
 *
 * Model calls decode into a RouteTarget and go to the one pipeline. They are matched by three regular expressions (and
 * the OpenAI surface's two paths, openai/surface.ts) before express sees the request: express's router and request
 * decoration cost ~110 µs of CPU per call on this machine, more than all the gateway's own stages (docs/benchmarks.md).
 * express answers everything else: probes, 405 for other verbs on model paths, 404s, and router-level errors, all as
 * Gemini error envelopes.
 */
import { randomUUID } from "node:crypto";
import { STATUS_CODES, type IncomingMessage, type RequestListener, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import express, { type NextFunction, type Request, type Response } from "express";
import type { ModelCallHandler } from "../pipeline/pipeline.js";
import { writeError, writeJson } from "../http/write.js";
import type { RouteTarget } from "../pipeline/call.js";
import type { PromptResolver } from "../prompts/resolve.js";
import { geminiTarget } from "./gemini.js";
import type { ModelReads } from "./models.js";
import { errors, GatewayError } from "../wire/errors.js";
import { writeMetrics } from "../telemetry/metrics-endpoint.js";
import { createAdminAuth } from "../console/admin-auth.js";
import type { Asset } from "../console/assets.js";
import { mountConsole } from "../console/routes.js";
import type { SessionStore } from "../console/session.js";
import type { AdminSummary } from "../console/summary.js";
import { tenantResources } from "../console/resources-read.js";
import type { ResourceRegistry } from "../store/store.js";
import type { Registry } from "prom-client";
import type { UsageLedger } from "../accounting/usage.js";
import { storeAwareError } from "../store/store.js";
import { BUDGET_ALERTS_PATH } from "./budget-alerts.js";
import type { BudgetSwitch } from "../budget/kill-switch.js";
import { writeOpenAIError } from "./openai/error-shape.js";
import type { OpenAIModelsHandler } from "./openai/models.js";
import type { ResourceSurface } from "./resources.js";
import {
  OPENAI_CHAT_PATH,
  OPENAI_EMBEDDINGS_PATH,
  OPENAI_PREFIX,
  openaiChatTarget,
  openaiEmbeddingsTarget,
} from "./openai/surface.js";
import { PROMPT_CALL_PATH, promptCallTarget } from "./prompts/surface.js";
import { mountPromptRoutes, type PromptSurface } from "./prompts/routes.js";
import { mountKeyRoutes } from "./keys.js";
import { mountTenantRoutes, type TenantsView } from "./tenants.js";
import type { KeyService } from "../keys/service.js";

export interface ReadinessCheck {
  name: string;
  /** undefined = fine; a string = why this instance should not get traffic. */
  problem(): string | undefined;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** Every response carries x-request-id: the caller's, when it sent a well-formed one, else a fresh UUID. */
export function requestIdOf(req: IncomingMessage, res: ServerResponse): string {
  const incoming = req.headers["x-request-id"];
  const id = typeof incoming === "string" && REQUEST_ID.test(incoming) ? incoming : randomUUID();
  res.setHeader("x-request-id", id);
  return id;
}

export interface AppOptions {
  handleModelCall: ModelCallHandler;
  readiness: readonly ReadinessCheck[];
  /** Shown by /readyz without deciding readiness (e.g. circuit breaker states: an open circuit is routed around). */
  readinessDetails?: () => Record<string, unknown>;
  /** `GET /metrics` on this port, for the admin key only (telemetry/metrics-endpoint.ts). */
  metrics: { registry: Registry; adminKeySha256: string | undefined };
  /** `GET /admin/usage?period=day|month`: tokens and spend per tenant and model, for the admin key only. */
  usage: UsageLedger;
  /** The budget kill switch and its Pub/Sub push endpoint; undefined when not configured (404s naming the setting). */
  budget:
    { budgetSwitch: BudgetSwitch; alerts: (req: IncomingMessage, res: ServerResponse) => Promise<void> } | undefined;
  /** `GET …/models[/{model}]` on both surfaces (models.ts); undefined: those paths answer 405 like other GETs. */
  models?: ModelReads;
  /** `GET /v1beta/openai/models[/{model}]` (surfaces/openai/models.ts); without it those paths answer 404. */
  openaiModels?: OpenAIModelsHandler;
  /** Context caches, interactions and batch jobs on both APIs (resources.ts); without it those paths answer 404. */
  resources?: ResourceSurface;
  /** Prompt templates, experiments and feedback (surfaces/prompts/); without it those paths answer 404. */
  prompts?: PromptSurface;
  /** The operator console (console/): its sessions (admin endpoints accept them too) and files; without it, 404. */
  console?: { sessions: SessionStore; assets: ReadonlyMap<string, Asset> };
  /** `GET /admin/summary` and `GET /admin/resources`; without them those paths answer 404. */
  adminReads?: {
    summary: () => Promise<AdminSummary>;
    resources: ResourceRegistry;
    tenantIds: () => readonly string[];
  };
  /** The key lifecycle's admin API (keys.ts); without it those paths answer 404. */
  keys?: KeyService;
  /** `GET /admin/tenants` (tenants.ts); without it that path answers 404. */
  tenants?: TenantsView;
}

export function createApp(options: AppOptions): RequestListener {
  const { handleModelCall, readiness, metrics, usage, budget } = options;
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);

  // Model calls (POST on the paths in MODEL_CALL_PATHS below) never reach express: see createApp's return.
  app.get("/healthz", (_req, res) => writeJson(res, 200, { status: "ok" }));
  app.get("/readyz", (_req, res) => {
    const checks: Record<string, string> = {};
    let ready = true;
    for (const check of readiness) {
      const problem = check.problem();
      checks[check.name] = problem ?? "ok";
      if (problem) ready = false;
    }
    writeJson(res, ready ? 200 : 503, {
      status: ready ? "ready" : "not ready",
      checks,
      ...(options.readinessDetails ? { details: options.readinessDetails() } : {}),
    });
  });

  // Admin endpoints: 404 until an admin key is configured (naming the setting), 401 without the key or a console
  // session, 403 for a session's change without its CSRF token; 503 when sessions cannot be read (the store is down).
  const adminAuth = metrics.adminKeySha256
    ? createAdminAuth(metrics.adminKeySha256, options.console?.sessions)
    : undefined;
  const adminOnly =
    (howToEnable: string, handler: (req: Request, res: Response) => Promise<void>) =>
    async (req: Request, res: Response) => {
      if (!adminAuth) return void writeError(res, errors.notFound(`${req.method} ${req.path} (${howToEnable})`));
      let who;
      try {
        who = await adminAuth.authorize(req);
      } catch (err) {
        return void writeError(res, storeAwareError(err));
      }
      if (who instanceof GatewayError) return void writeError(res, who);
      res.locals.adminActor = who.actor;
      await handler(req, res);
    };

  if (options.console && adminAuth) {
    mountConsole(app, {
      adminKeySha256: metrics.adminKeySha256,
      sessions: options.console.sessions,
      auth: adminAuth,
      assets: options.console.assets,
    });
  } else if (options.console) {
    app.all(["/console", "/console/*rest"], (req, res) =>
      writeError(res, errors.notFound(`${req.method} ${req.path} (set GATEWAY_ADMIN_KEY_SHA256 to enable it)`)),
    );
  }

  app.get(
    "/metrics",
    adminOnly("serve metrics with GATEWAY_METRICS_PORT or GATEWAY_ADMIN_KEY_SHA256", (_req, res) =>
      writeMetrics(metrics.registry, res),
    ),
  );
  app.get(
    "/admin/usage",
    adminOnly("set GATEWAY_ADMIN_KEY_SHA256 to enable it", async (req, res) => {
      const period = req.query.period ?? "day";
      if (period !== "day" && period !== "month") {
        writeError(res, errors.invalidArgument('period must be "day" or "month".'));
        return;
      }
      try {
        writeJson(res, 200, await usage.summary(period));
      } catch (err) {
        writeError(res, storeAwareError(err));
      }
    }),
  );

  // The budget kill switch: Pub/Sub pushes budget notifications (authenticated by its OIDC token, not the admin key);
  // operators read and reset the state.
  const noBudget = (req: Request, res: Response): void =>
    void writeError(res, errors.notFound(`${req.method} ${req.path} (set GATEWAY_BUDGET_PUSH_AUDIENCE to enable it)`));
  app.all(BUDGET_ALERTS_PATH, (req, res) => (budget ? budget.alerts(req, res) : noBudget(req, res)));
  app.get(
    "/admin/budget",
    adminOnly("set GATEWAY_ADMIN_KEY_SHA256 to enable it", async (req, res) => {
      if (!budget) return noBudget(req, res);
      writeJson(res, 200, { state: budget.budgetSwitch.current() ?? null });
    }),
  );
  app.post(
    "/admin/budget/reset",
    adminOnly("set GATEWAY_ADMIN_KEY_SHA256 to enable it", async (req, res) => {
      if (!budget) return noBudget(req, res);
      try {
        writeJson(res, 200, { state: (await budget.budgetSwitch.reset()) ?? null });
      } catch (err) {
        writeError(res, storeAwareError(err));
      }
    }),
  );

  const reads = options.adminReads;
  if (reads) {
    app.get(
      "/admin/summary",
      adminOnly("set GATEWAY_ADMIN_KEY_SHA256 to enable it", async (_req, res) => {
        writeJson(res, 200, await reads.summary());
      }),
    );
    app.get(
      "/admin/resources",
      adminOnly("set GATEWAY_ADMIN_KEY_SHA256 to enable it", async (req, res) => {
        const all = reads.tenantIds();
        const tenant = req.query.tenant;
        if (tenant !== undefined && typeof tenant !== "string") {
          return void writeError(res, errors.invalidArgument("tenant must be one tenant id."));
        }
        if (tenant !== undefined && !all.includes(tenant)) {
          return void writeError(res, new GatewayError(404, "NOT_FOUND", `No tenant ${tenant.slice(0, 64)}.`));
        }
        try {
          writeJson(res, 200, await tenantResources(reads.resources, tenant === undefined ? all : [tenant]));
        } catch (err) {
          writeError(res, storeAwareError(err));
        }
      }),
    );
  }

  if (options.prompts) mountPromptRoutes(app, options.prompts, adminOnly);
  if (options.keys) mountKeyRoutes(app, options.keys, adminOnly);
  if (options.tenants) mountTenantRoutes(app, options.tenants, adminOnly);

  // The OpenAI-compatible surface: its model list, and OpenAI-shaped 405/404 for everything else under its prefix.
  app.get(`${OPENAI_PREFIX}/models`, (req, res) =>
    options.openaiModels
      ? options.openaiModels(req, res, undefined)
      : writeOpenAIError(res, errors.notFound(`GET ${req.path}`)),
  );
  app.get(`${OPENAI_PREFIX}/models/*model`, (req, res) =>
    options.openaiModels
      ? options.openaiModels(req, res, (req.params as { model: string[] }).model.join("/"))
      : writeOpenAIError(res, errors.notFound(`GET ${req.path}`)),
  );
  app.all(`${OPENAI_PREFIX}/*rest`, (req: Request, res: Response) =>
    writeOpenAIError(
      res,
      req.path === OPENAI_CHAT_PATH || req.path === OPENAI_EMBEDDINGS_PATH
        ? errors.methodNotAllowed(req.method)
        : errors.notFound(`${req.method} ${req.path}`),
    ),
  );

  // Model reads (models.ts): `ai.models.list()` and `ai.models.get()` in both SDK modes.
  if (options.models) {
    const reads = options.models;
    app.get("/:version/models", reads.list("developer"));
    app.get("/:version/models/:model", reads.get("developer"));
    app.get("/:version/publishers/google/models", reads.list("vertex"));
    app.get("/:version/publishers/google/models/:model", reads.get("vertex"));
  }

  // Model paths with another HTTP verb, then everything else (including a POST to a model path that did not match
  // MODEL_CALL_PATHS): Gemini-shaped 405/404, never express's HTML page.
  app.all(
    ["/:version/models/:modelAndMethod", "/:version/projects/*rest", "/:version/publishers/*rest"],
    (req: Request, res: Response, next: NextFunction) =>
      req.method === "POST" ? next() : writeError(res, errors.methodNotAllowed(req.method)),
  );
  app.use((req: Request, res: Response) => writeError(res, errors.notFound(`${req.method} ${req.path}`)));
  // Errors raised by express itself (e.g. a malformed percent-encoding in the path) become 400s.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = (err as { status?: number })?.status;
    writeError(
      res,
      err instanceof GatewayError
        ? err
        : status && status >= 400 && status < 500
          ? errors.invalidArgument("The request URL or headers could not be parsed.")
          : errors.internal(),
    );
  });
  // Set before routing so that even errors raised by the router itself carry the id.
  return (req, res) => {
    requestIdOf(req, res);
    if (options.resources?.handle(req, res)) return;
    const target = req.method === "POST" ? modelCallTarget(req.url ?? "/", options.prompts?.resolver) : undefined;
    if (target === undefined) return void app(req, res);
    if (target instanceof GatewayError) return void writeError(res, target);
    void handleModelCall(req, res, target);
  };
}

/**
 * Model-call paths, matched before express: they are the data plane, and express's router and request decoration
 * cost about a third of a bare route's CPU on this machine (docs/benchmarks.md). express answers every other method
 * and path, including other verbs on these paths (405).
 */
const MODEL_CALL_PATHS: readonly { surface: "gemini" | "vertex"; pattern: RegExp }[] = [
  { surface: "gemini", pattern: /^\/([^/]+)\/models\/([^/]+)$/ },
  {
    surface: "vertex",
    pattern: /^\/([^/]+)\/projects\/[^/]+\/locations\/[^/]+\/publishers\/google\/models\/([^/]+)$/,
  },
  { surface: "vertex", pattern: /^\/([^/]+)\/publishers\/google\/models\/([^/]+)$/ },
];

/**
 * The RouteTarget of a model-call URL; undefined for any other path; a 400 for a malformed percent-encoding. With
 * `prompts`, prompt calls too (`/v1beta/prompts/{ref}:{method}`, and `prompt:{ref}` models on the OpenAI surface).
 */
export function modelCallTarget(url: string, prompts?: PromptResolver): RouteTarget | GatewayError | undefined {
  const q = url.indexOf("?");
  const path = q < 0 ? url : url.slice(0, q);
  for (const { surface, pattern } of MODEL_CALL_PATHS) {
    const m = pattern.exec(path);
    if (!m) continue;
    try {
      const alt = q < 0 ? null : new URLSearchParams(url.slice(q + 1)).get("alt");
      return geminiTarget(surface, decodeURIComponent(m[1]!), decodeURIComponent(m[2]!), alt ?? undefined);
    } catch {
      return errors.invalidArgument("The request URL or headers could not be parsed.");
    }
  }
  // After the Gemini paths, so that they pay nothing for it: one string comparison on a miss.
  if (path === OPENAI_CHAT_PATH) return openaiChatTarget(prompts);
  if (path === OPENAI_EMBEDDINGS_PATH) return openaiEmbeddingsTarget();
  const prompt = prompts && PROMPT_CALL_PATH.exec(path);
  if (prompt) {
    try {
      const alt = q < 0 ? null : new URLSearchParams(url.slice(q + 1)).get("alt");
      return promptCallTarget(decodeURIComponent(prompt[1]!), alt ?? undefined, prompts);
    } catch {
      return errors.invalidArgument("The request URL or headers could not be parsed.");
    }
  }
  return undefined;
}

/**
 * Errors node's HTTP parser raises before a request reaches the app (`clientError`): headers that did not arrive
 * within GATEWAY_HEADERS_TIMEOUT_MS, unparseable HTTP, oversized headers. Answered in Google's error envelope, like
 * everything else, then the connection closes (what remains on it cannot be trusted). node's default would write a
 * bare status line.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  // A response already under way on this connection (node's own check): nothing more can be written to it.
  const inProgress = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
  if (err.code === "ECONNRESET" || !socket.writable || inProgress) {
    socket.destroy();
    return;
  }
  const error =
    err.code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? new GatewayError(408, "DEADLINE_EXCEEDED", "The request's headers did not arrive in time.")
      : err.code === "HPE_HEADER_OVERFLOW"
        ? new GatewayError(431, "INVALID_ARGUMENT", "The request's headers are too large.")
        : errors.invalidArgument("The request could not be parsed as HTTP/1.1.");
  const body = JSON.stringify(error.toEnvelope());
  socket.end(
    `HTTP/1.1 ${error.httpCode} ${STATUS_CODES[error.httpCode] ?? "Error"}\r\n` +
      "Content-Type: application/json; charset=UTF-8\r\n" +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
