import { describe, expect, it } from 'vitest';
import { DEFAULT_EOP } from '../src/eop/eop-nic.js';
import { Rack, rackSpec } from '../src/topology/rack.js';
import { BCAST, MAC, rawFrame } from './helpers/raw-frame.js';



/**
 * A small rack and a fixed traffic script that exercises CPU and DMA paths, flooding, learning,
 * a full ring with back-pressure, a crash and a restart. Returns everything observable.
 */
function runScenario(seed: number) {
  const rack = new Rack(
    rackSpec(
      [
        { name: 'mh', mac: 0, management: true },
        { name: 'h1', mac: MAC[1]! },
        { name: 'h2', mac: MAC[2]! },
        { name: 'h3', mac: MAC[3]! },
      ],
      { seed, eop: { ...DEFAULT_EOP, ringSlots: 16, txQueueFrames: 32 } },
    ),
  );
  const bootNs = rack.boot();
  const rx: [string, number, number, number][] = []; // host, time, length, tag
  for (const h of ['h1', 'h2', 'h3']) rack.nic(h).setReceiver((f) => rx.push([h, rack.sched.now, f.length, f[14]!]));
  let tag = 0;
  // broadcasts from everyone (everyone learns everyone)
  for (const h of [1, 2, 3]) rack.nic(`h${h}`).transmit(rawFrame(BCAST, MAC[h]!, 64, tag++));
  rack.sched.run();
  // a burst h1 → h2 bigger than the ring, mixed sizes (CPU and DMA paths), unaligned buffers too
  for (let k = 0; k < 60; k++) {
    rack.nic('h1').transmit(rawFrame(MAC[2]!, MAC[1]!, k % 3 === 0 ? 1514 : 100 + k, tag++), { alignOffset: k % 7 });
  }
  // concurrent traffic h3 → h2 sharing h2's down-link
  for (let k = 0; k < 20; k++) rack.nic('h3').transmit(rawFrame(MAC[2]!, MAC[3]!, 1200, tag++));
  rack.sched.runUntil(rack.sched.now + 20_000);
  // h3 crashes mid-run and comes back
  rack.nic('h3').stop(false);
  rack.nic('h2').transmit(rawFrame(MAC[3]!, MAC[2]!, 300, tag++));
  rack.sched.runUntil(rack.sched.now + 30_000);
  rack.nic('h3').start();
  rack.sched.run();
  rack.nic('h3').transmit(rawFrame(MAC[1]!, MAC[3]!, 900, tag++));
  rack.sched.run();

  const nics = ['h1', 'h2', 'h3'].map((h) => {
    const n = rack.nic(h);
    return {
      c: { ...n.c },
      drops: n.drops.toJSON(),
      qps: n.qps.map((q) => (q ? { state: q.state, prod: q.prod, cons: q.cons, c: { ...q.c } } : null)),
    };
  });
  const hosts = rack.hosts.map((h) => ({
    up: [h.link.up.busyNs, h.link.up.tlps, h.link.up.payloadBytes],
    down: [h.link.down.busyNs, h.link.down.tlps, h.link.down.payloadBytes],
    dma: [h.dma.descriptors, h.dma.bytes, h.dma.unaligned, h.dma.errors],
    irq: [h.irq.raised, h.irq.coalesced, h.irq.handled],
    pages: h.memory.residentPages,
  }));
  return {
    bootNs,
    endNs: rack.sched.now,
    executed: rack.sched.executed,
    rx,
    nics,
    hosts,
    fabric: { drops: rack.fabric.drops.toJSON(), landed: rack.fabric.writesLanded, bytes: rack.fabric.bytesLanded },
  };
}

describe('determinism', () => {
  it('the same rack, seed and traffic give identical counters and timings', () => {
    const a = runScenario(7);
    const b = runScenario(7);
    // the scenario did real work (otherwise equality would prove nothing)
    expect(a.rx.length).toBeGreaterThan(50);
    expect(a.nics[0]!.drops).toEqual({ ERR_EOP_TX_QUEUE_FULL: 28 }); // 60 offered at once, queue of 32
    expect(a.nics[0]!.qps[2]!.c.txRingFull).toBeGreaterThan(0);
    expect(a.nics[0]!.qps[2]!.c.txDmaFrames).toBeGreaterThan(0);
    expect(a.hosts[1]!.dma[2]).toBeGreaterThan(0); // unaligned DMA happened
    expect(a.nics[1]!.qps[3]!.c.linkDowns).toBe(1);
    expect(new Set(a.rx.map((r) => r[1])).size).toBeGreaterThanOrEqual(10); // several distinct receive times (frames arrive in batches)
    expect(b).toEqual(a);
    // timestamps compare exactly, not approximately
    expect(b.rx.map((r) => r[1])).toStrictEqual(a.rx.map((r) => r[1]));
    expect(b.endNs).toBe(a.endNs);
  });
});
