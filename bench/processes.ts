/**
 * The processes under test, each its own OS process so its CPU and memory can be read separately: the emulator, the
 * gateway and the two baselines (bare express, bare proxy). Spawns them, waits until they listen, drains their
 * stdout for as long as they run (a full pipe would stall a synchronous logger), and kills every one of them at the
 * end, also on error and Ctrl-C.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, type Runtime } from "./runtime.js";
import { serverNode } from "./server-node.js";

export interface Child {
  name: string;
  pid: number;
  url: string;
  /** Bytes and lines written to stdout since start (the gateway's access log, with LOG_LEVEL=info). */
  stdout(): { bytes: number; lines: number };
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<ChildProcess>();

/** Synchronous last resort (process 'exit', signals): SIGKILL every child still running. */
export function killAllNow(): void {
  for (const child of running) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  running.clear();
}

interface SpawnSpec {
  name: string;
  args: string[];
  /** Added to this process's environment; undefined removes a variable. */
  env: Record<string, string | undefined>;
  /** Matched against each stdout line until it matches; group 1 is the URL. */
  ready: RegExp;
  /** Also ready when GET `${url}/healthz` answers 200 (for quiet log levels that never print the line). */
  pollUrl?: string;
  timeoutMs?: number;
}

export async function spawnChild(spec: SpawnSpec): Promise<Child> {
  const env: Record<string, string | undefined> = { ...process.env, ...spec.env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  const child = spawn(serverNode().path, spec.args, {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  const exited = new Promise<void>((resolve) =>
    child.once("exit", () => {
      running.delete(child);
      resolve();
    }),
  );

  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => {
    if (stderr.length < 64 * 1024) stderr += d.toString();
  });
  let bytes = 0;
  let lines = 0;
  let head = "";
  let url: string | undefined;
  let onReady: ((url: string) => void) | undefined;
  child.stdout!.on("data", (d: Buffer) => {
    bytes += d.length;
    for (let i = d.indexOf(10); i !== -1; i = d.indexOf(10, i + 1)) lines++;
    if (url !== undefined) return; // after start-up: count and drop
    head += d.toString();
    let nl: number;
    while ((nl = head.indexOf("\n")) !== -1) {
      const line = head.slice(0, nl);
      head = head.slice(nl + 1);
      const m = spec.ready.exec(line);
      if (m) {
        url = m[1]!;
        head = "";
        onReady?.(url);
        return;
      }
    }
  });

  const timeoutMs = spec.timeoutMs ?? 30_000;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${spec.name} did not start in ${timeoutMs} ms\n${stderr}`)),
        timeoutMs,
      );
      let poller: NodeJS.Timeout | undefined;
      onReady = () => {
        clearTimeout(timer);
        clearInterval(poller);
        resolve();
      };
      if (spec.pollUrl) {
        const base = spec.pollUrl;
        poller = setInterval(() => {
          fetch(`${base}/healthz`).then(
            (r) => {
              if (r.ok && url === undefined) {
                url = base;
                onReady?.(base);
              }
            },
            () => undefined, // not listening yet
          );
        }, 100);
      }
      void exited.then(() => {
        clearTimeout(timer);
        clearInterval(poller);
        reject(new Error(`${spec.name} exited (code ${child.exitCode}) before listening\n${stderr}`));
      });
    });
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }

  return {
    name: spec.name,
    pid: child.pid!,
    url: url!,
    stdout: () => ({ bytes, lines }),
    stop: async (graceMs = 5_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

// ---- the four servers ---------------------------------------------------------------------------------------------

export function startEmulatorProcess(runtime: Runtime): Promise<Child> {
  return spawnChild({
    name: "emulator",
    args: runtime.emulatorArgs,
    env: { EMULATOR_PORT: "0", EMULATOR_HOST: "127.0.0.1" },
    ready: /gemini emulator listening on (http:\/\/\S+)/,
  });
}

/** A port that was free a moment ago (the gateway gets a fixed port so readiness can also be polled). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface GatewayProcessOptions {
  emulatorUrl: string;
  key: string;
  logLevel: string;
  upstreamConnections: number | undefined;
  cpuProfDir: string | undefined;
  /** The bench tenant's `limits` (default: none). */
  limits?: Record<string, number> | undefined;
  /** More environment for the gateway (e.g. REDIS_URL). */
  env?: Record<string, string> | undefined;
}

export async function startGatewayProcess(runtime: Runtime, o: GatewayProcessOptions): Promise<Child> {
  const dir = mkdtempSync(join(tmpdir(), "gateway-bench-"));
  const tenantsFile = join(dir, "tenants.json");
  const keySha256 = createHash("sha256").update(o.key).digest("hex");
  const tenant = { id: "bench", keySha256, models: ["*"], ...(o.limits ? { limits: o.limits } : {}) };
  writeFileSync(tenantsFile, JSON.stringify({ tenants: [tenant] }));
  const port = await freePort();
  const env: Record<string, string | undefined> = {
    PORT: String(port),
    GATEWAY_HOST: "127.0.0.1",
    GATEWAY_UPSTREAM: "emulator",
    GATEWAY_VERTEX_BASE_URL: o.emulatorUrl,
    GATEWAY_TENANTS_FILE: tenantsFile,
    GATEWAY_SHUTDOWN_TIMEOUT_MS: "2000",
    LOG_LEVEL: o.logLevel,
    // undefined: the gateway's own default, even if this shell sets the variable
    GATEWAY_UPSTREAM_CONNECTIONS: o.upstreamConnections === undefined ? undefined : String(o.upstreamConnections),
    ...o.env,
  };
  const prof: string[] = [];
  if (o.cpuProfDir) {
    mkdirSync(o.cpuProfDir, { recursive: true });
    prof.push("--cpu-prof", `--cpu-prof-dir=${o.cpuProfDir}`);
  }
  try {
    const child = await spawnChild({
      name: "gateway",
      args: [...prof, ...runtime.gatewayArgs],
      env,
      ready: /"url":"(http:\/\/[^"]+)".*"message":"gateway listening on /,
      pollUrl: `http://127.0.0.1:${port}`,
    });
    const stop = child.stop;
    return {
      ...child,
      stop: async (graceMs) => {
        await stop(graceMs);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

export function startBareExpressProcess(): Promise<Child> {
  return spawnChild({
    name: "bare express",
    args: ["--import", "tsx", "bench/bare-express.ts"],
    env: { BARE_PORT: "0" },
    ready: /bare express listening on (http:\/\/\S+)/,
  });
}

export function startBareProxyProcess(emulatorUrl: string): Promise<Child> {
  return spawnChild({
    name: "bare proxy",
    args: ["--import", "tsx", "bench/bare-proxy.ts"],
    env: { BARE_PORT: "0", BARE_UPSTREAM: emulatorUrl },
    ready: /bare proxy listening on (http:\/\/\S+)/,
  });
}

/** The fixed-answer upstream of bench:peers (neutral-upstream.ts). */
export function startNeutralUpstreamProcess(): Promise<Child> {
  return spawnChild({
    name: "neutral upstream",
    args: ["--import", "tsx", "bench/neutral-upstream.ts"],
    env: { NEUTRAL_PORT: "0" },
    ready: /neutral upstream listening on (http:\/\/\S+)/,
  });
}

export function newBenchKey(): string {
  return `bench_${randomBytes(24).toString("base64url")}`;
}
