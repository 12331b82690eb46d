/**
 * The layer rule in eslint.config.js, through ESLint itself: dependencies in service/src point one way (surfaces →
 * pipeline → upstream, store, … → config, wire, http), and the emulator imports only the wire format.
 */
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";

const eslint = new ESLint();

async function restricted(filePath: string, specifier: string): Promise<boolean> {
  const [result] = await eslint.lintText(`import { x } from "${specifier}";\nexport const y = x;\n`, { filePath });
  return result!.messages.some((m) => m.ruleId === "no-restricted-imports");
}

describe("service layers", () => {
  it.each([
    ["service/src/wire/x.ts", "../pipeline/pipeline.js"],
    ["service/src/config/x.ts", "../upstream/http.js"],
    ["service/src/http/x.ts", "../surfaces/routes.js"],
    ["service/src/upstream/x.ts", "../pipeline/sse.js"],
    ["service/src/route/x.ts", "../pipeline/call.js"],
    ["service/src/pipeline/x.ts", "../surfaces/gemini.js"],
    ["service/src/emulator/x.ts", "../upstream/http.js"],
    ["service/src/store/x.ts", "../console/session.js"],
  ])("refuses %s importing %s", async (file, specifier) => {
    expect(await restricted(file, specifier)).toBe(true);
  });

  it.each([
    ["service/src/surfaces/x.ts", "../pipeline/pipeline.js"],
    ["service/src/pipeline/x.ts", "../route/router.js"],
    ["service/src/route/x.ts", "../upstream/provider.js"],
    ["service/src/upstream/x.ts", "../wire/errors.js"],
    ["service/src/emulator/x.ts", "../wire/gemini.js"],
    ["service/src/console/x.ts", "../store/store.js"],
  ])("allows %s importing %s", async (file, specifier) => {
    expect(await restricted(file, specifier)).toBe(false);
  });
});
