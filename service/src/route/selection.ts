/**
 * Where the next attempt goes, and when. Pure functions and one small map; the clock and the randomness are the
 * caller's (tests: fake ones).
 *
 * - The next attempt goes, without waiting, to the first upstream of the route not tried yet by this call and not
 *   cooling; when all were tried (or all cool), to the one whose cool-down ends first.
 * - A 429 or 503 carrying Retry-After / RetryInfo cools that upstream for the whole instance for that long.
 * - A retry of an upstream already tried waits a backoff with full jitter: random in [0, min(max, base × 2ⁿ⁻¹)) before
 *   its n-th retry (full jitter spreads the retries of many calls that failed together), never less than its
 *   cool-down.
 */

/** Per upstream id, until when (epoch ms) it cools after telling the gateway to come back later. */
export interface Cooldowns {
  until(id: string): number;
  cool(id: string, untilMs: number): void;
  /** The upstreams still cooling at `nowMs`, with when each cool-down ends (for the console and /admin/summary). */
  active(nowMs: number): Record<string, number>;
}

export function createCooldowns(): Cooldowns {
  const until = new Map<string, number>();
  return {
    until: (id) => until.get(id) ?? 0,
    active: (nowMs) => Object.fromEntries([...until].filter(([, end]) => end > nowMs)),
    cool(id, untilMs) {
      until.set(id, Math.max(until.get(id) ?? 0, untilMs));
    },
  };
}

/** The next upstream to try among `usable` (non-empty), given this call's attempts so far. */
export function nextUpstream(
  usable: readonly string[],
  tried: ReadonlyMap<string, number>,
  cooldowns: Cooldowns,
  now: number,
): string {
  const fresh = usable.find((id) => !tried.has(id) && cooldowns.until(id) <= now);
  return fresh ?? usable.reduce((a, b) => (cooldowns.until(a) <= cooldowns.until(b) ? a : b));
}

/** How long to wait before sending to `id`: its cool-down, and a backoff when this call tried it before. */
export function waitBefore(
  id: string,
  tried: ReadonlyMap<string, number>,
  cooldowns: Cooldowns,
  now: number,
  backoff: { baseDelayMs: number; maxDelayMs: number; random: () => number },
): number {
  const again = tried.get(id) ?? 0;
  const jitter = again > 0 ? fullJitter(again, backoff) : 0;
  return Math.max(cooldowns.until(id) - now, jitter);
}

/** Full jitter before the n-th retry of one upstream: random in [0, min(max, base × 2ⁿ⁻¹)). */
export function fullJitter(n: number, o: { baseDelayMs: number; maxDelayMs: number; random: () => number }): number {
  return o.random() * Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** (n - 1));
}
