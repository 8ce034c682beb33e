/**
 * The ntb-netdev driver profile when the NTB link goes down with frames queued and in flight
 * (a `link-down` fault, then `link-up`). Linux (drivers/ntb/ntb_transport.c, drivers/net/
 * ntb_netdev.c): ntb_transport_link_cleanup → ntb_qp_link_cleanup → ntb_netdev_event_handler →
 * netif_carrier_off, whose dev_deactivate resets the qdisc; entries not yet taken are discarded;
 * ntb_transport_setup_qp_mw starts the queue pair afresh at link-up. Linux frees those frames
 * without a counter; the model must deliver or count every one (ERR_EOP_LINK_DOWN), never hang,
 * and carry traffic again after link-up.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../src/errors.js';
import { NtbNetdevNic } from '../src/eop/ntb-netdev.js';
import type { Rack } from '../src/topology/rack.js';
import { MAC, rawFrame } from './helpers/raw-frame.js';
import { bootedRack } from './helpers/rack.js';
import { downThenUp, expectAllAccountedFor } from './helpers/link-down.js';

const US = 1000;

function ntbRack(useDma = false): { rack: Rack; h1: NtbNetdevNic; h2: NtbNetdevNic; got: Uint8Array[] } {
  const rack = bootedRack(2, { eop: { driver: 'ntb-netdev', mtu: 9000, ntbUseDma: useDma } });
  const got: Uint8Array[] = [];
  const h2 = rack.nic('h2') as NtbNetdevNic;
  h2.setReceiver((f) => got.push(f.slice()));
  return { rack, h1: rack.nic('h1') as NtbNetdevNic, h2, got };
}

describe('ntb-netdev: link down with frames queued and in flight', () => {
  it.each(['h1', 'h2'])(
    'link-down on %s: 30 frames in the qdisc dropped by the sender, 10 in the peer window discarded by the receiver, all counted; after link-up traffic flows',
    (down) => {
      const { rack, h1, h2, got } = ntbRack();
      const idleSpace = h1.txSpace(MAC[2]!);
      const t0 = rack.sched.now;
      // h2's interrupt core is busy for 50 µs: its tasklet takes nothing, its window fills.
      const host2 = rack.host('h2');
      host2.cores.occupy(host2.cores.irqCore, t0, t0 + 50 * US);
      downThenUp(rack, down, 20, 200);
      for (let k = 0; k < 40; k++) expect(h1.transmit(rawFrame(MAC[2]!, MAC[1]!, 4000, k))).toBe(true);
      rack.sched.runUntil(t0 + 19 * US);
      // 14 entries free at the start, the queue stops below tx_stop (5): 10 sent, 30 wait.
      expect(h1.nc.txMemcpy).toBe(10);
      expect(h1.nc.queueStops).toBe(1);
      expect(got).toHaveLength(0);
      rack.sched.runUntil(t0 + 150 * US);
      // Down: the qdisc's 30 dropped at h1 (dev_deactivate's qdisc reset), the 10 entries h2 never
      // took discarded at h2 (its queue pair's reset); nothing delivered, nothing uncounted.
      expect(h1.drops.toJSON()).toEqual({ [ErrorCode.EOP_LINK_DOWN]: 30 });
      expect(h1.qp(2)!.c.txLinkDownDrops).toBe(30);
      expect(h2.drops.toJSON()).toEqual({ [ErrorCode.EOP_LINK_DOWN]: 10 });
      expect(h2.qp(1)!.c.rxLinkDownDrops).toBe(10);
      expect(got).toHaveLength(0);
      expect(h1.txSpace(MAC[2]!)).toBe(0);
      rack.sched.run();
      // Up again: the queue pair starts afresh, the staging buffers are all back, 5 new frames arrive intact.
      expect([h1.qp(2)!.state, h2.qp(1)!.state]).toEqual(['up', 'up']);
      expect(h1.freeEntries()).toBe(14);
      expect(h1.txSpace(MAC[2]!)).toBe(idleSpace);
      const after = [40, 41, 42, 43, 44].map((k) => rawFrame(MAC[2]!, MAC[1]!, 4000, k));
      for (const f of after) expect(h1.transmit(f)).toBe(true);
      rack.sched.run();
      expect(got).toEqual(after);
      expect(h1.drops.total + h2.drops.total).toBe(40);
    },
  );

  it('a frame offered while the link is down is refused and counted', () => {
    const { rack, h1 } = ntbRack();
    downThenUp(rack, 'h1', 0, 100);
    rack.sched.runUntil(rack.sched.now + 1 * US);
    expect(h1.transmit(rawFrame(MAC[2]!, MAC[1]!, 600, 1))).toBe(false);
    expect(h1.drops.toJSON()).toEqual({ [ErrorCode.EOP_NO_PEER]: 1 });
  });

  it('transmit DMAs under way when the link goes down: each frame counted at the sender (Linux counts them sent)', () => {
    const { rack, h1, h2, got } = ntbRack(true);
    for (let k = 0; k < 3; k++) expect(h1.transmit(rawFrame(MAC[2]!, MAC[1]!, 9000, k))).toBe(true);
    expect(h1.nc.txAsync).toBe(3); // three DMA descriptors posted, none complete yet
    downThenUp(rack, 'h1', 0, 100);
    rack.sched.run();
    expect(got).toHaveLength(0);
    expect(h1.drops.toJSON()).toEqual({ [ErrorCode.EOP_LINK_DOWN]: 3 });
    expect(h1.qp(2)!.c.txLinkDownDrops).toBe(3);
    expect(h2.drops.total).toBe(0);
    const f = rawFrame(MAC[2]!, MAC[1]!, 9000, 9);
    expect(h1.transmit(f)).toBe(true);
    rack.sched.run();
    expect(got).toEqual([f]);
  });

  it('a receive copy under way when the window is cleared is counted, not handed up with cleared bytes', () => {
    const { rack, h1, h2, got } = ntbRack();
    // h2's link drops the moment its tasklet starts copying the frame out of its window.
    const cpu = rack.host('h2').cpu;
    const copy = cpu.copy.bind(cpu);
    let armed = true;
    cpu.copy = (src, dst, len, core) => {
      copy(src, dst, len, core);
      if (!armed) return;
      armed = false;
      downThenUp(rack, 'h2', 0, 100);
    };
    expect(h1.transmit(rawFrame(MAC[2]!, MAC[1]!, 9000, 1))).toBe(true);
    rack.sched.run();
    expect(armed).toBe(false);
    expect(got).toHaveLength(0);
    expect(h2.drops.toJSON()).toEqual({ [ErrorCode.EOP_LINK_DOWN]: 1 });
    expect(h2.qp(1)!.c.rxLinkDownDrops).toBe(1);
    expect(h1.drops.total).toBe(0);
    const f = rawFrame(MAC[2]!, MAC[1]!, 9000, 2);
    expect(h1.transmit(f)).toBe(true);
    rack.sched.run();
    expect(got).toEqual([f]);
  });

  // Every microsecond of a burst's life, on either host, CPU copies or DMA: each accepted frame is
  // delivered once and intact, or counted; the queue pair never wedges (a completion of the old
  // life writing its entry index into the new one would leave the sender's queue stopped for good).
  it.each([
    ['h1', false],
    ['h1', true],
    ['h2', false],
    ['h2', true],
  ] as const)('link-down on %s (use_dma %s) at every µs of a 30-frame burst: delivered + dropped = accepted, then traffic flows', (down, dma) => {
    for (let tUs = 0; tUs < 30; tUs += 1) {
      const { rack, h1, h2, got } = ntbRack(dma);
      downThenUp(rack, down, tUs, 100);
      const sent = new Map<number, Uint8Array>();
      for (let k = 0; k < 30; k++) {
        const f = rawFrame(MAC[2]!, MAC[1]!, 700 + 251 * k, k);
        expect(h1.transmit(f)).toBe(true);
        sent.set(k, f);
      }
      expectAllAccountedFor(rack, h1, h2, sent, got, `t ${tUs} µs`);
    }
  }, 60_000);
});
