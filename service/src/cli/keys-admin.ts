/**
 * `npm run keys -- list|create|rotate|revoke`: the admin API's key operations from a terminal (keys.ts parses the
 * arguments). Plain fetch against `--url`; errors print the gateway's own message (Google's envelope) and exit 1.
 */

import type { KeyRecord } from "../keys/records.js";

export const ADMIN_COMMANDS = ["list", "create", "rotate", "revoke"] as const;
type AdminCommand = (typeof ADMIN_COMMANDS)[number];

interface Options {
  url: string;
  tenant?: string | undefined;
  label?: string | undefined;
  expires?: string | undefined;
  overlap?: string | undefined;
  json: boolean;
}

export async function adminCommand(
  command: AdminCommand,
  args: readonly string[],
  o: Options,
  usage: string,
): Promise<number> {
  const adminKey = process.env.GATEWAY_ADMIN_KEY;
  if (!adminKey) {
    console.error(`Set GATEWAY_ADMIN_KEY to the gateway's admin key (the one whose SHA-256 it was given).\n${usage}`);
    return 2;
  }
  const base = o.url.replace(/\/+$/, "");
  const request = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminKey}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json().catch(() => undefined)) as Record<string, unknown> | undefined;
    if (!res.ok) {
      const error = (json?.error ?? {}) as { message?: string; status?: string };
      throw new CliError(`${res.status} ${error.status ?? ""}: ${error.message ?? "no message"}`.trim());
    }
    return json!;
  };
  const [arg] = args;
  try {
    switch (command) {
      case "list": {
        const q = o.tenant ? `?tenant=${encodeURIComponent(o.tenant)}` : "";
        const { keys } = (await request("GET", `/admin/keys${q}`)) as unknown as { keys: KeyRecord[] };
        if (o.json) console.log(JSON.stringify(keys, null, 2));
        else printTable(keys);
        return 0;
      }
      case "create": {
        if (!arg || !o.label) return usageError("create needs a tenant id and --label.", usage);
        const out = await request("POST", "/admin/keys", {
          tenant: arg,
          label: o.label,
          ...(o.expires ? { expiresAt: o.expires } : {}),
        });
        printSecret(out as unknown as { key: KeyRecord; secret: string }, o.json);
        return 0;
      }
      case "rotate": {
        if (!arg) return usageError("rotate needs a key id (npm run keys -- list).", usage);
        const overlap = o.overlap === undefined ? undefined : Number(o.overlap);
        if (overlap !== undefined && !Number.isInteger(overlap))
          return usageError("--overlap is whole seconds.", usage);
        const out = await request("POST", `/admin/keys/${encodeURIComponent(arg)}/rotate`, {
          ...(overlap !== undefined ? { overlapSeconds: overlap } : {}),
          ...(o.label ? { label: o.label } : {}),
        });
        const previous = (out as { previous: KeyRecord }).previous;
        printSecret(out as unknown as { key: KeyRecord; secret: string }, o.json);
        if (!o.json) console.log(`Previous key ${previous.id} stays valid until ${previous.expiresAt}.`);
        return 0;
      }
      case "revoke": {
        if (!arg) return usageError("revoke needs a key id (npm run keys -- list).", usage);
        const { key } = (await request("POST", `/admin/keys/${encodeURIComponent(arg)}/revoke`)) as unknown as {
          key: KeyRecord;
        };
        console.log(o.json ? JSON.stringify(key, null, 2) : `Key ${key.id} (${key.tenant}) is ${key.state}.`);
        return 0;
      }
    }
  } catch (err) {
    console.error(err instanceof CliError ? err.message : `Cannot reach ${base}: ${(err as Error).message}`);
    return 1;
  }
}

class CliError extends Error {}

function usageError(message: string, usage: string): number {
  console.error(`${message}\n${usage}`);
  return 2;
}

function printSecret(out: { key: KeyRecord; secret: string }, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(out, null, 2));
    return;
  }
  console.log(
    `Key ${out.key.id} for tenant "${out.key.tenant}" (shown once; give it to the tenant, store it nowhere else):\n`,
  );
  console.log(`  ${out.secret}\n`);
}

function printTable(keys: readonly KeyRecord[]): void {
  const rows = [
    ["ID", "TENANT", "STATE", "SOURCE", "EXPIRES", "LAST USED", "LABEL"],
    ...keys.map((k) => [k.id, k.tenant, k.state, k.source, k.expiresAt ?? "-", k.lastUsedAt ?? "-", k.label]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  "));
}
