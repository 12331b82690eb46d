/**
 * A TCP proxy that delays every chunk by a fixed time in each direction: puts a real server (Redis) "far away" for
 * tests and benchmarks, without network namespaces. Chunks keep their order (timers of equal delay fire in order).
 */
import { connect, createServer, type Server, type Socket } from "node:net";

export interface DelayProxy {
  /** `redis://127.0.0.1:<port>` style address to hand a client. */
  port: number;
  close(): Promise<void>;
}

/** Listens on a free loopback port; `target` is a unix socket path or `{host, port}`. */
export async function startDelayProxy(
  target: string | { host: string; port: number },
  oneWayDelayMs: number,
): Promise<DelayProxy> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = typeof target === "string" ? connect(target) : connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => undefined); // the other side's close ends both
    }
    const pipe = (from: Socket, to: Socket) => {
      from.on("data", (chunk) => setTimeout(() => to.writable && to.write(chunk), oneWayDelayMs));
      from.on("close", () => setTimeout(() => to.destroy(), oneWayDelayMs));
    };
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
