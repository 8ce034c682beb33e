/**
 * Interrupt delivery on a host's cores (src/host/interrupts.ts, profile.ts), against hand
 * calculations: the kernel profile's entry queues behind the IRQ core's work and leaves its
 * softirq as the first work for the handler; the polling profile takes no interrupt; moderation
 * holds a vector to one delivery per interval.
 */
import { describe, expect, it } from 'vitest';
import { Cores } from '../src/host/cores.js';
import { InterruptController } from '../src/host/interrupts.js';
import { KERNEL_PROFILE, POLLING_PROFILE } from '../src/host/profile.js';
import { Scheduler } from '../src/time/scheduler.js';

function setup(profile = KERNEL_PROFILE, moderationNs = 0, cores = 2, deferred = false) {
  const s = new Scheduler(1);
  const c = new Cores(cores, s);
  const irq = new InterruptController(s, 700, 0, c, profile, moderationNs);
  const runs: number[] = [];
  const coreFreeAtRun: number[] = [];
  const v = irq.allocate(() => {
    runs.push(s.now);
    coreFreeAtRun.push(c.freeAt(c.irqCore));
  }, deferred);
  return { s, c, irq, v, runs, coreFreeAtRun };
}

describe('kernel profile', () => {
  it('idle IRQ core: a hard-IRQ handler runs irqHandlerNs after the message', () => {
    const { s, c, irq, v, runs, coreFreeAtRun } = setup();
    s.after(1000, () => irq.raise(v));
    s.run();
    // delivery 700 − 500 = 200 ns, entry 500 ns on the idle core: 1000 + 700
    expect(runs).toEqual([1700]);
    expect(coreFreeAtRun).toEqual([1700]);
    expect(c.busyNs[c.irqCore]).toBe(500);
  });

  it('a deferred (NIC) handler runs after its softirq on the same core', () => {
    const { s, c, irq, v, runs } = setup(KERNEL_PROFILE, 0, 2, true);
    s.after(1000, () => irq.raise(v));
    s.run();
    expect(runs).toEqual([1700 + KERNEL_PROFILE.softirqNs]);
    expect(c.busyNs[c.irqCore]).toBe(800);
  });

  it('a busy IRQ core delays the entry: it queues behind the work already there', () => {
    const { s, c, irq, v, runs } = setup();
    c.run(c.irqCore, 5000); // e.g. a previous handler's per-frame and stack work
    irq.raise(v);
    s.run();
    // delivered at 200, core free at 5000, entry 500 → 5500
    expect(runs).toEqual([5500]);
  });

  it('work on another core does not delay it', () => {
    const { s, c, irq, v, runs } = setup();
    c.run(0, 5000);
    irq.raise(v);
    s.run();
    expect(runs).toEqual([700]);
  });

  it('with one core, transmit work and interrupts share it', () => {
    const { s, c, irq, v, runs } = setup(KERNEL_PROFILE, 0, 1);
    c.run(0, 5000);
    irq.raise(v);
    s.run();
    expect(runs).toEqual([5500]);
  });

  it('moderation: a second message within the interval waits for it; messages while pending coalesce', () => {
    const { s, irq, v, runs } = setup(KERNEL_PROFILE, 10_000);
    irq.raise(v); // handler at 700 (entry ends 700: the interval counts from there)
    s.after(1000, () => irq.raise(v)); // would run at 1700; held to 700 + 10,000, then entry
    s.after(2000, () => irq.raise(v)); // pending: coalesced
    s.run();
    expect(runs).toEqual([700, 10_700 + 500]);
    expect(irq.moderated).toBe(1);
    expect(irq.coalesced).toBe(1);
  });
});

describe('polling profile', () => {
  it('no interrupt: the spinning core sees the work within one poll iteration, at no entry cost', () => {
    const { s, c, irq, v, runs } = setup(POLLING_PROFILE);
    c.run(c.irqCore, 5000); // the poller's own work does not hold the discovery back
    s.after(1000, () => irq.raise(v));
    s.run();
    expect(runs).toEqual([1000 + POLLING_PROFILE.pollIntervalNs]);
    expect(c.busyNs[c.irqCore]).toBe(5000);
  });
});
