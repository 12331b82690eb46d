/**
 * Upstream capacity: the requests and tokens per minute that every gateway instance together may send to a model
 * (optionally in one region) — the envelope the operator buys (Provisioned Throughput) or trusts. Gemini on Vertex
 * uses Dynamic Shared Quota, so nothing upstream caps a runaway fleet: this is the cap, shared through the store.
 *
 * `GATEWAY_CAPACITY` holds it as JSON (an env var, so the infrastructure sets it next to the rest):
 *
 *   {"reservedInteractiveShare": 0.2,
 *    "models": [{"model": "gemini-2.5-flash", "requestsPerMinute": 3000, "tokensPerMinute": 4000000},
 *               {"model": "gemini-2.5-pro", "region": "us-central1", "requestsPerMinute": 120}]}
 *
 * An entry with a region applies to calls sent to that region; one without applies to the model wherever it is
 * called. `reservedInteractiveShare` (default 0.2) is the part of each capacity batch traffic may never use.
 */
import { z } from "zod";
import { MODEL_ID_PATTERN } from "../wire/gemini.js";

export interface ModelCapacity {
  readonly model: string;
  /** Undefined: every region. */
  readonly region: string | undefined;
  readonly requestsPerMinute: number | undefined;
  readonly tokensPerMinute: number | undefined;
}

export interface Capacity {
  readonly reservedInteractiveShare: number;
  readonly models: readonly ModelCapacity[];
}

export const NO_CAPACITY: Capacity = { reservedInteractiveShare: 0.2, models: [] };

const CapacitySchema = z.strictObject({
  reservedInteractiveShare: z.number().min(0).max(0.9).default(0.2),
  models: z
    .array(
      z
        .strictObject({
          model: z.string().regex(MODEL_ID_PATTERN, "model ids are lowercase like gemini-2.5-flash"),
          region: z
            .string()
            .regex(/^(global|[a-z]+-[a-z]+\d+)$/, 'must be a region such as "us-central1", or "global"')
            .optional(),
          requestsPerMinute: z.number().int().positive().optional(),
          tokensPerMinute: z.number().int().positive().optional(),
        })
        .refine((m) => m.requestsPerMinute !== undefined || m.tokensPerMinute !== undefined, {
          message: "give requestsPerMinute, tokensPerMinute or both",
        }),
    )
    .default([]),
});

/** Parses GATEWAY_CAPACITY; throws an Error naming the variable and every problem. */
export function parseCapacity(json: string | undefined, name: string): Capacity {
  if (json === undefined) return NO_CAPACITY;
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (err) {
    throw new Error(`${name} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = CapacitySchema.safeParse(doc);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${name}.${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new Error(`Invalid ${name}:\n${lines.join("\n")}`);
  }
  const seen = new Set<string>();
  for (const m of parsed.data.models) {
    const id = `${m.model}@${m.region ?? "*"}`;
    if (seen.has(id)) throw new Error(`Invalid ${name}: ${m.model} is listed twice for region ${m.region ?? "(any)"}`);
    seen.add(id);
  }
  return {
    reservedInteractiveShare: parsed.data.reservedInteractiveShare,
    models: parsed.data.models.map((m) => ({
      model: m.model,
      region: m.region,
      requestsPerMinute: m.requestsPerMinute,
      tokensPerMinute: m.tokensPerMinute,
    })),
  };
}

/** The capacity that applies to a call of `model` sent to `region`: the regional entry first, else the model's. */
export function capacityFor(c: Capacity, model: string, region: string): ModelCapacity | undefined {
  let any: ModelCapacity | undefined;
  for (const m of c.models) {
    if (m.model !== model) continue;
    if (m.region === region) return m;
    if (m.region === undefined) any = m;
  }
  return any;
}
