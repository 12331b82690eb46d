/**
 * `npm run emulator`: runs the Gemini emulator as a process. Knobs come from EMULATOR_* variables (settings.ts) and
 * can be changed at run time with POST /__emulator/config. Logs one line at start and nothing per request.
 */
import { startEmulator } from "./server.js";
import { settingsFromEnv } from "./settings.js";

function portFromEnv(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === "") return 8081;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n > 65_535)
    throw new Error(`EMULATOR_PORT must be a port number 0..65535, got "${raw}"`);
  return n;
}

async function main(): Promise<void> {
  let port: number;
  let settings;
  try {
    port = portFromEnv(process.env.EMULATOR_PORT);
    settings = settingsFromEnv(process.env);
  } catch (err) {
    console.error(`gemini emulator: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
  const host = process.env.EMULATOR_HOST?.trim() || "127.0.0.1";
  const emulator = await startEmulator({ port, host, settings });
  const s = emulator.settings();
  console.log(
    `gemini emulator listening on ${emulator.url} (HTTP/1.1 and h2c, region ${s.region}, control plane at /__emulator/config)`,
  );

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    emulator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

main().catch((err: unknown) => {
  console.error(`gemini emulator: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
