/** Percentiles of raw samples (nearest rank, no histogram bucketing, so sub-millisecond differences survive). */

export interface Percentiles {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Collects float samples (e.g. latencies in ms) into a growable typed array. */
export class Samples {
  private data = new Float64Array(4096);
  private n = 0;

  add(v: number): void {
    if (this.n === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.n++] = v;
  }

  get count(): number {
    return this.n;
  }

  percentiles(): Percentiles {
    const n = this.n;
    if (n === 0) return { count: 0, mean: NaN, p50: NaN, p90: NaN, p99: NaN, max: NaN };
    const sorted = this.data.slice(0, n).sort();
    let sum = 0;
    for (let i = 0; i < n; i++) sum += sorted[i]!;
    const at = (q: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!;
    return { count: n, mean: sum / n, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[n - 1]! };
  }
}
