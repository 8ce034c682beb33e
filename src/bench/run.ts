/**
 * Runs a scenario: every (variant, message size) point in order, each in its own rack, with a
 * progress callback (points done, estimated work done, estimated wall time left). No I/O here: the
 * CLI prints.
 */
import { estimateFrames, runPoint, type PointResult, type PointSpec } from './point.js';
import type { Scenario } from './scenario.js';

export interface Progress {
  done: number;
  total: number;
  /** Share of the estimated work done, 0..1. */
  fraction: number;
  elapsedMs: number;
  /** Estimated wall time left (null until a point has finished). */
  etaMs: number | null;
  label: string;
}

export interface BenchRun {
  scenario: Scenario;
  points: PointResult[];
  wallMs: number;
}

export function pointsOf(s: Scenario, seed = s.seed): PointSpec[] {
  const out: PointSpec[] = [];
  for (const variant of s.variants) {
    for (const messageBytes of s.messageBytes) out.push({ scenario: s.name, variant, messageBytes, seed, measure: s.measure });
  }
  return out;
}

export function runScenario(
  s: Scenario,
  opts: { seed?: number; onProgress?: (p: Progress) => void; wallClockMs?: () => number } = {},
): BenchRun {
  const clock = opts.wallClockMs ?? (() => 0);
  const specs = pointsOf(s, opts.seed ?? s.seed);
  // Work per point is estimated from its frame count plus a fixed cost (building and booting a rack).
  const work = specs.map((p) => estimateFrames(p) + 400);
  const totalWork = work.reduce((a, b) => a + b, 0);
  const w0 = clock();
  let doneWork = 0;
  const points: PointResult[] = [];
  specs.forEach((p, i) => {
    opts.onProgress?.({
      done: i,
      total: specs.length,
      fraction: doneWork / totalWork,
      elapsedMs: clock() - w0,
      etaMs: i === 0 ? null : ((clock() - w0) / doneWork) * (totalWork - doneWork),
      label: `${p.variant.name} @ ${p.messageBytes} B`,
    });
    points.push(runPoint(p));
    doneWork += work[i]!;
  });
  const wallMs = clock() - w0;
  opts.onProgress?.({ done: specs.length, total: specs.length, fraction: 1, elapsedMs: wallMs, etaMs: 0, label: 'done' });
  return { scenario: s, points, wallMs };
}
