/**
 * The budget kill switch: Cloud Billing budget notifications (notification.ts) set a fleet-wide level that the
 * admission path consults on every call, synchronously and without I/O (`refusal`).
 *
 * - open: everything passes.
 * - batch-paused (spend ≥ batchThreshold × budget): batch-priority tenants are refused, interactive ones pass.
 * - paused (spend ≥ budget): every tenant is refused.
 * Tenants on the allowlist always pass (the operator's own tooling, an incident channel). A refusal is 429
 * RESOURCE_EXHAUSTED with Retry-After at the end of the budget period.
 *
 * Sharing: the state lives in the store's KeyValue under `budget:state`, expiring at the end of the budget period,
 * so a push delivered to one instance pauses all of them within `pollMs` and nothing is left paused into the next
 * period. Each instance keeps a local copy (refreshed by polling) for the hot path. Writes are read-then-write, not
 * atomic: two notifications landing on two instances at the same moment resolve as last-writer-wins, which the next
 * notification (budgets publish several times a day) corrects.
 *
 * Period: budgets are monthly by default and a notification carries only the period's start (`costIntervalStart`,
 * midnight in the billing account's time zone, e.g. 07:00Z for US Pacific), so the period is assumed to end one
 * calendar month later at the same UTC time of day. Across a DST change that is an hour off (Pacific: Nov 1 07:00Z →
 * Dec 1 08:00Z really): the switch opens an hour early, and the first notification of the new period, with its own
 * start, sets things right. Quarterly, yearly or custom-period budgets are not supported by this assumption.
 *
 * Reset: `reset()` does not delete the state; it writes an "open" record for the same period that remembers the level
 * the operator cleared (`resetLevel`). Every instance picks it up like any other update, and later notifications in
 * the same period re-trip the switch only on reaching a higher level: resetting a batch pause at 93% still pauses
 * everything at 100%, but the next push at 94% does not undo the operator's decision. A new period forgets it.
 */
import { z } from "zod";
import { errors, type GatewayError } from "../wire/errors.js";
import { StoreUnavailableError, type KeyValue } from "../store/store.js";
import type { Logger } from "../telemetry/logger.js";
import type { BudgetNotification } from "./notification.js";

export const BUDGET_STATE_KEY = "budget:state";

export const BUDGET_LEVELS = ["open", "batch-paused", "paused"] as const;
export type BudgetLevel = (typeof BUDGET_LEVELS)[number];

/** A tenant's traffic class, as in the tenants file. */
export type TrafficPriority = "interactive" | "batch";

export interface BudgetState {
  level: BudgetLevel;
  budgetId: string;
  /** The budget's display name, for refusal messages. */
  displayName: string;
  /** costAmount / budgetAmount. */
  ratio: number;
  costAmount: number;
  budgetAmount: number;
  currencyCode: string;
  /** Start of the budget period (RFC 3339, as the notification sent it). */
  costIntervalStart: string;
  /** Epoch ms: one calendar month after costIntervalStart (see the period assumption above). */
  periodEndsAt: number;
  /** Epoch ms of the last change. */
  updatedAt: number;
  /** Why the level is what it is, in words for operators. */
  reason: string;
  /** Set by reset(): the level an operator cleared this period; notifications re-trip the switch only above it. */
  resetLevel?: Exclude<BudgetLevel, "open">;
}

export interface ApplyResult {
  /** The state now in force (the existing one when the notification was stale). */
  state: BudgetState;
  /** False when the notification was older than the state (an earlier period delivered late) and ignored. */
  applied: boolean;
}

export interface BudgetSwitchOptions {
  kv: KeyValue;
  /** Fraction of the budget at which batch traffic is paused, in (0, 1]; e.g. 0.8. */
  batchThreshold: number;
  /** Tenant ids never refused by the switch. */
  allowlist: readonly string[];
  logger: Logger;
  /** How often to read the shared state written by other instances; default 2000 ms. */
  pollMs?: number;
  now?: () => number;
}

export interface BudgetSwitch {
  /**
   * Records a notification: computes the level from cost / budget and stores it for every instance.
   * @throws StoreUnavailableError when the store cannot be read or written (answer 503 so Pub/Sub redelivers).
   */
  apply(notification: BudgetNotification): Promise<ApplyResult>;
  /** The error to refuse this call with, or undefined to let it pass. Synchronous, no I/O: the hot path. */
  refusal(tenantId: string, priority: TrafficPriority): GatewayError | undefined;
  /**
   * Opens the switch for the rest of the period (see Reset above) on every instance; returns the state now in force.
   * @throws StoreUnavailableError when the store cannot be read or written.
   */
  reset(): Promise<BudgetState | undefined>;
  /** The local copy; undefined when there is none or its period has ended. */
  current(): BudgetState | undefined;
  /** Reads the shared state once (what the poll timer does). Never rejects; store errors are logged, rate-limited. */
  refresh(): Promise<void>;
  /** Reads the shared state now and then every pollMs (unref'd timer). */
  start(): void;
  stop(): void;
}

const DEFAULT_POLL_MS = 2000;
const ERROR_LOG_EVERY_MS = 10_000;
const MIN_TTL_MS = 1000;
const RANK: Record<BudgetLevel, number> = { open: 0, "batch-paused": 1, paused: 2 };

const StateSchema = z.object({
  level: z.enum(BUDGET_LEVELS),
  budgetId: z.string(),
  displayName: z.string(),
  ratio: z.number(),
  costAmount: z.number(),
  budgetAmount: z.number(),
  currencyCode: z.string(),
  costIntervalStart: z.string(),
  periodEndsAt: z.number(),
  updatedAt: z.number(),
  reason: z.string(),
  resetLevel: z.enum(["batch-paused", "paused"]).optional(),
}) satisfies z.ZodType<BudgetState>;

/** The state in force plus its refusal messages, built once per change rather than once per refused call. */
interface Local {
  state: BudgetState;
  message: string;
}

export function createBudgetSwitch(options: BudgetSwitchOptions): BudgetSwitch {
  const { kv, batchThreshold, logger } = options;
  if (!(batchThreshold > 0 && batchThreshold <= 1)) {
    throw new RangeError(`batchThreshold must be a fraction in (0, 1], got ${batchThreshold}`);
  }
  const now = options.now ?? Date.now;
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const allowlist = new Set(options.allowlist);

  let local: Local | undefined;
  // Bumped by every local write: a poll whose read started before it must not overwrite the newer copy.
  let generation = 0;
  let polling = false;
  let timer: NodeJS.Timeout | undefined;
  let lastPollErrorLogAt = -Infinity;

  const live = (s: BudgetState | undefined, at: number): BudgetState | undefined =>
    s && at < s.periodEndsAt ? s : undefined;

  /** The shared state; undefined when absent or unreadable (overwritten by the next write). */
  const readShared = async (): Promise<BudgetState | undefined> => {
    const raw = await kv.get(BUDGET_STATE_KEY);
    if (raw === null) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      json = undefined;
    }
    const parsed = StateSchema.safeParse(json);
    if (parsed.success) return parsed.data;
    logger.warn({ key: BUDGET_STATE_KEY }, "budget kill switch: the shared state is unreadable; ignoring it");
    return undefined;
  };

  const writeShared = (s: BudgetState, at: number): Promise<void> =>
    kv.set(BUDGET_STATE_KEY, JSON.stringify(s), Math.max(MIN_TTL_MS, Math.ceil(s.periodEndsAt - at)));

  /** Makes `next` the local copy; logs a level change (warn when this instance made it, info when picked up). */
  const adopt = (next: BudgetState | undefined, source: "notification" | "reset" | "store") => {
    const at = now();
    const before = live(local?.state, at)?.level ?? "open";
    const after = live(next, at)?.level ?? "open";
    if (source !== "store") generation++;
    local = next ? { state: next, message: refusalMessage(next) } : undefined;
    if (before === after) return;
    const fields = {
      budgetId: next?.budgetId,
      from: before,
      to: after,
      ratio: next ? Math.round(next.ratio * 10_000) / 10_000 : undefined,
      periodEndsAt: next ? new Date(next.periodEndsAt).toISOString() : undefined,
      reason: next?.reason,
      source,
    };
    if (source === "store") logger.info(fields, "budget kill switch: level changed by another instance");
    else logger.warn(fields, `budget kill switch: ${before} → ${after}`);
  };

  const levelFor = (ratio: number): BudgetLevel =>
    ratio >= 1 ? "paused" : ratio >= batchThreshold ? "batch-paused" : "open";

  const describe = (ratio: number, level: BudgetLevel): string => {
    const spend = `spend is ${percent(ratio)}% of the budget`;
    if (level === "paused") return `${spend} (at or above 100%)`;
    const threshold = `the batch threshold of ${percent(batchThreshold)}%`;
    return level === "batch-paused" ? `${spend} (at or above ${threshold})` : `${spend} (below ${threshold})`;
  };

  const refresh = async (): Promise<void> => {
    if (polling) return; // a slow store: do not pile reads up
    polling = true;
    const started = generation;
    try {
      const shared = await readShared();
      if (generation === started) adopt(shared, "store");
    } catch (err) {
      // Keep the last known state: a store outage must neither pause nor unpause the fleet.
      const at = now();
      if (at - lastPollErrorLogAt >= ERROR_LOG_EVERY_MS) {
        lastPollErrorLogAt = at;
        const unavailable = err instanceof StoreUnavailableError;
        logger.warn(
          { err: unavailable ? err.message : String(err) },
          "budget kill switch: cannot read the shared state; keeping the last known level",
        );
      }
    } finally {
      polling = false;
    }
  };

  return {
    async apply(n) {
      const at = now();
      // The store is the truth (another instance may have written since our last poll); our copy if it lost the key.
      const base = (await readShared()) ?? live(local?.state, at);
      const baseStart = base ? Date.parse(base.costIntervalStart) : -Infinity;
      if (base && n.costIntervalStartMs < baseStart) {
        adopt(base, "store");
        return { state: base, applied: false };
      }
      const ratio = n.costAmount / n.budgetAmount;
      const resetLevel = base && n.costIntervalStartMs === baseStart ? base.resetLevel : undefined;
      const computed = levelFor(ratio);
      const held = resetLevel !== undefined && RANK[computed] <= RANK[resetLevel];
      const state: BudgetState = {
        level: held ? "open" : computed,
        budgetId: n.budgetId,
        displayName: n.displayName,
        ratio,
        costAmount: n.costAmount,
        budgetAmount: n.budgetAmount,
        currencyCode: n.currencyCode,
        costIntervalStart: n.costIntervalStart,
        periodEndsAt: periodEnd(n.costIntervalStartMs),
        updatedAt: at,
        reason: held
          ? `${describe(ratio, computed)}; an operator reset the ${resetLevel} level this period`
          : describe(ratio, computed),
      };
      if (resetLevel !== undefined) state.resetLevel = resetLevel;
      await writeShared(state, at);
      adopt(state, "notification");
      return { state, applied: true };
    },

    refusal(tenantId, priority) {
      const l = local;
      if (!l || l.state.level === "open") return undefined;
      if (l.state.level === "batch-paused" && priority !== "batch") return undefined;
      const at = now();
      if (at >= l.state.periodEndsAt || allowlist.has(tenantId)) return undefined;
      return errors.rateLimited(l.message, l.state.periodEndsAt - at);
    },

    async reset() {
      const at = now();
      const base = live(await readShared(), at) ?? live(local?.state, at);
      if (!base || base.level === "open") {
        adopt(base, "reset");
        return base;
      }
      const resetLevel =
        base.resetLevel !== undefined && RANK[base.resetLevel] > RANK[base.level] ? base.resetLevel : base.level;
      const state: BudgetState = {
        ...base,
        level: "open",
        updatedAt: at,
        reason: `${describe(base.ratio, base.level)}; an operator reset the ${resetLevel} level this period`,
        resetLevel,
      };
      await writeShared(state, at);
      adopt(state, "reset");
      return state;
    },

    current: () => live(local?.state, now()),
    refresh,

    start() {
      if (timer) return;
      void refresh();
      timer = setInterval(() => void refresh(), pollMs);
      timer.unref();
    },

    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}

/**
 * The end of a monthly budget period starting at `startMs`: the same day of the next calendar month (clamped to its
 * last day) at the same UTC time of day.
 */
export function periodEnd(startMs: number): number {
  const d = new Date(startMs);
  const year = d.getUTCFullYear();
  const month = d.getUTCMonth() + 1; // Date.UTC rolls month 12 into January of the next year
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return Date.UTC(
    year,
    month,
    Math.min(d.getUTCDate(), lastDay),
    d.getUTCHours(),
    d.getUTCMinutes(),
    d.getUTCSeconds(),
    d.getUTCMilliseconds(),
  );
}

function refusalMessage(s: BudgetState): string {
  const what = s.level === "paused" ? "traffic" : "batch traffic";
  return (
    `The project's budget "${s.displayName}" is at ${percent(s.ratio)}% of ${money(s.budgetAmount, s.currencyCode)} ` +
    `this period: ${what} is paused until ${new Date(s.periodEndsAt).toISOString().replace(".000Z", "Z")} ` +
    "or an operator resets it."
  );
}

/** Whole percent, rounded down (93.9% is "93%", never "94%" while under 94), tolerant of float noise (0.29 × 100). */
function percent(ratio: number): number {
  return Math.floor(ratio * 100 + 1e-9);
}

function money(amount: number, currency: string): string {
  const n = Number.isInteger(amount) ? String(amount) : amount.toFixed(2);
  return currency === "USD" ? `$${n}` : `${n} ${currency}`;
}
