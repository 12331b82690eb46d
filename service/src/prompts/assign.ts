/**
 * Which variant of an experiment a caller gets: sticky by hashing, as TensorZero samples its variants
 * (SHA-256 of the function name and the episode id, tensorzero-core/src/experimentation): the same experiment, tenant
 * and subject always land on the same point of [0, 1), on every instance, without any state. The first `holdout` of
 * that interval is the holdout; the rest is cut in proportion to the variants' weights. Changing the weights moves
 * only the subjects whose point changes side of a cut; renaming the experiment reshuffles everyone.
 */
import { createHash } from "node:crypto";
import type { Experiment } from "./schema.js";

export const HOLDOUT = "holdout";

/** A point of [0, 1) for this subject in this experiment (the first 32 bits of a SHA-256, over 2³²). */
export function pointOf(experiment: string, tenant: string, subject: string): number {
  const digest = createHash("sha256").update(`${experiment}\u0000${tenant}\u0000${subject}`).digest();
  return digest.readUInt32BE(0) / 2 ** 32;
}

/** The variant name at `point` (or "holdout"). */
export function variantAt(x: Pick<Experiment, "holdout" | "variants">, point: number): string {
  if (point < x.holdout) return HOLDOUT;
  const total = x.variants.reduce((s, v) => s + v.weight, 0);
  const threshold = ((point - x.holdout) / (1 - x.holdout)) * total;
  let cumulative = 0;
  for (const v of x.variants) {
    cumulative += v.weight;
    if (v.weight > 0 && threshold < cumulative) return v.name;
  }
  return x.variants.filter((v) => v.weight > 0).at(-1)!.name; // rounding at the very top of the interval
}

/** The share of subjects each variant (and the holdout) gets: what assignment converges to. */
export function expectedShares(x: Pick<Experiment, "holdout" | "variants">): Record<string, number> {
  const total = x.variants.reduce((s, v) => s + v.weight, 0);
  const shares: Record<string, number> = {};
  if (x.holdout > 0) shares[HOLDOUT] = x.holdout;
  for (const v of x.variants) shares[v.name] = ((1 - x.holdout) * v.weight) / total;
  return shares;
}
