/**
 * Says out loud when a live rack starts falling behind its model and when it has caught up again,
 * from the runner's "behind now" window (src/time/live-runner.ts: RecentLag), so that stderr tells
 * the story in two lines instead of a warning that never clears.
 *
 * `update()` is called about once a second with the current window and the totals; it returns the
 * sentence to print on a change (start or end of a behind period), else null.
 */
import type { RecentLag } from '../src/time/live-runner.js';

export class LagAnnouncer {
  private behindSinceMs: number | null = null;
  private lateAtStart = 0;
  private maxLagInPeriodNs = 0;

  constructor(private readonly toleranceMs: number) {}

  update(recent: RecentLag, totalLateBatches: number, nowMs: number): string | null {
    const w = `${(recent.windowNs / 1e9).toFixed(0)} s`;
    if (recent.behind) {
      if (recent.maxLagNs > this.maxLagInPeriodNs) this.maxLagInPeriodNs = recent.maxLagNs;
      if (this.behindSinceMs !== null) return null;
      this.behindSinceMs = nowMs;
      this.lateAtStart = totalLateBatches - recent.lateBatches;
      return (
        `falling behind the model: ${recent.lateBatches} of ${recent.batches} event batches in the last ${w} ran more than ` +
        `${this.toleranceMs} ms late (max lag ${(recent.maxLagNs / 1e6).toFixed(1)} ms); frames are delivered later than the model says`
      );
    }
    if (this.behindSinceMs === null) return null;
    const forS = (nowMs - this.behindSinceMs) / 1000;
    const msg =
      `caught up with the model: no late event batch in the last ${w} (behind for about ${forS.toFixed(0)} s: ` +
      `${totalLateBatches - this.lateAtStart} late batches, max lag ${(this.maxLagInPeriodNs / 1e6).toFixed(1)} ms)`;
    this.behindSinceMs = null;
    this.maxLagInPeriodNs = 0;
    return msg;
  }

  get behind(): boolean {
    return this.behindSinceMs !== null;
  }
}
