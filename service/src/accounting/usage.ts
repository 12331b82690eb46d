/**
 * Usage and spend per tenant and model, per UTC day and month, in the shared store's counters: every instance adds
 * to the same totals, so `GET /admin/usage` answers for the whole fleet. A call's counters are added together (the
 * Redis client pipelines commands issued in one tick: one round trip) after the answer has gone out; a store outage
 * loses those calls' counts and says so through `onStoreError`. Money is counted in integer micro-dollars.
 */
import { StoreUnavailableError, type CounterRef, type Period, type Store } from "../store/store.js";
import { usdMicros, type CallCost, type TokenUsage } from "./cost.js";

const FIELDS = ["requests", "input", "cached_input", "output", "reasoning", "usd_micros"] as const;
export type Field = (typeof FIELDS)[number];
const PERIODS: readonly Period[] = ["day", "month"];

export interface ModelUsage {
  requests: number;
  tokens: { input: number; cachedInput: number; output: number; reasoning: number };
  usd: number;
}

export interface UsageSummary {
  period: Period;
  /** A time inside the period (ISO 8601). */
  at: string;
  tenants: Record<string, { total: ModelUsage; models: Record<string, ModelUsage> }>;
}

export interface UsageLedger {
  /** Counts one finished call (fire-and-forget). */
  add(tenant: string, model: string, tokens: TokenUsage, cost: CallCost | undefined): void;
  summary(period: Period, at?: number): Promise<UsageSummary>;
}

/** The counter of one tenant × model × field; spend limits (pipeline/admit.ts) read the `usd_micros` ones. */
export function usageCounterName(tenant: string, model: string, field: Field): string {
  return `usage:${tenant}:${model}:${field}`;
}

export function createUsageLedger(
  store: Store,
  bounds: { tenants: readonly string[]; models: readonly string[] },
  onStoreError: (err: StoreUnavailableError) => void,
): UsageLedger {
  return {
    add(tenant, model, t, cost) {
      const amounts: Record<Field, number> = {
        requests: 1,
        input: t.input + t.toolUsePrompt,
        cached_input: t.cachedInput,
        output: t.output,
        reasoning: t.thinking,
        usd_micros: cost ? usdMicros(cost.totalUsd) : 0,
      };
      for (const period of PERIODS) {
        for (const field of FIELDS) {
          if (amounts[field] === 0) continue;
          store.counters
            .add({ name: usageCounterName(tenant, model, field), period }, amounts[field])
            .catch((err: unknown) => {
              if (err instanceof StoreUnavailableError) onStoreError(err);
            });
        }
      }
    },

    async summary(period, at = Date.now()) {
      const refs: CounterRef[] = [];
      for (const tenant of bounds.tenants) {
        for (const model of bounds.models) {
          for (const field of FIELDS) refs.push({ name: usageCounterName(tenant, model, field), period, at });
        }
      }
      const values = await store.counters.readMany(refs);
      const tenants: UsageSummary["tenants"] = {};
      let i = 0;
      for (const tenant of bounds.tenants) {
        const total = emptyUsage();
        const models: Record<string, ModelUsage> = {};
        for (const model of bounds.models) {
          const v = Object.fromEntries(FIELDS.map((f) => [f, values[i++] ?? 0])) as Record<Field, number>;
          if (v.requests === 0 && v.usd_micros === 0) continue;
          const u: ModelUsage = {
            requests: v.requests,
            tokens: { input: v.input, cachedInput: v.cached_input, output: v.output, reasoning: v.reasoning },
            usd: v.usd_micros / 1e6,
          };
          models[model] = u;
          total.requests += u.requests;
          total.tokens.input += u.tokens.input;
          total.tokens.cachedInput += u.tokens.cachedInput;
          total.tokens.output += u.tokens.output;
          total.tokens.reasoning += u.tokens.reasoning;
          total.usd = Math.round((total.usd + u.usd) * 1e6) / 1e6;
        }
        tenants[tenant] = { total, models };
      }
      return { period, at: new Date(at).toISOString(), tenants };
    },
  };
}

function emptyUsage(): ModelUsage {
  return { requests: 0, tokens: { input: 0, cachedInput: 0, output: 0, reasoning: 0 }, usd: 0 };
}
