/**
 * The stderr lines of a live rack falling behind its model (bridge/lag-announcer.ts): one when a
 * behind period starts, one when it ends, nothing in between or while keeping up.
 */
import { describe, expect, it } from 'vitest';
import { LagAnnouncer } from '../bridge/lag-announcer.js';
import type { RecentLag } from '../src/time/live-runner.js';

const w = (late: number, batches: number, maxLagNs = 0): RecentLag => ({ windowNs: 5e9, lateBatches: late, batches, maxLagNs, behind: late > 0 });

describe('LagAnnouncer', () => {
  it('says when falling behind starts and when it ends, once each', () => {
    const a = new LagAnnouncer(1);
    expect(a.update(w(0, 100), 0, 0)).toBeNull();
    expect(a.update(w(3, 100, 4.2e6), 3, 1000)).toBe(
      'falling behind the model: 3 of 100 event batches in the last 5 s ran more than 1 ms late (max lag 4.2 ms); frames are delivered later than the model says',
    );
    expect(a.behind).toBe(true);
    expect(a.update(w(5, 200, 9e6), 8, 2000)).toBeNull();
    expect(a.update(w(0, 50), 8, 9000)).toBe(
      'caught up with the model: no late event batch in the last 5 s (behind for about 8 s: 8 late batches, max lag 9.0 ms)',
    );
    expect(a.behind).toBe(false);
    expect(a.update(w(0, 50), 8, 10000)).toBeNull();
  });

  it('a second behind period is announced again and counts its own late batches', () => {
    const a = new LagAnnouncer(0.5);
    a.update(w(1, 10, 1e6), 1, 0);
    a.update(w(0, 10), 1, 6000);
    expect(a.update(w(2, 10, 2e6), 3, 7000)).toMatch(/^falling behind the model: 2 of 10 .* more than 0.5 ms late/);
    expect(a.update(w(0, 10), 4, 13000)).toMatch(/behind for about 6 s: 3 late batches, max lag 2.0 ms/);
  });
});
