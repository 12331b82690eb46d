/**
 * The console's paths (docs/console.md). Pages and assets need a console session; only the login page and its
 * stylesheet answer without one. The data the pages show comes from the admin endpoints (surfaces/routes.ts), which
 * accept the same session — the console has no data paths of its own.
 *
 *   GET  /console/login, /console/login.css     the login form (public)
 *   POST /console/login                         form field `key` = the admin key → session cookie, 303 to /console/
 *   POST /console/logout                        ends the session on every instance (CSRF token required)
 *   GET  /console/session                       {"csrfToken","expiresAt","actor"} for the page's scripts
 *   GET  /console/, /console/{asset}            the console (session required; otherwise 303 to login, or 401)
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Express, Request, Response } from "express";
import { guarded as guardedBy, type AsyncHandler } from "../http/guarded.js";
import { writeError, writeJson } from "../http/write.js";
import { storeAwareError } from "../store/store.js";
import { errors, GatewayError } from "../wire/errors.js";
import {
  cookieOf,
  crossSite,
  CSRF_HEADER,
  forbidden,
  isAdminKey,
  SESSION_COOKIE,
  type AdminAuth,
} from "./admin-auth.js";
import { PUBLIC_ASSETS, type Asset } from "./assets.js";
import { setConsoleHeaders } from "./headers.js";
import { csrfMatches, csrfTokenOf, type SessionStore } from "./session.js";

export interface ConsoleDeps {
  /** undefined: no admin key configured, and /console answers 404 naming the setting. */
  adminKeySha256: string | undefined;
  sessions: SessionStore;
  auth: AdminAuth;
  assets: ReadonlyMap<string, Asset>;
}

const LOGIN_MAX_BYTES = 4 * 1024;
const LOGIN_TIMEOUT_MS = 10_000;
/** A refused login waits this long: the admin key is random, but nothing is gained by answering guesses quickly. */
const FAILED_LOGIN_DELAY_MS = 300;
const FAILED_MARK = "<!--login-failed-->";

/** The login form's body (a few hundred bytes): 413 above 4 KiB, 408 when it has not arrived in 10 s. */
function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => done(errors.bodyTimeout(LOGIN_TIMEOUT_MS)), LOGIN_TIMEOUT_MS);
    const done = (err?: GatewayError) => {
      clearTimeout(timer);
      req.removeAllListeners("data");
      if (err) reject(err);
      else resolve(new URLSearchParams(Buffer.concat(chunks).toString("utf8")));
    };
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > LOGIN_MAX_BYTES) done(errors.payloadTooLarge(LOGIN_MAX_BYTES));
      else chunks.push(chunk);
    });
    req.once("end", () => done());
    req.once("error", () => done(errors.clientClosed()));
  });
}

/** https as the client sees it: directly, or behind Cloud Run's / the load balancer's TLS front end. */
function isHttps(req: IncomingMessage): boolean {
  const proto = req.headers["x-forwarded-proto"];
  return (req.socket as { encrypted?: boolean }).encrypted === true || proto === "https";
}

export function sessionCookie(req: IncomingMessage, value: string, maxAgeSeconds: number): string {
  // Path=/: the admin endpoints (/admin/*) read the same session. Secure whenever the client reached us over https.
  return [
    `${SESSION_COOKIE}=${value}`,
    "Path=/",
    "HttpOnly",
    "SameSite=Strict",
    `Max-Age=${maxAgeSeconds}`,
    ...(isHttps(req) ? ["Secure"] : []),
  ].join("; ");
}

function sendAsset(res: ServerResponse, asset: Asset, status = 200, body: Buffer = asset.body): void {
  res.writeHead(status, { "content-type": asset.contentType, "content-length": body.length });
  res.end(body);
}

/** Not logged in: a page navigation goes to the login form; anything else (a script, a fetch) is a 401. */
function refuse(req: Request, res: Response): void {
  const wantsPage = req.method === "GET" && (req.headers.accept ?? "").includes("text/html");
  if (wantsPage) res.redirect(303, "/console/login");
  else writeError(res, new GatewayError(401, "UNAUTHENTICATED", "Log in to the console first (/console/login)."));
}

export function mountConsole(app: Express, deps: ConsoleDeps): void {
  const { sessions, auth, assets } = deps;
  const loginPage = assets.get("login.html")!;
  const failedPage = Buffer.from(
    loginPage.body
      .toString("utf8")
      .replace(FAILED_MARK, '<p class="error" role="alert">That is not the admin key.</p>'),
  );

  app.use("/console", (req, res, next) => {
    setConsoleHeaders(res);
    if (!deps.adminKeySha256) {
      writeError(
        res,
        errors.notFound(`${req.method} ${req.originalUrl.split("?")[0]} (set GATEWAY_ADMIN_KEY_SHA256 to enable it)`),
      );
      return;
    }
    next();
  });

  /** Runs a handler; a store outage (sessions live there) is a 503 in the envelope, never a 500. */
  const guarded = (handler: AsyncHandler): AsyncHandler => guardedBy(handler, storeAwareError);

  // express matches "/console" and "/console/" alike (non-strict routing): the bare one is sent to the folder, so the
  // page's relative module paths resolve under /console/.
  app.get(
    "/console",
    guarded(async (req, res) => {
      if (!req.originalUrl.split("?")[0]!.endsWith("/")) return res.redirect(301, "/console/");
      if (!(await auth.session(req))) return refuse(req, res);
      sendAsset(res, assets.get("index.html")!);
    }),
  );
  app.get(
    "/console/login",
    guarded(async (req, res) => {
      if (await auth.session(req)) return res.redirect(303, "/console/");
      sendAsset(res, loginPage);
    }),
  );
  app.get("/console/login.css", (_req, res) => sendAsset(res, assets.get("login.css")!));

  app.post(
    "/console/login",
    guarded(async (req, res) => {
      if (crossSite(req.headers)) return void writeError(res, forbidden.crossSite());
      const type = req.headers["content-type"] ?? "";
      if (!type.startsWith("application/x-www-form-urlencoded")) {
        return void writeError(res, errors.invalidArgument("Send the login form (application/x-www-form-urlencoded)."));
      }
      const key = (await readForm(req)).get("key") ?? "";
      if (!key || !isAdminKey(key, deps.adminKeySha256!)) {
        await new Promise((resolve) => setTimeout(resolve, FAILED_LOGIN_DELAY_MS));
        return sendAsset(res, loginPage, 401, failedPage);
      }
      const { id } = await sessions.create();
      res.setHeader("set-cookie", sessionCookie(req, id, Math.floor(sessions.ttlMs / 1000)));
      res.redirect(303, "/console/");
    }),
  );

  app.post(
    "/console/logout",
    guarded(async (req, res) => {
      const id = cookieOf(req.headers, SESSION_COOKIE);
      const who = await auth.session(req);
      if (!who || !id) return refuse(req, res);
      const token = req.headers[CSRF_HEADER];
      if (crossSite(req.headers) || !csrfMatches(id, typeof token === "string" ? token : undefined)) {
        return void writeError(res, forbidden.csrf());
      }
      await sessions.destroy(id);
      res.setHeader("set-cookie", sessionCookie(req, "", 0));
      res.status(204).end();
    }),
  );

  app.get(
    "/console/session",
    guarded(async (req, res) => {
      const id = cookieOf(req.headers, SESSION_COOKIE);
      const found = id && (await sessions.find(id));
      if (!id || !found) return refuse(req, res);
      writeJson(res, 200, {
        csrfToken: csrfTokenOf(id),
        expiresAt: new Date(found.expiresAt).toISOString(),
        actor: `console:${found.digest.slice(0, 8)}`,
      });
    }),
  );

  app.get(
    "/console/*path",
    guarded(async (req, res) => {
      if (!(await auth.session(req))) return refuse(req, res);
      const path = (req.params as { path: string[] }).path.join("/") || "index.html";
      const asset = PUBLIC_ASSETS.has(path) ? undefined : assets.get(path);
      if (!asset) return void writeError(res, errors.notFound(`GET /console/${path.slice(0, 100)}`));
      sendAsset(res, asset);
    }),
  );
  app.all("/console/*path", (req, res) => writeError(res, errors.methodNotAllowed(req.method)));
}
