import { describe, expect, it } from 'vitest';
import { DEFAULT_EOP, RELEASE_RX_PAGES_ABOVE_HOSTS } from '../src/eop/eop-nic.js';
import { QueuePair } from '../src/eop/queue-pair.js';
import { Rack, rackSpec, type HostSpec } from '../src/topology/rack.js';
import { rawFrame } from './helpers/raw-frame.js';

const mac = (i: number): number => 0x02e000000000 + i;

function rack(computeHosts: number): Rack {
  const hosts: HostSpec[] = [{ name: 'mh', mac: 0, management: true }];
  for (let i = 1; i <= computeHosts; i++) hosts.push({ name: `h${i}`, mac: mac(i) });
  const r = new Rack(rackSpec(hosts, { eop: DEFAULT_EOP }));
  r.boot();
  r.sched.run();
  return r;
}

describe('EOP receive-ring memory in a large rack', () => {
  it('rings give their pages back once consumed: 2000 frames arrive byte-exact, the ring ends with at most one page', () => {
    const r = rack(RELEASE_RX_PAGES_ABOVE_HOSTS + 2);
    const h1 = r.nic('h1');
    const h2 = r.nic('h2');
    const got: Uint8Array[] = [];
    h2.setReceiver((f) => got.push(f.slice()));
    h2.transmit(rawFrame(mac(1), mac(2), 60)); // h1 learns h2: unicast from here on
    r.sched.run();
    const sent: Uint8Array[] = [];
    for (let k = 0; k < 2000; k++) {
      const f = rawFrame(mac(2), mac(1), k % 3 === 0 ? 1514 : 60 + (k % 1400), k);
      sent.push(f);
      expect(h1.transmit(f)).toBe(true);
      if (k % 64 === 63) r.sched.run();
    }
    r.sched.run();
    expect(got).toEqual(sent);
    const ring = h2.qp(1)!.rxRingAddr;
    const m = r.host('h2').memory;
    expect(h2.ringBytes / m.pageBytes).toBeGreaterThan(4);
    expect(m.residentPagesIn(ring, h2.ringBytes)).toBeLessThanOrEqual(1);
    // A ring nobody sent on never had a page.
    expect(m.residentPagesIn(h2.qp(5)!.rxRingAddr, h2.ringBytes)).toBe(0);
  });

  it('a queue pair never sent on does not exist; one opened by a frame has small transmit queue arrays', () => {
    const r = rack(RELEASE_RX_PAGES_ABOVE_HOSTS + 2);
    expect(r.nic('h3').qp(4)).toBeUndefined();
    r.nic('h3').transmit(rawFrame(mac(4), mac(3), 60)); // unknown unicast: floods every peer, opening their queue pairs
    // Small at first: a queue pair that only ever holds a frame or two costs a few bytes, not txQueueFrames.
    expect(r.nic('h3').qp(4)!.txSlot.length).toBe(8);
    expect(r.nic('h3').qp(4)!.state).toBe('negotiating');
  });

  it('a transmit queue grows by doubling up to its bound and keeps its order across wrap-around', () => {
    const qp = new QueuePair(1, 'p', 0, 0, 100);
    const out: number[] = [];
    let next = 0;
    // Fill and drain unevenly so that the head wraps while the arrays grow.
    for (let round = 0; round < 40; round++) {
      for (let k = 0; k < 5 && qp.enqueue(next, 60 + next, next & 63); k++) next++;
      for (let k = 0; k < 2 && qp.txCount > 0; k++) {
        out.push(qp.txSlot[qp.txHead]!);
        expect(qp.txLen[qp.txHead]).toBe(60 + qp.txSlot[qp.txHead]!);
        qp.popTx();
      }
    }
    while (qp.enqueue(next, 60 + next, next & 63)) next++;
    expect([qp.txSlot.length, qp.txCount]).toEqual([100, 100]); // full at its bound, never beyond
    while (qp.txCount > 0) {
      out.push(qp.txSlot[qp.txHead]!);
      qp.popTx();
    }
    expect(out).toEqual(Array.from({ length: next }, (_, i) => i));
  });

  it('a small rack keeps its ring pages (no reallocation per batch)', () => {
    const r = rack(2);
    const h1 = r.nic('h1');
    for (let k = 0; k < 64; k++) h1.transmit(rawFrame(mac(2), mac(1), 200, k));
    r.sched.run();
    const m = r.host('h2').memory;
    expect(m.residentPagesIn(r.nic('h2').qp(1)!.rxRingAddr, r.nic('h2').ringBytes)).toBe(r.nic('h2').ringBytes / m.pageBytes);
  });
});
