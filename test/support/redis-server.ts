/**
 * A private `redis-server` per suite (shared/reference/testing-notes.md, "Redis in tests"): no persistence, a unix
 * socket in its own temporary directory and, only when asked, a TCP port on 127.0.0.1. It can be killed (an outage),
 * frozen (a server that accepts but never answers) and restarted on the same socket path and port.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface RedisServer {
  /** The unix socket: pass it as the store URL. */
  socketPath: string;
  /** `redis://127.0.0.1:<port>` when started with `tcp: true`. */
  tcpUrl: string | undefined;
  /** Kills the server (SIGKILL by default: an outage, no goodbye to clients) and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same socket path (and port); resolves when it answers PING. */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: connections stay open but nothing answers. */
  freeze(): void;
  thaw(): void;
  /** Stops it and removes its directory. */
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  if (address === null || typeof address === "string") throw new Error("no TCP port");
  return address.port;
}

/** Resolves when the socket answers PING with PONG; retries until `timeoutMs`. */
async function waitForPong(socketPath: string, timeoutMs: number, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection(socketPath);
      let reply = "";
      socket.setTimeout(500, () => socket.destroy());
      socket.on("connect", () => socket.write("PING\r\n"));
      socket.on("data", (d) => {
        reply += d.toString();
        if (reply.includes("\r\n")) {
          socket.destroy();
          resolve(reply.startsWith("+PONG"));
        }
      });
      socket.on("error", () => resolve(false));
      socket.on("close", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not answer PING in ${timeoutMs} ms: ${output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function startRedisServer(options: { tcp?: boolean } = {}): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), "ggw-redis-"));
  const socketPath = join(dir, "redis.sock");
  const port = options.tcp ? await freePort() : 0;
  const args = [
    ...["--port", String(port), "--bind", "127.0.0.1", "--unixsocket", socketPath, "--unixsocketperm", "700"],
    ...["--save", "", "--appendonly", "no", "--dir", dir, "--loglevel", "warning"],
  ];
  let child: ChildProcess | undefined;
  let output = "";

  const start = async () => {
    output = "";
    const c = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
    c.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    c.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    child = c;
    await waitForPong(socketPath, 10_000, () => output);
  };

  const stop = async (signal: NodeJS.Signals = "SIGKILL") => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = once(c, "exit");
    c.kill("SIGCONT"); // a frozen server ignores everything but SIGKILL until thawed
    c.kill(signal);
    await exited;
  };

  await start();
  return {
    socketPath,
    tcpUrl: options.tcp ? `redis://127.0.0.1:${port}` : undefined,
    stop,
    restart: start,
    freeze: () => child?.kill("SIGSTOP"),
    thaw: () => child?.kill("SIGCONT"),
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
