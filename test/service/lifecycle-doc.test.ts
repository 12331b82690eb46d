/**
 * docs/lifecycle.md's "Limits" table against the code: every limit on reading a request body has a row naming its
 * setting with the default loadConfig applies, and the status the gateway answers when it is crossed (the errors
 * read-body.ts and json-scan.ts raise).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ENV, loadConfig } from "../../service/src/config/env.js";
import { MAX_JSON_DEPTH } from "../../service/src/http/json-scan.js";
import { errors, type GatewayError } from "../../service/src/wire/errors.js";

const doc = readFileSync(fileURLToPath(new URL("../../docs/lifecycle.md", import.meta.url)), "utf8");

/** The Limits table's rows: [limit, setting (default), crossing it]. */
function limitsTable(): string[][] {
  const section = doc.split(/^## Limits$/m)[1]?.split(/^## /m)[0] ?? "";
  return section
    .split("\n")
    .filter((l) => l.startsWith("|"))
    .slice(2) // header and separator
    .map((l) =>
      l
        .split("|")
        .slice(1, -1)
        .map((c) => c.trim()),
    );
}

describe("docs/lifecycle.md, Limits", () => {
  const body = loadConfig({}).body;
  const rows: { setting: string; value: string; refusal: GatewayError }[] = [
    {
      setting: `\`${ENV.MAX_BODY_BYTES}\``,
      value: `${body.maxBytes / 1024 / 1024} MiB`,
      refusal: errors.payloadTooLarge(body.maxBytes),
    },
    {
      setting: `\`${ENV.MAX_JSON_VALUES}\``,
      value: body.maxJsonValues.toLocaleString("en-US"),
      refusal: errors.tooManyJsonValues(body.maxJsonValues),
    },
    { setting: "`MAX_JSON_DEPTH`", value: `${MAX_JSON_DEPTH} levels`, refusal: errors.jsonTooDeep(MAX_JSON_DEPTH) },
    {
      setting: `\`${ENV.BODY_TIMEOUT_MS}\``,
      value: `${body.timeoutMs / 1000} s`,
      refusal: errors.bodyTimeout(body.timeoutMs),
    },
  ];

  it.each(rows.map((r) => [r.setting, r] as const))(
    "has a row for %s with its default and the status it produces",
    (_, r) => {
      const row = limitsTable().find(([, setting]) => setting!.includes(r.setting));
      expect(row, `no row names ${r.setting}`).toBeDefined();
      const [, setting, crossing] = row!;
      expect(setting).toContain(r.value);
      expect(crossing).toMatch(new RegExp(`^${r.refusal.httpCode} \`${r.refusal.status}\``));
      if (r.refusal.headers?.connection === "close") expect(crossing).toContain("`Connection: close`");
    },
  );
});
