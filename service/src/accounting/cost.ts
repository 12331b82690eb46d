/**
 * The cost of one call, from the response's usageMetadata and the price table. It runs once per call on the hot path:
 * plain property reads and loops, no zod, no intermediate arrays; the only allocation is the result.
 *
 * What each usageMetadata field means, and where that fact comes from (the cost bugs peers have are in exactly these:
 * shared/reference/gateway-peers.md, complaint 5):
 * - `promptTokenCount` INCLUDES `cachedContentTokenCount`: @google/genai 2.32 `GenerateContentResponseUsageMetadata`
 *   ("When `cached_content` is set, this also includes the number of tokens in the cached content"). So the uncached
 *   part, prompt − cached, is billed at the input rate and the cached part at the cached rate; billing the whole prompt
 *   at the input rate and the cached tokens again is LiteLLM #14849. The field counts implicit and explicit cache hits
 *   alike (Vertex AI docs, "Context caching overview").
 * - `thoughtsTokenCount` is NOT part of `candidatesTokenCount`: the same SDK type documents `totalTokenCount` as the sum
 *   of prompt, candidates, toolUsePrompt and thoughts. Thinking is billed at the output rate
 *   (shared/reference/gemini-wire.md, "Models and list prices").
 * - `toolUsePromptTokenCount` ("tokens in the results of tool executions, which are provided back to the model as
 *   input", same SDK type) is outside the prompt count and billed as input.
 * - Long-context tiers: a prompt over 200k tokens bills the whole request (input, cached, output, thinking) at the
 *   higher rates (the reference's price table; Google's pricing pages say "prompts > 200k tokens"). The prompt size is
 *   `promptTokenCount`, cached tokens included: the cached price itself has a > 200k tier, which only means something
 *   if cached tokens count. Whether tool-use tokens count toward the threshold is unconfirmed; here they do not.
 * - Audio: `promptTokensDetails` breaks `promptTokenCount` down by modality, cached tokens included, and
 *   `cacheTokensDetails` breaks down the cached part (SDK type), so uncached audio = prompt AUDIO − cached AUDIO,
 *   billed at the model's audio price where it has one. Cached audio is billed at the cached rate (the table has no
 *   cached-audio price). Image and video prompt tokens likewise, for models with an image or video price
 *   (gemini-embedding-2 prices text, image, audio and video input apart).
 */
import type { UsageMetadataWire } from "../wire/gemini.js";
import type { Price, PriceTable } from "./prices.js";

/** USD for one call by kind of token, each rounded to 1e-9; `totalUsd` is the rounded sum of the four parts. */
export interface CallCost {
  /** Uncached prompt tokens (audio at its own price) and tool-use prompt tokens. */
  inputUsd: number;
  cachedInputUsd: number;
  outputUsd: number;
  thinkingUsd: number;
  totalUsd: number;
}

/** Tokens by kind; each is billed once (input + cachedInput = promptTokenCount). */
export interface TokenUsage {
  /** The uncached part of the prompt: promptTokenCount − cachedContentTokenCount. */
  input: number;
  cachedInput: number;
  /** Candidate tokens, without thinking. */
  output: number;
  thinking: number;
  toolUsePrompt: number;
}

type ModalityCounts = UsageMetadataWire["promptTokensDetails"];

/**
 * Tokens by type from a response's usageMetadata (Vertex wire shape; fields may be absent → 0). `input` here is
 * the uncached part of the prompt.
 */
export function tokenUsageOf(usage: UsageMetadataWire | undefined): TokenUsage | undefined {
  if (!usage) return undefined;
  const prompt = count(usage.promptTokenCount);
  const cached = count(usage.cachedContentTokenCount);
  return {
    input: Math.max(0, prompt - cached),
    cachedInput: cached,
    output: count(usage.candidatesTokenCount),
    thinking: count(usage.thoughtsTokenCount),
    toolUsePrompt: count(usage.toolUsePromptTokenCount),
  };
}

/** USD for one call; undefined when the model has no price (the caller counts that as "unpriced"). */
export function costOf(
  table: PriceTable,
  model: string,
  usage: UsageMetadataWire,
  tier: "standard" | "batch" = "standard",
): CallCost | undefined {
  // hasOwn: a model id such as "constructor" must not find Object.prototype's members.
  const listed = Object.hasOwn(table.models, model) ? table.models[model] : undefined;
  if (!listed) return undefined;
  // Batch jobs pay the model's batch prices (half the standard ones on Google's tables); none listed = unpriced.
  if (tier === "batch" && (listed.batchInput === undefined || listed.batchOutput === undefined)) return undefined;
  const prices =
    tier === "batch"
      ? { ...listed, input: listed.batchInput!, output: listed.batchOutput!, audioInput: undefined }
      : listed;

  const prompt = count(usage.promptTokenCount);
  const cached = count(usage.cachedContentTokenCount);
  const uncached = Math.max(0, prompt - cached);
  const toolUse = count(usage.toolUsePromptTokenCount);

  const inputRate = rateFor(prices.input, prompt);
  // Modalities priced apart (audio; image and video for gemini-embedding-2): their uncached tokens at their own
  // price, the rest of the prompt at the input price. Clamped: the details are a breakdown of the counts and must not
  // bill more than there is uncached prompt. Plain branches, no arrays: this runs on every call.
  let apart = 0;
  let apartCost = 0;
  if (prices.audioInput !== undefined) {
    const n = uncachedModality(usage, "AUDIO", uncached - apart);
    apart += n;
    apartCost += n * rateFor(prices.audioInput, prompt);
  }
  if (prices.imageInput !== undefined) {
    const n = uncachedModality(usage, "IMAGE", uncached - apart);
    apart += n;
    apartCost += n * rateFor(prices.imageInput, prompt);
  }
  if (prices.videoInput !== undefined) {
    const n = uncachedModality(usage, "VIDEO", uncached - apart);
    apart += n;
    apartCost += n * rateFor(prices.videoInput, prompt);
  }
  const outputRate = rateFor(prices.output, prompt);

  const inputUsd = nano(((uncached - apart + toolUse) * inputRate + apartCost) / 1e6);
  const cachedInputUsd = nano((cached * rateFor(prices.cachedInput, prompt)) / 1e6);
  const outputUsd = nano((count(usage.candidatesTokenCount) * outputRate) / 1e6);
  const thinkingUsd = nano((count(usage.thoughtsTokenCount) * outputRate) / 1e6);
  return {
    inputUsd,
    cachedInputUsd,
    outputUsd,
    thinkingUsd,
    totalUsd: nano(inputUsd + cachedInputUsd + outputUsd + thinkingUsd),
  };
}

/** The price per 1M tokens that applies to a request with this prompt size. */
function rateFor(price: Price, promptTokens: number): number {
  if (typeof price === "number") return price;
  for (const tier of price) {
    if (tier.maxPromptTokens === undefined || promptTokens <= tier.maxPromptTokens) return tier.price;
  }
  // A validated table ends with an open-ended tier, so this is not reached; the top tier is the safe side.
  return price[price.length - 1]?.price ?? 0;
}

/** Uncached prompt tokens of one modality (prompt details − cache details), at most `room`. */
function uncachedModality(usage: UsageMetadataWire, name: string, room: number): number {
  return Math.min(
    room,
    Math.max(0, modality(usage.promptTokensDetails, name) - modality(usage.cacheTokensDetails, name)),
  );
}

function modality(details: ModalityCounts, name: string): number {
  if (!Array.isArray(details)) return 0;
  let n = 0;
  for (const d of details) if (d && (d.modality as string | undefined) === name) n += count(d.tokenCount);
  return n;
}

/** The response JSON is not validated on the hot path: a missing, negative or non-numeric count bills nothing. */
function count(n: unknown): number {
  return typeof n === "number" && n > 0 && Number.isFinite(n) ? n : 0;
}

/** Rounded to nano-dollars, so sums of many calls in metrics stay free of floating-point dust. */
function nano(usd: number): number {
  return Math.round(usd * 1e9) / 1e9;
}

/**
 * What keeping `tokens` in a context cache for `ms` costs: tokens × hours × the model's storage price per 1M tokens per
 * hour (tiered by the cache's size). Negative for a refund (a cache deleted before its expiry). Undefined when the
 * model has no storage price.
 */
export function cacheStorageUsd(table: PriceTable, model: string, tokens: number, ms: number): number | undefined {
  const prices = Object.hasOwn(table.models, model) ? table.models[model] : undefined;
  if (!prices?.cacheStorage) return undefined;
  return nano((tokens * (ms / 3_600_000) * rateFor(prices.cacheStorage, tokens)) / 1e6);
}

/** Every token of a call, each counted once (what a tokens-per-minute limit and the usage watch count). */
export function totalTokens(t: TokenUsage): number {
  return t.input + t.cachedInput + t.output + t.thinking + t.toolUsePrompt;
}

/** USD as integer micro-dollars, the unit of spend counters and spend limits. */
export function usdMicros(usd: number): number {
  return Math.round(usd * 1e6);
}
