/**
 * Assembles one gateway instance from its parts and runs its HTTP server; also owns graceful shutdown:
 * readiness goes false, new calls are refused, in-flight calls and streams finish (up to the deadline), then the
 * server closes. Used by main.ts and, in-process, by tests.
 */
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ENV, type Config } from "./config/env.js";
import { connectionsWithin, descriptorsFor, openFileLimit } from "./config/connections.js";
import type { Tenant } from "./config/tenants.js";
import { createKeyring } from "./pipeline/authenticate.js";
import { createPipeline, type Lifecycle } from "./pipeline/pipeline.js";
import { answerClientError, createApp, type ReadinessCheck } from "./surfaces/routes.js";
import { createModelReads } from "./surfaces/models.js";
import { openaiModelsHandler } from "./surfaces/openai/models.js";
import type { Logger } from "./telemetry/logger.js";
import type { TokenSource } from "./upstream/credentials.js";
import { defaultUpstreams, loadUpstreamsFile, routeOf } from "./config/upstreams.js";
import { createProviders } from "./route/providers.js";
import { createRouter } from "./route/router.js";
import { loadPriceTable } from "./accounting/prices.js";
import { warmUpInjectionScorer } from "./guard/injection.js";
import { createAuditLog } from "./telemetry/audit.js";
import { createMetrics, type GatewayMetrics } from "./telemetry/metrics.js";
import { startMetricsServer, type MetricsServer } from "./telemetry/metrics-endpoint.js";
import { createCallRecorder } from "./telemetry/recorder.js";
import { createTracing } from "./telemetry/tracing.js";
import { createUsageWatch } from "./telemetry/usage-watch.js";
import type { SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { createAdmission } from "./pipeline/admit.js";
import { createLeasedWindows, DEFAULT_LEASES } from "./quota/leased-windows.js";
import { createUsageLedger } from "./accounting/usage.js";
import { createStore, type Store } from "./store/index.js";
import { StoreUnavailableError } from "./store/store.js";
import { createResponseCache } from "./cache/response-cache.js";
import { createCoalescer } from "./cache/coalesce.js";
import { createBudgetSwitch } from "./budget/kill-switch.js";
import { budgetAlertsHandler } from "./surfaces/budget-alerts.js";
import { createPushVerifier } from "./budget/push-auth.js";
import { createGcsStaging } from "./upstream/storage.js";
import { createResourceSurface } from "./surfaces/resources.js";
import { createLightRunner } from "./pipeline/resources/light.js";
import type { ResourceDeps } from "./pipeline/resources/context.js";
import { readBody } from "./http/read-body.js";
import { EMPTY_REGISTRY, loadPrompts } from "./prompts/registry.js";
import { createPromptState } from "./prompts/state.js";
import { createPromptResolver } from "./prompts/resolve.js";
import { createExperimentLedger } from "./prompts/experiments.js";
import { loadAssets } from "./console/assets.js";
import { createSessionStore } from "./console/session.js";
import { adminSummary } from "./console/summary.js";
import { secretManagerClient, secretManagerDocuments, storeDocuments } from "./keys/documents.js";
import { createKeyService } from "./keys/service.js";
import { createAdminAuditLog } from "./telemetry/audit.js";

export const USER_AGENT = "gemini-gateway/0.1";
/** An instance that has not said it is alive for this long no longer counts for the fail-open local share. */
const PRESENCE_TTL_MS = 5_000;
/** How long other instances wait on one instance's identical call before making their own. */
const COALESCE_LEASE_MS = 30_000;
const CIRCUIT_VALUE = { closed: 0, "half-open": 1, open: 2 } as const;
/** After the drain deadline: how long streams get to write their final error event before connections close. */
const CUT_GRACE_MS = 500;

export interface GatewayParts {
  config: Config;
  tenants: readonly Tenant[];
  tokens: TokenSource;
  logger: Logger;
  /** Where Vertex requests go; defaults to config.upstream.baseUrl, then Google's endpoint. */
  upstreamBaseUrl?: string | undefined;
  /** Tests: record spans here (e.g. an in-memory exporter), whatever the configured exporter. */
  spanProcessor?: SpanProcessor | undefined;
  /** Tests: the clock of the unusual-usage watch. */
  now?: () => number;
  /** Tests: a store shared by several in-process gateways; default: from config (Redis or in memory). */
  store?: Store | undefined;
  /**
   * Tests: the keys that sign budget-alert push tokens ({kid: PEM}); default: Google's, fetched and cached by
   * google-auth-library.
   */
  budgetPushCerts?: Readonly<Record<string, string>> | undefined;
  /** Tests: how long an instance caches label moves and experiment conclusions (default 1 s). */
  promptCacheMs?: number | undefined;
  /** When the tenants file was written (epoch ms): the creation time shown for its keys; default: start-up. */
  tenantsFileTime?: number | undefined;
}

export interface RunningGateway {
  /** Where to reach it: the listening address, with loopback in place of a wildcard address. */
  url: string;
  /** The address it listens on, e.g. `127.0.0.1:8080`, or `0.0.0.0:8080` (every interface). */
  listening: string;
  port: number;
  server: Server;
  lifecycle: Lifecycle;
  metrics: GatewayMetrics;
  /** The separate metrics listener's URL, when GATEWAY_METRICS_PORT is set. */
  metricsUrl: string | undefined;
  /** Drains and closes; resolves with the number of calls cut off by the deadline (0 when all finished). */
  shutdown(): Promise<number>;
}

export async function startGateway(parts: GatewayParts): Promise<RunningGateway> {
  const { config, logger, tokens } = parts;
  const startedAt = Date.now();
  // Aborted when the drain deadline comes: calls still running end with an error the client sees (pipeline, relay).
  const cutAtDeadline = new AbortController();
  const lifecycle: Lifecycle = { draining: false, inflight: 0, cut: cutAtDeadline.signal };
  const upstreams = config.upstreamsFile
    ? loadUpstreamsFile(config.upstreamsFile, config.models)
    : defaultUpstreams(config.upstream.location, parts.upstreamBaseUrl ?? config.upstream.baseUrl);
  const bounds = { tenants: parts.tenants.map((t) => t.id), models: config.models };
  const metrics = createMetrics(bounds);
  const fileLimit = openFileLimit();
  const protocol = config.upstream.protocol;
  const connections = config.upstream.connections ?? connectionsWithin(fileLimit, protocol);
  if (fileLimit !== undefined && connectionsWithin(fileLimit, protocol) < connections) {
    const per =
      protocol === "http2"
        ? `a client connection per call, upstream calls sharing HTTP/2 connections`
        : `a client and an upstream connection per call`;
    logger.warn(
      { openFileLimit: fileLimit, connections, protocol },
      `${ENV.UPSTREAM_CONNECTIONS}=${connections} needs about ${descriptorsFor(connections, protocol)} open files ` +
        `(${per}) but the limit is ${fileLimit}: raise it (ulimit -n) or lower the setting`,
    );
  }
  const providers = createProviders(upstreams, {
    kind: config.upstream.kind,
    project: config.upstream.project,
    tokens,
    timeoutMs: config.upstream.timeoutMs,
    connections,
    protocol,
    userAgent: USER_AGENT,
    env: process.env,
    onSaturated: (upstream) => metrics.upstreamSaturated.inc({ upstream }),
    onHttp1: (upstream, origin) =>
      logger.warn(
        { upstream, origin },
        `${ENV.UPSTREAM_PROTOCOL}=http2 but upstream ${upstream} (${origin}) chose HTTP/1.1: ` +
          `its calls get a connection each`,
      ),
  });
  metrics.watchConnections(() =>
    [...providers.values()].map(({ provider: { id, slots } }) => ({
      upstream: id,
      max: slots.max,
      inUse: slots.inUse,
      waiting: slots.waiting,
    })),
  );

  // Each served model's route, worked out once rather than on every call.
  const routes = new Map(config.models.map((model) => [model, routeOf(upstreams, model)] as const));
  const router = createRouter({
    providers,
    routeOf: (model) => routes.get(model) ?? routeOf(upstreams, model),
    retry: { ...upstreams.retry, attemptTimeoutMs: upstreams.retry.attemptTimeoutMs ?? config.upstream.timeoutMs },
    breaker: upstreams.breaker,
    onRetry: (id, reason) => metrics.retries.inc({ upstream: providers.get(id)!.provider.id, reason }),
    onBreakerChange: (id, model, state) => {
      const upstream = providers.get(id)!.provider.id;
      metrics.circuitState.set({ upstream, model: metrics.modelLabel(model) }, CIRCUIT_VALUE[state]);
      const log = state === "open" ? logger.warn.bind(logger) : logger.info.bind(logger);
      log({ upstream: id, model, state }, `circuit ${state}: upstream ${id} for ${model}`);
    },
    onFallback: (from, to) => logger.warn({ from, to }, `every upstream of ${from} failed: falling back to ${to}`),
  });
  /** The region a model's calls go to first: where its capacity (GATEWAY_CAPACITY) is looked up. */
  const primaryRegions = new Map(
    config.models.map((model) => {
      const id = routes.get(model)!.find((x) => providers.get(x)?.supports(model, "generateContent"));
      return [model, (id && providers.get(id)?.provider.region) ?? config.upstream.location] as const;
    }),
  );
  const primaryRegion = (model: string) => primaryRegions.get(model) ?? config.upstream.location;
  const usageWatch = createUsageWatch({
    factor: config.usageAnomaly.factor,
    minTokensPerMinute: config.usageAnomaly.minTokensPerMinute,
    now: parts.now,
    onAnomaly: (a) => {
      metrics.usageAnomalies.inc({ tenant: a.tenant });
      logger.warn(a, `unusual usage: tenant ${a.tenant} used ${a.tokensThisMinute} tokens this minute`);
    },
  });
  const tracing = createTracing({
    exporter: config.tracing.exporter,
    project: config.upstream.project,
    sampleRatio: config.tracing.sampleRatio,
    serviceName: "gemini-gateway",
    serviceVersion: USER_AGENT.split("/")[1]!,
    spanProcessor: parts.spanProcessor,
  });
  const store =
    parts.store ??
    (await createStore({
      redisUrl: config.quota.redisUrl,
      tlsCaFile: config.quota.redisTlsCaFile,
      cluster: config.quota.redisCluster,
    }));
  let storeDownSince: number | undefined;
  let lastStoreLog = 0;
  // Presence: how many instances share the store, so that each takes its share of a limit when the store is down.
  const instanceId = randomUUID();
  let instances = 1;
  const budgetSwitch =
    config.budget &&
    createBudgetSwitch({
      kv: store.kv,
      batchThreshold: config.budget.batchThreshold,
      allowlist: config.budget.allowlist,
      logger,
    });
  budgetSwitch?.start();
  // Leased admission decides calls in memory against leases on the shared windows (quota/leased-windows.ts).
  const leases =
    config.quota.admission === "leased"
      ? createLeasedWindows(store.windows, {
          ...DEFAULT_LEASES,
          leaseMs: config.quota.leaseMs,
          onError: (err) => {
            if (err instanceof StoreUnavailableError) storeError(err);
          },
        })
      : undefined;
  const admission = createAdmission({
    store: leases ? { ...store, windows: leases } : store,
    storeFailure: config.quota.storeFailure,
    reservationTtlMs: config.upstream.timeoutMs + 60_000,
    models: config.models,
    onStoreError: (err) => storeError(err),
    capacity: config.quota.capacity,
    regionOf: primaryRegion,
    queueMax: config.quota.queueMax,
    onQueueDepth: (priority, delta) => metrics.queueDepth.inc({ priority }, delta),
    instances: () => instances,
    budget: budgetSwitch,
  });
  /** Every failed store operation: counted; logged at most every 10 s; readiness notes it in fail-closed mode. */
  function storeError(err: Error): void {
    metrics.storeErrors.inc({ store: store.kind });
    storeDownSince ??= Date.now();
    if (Date.now() - lastStoreLog > 10_000) {
      lastStoreLog = Date.now();
      logger.error(
        { err: err.message, failure: config.quota.storeFailure },
        `quota store unavailable: limits fail ${config.quota.storeFailure}; usage is counted in memory until it is back`,
      );
    }
  }
  const usage = createUsageLedger(
    store,
    { ...bounds, features: Object.fromEntries(parts.tenants.map((t) => [t.id, [...t.features]])) },
    storeError,
  );
  // Every second: say this instance is alive (and learn how many are); after an outage, note its end once and add
  // the usage counted in memory meanwhile.
  const heartbeat = async () => {
    try {
      instances = await store.presence.beat(instanceId, PRESENCE_TTL_MS);
    } catch {
      return; // an outage is reported by the calls that need the store; keep the last count
    }
    if (storeDownSince === undefined) return;
    logger.info({ downMs: Date.now() - storeDownSince }, "quota store reachable again: shared limits resume");
    storeDownSince = undefined;
    await usage.flush();
  };
  void heartbeat();
  const storeProbe = setInterval(() => void heartbeat(), 1000);
  storeProbe.unref();
  // Keys: the tenants file's, with the managed document's overlay and keys, reloaded without a restart (keys/).
  const keyDocuments = config.keys.secret
    ? secretManagerDocuments(
        config.keys.secret,
        await secretManagerClient(
          config.keys.secretManagerBaseUrl ??
            (config.upstream.kind === "emulator" ? (parts.upstreamBaseUrl ?? config.upstream.baseUrl) : undefined),
        ),
      )
    : storeDocuments(
        store.kv,
        store.kind === "redis"
          ? "the quota store (Redis, every instance)"
          : "the quota store (in memory, this process only)",
      );
  const keyService = createKeyService({
    tenants: parts.tenants,
    documents: keyDocuments,
    kv: store.kv,
    fileKeys: { label: "tenants file", createdAt: new Date(parts.tenantsFileTime ?? Date.now()).toISOString() },
    pollMs: config.keys.pollMs,
    audit: createAdminAuditLog(logger),
    onError: (err, during) => {
      if (err instanceof StoreUnavailableError) storeError(err);
      else logger.error({ err: err.message }, `${during} failed: the last loaded keys stay in force`);
    },
    onReload: (revision) => logger.info({ revision, where: keyDocuments.where }, `keys reloaded: revision ${revision}`),
  });
  try {
    await keyService.start();
  } catch (err) {
    throw new Error(`cannot read the managed keys from ${keyDocuments.where}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  (config.keys.secret || store.kind === "redis" ? logger.info.bind(logger) : logger.warn.bind(logger))(
    { where: keyDocuments.where, revision: keyService.revision(), pollMs: config.keys.pollMs },
    `managed keys live in ${keyDocuments.where}` +
      (config.keys.secret ? "" : `; set ${ENV.KEYS_SECRET} to keep them in Secret Manager (docs/keys.md)`),
  );
  const keyring = createKeyring(keyService);
  const prices = loadPriceTable(config.pricesFile);
  // Tenant-owned resources: the ownership registry lives in the shared store; batch jobs stage in Cloud Storage (in
  // emulator mode, the emulator's own).
  const storageBaseUrl =
    config.batch.storageBaseUrl ??
    (config.upstream.kind === "emulator" ? (parts.upstreamBaseUrl ?? config.upstream.baseUrl) : undefined);
  const resources: ResourceDeps = {
    registry: store.resources,
    usage,
    prices,
    staging:
      config.batch.bucket === undefined
        ? undefined
        : createGcsStaging({
            bucket: config.batch.bucket,
            baseUrl: storageBaseUrl,
            projectId: config.upstream.project,
          }),
    kv: store.kv,
    logger,
    now: () => Date.now(),
  };
  // Prompt templates: checked as a whole at start-up (a bad folder stops the gateway); labels and experiment state live
  // in the store so that moves reach every instance (prompts/state.ts).
  const promptRegistry = config.prompts.dir ? loadPrompts(config.prompts.dir, config.models) : EMPTY_REGISTRY;
  const promptState = createPromptState({ kv: store.kv, cacheMs: parts.promptCacheMs, onStoreError: storeError });
  const experiments = createExperimentLedger({
    registry: promptRegistry,
    tallies: store.tallies,
    kv: store.kv,
    state: promptState,
    feedbackWindowMs: config.prompts.feedbackWindowSeconds * 1000,
    onStoreError: storeError,
    onConclusion: (experiment, conclusion, moved) =>
      logger.warn(
        { experiment, ...conclusion, promoted: moved },
        `experiment ${experiment} stopped: ${conclusion.winner} wins (${conclusion.reason})` +
          (moved ? `; label ${moved.label} moved to v${moved.version}` : ""),
      ),
  });
  const callRecorder = createCallRecorder(metrics, createAuditLog(logger, config.upstream.project), usageWatch);
  const handle = createPipeline({
    keyring,
    admission,
    usage,
    defaultOutputTokens: config.quota.defaultOutputTokens,
    queueTimeoutMs: config.quota.queueTimeoutMs,
    upstreamTimeoutMs: config.upstream.timeoutMs,
    servedModels: new Set(config.models),
    router,
    cache: createResponseCache({
      kv: store.kind === "redis" ? store.kv : undefined,
      maxBytes: config.cache.maxBytes,
      onStoreError: (err) => {
        if (err instanceof StoreUnavailableError) storeError(err);
      },
    }),
    coalescer: createCoalescer({ kv: store.kind === "redis" ? store.kv : undefined, leaseMs: COALESCE_LEASE_MS }),
    prices,
    resources,
    tracing,
    record: (r) => {
      callRecorder(r);
      experiments.observe(r);
    },
    logger,
    body: config.body,
    lifecycle,
  });
  const readiness: ReadinessCheck[] = [
    { name: "draining", problem: () => (lifecycle.draining ? "instance is shutting down" : undefined) },
    { name: "credentials", problem: () => (tokens.healthy() ? undefined : "no valid upstream access token") },
    {
      // Fail-open keeps serving through a store outage, so readiness only drops when limits fail closed.
      name: "quota store",
      problem: () =>
        storeDownSince !== undefined && config.quota.storeFailure === "closed" ? "quota store unreachable" : undefined,
    },
  ];
  const app = createApp({
    handleModelCall: handle,
    resources: createResourceSurface({
      handleModelCall: handle,
      runLight: createLightRunner({
        keyring,
        router,
        deps: resources,
        upstreamTimeoutMs: config.upstream.timeoutMs,
        readBody: (req) => readBody(req, config.body),
      }),
    }),
    openaiModels: openaiModelsHandler({ keyring, servedModels: config.models }),
    readiness,
    readinessDetails: () => ({ circuits: router.states() }),
    metrics: { registry: metrics.registry, adminKeySha256: config.metrics.adminKeySha256 },
    usage,
    console: {
      sessions: createSessionStore(
        store.kv,
        config.console.sessionTtlSeconds * 1000,
        config.metrics.adminKeySha256 ?? "",
      ),
      assets: loadAssets(),
    },
    adminReads: {
      summary: () =>
        adminSummary({
          registry: metrics.registry,
          circuits: () => router.states(),
          coolingDown: () => router.coolingDown(),
          coolDownMs: upstreams.breaker.halfOpenAfterMs,
          startedAt,
        }),
      resources: store.resources,
      tenantIds: () => parts.tenants.map((t) => t.id),
    },
    keys: keyService,
    tenants: { tenants: parts.tenants, store, models: config.models, keys: keyService, usage },
    models: createModelReads({ keyring, served: config.models, logger }),
    prompts:
      promptRegistry.prompts.size === 0
        ? undefined
        : {
            registry: promptRegistry,
            resolver: createPromptResolver(promptRegistry, promptState),
            state: promptState,
            ledger: experiments,
            keyring,
            logger,
          },
    budget: budgetSwitch && {
      budgetSwitch,
      alerts: budgetAlertsHandler({
        verifier: createPushVerifier({
          audience: config.budget!.pushAudience,
          serviceAccountEmail: config.budget!.pushServiceAccount,
          certs: parts.budgetPushCerts,
        }),
        budgetSwitch,
        logger,
        maxBodyBytes: 64 * 1024,
      }),
    },
  });
  // The injection scorer's regular expressions compile to machine code on first use: ~150 ms on the event loop for the
  // first prompts a new instance scores, while its first burst of calls waits. Paid here, before the port opens.
  const warmUpStarted = performance.now();
  const warmUp = warmUpInjectionScorer();
  logger.debug(
    { ms: Math.round(performance.now() - warmUpStarted), texts: warmUp.texts },
    "injection scorer warmed up",
  );
  // Cloud Run's front end keeps connections open for long; the server must not close idle ones first. A client that
  // sends headers too slowly gets 408 (node checks every second instead of its default 30 s), while an idle
  // keep-alive connection is not affected by headersTimeout (checked on node 20 and 24).
  const server = createServer({ keepAliveTimeout: 65_000, connectionsCheckingInterval: 1000 }, app);
  server.headersTimeout = config.headersTimeoutMs;
  server.on("clientError", answerClientError);
  // A backstop only: model calls get their body deadline (and a 408 in the envelope) from read-body.ts; this one closes
  // any other request whose headers and body never finish. It does not limit how long a response (a stream) runs.
  server.requestTimeout = config.headersTimeoutMs + config.body.timeoutMs + 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    // A deeper accept queue than node's default 511: a burst of new connections (thousands of streams opening at once)
    // otherwise overflows it, and each dropped SYN costs the client a one-second retransmit (docs/benchmarks.md).
    // The kernel caps it at net.core.somaxconn.
    server.listen({ port: config.port, host: config.host, backlog: 4096 }, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const metricsServer: MetricsServer | undefined =
    config.metrics.port === undefined
      ? undefined
      : await startMetricsServer(metrics.registry, config.host, config.metrics.port);
  const wildcard = config.host === "0.0.0.0" || config.host === "::";
  const host = wildcard ? (config.host === "::" ? "::1" : "127.0.0.1") : config.host;
  const bracket = (h: string) => (h.includes(":") ? `[${h}]` : h);

  let closing: Promise<number> | undefined;
  const shutdown = () =>
    (closing ??= (async () => {
      lifecycle.draining = true;
      logger.info({ inflight: lifecycle.inflight }, "draining: refusing new calls, finishing in-flight ones");
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive connections go idle once their call ends; close them as they do.
      const sweeper = setInterval(() => server.closeIdleConnections(), 100);
      server.closeIdleConnections();
      let cut = 0;
      const deadline = new Promise<"deadline">((resolve) =>
        setTimeout(() => resolve("deadline"), config.shutdownTimeoutMs).unref(),
      );
      if ((await Promise.race([closed, deadline])) === "deadline") {
        cut = lifecycle.inflight;
        logger.warn({ inflight: cut }, "shutdown deadline reached: ending the calls still running with an error");
        // Streams end with an UNAVAILABLE error event, unary calls with a 503: clients learn the answer is cut and
        // can retry, rather than seeing a connection reset. A moment for those last writes, then close everything.
        cutAtDeadline.abort();
        server.closeIdleConnections();
        await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, CUT_GRACE_MS).unref())]);
        server.closeAllConnections();
        await closed;
      }
      clearInterval(sweeper);
      await Promise.all([...providers.values()].map((p) => p.provider.close()));
      await metricsServer?.close();
      clearInterval(storeProbe);
      keyService.stop();
      await keyDocuments.close().catch(() => undefined);
      budgetSwitch?.stop();
      await usage.flush(); // the last turn's usage, and what an outage left counted in memory
      await leases?.drain(); // what this instance leased and did not spend goes back to the fleet
      if (!parts.store) await store.close();
      await tracing.shutdown().catch((err: Error) => logger.warn({ err: err.message }, "trace export failed"));
      return cut;
    })());

  return {
    url: `http://${bracket(host)}:${port}`,
    listening: `${bracket(config.host)}:${port}${wildcard ? " (every interface)" : ""}`,
    port,
    server,
    lifecycle,
    metrics,
    metricsUrl: metricsServer?.url,
    shutdown,
  };
}
