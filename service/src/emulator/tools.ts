/**
 * Function calling and thought signatures, deterministically.
 *
 * When a request declares functions (`tools[].functionDeclarations`), the function-calling mode
 * (`toolConfig.functionCallingConfig.mode`) decides whether the answer is calls instead of text:
 * - NONE: never (text, as without tools);
 * - ANY: always, limited to `allowedFunctionNames` when given;
 * - AUTO (the default) and VALIDATED: when the conversation ends with a fresh user message — not with function
 *   responses, after which the model answers in text, as a model that got what it asked for does.
 * Which functions: every allowed one whose name appears in the last user text (several = parallel calls, in
 * declaration order), else the first allowed one. Arguments are generated from the declaration's parameter schema
 * (schema-value.ts).
 *
 * Gemini 3 models sign each answer that calls functions: a `thoughtSignature` on the first functionCall part (only
 * the first, for parallel calls), and the request must carry it back. The emulator enforces what Google documents
 * (ai.google.dev/gemini-api/docs/thought-signatures): in the current turn — every content after the last user
 * content with a part that is not a functionResponse — the first functionCall part of each model content needs its
 * signature, else 400 INVALID_ARGUMENT with Google's message ("Function call is missing a thought_signature in
 * functionCall parts. …"); a signature the emulator did not issue is "Corrupted thought signature."; Google's
 * documented `skip_thought_signature_validator` passes.
 */
import { createHash } from "node:crypto";
import { GatewayError } from "../wire/errors.js";
import type { Content } from "../wire/gemini.js";

export interface Declaration {
  name: string;
  /** parametersJsonSchema, else parameters (Gemini's OpenAPI subset); undefined for a function without arguments. */
  schema: unknown;
}

export interface PlannedCall {
  name: string;
  args: Record<string, unknown>;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The functions a request declares, over all its tools. */
export function declarationsOf(tools: readonly unknown[] | undefined): Declaration[] {
  const out: Declaration[] = [];
  for (const tool of tools ?? []) {
    if (!isRecord(tool) || !Array.isArray(tool.functionDeclarations)) continue;
    for (const d of tool.functionDeclarations) {
      if (isRecord(d) && typeof d.name === "string") {
        out.push({ name: d.name, schema: d.parametersJsonSchema ?? d.parameters });
      }
    }
  }
  return out;
}

/** The functions the answer calls, or undefined when it answers in text. */
export function functionsToCall(
  declarations: readonly Declaration[],
  toolConfig: unknown,
  contents: readonly Content[],
): Declaration[] | undefined {
  if (!declarations.length) return undefined;
  const config =
    isRecord(toolConfig) && isRecord(toolConfig.functionCallingConfig) ? toolConfig.functionCallingConfig : {};
  const mode = typeof config.mode === "string" ? config.mode : "AUTO";
  if (mode === "NONE") return undefined;
  const names = Array.isArray(config.allowedFunctionNames) ? (config.allowedFunctionNames as unknown[]) : [];
  const allowed =
    names.length && mode !== "AUTO" ? declarations.filter((d) => names.includes(d.name)) : [...declarations];
  if (!allowed.length) return undefined;
  const last = contents.at(-1);
  const fresh = last !== undefined && last.role !== "model" && !last.parts.some((p) => p.functionResponse);
  if (mode !== "ANY" && !fresh) return undefined;
  const text = last?.parts.map((p) => p.text ?? "").join("\n") ?? "";
  const named = allowed.filter((d) => text.includes(d.name));
  return named.length ? named : [allowed[0]!];
}

/** Gemini 3 models: the ones that sign function calls and check the signatures. */
export function signsCalls(model: string): boolean {
  return model.startsWith("gemini-3");
}

const SIGNATURE_PREFIX = "emulator-thought:";
export const SKIP_SIGNATURE = "skip_thought_signature_validator";

/** The signature of one answer's calls: opaque base64, derived from the request so a repeat gets the same one. */
export function thoughtSignature(seed: string): string {
  const digest = createHash("sha256").update(seed).digest("hex").slice(0, 32);
  return Buffer.from(`${SIGNATURE_PREFIX}${digest}`).toString("base64");
}

function issuedByUs(signature: string): boolean {
  return /^emulator-thought:[0-9a-f]{32}$/.test(Buffer.from(signature, "base64").toString("latin1"));
}

/** The 400 Gemini 3 answers for a current-turn function call without its signature; null when the request is fine. */
export function checkThoughtSignatures(model: string, contents: readonly Content[]): GatewayError | null {
  if (!signsCalls(model)) return null;
  let start = -1;
  contents.forEach((c, i) => {
    if (c.role !== "model" && c.parts.some((p) => !p.functionResponse)) start = i;
  });
  for (let i = start + 1; i < contents.length; i++) {
    const content = contents[i]!;
    if (content.role !== "model") continue;
    const first = content.parts.find((p) => p.functionCall);
    if (!first) continue;
    const signature = (first as { thoughtSignature?: unknown }).thoughtSignature;
    if (typeof signature !== "string" || !signature) {
      const name = typeof first.functionCall?.name === "string" ? first.functionCall.name : "";
      return new GatewayError(
        400,
        "INVALID_ARGUMENT",
        "Function call is missing a thought_signature in functionCall parts. This is required for tools to work " +
          "correctly, and missing thought_signature may lead to degraded model performance. Additional data, " +
          `function call \`default_api:${name}\` , position ${i + 1}. please refer to ` +
          "https://ai.google.dev/gemini-api/docs/thought-signatures for more details.",
      );
    }
    if (signature !== SKIP_SIGNATURE && !issuedByUs(signature)) {
      return new GatewayError(400, "INVALID_ARGUMENT", "Corrupted thought signature.");
    }
  }
  return null;
}
