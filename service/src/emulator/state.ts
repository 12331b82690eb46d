/**
 * The mutable state of one running emulator: settings plus what is derived from them once per change (so the hot
 * path does not recompile regexes or rebuild tables), counters, the request log and the quota windows.
 */
import { mergeSettings, defaultSettings, type EmulatorSettings, type EmulatorSettingsPatch } from "./settings.js";
import { AnswerCache } from "./cache.js";
import { RequestLog, SlidingWindow, StatsCollector } from "./stats.js";
import { createResourceState, type ResourceState } from "./resources.js";

export interface EmulatorState {
  settings: EmulatorSettings;
  /** Cumulative probabilities for one draw of `random`; empty = no injection, no draw. */
  errorTable: { code: number; upTo: number }[];
  /** Draws for injected errors and jitter: seeded (settings.seed) or Math.random. */
  random: () => number;
  armor: RegExp | null;
  stats: StatsCollector;
  log: RequestLog;
  rpm: SlidingWindow;
  tpm: SlidingWindow;
  cache: AnswerCache;
  nextResponseId: () => string;
  /** Caches, interactions, batch jobs and the Cloud Storage they use (resources.ts). */
  resources: ResourceState;
}

export function createState(patch: EmulatorSettingsPatch | undefined): EmulatorState {
  const state: EmulatorState = {
    settings: defaultSettings(),
    errorTable: [],
    random: Math.random,
    armor: null,
    stats: new StatsCollector(),
    log: new RequestLog(),
    rpm: new SlidingWindow(),
    tpm: new SlidingWindow(),
    cache: new AnswerCache(),
    nextResponseId: responseIds(),
    resources: undefined as unknown as ResourceState,
  };
  state.resources = createResourceState(() => state.settings);
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
  state.random = settings.seed === null ? Math.random : mulberry32(settings.seed);
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
  const r = state.random();
  for (const e of table) if (r < e.upTo) return e.code;
  return 0;
}

/** A wait with jitter: base + uniform 0..jitterMs. */
export function delayMs(state: EmulatorState, base: number): number {
  const j = state.settings.latency.jitterMs;
  return j > 0 ? base + state.random() * j : base;
}

/** A small, fast seeded generator (mulberry32): repeatable fault injection, not cryptography. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
