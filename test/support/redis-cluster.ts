/**
 * A local Redis Cluster of three primaries (no replicas) for tests and benchmarks: three `redis-server
 * --cluster-enabled yes` processes on free TCP ports (and their bus ports, +10000), joined with
 * `redis-cli --cluster create`, waited on until every node reports `cluster_state:ok`.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface RedisCluster {
  /** `redis://127.0.0.1:<port>` of the first node: a client discovers the rest. */
  url: string;
  ports: number[];
  close(): Promise<void>;
}

/** A port free for both the node (p) and its cluster bus (p + 10000). */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    if (taken.has(port) || !(await isFree(port)) || !(await isFree(port + 10_000))) continue;
    taken.add(port);
    return port;
  }
  throw new Error("no free port pair for a cluster node");
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

function cli(port: number, ...args: string[]): string {
  const r = spawnSync("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args], { encoding: "utf8" });
  return `${r.stdout}${r.stderr}`;
}

export async function startRedisCluster(): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), "ggw-cluster-"));
  const taken = new Set<number>();
  const ports = [await freeClusterPort(taken), await freeClusterPort(taken), await freeClusterPort(taken)];
  const children: ChildProcess[] = ports.map((port) =>
    spawn(
      "redis-server",
      [
        ...["--port", String(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes"],
        ...["--cluster-config-file", join(dir, `nodes-${port}.conf`), "--cluster-node-timeout", "2000"],
        ...["--save", "", "--appendonly", "no", "--dir", dir, "--loglevel", "warning"],
      ],
      { stdio: "ignore" },
    ),
  );
  const close = async () => {
    await Promise.all(
      children.map(async (c) => {
        if (c.exitCode !== null || c.signalCode !== null) return;
        const exited = once(c, "exit");
        c.kill("SIGKILL");
        await exited;
      }),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await until(() => ports.every((p) => cli(p, "PING").includes("PONG")), "the nodes to answer PING");
    const created = spawnSync(
      "redis-cli",
      ["--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-replicas", "0", "--cluster-yes"],
      { encoding: "utf8" },
    );
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
    await until(
      () => ports.every((p) => cli(p, "CLUSTER", "INFO").includes("cluster_state:ok")),
      "cluster_state:ok on every node",
    );
  } catch (err) {
    await close();
    throw err;
  }
  return { url: `redis://127.0.0.1:${ports[0]}`, ports, close };
}

async function until(ok: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
