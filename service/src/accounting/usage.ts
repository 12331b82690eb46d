/**
 * Usage and spend per tenant and model — and per tenant and feature label (`x-gateway-feature`) — per UTC day and month, in the shared store's counters: every instance adds
 * to the same totals, so `GET /admin/usage` answers for the whole fleet. A call's counters are summed in memory with
 * the other calls of the same 100 ms (USAGE_WRITE_MS) and written then: one add per counter every 100 ms instead of
 * eight per call (each add is a Redis script), so the store's work no longer grows with this instance's call rate.
 * What that delays is small beside what readers already accept: spend limits read the counters at most once a second
 * (pipeline/admit.ts); this instance's own summary and `/admin/tenants` write first; shutdown writes the rest. During a store
 * outage the increments are summed in memory (per counter and period, so bounded by tenants × models × fields) and
 * added by `flush` once the store answers again — an add that timed out after Redis applied it is then counted twice,
 * the lesser error than losing spend. Money is counted in integer micro-dollars.
 */
import { periodOf } from "../store/checks.js";
import { StoreUnavailableError, type CounterRef, type Period, type Store } from "../store/store.js";
import { usdMicros, type CallCost, type TokenUsage } from "./cost.js";

const FIELDS = [
  "requests",
  "input",
  "cached_input",
  "output",
  "reasoning",
  "usd_micros",
  "cache_hits",
  "saved_usd_micros",
  "storage_usd_micros",
] as const;
export type Field = (typeof FIELDS)[number];
const PERIODS: readonly Period[] = ["day", "month"];
/** How long increments are summed in memory before they are written (one add per counter). */
export const USAGE_WRITE_MS = 100;

/** Spend on tenant-owned resources, shown apart in the summary (it is also in the model totals, as spend limits read). */
export const USAGE_KINDS = ["cache", "interaction", "batch"] as const;
export type UsageKind = (typeof USAGE_KINDS)[number];

export interface ModelUsage {
  /** Calls that went upstream. */
  requests: number;
  tokens: { input: number; cachedInput: number; output: number; reasoning: number };
  usd: number;
  /** Calls answered from the response cache, and what they would have cost. */
  cacheHits: number;
  savedUsd: number;
  /** Context cache storage (token-hours at the storage price), included in `usd`. */
  storageUsd?: number;
}

export interface UsageSummary {
  period: Period;
  /** A time inside the period (ISO 8601). */
  at: string;
  tenants: Record<
    string,
    {
      total: ModelUsage;
      models: Record<string, ModelUsage>;
      features: Record<string, ModelUsage>;
      /** Context caches (creation and storage), interactions and batch jobs: their part of the totals. */
      kinds: Partial<Record<UsageKind, ModelUsage>>;
    }
  >;
}

export interface UsageLedger {
  /** Counts one finished call (fire-and-forget); `kind` when it was a cache, an interaction or a batch job. */
  add(
    tenant: string,
    model: string,
    tokens: TokenUsage,
    cost: CallCost | undefined,
    feature?: string,
    kind?: UsageKind,
  ): void;
  /**
   * Counts context cache storage (negative: a refund, when a cache is deleted or shortened before its expiry), in
   * the model's spend and the cache kind's.
   */
  addStorage(tenant: string, model: string, usd: number): void;
  /** Counts one call answered from the cache, and the spend it saved. */
  addCacheHit(tenant: string, model: string, savedUsd: number | undefined, feature?: string): void;
  summary(period: Period, at?: number): Promise<UsageSummary>;
  /**
   * Writes what is due now (rather than at the end of its USAGE_WRITE_MS), and adds what was counted in memory during
   * a store outage; what still fails stays for the next flush.
   */
  flush(): Promise<void>;
}

/** The counter of one tenant × model × field; spend limits (pipeline/admit.ts) read the `usd_micros` ones. */
export function usageCounterName(tenant: string, model: string, field: Field): string {
  return `usage:${tenant}:${model}:${field}`;
}

/** The counter of one tenant × resource kind × field. */
export function kindCounterName(tenant: string, kind: UsageKind, field: Field): string {
  return `usage-kind:${tenant}:${kind}:${field}`;
}

/** The counter of one tenant × feature label × field (a separate family: a feature is not a model). */
export function featureCounterName(tenant: string, feature: string, field: Field): string {
  return `usage-feature:${tenant}:${feature}:${field}`;
}

export function createUsageLedger(
  store: Store,
  bounds: {
    tenants: readonly string[];
    models: readonly string[];
    /** Each tenant's feature labels (the tenants file's closed lists). */
    features?: Readonly<Record<string, readonly string[]>>;
  },
  onStoreError: (err: StoreUnavailableError) => void,
): UsageLedger {
  // Increments the store did not take, summed per counter and period start.
  const pending = new Map<string, { ref: CounterRef; amount: number }>();
  const keep = (ref: CounterRef, amount: number) => {
    const key = `${ref.name}|${ref.period}|${periodStart(ref.period, ref.at!)}`;
    const p = pending.get(key);
    if (p) p.amount += amount;
    else pending.set(key, { ref, amount });
  };
  // Increments not written yet, summed per counter and period start; written USAGE_WRITE_MS after the first.
  const due = new Map<string, { ref: CounterRef; amount: number }>();
  let timer: NodeJS.Timeout | undefined;
  const starts = { day: new PeriodStart("day"), month: new PeriodStart("month") };
  /** Writes what is due; resolves when the store has answered each add (a refused one is kept for `flush`). */
  const writeDue = async (): Promise<void> => {
    clearTimeout(timer);
    timer = undefined;
    const batch = [...due.values()];
    due.clear();
    await Promise.all(
      batch.map(({ ref, amount }) =>
        amount === 0
          ? undefined
          : store.counters.add(ref, amount).catch((err: unknown) => {
              if (!(err instanceof StoreUnavailableError)) return;
              onStoreError(err);
              keep(ref, amount);
            }),
      ),
    );
  };
  const count = (name: string, period: Period, at: number, amount: number) => {
    const key = `${name}|${period}|${starts[period].of(at)}`;
    const d = due.get(key);
    if (d) d.amount += amount;
    else due.set(key, { ref: { name, period, at }, amount });
    // unref: a process exiting without the shutdown path has nothing else to wait for; shutdown flushes.
    timer ??= setTimeout(() => void writeDue(), USAGE_WRITE_MS).unref();
  };
  const addAmounts = (
    tenant: string,
    model: string,
    feature: string | undefined,
    amounts: Partial<Record<Field, number>>,
    kind?: UsageKind,
  ) => {
    const at = Date.now();
    for (const field of FIELDS) {
      const amount = amounts[field];
      if (!amount) continue;
      for (const period of PERIODS) {
        count(usageCounterName(tenant, model, field), period, at, amount);
        if (feature) count(featureCounterName(tenant, feature, field), period, at, amount);
        if (kind) count(kindCounterName(tenant, kind, field), period, at, amount);
      }
    }
  };
  return {
    async flush() {
      await writeDue();
      const batch = [...pending.values()];
      pending.clear();
      await Promise.all(
        batch.map(({ ref, amount }) =>
          store.counters.add(ref, amount).catch((err: unknown) => {
            if (err instanceof StoreUnavailableError) keep(ref, amount);
          }),
        ),
      );
    },

    add(tenant, model, t, cost, feature, kind) {
      addAmounts(
        tenant,
        model,
        feature,
        {
          requests: 1,
          input: t.input + t.toolUsePrompt,
          cached_input: t.cachedInput,
          output: t.output,
          reasoning: t.thinking,
          usd_micros: cost ? usdMicros(cost.totalUsd) : 0,
        },
        kind,
      );
    },

    addStorage(tenant, model, usd) {
      const micros = usdMicros(usd);
      if (micros) addAmounts(tenant, model, undefined, { usd_micros: micros, storage_usd_micros: micros }, "cache");
    },

    addCacheHit(tenant, model, savedUsd, feature) {
      addAmounts(tenant, model, feature, { cache_hits: 1, saved_usd_micros: savedUsd ? usdMicros(savedUsd) : 0 });
    },

    async summary(period, at = Date.now()) {
      await writeDue(); // this instance's latest calls included
      const features = (tenant: string) => bounds.features?.[tenant] ?? [];
      const refs: CounterRef[] = [];
      for (const tenant of bounds.tenants) {
        for (const model of bounds.models) {
          for (const field of FIELDS) refs.push({ name: usageCounterName(tenant, model, field), period, at });
        }
        for (const feature of features(tenant)) {
          for (const field of FIELDS) refs.push({ name: featureCounterName(tenant, feature, field), period, at });
        }
        for (const kind of USAGE_KINDS) {
          for (const field of FIELDS) refs.push({ name: kindCounterName(tenant, kind, field), period, at });
        }
      }
      const values = await store.counters.readMany(refs);
      let i = 0;
      const next = (): ModelUsage | undefined => {
        const v = Object.fromEntries(FIELDS.map((f) => [f, values[i++] ?? 0])) as Record<Field, number>;
        if (v.requests === 0 && v.usd_micros === 0 && v.cache_hits === 0) return undefined;
        return {
          requests: v.requests,
          tokens: { input: v.input, cachedInput: v.cached_input, output: v.output, reasoning: v.reasoning },
          usd: v.usd_micros / 1e6,
          cacheHits: v.cache_hits,
          savedUsd: v.saved_usd_micros / 1e6,
          ...(v.storage_usd_micros ? { storageUsd: v.storage_usd_micros / 1e6 } : {}),
        };
      };
      const tenants: UsageSummary["tenants"] = {};
      for (const tenant of bounds.tenants) {
        const total = emptyUsage();
        const models: Record<string, ModelUsage> = {};
        for (const model of bounds.models) {
          const u = next();
          if (!u) continue;
          models[model] = u;
          total.requests += u.requests;
          total.tokens.input += u.tokens.input;
          total.tokens.cachedInput += u.tokens.cachedInput;
          total.tokens.output += u.tokens.output;
          total.tokens.reasoning += u.tokens.reasoning;
          total.usd = Math.round((total.usd + u.usd) * 1e6) / 1e6;
          total.cacheHits += u.cacheHits;
          total.savedUsd = Math.round((total.savedUsd + u.savedUsd) * 1e6) / 1e6;
        }
        const byFeature: Record<string, ModelUsage> = {};
        for (const feature of features(tenant)) {
          const u = next();
          if (u) byFeature[feature] = u;
        }
        const kinds: Partial<Record<UsageKind, ModelUsage>> = {};
        for (const kind of USAGE_KINDS) {
          const u = next();
          if (u) kinds[kind] = u;
        }
        tenants[tenant] = { total, models, features: byFeature, kinds };
      }
      return { period, at: new Date(at).toISOString(), tenants };
    },
  };
}

/** The start of the period holding `at`, worked out again only when `at` leaves the last one (calls come in order). */
class PeriodStart {
  private from = 0;
  private until = -1;
  constructor(private readonly period: Period) {}
  of(at: number): number {
    if (at < this.from || at >= this.until) {
      this.from = periodStart(this.period, at);
      this.until = periodOf(this.period, at).endsAt;
    }
    return this.from;
  }
}

function periodStart(period: Period, at: number): number {
  const d = new Date(at);
  return period === "day"
    ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate())
    : Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

function emptyUsage(): ModelUsage {
  return {
    requests: 0,
    tokens: { input: 0, cachedInput: 0, output: 0, reasoning: 0 },
    usd: 0,
    cacheHits: 0,
    savedUsd: 0,
  };
}
