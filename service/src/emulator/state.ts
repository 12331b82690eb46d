/**
 * The mutable state of one running emulator: settings plus what is derived from them once per change (so the hot
 * path does not recompile regexes or rebuild tables), counters, the request log and the quota windows.
 */
import { mergeSettings, defaultSettings, type EmulatorSettings, type EmulatorSettingsPatch } from "./settings.js";
import { AnswerCache } from "./cache.js";
import { RequestLog, SlidingWindow, StatsCollector } from "./stats.js";

export interface EmulatorState {
  settings: EmulatorSettings;
  /** Cumulative probabilities for one draw of Math.random(); empty = no injection, no draw. */
  errorTable: { code: number; upTo: number }[];
  armor: RegExp | null;
  stats: StatsCollector;
  log: RequestLog;
  rpm: SlidingWindow;
  tpm: SlidingWindow;
  cache: AnswerCache;
  nextResponseId: () => string;
}

export function createState(patch: EmulatorSettingsPatch | undefined): EmulatorState {
  const state: EmulatorState = {
    settings: defaultSettings(),
    errorTable: [],
    armor: null,
    stats: new StatsCollector(),
    log: new RequestLog(),
    rpm: new SlidingWindow(),
    tpm: new SlidingWindow(),
    cache: new AnswerCache(),
    nextResponseId: responseIds(),
  };
  if (patch) applySettings(state, mergeSettings(state.settings, patch));
  return state;
}

export function applySettings(state: EmulatorState, settings: EmulatorSettings): void {
  state.settings = settings;
  let upTo = 0;
  state.errorTable = Object.entries(settings.errors)
    .filter(([, p]) => p > 0)
    .map(([code, p]) => ({ code: Number(code), upTo: (upTo += p) }));
  const pattern = settings.modelArmor.blockPattern;
  state.armor = pattern === null ? null : new RegExp(pattern, "i");
  // Prepared answers depend on responseTokens and the Model Armor pattern.
  state.cache.clear();
}

/** Unique per process and cheap: a random prefix plus a counter (Vertex ids are opaque strings too). */
function responseIds(): () => string {
  const prefix = Math.random().toString(36).slice(2, 10);
  let seq = 0;
  return () => `${prefix}${(++seq).toString(36).padStart(6, "0")}`;
}

let lastMs = 0;
let lastIso = "";
/** ISO timestamp, formatted at most once per millisecond. */
export function isoNow(): string {
  const t = Date.now();
  if (t !== lastMs) {
    lastMs = t;
    lastIso = new Date(t).toISOString();
  }
  return lastIso;
}

/** Draws one injected error code, or 0 for none. */
export function drawError(state: EmulatorState): number {
  const table = state.errorTable;
  if (table.length === 0) return 0;
  const r = Math.random();
  for (const e of table) if (r < e.upTo) return e.code;
  return 0;
}

/** A wait with jitter: base + uniform 0..jitterMs. */
export function delayMs(state: EmulatorState, base: number): number {
  const j = state.settings.latency.jitterMs;
  return j > 0 ? base + Math.random() * j : base;
}
