/**
 * H2Connections over TLS, as it reaches Vertex AI: ALPN picks h2 and calls share connections 100 streams each; a
 * server that only speaks HTTP/1.1 gets one call per connection (never pipelined POSTs); an aborted call resets its
 * stream and leaves the connection to the others. Real servers with a self-signed certificate made by openssl.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import {
  createServer as createH2cServer,
  createSecureServer,
  type Http2SecureServer,
  type Http2Session,
  type ServerHttp2Stream,
} from "node:http2";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { H2Connections } from "../../service/src/upstream/h2-connections.js";

let key: string;
let cert: string;
beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), "ggw-h2-tls-"));
  execFileSync("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    join(dir, "key.pem"),
    "-out",
    join(dir, "cert.pem"),
    "-days",
    "1",
    "-subj",
    "/CN=localhost",
    "-addext",
    "subjectAltName=DNS:localhost,IP:127.0.0.1",
  ]);
  key = readFileSync(join(dir, "key.pem"), "utf8");
  cert = readFileSync(join(dir, "cert.pem"), "utf8");
});

const listen = async (server: HttpsServer | Http2SecureServer): Promise<string> => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

const connections = (origin: string, onHttp1?: (o: string) => void) =>
  new H2Connections({
    origin,
    maxCalls: 1000,
    streamsPerConnection: 100,
    timeoutMs: 10_000,
    connectTimeoutMs: 5_000,
    ca: cert,
    onHttp1,
  });

describe("over TLS, ALPN h2", () => {
  let server: Http2SecureServer;
  let origin: string;
  const seen = { sessions: 0, streams: 0, versions: new Set<string>(), resets: [] as number[] };
  let hold: ((stream: ServerHttp2Stream) => void) | undefined;

  beforeAll(async () => {
    server = createSecureServer({ key, cert, allowHTTP1: true }, (req, res) => {
      seen.streams++;
      seen.versions.add(req.httpVersion);
      req.resume();
      req.on("end", () => {
        if (hold) return hold(req.stream);
        setTimeout(() => res.end("ok"), 300);
      });
    });
    server.on("session", () => seen.sessions++);
    origin = await listen(server);
  });
  afterAll(() => {
    server.close();
  });

  it("150 concurrent POSTs share 2 connections, all as HTTP/2", async () => {
    const h2 = connections(origin);
    const bodies = await Promise.all(
      Array.from({ length: 150 }, () =>
        h2.request({ origin, path: "/call", method: "POST", body: "{}" }).then((r) => r.body.text()),
      ),
    );
    expect(bodies.every((b) => b === "ok")).toBe(true);
    expect(seen.streams).toBe(150);
    expect([...seen.versions]).toEqual(["2.0"]);
    expect(seen.sessions).toBe(2);
    await h2.close();
  });

  it("an aborted call resets its stream; the connection carries on", async () => {
    const h2 = connections(origin);
    const sessionsBefore = seen.sessions;
    const closed = new Promise<number>((resolve) => {
      hold = (stream) => {
        stream.respond({ ":status": 200, "content-type": "text/event-stream" });
        stream.write("data: 1\n\n");
        stream.once("close", () => resolve(stream.rstCode ?? -1));
      };
    });
    const controller = new AbortController();
    const res = await h2.request({ origin, path: "/stream", method: "POST", body: "{}", signal: controller.signal });
    res.body.once("data", () => controller.abort());
    await expect(res.body.text()).rejects.toThrow();
    expect(await closed).toBe(0); // RST_STREAM (NO_ERROR): undici's stream.close() on abort
    hold = undefined;
    const next = await h2.request({ origin, path: "/after", method: "POST", body: "{}" });
    expect(await next.body.text()).toBe("ok");
    expect(seen.sessions).toBe(sessionsBefore + 1); // one connection for both
    await h2.close();
  });
});

describe("over TLS, a server that only speaks HTTP/1.1", () => {
  let server: HttpsServer;
  let origin: string;
  const perSocket = new Map<Socket, number>();
  let maxPerSocket = 0;

  beforeAll(async () => {
    server = createHttpsServer({ key, cert, ALPNProtocols: ["http/1.1"] }, (req, res) => {
      const n = (perSocket.get(req.socket) ?? 0) + 1;
      perSocket.set(req.socket, n);
      maxPerSocket = Math.max(maxPerSocket, n);
      req.resume();
      req.on("end", () =>
        setTimeout(() => {
          perSocket.set(req.socket, perSocket.get(req.socket)! - 1);
          res.end("ok");
        }, 200),
      );
    });
    origin = await listen(server);
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it("gets one call per connection, never pipelined POSTs, and says so once", async () => {
    const told: string[] = [];
    const h2 = connections(origin, (o) => told.push(o));
    const bodies = await Promise.all(
      Array.from({ length: 5 }, () =>
        h2.request({ origin, path: "/call", method: "POST", body: "{}" }).then((r) => r.body.text()),
      ),
    );
    expect(bodies).toEqual(["ok", "ok", "ok", "ok", "ok"]);
    expect(maxPerSocket).toBe(1);
    expect(perSocket.size).toBe(5);
    expect(told).toEqual([origin]);
    // Known to be HTTP/1.1 now: later calls still go one per connection.
    await Promise.all(
      Array.from({ length: 3 }, () =>
        h2.request({ origin, path: "/call", method: "POST", body: "{}" }).then((r) => r.body.text()),
      ),
    );
    expect(maxPerSocket).toBe(1);
    await h2.close();
  });
});

describe("over TLS, nobody listening", () => {
  it("calls that waited for the probe fail as the probe did, none left hanging", async () => {
    const { createServer } = await import("node:net");
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, "127.0.0.1", () => {
        const p = (srv.address() as AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const origin = `https://127.0.0.1:${port}`;
    const h2 = connections(origin);
    const outcomes = await Promise.all(
      Array.from({ length: 5 }, () =>
        h2.request({ origin, path: "/call", method: "POST", body: "{}" }).then(
          () => "ok",
          (err: { code?: string }) => err.code,
        ),
      ),
    );
    expect(outcomes).toEqual(Array.from({ length: 5 }, () => "ECONNREFUSED"));
    await h2.close();
  });
});

describe("a known limitation of undici 7 (nodejs/undici#5089)", () => {
  it("a graceful GOAWAY (NO_ERROR) cuts the streams in flight instead of letting them finish: revisit when it does not", async () => {
    // When undici lets them finish, this test fails: then drop the GOAWAY risk from decision 0031 and operations.md.
    let session: Http2Session | undefined;
    let started = 0;
    const server = createH2cServer((req, res) => {
      req.resume();
      res.writeHead(200);
      res.write("first;");
      const timer = setTimeout(() => res.end("last"), 400);
      res.on("close", () => clearTimeout(timer));
      if (++started === 3) setTimeout(() => session!.goaway(0), 50); // NO_ERROR: "finish what you have"
    });
    server.on("session", (s: Http2Session) => (session = s));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const h2 = connections(origin);
    const outcomes = await Promise.all(
      Array.from({ length: 3 }, (_, i) =>
        h2.request({ origin, path: `/${i}`, method: "POST", body: "{}" }).then(
          (res) =>
            res.body.text().then(
              (text) => text,
              (err: Error) => `cut: ${err.message}`,
            ),
          (err: Error) => `refused: ${err.message}`,
        ),
      ),
    );
    expect(outcomes).toEqual(Array.from({ length: 3 }, () => expect.stringMatching(/^cut: .*GOAWAY/)));
    expect(started).toBe(3); // nothing re-sent
    await h2.close();
    server.close();
  });
});
