/**
 * The Interactions API, as `@google/genai` 2.32 calls it on a Vertex location (`/v1beta1/projects/{p}/locations/{l}`
 * + `/interactions`, `/interactions/{id}`, `/interactions/{id}/cancel`): create (unary, an SSE stream when the body
 * says `stream: true`, or `background: true`), get (with `?stream=true&last_event_id=` replaying the stored events
 * after that id), cancel and delete. Answers are generate.ts's deterministic words; a chain
 * (`previous_interaction_id`) answers from every earlier turn's input and output. `store: false` keeps nothing (a
 * later get is a 404). A background interaction completes `resources.backgroundMs` after it was created, seen on the
 * next get. Usage is the Interactions API's: `total_input_tokens` (cached included), `total_output_tokens`,
 * `total_tokens`.
 *
 * Events (each `data: <json>`, the stream ending with `data: [DONE]`): interaction.created, step.start, step.delta
 * (text, `chunkTokens` words each), step.stop, interaction.completed (with usage); every event has an `event_id`.
 */
import { errors, GatewayError } from "../wire/errors.js";
import type { Content } from "../wire/gemini.js";
import { generateCandidates } from "./generate.js";
import { KNOWN_MODELS } from "./routes.js";
import { countPrompt } from "./tokens.js";

export interface InteractionRecord {
  id: string;
  model: string;
  previous: string | undefined;
  systemInstruction: string | undefined;
  /** This turn's input text, and the model's answer in pieces of one token. */
  input: string;
  pieces: string[];
  inputTokens: number;
  status: "in_progress" | "completed" | "cancelled";
  background: boolean;
  created: number;
  updated: number;
  completeAt: number;
  events: Record<string, unknown>[];
}

export class InteractionStore {
  private readonly interactions = new Map<string, InteractionRecord>();
  constructor(
    private readonly ids: () => string,
    private readonly settings: () => { responseTokens: number; chunkTokens: number; backgroundMs: number },
  ) {}

  clear(): void {
    this.interactions.clear();
  }

  /** Creates (and, unless `store: false`, keeps) an interaction; the caller writes the answer or the events. */
  create(body: Record<string, unknown>, now = Date.now()): InteractionRecord {
    const model = typeof body.model === "string" ? body.model.replace(/^models\//, "") : undefined;
    if (!model || !KNOWN_MODELS.has(model)) {
      throw errors.invalidArgument(`Interaction.model must name a known model, got ${JSON.stringify(body.model)}.`);
    }
    const store = body.store !== false;
    const background = body.background === true;
    if (background && !store) throw errors.invalidArgument("background=true requires store=true.");
    const previousId = typeof body.previous_interaction_id === "string" ? body.previous_interaction_id : undefined;
    const chain: InteractionRecord[] = [];
    for (let id = previousId; id;) {
      const p = this.interactions.get(id);
      if (!p) throw new GatewayError(404, "NOT_FOUND", `Interaction ${id.slice(0, 100)} was not found.`);
      if (p.status !== "completed") {
        throw new GatewayError(400, "FAILED_PRECONDITION", `Interaction ${id} is not completed (${p.status}).`);
      }
      chain.unshift(p);
      id = p.previous;
    }
    const input = inputText(body.input);
    if (!input && !chain.length) throw errors.invalidArgument("Interaction.input must not be empty.");
    const systemInstruction = typeof body.system_instruction === "string" ? body.system_instruction : undefined;
    const contents: Content[] = [];
    for (const p of chain) {
      contents.push({ role: "user", parts: [{ text: p.input }] });
      contents.push({ role: "model", parts: [{ text: p.pieces.join("") }] });
    }
    contents.push({ role: "user", parts: [{ text: input || " " }] });
    const config = (body.generation_config ?? {}) as { max_output_tokens?: unknown; seed?: unknown };
    const si = systemInstruction === undefined ? undefined : { parts: [{ text: systemInstruction }] };
    const [candidate] = generateCandidates({
      model,
      contents,
      systemInstruction: si,
      generationConfig: {
        maxOutputTokens: typeof config.max_output_tokens === "number" ? config.max_output_tokens : undefined,
        seed: typeof config.seed === "number" ? config.seed : undefined,
      },
      responseTokens: this.settings().responseTokens,
    });
    const rec: InteractionRecord = {
      id: this.ids(),
      model,
      previous: previousId,
      systemInstruction,
      input,
      pieces: candidate!.pieces,
      inputTokens: countPrompt(contents, si, undefined).total,
      status: background ? "in_progress" : "completed",
      background,
      created: now,
      updated: now,
      completeAt: now + (background ? this.settings().backgroundMs : 0),
      events: [],
    };
    rec.events = eventsOf(rec, this.settings().chunkTokens);
    if (store) this.interactions.set(rec.id, rec);
    return rec;
  }

  /** The stored interaction, a background one completed if its time has come; 404 when absent. */
  get(id: string, now = Date.now()): InteractionRecord {
    const rec = this.interactions.get(id);
    if (!rec) throw new GatewayError(404, "NOT_FOUND", `Interaction ${id.slice(0, 100)} was not found.`);
    if (rec.status === "in_progress" && now >= rec.completeAt) {
      rec.status = "completed";
      rec.updated = rec.completeAt;
    }
    return rec;
  }

  cancel(id: string, now = Date.now()): InteractionRecord {
    const rec = this.get(id, now);
    if (rec.status === "in_progress") {
      rec.status = "cancelled";
      rec.updated = now;
    }
    return rec;
  }

  delete(id: string): void {
    if (!this.interactions.delete(id)) {
      throw new GatewayError(404, "NOT_FOUND", `Interaction ${id.slice(0, 100)} was not found.`);
    }
  }

  /** The events after `lastEventId` (all without one); a stream of a finished interaction ends with completed. */
  eventsAfter(rec: InteractionRecord, lastEventId: string | undefined): Record<string, unknown>[] {
    if (!lastEventId) return rec.events;
    const at = rec.events.findIndex((e) => e.event_id === lastEventId);
    if (at < 0) throw errors.invalidArgument(`last_event_id ${lastEventId.slice(0, 64)} is not an event of ${rec.id}.`);
    return rec.events.slice(at + 1);
  }
}

/** The Interaction resource. A background interaction still running has no steps or usage yet. */
export function interactionView(rec: InteractionRecord): Record<string, unknown> {
  const done = rec.status === "completed";
  return {
    id: rec.id,
    object: "interaction",
    model: rec.model,
    status: rec.status,
    created: new Date(rec.created).toISOString(),
    updated: new Date(rec.updated).toISOString(),
    ...(rec.previous ? { previous_interaction_id: rec.previous } : {}),
    ...(done
      ? {
          steps: [
            { type: "user_input", content: [{ type: "text", text: rec.input }] },
            { type: "model_output", content: [{ type: "text", text: rec.pieces.join("") }] },
          ],
          usage: usageOf(rec),
        }
      : {}),
  };
}

function usageOf(rec: InteractionRecord): Record<string, unknown> {
  const output = rec.pieces.length;
  return {
    total_input_tokens: rec.inputTokens,
    total_output_tokens: output,
    total_tokens: rec.inputTokens + output,
    input_tokens_by_modality: [{ modality: "text", tokens: rec.inputTokens }],
    output_tokens_by_modality: [{ modality: "text", tokens: output }],
  };
}

function eventsOf(rec: InteractionRecord, chunkTokens: number): Record<string, unknown>[] {
  let n = 0;
  const id = () => `${rec.id}.${++n}`;
  const head = { id: rec.id, object: "interaction", model: rec.model, created: new Date(rec.created).toISOString() };
  const events: Record<string, unknown>[] = [
    { event_type: "interaction.created", event_id: id(), interaction: { ...head, status: "in_progress" } },
    { event_type: "step.start", event_id: id(), index: 0, step: { type: "model_output" } },
  ];
  for (let i = 0; i < rec.pieces.length; i += chunkTokens) {
    const text = rec.pieces.slice(i, i + chunkTokens).join("");
    events.push({ event_type: "step.delta", event_id: id(), index: 0, delta: { type: "text", text } });
  }
  events.push({ event_type: "step.stop", event_id: id(), index: 0 });
  events.push({
    event_type: "interaction.completed",
    event_id: id(),
    interaction: { ...head, status: "completed", updated: new Date(rec.created).toISOString(), usage: usageOf(rec) },
  });
  return events;
}

/** The text of an interaction's input: a string, a content block, a list of them, or a list of steps. */
function inputText(input: unknown): string {
  if (typeof input === "string") return input;
  const blocks: unknown[] = Array.isArray(input) ? input : input ? [input] : [];
  const texts: string[] = [];
  for (const b of blocks) {
    const block = b as { type?: unknown; text?: unknown; content?: unknown };
    if (typeof block.text === "string") texts.push(block.text);
    else if (Array.isArray(block.content)) texts.push(inputText(block.content));
  }
  return texts.join("\n");
}
