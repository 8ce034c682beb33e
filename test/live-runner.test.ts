import { afterEach, describe, expect, it, vi } from 'vitest';
import { LiveRunner, POLL_BACKOFF_NS, POLL_DENSE_GAP_NS, POLL_PREEMPTED_GAP_NS, type WallClock } from '../src/time/live-runner.js';
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

  it('"behind now" covers the last 5 s only: a late batch marks it, 5 quiet seconds clear it, totals stay', async () => {
    const s = new Scheduler(1);
    const clock = new FakeClock();
    const live = new LiveRunner(s, clock, 100_000);
    live.start();
    s.at(s.now + 1_000, () => undefined);
    clock.t += 3_000_000; // 3 ms late
    live.poke();
    await tick();
    expect(live.recent()).toMatchObject({ behind: true, lateBatches: 1, batches: 1, maxLagNs: 3_000_000 - 1_000, windowNs: 5e9 });
    clock.t += 4e9; // still inside the window
    expect(live.recent().behind).toBe(true);
    // An on-time batch after that does not clear it; only the window moving on does.
    s.at(clock.t - 1_000_000 - 1, () => undefined);
    live.poke();
    await tick();
    expect(live.recent()).toMatchObject({ behind: true, batches: 2 });
    clock.t += 1.5e9; // the late batch's second has left the window
    expect(live.recent()).toMatchObject({ behind: false, lateBatches: 0, batches: 1 });
    clock.t += 10e9;
    expect(live.recent()).toMatchObject({ behind: false, batches: 0, maxLagNs: 0 });
    live.stop();
    expect(live.stats.lateBatches).toBe(1);
  });

  describe('wake-ups', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it('an idle runner sets no timer: 10 s with nothing to run cost no wake-up after the start', () => {
      vi.useFakeTimers();
      const s = new Scheduler(1);
      const live = new LiveRunner(s, { nowNs: () => Date.now() * 1e6 }, 1_000_000);
      live.start();
      expect(live.stats.wakeups).toBe(1); // the start itself
      vi.advanceTimersByTime(10_000);
      expect(live.stats.wakeups).toBe(1);
      expect(live.stats.timerWakeups).toBe(0);
      expect(vi.getTimerCount()).toBe(0);
      live.stop();
    });

    it('sleeping until a far event takes one timer wake-up, not a poll', () => {
      vi.useFakeTimers();
      const s = new Scheduler(1);
      const live = new LiveRunner(s, { nowNs: () => Date.now() * 1e6 }, 1_000_000);
      let ran = 0;
      s.at(s.now + 5e9, () => ran++); // 5 s ahead
      live.start();
      vi.advanceTimersByTime(4_990);
      expect(ran).toBe(0);
      expect(live.stats.wakeups).toBe(1);
      live.stop();
    });

    it('an event scheduled while the runner sleeps, with no poke, still runs at its time', async () => {
      const s = new Scheduler(1);
      const clock: WallClock = { nowNs: () => Number(process.hrtime.bigint()) };
      const live = new LiveRunner(s, clock, 1e9);
      live.start(); // idle: no timer
      const ranAt = await new Promise<{ virt: number; wallVirt: number }>((resolve, reject) => {
        const guard = setTimeout(() => reject(new Error('the event never ran')), 5_000);
        // From outside the runner (as a control socket's fault would be): nothing pokes it.
        s.at(live.virtualNow() + 20_000_000, () => {
          clearTimeout(guard);
          resolve({ virt: s.now, wallVirt: live.virtualNow() });
        });
      });
      live.stop();
      expect(ranAt.wallVirt).toBeGreaterThanOrEqual(ranAt.virt); // never before its time
      expect(live.stats.wakeups).toBeGreaterThan(1);
    });
  });

  describe('busy polling', () => {
    /** A runner with busy polling on, idle, started, on a hand-moved clock. */
    function polling(preemptions: (() => number) | null): { live: LiveRunner; clock: FakeClock } {
      const s = new Scheduler(1);
      const clock = new FakeClock();
      const live = new LiveRunner(s, clock, 1_000_000);
      live.busyPollNs = 20_000_000;
      live.preemptions = preemptions;
      live.start();
      return { live, clock };
    }
    /** Lets the runner take `n` turns of the event loop, the clock moving `stepNs` before each. */
    async function turns(live: LiveRunner, clock: FakeClock, n: number, stepNs: number): Promise<number> {
      const w0 = live.stats.wakeups;
      for (let i = 0; i < n; i++) {
        clock.t += stepNs;
        await tick();
      }
      return live.stats.wakeups - w0;
    }

    it('keeps turning the loop for busyPollNs after a frame, then sleeps; an idle runner never polls', async () => {
      const { live, clock } = polling(() => 0); // never preempted
      expect(await turns(live, clock, 5, 10_000)).toBe(0); // no frame yet: asleep
      live.keepPolling();
      live.poke();
      expect(await turns(live, clock, 50, 10_000)).toBe(50); // polling: one turn per loop turn
      clock.t += 20_000_000; // the window has passed
      expect(await turns(live, clock, 3, 10_000)).toBe(1); // the last turn sees it and sleeps
      expect(await turns(live, clock, 5, 10_000)).toBe(0);
      expect(live.stats.pollBackoffs).toBe(0);
      live.stop();
    });

    it('dense frames (less than 1 ms apart, a bulk transfer) stop busy polling; a sparse one starts it again', async () => {
      const { live, clock } = polling(() => 0);
      live.keepPolling();
      live.poke();
      expect(await turns(live, clock, 5, 10_000)).toBe(5);
      clock.t += POLL_DENSE_GAP_NS - 100_000;
      live.keepPolling(); // 0.95 ms after the previous frames: dense
      expect(await turns(live, clock, 5, 10_000)).toBe(1); // that turn sees it and sleeps
      clock.t += POLL_DENSE_GAP_NS;
      live.keepPolling(); // a ping 1 ms or more after the last frame
      live.poke();
      expect(await turns(live, clock, 10, 10_000)).toBe(10);
      expect(live.stats.pollBackoffs).toBe(0);
      live.stop();
    });

    it('a polling turn long after the previous one, with a preemption counted, stops polling for a while (POLL_BACKOFF_NS)', async () => {
      let preempted = 0;
      const { live, clock } = polling(() => preempted);
      live.keepPolling();
      live.poke();
      expect(await turns(live, clock, 5, 10_000)).toBe(5);
      preempted++; // the scheduler took the core away for 2 ms
      expect(await turns(live, clock, 1, 2_000_000)).toBe(1);
      expect(live.stats.pollBackoffs).toBe(1);
      expect(await turns(live, clock, 5, 10_000)).toBe(0); // asleep now
      // Frames meanwhile do not start polling again (they are carried as usual).
      live.keepPolling();
      live.poke();
      expect(await turns(live, clock, 5, 10_000)).toBe(1);
      clock.t += POLL_BACKOFF_NS;
      live.keepPolling();
      live.poke();
      expect(await turns(live, clock, 20, 10_000)).toBe(20); // tried again afterwards
      live.stop();
    });

    it('a long turn without a preemption (other work) does not stop polling; one with a preemption and frames does', async () => {
      let preempted = 0;
      const { live, clock } = polling(() => preempted);
      live.keepPolling();
      live.poke();
      expect(await turns(live, clock, 3, 10_000)).toBe(3);
      expect(await turns(live, clock, 1, 2_000_000)).toBe(1); // long, but no preemption counted
      expect(await turns(live, clock, 10, 10_000)).toBe(10);
      expect(live.stats.pollBackoffs).toBe(0);
      preempted++;
      live.keepPolling(); // frames came in during the long turn: bulk traffic on a loaded machine
      expect(await turns(live, clock, 1, 2_000_000)).toBe(1);
      expect(live.stats.pollBackoffs).toBe(1);
      expect(await turns(live, clock, 5, 10_000)).toBe(0);
      live.stop();
    });

    it('without a preemption counter, the long gap alone stops polling, unless frames came in during it', async () => {
      const { live, clock } = polling(null);
      live.keepPolling();
      live.poke();
      expect(await turns(live, clock, 3, 10_000)).toBe(3);
      clock.t += POLL_DENSE_GAP_NS; // a long turn with (sparse) frames in it: work, not judged
      live.keepPolling();
      await turns(live, clock, 1, 10_000);
      expect(live.stats.pollBackoffs).toBe(0);
      await turns(live, clock, 1, POLL_PREEMPTED_GAP_NS + 1);
      expect(live.stats.pollBackoffs).toBe(1);
      expect(await turns(live, clock, 5, 10_000)).toBe(0);
      live.stop();
    });
  });
});
