/**
 * Secret Manager, as far as the gateway uses it: the REST (v1) subset that `@google-cloud/secret-manager`'s REST
 * transport calls to keep the managed keys document (service/src/keys/), so that development and tests run the real
 * client against a real HTTP server.
 *
 *   POST /v1/projects/{p}/secrets?secretId={s}                    secrets.create
 *   GET  /v1/projects/{p}/secrets/{s}                             secrets.get
 *   POST /v1/projects/{p}/secrets/{s}:addVersion                  {"payload":{"data":base64}} → SecretVersion
 *   GET  /v1/projects/{p}/secrets/{s}/versions/{n|latest}:access  {"name","payload":{"data"}}
 *   GET  /v1/projects/{p}/secrets/{s}/versions                    {"versions":[…newest first],"totalSize"}
 *
 * No credentials are checked (the gateway sends none to an emulator). Versions are numbered from 1 per secret and
 * live in memory. Errors are Google's envelope with the canonical status, which the client maps to its error codes.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

interface Version {
  n: number;
  data: Buffer;
  createTime: string;
}

interface Secret {
  name: string;
  createTime: string;
  versions: Version[];
}

const SECRETS = /^\/v1\/projects\/([^/]+)\/secrets$/;
const SECRET = /^\/v1\/projects\/([^/]+)\/secrets\/([^/:]+)(:addVersion)?$/;
const VERSIONS = /^\/v1\/projects\/([^/]+)\/secrets\/([^/]+)\/versions$/;
const ACCESS = /^\/v1\/projects\/([^/]+)\/secrets\/([^/]+)\/versions\/(latest|\d+):access$/;
const SECRET_ID = /^[A-Za-z0-9_-]{1,255}$/;

export class SecretStore {
  private readonly secrets = new Map<string, Secret>();

  /** True when the path is Secret Manager's; then the request has been answered. */
  static owns(path: string): boolean {
    return /^\/v1\/projects\/[^/]+\/secrets(\/|$|:)/.test(path);
  }

  clear(): void {
    this.secrets.clear();
  }

  /** Every version's bytes of a secret, oldest first (tests read what the gateway stored). */
  versions(name: string): Buffer[] {
    return (this.secrets.get(name)?.versions ?? []).map((v) => v.data);
  }

  handle(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams, body: Buffer): void {
    const method = req.method ?? "";
    let m = SECRETS.exec(path);
    if (m) {
      if (method !== "POST") return fail(res, 405, "INVALID_ARGUMENT", `Method ${method} not allowed.`);
      const id = query.get("secretId") ?? "";
      if (!SECRET_ID.test(id)) return fail(res, 400, "INVALID_ARGUMENT", "secretId is invalid.");
      const name = `projects/${m[1]}/secrets/${id}`;
      if (this.secrets.has(name)) return fail(res, 409, "ALREADY_EXISTS", `Secret [${name}] already exists.`);
      const secret: Secret = { name, createTime: new Date().toISOString(), versions: [] };
      this.secrets.set(name, secret);
      return json(res, 200, { name, createTime: secret.createTime, replication: { automatic: {} } });
    }
    m = ACCESS.exec(path);
    if (m) {
      if (method !== "GET") return fail(res, 405, "INVALID_ARGUMENT", `Method ${method} not allowed.`);
      const secret = this.secret(res, m[1]!, m[2]!);
      if (!secret) return;
      const v = m[3] === "latest" ? secret.versions.at(-1) : secret.versions[Number(m[3]) - 1];
      if (!v) return fail(res, 404, "NOT_FOUND", `Secret Version [${secret.name}/versions/${m[3]}] not found.`);
      return json(res, 200, { name: `${secret.name}/versions/${v.n}`, payload: { data: v.data.toString("base64") } });
    }
    m = VERSIONS.exec(path);
    if (m) {
      if (method !== "GET") return fail(res, 405, "INVALID_ARGUMENT", `Method ${method} not allowed.`);
      const secret = this.secret(res, m[1]!, m[2]!);
      if (!secret) return;
      const versions = [...secret.versions].reverse().map((v) => versionOf(secret, v));
      return json(res, 200, { versions, totalSize: versions.length });
    }
    m = SECRET.exec(path);
    if (m) {
      const secret = this.secret(res, m[1]!, m[2]!);
      if (!secret) return;
      if (!m[3]) {
        if (method !== "GET") return fail(res, 405, "INVALID_ARGUMENT", `Method ${method} not allowed.`);
        return json(res, 200, { name: secret.name, createTime: secret.createTime, replication: { automatic: {} } });
      }
      if (method !== "POST") return fail(res, 405, "INVALID_ARGUMENT", `Method ${method} not allowed.`);
      let data: Buffer;
      try {
        const parsed = JSON.parse(body.toString("utf8")) as { payload?: { data?: unknown } };
        if (typeof parsed.payload?.data !== "string") throw new Error("payload.data");
        data = Buffer.from(parsed.payload.data, "base64");
      } catch {
        return fail(res, 400, "INVALID_ARGUMENT", "payload.data must be base64.");
      }
      // Secret Manager's limit per version.
      if (data.length > 64 * 1024) return fail(res, 400, "INVALID_ARGUMENT", "Secret payload is over 64 KiB.");
      const v: Version = { n: secret.versions.length + 1, data, createTime: new Date().toISOString() };
      secret.versions.push(v);
      return json(res, 200, versionOf(secret, v));
    }
    fail(res, 404, "NOT_FOUND", `No route for ${path.slice(0, 200)}.`);
  }

  private secret(res: ServerResponse, project: string, id: string): Secret | undefined {
    const name = `projects/${project}/secrets/${decodeURIComponent(id)}`;
    const secret = this.secrets.get(name);
    if (!secret) fail(res, 404, "NOT_FOUND", `Secret [${name}] not found or has no versions.`);
    return secret;
  }
}

function versionOf(secret: Secret, v: Version) {
  return { name: `${secret.name}/versions/${v.n}`, createTime: v.createTime, state: "ENABLED" };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=UTF-8",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

function fail(res: ServerResponse, code: number, status: string, message: string): void {
  json(res, code, { error: { code, message, status } });
}
