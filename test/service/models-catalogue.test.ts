/**
 * The model catalogue (wire/models.json): every model the gateway serves by default is in it and priced, embedding
 * models carry their limits, and the operation table serves each model only the methods it has.
 */
import { describe, expect, it } from "vitest";
import { costOf } from "../../service/src/accounting/cost.js";
import { loadPriceTable } from "../../service/src/accounting/prices.js";
import { DEFAULT_MODELS } from "../../service/src/config/env.js";
import { operationsServing } from "../../service/src/pipeline/operations.js";
import { GEMINI_MODELS } from "../../service/src/wire/gemini.js";
import { EMBEDDING_MODELS, MODEL_CATALOGUE, embeddingSpec, modelInfo } from "../../service/src/wire/models.js";

const prices = loadPriceTable();

describe("model catalogue", () => {
  it("has every default model, the Gemini family and gemini-embedding-001, and prices each", () => {
    expect(DEFAULT_MODELS).toEqual([...GEMINI_MODELS, "gemini-embedding-001"]);
    for (const m of [...DEFAULT_MODELS, ...MODEL_CATALOGUE.keys()]) {
      expect(modelInfo(m), m).toBeDefined();
      expect(costOf(prices, m, { promptTokenCount: 1 }), m).toBeDefined();
    }
  });

  it("gives embedding models their dimensions, limits and Vertex method (as Google documents them)", () => {
    expect(EMBEDDING_MODELS).toEqual(["gemini-embedding-001", "gemini-embedding-2"]);
    expect(embeddingSpec("gemini-embedding-001")).toEqual({
      dimensions: 3072,
      multimodal: false,
      maxInputsPerRequest: 100,
      vertex: { method: "predict", inputsPerCall: 1 },
    });
    expect(modelInfo("gemini-embedding-001")?.inputTokenLimit).toBe(2048);
    expect(embeddingSpec("gemini-embedding-2")?.vertex).toEqual({ method: "embedContent", inputsPerCall: 1 });
    expect(modelInfo("gemini-embedding-2")?.inputTokenLimit).toBe(8192);
    expect(embeddingSpec("gemini-2.5-flash")).toBeUndefined();
  });

  it("serves generative models the generate methods and embedding models the embedding methods", () => {
    expect(operationsServing("gemini-2.5-flash")).toEqual([
      "generateContent",
      "streamGenerateContent",
      "countTokens",
      "createCachedContent",
      "batchGenerateContent",
    ]);
    expect(operationsServing("gemini-embedding-001")).toEqual(["embedContent", "batchEmbedContents", "predict"]);
    // A served model without catalogue metadata is generative.
    expect(operationsServing("gemini-2.0-flash-001")).toEqual([
      "generateContent",
      "streamGenerateContent",
      "countTokens",
      "createCachedContent",
      "batchGenerateContent",
    ]);
  });

  it("prices embeddings per input token, and gemini-embedding-2's media at their own prices", () => {
    // 1,000,000 tokens × $0.15
    expect(costOf(prices, "gemini-embedding-001", { promptTokenCount: 1_000_000 })?.totalUsd).toBe(0.15);
    // (text 1,000 × 0.20 + image 2,000 × 0.45 + audio 3,000 × 6.50 + video 4,000 × 12.00) / 1e6 = 68,600 / 1e6 USD
    const usage = {
      promptTokenCount: 10_000,
      promptTokensDetails: [
        { modality: "TEXT", tokenCount: 1_000 },
        { modality: "IMAGE", tokenCount: 2_000 },
        { modality: "AUDIO", tokenCount: 3_000 },
        { modality: "VIDEO", tokenCount: 4_000 },
      ],
    } as Parameters<typeof costOf>[2];
    expect(costOf(prices, "gemini-embedding-2", usage)).toEqual({
      inputUsd: 0.0686,
      cachedInputUsd: 0,
      outputUsd: 0,
      thinkingUsd: 0,
      totalUsd: 0.0686,
    });
  });
});
