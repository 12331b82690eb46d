/** Splices the generated rule reference into the hand-written docs/guardrails.md, formatted by prettier. */
import * as prettier from "prettier";
import { GENERATED_BEGIN, GENERATED_END, renderRulesMarkdown } from "../lib/catalog.js";

export async function renderGuardrailsDoc(current: string, filePath: string): Promise<string> {
  const begin = current.indexOf(GENERATED_BEGIN);
  const end = current.indexOf(GENERATED_END);
  if (begin < 0 || end < begin) throw new Error(`${filePath} lacks the generated-rules markers`);
  const spliced = current.slice(0, begin) + renderRulesMarkdown() + current.slice(end + GENERATED_END.length);
  const options = (await prettier.resolveConfig(filePath)) ?? {};
  return prettier.format(spliced, { ...options, filepath: filePath });
}
