/**
 * Cloud Storage, as the emulator's batch jobs need it: the subset of the GCS JSON API that `@google-cloud/storage`
 * uses to write, read, list and delete objects — so that the gateway stages batch inputs with the real client library
 * and the emulator's batch prediction reads them and writes its results, as Vertex AI does with a real bucket
 * (docs/decisions/0021-cloud-storage-in-tests.md says why the emulator serves it).
 *
 *   POST   /upload/storage/v1/b/{bucket}/o?uploadType=multipart|media|resumable&name=…   write (resumable: then PUT)
 *   PUT    /upload/storage/v1/b/{bucket}/o?uploadType=resumable&upload_id=…              the resumable upload's bytes
 *   GET    /storage/v1/b/{bucket}/o/{object}[?alt=media]                                    metadata, or the bytes
 *   GET    /download/storage/v1/b/{bucket}/o/{object}?alt=media                            the bytes
 *   GET    /storage/v1/b/{bucket}/o?prefix=&pageToken=&maxResults=                          list
 *   DELETE /storage/v1/b/{bucket}/o/{object}                                                delete
 *
 * Buckets exist once written to; objects live in memory until reset. Each object carries its MD5 and CRC32C (the
 * client checks them), and every response Google's `x-goog-hash` header.
 */
import { createHash, randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

export interface StoredObject {
  bucket: string;
  name: string;
  data: Buffer;
  contentType: string;
  generation: string;
  created: string;
}

export class ObjectStore {
  private readonly objects = new Map<string, StoredObject>();
  private readonly uploads = new Map<string, { bucket: string; name: string; contentType: string; chunks: Buffer[] }>();
  private generation = Date.now() * 1000;

  put(bucket: string, name: string, data: Buffer, contentType = "application/octet-stream"): StoredObject {
    const o: StoredObject = {
      bucket,
      name,
      data,
      contentType,
      generation: String(++this.generation),
      created: new Date().toISOString(),
    };
    this.objects.set(`${bucket}/${name}`, o);
    return o;
  }
  get(bucket: string, name: string): StoredObject | undefined {
    return this.objects.get(`${bucket}/${name}`);
  }
  delete(bucket: string, name: string): boolean {
    return this.objects.delete(`${bucket}/${name}`);
  }
  list(bucket: string, prefix: string): StoredObject[] {
    return [...this.objects.values()]
      .filter((o) => o.bucket === bucket && o.name.startsWith(prefix))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
  }
  clear(): void {
    this.objects.clear();
    this.uploads.clear();
  }

  /** Routes a storage request; false when the path is not the storage API's. */
  handle(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams, body: Buffer): boolean {
    let m = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(path);
    if (m) {
      this.upload(req, res, decodeURIComponent(m[1]!), query, body);
      return true;
    }
    m = /^\/(?:download\/)?storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(path);
    if (m) {
      const bucket = decodeURIComponent(m[1]!);
      const name = decodeURIComponent(m[2]!);
      const o = this.get(bucket, name);
      if (req.method === "DELETE") {
        if (!this.delete(bucket, name)) return (notFound(res, bucket, name), true);
        res.writeHead(204).end();
        return true;
      }
      if (req.method !== "GET") return (storageError(res, 405, "Method not allowed."), true);
      if (!o) return (notFound(res, bucket, name), true);
      if (query.get("alt") === "media" || path.startsWith("/download/")) {
        res.writeHead(200, {
          "content-type": o.contentType,
          "content-length": o.data.length,
          "x-goog-hash": googHash(o.data),
          "x-goog-generation": o.generation,
          "x-goog-stored-content-length": String(o.data.length),
        });
        res.end(o.data);
      } else json(res, 200, resource(req, o));
      return true;
    }
    m = /^\/storage\/v1\/b\/([^/]+)\/o$/.exec(path);
    if (m && req.method === "GET") {
      const bucket = decodeURIComponent(m[1]!);
      const all = this.list(bucket, query.get("prefix") ?? "");
      const offset = Number(query.get("pageToken") ?? "0") || 0;
      const size = Math.min(1000, Number(query.get("maxResults") ?? "1000") || 1000);
      const page = all.slice(offset, offset + size);
      json(res, 200, {
        kind: "storage#objects",
        ...(page.length ? { items: page.map((o) => resource(req, o)) } : {}),
        ...(offset + size < all.length ? { nextPageToken: String(offset + size) } : {}),
      });
      return true;
    }
    return false;
  }

  private upload(req: IncomingMessage, res: ServerResponse, bucket: string, q: URLSearchParams, body: Buffer): void {
    const type = q.get("uploadType") ?? "media";
    if (type === "resumable") {
      const id = q.get("upload_id");
      if (!id && req.method === "POST") {
        // Start a session: the metadata is the JSON body; the bytes come in PUTs to the session URI.
        const meta = parseJson(body);
        const name = q.get("name") ?? (typeof meta.name === "string" ? meta.name : "");
        if (!name) return storageError(res, 400, "Required parameter: name");
        const upload = randomUUID();
        const contentType =
          header(req, "x-upload-content-type") ??
          (typeof meta.contentType === "string" ? meta.contentType : "application/octet-stream");
        this.uploads.set(upload, { bucket, name, contentType, chunks: [] });
        const location =
          `http://${req.headers.host}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=resumable` +
          `&name=${encodeURIComponent(name)}&upload_id=${upload}`;
        res.writeHead(200, { location, "content-length": 0 }).end();
        return;
      }
      const session = id ? this.uploads.get(id) : undefined;
      if (!session) return storageError(res, 404, "No such upload session.");
      if (body.length) session.chunks.push(body);
      const received = session.chunks.reduce((n, c) => n + c.length, 0);
      const range = header(req, "content-range") ?? "";
      const total = /\/(\d+)\s*$/.exec(range)?.[1];
      // `bytes 0-*/…` (the client streams one request to the end) or the declared total reached: the object is done.
      if (/^bytes \d+-\*\//.test(range) || (total !== undefined && Number(total) === received)) {
        this.uploads.delete(id!);
        json(
          res,
          200,
          resource(req, this.put(bucket, session.name, Buffer.concat(session.chunks), session.contentType)),
        );
      } else {
        res.writeHead(308, received ? { range: `bytes=0-${received - 1}`, "content-length": 0 } : {}).end();
      }
      return;
    }
    if (req.method !== "POST") return storageError(res, 405, "Method not allowed.");
    if (type === "multipart") {
      const parts = multipart(body, header(req, "content-type") ?? "");
      if (parts.length < 2) return storageError(res, 400, "A multipart upload needs metadata and media parts.");
      const meta = parseJson(parts[0]!.body);
      const name = typeof meta.name === "string" ? meta.name : (q.get("name") ?? "");
      if (!name) return storageError(res, 400, "Required parameter: name");
      const contentType =
        typeof meta.contentType === "string" ? meta.contentType : (parts[1]!.type ?? "application/octet-stream");
      json(res, 200, resource(req, this.put(bucket, name, parts[1]!.body, contentType)));
      return;
    }
    const name = q.get("name");
    if (!name) return storageError(res, 400, "Required parameter: name");
    json(
      res,
      200,
      resource(req, this.put(bucket, name, body, header(req, "content-type") ?? "application/octet-stream")),
    );
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function parseJson(body: Buffer): Record<string, unknown> {
  try {
    const doc = JSON.parse(body.toString("utf8")) as unknown;
    return doc && typeof doc === "object" ? (doc as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** The parts of a multipart/related body: each part's content type and bytes. */
function multipart(body: Buffer, contentType: string): { type: string | undefined; body: Buffer }[] {
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  if (!boundary) return [];
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: { type: string | undefined; body: Buffer }[] = [];
  let at = body.indexOf(delimiter);
  while (at !== -1) {
    const start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === "--") break;
    const next = body.indexOf(delimiter, start);
    if (next === -1) break;
    const part = body.subarray(start, next);
    const split = part.indexOf("\r\n\r\n");
    const head = part.subarray(0, split).toString("utf8");
    let content = part.subarray(split + 4);
    if (content.subarray(-2).toString() === "\r\n") content = content.subarray(0, -2);
    parts.push({ type: /content-type:\s*([^\r\n;]+)/i.exec(head)?.[1]?.trim(), body: content });
    at = next;
  }
  return parts;
}

function resource(req: IncomingMessage, o: StoredObject): Record<string, unknown> {
  const base = `http://${req.headers.host}`;
  const path = `b/${encodeURIComponent(o.bucket)}/o/${encodeURIComponent(o.name)}`;
  return {
    kind: "storage#object",
    id: `${o.bucket}/${o.name}/${o.generation}`,
    selfLink: `${base}/storage/v1/${path}`,
    mediaLink: `${base}/download/storage/v1/${path}?generation=${o.generation}&alt=media`,
    name: o.name,
    bucket: o.bucket,
    generation: o.generation,
    metageneration: "1",
    contentType: o.contentType,
    storageClass: "STANDARD",
    size: String(o.data.length),
    md5Hash: createHash("md5").update(o.data).digest("base64"),
    crc32c: crc32cBase64(o.data),
    etag: o.generation,
    timeCreated: o.created,
    updated: o.created,
  };
}

function googHash(data: Buffer): string {
  return `crc32c=${crc32cBase64(data)},md5=${createHash("md5").update(data).digest("base64")}`;
}

function json(res: ServerResponse, status: number, doc: unknown): void {
  const body = JSON.stringify(doc);
  res.writeHead(status, {
    "content-type": "application/json; charset=UTF-8",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

function notFound(res: ServerResponse, bucket: string, name: string): void {
  storageError(res, 404, `No such object: ${bucket}/${name}`, "notFound");
}

/** The JSON API's error shape: Google's envelope with the legacy `errors` list the client reads. */
function storageError(res: ServerResponse, code: number, message: string, reason = "invalid"): void {
  json(res, code, { error: { code, message, errors: [{ message, domain: "global", reason }] } });
}

/** CRC32C (Castagnoli), as Cloud Storage reports it: the big-endian checksum in base64. */
const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32cBase64(data: Buffer): string {
  let crc = 0xffffffff;
  for (const byte of data) crc = CRC32C_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  const out = Buffer.alloc(4);
  out.writeUInt32BE((crc ^ 0xffffffff) >>> 0);
  return out.toString("base64");
}
