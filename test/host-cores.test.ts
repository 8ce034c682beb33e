import { describe, expect, it } from 'vitest';
import { Cores, TX_CORE } from '../src/host/cores.js';
import { DEFAULT_CPU } from '../src/host/cpu-copy.js';
import { remoteAddr } from '../src/mem/address-map.js';
import { Scheduler } from '../src/time/scheduler.js';
import { bootedRack } from './helpers/rack.js';

describe('Cores', () => {
  it('work on one core queues in the order given; the clock and notBefore bound the start', () => {
    const s = new Scheduler(1);
    const c = new Cores(1, s);
    expect(c.run(0, 100)).toBe(100);
    expect(c.run(0, 100)).toBe(200); // behind the first
    expect(c.run(0, 50, 1000)).toBe(1050); // not before 1000
    s.after(5000, () => expect(c.run(0, 10)).toBe(5010)); // an idle core starts now
    s.run();
    expect(c.busyNs[0]).toBe(260);
    expect(c.irqCore).toBe(0);
  });

  it('separate cores run in parallel; interrupts go to the last core', () => {
    const c = new Cores(4, new Scheduler(1));
    expect(c.irqCore).toBe(3);
    expect(c.run(TX_CORE, 300)).toBe(300);
    expect(c.run(c.irqCore, 300)).toBe(300);
    expect(c.freeAt(1)).toBe(0);
  });

  it('refuses a host without cores', () => {
    expect(() => new Cores(0, new Scheduler(1))).toThrow(/at least one core/);
  });
});

describe('a core shared by interrupt handling and transmit', () => {
  const BASE = 0x4000_0000;
  /** When a 256-byte CPU copy from h1 into h2 lands, issued right after 5 µs of interrupt-handler work on h1. */
  function landAfterHandler(cores: number): number {
    const rack = bootedRack(2, { cores });
    const h1 = rack.host('h1');
    const h2 = rack.host('h2');
    h2.iommu.grant(h1.rid, BASE, 4096, 'test');
    const t0 = rack.sched.now;
    h1.cores.run(h1.cores.irqCore, 5000);
    h1.cpu.copy(BASE, remoteAddr(2, BASE), 256);
    let landed = -1;
    h1.cpu.commit(() => (landed = rack.sched.now - t0));
    rack.sched.run();
    return landed;
  }

  it('with one core the copy waits for the handler, to the nanosecond; with two it does not', () => {
    const one = landAfterHandler(1);
    const two = landAfterHandler(2);
    expect(two).toBeGreaterThan(DEFAULT_CPU.copySetupNs);
    expect(one - two).toBeCloseTo(5000, 6);
  });
});
