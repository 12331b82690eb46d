/**
 * Serialises emulator answers in the shapes Vertex and the Developer API send (see shared/reference/gemini-wire.md):
 * non-stream responses, stream chunks, Model Armor blocks and countTokens results. Returns JSON strings so the
 * server writes them without another pass. Typed against the SDK's response types via wire/gemini.ts.
 */
import { BlockedReason, FinishReason, MediaModality, TrafficType } from "@google/genai";
import type { Candidate } from "@google/genai";
import type { CountTokensResponseWire, GenerateContentResponseWire, UsageMetadataWire } from "../wire/gemini.js";
import type { CandidateOutput } from "./generate.js";
import type { Modality, PromptCount } from "./tokens.js";

/** What is the same for every chunk of one response. */
export interface ResponseMeta {
  /** Vertex paths add trafficType and createTime, and put usage only on the last stream chunk. */
  vertex: boolean;
  modelVersion: string;
  responseId: string;
  createTime: string;
}

const MODALITY: Record<Modality, MediaModality> = {
  TEXT: MediaModality.TEXT,
  IMAGE: MediaModality.IMAGE,
  AUDIO: MediaModality.AUDIO,
  VIDEO: MediaModality.VIDEO,
  DOCUMENT: MediaModality.DOCUMENT,
};
const FINISH = { STOP: FinishReason.STOP, MAX_TOKENS: FinishReason.MAX_TOKENS } as const;

function promptDetails(prompt: PromptCount): UsageMetadataWire["promptTokensDetails"] {
  return prompt.details.map((d) => ({ modality: MODALITY[d.modality], tokenCount: d.tokenCount }));
}

/** `candidates === null`: prompt counts only (Model Armor blocks, non-final Developer API chunks). */
function usage(meta: ResponseMeta, prompt: PromptCount, candidates: number | null): UsageMetadataWire {
  const u: UsageMetadataWire = { promptTokenCount: prompt.total };
  if (candidates !== null) u.candidatesTokenCount = candidates;
  u.totalTokenCount = prompt.total + (candidates ?? 0);
  u.promptTokensDetails = promptDetails(prompt);
  if (candidates !== null) u.candidatesTokensDetails = [{ modality: MediaModality.TEXT, tokenCount: candidates }];
  if (meta.vertex) u.trafficType = TrafficType.ON_DEMAND;
  return u;
}

function envelope(
  meta: ResponseMeta,
  candidates: Candidate[] | undefined,
  u: UsageMetadataWire | undefined,
): GenerateContentResponseWire {
  // Key order as Vertex writes it; undefined members vanish in JSON.stringify.
  return {
    candidates,
    usageMetadata: u,
    modelVersion: meta.modelVersion,
    createTime: meta.vertex ? meta.createTime : undefined,
    responseId: meta.responseId,
  };
}

function candidate(text: string, index: number, finish: CandidateOutput["finishReason"] | null): Candidate {
  const c: Candidate = { content: { role: "model", parts: [{ text }] } };
  if (finish) c.finishReason = FINISH[finish];
  c.index = index;
  return c;
}

export function outputTokens(cands: readonly CandidateOutput[]): number {
  let n = 0;
  for (const c of cands) n += c.pieces.length;
  return n;
}

export function fullResponse(meta: ResponseMeta, cands: readonly CandidateOutput[], prompt: PromptCount): string {
  const list = cands.map((c, i) => candidate(c.pieces.join(""), i, c.finishReason));
  return JSON.stringify(envelope(meta, list, usage(meta, prompt, outputTokens(cands))));
}

export interface StreamPlan {
  /** Serialised chunks, in order. */
  bodies: string[];
  /** Output tokens carried by each chunk (for "count only what was sent"). */
  tokens: number[];
}

/**
 * Splits the answer into chunks of `chunkTokens` pieces per candidate. Every chunk carries each candidate that has
 * text in it; the last carries every candidate with its finishReason, and the full usage.
 */
export function streamPlan(
  meta: ResponseMeta,
  cands: readonly CandidateOutput[],
  prompt: PromptCount,
  chunkTokens: number,
): StreamPlan {
  let longest = 0;
  for (const c of cands) if (c.pieces.length > longest) longest = c.pieces.length;
  const count = Math.max(1, Math.ceil(longest / chunkTokens));
  const total = outputTokens(cands);
  // Developer API: prompt counts on every chunk; Vertex: nothing until the last.
  const partialUsage = meta.vertex ? undefined : usage(meta, prompt, null);
  const bodies: string[] = new Array<string>(count);
  const tokens: number[] = new Array<number>(count);
  for (let k = 0; k < count; k++) {
    const last = k === count - 1;
    const list: Candidate[] = [];
    let n = 0;
    for (let i = 0; i < cands.length; i++) {
      const slice = cands[i]!.pieces.slice(k * chunkTokens, (k + 1) * chunkTokens);
      n += slice.length;
      if (slice.length || last) list.push(candidate(slice.join(""), i, last ? cands[i]!.finishReason : null));
    }
    bodies[k] = JSON.stringify(envelope(meta, list, last ? usage(meta, prompt, total) : partialUsage));
    tokens[k] = n;
  }
  return { bodies, tokens };
}

/** A prompt Model Armor blocked: no candidates, prompt tokens only. */
export function blockedResponse(meta: ResponseMeta, prompt: PromptCount): string {
  const r: GenerateContentResponseWire = {
    promptFeedback: { blockReason: BlockedReason.MODEL_ARMOR, blockReasonMessage: "Blocked by Model Armor." },
    ...envelope(meta, undefined, usage(meta, prompt, null)),
  };
  return JSON.stringify(r);
}

export function countTokensResponse(vertex: boolean, prompt: PromptCount): string {
  const r: CountTokensResponseWire = { totalTokens: prompt.total };
  if (vertex) r.totalBillableCharacters = prompt.billableCharacters;
  r.promptTokensDetails = prompt.details;
  return JSON.stringify(r);
}
