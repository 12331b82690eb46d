/**
 * Offline (no gateway needed):
 * `npm run keys -- new <tenant> [--models a,b] [--priority batch]`: prints a fresh gateway key and the tenant entry
 * (with only the key's SHA-256) to paste into GATEWAY_TENANTS_FILE.
 * `npm run keys -- hash` reads a key on stdin and prints its SHA-256.
 *
 * Against a running gateway's admin API (`--url`, default http://127.0.0.1:8080; the admin key from the environment
 * variable GATEWAY_ADMIN_KEY, never an argument, so it stays out of shell history and process lists):
 * `list [--tenant ID]`, `create <tenant> --label L [--expires RFC3339]`, `rotate <id> [--overlap SECONDS] [--label L]`,
 * `revoke <id>` — the same operations the console uses (docs/keys.md). The secret of a created or rotated key is
 * printed once, on its own line.
 */
import { parseArgs } from "node:util";
import { newKey, PRIORITIES, sha256Hex } from "../config/tenants.js";
import { adminCommand, ADMIN_COMMANDS } from "./keys-admin.js";

const USAGE = `Usage:
  npm run keys -- new <tenant-id> [--models gemini-2.5-flash,gemini-2.5-pro] [--priority interactive|batch]
  echo -n "$KEY" | npm run keys -- hash
  GATEWAY_ADMIN_KEY=… npm run keys -- list [--tenant ID] [--url http://127.0.0.1:8080] [--json]
  GATEWAY_ADMIN_KEY=… npm run keys -- create <tenant-id> --label "ci runner" [--expires 2027-01-31T00:00:00Z]
  GATEWAY_ADMIN_KEY=… npm run keys -- rotate <key-id> [--overlap 86400] [--label "…"]
  GATEWAY_ADMIN_KEY=… npm run keys -- revoke <key-id>`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      models: { type: "string", default: "*" },
      priority: { type: "string", default: "interactive" },
      url: { type: "string", default: "http://127.0.0.1:8080" },
      tenant: { type: "string" },
      label: { type: "string" },
      expires: { type: "string" },
      overlap: { type: "string" },
      json: { type: "boolean", default: false },
    },
  });
  const [command, tenant] = positionals;
  if (command && (ADMIN_COMMANDS as readonly string[]).includes(command)) {
    return adminCommand(command as (typeof ADMIN_COMMANDS)[number], positionals.slice(1), values, USAGE);
  }
  if (command === "new") {
    if (!tenant || !/^[a-z][a-z0-9_-]{0,62}$/.test(tenant)) {
      console.error(`Tenant id must be lowercase letters, digits, _ or -, starting with a letter.\n${USAGE}`);
      return 2;
    }
    if (!(PRIORITIES as readonly string[]).includes(values.priority)) {
      console.error(`--priority must be one of: ${PRIORITIES.join(", ")}`);
      return 2;
    }
    const key = newKey();
    const entry = {
      id: tenant,
      keySha256: sha256Hex(key),
      models: values.models
        .split(",")
        .map((m) => m.trim())
        .filter(Boolean),
      priority: values.priority,
    };
    console.log(`Key for tenant "${tenant}" (shown once; give it to the tenant, store it nowhere else):\n\n  ${key}\n`);
    console.log(`Tenant entry for GATEWAY_TENANTS_FILE:\n\n${JSON.stringify(entry, null, 2)}`);
    return 0;
  }
  if (command === "hash") {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    const key = Buffer.concat(chunks).toString("utf8").trim();
    if (!key) {
      console.error(`No key on stdin.\n${USAGE}`);
      return 2;
    }
    console.log(sha256Hex(key));
    return 0;
  }
  console.error(USAGE);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(2);
  },
);
