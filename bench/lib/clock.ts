// Time and statistics helpers shared by every bench process. All timestamps on the wire between bench
// processes are "epoch ms": performance.timeOrigin + performance.now(), the simulator's stamp clock.

import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** Milliseconds since the epoch, sub-millisecond resolution: the same clock the simulator stamps with. */
export const epochNow = (): number => performance.timeOrigin + performance.now();

/**
 * This process's epoch clock minus CLOCK_MONOTONIC (shared by all processes on the host). Two processes'
 * offsets differ by the error of each one's timeOrigin; subtracting that difference makes their stamps
 * comparable to the microsecond.
 */
export function clockOffsetMs(): number {
  let best = Infinity;
  let offset = 0;
  for (let i = 0; i < 5; i++) {
    const a = epochNow();
    const mono = Number(process.hrtime.bigint()) / 1e6;
    const b = epochNow();
    if (b - a < best) {
      best = b - a;
      offset = (a + b) / 2 - mono;
    }
  }
  return offset;
}

export interface Summary {
  n: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

/** The nearest-rank `p`th percentile of ascending `sorted`; null when it is empty. */
export function nearestRank(sorted: ArrayLike<number>, p: number): number | null {
  const n = sorted.length;
  return n === 0 ? null : sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]!;
}

/** Nearest-rank percentiles of `samples` (sorted in place). */
export function summarize(samples: Float64Array | number[]): Summary {
  const sorted = samples instanceof Float64Array ? samples.sort() : Float64Array.from(samples).sort();
  const n = sorted.length;
  if (n === 0) return { n, p50: null, p95: null, p99: null, max: null, mean: null };
  const rank = (p: number): number => nearestRank(sorted, p)!;
  let sum = 0;
  for (const value of sorted) sum += value;
  return { n, p50: rank(50), p95: rank(95), p99: rank(99), max: sorted[n - 1]!, mean: sum / n };
}

/** A growable Float64Array, so a million samples cost 8 MB and travel over IPC as one buffer. */
export class SampleBuffer {
  #data = new Float64Array(1024);
  #length = 0;

  push(value: number): void {
    if (this.#length === this.#data.length) {
      const next = new Float64Array(this.#data.length * 2);
      next.set(this.#data);
      this.#data = next;
    }
    this.#data[this.#length++] = value;
  }

  get length(): number {
    return this.#length;
  }

  toArray(): Float64Array {
    return this.#data.slice(0, this.#length);
  }
}

/** Event-loop delay as fastify's under-pressure reports it: the timer's lateness beyond its resolution. */
export const ELD_RESOLUTION_MS = 10;

export interface LoopDelay {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  samples: number;
}

export function createLoopMonitor(): { histogram: IntervalHistogram; read(): LoopDelay } {
  const histogram = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
  histogram.enable();
  const late = (ns: number): number => Math.max(0, ns / 1e6 - ELD_RESOLUTION_MS);
  return {
    histogram,
    read: () => ({
      p50Ms: late(histogram.percentile(50)),
      p99Ms: late(histogram.percentile(99)),
      maxMs: late(histogram.max),
      samples: histogram.count,
    }),
  };
}
