/**
 * Thinking, deterministically. Real Gemini 2.5 and 3 models think by default; the emulator thinks only when the
 * request has a `generationConfig.thinkingConfig`, so that answers to requests without one stay what they always were
 * (tests and benchmarks predict them exactly).
 *
 * - Gemini 3 takes `thinkingLevel`: MINIMAL 4 thought tokens, LOW 8, MEDIUM 16, HIGH 32 — and only the levels each
 *   model has (3 Pro: LOW, HIGH; 3.1 Pro: LOW, MEDIUM, HIGH; Flash and Flash-Lite: all four); another level is
 *   Google's 400 "Thinking level MEDIUM is not supported for this model. Please retry with other thinking level".
 *   Models before Gemini 3 refuse a level.
 * - `thinkingBudget`: 0 is no thinking (a 400 on 2.5 Pro, which cannot stop thinking), -1 (dynamic) 32 tokens, n
 *   tokens up to 32. A budget and a level together are a 400.
 * - `thinkingConfig` with neither: 32 tokens (dynamic).
 * - `includeThoughts: true` adds a thought part (`thought: true`) with that many words; thought tokens are reported
 *   as `thoughtsTokenCount` either way (billed as output) and are not part of `candidatesTokenCount`.
 */
import { GatewayError } from "../wire/errors.js";

export interface ThinkingPlan {
  tokens: number;
  /** A thought part in the answer (includeThoughts). */
  include: boolean;
}

export const NO_THINKING: ThinkingPlan = Object.freeze({ tokens: 0, include: false });

const DYNAMIC_TOKENS = 32;
const LEVEL_TOKENS: Record<string, number> = { MINIMAL: 4, LOW: 8, MEDIUM: 16, HIGH: 32 };

function levelsOf(model: string): readonly string[] {
  if (!model.startsWith("gemini-3")) return [];
  if (model.startsWith("gemini-3-pro")) return ["LOW", "HIGH"];
  if (model.includes("-pro")) return ["LOW", "MEDIUM", "HIGH"];
  return ["MINIMAL", "LOW", "MEDIUM", "HIGH"];
}

const invalid = (message: string) => new GatewayError(400, "INVALID_ARGUMENT", message);

export function thinkingPlan(model: string, thinkingConfig: unknown): ThinkingPlan | GatewayError {
  if (typeof thinkingConfig !== "object" || thinkingConfig === null) return NO_THINKING;
  const c = thinkingConfig as { thinkingBudget?: unknown; thinkingLevel?: unknown; includeThoughts?: unknown };
  const include = c.includeThoughts === true;
  const level = typeof c.thinkingLevel === "string" ? c.thinkingLevel.toUpperCase() : undefined;
  const budget = typeof c.thinkingBudget === "number" ? c.thinkingBudget : undefined;
  let tokens = DYNAMIC_TOKENS;
  if (level !== undefined && level !== "THINKING_LEVEL_UNSPECIFIED") {
    if (budget !== undefined) return invalid("You can only set one of thinking budget and thinking level.");
    const levels = levelsOf(model);
    if (!levels.length) return invalid("Thinking level is not supported for this model.");
    if (!levels.includes(level)) {
      return invalid(`Thinking level ${level} is not supported for this model. Please retry with other thinking level`);
    }
    tokens = LEVEL_TOKENS[level]!;
  } else if (budget !== undefined) {
    if (budget === 0 && model.startsWith("gemini-2.5-pro")) {
      return invalid("Budget 0 is invalid. This model only works in thinking mode.");
    }
    tokens = budget < 0 ? DYNAMIC_TOKENS : Math.min(budget, DYNAMIC_TOKENS);
  }
  return { tokens, include: include && tokens > 0 };
}
