/**
 * Serialises emulator answers in the shapes Vertex and the Developer API send (see shared/reference/gemini-wire.md):
 * non-stream responses, stream chunks, Model Armor blocks and countTokens results. Returns JSON strings so the
 * server writes them without another pass. Typed against the SDK's response types via wire/gemini.ts.
 */
import { BlockedReason, FinishReason, MediaModality, TrafficType } from "@google/genai";
import type { Candidate, Part } from "@google/genai";
import type { CountTokensResponseWire, GenerateContentResponseWire, UsageMetadataWire } from "../wire/gemini.js";
import type { CandidateOutput } from "./generate.js";
import { textTokens, type Modality, type PromptCount } from "./tokens.js";

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
function usage(meta: ResponseMeta, prompt: PromptCount, candidates: number | null, thoughts = 0): UsageMetadataWire {
  const u: UsageMetadataWire = { promptTokenCount: prompt.total };
  if (candidates !== null) u.candidatesTokenCount = candidates;
  if (thoughts > 0) u.thoughtsTokenCount = thoughts;
  u.totalTokenCount = prompt.total + (candidates ?? 0) + thoughts;
  u.promptTokensDetails = promptDetails(prompt);
  if (prompt.cached) {
    u.cachedContentTokenCount = prompt.cached;
    u.cacheTokensDetails = [{ modality: MediaModality.TEXT, tokenCount: prompt.cached }];
  }
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

function candidate(
  text: string,
  index: number,
  finish: CandidateOutput["finishReason"] | null,
  extra?: { thought?: string; calls?: boolean; from?: CandidateOutput; signature?: boolean },
): Candidate {
  const parts: Part[] = [];
  if (extra?.thought) parts.push({ text: extra.thought, thought: true });
  const calls = extra?.calls ? (extra.from?.calls ?? []) : [];
  if (text || !calls.length) parts.push({ text });
  for (const call of calls) parts.push({ functionCall: { name: call.name, args: call.args } });
  // Gemini 3 signs the first function call of an answer, or, without calls, its last part.
  const signature = extra?.signature ? extra.from?.signature : undefined;
  if (signature) (calls.length ? parts[parts.length - calls.length]! : parts.at(-1)!).thoughtSignature = signature;
  const c: Candidate = { content: { role: "model", parts } };
  if (finish) c.finishReason = FINISH[finish];
  c.index = index;
  return c;
}

/** Output tokens of a candidate's calls (tokens.ts: structured parts count as their JSON / 4). */
function callTokens(c: CandidateOutput): number {
  let n = 0;
  for (const call of c.calls ?? [])
    n += textTokens(JSON.stringify({ functionCall: { name: call.name, args: call.args } }));
  return n;
}

/** What `candidatesTokenCount` reports: text (or JSON) pieces and function calls. */
function candidateTokens(cands: readonly CandidateOutput[]): number {
  let n = 0;
  for (const c of cands) n += c.pieces.length + callTokens(c);
  return n;
}

function thoughtTokens(cands: readonly CandidateOutput[]): number {
  let n = 0;
  for (const c of cands) n += c.thoughtTokens ?? 0;
  return n;
}

/** Every output token, thinking included (what the emulator's stats and quota count). */
export function outputTokens(cands: readonly CandidateOutput[]): number {
  return candidateTokens(cands) + thoughtTokens(cands);
}

export function fullResponse(meta: ResponseMeta, cands: readonly CandidateOutput[], prompt: PromptCount): string {
  const list = cands.map((c, i) =>
    candidate(c.pieces.join(""), i, c.finishReason, { thought: c.thought, calls: true, from: c, signature: true }),
  );
  return JSON.stringify(envelope(meta, list, usage(meta, prompt, candidateTokens(cands), thoughtTokens(cands))));
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
  const total = candidateTokens(cands);
  const thoughts = thoughtTokens(cands);
  // Developer API: prompt counts on every chunk; Vertex: nothing until the last.
  const partialUsage = meta.vertex ? undefined : usage(meta, prompt, null);
  const bodies: string[] = [];
  const tokens: number[] = [];
  // Thoughts first, in a chunk of their own (as Gemini streams thought summaries before the answer).
  if (cands.some((c) => c.thought)) {
    const list: Candidate[] = [];
    cands.forEach((c, i) => {
      if (c.thought) list.push({ content: { role: "model", parts: [{ text: c.thought, thought: true }] }, index: i });
    });
    bodies.push(JSON.stringify(envelope(meta, list, partialUsage)));
    tokens.push(thoughts);
  }
  for (let k = 0; k < count; k++) {
    const last = k === count - 1;
    const list: Candidate[] = [];
    let n = bodies.length === 0 && k === 0 ? thoughts : 0; // unseen thinking is spent before the first chunk
    for (let i = 0; i < cands.length; i++) {
      const c = cands[i]!;
      const slice = c.pieces.slice(k * chunkTokens, (k + 1) * chunkTokens);
      n += slice.length + (last ? callTokens(c) : 0);
      if (slice.length || last) {
        list.push(
          candidate(slice.join(""), i, last ? c.finishReason : null, { calls: last, from: c, signature: last }),
        );
      }
    }
    bodies.push(JSON.stringify(envelope(meta, list, last ? usage(meta, prompt, total, thoughts) : partialUsage)));
    tokens.push(n);
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
