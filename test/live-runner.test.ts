import { describe, expect, it } from 'vitest';
import { LiveRunner, type WallClock } from '../src/time/live-runner.js';
import { Scheduler } from '../src/time/scheduler.js';

/** A wall clock the test moves by hand. */
class FakeClock implements WallClock {
  t = 1_000_000;
  nowNs(): number {
    return this.t;
  }
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('LiveRunner', () => {
  it('never runs an event before its time has come on the wall clock', async () => {
    const s = new Scheduler(1);
    const clock = new FakeClock();
    const ran: [number, number][] = [];
    s.at(5_000_000, () => ran.push([s.now, clock.t]));
    const live = new LiveRunner(s, clock, 1_000_000);
    live.start();
    await tick();
    clock.t += 4_000_000; // 4 ms of wall time: the event is due at 5 ms
    live.poke();
    await tick();
    expect(ran).toEqual([]);
    clock.t += 1_500_000; // now 5.5 ms in
    live.poke();
    await tick();
    live.stop();
    expect(ran).toEqual([[5_000_000, 6_500_000]]);
    expect(live.stats.lateBatches).toBe(0);
  });

  it('counts batches that run later than the tolerance (emulator slower than the model)', async () => {
    const s = new Scheduler(1);
    const clock = new FakeClock();
    s.at(1_000, () => undefined);
    const live = new LiveRunner(s, clock, 100_000);
    live.start();
    clock.t += 2_000_000; // 2 ms late for an event due at 1 µs
    live.poke();
    await tick();
    live.stop();
    expect(live.stats.lateBatches).toBe(1);
    expect(live.stats.maxLagNs).toBe(2_000_000 - 1_000);
  });
});
