/**
 * The stack against a scripted wire (two FramePorts joined by the scheduler) that can drop,
 * duplicate, delay and corrupt frames, which the rack never does; plus the sink and the summary
 * helpers on their own.
 */
import { describe, expect, it } from 'vitest';
import type { FramePort, FrameReceiver, TxMeta } from '../src/eop/frame-port.js';
import {
  HostStack,
  MAX_MESSAGE_BYTES,
  pattern,
  patternStart,
  percentile,
  STREAM_MAGIC,
  summarize,
  UdpSink,
} from '../src/stack/index.js';
import { Scheduler } from '../src/time/scheduler.js';
import { us } from '../src/time/units.js';
import {
  buildUdp4,
  finishUdp4Checksum,
  Icmpv4View,
  parseIpv4,
  parseIpv6,
  UDP4_PAYLOAD_OFFSET,
  UdpView,
} from '../src/wire/index.js';

interface Delivery {
  frame: Uint8Array;
  delayNs: number;
}

/** One end of a point-to-point wire; `script` decides what becomes of each frame sent. */
class WirePort implements FramePort {
  readonly name: string;
  peer!: WirePort;
  receiver: FrameReceiver = () => {};
  sent: Uint8Array[] = [];
  metas: (TxMeta | undefined)[] = [];
  script: ((frame: Uint8Array) => Delivery[]) | null = null;

  constructor(
    name: string,
    readonly mac: number,
    private readonly sched: Scheduler,
    readonly mtu = 1500,
    readonly delayNs = 1_000,
  ) {
    this.name = name;
  }

  transmit(frame: Uint8Array, meta?: TxMeta): boolean {
    const f = frame.slice();
    this.sent.push(f);
    this.metas.push(meta ? { ...meta } : undefined);
    const out = this.script ? this.script(f) : [{ frame: f, delayNs: this.delayNs }];
    for (const d of out) this.sched.after(d.delayNs, this.deliver, d.frame);
    return true;
  }
  private readonly deliver = (f: Uint8Array): void => this.peer.receiver(f);
  txSpace(): number {
    return 1000;
  }
  anyPeerUp(): boolean {
    return true;
  }
  onTxDrained(fn: () => void): void {
    this.sched.after(0, fn);
  }
  setReceiver(fn: FrameReceiver): void {
    this.receiver = fn;
  }
}

function pair(): { sched: Scheduler; a: HostStack; b: HostStack; pa: WirePort; pb: WirePort } {
  const sched = new Scheduler(1);
  const pa = new WirePort('a', 0x02e0_0000_0001, sched);
  const pb = new WirePort('b', 0x02e0_0000_0002, sched);
  pa.peer = pb;
  pb.peer = pa;
  const mk = (port: WirePort, n: number): HostStack =>
    new HostStack({
      port,
      sched,
      mac: port.mac,
      ipv4: { addr: parseIpv4(`10.11.0.${n}`)!, prefix: 24 },
      ipv6: { bytes: parseIpv6(`fd00:e0::${n}`)!, prefix: 64 },
      name: port.name,
    });
  return { sched, a: mk(pa, 1), b: mk(pb, 2), pa, pb };
}

const isUdp4 = (f: Uint8Array): boolean => f[12] === 0x08 && f[13] === 0x00 && f[23] === 17;
const isIcmp4 = (f: Uint8Array): boolean => f[12] === 0x08 && f[13] === 0x00 && f[23] === 1;
const streamSeq = (f: Uint8Array): number => new DataView(f.buffer, f.byteOffset).getUint32(UDP4_PAYLOAD_OFFSET + 8);

describe('sink accounting on a misbehaving wire', () => {
  it('counts lost, reordered, duplicate and corrupt datagrams', () => {
    const { sched, a, b, pa } = pair();
    pa.script = (f) => {
      if (!isUdp4(f)) return [{ frame: f, delayNs: 1_000 }];
      switch (streamSeq(f)) {
        case 3:
          return []; // lost
        case 5:
          return [{ frame: f, delayNs: 1_000 }, { frame: f.slice(), delayNs: 1_500 }]; // duplicated
        case 7:
          return [{ frame: f, delayNs: us(50) }]; // overtaken by the rest
        case 9: {
          f[f.length - 1] ^= 0x5a; // pattern damaged, checksum made right: only the sink can tell
          finishUdp4Checksum(f, f.length);
          return [{ frame: f, delayNs: 1_000 }];
        }
        default:
          return [{ frame: f, delayNs: 1_000 }];
      }
    };
    const s = a.udpStream({ dst: b.ipv4Addr, dstPort: 9, messageBytes: 200, count: 20, rateGbps: 1 });
    sched.run();
    expect(s.stats.sentFrames).toBe(20);
    const f = b.sinkStats(a.ipv4Addr, s.stats.srcPort)!;
    expect(f).toMatchObject({
      frames: 20, // 19 delivered + 1 duplicate
      received: 18, // minus the lost and the corrupt one
      duplicates: 1,
      reordered: 1,
      corrupt: 1,
      nextSeq: 20,
      inOrder: 14, // 0 1 2 · 5 6 · · 11..19
    });
    expect(f.lost).toBe(2); // 3, and 9 whose number could not be trusted
    expect(b.drops.toJSON()).toEqual({});
  });

  it('a damaged UDP checksum is dropped by the stack as BAD_CHECKSUM, not seen by the sink', () => {
    const { sched, a, b, pa } = pair();
    pa.script = (f) => {
      if (isUdp4(f) && streamSeq(f) === 2) f[f.length - 1] ^= 1;
      return [{ frame: f, delayNs: 1_000 }];
    };
    const s = a.udpStream({ dst: b.ipv4Addr, dstPort: 9, messageBytes: 64, count: 5, rateGbps: 1 });
    sched.run();
    expect(b.drops.toJSON()).toEqual({ ERR_BAD_CHECKSUM: 1 });
    expect(b.sinkStats(a.ipv4Addr, s.stats.srcPort)).toMatchObject({ frames: 4, received: 4, corrupt: 0 });
  });

  it('a new stream id from the same source port restarts sequencing', () => {
    const { sched, a, b } = pair();
    a.udpStream({ dst: b.ipv4Addr, dstPort: 9, srcPort: 5555, messageBytes: 100, count: 10 });
    sched.run();
    a.udpStream({ dst: b.ipv4Addr, dstPort: 9, srcPort: 5555, messageBytes: 100, count: 7 });
    sched.run();
    const f = b.sinkStats(a.ipv4Addr, 5555)!;
    expect(f).toMatchObject({ received: 17, streamRestarts: 1, corrupt: 0, duplicates: 0 });
    expect(f.lost).toBe(0);
  });
});

describe('pinger on a misbehaving wire', () => {
  it('counts duplicates, corrupt replies and timeouts', () => {
    const { sched, a, b, pb } = pair();
    pb.script = (f) => {
      if (!isIcmp4(f)) return [{ frame: f, delayNs: 1_000 }];
      const icmp = new Icmpv4View(f.subarray(34));
      if (icmp.echoSeq() === 2) return [{ frame: f, delayNs: 1_000 }, { frame: f.slice(), delayNs: 2_000 }];
      if (icmp.echoSeq() === 3) {
        f[f.length - 1] ^= 0xff; // data changed, checksum refilled: the pinger must catch it
        icmp.fillChecksum();
      }
      if (icmp.echoSeq() === 4) return [{ frame: f, delayNs: us(20) }]; // after the 10 µs timeout
      return [{ frame: f, delayNs: 1_000 }];
    };
    let done = 0;
    const p = a.ping({ dst: b.ipv4Addr, count: 5, intervalNs: us(1), timeoutNs: us(10), onDone: () => done++ });
    sched.run();
    expect(done).toBe(1);
    expect(p.result).toMatchObject({ sent: 5, received: 3, lost: 2, duplicates: 1, corrupt: 1, late: 1 });
    // Wire delay 1 µs each way. Requests 1 (at 0) and 2 (at 1 µs) waited for the ARP reply (at
    // 2 µs); 3 came back corrupt, 4 late; 5 went straight out.
    expect(p.result!.rttsNs).toEqual([4_000, 3_000, 2_000]);
    expect(p.result!.rtt).toMatchObject({ min: 2_000, max: 4_000, p50: 3_000, p99: 4_000, avg: 3_000 });
  });

  it('pinger identifiers are unique and replies reach the right pinger', () => {
    const { sched, a, b } = pair();
    const ps = [1, 2, 3].map(() => a.ping({ dst: b.ipv4Addr, count: 4, intervalNs: us(1) }));
    const p6 = a.ping({ dst: b.ipv6Addr, count: 4, intervalNs: us(1) });
    sched.run();
    expect(new Set([...ps, p6].map((p) => p.id)).size).toBe(4);
    for (const p of [...ps, p6]) expect(p.result).toMatchObject({ received: 4, corrupt: 0, duplicates: 0 });
  });

  it('payloads below 8 bytes (no room for the timestamp) still verify', () => {
    const { sched, a, b } = pair();
    const p0 = a.ping({ dst: b.ipv4Addr, count: 3, payloadBytes: 0 });
    const p5 = a.ping({ dst: b.ipv6Addr, count: 3, payloadBytes: 5 });
    sched.run();
    expect(p0.result).toMatchObject({ received: 3, corrupt: 0 });
    expect(p5.result).toMatchObject({ received: 3, corrupt: 0 });
  });
});

describe('UDP echo and transmit details', () => {
  it('port 7 swaps the ports and returns the payload byte for byte', () => {
    const { sched, a, b, pb } = pair();
    // Teach b a's address first so nothing else is on the wire.
    a.ping({ dst: b.ipv4Addr, count: 1 });
    sched.run();
    pb.sent = [];
    const payload = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff);
    const req = new Uint8Array(UDP4_PAYLOAD_OFFSET + payload.length);
    buildUdp4(req, { srcMac: a.mac, dstMac: b.mac, srcIp: a.ipv4Addr, dstIp: b.ipv4Addr, srcPort: 3333, dstPort: 7, payload });
    b.receive(req);
    expect(pb.sent).toHaveLength(1);
    const reply = pb.sent[0]!;
    const u = UdpView.checked(reply.subarray(34));
    expect(u.srcPort()).toBe(7);
    expect(u.dstPort()).toBe(3333);
    expect(u.payload()).toEqual(payload);
    expect(u.verifyChecksum4(b.ipv4Addr, a.ipv4Addr)).toBe(true);
    expect(b.counters.udpEchoed).toBe(1);
    expect(b.counters.tx.udp).toBe(1);
  });

  it('does not echo what it could not send back within its MTU', () => {
    const sched = new Scheduler(1);
    const port = new WirePort('small', 0x02e0_0000_0003, sched, 1000);
    port.peer = port;
    const s = new HostStack({
      port,
      sched,
      mac: port.mac,
      ipv4: { addr: parseIpv4('10.11.0.3')!, prefix: 24 },
      ipv6: { bytes: parseIpv6('fd00:e0::3')!, prefix: 64 },
      name: 'small',
    });
    const req = new Uint8Array(UDP4_PAYLOAD_OFFSET + 1400);
    buildUdp4(req, { srcMac: 2, dstMac: s.mac, srcIp: parseIpv4('10.11.0.9')!, dstIp: s.ipv4Addr, srcPort: 1, dstPort: 7, payloadLen: 1400 });
    finishUdp4Checksum(req, req.length);
    expect(() => s.receive(req)).not.toThrow();
    expect(s.drops.toJSON()).toEqual({ 'reply-exceeds-mtu': 1 });
    expect(port.sent).toHaveLength(0);
  });

  it('passes alignOffset to the port and paces by frame bytes', () => {
    const { sched, a, b, pa } = pair();
    const s = a.udpStream({ dst: b.ipv4Addr, dstPort: 9, messageBytes: 100, count: 11, rateGbps: 0.1, alignOffsetBytes: 17 });
    sched.run();
    const udp = pa.sent.map((f, i) => ({ f, m: pa.metas[i] })).filter((x) => isUdp4(x.f));
    expect(udp).toHaveLength(11);
    for (const x of udp) expect(x.m?.alignOffset).toBe(17);
    // 142-byte frames at 0.1 Gbps: 11 360 ns apart, so 10 gaps.
    expect(s.stats.endNs - s.stats.startNs).toBeCloseTo(10 * 11_360, 6);
  });

  it('streams start at startNs, after resolution', () => {
    const { sched, a, b } = pair();
    const s = a.udpStream({ dst: b.ipv4Addr, dstPort: 9, messageBytes: 100, count: 2, startNs: us(100) });
    sched.run();
    // ARP request and reply: 1 µs each way.
    expect(s.stats.startNs).toBe(us(100) + 2_000);
  });
});

describe('UdpSink and stats on their own', () => {
  function datagram(id: number, seq: number, n: number): Uint8Array {
    const p = new Uint8Array(n);
    const v = new DataView(p.buffer);
    v.setUint32(0, STREAM_MAGIC);
    v.setUint32(4, id);
    v.setUint32(8, seq);
    v.setUint32(12, n);
    const start = patternStart(id, seq);
    pattern().copy(p, 16, start + 16, start + n);
    return p;
  }

  it('verifies the largest datagram and rejects short, mislabelled and foreign ones', () => {
    const sink = new UdpSink();
    const src = parseIpv4('10.0.0.9')!;
    sink.receive4(src, 1, 9, datagram(7, 0, MAX_MESSAGE_BYTES), 0);
    sink.receive4(src, 1, 9, datagram(7, 1, 16), 1);
    sink.receive4(src, 1, 9, new Uint8Array(15), 2); // shorter than the header
    const wrongLen = datagram(7, 2, 100);
    wrongLen[15] = 99;
    sink.receive4(src, 1, 9, wrongLen, 3);
    sink.receive4(src, 1, 9, new Uint8Array(100), 4); // not a stream at all
    const f = sink.get(src, 1)!;
    expect(f).toMatchObject({ received: 2, corrupt: 3, frames: 5, firstRxNs: 0, lastRxNs: 4 });
    expect(sink.get(src, 2)).toBeUndefined();
  });

  it('remembers a window of 64 Ki sequence numbers', () => {
    const sink = new UdpSink();
    sink.receive4(1, 1, 9, datagram(1, 0, 32), 0);
    sink.receive4(1, 1, 9, datagram(1, 100_000, 32), 1); // a jump: 99 999 missing
    sink.receive4(1, 1, 9, datagram(1, 99_999, 32), 2); // fills one gap
    sink.receive4(1, 1, 9, datagram(1, 99_999, 32), 3); // duplicate
    sink.receive4(1, 1, 9, datagram(1, 5, 32), 4); // too old to tell
    const f = sink.get(1, 1)!;
    expect(f).toMatchObject({ received: 3, reordered: 1, duplicates: 1, stale: 1 });
    expect(f.lost).toBe(100_001 - 3 - 1);
  });

  it('summarize and percentile', () => {
    expect(summarize([])).toMatchObject({ count: 0, min: 0, max: 0 });
    const s = summarize([5, 1, 4, 2, 3]);
    expect(s).toMatchObject({ count: 5, min: 1, max: 5, avg: 3, p50: 3, p99: 5 });
    expect(s.mdev).toBeCloseTo(Math.sqrt(2), 12);
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 100)).toBe(100);
    expect(summarize([7, 7, 7]).mdev).toBe(0);
  });
});
