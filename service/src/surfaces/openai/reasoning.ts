/**
 * OpenAI's `reasoning_effort` as Gemini's thinking settings, per model family — the two families control thinking
 * differently and refuse each other's setting:
 *
 * - Gemini 3 takes a `thinkingLevel`, and not every level on every model: Flash and Flash-Lite take MINIMAL, LOW,
 *   MEDIUM and HIGH; 3 Pro only LOW and HIGH ("Thinking level MEDIUM is not supported for this model", Google's
 *   forum, Dec 2025), 3.1 Pro LOW, MEDIUM and HIGH. Thinking cannot be turned off: `none` and `minimal` take the lowest
 *   level the model has, an unsupported `medium` rounds up, `xhigh`/`max` are HIGH.
 * - Gemini 2.5 takes a `thinkingBudget` in tokens. Google's OpenAI-compatibility page maps low/medium/high to 1,024 /
 *   8,192 / 24,576 and `none` to 0 (off); 2.5 Pro cannot think less than 128 tokens nor switch thinking off, so
 *   `none` is 128 there; `minimal` is 1,024 like low; `xhigh`/`max` are the model's largest budget.
 * - Older models do not think: a reasoning_effort for them is a 400.
 *
 * Google's own `extra_body.google.thinking_config` (budget, level, include_thoughts) is taken as it is; together with
 * a reasoning_effort it is a 400, as Google answers.
 */
import type { ReasoningEffort } from "../../wire/openai.js";
import { invalidParam } from "./error-shape.js";

export interface ThinkingConfig {
  thinkingBudget?: number;
  thinkingLevel?: "MINIMAL" | "LOW" | "MEDIUM" | "HIGH";
  includeThoughts?: boolean;
}

type Level = NonNullable<ThinkingConfig["thinkingLevel"]>;

/** The thinking levels of a Gemini 3 model, lowest first; undefined for a model of another family. */
function levelsOf(model: string): readonly Level[] | undefined {
  if (!/^gemini-3/.test(model)) return undefined;
  if (/^gemini-3-pro/.test(model)) return ["LOW", "HIGH"];
  if (/-pro/.test(model)) return ["LOW", "MEDIUM", "HIGH"];
  return ["MINIMAL", "LOW", "MEDIUM", "HIGH"];
}

/** The thinking budget range of a Gemini 2.5 model; undefined for a model of another family. */
function budgetOf(model: string): { off: boolean; min: number; max: number } | undefined {
  if (!/^gemini-2\.5/.test(model)) return undefined;
  if (/-pro/.test(model)) return { off: false, min: 128, max: 32_768 };
  return { off: true, min: /-lite/.test(model) ? 512 : 1, max: 24_576 };
}

const BUDGETS: Record<"minimal" | "low" | "medium" | "high", number> = {
  minimal: 1_024,
  low: 1_024,
  medium: 8_192,
  high: 24_576,
};

export function thinkingForEffort(model: string, effort: ReasoningEffort): ThinkingConfig {
  const levels = levelsOf(model);
  if (levels) {
    const want: Level =
      effort === "none" || effort === "minimal"
        ? levels[0]!
        : effort === "xhigh" || effort === "max"
          ? "HIGH"
          : (effort.toUpperCase() as Level);
    // A level the model lacks rounds up (MEDIUM on 3 Pro is HIGH).
    const order: readonly Level[] = ["MINIMAL", "LOW", "MEDIUM", "HIGH"];
    const level = levels.find((l) => order.indexOf(l) >= order.indexOf(want)) ?? "HIGH";
    return { thinkingLevel: level };
  }
  const budget = budgetOf(model);
  if (budget) {
    if (effort === "none") return { thinkingBudget: budget.off ? 0 : budget.min };
    if (effort === "xhigh" || effort === "max") return { thinkingBudget: budget.max };
    return { thinkingBudget: Math.min(budget.max, Math.max(budget.min, BUDGETS[effort])) };
  }
  throw invalidParam("reasoning_effort", `Model "${model}" does not think: reasoning_effort cannot be set for it.`);
}

/** Google's `extra_body.google.thinking_config`, in Gemini's field names. */
export function thinkingFromGoogle(config: {
  thinking_budget?: number | null;
  thinking_level?: string | null;
  include_thoughts?: boolean | null;
}): ThinkingConfig {
  const out: ThinkingConfig = {};
  if (typeof config.thinking_budget === "number") out.thinkingBudget = config.thinking_budget;
  if (typeof config.thinking_level === "string") {
    const level = config.thinking_level.toUpperCase();
    if (!["MINIMAL", "LOW", "MEDIUM", "HIGH"].includes(level)) {
      throw invalidParam(
        "extra_body.google.thinking_config.thinking_level",
        `thinking_level must be one of minimal, low, medium, high; got "${config.thinking_level}".`,
      );
    }
    out.thinkingLevel = level as Level;
  }
  if (typeof config.include_thoughts === "boolean") out.includeThoughts = config.include_thoughts;
  return out;
}
