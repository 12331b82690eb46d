/** The emulator's control plane over HTTP (/__emulator/config, /stats, /reset), for the emulator process. */

export interface EmulatorStatsSnapshot {
  requests: { total: number; byStatus: Record<string, number> };
  tokens: { input: number; output: number };
  peakConcurrency: number;
  concurrency: number;
  /** Model calls and connections by protocol since the last reset (absent from emulators older than h2c support). */
  protocols?: Record<"http/1.1" | "h2", { requests: number; connections: number }>;
}

async function call(url: string, init?: RequestInit): Promise<unknown> {
  const res = await fetch(url, init);
  const text = await res.text();
  if (!res.ok) throw new Error(`${init?.method ?? "GET"} ${url}: HTTP ${res.status} ${text}`);
  return JSON.parse(text) as unknown;
}

export class EmulatorControl {
  constructor(private readonly baseUrl: string) {}

  configure(patch: Record<string, unknown>): Promise<unknown> {
    return call(`${this.baseUrl}/__emulator/config`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(patch),
    });
  }

  async stats(): Promise<EmulatorStatsSnapshot> {
    return (await call(`${this.baseUrl}/__emulator/stats`)) as EmulatorStatsSnapshot;
  }

  /** Zeroes counters; peakConcurrency restarts from the calls still in flight. */
  async reset(): Promise<EmulatorStatsSnapshot> {
    return (await call(`${this.baseUrl}/__emulator/reset`, { method: "POST" })) as EmulatorStatsSnapshot;
  }

  /** Waits until no model call is in flight (e.g. the previous run's streams have all ended). */
  async idle(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.stats()).concurrency > 0) {
      if (Date.now() > deadline) throw new Error("emulator still has calls in flight");
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
