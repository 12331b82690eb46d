/**
 * What the emulator observed: counters (stats), the last requests (a ring buffer) and the sliding 60 s windows the
 * quota knob uses. All O(1) per request on the hot path; snapshots are built only when asked for.
 */

export interface EmulatorStats {
  requests: { total: number; byStatus: Record<string, number> };
  tokens: { input: number; output: number };
  peakConcurrency: number;
  concurrency: number;
  /**
   * Model calls by the protocol they came in on, and connections accepted on each since the last reset: how a test
   * proves the gateway used HTTP/2 and shared its connections.
   */
  protocols: { "http/1.1": ProtocolCounts; h2: ProtocolCounts };
}

export interface ProtocolCounts {
  requests: number;
  connections: number;
}

export interface RecordedRequest {
  /** Arrival time, epoch ms. */
  at: number;
  method: string;
  /** Path including the query string. */
  path: string;
  /** Lowercased names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** The raw body exactly as received (decoded as UTF-8). */
  body: string;
  status: number;
}

export class StatsCollector {
  private total = 0;
  private byStatus = new Map<number, number>();
  private input = 0;
  private output = 0;
  private current = 0;
  private peak = 0;
  private h1Requests = 0;
  private h2Requests = 0;
  private h1Connections = 0;
  private h2Connections = 0;

  begin(http2: boolean): void {
    if (++this.current > this.peak) this.peak = this.current;
    if (http2) this.h2Requests++;
    else this.h1Requests++;
  }
  connection(http2: boolean): void {
    if (http2) this.h2Connections++;
    else this.h1Connections++;
  }
  end(status: number): void {
    this.current--;
    this.total++;
    this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1);
  }
  addInput(n: number): void {
    this.input += n;
  }
  addOutput(n: number): void {
    this.output += n;
  }
  /** Requests still in flight stay counted in `concurrency`; the peak restarts from them. */
  reset(): void {
    this.total = 0;
    this.byStatus.clear();
    this.input = 0;
    this.output = 0;
    this.peak = this.current;
    this.h1Requests = this.h2Requests = this.h1Connections = this.h2Connections = 0;
  }
  snapshot(): EmulatorStats {
    const byStatus: Record<string, number> = {};
    for (const [code, n] of [...this.byStatus].sort((a, b) => a[0] - b[0])) byStatus[String(code)] = n;
    return {
      requests: { total: this.total, byStatus },
      tokens: { input: this.input, output: this.output },
      peakConcurrency: this.peak,
      concurrency: this.current,
      protocols: {
        "http/1.1": { requests: this.h1Requests, connections: this.h1Connections },
        h2: { requests: this.h2Requests, connections: this.h2Connections },
      },
    };
  }
}

/** A sum of (time, value) entries over the last `spanMs`; amortised O(1) add and prune. */
export class SlidingWindow {
  private times: number[] = [];
  private values: number[] = [];
  private head = 0;
  private total = 0;

  constructor(private readonly spanMs = 60_000) {}

  add(now: number, value: number): void {
    this.times.push(now);
    this.values.push(value);
    this.total += value;
  }
  /** Sum of the values added in the last `spanMs` before `now`. */
  sum(now: number): number {
    this.prune(now);
    return this.total;
  }
  /** Number of entries in the window. */
  count(now: number): number {
    this.prune(now);
    return this.times.length - this.head;
  }
  clear(): void {
    this.times = [];
    this.values = [];
    this.head = 0;
    this.total = 0;
  }
  private prune(now: number): void {
    const cutoff = now - this.spanMs;
    while (this.head < this.times.length && this.times[this.head]! <= cutoff) {
      this.total -= this.values[this.head]!;
      this.head++;
    }
    // Compact now and then instead of shifting on every prune.
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.values = this.values.slice(this.head);
      this.head = 0;
    }
  }
}

interface Entry {
  at: number;
  method: string;
  path: string;
  /** Node's rawHeaders array, kept as is; turned into an object only when someone reads the log. */
  rawHeaders: string[];
  body: string;
  status: number;
}

/**
 * The last `capacity` model calls. Bodies are kept exactly, so the buffer also drops its oldest entries early when
 * the retained bodies exceed `maxBodyChars` (200 bodies of 64 MB would not fit in memory); the newest entry is
 * always kept.
 */
export class RequestLog {
  private entries: Entry[] = [];
  private chars = 0;

  constructor(
    private readonly capacity = 200,
    private readonly maxBodyChars = 256 * 1024 * 1024,
  ) {}

  add(e: Entry): void {
    this.entries.push(e);
    this.chars += e.body.length;
    while (this.entries.length > 1 && (this.entries.length > this.capacity || this.chars > this.maxBodyChars)) {
      this.chars -= this.entries.shift()!.body.length;
    }
  }
  clear(): void {
    this.entries = [];
    this.chars = 0;
  }
  list(): RecordedRequest[] {
    return this.entries.map((e) => {
      const headers: Record<string, string> = {};
      for (let i = 0; i + 1 < e.rawHeaders.length; i += 2) {
        const k = e.rawHeaders[i]!.toLowerCase();
        const v = e.rawHeaders[i + 1]!;
        headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
      }
      return { at: e.at, method: e.method, path: e.path, headers, body: e.body, status: e.status };
    });
  }
}
