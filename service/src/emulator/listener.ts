/**
 * One port for HTTP/1.1 and HTTP/2 with prior knowledge (h2c), so a gateway with GATEWAY_UPSTREAM_PROTOCOL=http2 can
 * be tested and benchmarked against the same emulator URL as one with http1. Each new connection's first bytes are
 * read: the HTTP/2 client preface goes to the node:http2 server, anything else to the node:http server, with the bytes
 * read put back first (`unshift`). That costs one read per connection (not per request; connections are kept alive).
 *
 * Not h2 over TLS (the emulator has no certificate) and not the `Upgrade: h2c` dance (undici's H2CClient and every
 * gateway setting use prior knowledge). node:http's own request and headers timeouts are checked only for sockets its
 * listen() accepted, so they do not apply here; nothing in the emulator relied on them.
 */
import type { Server as HttpServer } from "node:http";
import type { Http2Server, Http2Session } from "node:http2";
import { createServer, type Server, type Socket } from "node:net";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

export interface DualListener {
  server: Server;
  /**
   * Destroys every connection, idle or mid-response. (node:http's closeAllConnections() does not know these sockets:
   * it tracks only those its own listen() accepted.)
   */
  destroyConnections(): void;
}

export function dualProtocolListener(
  http1: HttpServer,
  http2: Http2Server,
  /** Told of each connection once its protocol is known. */
  onConnection: (isHttp2: boolean) => void,
): DualListener {
  const sessions = new Set<Http2Session>();
  http2.on("session", (session: Http2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  const sockets = new Set<Socket>();

  const route = (socket: Socket, head: Buffer): void => {
    const isHttp2 = head.length >= PREFACE.length && head.subarray(0, PREFACE.length).equals(PREFACE);
    onConnection(isHttp2);
    socket.unshift(head);
    if (isHttp2) {
      // The http2 session reads what the socket has buffered itself (resuming would hand it the preface twice).
      http2.emit("connection", socket);
    } else {
      // node:http only listens for 'data': the paused socket must flow again, the put-back bytes first.
      http1.emit("connection", socket);
      socket.resume();
    }
  };

  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    let head: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      // Until the bytes so far could still be the start of the preface, wait for more (they almost always arrive in
      // the first packet); an HTTP/1.1 request line differs within the first 3 bytes ("POS", "GET", …).
      const n = Math.min(head.length, PREFACE.length);
      if (n < PREFACE.length && head.subarray(0, n).equals(PREFACE.subarray(0, n))) return;
      socket.off("data", onData);
      socket.off("error", onEarlyError);
      socket.pause();
      route(socket, head);
    };
    // A connection reset before its first bytes: nothing to route, nothing to report.
    const onEarlyError = (): void => void socket.destroy();
    socket.on("data", onData);
    socket.on("error", onEarlyError);
  });

  return {
    server,
    destroyConnections: () => {
      for (const s of sessions) s.destroy();
      for (const socket of sockets) socket.destroy();
    },
  };
}
