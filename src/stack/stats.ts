/**
 * Summaries of sample sets (RTTs and the like): min/avg/max, nearest-rank percentiles and ping's
 * `mdev`. Computed once, when a generator finishes, never per frame.
 */
import type { Ns } from '../time/units.js';

export interface Summary {
  count: number;
  min: number;
  avg: number;
  max: number;
  p50: number;
  p99: number;
  /** Standard deviation as ping prints it: sqrt(mean(x²) − mean(x)²). */
  mdev: number;
}

export const EMPTY_SUMMARY: Readonly<Summary> = Object.freeze({
  count: 0,
  min: 0,
  avg: 0,
  max: 0,
  p50: 0,
  p99: 0,
  mdev: 0,
});

/** Nearest-rank percentile (0 < p ≤ 100) of ascending `sorted`; 0 for an empty set. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  const rank = Math.ceil((p / 100) * n);
  return sorted[Math.min(n, Math.max(1, rank)) - 1]!;
}

/** Summary of `values` (any order; not modified). All zero for an empty set. */
export function summarize(values: ArrayLike<number>): Summary {
  const n = values.length;
  if (n === 0) return { ...EMPTY_SUMMARY };
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < n; i++) {
    const v = sorted[i]!;
    sum += v;
    sumSq += v * v;
  }
  const avg = sum / n;
  // Rounding can push the difference a hair below zero for identical samples.
  const variance = Math.max(0, sumSq / n - avg * avg);
  return {
    count: n,
    min: sorted[0]!,
    avg,
    max: sorted[n - 1]!,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mdev: Math.sqrt(variance),
  };
}

/** Gbit/s of `bytes` over the interval [firstNs, lastNs]; 0 if the interval is empty. */
/**
 * Rate of a sequence of items seen at `firstNs` … `lastNs`: pass the bytes of every item but the
 * first (the interval starts when the first one is already counted), else a short run reads high.
 */
export function throughputGbps(bytes: number, firstNs: Ns, lastNs: Ns): number {
  const d = lastNs - firstNs;
  return d > 0 ? (bytes * 8) / d : 0;
}
