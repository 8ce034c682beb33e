import { describe, expect, it } from 'vitest';
import { EopError, ErrorCode } from '../src/errors.js';
import { HostStack, StackDrop, type PingResult } from '../src/stack/index.js';
import { Rack, rackSpec, type HostSpec, type RackSpec } from '../src/topology/rack.js';
import { ms, NS_PER_US, us } from '../src/time/units.js';
import {
  ArpOp,
  BROADCAST_MAC,
  buildArp,
  buildIcmpv4Echo,
  buildNeighborSolicitation,
  buildUdp4,
  buildUdp6,
  ETH_MIN_FRAME_LEN,
  formatMac,
  Ipv4View,
  linkLocalFromMac,
  parseIpv4,
  parseIpv6,
  writeMac,
} from '../src/wire/index.js';

// ------------------------------------------------------------------------------------ helpers

interface Bed {
  rack: Rack;
  stacks: HostStack[];
  bootNs: number;
}

const MAC_BASE = 0x02e0_0000_0001;

/** A rack of `n` compute hosts h1..hn (plus mh) with a HostStack on each, booted. */
function bed(n: number, over: Partial<Omit<RackSpec, 'hosts'>> = {}, hostOver: Partial<HostSpec> = {}): Bed {
  const names = Array.from({ length: n }, (_, i) => `h${i + 1}`);
  const hosts: HostSpec[] = [
    { name: 'mh', mac: 0, management: true },
    ...names.map((name, i) => ({ name, mac: MAC_BASE + i, ...hostOver })),
  ];
  const rack = new Rack(rackSpec(hosts, over));
  const stacks = names.map((name, i) => {
    const nic = rack.nic(name);
    return new HostStack({
      port: nic,
      sched: rack.sched,
      mac: nic.mac,
      ipv4: { addr: parseIpv4(`10.11.0.${i + 1}`)!, prefix: 24 },
      ipv6: { bytes: parseIpv6(`fd00:e0::${(i + 1).toString(16)}`)!, prefix: 64 },
      log: rack.log,
      name,
    });
  });
  const bootNs = rack.boot();
  expect(rack.allLinksSettled()).toBe(true);
  return { rack, stacks, bootNs };
}

/** No frame was dropped anywhere: stacks, NICs, fabric. */
function expectClean(b: Bed): void {
  for (const s of b.stacks) expect(s.drops.toJSON(), `${s.name} stack drops`).toEqual({});
  for (const nic of b.rack.nics) expect(nic.drops.toJSON(), `${nic.name} drops`).toEqual({});
  expect(b.rack.fabric.drops.toJSON()).toEqual({});
}

function fmtRtt(r: PingResult): string {
  const f = (x: number): string => (x / NS_PER_US).toFixed(3);
  return `min/avg/max/p50/p99/mdev = ${f(r.rtt.min)}/${f(r.rtt.avg)}/${f(r.rtt.max)}/${f(r.rtt.p50)}/${f(r.rtt.p99)}/${f(r.rtt.mdev)} µs`;
}

// ------------------------------------------------------------------------------------ ping

describe('ping over a Gen3 x8 rack', () => {
  it('resolves with ARP, then every echo request gets its reply', () => {
    const b = bed(2);
    const [h1, h2] = b.stacks as [HostStack, HostStack];
    let doneCalls = 0;
    const p = h1.ping({ dst: h2.ipv4Addr, count: 20, intervalNs: us(100), payloadBytes: 56 });
    p.onDone = () => doneCalls++;
    b.rack.sched.run();
    const r = p.result!;
    expect(p.done).toBe(true);
    expect(doneCalls).toBe(1);
    expect(r).toMatchObject({ sent: 20, received: 20, lost: 0, duplicates: 0, corrupt: 0, late: 0 });
    expect(r.rttsNs).toHaveLength(20);
    // One ARP request and one reply, both entries learnt (h2 from the request addressed to it).
    expect(h1.counters.tx.arp).toBe(1);
    expect(h2.counters.tx.arp).toBe(1);
    expect(h1.neighbors.get4(h2.ipv4Addr)).toMatchObject({ state: 'reachable', mac: h2.mac });
    expect(h2.neighbors.get4(h1.ipv4Addr)).toMatchObject({ state: 'reachable', mac: h1.mac });
    expect(h1.neighbors.c).toMatchObject({ solicitations: 1, resolved: 1, released: 1, failures: 0 });
    expect(h2.counters.echoRequestsAnswered).toBe(20);
    // The first request waited for ARP: its RTT includes the resolution.
    const steady = r.rttsNs.slice(1);
    expect(r.rttsNs[0]!).toBeGreaterThan(Math.max(...steady));
    expect(r.rtt.min).toBeGreaterThan(1_000); // a µs-scale fabric, not zero
    expect(r.rtt.min).toBeLessThan(20_000);
    expect(r.rtt.p50).toBeLessThanOrEqual(r.rtt.p99);
    expectClean(b);
  });

  it('ping6 resolves with NDP (global and link-local) and gets every reply', () => {
    const b = bed(2);
    const [h1, h2] = b.stacks as [HostStack, HostStack];
    const global = h1.ping({ dst: h2.ipv6Addr, count: 10, intervalNs: us(100) });
    b.rack.sched.run();
    const ll = h1.ping({ dst: linkLocalFromMac(h2.mac), count: 10, intervalNs: us(100), payloadBytes: 1000 });
    b.rack.sched.run();
    expect(global.result).toMatchObject({ family: 6, sent: 10, received: 10, lost: 0, corrupt: 0, duplicates: 0 });
    expect(ll.result).toMatchObject({ family: 6, sent: 10, received: 10, lost: 0, corrupt: 0, duplicates: 0 });
    expect(global.id).not.toBe(ll.id);
    // One NS per address, answered by one NA each; both sides learnt both addresses.
    expect(h1.counters.tx.ndp).toBe(2);
    expect(h2.counters.tx.ndp).toBe(2);
    expect(h1.counters.tx.arp).toBe(0);
    expect(h1.neighbors.get6(h2.ipv6Addr)?.mac).toBe(h2.mac);
    expect(h1.neighbors.get6(h2.linkLocal)?.mac).toBe(h2.mac);
    expect(h2.neighbors.get6(h1.ipv6Addr)?.mac).toBe(h1.mac);
    expect(h2.neighbors.get6(h1.linkLocal)?.mac).toBe(h1.mac);
    // The first request of each waited for NDP.
    for (const p of [global, ll]) expect(p.result!.rttsNs[0]!).toBeGreaterThan(p.result!.rtt.p50);
    expectClean(b);
  });

  it('4 hosts: every host pings every other host (IPv4 and IPv6) and gets every reply', () => {
    const b = bed(4);
    const pingers = [];
    for (const a of b.stacks) {
      for (const c of b.stacks) {
        if (a === c) continue;
        pingers.push(a.ping({ dst: c.ipv4Addr, count: 5, intervalNs: us(50) }));
        pingers.push(a.ping({ dst: c.ipv6Addr, count: 5, intervalNs: us(50) }));
      }
    }
    b.rack.sched.run();
    expect(pingers).toHaveLength(24);
    for (const p of pingers) {
      expect(p.result, `${p.dstText}`).toMatchObject({ sent: 5, received: 5, lost: 0, corrupt: 0, duplicates: 0, late: 0 });
    }
    for (const s of b.stacks) {
      expect(s.counters.echoRequestsAnswered).toBe(30);
      expect(s.neighbors.size).toBe(6);
    }
    // ARP requests are broadcast: the two hosts not asked see them and ignore them, and flooded
    // unicast reaches hosts it is not for. Both are counted, nothing else is dropped.
    for (const s of b.stacks) {
      for (const [code] of s.drops.entries()) expect([StackDrop.ARP_OTHER_TARGET, StackDrop.NOT_FOR_US, StackDrop.NDP_OTHER_TARGET, StackDrop.IP_NOT_FOR_US]).toContain(code);
      expect(s.drops.get(StackDrop.ARP_OTHER_TARGET)).toBe(6);
    }
    for (const nic of b.rack.nics) expect(nic.drops.toJSON()).toEqual({});
  });

  it('the same seed gives the same RTTs, to the last bit', () => {
    const run = (): PingResult[] => {
      const b = bed(3, { seed: 42 });
      const ps = [
        b.stacks[0]!.ping({ dst: b.stacks[1]!.ipv4Addr, count: 20, intervalNs: us(10) }),
        b.stacks[2]!.ping({ dst: b.stacks[0]!.ipv6Addr, count: 20, intervalNs: us(7) }),
      ];
      b.stacks[1]!.udpStream({ dst: b.stacks[2]!.ipv4Addr, dstPort: 9, messageBytes: 1472, count: 300 });
      b.rack.sched.run();
      return ps.map((p) => p.result!);
    };
    const a = run();
    const c = run();
    expect(a[0]!.received).toBe(20);
    expect(a[1]!.received).toBe(20);
    expect(c).toEqual(a);
    expect(c[0]!.rttsNs).toEqual(a[0]!.rttsNs);
  });

  it('gives up on an address nobody answers: 3 ARP requests 1 ms apart, queued requests dropped', () => {
    const b = bed(2);
    // The first ARP request would also pay the queue pair's setup: open it first, to time the retries alone.
    b.rack.openAllQueuePairs();
    const [h1] = b.stacks as [HostStack, HostStack];
    const t0 = b.rack.sched.now;
    const ghost = parseIpv4('10.11.0.77')!;
    const p = h1.ping({ dst: ghost, count: 5, intervalNs: us(100), timeoutNs: ms(5) });
    const arpTimes: number[] = [];
    const nic = b.rack.nic('h2');
    const orig = b.stacks[1]!.receive;
    nic.setReceiver((f) => {
      if (f[12] === 0x08 && f[13] === 0x06) arpTimes.push(b.rack.sched.now - t0);
      orig(f);
    });
    b.rack.sched.run();
    expect(p.result).toMatchObject({ sent: 5, received: 0, lost: 5 });
    expect(h1.neighbors.c).toMatchObject({ solicitations: 3, retries: 2, failures: 1, unresolvedDrops: 5 });
    expect(h1.drops.get('neighbor-unresolved')).toBe(5);
    expect(h1.neighbors.get4(ghost)).toBeUndefined();
    expect(arpTimes).toHaveLength(3);
    expect(arpTimes[1]! - arpTimes[0]!).toBeCloseTo(ms(1), 0);
    expect(arpTimes[2]! - arpTimes[1]!).toBeCloseTo(ms(1), 0);
    expect(b.stacks[1]!.drops.get(StackDrop.ARP_OTHER_TARGET)).toBe(3);

    // The queue per destination is bounded: 64 frames wait, the rest are dropped at once.
    const burst = h1.ping({ dst: ghost, count: 100, intervalNs: 0, timeoutNs: ms(5) });
    b.rack.sched.run();
    expect(burst.result).toMatchObject({ sent: 100, received: 0, lost: 100 });
    expect(h1.drops.get('neighbor-queue-full')).toBe(36);
    expect(h1.drops.get('neighbor-unresolved')).toBe(5 + 64);

    // A stream to it ends with an error instead of sending.
    const s = h1.udpStream({ dst: ghost, dstPort: 9, messageBytes: 100, count: 10 });
    b.rack.sched.run();
    expect(s.done).toBe(true);
    expect(s.stats.error).toMatch(/resolve/);
    expect(s.stats.offered).toBe(0);
  });

  it('counts replies after the timeout as late, not received', () => {
    const b = bed(2);
    const [h1, h2] = b.stacks as [HostStack, HostStack];
    h1.ping({ dst: h2.ipv4Addr, count: 1 }); // warm the caches
    b.rack.sched.run();
    const p = h1.ping({ dst: h2.ipv4Addr, count: 5, intervalNs: us(10), timeoutNs: 500 });
    b.rack.sched.run();
    expect(p.result).toMatchObject({ sent: 5, received: 0, lost: 5, late: 5, corrupt: 0 });
    expect(p.result!.rtt.count).toBe(0);
  });
});

// ------------------------------------------------------------------------------------ UDP

describe('UDP streams over a Gen3 x8 rack', () => {
  it('1000 × 1472-byte datagrams arrive byte-exact and in order at the sink', () => {
    const b = bed(2);
    const [h1, h2] = b.stacks as [HostStack, HostStack];
    const s = h1.udpStream({ dst: h2.ipv4Addr, dstPort: 9, messageBytes: 1472, count: 1000 });
    let doneAt = -1;
    s.onDone = () => (doneAt = b.rack.sched.now);
    b.rack.sched.run();
    expect(s.done).toBe(true);
    expect(doneAt).toBeGreaterThan(0);
    expect(s.stats).toMatchObject({ offered: 1000, sentFrames: 1000, droppedByInterface: 0, frameBytes: 1514, error: null });
    const f = h2.sinkStats(h1.ipv4Addr, s.stats.srcPort);
    if (!f) throw new Error('no sink flow for the stream');
    expect(f).toMatchObject({ frames: 1000, received: 1000, inOrder: 1000, reordered: 0, duplicates: 0, corrupt: 0, stale: 0 });
    expect(f.lost).toBe(0);
    expect(f.receivedBytes).toBe(1472 * 1000);
    expect(f.streamId).toBe(s.streamId);
    expect(h2.sinkFlows()).toEqual([f]);
    expectClean(b);
  });

  it('the same over IPv6, to an opened sink port', () => {
    const b = bed(2);
    const [h1, h2] = b.stacks as [HostStack, HostStack];
    h2.openSink(5001);
    const s = h1.udpStream({ dst: h2.ipv6Addr, dstPort: 5001, srcPort: 40000, messageBytes: 1452, count: 500 });
    b.rack.sched.run();
    const f = h2.sinkStats(h1.ipv6Addr, 40000)!;
    expect(f).toMatchObject({ family: 6, dstPort: 5001, received: 500, inOrder: 500, corrupt: 0, reordered: 0, duplicates: 0 });
    expect(f.lost).toBe(0);
    expect(s.stats.sentFrames).toBe(500);
    // A port nobody opened: counted, not delivered.
    const closed = h1.udpStream({ dst: h2.ipv6Addr, dstPort: 5002, messageBytes: 100, count: 3 });
    b.rack.sched.run();
    expect(closed.stats.sentFrames).toBe(3);
    expect(h2.drops.get(StackDrop.UDP_PORT_CLOSED)).toBe(3);
  });

  it('a paced stream at 1 Gbps takes the expected virtual time (±5 %)', () => {
    const b = bed(2);
    const [h1, h2] = b.stacks as [HostStack, HostStack];
    const n = 1000;
    const s = h1.udpStream({ dst: h2.ipv4Addr, dstPort: 9, messageBytes: 1472, count: n, rateGbps: 1 });
    b.rack.sched.run();
    const interval = (1514 * 8) / 1; // ns per frame at 1 Gbps
    const span = s.stats.endNs - s.stats.startNs;
    expect(span).toBeCloseTo((n - 1) * interval, 3);
    const f = h2.sinkStats(h1.ipv4Addr, s.stats.srcPort)!;
    expect(f).toMatchObject({ received: n, inOrder: n, corrupt: 0 });
    const expected = n * interval;
    const took = f.lastRxNs - s.stats.startNs; // first datagram leaves → last one is in
    expect(Math.abs(took - expected) / expected).toBeLessThan(0.05);
    expect(Math.abs(f.throughputGbps - 1472 / 1514) / (1472 / 1514)).toBeLessThan(0.05);
    expect(s.stats.offeredGbps).toBeCloseTo(1, 3); // (n − 1) frames after the first, over the span
    expectClean(b);
  });

  it('a paced stream by duration stops on time', () => {
    const b = bed(2);
    const [h1, h2] = b.stacks as [HostStack, HostStack];
    const s = h1.udpStream({ dst: h2.ipv4Addr, dstPort: 9, messageBytes: 1000, durationNs: ms(1), rateGbps: 2 });
    b.rack.sched.run();
    const interval = ((1000 + 42) * 8) / 2;
    expect(s.stats.offered).toBe(Math.ceil(ms(1) / interval));
    expect(h2.sinkFlows()[0]!.received).toBe(s.stats.offered);
  });

  it('an unthrottled stream makes progress without drops by waiting for onTxDrained', () => {
    const b = bed(2);
    const [h1, h2] = b.stacks as [HostStack, HostStack];
    const n = 5000;
    const s = h1.udpStream({ dst: h2.ipv4Addr, dstPort: 9, messageBytes: 1472, count: n });
    b.rack.sched.run();
    expect(s.stats.droppedByInterface).toBe(0);
    expect(s.stats.drainWaits).toBeGreaterThan(10); // the interface queue (256) is far smaller than n
    const f = h2.sinkStats(h1.ipv4Addr, s.stats.srcPort)!;
    expect(f).toMatchObject({ received: n, inOrder: n, corrupt: 0 });
    expect(f.lost).toBe(0);
    expect(f.throughputGbps).toBeGreaterThan(1);
    expectClean(b);

    // By duration: it stops offering when the time is up, even while waiting for a drain.
    const d = h1.udpStream({ dst: h2.ipv4Addr, dstPort: 9, messageBytes: 1472, durationNs: us(200) });
    const t0 = b.rack.sched.now;
    b.rack.sched.run();
    expect(d.done).toBe(true);
    expect(d.stats.offered).toBeGreaterThan(100);
    expect(d.stats.endNs - t0).toBeLessThanOrEqual(us(200) + 1);
    expect(d.stats.droppedByInterface).toBe(0);
    expect(h2.sinkStats(h1.ipv4Addr, d.stats.srcPort)!.received).toBe(d.stats.offered);
  });

  it('three senders into one host all get through; alignOffset reaches the interface', () => {
    const b = bed(4);
    const [h1, h2, h3, h4] = b.stacks as [HostStack, HostStack, HostStack, HostStack];
    const nic = b.rack.nic('h2');
    const aligns = new Set<number>();
    const origTransmit = nic.transmit.bind(nic);
    nic.transmit = (frame, meta) => {
      aligns.add(meta?.alignOffset ?? 0);
      return origTransmit(frame, meta);
    };
    const ss = [
      h2.udpStream({ dst: h1.ipv4Addr, dstPort: 9, messageBytes: 1472, count: 2000, alignOffsetBytes: 3 }),
      h3.udpStream({ dst: h1.ipv4Addr, dstPort: 9, messageBytes: 1472, count: 2000 }),
      h4.udpStream({ dst: h1.ipv6Addr, dstPort: 9, messageBytes: 1452, count: 2000 }),
    ];
    b.rack.sched.run();
    expect(aligns).toContain(3);
    for (const s of ss) expect(s.stats.droppedByInterface).toBe(0);
    expect(h1.sinkFlows()).toHaveLength(3);
    for (const f of h1.sinkFlows()) {
      expect(f).toMatchObject({ received: 2000, inOrder: 2000, corrupt: 0, duplicates: 0, reordered: 0 });
      expect(f.lost).toBe(0);
    }
  });

  it('a paced stream faster than the interface waits for it instead of dropping', () => {
    const b = bed(2);
    const [h1, h2] = b.stacks as [HostStack, HostStack];
    const s = h1.udpStream({ dst: h2.ipv4Addr, dstPort: 9, messageBytes: 1472, count: 3000, rateGbps: 100 });
    b.rack.sched.run();
    expect(s.stats).toMatchObject({ sentFrames: 3000, droppedByInterface: 0 });
    expect(s.stats.drainWaits).toBeGreaterThan(0);
    const f = h2.sinkStats(h1.ipv4Addr, s.stats.srcPort)!;
    expect(f).toMatchObject({ received: 3000, inOrder: 3000 });
    expect(f.throughputGbps).toBeLessThan(50);
    expectClean(b);
  });

  it('unaligned packet buffers (alignOffset 3) are slower, as Marlin measured', () => {
    const gbps = [0, 3].map((align) => {
      const b = bed(2);
      const [h1, h2] = b.stacks as [HostStack, HostStack];
      const s = h1.udpStream({ dst: h2.ipv4Addr, dstPort: 9, messageBytes: 1472, count: 2000, alignOffsetBytes: align });
      b.rack.sched.run();
      const f = h2.sinkStats(h1.ipv4Addr, s.stats.srcPort)!;
      expect(f).toMatchObject({ received: 2000, corrupt: 0 });
      return f.throughputGbps;
    });
    expect(gbps[1]!).toBeLessThan(gbps[0]! * 0.8);
  });

  it('one host streaming to three: every datagram is either delivered or counted as refused', () => {
    // The interface's transmit staging (512 slots) is shared by its queue pairs (256 frames each):
    // with three queues filling, transmit can refuse a frame although txSpace(dst) > 0 (see the
    // report on eop-nic.ts). The stream then waits and carries on; the accounting must add up.
    const b = bed(4);
    const [h1, ...others] = b.stacks as [HostStack, HostStack, HostStack, HostStack];
    const n = 3000;
    const ss = others.map((o) => h1.udpStream({ dst: o.ipv4Addr, dstPort: 9, messageBytes: 1472, count: n }));
    b.rack.sched.run();
    others.forEach((o, i) => {
      const st = ss[i]!.stats;
      expect(ss[i]!.done).toBe(true);
      expect(st.offered).toBe(n);
      expect(st.sentFrames + st.droppedByInterface).toBe(n);
      const f = o.sinkStats(h1.ipv4Addr, st.srcPort)!;
      expect(f).toMatchObject({ received: st.sentFrames, corrupt: 0, reordered: 0, duplicates: 0 });
      // Gaps below the highest number seen, plus refused datagrams at the very end.
      expect(f.lost + (n - f.nextSeq)).toBe(st.droppedByInterface);
    });
    const refused = ss.reduce((a, s) => a + s.stats.droppedByInterface, 0);
    expect(h1.counters.txRejected).toBe(refused);
    expect(b.rack.nic('h1').drops.get(ErrorCode.EOP_TX_QUEUE_FULL)).toBe(refused);
  });

  it('UDP echo on port 7 returns the payload to the sender', () => {
    const b = bed(2);
    const [h1, h2] = b.stacks as [HostStack, HostStack];
    // The echoes come back to the stream's source port: open it as a sink and check them there.
    h1.openSink(40007);
    h1.openSink(40008);
    const s4 = h1.udpStream({ dst: h2.ipv4Addr, dstPort: 7, srcPort: 40007, messageBytes: 1000, count: 50, rateGbps: 5 });
    const s6 = h1.udpStream({ dst: h2.ipv6Addr, dstPort: 7, srcPort: 40008, messageBytes: 333, count: 50, rateGbps: 5 });
    b.rack.sched.run();
    expect(h2.counters.udpEchoed).toBe(100);
    const e4 = h1.sinkStats(h2.ipv4Addr, 7)!;
    expect(e4).toMatchObject({ dstPort: 40007, received: 50, inOrder: 50, corrupt: 0, streamId: s4.streamId });
    const e6 = h1.sinkStats(h2.ipv6Addr, 7)!;
    expect(e6).toMatchObject({ dstPort: 40008, received: 50, inOrder: 50, corrupt: 0, streamId: s6.streamId });
    expect(e4.receivedBytes).toBe(50 * 1000);
    expectClean(b);
  });

  it('rejects a datagram the MTU cannot carry, with a clear message', () => {
    const b = bed(2);
    const [h1, h2] = b.stacks as [HostStack, HostStack];
    const err = (f: () => unknown): EopError => {
      try {
        f();
      } catch (e) {
        return e as EopError;
      }
      throw new Error('did not throw');
    };
    const e4 = err(() => h1.udpStream({ dst: h2.ipv4Addr, dstPort: 9, messageBytes: 1473, count: 1 }));
    expect(e4).toBeInstanceOf(EopError);
    expect(e4.code).toBe(ErrorCode.USAGE);
    expect(e4.message).toMatch(/messageBytes 1473 .*16\.\.1472.*MTU 1500/);
    const e6 = err(() => h1.udpStream({ dst: h2.ipv6Addr, dstPort: 9, messageBytes: 1453, count: 1 }));
    expect(e6.message).toMatch(/16\.\.1452/);
    expect(err(() => h1.udpStream({ dst: h2.ipv4Addr, dstPort: 9, messageBytes: 100 })).message).toMatch(/count or durationNs/);
    expect(err(() => h1.ping({ dst: parseIpv4('10.12.0.2')!, count: 1 })).message).toMatch(/not in our subnet/);
    expect(err(() => h1.ping({ dst: h1.ipv4Addr, count: 1 })).message).toMatch(/own address/);
    expect(err(() => h1.ping({ dst: h2.ipv4Addr, payloadBytes: 1473 })).message).toMatch(/0\.\.1472/);
    // Nothing was scheduled by the failed constructors.
    b.rack.sched.run();
    expect(h1.counters.txFrames).toBe(0);
  });

  it('65000-byte datagrams work with a large MTU', () => {
    const b = bed(2, { eop: { ...rackSpec([]).eop, mtu: 65028 } });
    const [h1, h2] = b.stacks as [HostStack, HostStack];
    const s = h1.udpStream({ dst: h2.ipv4Addr, dstPort: 9, messageBytes: 65000, count: 160 });
    b.rack.sched.run();
    const f = h2.sinkStats(h1.ipv4Addr, s.stats.srcPort)!;
    expect(f).toMatchObject({ received: 160, inOrder: 160, corrupt: 0 });
    expect(f.receivedBytes).toBe(160 * 65000);
    expect(() => h1.udpStream({ dst: h2.ipv4Addr, dstPort: 9, messageBytes: 65001, count: 1 })).toThrow(/16\.\.65000/);
    // Frames arrive in batches of 16 (one interrupt each): first-to-last over 10 batches.
    expectClean(b);
  });
});

// ------------------------------------------------------------------------------------ receive path

describe('receive path robustness', () => {
  function udp4Frame(s: HostStack, dstMac: number, payloadLen = 64): Uint8Array {
    const f = new Uint8Array(42 + payloadLen);
    buildUdp4(f, {
      srcMac: 0x02e0_0000_00aa,
      dstMac,
      srcIp: parseIpv4('10.11.0.200')!,
      dstIp: s.ipv4Addr,
      srcPort: 1234,
      dstPort: 9,
      payload: new Uint8Array(payloadLen).fill(7),
    });
    return f;
  }

  it('counts malformed frames by code, never throws, and keeps working', () => {
    const b = bed(2);
    const [h1, h2] = b.stacks as [HostStack, HostStack];
    const m = h2.mac;
    const inject = (f: Uint8Array): void => expect(() => h2.receive(f)).not.toThrow();

    // runt: not even an Ethernet header
    inject(new Uint8Array(10));
    // truncated IPv4: 10 bytes after the Ethernet header
    const trunc = udp4Frame(h2, m).slice(0, 24);
    inject(trunc);
    // IPv4 total length beyond the frame
    const longIp = udp4Frame(h2, m);
    longIp[16] = 0x07;
    longIp[17] = 0xd0;
    inject(longIp);
    // UDP length beyond the IP payload (IP header still right)
    const longUdp = udp4Frame(h2, m);
    longUdp[38] = 0x07;
    longUdp[39] = 0xd0;
    inject(longUdp);
    // IPv6 payload length beyond the frame
    const v6 = new Uint8Array(62 + 8);
    buildUdp6(v6, { srcMac: 2, dstMac: m, srcIp: h1.ipv6Addr, dstIp: h2.ipv6Addr, srcPort: 1, dstPort: 9, payload: new Uint8Array(8) });
    v6[18] = 0x40;
    inject(v6);
    // wrong IP version under the IPv4 ethertype
    const ver = udp4Frame(h2, m);
    ver[14] = 0x65;
    inject(ver);
    // bad IPv4 header checksum, bad UDP checksum
    const ipSum = udp4Frame(h2, m);
    ipSum[24] ^= 0xff;
    inject(ipSum);
    const udpSum = udp4Frame(h2, m);
    udpSum[50] ^= 0x01;
    inject(udpSum);
    // ARP for a protocol other than IPv4
    const arp = new Uint8Array(42);
    buildArp(arp, { dstMac: BROADCAST_MAC, op: ArpOp.Request, senderMac: 2, senderIp: 1, targetMac: 0, targetIp: h2.ipv4Addr });
    arp[16] = 0x86;
    arp[17] = 0xdd;
    inject(arp);
    // NDP option with length 0
    const ns = new Uint8Array(86);
    buildNeighborSolicitation(ns, { srcMac: 2, srcIp: h1.ipv6Addr, targetIp: h2.ipv6Addr });
    ns[14 + 40 + 24 + 1] = 0;
    ns[0] = 0x33; // keep it addressed to the solicited-node group
    inject(ns);
    // ICMP message shorter than its header
    const icmp = udp4Frame(h2, m);
    icmp[16] = 0;
    icmp[17] = 24; // total length 24: 4 bytes of ICMP
    icmp[23] = 1; // protocol ICMP
    fixIpv4Checksum(icmp);
    inject(icmp);

    expect(h2.drops.get(ErrorCode.FRAME_TOO_SHORT)).toBe(3); // runt, truncated IPv4, short ICMP
    expect(h2.drops.get(ErrorCode.BAD_LENGTH_FIELD)).toBe(4); // IPv4, UDP, IPv6 lengths, NDP option
    expect(h2.drops.get(ErrorCode.BAD_VERSION)).toBe(1);
    expect(h2.drops.get(ErrorCode.BAD_CHECKSUM)).toBe(2);
    expect(h2.drops.get(ErrorCode.UNSUPPORTED)).toBe(1);
    expect(h2.drops.get(StackDrop.INTERNAL)).toBe(0);
    expect(h2.drops.total).toBe(11);
    expect(h2.counters.txFrames).toBe(0);
    // Logged, rate-limited per code.
    expect(b.rack.log.records.some((r) => r.code === ErrorCode.BAD_CHECKSUM && r.source === 'h2')).toBe(true);

    // Still answers.
    const p = h1.ping({ dst: h2.ipv4Addr, count: 3, intervalNs: us(10) });
    b.rack.sched.run();
    expect(p.result).toMatchObject({ received: 3 });
  });

  it('counts unwanted frames by reason', () => {
    const b = bed(2);
    const [h1, h2] = b.stacks as [HostStack, HostStack];
    const m = h2.mac;
    h2.receive(udp4Frame(h2, 0x02e0_0000_0099)); // another host's MAC
    const tagged = new Uint8Array(70);
    writeMac(tagged, 0, m);
    tagged[12] = 0x81;
    tagged[13] = 0x00;
    tagged[16] = 0x08;
    h2.receive(tagged);
    const lldp = new Uint8Array(60);
    writeMac(lldp, 0, m);
    lldp[12] = 0x88;
    lldp[13] = 0xcc;
    h2.receive(lldp);
    const tcp = udp4Frame(h2, m);
    tcp[23] = 6;
    fixIpv4Checksum(tcp);
    h2.receive(tcp);
    const frag = udp4Frame(h2, m);
    frag[20] = 0x20; // more fragments
    fixIpv4Checksum(frag);
    h2.receive(frag);
    const other = udp4Frame(h2, m);
    other[33] = 99; // 10.11.0.99
    fixIpv4Checksum(other);
    h2.receive(other);
    const closed = new Uint8Array(42 + 8);
    buildUdp4(closed, { srcMac: 2, dstMac: m, srcIp: h1.ipv4Addr, dstIp: h2.ipv4Addr, srcPort: 1, dstPort: 4444, payload: new Uint8Array(8) });
    h2.receive(closed);
    const nsHop = new Uint8Array(86);
    buildNeighborSolicitation(nsHop, { srcMac: 2, srcIp: h1.ipv6Addr, targetIp: h2.ipv6Addr });
    nsHop[21] = 64; // hop limit (checksum does not cover it)
    h2.receive(nsHop);
    const reply = new Uint8Array(100);
    const n = buildIcmpv4Echo(reply, { srcMac: 2, dstMac: m, srcIp: h1.ipv4Addr, dstIp: h2.ipv4Addr, type: 'reply', id: 999, seq: 1, payload: new Uint8Array(8) });
    h2.receive(reply.subarray(0, n));
    expect(h2.drops.toJSON()).toEqual({
      [StackDrop.NOT_FOR_US]: 1,
      [StackDrop.VLAN_TAGGED]: 1,
      [StackDrop.UNKNOWN_ETHERTYPE]: 1,
      [StackDrop.UNKNOWN_IP_PROTOCOL]: 1,
      [StackDrop.IPV4_FRAGMENT]: 1,
      [StackDrop.IP_NOT_FOR_US]: 1,
      [StackDrop.UDP_PORT_CLOSED]: 1,
      [StackDrop.NDP_BAD_HOP_LIMIT]: 1,
      [StackDrop.ECHO_REPLY_UNMATCHED]: 1,
    });
    // The datagram to another MAC did not reach the sink.
    expect(h2.sinkFlows()).toHaveLength(0);
  });

  it('answers an ARP request padded to 60 bytes and an NS for its link-local address', () => {
    const b = bed(2);
    const [h1, h2] = b.stacks as [HostStack, HostStack];
    const got: string[] = [];
    b.rack.nic('h1').setReceiver((f) => {
      got.push(`${formatMac((f[0]! * 2 ** 40) + (f[1]! * 2 ** 32) + ((f[2]! << 24) >>> 0) + (f[3]! << 16) + (f[4]! << 8) + f[5]!)} ${f.length}`);
      h1.receive(f);
    });
    // From h1's MAC, so the replies travel back to h1 over the rack.
    const arp = new Uint8Array(ETH_MIN_FRAME_LEN);
    buildArp(arp, { dstMac: BROADCAST_MAC, op: ArpOp.Request, senderMac: h1.mac, senderIp: h1.ipv4Addr, targetMac: 0, targetIp: h2.ipv4Addr });
    arp.fill(0xee, 42); // padding with garbage: the ARP length is fixed, the padding ignored
    h2.receive(arp);
    const ns = new Uint8Array(86);
    buildNeighborSolicitation(ns, { srcMac: h1.mac, srcIp: h1.linkLocal, targetIp: h2.linkLocal });
    h2.receive(ns);
    b.rack.sched.run();
    expect(h2.counters.tx.arp).toBe(1);
    expect(h2.counters.tx.ndp).toBe(1);
    expect(h2.neighbors.get4(h1.ipv4Addr)?.mac).toBe(h1.mac);
    expect(h2.neighbors.get6(h1.linkLocal)?.mac).toBe(h1.mac);
    expect(got).toEqual([`${formatMac(h1.mac)} 42`, `${formatMac(h1.mac)} 86`]);
    // h1 never asked: the ARP reply teaches it (addressed to it), the NA does not (RFC 4861).
    expect(h1.neighbors.get4(h2.ipv4Addr)?.mac).toBe(h2.mac);
    expect(h1.neighbors.get6(h2.linkLocal)).toBeUndefined();
    expect(h1.drops.toJSON()).toEqual({ [StackDrop.NA_UNSOLICITED]: 1 });
  });
});

/** Recompute the IPv4 header checksum of a frame after a test edited the header. */
function fixIpv4Checksum(f: Uint8Array): void {
  new Ipv4View(f.subarray(14)).fillChecksum();
}
