/**
 * Runs the infrastructure program under Pulumi mocks, the way `pulumi preview` would for a stack that does not exist
 * yet, and returns every resource it registers and the stack outputs. Used by the infra tests and by the offline
 * policy check (`npm run check`), so it has no test-framework imports.
 *
 * - Config: Pulumi.yaml's declared defaults, then `config:` of Pulumi.<stack>.yaml (or `configFile`), then
 *   `options.config` overrides, loaded with pulumi.runtime.setAllConfig (keys `gemini-gateway:<key>`, objects and
 *   lists as JSON), exactly as the CLI hands them to the program.
 * - Placeholders: GGW_ALLOW_PLACEHOLDERS=1 is set for the run unless `allowPlaceholders: false`.
 * - Mocks: preview mode; each resource's state is its inputs and its id is unknown, so every value the provider would
 *   compute (URIs, hosts, project number, versions…) is unknown, as in a first preview. Captured inputs show unknowns
 *   as UNKNOWN and secret values as SECRET.
 * - One process, several runs: the program is a function (infra/index.ts default export), config is replaced and the
 *   mocks re-installed per run, and runs are serialised, so dev then prod in one process is fine.
 */
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as pulumi from "@pulumi/pulumi";
import yaml from "js-yaml";

/** The environment stacks of the gateway program (Pulumi.yaml at the repository root). */
export type EnvStack = "dev" | "prod";
/** Every stack the offline runs know: the environments, and the bootstrap (seed) program's one stack. */
export type StackName = EnvStack | "bootstrap";

/** A Pulumi project of this repository: where its Pulumi.yaml and stack files live, and its entry module. */
export interface ProgramSpec {
  /** The Pulumi project name (also its config namespace). */
  project: string;
  /** The directory holding Pulumi.yaml and Pulumi.<stack>.yaml, relative to the repository root. */
  dir: string;
  /** The entry module, relative to the repository root. */
  entry: string;
}

export const PROGRAMS = {
  env: { project: "gemini-gateway", dir: ".", entry: "infra/index.ts" },
  bootstrap: { project: "gemini-gateway-bootstrap", dir: "infra/bootstrap", entry: "infra/bootstrap/index.ts" },
} as const satisfies Record<string, ProgramSpec>;

export const specOf = (stack: StackName): ProgramSpec => (stack === "bootstrap" ? PROGRAMS.bootstrap : PROGRAMS.env);

export interface CapturedResource {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  /** The provider reference (`<urn>::<id>`) the resource was registered with, when it names one. */
  provider?: string;
  /** The URN the engine gives the resource (its parents' types included). */
  urn?: string;
  /** The parent's URN (a component, or the stack). */
  parent?: string;
  /** URNs this resource waits for: explicit dependsOn (components expanded) and the resources its inputs came from. */
  dependencies?: string[];
  /** Per input property, the URNs its value came from. */
  propertyDependencies?: Record<string, string[]>;
}

export interface ProgramRun {
  resources: CapturedResource[];
  outputs: Record<string, unknown>;
  /** The stacks whose outputs the program read (StackReference names). */
  stackReferences: string[];
}

export interface RunOptions {
  /** A stack file to read instead of Pulumi.<stack>.yaml (path relative to the repository root, or absolute). */
  configFile?: string;
  /** The program module (default infra/index.ts): a default-exported function, or a module with top-level code. */
  program?: string;
  /** Default true: sets GGW_ALLOW_PLACEHOLDERS=1 for the run. */
  allowPlaceholders?: boolean;
  /** Config values laid over the stack file (keys with or without the `gemini-gateway:` namespace). */
  config?: Record<string, unknown>;
  /**
   * Values the provider would compute (e.g. a project's `number`), merged into a resource's mocked state: by default
   * every computed value stays unknown, as in a first preview.
   */
  /**
   * The outputs of this stack's last deployment, which the program reads back through a StackReference to itself
   * (infra/release.ts). Offline runs cannot read state: by default a stack that runs OFFLINE_DEPLOYED_IMAGE. Pass `{}`
   * for a stack never deployed.
   */
  deployed?: Record<string, unknown>;
  /**
   * The bootstrap stack's outputs, which the environment programs read through a StackReference (infra/bootstrap).
   * Default: OFFLINE_BOOTSTRAP_OUTPUTS, what the bootstrap program outputs for its committed stack file.
   */
  bootstrap?: Record<string, unknown>;
  computed?: (resource: {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
  }) => Record<string, unknown> | undefined;
}

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const PROJECT = PROGRAMS.env.project;
export const UNKNOWN = "<unknown>";
export const SECRET = "<secret>";
const ALLOW_PLACEHOLDERS_ENV = "GGW_ALLOW_PLACEHOLDERS";
/** What offline runs take a deployed stack to run (they cannot read its state): an obviously made-up digest. */
export const OFFLINE_DEPLOYED_IMAGE = `gateway@sha256:${"0".repeat(64)}`;
/** The bootstrap stack's name as the environment programs reference it (DIY backends: organization/<project>/<stack>). */
export const BOOTSTRAP_STACK_REFERENCE = `organization/${PROGRAMS.bootstrap.project}/bootstrap`;
/**
 * What offline runs of an environment take the bootstrap stack to output (they cannot read its state): the values the
 * bootstrap program computes from its committed stack file, placeholders included. A test runs the bootstrap program
 * and requires its outputs to match these (test/infra/bootstrap.test.ts).
 */
export const OFFLINE_BOOTSTRAP_OUTPUTS: Record<string, unknown> = {
  seedProject: "replace-with-seed-project-id",
  stateBucket: "gs://replace-with-state-bucket",
  stacks: Object.fromEntries(
    (["dev", "prod"] as const).map((env) => [
      env,
      {
        projectId: `replace-with-${env}-project-id`,
        secretsProvider: `gcpkms://projects/replace-with-seed-project-id/locations/europe-west4/keyRings/pulumi-state/cryptoKeys/${env}`,
        preview: { serviceAccount: `ggw-${env}-preview@replace-with-seed-project-id.iam.gserviceaccount.com` },
        apply: { serviceAccount: `ggw-${env}-apply@replace-with-seed-project-id.iam.gserviceaccount.com` },
      },
    ]),
  ),
};
const STACK_REFERENCE = "pulumi:pulumi:StackReference";
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e";
/** The engine's stand-in for a value not known during preview. */
const UNKNOWN_ID = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** The config map the CLI would give the program for this stack: `<project>:<key>` → string. */
export function stackConfig(
  stack: StackName,
  options: Pick<RunOptions, "configFile" | "config"> = {},
): Record<string, string> {
  const spec = specOf(stack);
  const project = yaml.load(readFileSync(resolve(REPO_ROOT, spec.dir, "Pulumi.yaml"), "utf8")) as {
    config?: Record<string, { default?: unknown } | unknown>;
  };
  const namespaced = (key: string) => (key.includes(":") ? key : `${spec.project}:${key}`);
  const out: Record<string, string> = {};
  for (const [key, decl] of Object.entries(project.config ?? {})) {
    if (decl && typeof decl === "object" && "default" in decl) out[namespaced(key)] = configString(key, decl.default);
  }
  const file = options.configFile ?? `${spec.dir}/Pulumi.${stack}.yaml`;
  const path = isAbsolute(file) ? file : resolve(REPO_ROOT, file);
  const stackFile = yaml.load(readFileSync(path, "utf8")) as { config?: Record<string, unknown> } | null;
  for (const [key, value] of Object.entries(stackFile?.config ?? {})) out[namespaced(key)] = configString(key, value);
  for (const [key, value] of Object.entries(options.config ?? {})) out[namespaced(key)] = configString(key, value);
  return out;
}

function configString(key: string, value: unknown): string {
  if (typeof value === "string") return value;
  if (value && typeof value === "object" && "secure" in value) {
    throw new Error(`${key}: encrypted (secure:) values need the Pulumi CLI; the mocked run cannot decrypt them`);
  }
  return typeof value === "number" || typeof value === "boolean" ? String(value) : JSON.stringify(value);
}

let queue: Promise<unknown> = Promise.resolve();
let runs = 0;

/** Runs the program for a stack under mocks; runs are serialised (the Pulumi runtime is process-global). */
export function runProgram(stack: StackName, options: RunOptions = {}): Promise<ProgramRun> {
  const run = queue.then(() => runOnce(stack, options));
  queue = run.catch(() => undefined);
  return run;
}

interface MockMonitor {
  newUrn(parent: string, type: string, name: string): string;
  registerResource(req: RegisterRequest, callback: unknown): unknown;
  registerResourceHook?: unknown;
}
interface RegisterRequest {
  getParent(): string;
  getType(): string;
  getName(): string;
  getDependenciesList(): string[];
  getPropertydependenciesMap(): { forEach(f: (deps: { getUrnsList(): string[] }, key: string) => void): void };
}

async function runOnce(stack: StackName, options: RunOptions): Promise<ProgramRun> {
  const spec = specOf(stack);
  const config = stackConfig(stack, options);
  const resources: CapturedResource[] = [];
  const stackReferences: string[] = [];
  const self = `organization/${spec.project}/${stack}`;
  // What the engine knows about the registration in flight (set just before the mock's newResource runs).
  let registering: Pick<CapturedResource, "urn" | "parent" | "dependencies" | "propertyDependencies"> = {};
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        // The program reads stacks' outputs (a read, not a managed resource): not captured.
        if (args.type === STACK_REFERENCE) {
          const name = String(args.inputs.name);
          stackReferences.push(name);
          let outputs: Record<string, unknown>;
          if (name === self) outputs = options.deployed ?? { gatewayImage: OFFLINE_DEPLOYED_IMAGE };
          else if (name === BOOTSTRAP_STACK_REFERENCE) outputs = options.bootstrap ?? OFFLINE_BOOTSTRAP_OUTPUTS;
          else throw new Error(`offline runs know no stack ${name}`);
          return { id: name, state: { ...args.inputs, outputs, secretOutputNames: [] } };
        }
        if (args.custom !== false) {
          resources.push({
            type: args.type,
            name: args.name,
            inputs: clean(args.inputs) as Record<string, unknown>,
            ...(args.provider ? { provider: args.provider.replace(UNKNOWN_ID, UNKNOWN) } : {}),
            ...registering,
          });
        }
        // Preview of a new stack: the state is what was asked for; ids and computed outputs stay unknown.
        const inputs = args.inputs as Record<string, unknown>;
        const computed = options.computed?.({ type: args.type, name: args.name, inputs }) ?? {};
        return { id: undefined, state: { ...inputs, ...computed } };
      },
      call: (args) => args.inputs as Record<string, unknown>,
    },
    spec.project,
    stack,
    true,
    "organization", // what a DIY backend (the GCS bucket) calls every stack's organization
  );
  const monitor = pulumi.runtime.getMonitor() as unknown as MockMonitor;
  // The mock monitor predates resource hooks (the propagation waits): accept their registration.
  monitor.registerResourceHook ??= (_req: unknown, done: (err: unknown, res: unknown) => void) => done(null, {});
  // The mock hands newResource no dependencies: read them from the request, as the engine (and the analyzer) sees them.
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) => {
    const propertyDependencies: Record<string, string[]> = {};
    req.getPropertydependenciesMap().forEach((deps, key) => {
      const urns = deps.getUrnsList();
      if (urns.length) propertyDependencies[key] = [...urns].sort();
    });
    registering = {
      urn: monitor.newUrn(req.getParent(), req.getType(), req.getName()),
      ...(req.getParent() ? { parent: req.getParent() } : {}),
      dependencies: [...new Set(req.getDependenciesList())].sort(),
      propertyDependencies,
    };
    try {
      return register(req, callback);
    } finally {
      registering = {};
    }
  };
  pulumi.runtime.setAllConfig(config);

  const previous = process.env[ALLOW_PLACEHOLDERS_ENV];
  if (options.allowPlaceholders === false) delete process.env[ALLOW_PLACEHOLDERS_ENV];
  else process.env[ALLOW_PLACEHOLDERS_ENV] = "1";
  try {
    const url = pathToFileURL(resolve(REPO_ROOT, options.program ?? spec.entry)).href;
    let module = (await import(url)) as { default?: unknown };
    if (typeof module.default !== "function" && runs > 0)
      module = (await import(`${url}?run=${runs}`)) as typeof module;
    runs++;
    const exported = typeof module.default === "function" ? await (module.default as () => unknown)() : module;
    const outputs = (await resolveValue(exported)) as Record<string, unknown>;
    await settle(resources);
    return { resources, outputs, stackReferences };
  } finally {
    if (previous === undefined) delete process.env[ALLOW_PLACEHOLDERS_ENV];
    else process.env[ALLOW_PLACEHOLDERS_ENV] = previous;
  }
}

/** Waits until no registration is in flight and the captured list stops growing. */
async function settle(resources: readonly unknown[]): Promise<void> {
  const waitForRPCs = (pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> }).waitForRPCs;
  let seen = -1;
  while (seen !== resources.length) {
    seen = resources.length;
    await waitForRPCs?.();
    await new Promise((r) => setImmediate(r));
  }
}

/** Mock inputs → plain JSON: unknowns, secrets and resource references made readable. */
function clean(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(clean);
  if (value && typeof value === "object") {
    const o = value as Record<string, unknown>;
    if (o.__pulumiUnknown === true) return UNKNOWN;
    // A secret whose value is not known yet reads as unknown (newer SDKs wrap the unknown in the secret).
    if (o[SECRET_SIG] === "1b47061264138c4ac30d75fd1eb44270") return clean(o.value) === UNKNOWN ? UNKNOWN : SECRET;
    if (o[SECRET_SIG] === RESOURCE_SIG) return String(o.urn ?? UNKNOWN);
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, clean(v)]));
  }
  return value === UNKNOWN_ID ? UNKNOWN : value;
}

interface OutputInternals {
  isKnown: Promise<boolean>;
  isSecret: Promise<boolean>;
  promise(): Promise<unknown>;
}

/** Stack outputs → plain values (unknown outputs as UNKNOWN, secret ones as SECRET). */
async function resolveValue(value: unknown): Promise<unknown> {
  if (pulumi.Output.isInstance(value)) {
    const o = value as unknown as OutputInternals;
    if (!(await o.isKnown)) return UNKNOWN;
    if (await o.isSecret) return SECRET;
    return resolveValue(await o.promise());
  }
  if (value instanceof Promise) return resolveValue(await value);
  if (Array.isArray(value)) return Promise.all(value.map(resolveValue));
  if (value && typeof value === "object" && !pulumi.Resource.isInstance(value)) {
    const entries = await Promise.all(
      Object.entries(value as Record<string, unknown>).map(async ([k, v]) => [k, await resolveValue(v)] as const),
    );
    return Object.fromEntries(entries.filter(([, v]) => v !== undefined));
  }
  return value;
}

export const isUnknown = (value: unknown): boolean => value === UNKNOWN;
