/**
 * The policy pack as the Pulumi CLI runs it, and a gRPC client that plays the engine.
 *
 * The CLI starts a Node.js pack through its `pulumi-analyzer-policy` shim, which does two things with the pack folder
 * as the working directory: resolve `@pulumi/pulumi/cmd/run-policy-pack` with node, then run
 * `node <that file> <engine address> <pack path>`. The runner require()s the pack's `main`, and the pack prints the
 * port of its gRPC server on stdout. `startPolicyPack` does exactly that; `AnalyzerClient` speaks to it with the proto
 * stubs @pulumi/pulumi ships (the same the CLI's Go code is generated from).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";

const require = createRequire(import.meta.url);
// Everything from @pulumi/pulumi's own dependency tree, so message classes and grpc-js are the stubs' own copies.
const fromPulumi = createRequire(require.resolve("@pulumi/pulumi/package.json"));

interface Message {
  serializeBinary(): Uint8Array;
}
type Setters = Record<string, (value: unknown) => unknown>;
type MessageClass = new () => Message & Setters;

const pb = fromPulumi("./proto/analyzer_pb.js") as Record<string, MessageClass> & {
  EnforcementLevel: Record<string, number>;
};
const stubs = fromPulumi("./proto/analyzer_grpc_pb.js") as {
  AnalyzerClient: new (address: string, credentials: unknown) => RawClient;
};
const grpc = fromPulumi("@grpc/grpc-js") as { credentials: { createInsecure(): unknown } };
const { Struct } = fromPulumi("google-protobuf/google/protobuf/struct_pb.js") as {
  Struct: { fromJavaScript(value: Record<string, unknown>): Message };
};
const { Empty } = fromPulumi("google-protobuf/google/protobuf/empty_pb.js") as { Empty: new () => Message };

type Callback<T> = (err: Error | null, response: T) => void;
interface RawClient {
  getAnalyzerInfo(req: Message, cb: Callback<RawAnalyzerInfo>): void;
  analyze(req: Message, cb: Callback<RawAnalyzeResponse>): void;
  analyzeStack(req: Message, cb: Callback<RawAnalyzeResponse>): void;
  configure(req: Message, cb: Callback<unknown>): void;
  close(): void;
}
interface RawAnalyzerInfo {
  getName(): string;
  getVersion(): string;
  getPoliciesList(): { getName(): string; getEnforcementlevel(): number }[];
}
interface RawDiagnostic {
  getPolicyname(): string;
  getMessage(): string;
  getUrn(): string;
  getEnforcementlevel(): number;
}
interface RawAnalyzeResponse {
  getDiagnosticsList(): RawDiagnostic[];
}

export interface PackProcess {
  child: ChildProcess;
  port: number;
  /** Everything the pack wrote to stderr so far. */
  stderr(): string;
  stop(): Promise<void>;
}

/** Starts the pack in `packDir` as the CLI's shim does; resolves once it printed its port. */
export async function startPolicyPack(packDir: string, timeoutMs = 45_000): Promise<PackProcess> {
  const resolved = spawnSync(
    process.execPath,
    ["-e", "console.log(require.resolve('@pulumi/pulumi/cmd/run-policy-pack'))"],
    { cwd: packDir, encoding: "utf8" },
  );
  const runner = resolved.stdout.trim();
  if (resolved.status !== 0 || !runner) throw new Error(`cannot resolve run-policy-pack: ${resolved.stderr}`);
  // The engine address must parse; nothing is listening there, and none of the calls below needs the engine.
  const child = spawn(process.execPath, [runner, "127.0.0.1:1", "."], {
    cwd: packDir,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = once(child, "exit").then(([code]) => code as number | null);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no port printed in ${timeoutMs} ms; stderr: ${stderr}`)),
      timeoutMs,
    );
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (/^\d+$/.test(line.trim())) {
        clearTimeout(timer);
        resolve(Number(line.trim()));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the policy pack exited with ${code} before serving; stderr:\n${stderr}`));
    });
  });
  return {
    child,
    port,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
    },
  };
}

export interface Diagnostic {
  policy: string;
  message: string;
  urn: string;
  mandatory: boolean;
}

export interface AnalyzedResource {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  /** Names of the resources (in the same stack) it depends on: the engine sends their URNs. */
  dependencies?: readonly string[];
}

const STACK = "prod";
export const urnOf = (r: { type: string; name: string }) => `urn:pulumi:${STACK}::gemini-gateway::${r.type}::${r.name}`;

function message(name: string, fields: Record<string, unknown>): Message {
  const m = new pb[name]!();
  for (const [key, value] of Object.entries(fields)) {
    const setter = m[`set${key}`];
    if (!setter) throw new Error(`${name} has no set${key}`);
    setter.call(m, value);
  }
  return m;
}

// What the engine sends: plain JSON values in a Struct (no undefined).
const struct = (value: Record<string, unknown>) =>
  Struct.fromJavaScript(JSON.parse(JSON.stringify(value)) as Record<string, unknown>);

/** A resource as the engine describes it; `provider` is its provider resource (its defaultLabels count). */
function resourceFields(r: AnalyzedResource, provider?: AnalyzedResource): Record<string, unknown> {
  return {
    Type: r.type,
    Name: r.name,
    Urn: urnOf(r),
    Properties: struct(r.inputs),
    // Without options the pack answers "a more recent version of the Pulumi CLI is required".
    Options: message("AnalyzerResourceOptions", {}),
    ...(provider && r.type.startsWith("gcp:")
      ? {
          Provider: message("AnalyzerProviderResource", {
            Type: provider.type,
            Name: provider.name,
            Urn: urnOf(provider),
            Properties: struct(provider.inputs),
          }),
        }
      : {}),
  };
}

/** The engine's side of the Analyzer service. */
export class AnalyzerClient {
  private readonly raw: RawClient;

  constructor(port: number) {
    this.raw = new stubs.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  }

  private call<T>(method: keyof Omit<RawClient, "close">, req: Message): Promise<T> {
    return new Promise((resolve, reject) => {
      (this.raw[method] as (r: Message, cb: Callback<T>) => void).call(this.raw, req, (err, res) =>
        err ? reject(err) : resolve(res),
      );
    });
  }

  async info(): Promise<{ name: string; version: string; policies: string[] }> {
    const info = await this.call<RawAnalyzerInfo>("getAnalyzerInfo", new Empty());
    return {
      name: info.getName(),
      version: info.getVersion(),
      policies: info.getPoliciesList().map((p) => p.getName()),
    };
  }

  async analyze(r: AnalyzedResource, provider?: AnalyzedResource): Promise<Diagnostic[]> {
    const res = await this.call<RawAnalyzeResponse>("analyze", message("AnalyzeRequest", resourceFields(r, provider)));
    return diagnostics(res);
  }

  async analyzeStack(resources: AnalyzedResource[], provider?: AnalyzedResource): Promise<Diagnostic[]> {
    const urnByName = new Map(resources.map((r) => [r.name, urnOf(r)]));
    const req = message("AnalyzeStackRequest", {
      ResourcesList: resources.map((r) =>
        message("AnalyzerResource", {
          ...resourceFields(r, provider),
          DependenciesList: (r.dependencies ?? []).map((d) => urnByName.get(d) ?? d),
        }),
      ),
    });
    return diagnostics(await this.call<RawAnalyzeResponse>("analyzeStack", req));
  }

  /** What `--policy-pack-config <file>` makes the CLI send: each rule's properties at its enforcement level. */
  async configure(config: Record<string, Record<string, unknown>>, level: "advisory" | "mandatory"): Promise<void> {
    const req = new pb["ConfigureAnalyzerRequest"]!() as unknown as Message & {
      getPolicyconfigMap(): { set(key: string, value: Message): void };
    };
    for (const [policy, properties] of Object.entries(config)) {
      req.getPolicyconfigMap().set(
        policy,
        message("PolicyConfig", {
          Enforcementlevel: pb.EnforcementLevel[level.toUpperCase()],
          Properties: Struct.fromJavaScript(properties),
        }),
      );
    }
    await this.call("configure", req);
  }

  close(): void {
    this.raw.close();
  }
}

function diagnostics(res: RawAnalyzeResponse): Diagnostic[] {
  return res.getDiagnosticsList().map((d) => ({
    policy: d.getPolicyname(),
    message: d.getMessage(),
    urn: d.getUrn(),
    mandatory: d.getEnforcementlevel() === pb.EnforcementLevel["MANDATORY"],
  }));
}
