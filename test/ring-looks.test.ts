import { describe, expect, it } from 'vitest';
import { dataBitOf, lookAtRings } from '../src/eop/ring-looks.js';
import type { QueuePair } from '../src/eop/queue-pair.js';
import { KERNEL_PROFILE, LOCAL_DRAM_READ_NS } from '../src/host/profile.js';
import { bootedRack } from './helpers/rack.js';

const fakeQp = (peer: number): QueuePair => ({ peer }) as QueuePair;

describe('ring looks after a shared doorbell bit', () => {
  it('each queue pair behind a set bit costs one local DRAM read on the interrupt core, one after another', () => {
    const rack = bootedRack(2);
    const h = rack.host('h1');
    const core = h.cores.irqCore;
    // Peers 1, 32 and 63 share bit 1 (peer mod 31); peer 2 has bit 2.
    expect([dataBitOf(1), dataBitOf(32), dataBitOf(63), dataBitOf(2)]).toEqual([2, 2, 2, 4]);
    const qps = [undefined, fakeQp(1), fakeQp(2), fakeQp(32), fakeQp(63)];
    const t0 = rack.sched.now;
    const busy0 = h.cores.busyNs[core]!;
    const walked: [number, number][] = [];
    lookAtRings(h, qps, dataBitOf(32), (qp) => walked.push([qp.peer, rack.sched.now - t0]));
    rack.sched.run();
    // 82 ns each (Intel MLC, idle local DRAM): the third ring is reached after 3 × 82 = 246 ns.
    expect(LOCAL_DRAM_READ_NS).toBe(82);
    expect(KERNEL_PROFILE.localReadNs).toBe(82);
    expect(walked).toEqual([
      [1, 82],
      [32, 164],
      [63, 246],
    ]);
    expect(h.cores.busyNs[core]! - busy0).toBe(246);
  });

  it('a look waits for what the interrupt core already has', () => {
    const rack = bootedRack(2);
    const h = rack.host('h1');
    const t0 = rack.sched.now;
    h.cores.occupy(h.cores.irqCore, t0, t0 + 1000);
    const walked: number[] = [];
    lookAtRings(h, [fakeQp(5)], dataBitOf(5), () => walked.push(rack.sched.now - t0));
    rack.sched.run();
    expect(walked).toEqual([1082]);
  });

  it('in a rack, the queue pair sharing the bit is looked at and counted empty', () => {
    // h1 (index 1) hears from h2 (index 2, bit 2) and from h33 (index 33, bit 33 mod 31 = 2).
    const rack = bootedRack(33, { eop: { irqMode: 'doorbell', ringSlots: 4, txQueueFrames: 16, stagingSlots: 16 } });
    const h1 = rack.nic('h1');
    const frameFrom = (src: number): Uint8Array => {
      const f = new Uint8Array(60);
      f.set([0x02, 0xe0, 0, 0, 0, 1], 0);
      f.set([0x02, 0xe0, 0, 0, 0, src], 6);
      f.set([0x88, 0xb5], 12);
      return f;
    };
    expect(rack.nic('h33').transmit(frameFrom(33))).toBe(true);
    rack.sched.run();
    const empty33 = h1.qp(33)!.c.rxRingEmpty;
    const empty2 = h1.qp(2)!.c.rxRingEmpty;
    expect(rack.nic('h2').transmit(frameFrom(2))).toBe(true);
    rack.sched.run();
    expect(h1.qp(2)!.c.rxFrames).toBe(1);
    expect(h1.qp(2)!.c.rxRingEmpty).toBe(empty2);
    expect(h1.qp(33)!.c.rxRingEmpty).toBe(empty33 + 1);
  });
});
