/**
 * The emulator's token estimate. It is not Gemini's tokenizer and does not try to be: it is simple, documented
 * (docs/emulator.md) and stable, so tests and benchmarks can predict every count exactly.
 *
 * - text (text parts, including thought parts): ceil(string length / 4), per part. Length is the JavaScript string
 *   length (UTF-16 code units), which is cheap and equals the character count for ASCII.
 * - inlineData / fileData: image and anything not audio or video (PDF, text files): 258 tokens per part
 *   (Gemini's rate for one image or one document page).
 * - audio or video: a flat 10 seconds of media per part at Google's published rates:
 *   audio 32 tokens/s = 320, video 263 tokens/s = 2,630.
 * - functionCall, functionResponse and any other structured part: ceil(length of its JSON / 4), counted as TEXT.
 * - `tools` (countTokens and generate requests): ceil(length of the tools JSON / 4), counted as TEXT.
 * - emulator answers: every emitted word is exactly one token (see generate.ts).
 */
import type { Content, Part } from "../wire/gemini.js";

export const IMAGE_TOKENS = 258;
export const AUDIO_TOKENS = 320;
export const VIDEO_TOKENS = 2_630;

export type Modality = "TEXT" | "IMAGE" | "AUDIO" | "VIDEO" | "DOCUMENT";

export interface PromptCount {
  total: number;
  /** Non-zero modalities only, TEXT first; the order Vertex lists them in is not guaranteed either. */
  details: { modality: Modality; tokenCount: number }[];
  /** Characters of text parts without whitespace: Vertex's `totalBillableCharacters`. */
  billableCharacters: number;
  /** Of `total`, the tokens served from a context cache (caches.ts): `cachedContentTokenCount`. */
  cached?: number;
}

export function textTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function mediaModality(mimeType: string | undefined): Modality {
  if (!mimeType) return "DOCUMENT";
  if (mimeType.startsWith("image/")) return "IMAGE";
  if (mimeType.startsWith("audio/")) return "AUDIO";
  if (mimeType.startsWith("video/")) return "VIDEO";
  return "DOCUMENT";
}

const MEDIA_TOKENS: Record<Modality, number> = {
  TEXT: 0,
  IMAGE: IMAGE_TOKENS,
  DOCUMENT: IMAGE_TOKENS,
  AUDIO: AUDIO_TOKENS,
  VIDEO: VIDEO_TOKENS,
};

function nonWhitespace(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) n++;
  }
  return n;
}

/** A small accumulator so the hot path counts without building intermediate arrays. */
class Counter {
  text = 0;
  image = 0;
  audio = 0;
  video = 0;
  document = 0;
  billable = 0;
  constructor(private readonly wantBillable: boolean) {}

  part(p: Part): void {
    if (typeof p.text === "string") {
      this.text += textTokens(p.text);
      if (this.wantBillable) this.billable += nonWhitespace(p.text);
    } else if (p.inlineData) {
      this.media(mediaModality(p.inlineData.mimeType), MEDIA_TOKENS[mediaModality(p.inlineData.mimeType)]);
    } else if (p.fileData) {
      // fileData is always 258 (the media is not fetched), whatever its type.
      this.media(mediaModality(p.fileData.mimeType), IMAGE_TOKENS);
    } else {
      this.text += textTokens(JSON.stringify(p));
    }
  }

  private media(m: Modality, n: number): void {
    if (m === "IMAGE") this.image += n;
    else if (m === "AUDIO") this.audio += n;
    else if (m === "VIDEO") this.video += n;
    else this.document += n;
  }

  result(): PromptCount {
    const details: PromptCount["details"] = [];
    if (this.text) details.push({ modality: "TEXT", tokenCount: this.text });
    if (this.image) details.push({ modality: "IMAGE", tokenCount: this.image });
    if (this.audio) details.push({ modality: "AUDIO", tokenCount: this.audio });
    if (this.video) details.push({ modality: "VIDEO", tokenCount: this.video });
    if (this.document) details.push({ modality: "DOCUMENT", tokenCount: this.document });
    const total = this.text + this.image + this.audio + this.video + this.document;
    return { total, details, billableCharacters: this.billable };
  }
}

/** Counts the prompt of a generate or countTokens request: contents, systemInstruction and tools. */
export function countPrompt(
  contents: readonly Content[],
  systemInstruction: { parts: Part[] } | undefined,
  tools: readonly object[] | undefined,
  wantBillable = false,
): PromptCount {
  const c = new Counter(wantBillable);
  for (const content of contents) for (const p of content.parts) c.part(p);
  if (systemInstruction) for (const p of systemInstruction.parts) c.part(p);
  if (tools?.length) c.text += textTokens(JSON.stringify(tools));
  return c.result();
}
