/**
 * The route table: every path the gateway answers, in one place. Model calls from both API surfaces decode into a
 * RouteTarget and go to the one pipeline; health routes answer Cloud Run's probes. Express conveniences that cost
 * on the hot path (ETag, body parsers, res.json) are left out: handlers write to the node response directly.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import express, { type NextFunction, type Request, type Response } from "express";
import type { ModelCallHandler } from "../pipeline/pipeline.js";
import { writeError } from "../pipeline/pipeline.js";
import type { Surface } from "../pipeline/call.js";
import { errors, GatewayError } from "../wire/errors.js";

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

export function createApp(handleModelCall: ModelCallHandler, readiness: readonly ReadinessCheck[]): RequestListener {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);

  const modelCall = (surface: Surface) => (req: Request, res: Response) =>
    handleModelCall(req, res, {
      surface,
      version: String(req.params.version),
      modelAndMethod: String(req.params.modelAndMethod),
      alt: typeof req.query.alt === "string" ? req.query.alt : undefined,
    });

  // Gemini Developer API: /{v1|v1beta}/models/{model}:{method}
  app.post("/:version/models/:modelAndMethod", modelCall("gemini"));
  // Vertex AI: /{v1|v1beta1}/projects/{p}/locations/{l}/publishers/google/models/{model}:{method}, with or without
  // the project prefix. The client's project and location are placeholders: the gateway uses its own.
  app.post(
    "/:version/projects/:project/locations/:location/publishers/google/models/:modelAndMethod",
    modelCall("vertex"),
  );
  app.post("/:version/publishers/google/models/:modelAndMethod", modelCall("vertex"));

  app.get("/healthz", (_req, res) => writeJson(res, 200, { status: "ok" }));
  app.get("/readyz", (_req, res) => {
    const checks: Record<string, string> = {};
    let ready = true;
    for (const check of readiness) {
      const problem = check.problem();
      checks[check.name] = problem ?? "ok";
      if (problem) ready = false;
    }
    writeJson(res, ready ? 200 : 503, { status: ready ? "ready" : "not ready", checks });
  });

  // Model paths with another HTTP verb, then everything else: Gemini-shaped 405/404, never express's HTML page.
  app.all(
    ["/:version/models/:modelAndMethod", "/:version/projects/*rest", "/:version/publishers/*rest"],
    (req: Request, res: Response) => writeError(res, errors.methodNotAllowed(req.method)),
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
    app(req, res);
  };
}

function writeJson(res: Response, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=UTF-8",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}
