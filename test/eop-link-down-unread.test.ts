/**
 * EOP's own driver when the link goes down with frames in the receiver's ring that its handler has
 * not read yet (its core busy): the ring is cleared, so each such frame is dropped and counted at
 * the receiver (`rxLinkDownDrops`, ERR_EOP_LINK_DOWN) — before this they vanished uncounted. Every
 * frame the sender accepted is delivered once and intact, or counted somewhere; after link-up
 * traffic flows again.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../src/errors.js';
import type { Rack } from '../src/topology/rack.js';
import { MAC, rawFrame } from './helpers/raw-frame.js';
import { bootedRack } from './helpers/rack.js';
import { downThenUp, expectAllAccountedFor } from './helpers/link-down.js';

const US = 1000;

function eopRack(): { rack: Rack; got: Uint8Array[] } {
  const rack = bootedRack(2, { eop: { mtu: 9000 } });
  const got: Uint8Array[] = [];
  rack.nic('h2').setReceiver((f) => got.push(f.slice()));
  return { rack, got };
}

describe('EOP driver: link down with frames unread in the receiver ring', () => {
  it.each(['h1', 'h2'])('link-down on %s while h2 cannot read its ring: the unread frames are counted at h2, nothing is lost uncounted', (down) => {
    const { rack, got } = eopRack();
    const h1 = rack.nic('h1');
    const h2 = rack.nic('h2');
    const t0 = rack.sched.now;
    // h2's interrupt core is busy for 50 µs: frames land in its ring and wait there.
    const host2 = rack.host('h2');
    host2.cores.occupy(host2.cores.irqCore, t0, t0 + 50 * US);
    downThenUp(rack, down, 20, 200);
    let accepted = 0;
    for (let k = 0; k < 40; k++) if (h1.transmit(rawFrame(MAC[2]!, MAC[1]!, 4000, k))) accepted++;
    rack.sched.runUntil(t0 + 150 * US);
    expect(got).toHaveLength(0);
    const unread = h2.qp(1)!.c.rxLinkDownDrops;
    expect(unread).toBeGreaterThan(0);
    expect(h2.drops.toJSON()).toEqual({ [ErrorCode.EOP_LINK_DOWN]: unread });
    expect(accepted).toBe(h1.drops.total + h2.drops.total);
    rack.sched.run();
    const after = [40, 41, 42].map((k) => rawFrame(MAC[2]!, MAC[1]!, 4000, k));
    for (const f of after) expect(h1.transmit(f)).toBe(true);
    rack.sched.run();
    expect(got).toEqual(after);
  });

  // Every microsecond of a burst's life, on either host: each accepted frame is delivered once and
  // intact, or counted (at the sender: queued; at the receiver: unread in the ring).
  it.each(['h1', 'h2'])('link-down on %s at every µs of a 30-frame burst, receiver slow: delivered + dropped = accepted, then traffic flows', (down) => {
    for (let tUs = 0; tUs < 40; tUs++) {
      const { rack, got } = eopRack();
      const h1 = rack.nic('h1');
      const h2 = rack.nic('h2');
      const host2 = rack.host('h2');
      host2.cores.occupy(host2.cores.irqCore, rack.sched.now, rack.sched.now + 25 * US);
      downThenUp(rack, down, tUs, 100);
      const sent = new Map<number, Uint8Array>();
      for (let k = 0; k < 30; k++) {
        const f = rawFrame(MAC[2]!, MAC[1]!, 700 + 251 * k, k);
        if (h1.transmit(f)) sent.set(k, f);
      }
      expectAllAccountedFor(rack, h1, h2, sent, got, `t ${tUs} µs`);
    }
  }, 60_000);
});
