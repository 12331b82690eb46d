/**
 * Entry point: configuration → tenants → upstream (Vertex AI, or the emulator) → gateway → signal handling.
 * Wiring only; every decision lives in the modules it calls.
 */
import { existsSync, statSync } from "node:fs";
import { ConfigError, ENV, loadConfig, type Config } from "./config/env.js";
import { loadTenantsFile, newKey, parseTenants, sha256Hex, type Tenant } from "./config/tenants.js";
import { startEmulator, type RunningEmulator } from "./emulator/server.js";
import { startGateway } from "./gateway.js";
import { createLogger, type Logger } from "./telemetry/logger.js";
import { adcTokenSource, staticToken, type TokenSource } from "./upstream/credentials.js";

async function main(): Promise<void> {
  let config: Config;
  try {
    // The repository's (and the image's) prompts folder, unless GATEWAY_PROMPTS_DIR names another.
    const prompts = process.env[ENV.PROMPTS_DIR] || (existsSync("prompts") ? "prompts" : undefined);
    config = loadConfig({ ...process.env, [ENV.PROMPTS_DIR]: prompts });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  const { tenants, devKey } = loadTenants(config, logger);
  // Development (emulator, no tenants file): an admin key valid until exit, so that the console works out of the box.
  let devAdminKey: string | undefined;
  if (devKey && !config.metrics.adminKeySha256) {
    devAdminKey = newKey();
    config = { ...config, metrics: { ...config.metrics, adminKeySha256: sha256Hex(devAdminKey) } };
  }

  let emulator: RunningEmulator | undefined;
  let tokens: TokenSource;
  let upstreamBaseUrl = config.upstream.baseUrl;
  if (config.upstream.kind === "emulator") {
    if (!upstreamBaseUrl) {
      emulator = await startEmulator({ host: "127.0.0.1", port: config.emulatorPort });
      upstreamBaseUrl = emulator.url;
    }
    tokens = staticToken("emulator");
    logger.warn(
      { upstream: "emulator", baseUrl: upstreamBaseUrl, embedded: emulator !== undefined },
      `UPSTREAM IS THE GEMINI EMULATOR at ${upstreamBaseUrl}: answers are synthetic. ` +
        `Set ${ENV.PROJECT} (and ${ENV.UPSTREAM}=vertex) to call Vertex AI.`,
    );
  } else {
    tokens = adcTokenSource({ onError: (err) => logger.error({ err: err.message }, "could not get an access token") });
    // Fetch the first token now so the first call does not wait and readiness reflects reality.
    await Promise.resolve(tokens.authorization()).catch(() => undefined);
    logger.info(
      {
        upstream: "vertex",
        project: config.upstream.project,
        location: config.upstream.location,
        baseUrl: upstreamBaseUrl,
      },
      `upstream is Vertex AI, project ${config.upstream.project}, location ${config.upstream.location}`,
    );
  }

  const tenantsFileTime = config.tenantsFile ? statSync(config.tenantsFile).mtimeMs : undefined;
  const gateway = await startGateway({ config, tenants, tokens, logger, upstreamBaseUrl, tenantsFileTime });
  const consoleUrl = config.metrics.adminKeySha256 ? `${gateway.url}/console/` : undefined;
  if (devKey) {
    // Printed (not logged as fields) so they are easy to copy; only in emulator mode, where they spend nothing.
    console.log(
      `\n  Console: ${consoleUrl}` +
        (devAdminKey
          ? `   (log in with the development admin key: ${devAdminKey})`
          : "   (log in with your admin key)") +
        `\n\n  Development key (tenant "dev", all models): ${devKey}\n` +
        `  Try: curl -s ${gateway.url}/v1beta/models/gemini-2.5-flash:generateContent \\\n` +
        `         -H "x-goog-api-key: ${devKey}" -H "content-type: application/json" \\\n` +
        `         -d '{"contents":[{"role":"user","parts":[{"text":"Hello"}]}]}'\n`,
    );
  }
  logger.info(
    {
      listening: gateway.listening,
      url: gateway.url,
      console: consoleUrl ?? "off (set GATEWAY_ADMIN_KEY_SHA256)",
      tenants: tenants.length,
      models: config.models,
      metrics: gateway.metricsUrl ?? "off",
      prompts: config.prompts.dir ?? "none",
      upstreamProtocol: config.upstream.protocol,
    },
    `gateway listening on ${gateway.listening}, reachable at ${gateway.url}`,
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    const cut = await gateway.shutdown();
    await emulator?.close();
    logger.info({ cut }, "stopped");
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop("SIGTERM"));
  process.once("SIGINT", () => void stop("SIGINT"));
}

function loadTenants(config: Config, logger: Logger): { tenants: Tenant[]; devKey?: string } {
  const defaults = { cacheTtlSeconds: config.cache.ttlSeconds };
  if (config.tenantsFile) return { tenants: loadTenantsFile(config.tenantsFile, config.models, defaults) };
  if (config.upstream.kind === "vertex") {
    console.error(
      `Refusing to start: ${ENV.TENANTS_FILE} is required with the Vertex AI upstream (every call would be billed to ` +
        `${config.upstream.project}). Create keys with: npm run keys -- new <tenant>`,
    );
    process.exit(1);
  }
  const key = newKey();
  logger.warn(
    { tenant: "dev" },
    `no ${ENV.TENANTS_FILE}: created a development tenant "dev" with a key valid until exit`,
  );
  const tenants = parseTenants(
    { tenants: [{ id: "dev", keySha256: sha256Hex(key), models: ["*"] }] },
    config.models,
    "development tenant",
    defaults,
  );
  return { tenants, devKey: key };
}

main().catch((err: unknown) => {
  console.error("gateway failed to start:", err instanceof Error ? err.message : err);
  process.exit(1);
});
