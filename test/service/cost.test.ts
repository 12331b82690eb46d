import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { costOf, tokenUsageOf } from "../../service/src/accounting/cost.js";
import { loadPriceTable } from "../../service/src/accounting/prices.js";
import { ConfigError } from "../../service/src/config/env.js";
import { GEMINI_MODELS, type UsageMetadataWire } from "../../service/src/wire/gemini.js";

// Every expected figure below is worked out by hand from the list prices in shared/reference/gemini-wire.md
// (USD per 1M tokens), not from the table under test, so a wrong price in prices.json fails too.
// Costs are rounded to 1e-9, so the figures compare exactly with toBe.
const table = loadPriceTable();

const dir = mkdtempSync(join(tmpdir(), "prices-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
function writeTable(name: string, doc: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof doc === "string" ? doc : JSON.stringify(doc));
  return path;
}
function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

describe("costOf: gemini-2.5-flash (input 0.30, audio 1.00, output 2.50, cached 0.03)", () => {
  it("bills prompt at the input rate and candidates at the output rate", () => {
    // 1,000 × 0.30 = 300 µ$; 500 × 2.50 = 1,250 µ$
    expect(costOf(table, "gemini-2.5-flash", { promptTokenCount: 1000, candidatesTokenCount: 500 })).toEqual({
      inputUsd: 0.0003,
      cachedInputUsd: 0,
      outputUsd: 0.00125,
      thinkingUsd: 0,
      totalUsd: 0.00155,
    });
  });

  it("bills cached tokens once, at the cached rate (promptTokenCount includes them)", () => {
    // uncached 10,000 − 8,000 = 2,000 × 0.30 = 600 µ$; cached 8,000 × 0.03 = 240 µ$; 100 × 2.50 = 250 µ$
    const usage = { promptTokenCount: 10_000, cachedContentTokenCount: 8_000, candidatesTokenCount: 100 };
    expect(costOf(table, "gemini-2.5-flash", usage)).toEqual({
      inputUsd: 0.0006,
      cachedInputUsd: 0.00024,
      outputUsd: 0.00025,
      thinkingUsd: 0,
      totalUsd: 0.00109,
    });
  });

  it("bills thinking tokens at the output rate, on top of the candidates", () => {
    // 100 × 0.30 = 30 µ$; 20 × 2.50 = 50 µ$; thoughts 980 × 2.50 = 2,450 µ$
    const usage = { promptTokenCount: 100, candidatesTokenCount: 20, thoughtsTokenCount: 980, totalTokenCount: 1100 };
    expect(costOf(table, "gemini-2.5-flash", usage)).toEqual({
      inputUsd: 0.00003,
      cachedInputUsd: 0,
      outputUsd: 0.00005,
      thinkingUsd: 0.00245,
      totalUsd: 0.00253,
    });
  });

  it("bills AUDIO prompt tokens at the audio price", () => {
    // text 100 × 0.30 = 30 µ$ + audio 3,200 × 1.00 = 3,200 µ$; 200 × 2.50 = 500 µ$
    const usage = {
      promptTokenCount: 3300,
      candidatesTokenCount: 200,
      promptTokensDetails: [
        { modality: "TEXT", tokenCount: 100 },
        { modality: "AUDIO", tokenCount: 3200 },
      ],
    } as UsageMetadataWire;
    expect(costOf(table, "gemini-2.5-flash", usage)).toEqual({
      inputUsd: 0.00323,
      cachedInputUsd: 0,
      outputUsd: 0.0005,
      thinkingUsd: 0,
      totalUsd: 0.00373,
    });
  });

  it("takes cached audio out of the audio-priced part (it is billed at the cached rate)", () => {
    // uncached 2,300 = text 100 × 0.30 (30 µ$) + audio (3,200 − 1,000) × 1.00 (2,200 µ$); cached 1,000 × 0.03 = 30 µ$
    const usage = {
      promptTokenCount: 3300,
      cachedContentTokenCount: 1000,
      promptTokensDetails: [
        { modality: "TEXT", tokenCount: 100 },
        { modality: "AUDIO", tokenCount: 3200 },
      ],
      cacheTokensDetails: [{ modality: "AUDIO", tokenCount: 1000 }],
    } as UsageMetadataWire;
    const cost = costOf(table, "gemini-2.5-flash", usage);
    expect(cost?.inputUsd).toBe(0.00223);
    expect(cost?.cachedInputUsd).toBe(0.00003);
    expect(cost?.totalUsd).toBe(0.00226);
  });
});

describe("costOf: gemini-2.5-pro tiers (≤ 200k: 1.25 / 10 / 0.125; > 200k: 2.50 / 15 / 0.25)", () => {
  it("bills a prompt of exactly 200,000 tokens at the lower tier", () => {
    // 200,000 × 1.25 = 0.25 $; 1,000 × 10 = 0.01 $; thoughts 2,000 × 10 = 0.02 $
    const usage = { promptTokenCount: 200_000, candidatesTokenCount: 1000, thoughtsTokenCount: 2000 };
    expect(costOf(table, "gemini-2.5-pro", usage)).toEqual({
      inputUsd: 0.25,
      cachedInputUsd: 0,
      outputUsd: 0.01,
      thinkingUsd: 0.02,
      totalUsd: 0.28,
    });
  });

  it("bills the whole request at the higher tier above 200k, counting cached tokens toward the size", () => {
    // prompt 200,001 (of which 100,000 cached): uncached 100,001 × 2.50 = 0.2500025 $; cached 100,000 × 0.25 =
    // 0.025 $; output 1,000 × 15 = 0.015 $; thoughts 2,000 × 15 = 0.03 $
    const usage = {
      promptTokenCount: 200_001,
      cachedContentTokenCount: 100_000,
      candidatesTokenCount: 1000,
      thoughtsTokenCount: 2000,
    };
    expect(costOf(table, "gemini-2.5-pro", usage)).toEqual({
      inputUsd: 0.2500025,
      cachedInputUsd: 0.025,
      outputUsd: 0.015,
      thinkingUsd: 0.03,
      totalUsd: 0.3200025,
    });
  });

  it("bills audio at the input rate for a model without an audio price", () => {
    const usage = { promptTokenCount: 1000, promptTokensDetails: [{ modality: "AUDIO", tokenCount: 1000 }] };
    expect(costOf(table, "gemini-2.5-pro", usage as UsageMetadataWire)?.inputUsd).toBe(0.00125);
  });
});

describe("costOf: gemini-2.5-flash-lite (input 0.10, output 0.40, cached 0.01)", () => {
  it("bills prompt and output", () => {
    // 50,000 × 0.10 = 5,000 µ$; 2,000 × 0.40 = 800 µ$
    expect(costOf(table, "gemini-2.5-flash-lite", { promptTokenCount: 50_000, candidatesTokenCount: 2000 })).toEqual({
      inputUsd: 0.005,
      cachedInputUsd: 0,
      outputUsd: 0.0008,
      thinkingUsd: 0,
      totalUsd: 0.0058,
    });
  });

  it("bills tool-use prompt tokens as input, outside promptTokenCount", () => {
    // (1,000 + 4,000) × 0.10 = 500 µ$
    const usage = { promptTokenCount: 1000, toolUsePromptTokenCount: 4000 };
    expect(costOf(table, "gemini-2.5-flash-lite", usage)?.inputUsd).toBe(0.0005);
  });

  it("rounds to nano-dollars, so floating-point dust does not reach the sums", () => {
    // 3 × 0.10 / 1e6 is 3.0000000000000004e-7 in floating point; 3 × 0.40 / 1e6 is 1.2000000000000002e-6
    const cost = costOf(table, "gemini-2.5-flash-lite", { promptTokenCount: 3, candidatesTokenCount: 3 });
    expect(cost?.inputUsd).toBe(3e-7);
    expect(cost?.outputUsd).toBe(1.2e-6);
    expect(cost?.totalUsd).toBe(1.5e-6);
  });
});

describe("costOf: other models and edge cases", () => {
  it("prices the Gemini 3 models from the table", () => {
    // 3-pro ≤ 200k: 10,000 × 2 = 0.02 $ + 1,000 × 12 = 0.012 $; > 200k: 300,000 × 4 = 1.2 $ + 1,000 × 18 = 0.018 $
    expect(
      costOf(table, "gemini-3-pro-preview", { promptTokenCount: 10_000, candidatesTokenCount: 1000 })?.totalUsd,
    ).toBe(0.032);
    expect(
      costOf(table, "gemini-3.1-pro-preview", { promptTokenCount: 300_000, candidatesTokenCount: 1000 })?.totalUsd,
    ).toBe(1.218);
    // 3-flash: 1,000 × 0.50 + 1,000 × 3 = 3,500 µ$; 3.1-flash-lite: 1,000 × 0.25 + 1,000 × 1.50 = 1,750 µ$
    expect(
      costOf(table, "gemini-3-flash-preview", { promptTokenCount: 1000, candidatesTokenCount: 1000 })?.totalUsd,
    ).toBe(0.0035);
    expect(
      costOf(table, "gemini-3.1-flash-lite", { promptTokenCount: 1000, candidatesTokenCount: 1000 })?.totalUsd,
    ).toBe(0.00175);
  });

  it("returns undefined for a model without a price, including names of Object.prototype members", () => {
    expect(costOf(table, "gemini-1.0-ultra", { promptTokenCount: 10 })).toBeUndefined();
    expect(costOf(table, "constructor", { promptTokenCount: 10 })).toBeUndefined();
    expect(costOf(table, "__proto__", { promptTokenCount: 10 })).toBeUndefined();
  });

  it("treats absent fields as 0 (Vertex can send an empty usageMetadata)", () => {
    expect(costOf(table, "gemini-2.5-flash", {})).toEqual({
      inputUsd: 0,
      cachedInputUsd: 0,
      outputUsd: 0,
      thinkingUsd: 0,
      totalUsd: 0,
    });
    expect(costOf(table, "gemini-2.5-flash", { candidatesTokenCount: 4 })?.totalUsd).toBe(0.00001);
  });

  it("bills nothing for counts that are not non-negative numbers", () => {
    const junk = { promptTokenCount: "1000", candidatesTokenCount: -5, thoughtsTokenCount: Number.NaN };
    expect(costOf(table, "gemini-2.5-flash", junk as unknown as UsageMetadataWire)?.totalUsd).toBe(0);
  });
});

describe("tokenUsageOf", () => {
  it("splits the prompt into uncached and cached, and keeps thinking and tool use apart", () => {
    const usage = {
      promptTokenCount: 1000,
      cachedContentTokenCount: 600,
      candidatesTokenCount: 50,
      thoughtsTokenCount: 70,
      toolUsePromptTokenCount: 30,
      totalTokenCount: 1150,
    };
    expect(tokenUsageOf(usage)).toEqual({ input: 400, cachedInput: 600, output: 50, thinking: 70, toolUsePrompt: 30 });
  });

  it("reads absent fields as 0, and no usage as undefined", () => {
    expect(tokenUsageOf({})).toEqual({ input: 0, cachedInput: 0, output: 0, thinking: 0, toolUsePrompt: 0 });
    expect(tokenUsageOf({ promptTokenCount: 12 })).toEqual({
      input: 12,
      cachedInput: 0,
      output: 0,
      thinking: 0,
      toolUsePrompt: 0,
    });
    expect(tokenUsageOf(undefined)).toBeUndefined();
  });
});

describe("loadPriceTable", () => {
  it("loads the bundled table, dated, in USD per 1M tokens, frozen", () => {
    expect(table.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(table.source).toMatch(/check before relying/);
    expect(table.currency).toBe("USD");
    expect(table.unit).toBe("per 1M tokens");
    expect(Object.isFrozen(table) && Object.isFrozen(table.models)).toBe(true);
    expect(Object.isFrozen(table.models["gemini-2.5-pro"]?.input)).toBe(true);
  });

  it("prices every model in GEMINI_MODELS", () => {
    const unpriced = GEMINI_MODELS.filter((m) => !Object.hasOwn(table.models, m));
    expect(unpriced).toEqual([]);
    for (const m of GEMINI_MODELS) expect(costOf(table, m, { promptTokenCount: 1 })).toBeDefined();
  });

  it("loads a custom table file (negotiated prices) and prices only what it lists", () => {
    const path = writeTable("discount.json", {
      asOf: "2026-11-01",
      source: "contract 42, 20% off list",
      currency: "USD",
      unit: "per 1M tokens",
      models: {
        "gemini-2.5-flash": { input: 0.24, output: 2, cachedInput: 0.024 },
        "gemini-2.5-pro": {
          input: [{ maxPromptTokens: 100_000, price: 1 }, { maxPromptTokens: 200_000, price: 1.5 }, { price: 2 }],
          output: 8,
          cachedInput: 0.1,
        },
      },
    });
    const custom = loadPriceTable(path);
    expect(custom.source).toBe("contract 42, 20% off list");
    // 1,000 × 0.24 = 240 µ$; 100 × 2 = 200 µ$
    expect(costOf(custom, "gemini-2.5-flash", { promptTokenCount: 1000, candidatesTokenCount: 100 })?.totalUsd).toBe(
      0.00044,
    );
    // three tiers: 150,000 tokens fall in the middle one: 150,000 × 1.5 = 0.225 $
    expect(costOf(custom, "gemini-2.5-pro", { promptTokenCount: 150_000 })?.inputUsd).toBe(0.225);
    expect(costOf(custom, "gemini-2.5-flash-lite", { promptTokenCount: 1000 })).toBeUndefined();
  });

  it("refuses an invalid custom table with a ConfigError naming the file and each bad field", () => {
    const path = writeTable("bad.json", {
      asOf: "2026-11-01",
      source: "typo'd",
      currency: "USD",
      unit: "per 1M tokens",
      models: {
        "gemini-2.5-pro": {
          input: [{ maxPromptTokens: 200_000, price: 1.25 }, { price: -2.5 }],
          output: [{ maxPromptTokens: 200_000, price: 10 }],
          cachedInput: 0.125,
        },
        "gemini-2.5-flash": { input: 0.3, output: 2.5, cachedInputs: 0.03 },
      },
    });
    const err = configErrorOf(() => loadPriceTable(path));
    expect(err.message).toContain(path);
    expect(err.message).toMatch(/models\["gemini-2\.5-pro"\]\.input\[1\]\.price: must be a non-negative/);
    expect(err.message).toMatch(
      /models\["gemini-2\.5-pro"\]\.output\[0\]\.maxPromptTokens: the last tier must be open/,
    );
    expect(err.message).toMatch(/models\["gemini-2\.5-flash"\]\.cachedInput: is required/);
    expect(err.message).toMatch(/models\["gemini-2\.5-flash"\]: Unrecognized key: "cachedInputs"/);
  });

  it("refuses a table in another currency, without a date, or that is not JSON or not there", () => {
    const eur = writeTable("eur.json", { source: "x", currency: "EUR", unit: "per 1M tokens", models: {} });
    const err = configErrorOf(() => loadPriceTable(eur));
    expect(err.message).toMatch(/currency/);
    expect(err.message).toMatch(/asOf/);
    expect(configErrorOf(() => loadPriceTable(writeTable("broken.json", "{ models: "))).message).toMatch(
      /broken\.json" is not valid JSON/,
    );
    expect(configErrorOf(() => loadPriceTable(join(dir, "missing.json"))).message).toMatch(
      /Cannot read price table ".*missing\.json"/,
    );
  });
});
