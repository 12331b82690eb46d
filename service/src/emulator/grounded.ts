/**
 * Grounded answers: when a request's system instruction has a reference section — a line `Policy:`, `Facts:`,
 * `Reference:`, `Context:` or `Knowledge:` followed by one statement per line (bullets allowed) until a blank line —
 * the emulator answers like a model told to answer only from it: with the one or two statements that share the most
 * content words with the user's last turn, or, when none shares any, with a refusal. Deterministic, and templated
 * enough that an evaluation suite can pass against it and fail when a template's policy changes (docs/emulator.md).
 * Requests without such a section get the usual vocabulary words (generate.ts).
 */
import type { Content, Part } from "../wire/gemini.js";
import { contentWords } from "./words.js";

const HEADING = /^\s*(policy|facts|reference|context|knowledge)\s*:\s*(.*)$/i;

export const REFUSAL = "I'm sorry, but I can't help with that: it is not covered by what I can answer.";

/** The statements of the system instruction's reference section; undefined when it has none. */
export function referenceStatements(system: { parts: Part[] } | undefined): string[] | undefined {
  const text = system?.parts.map((p) => (typeof p.text === "string" ? p.text : "")).join("\n") ?? "";
  const lines = text.split(/\r?\n/);
  const start = lines.findIndex((l) => HEADING.test(l));
  if (start < 0) return undefined;
  const statements: string[] = [];
  const first = HEADING.exec(lines[start]!)![2]!.trim();
  if (first) statements.push(first);
  for (const line of lines.slice(start + 1)) {
    if (!line.trim()) {
      if (statements.length) break;
      continue;
    }
    statements.push(line.replace(/^\s*(?:[-*•]|\d+[.)])\s*/, "").trim());
  }
  return statements.length ? statements : undefined;
}

/** The grounded answer's text, or undefined when the request has no reference section. */
export function groundedAnswer(
  system: { parts: Part[] } | undefined,
  contents: readonly Content[],
): string | undefined {
  const statements = referenceStatements(system);
  if (!statements) return undefined;
  const lastUser = [...contents].reverse().find((c) => c.role !== "model");
  const question = new Set(contentWords(lastUser?.parts.map((p) => p.text ?? "").join(" ") ?? ""));
  const scored = statements.map((s, i) => ({
    s,
    i,
    score: new Set(contentWords(s).filter((w) => question.has(w))).size,
  }));
  const best = Math.max(0, ...scored.map((x) => x.score));
  if (best === 0) return REFUSAL;
  return scored
    .filter((x) => x.score === best)
    .slice(0, 2)
    .map((x) => x.s)
    .join(" ");
}
