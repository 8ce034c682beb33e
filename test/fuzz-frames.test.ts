/**
 * Frame fuzzing (issue 8, "Fuzzing in CI"): seeded, bounded property tests that feed hostile frames
 * into the TAP bridge's receive path and the EOP NIC's transmit entry, in process, on a booted rack
 * whose receiving hosts run the built-in stack: runts, oversize frames, random and bad EtherTypes,
 * truncated headers, flipped bytes (bad checksums), VLAN and QinQ tags, random MACs, and storms.
 *
 * What every case must hold:
 * - nothing throws, neither at the entry point nor out of the event loop (`sched.run()`);
 * - every frame is accounted for: taken onward, held (bounded), or dropped with a registered, stable
 *   code (`codeInfo` knows it); the stack never reaches its "internal error" catch-all;
 * - memory stays bounded: held frames ≤ the bridge's hold limit, every queue pair's transmit queue
 *   ≤ txQueueFrames, and a 20,000-frame storm leaves the heap within a fixed allowance.
 * Fixed seeds, bounded runs: the same cases every run, a few seconds in all.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TapBridge } from '../bridge/tap-bridge.js';
import { codeInfo, StackDrop } from '../src/errors.js';
import type { EopNic } from '../src/eop/eop-nic.js';
import { HostStack } from '../src/stack/host-stack.js';
import type { Rack } from '../src/topology/rack.js';
import { ArpOp, buildArp, buildIcmpv4Echo, buildIcmpv6Echo, buildUdp4, buildUdp6, parseIpv4, parseIpv6 } from '../src/wire/index.js';
import { FakeTap } from './helpers/fake-tap.js';
import { bootedRack, hostMac } from './helpers/rack.js';

const BCAST = 0xffff_ffff_ffff;
const MTU = 1500;
const ip4 = (n: number): number => parseIpv4(`10.11.0.${n}`)!;
const ip6 = (n: number): Uint8Array => parseIpv6(`fd00:e0::${n}`)!;

/** Valid frames of every kind the stack speaks, from h1 to h2 (or broadcast), as mutation seeds. */
function templates(): Uint8Array[] {
  const out: Uint8Array[] = [];
  const buf = new Uint8Array(2048);
  const take = (n: number): void => void out.push(buf.slice(0, n));
  const payload = Uint8Array.from({ length: 64 }, (_, i) => i);
  take(buildUdp4(buf, { srcMac: hostMac(1), dstMac: hostMac(2), srcIp: ip4(1), dstIp: ip4(2), srcPort: 4000, dstPort: 7, payload }));
  take(buildUdp4(buf, { srcMac: hostMac(1), dstMac: hostMac(2), srcIp: ip4(1), dstIp: ip4(2), srcPort: 4000, dstPort: 9, payload: new Uint8Array(1472) }));
  take(buildUdp6(buf, { srcMac: hostMac(1), dstMac: hostMac(2), srcIp: ip6(1), dstIp: ip6(2), srcPort: 4000, dstPort: 7, payload }));
  take(buildArp(buf, { dstMac: BCAST, op: ArpOp.Request, senderMac: hostMac(1), senderIp: ip4(1), targetMac: 0, targetIp: ip4(2) }));
  take(buildIcmpv4Echo(buf, { srcMac: hostMac(1), dstMac: hostMac(2), srcIp: ip4(1), dstIp: ip4(2), type: 'request', id: 1, seq: 1, payload }));
  take(buildIcmpv6Echo(buf, { srcMac: hostMac(1), dstMac: hostMac(2), srcIp: ip6(1), dstIp: ip6(2), type: 'request', id: 1, seq: 1, payload }));
  return out;
}
const TEMPLATES = templates();

type Mutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'flip'; at: number; value: number }
  | { kind: 'ethertype'; value: number }
  | { kind: 'vlan'; tpid: number; tci: number; qinq: boolean }
  | { kind: 'pad'; to: number }
  | { kind: 'dst'; mac: number }
  | { kind: 'src'; mac: number };

const macArb = fc.oneof(fc.constant(BCAST), fc.constant(hostMac(2)), fc.constant(hostMac(3)), fc.constant(0x3333_0000_0001), fc.integer({ min: 0, max: 2 ** 48 - 1 }));
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(1600) }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(1600), value: fc.nat(255) }),
  fc.record({ kind: fc.constant('ethertype' as const), value: fc.oneof(fc.constantFrom(0x0800, 0x0806, 0x86dd, 0x8100, 0x88a8, 0x9100, 0x05dc, 0x0000, 0xffff), fc.nat(0xffff)) }),
  fc.record({ kind: fc.constant('vlan' as const), tpid: fc.constantFrom(0x8100, 0x88a8, 0x9100), tci: fc.nat(0xffff), qinq: fc.boolean() }),
  fc.record({ kind: fc.constant('pad' as const), to: fc.integer({ min: MTU, max: MTU + 600 }) }),
  fc.record({ kind: fc.constant('dst' as const), mac: macArb }),
  fc.record({ kind: fc.constant('src' as const), mac: macArb }),
);

function writeMac(f: Uint8Array, off: number, mac: number): void {
  for (let i = 0; i < 6; i++) f[off + i] = Math.floor(mac / 2 ** (8 * (5 - i))) & 0xff;
}

function mutate(base: Uint8Array, ms: Mutation[]): Uint8Array {
  let f = base.slice();
  for (const m of ms) {
    switch (m.kind) {
      case 'truncate':
        f = f.slice(0, Math.min(m.at, f.length));
        break;
      case 'flip':
        if (f.length > 0) f[m.at % f.length] = m.value;
        break;
      case 'ethertype':
        if (f.length >= 14) {
          f[12] = m.value >> 8;
          f[13] = m.value & 0xff;
        }
        break;
      case 'vlan': {
        if (f.length < 12) break;
        const tags = m.qinq ? [m.tpid, m.tci, 0x8100, m.tci ^ 0x0fff] : [m.tpid, m.tci];
        const ins = new Uint8Array(tags.length * 2);
        tags.forEach((v, i) => {
          ins[2 * i] = v >> 8;
          ins[2 * i + 1] = v & 0xff;
        });
        const g = new Uint8Array(f.length + ins.length);
        g.set(f.subarray(0, 12));
        g.set(ins, 12);
        g.set(f.subarray(12), 12 + ins.length);
        f = g;
        break;
      }
      case 'pad': {
        const g = new Uint8Array(Math.max(f.length, m.to));
        g.set(f);
        f = g;
        break;
      }
      case 'dst':
        if (f.length >= 6) writeMac(f, 0, m.mac);
        break;
      case 'src':
        if (f.length >= 12) writeMac(f, 6, m.mac);
        break;
    }
  }
  return f;
}

/** A hostile frame: a mutated valid frame, or plain random bytes of any length up to 1,600. */
const frameArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.nat(TEMPLATES.length - 1), fc.array(mutationArb, { minLength: 1, maxLength: 4 })).map(([t, ms]) => mutate(TEMPLATES[t]!, ms)) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 0, maxLength: 1600 }) },
);

interface Bed {
  rack: Rack;
  nic: EopNic;
  stacks: HostStack[];
}

/** h1 is the entry (a TAP or a raw sender, no stack); h2 and h3 run the built-in stack. */
function bed(): Bed {
  const rack = bootedRack(3, { eop: { mtu: MTU } });
  const stacks = [2, 3].map((n) => {
    const nic = rack.nic(`h${n}`);
    return new HostStack({ port: nic, sched: rack.sched, mac: nic.mac, ipv4: { addr: ip4(n), prefix: 24 }, ipv6: { bytes: ip6(n), prefix: 64 }, log: rack.log, name: `h${n}` });
  });
  return { rack, nic: rack.nic('h1'), stacks };
}

function allCodes(b: Bed, extra: Record<string, number>[] = []): string[] {
  const maps = [b.rack.fabric.drops.toJSON(), ...b.rack.nics.map((n) => n.drops.toJSON()), ...b.stacks.map((s) => s.drops.toJSON()), ...extra];
  return [...new Set(maps.flatMap((m) => Object.keys(m)))];
}

function expectBounded(b: Bed): void {
  for (const n of b.rack.nics) for (const qp of n.qps) if (qp) expect(qp.txCount).toBeLessThanOrEqual(n.cfg.txQueueFrames);
}

function expectCleanCodes(b: Bed, extra: Record<string, number>[] = []): void {
  for (const code of allCodes(b, extra)) expect(codeInfo(code), `unregistered drop code ${code}`).toBeDefined();
  for (const s of b.stacks) expect(s.drops.get(StackDrop.INTERNAL), 'the stack caught an exception of its own').toBe(0);
}

const FC = { seed: 0x0e0f, numRuns: 150, endOnFailure: true } as const;

describe('frame fuzzing: the EOP NIC transmit entry and the stacks behind it', () => {
  it('never throws; every frame is sent or dropped with a registered code', () => {
    const b = bed();
    fc.assert(
      fc.property(fc.array(frameArb, { minLength: 1, maxLength: 24 }), (frames) => {
        for (const f of frames) {
          const sent0 = b.nic.c.txFrames;
          const drops0 = b.nic.drops.total;
          const ok = b.nic.transmit(f);
          // One or the other, never both, never neither.
          expect(ok ? b.nic.c.txFrames - sent0 : b.nic.drops.total - drops0).toBe(1);
          expect(ok ? b.nic.drops.total - drops0 : b.nic.c.txFrames - sent0).toBe(0);
        }
        b.rack.sched.run();
        expectBounded(b);
      }),
      FC,
    );
    expectCleanCodes(b);
    // The campaign reached the stacks (not everything died at the edge).
    expect(b.stacks[0]!.drops.total + b.rack.nic('h2').c.rxFrames).toBeGreaterThan(0);
  });
});

describe('frame fuzzing: the TAP bridge receive path', () => {
  beforeEach(() => {
    vi.useFakeTimers(); // the stall watchdog; nothing here waits on real time
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('never throws; every frame read from the TAP goes to the fabric, is held (bounded) or dropped with a code', () => {
    const b = bed();
    const tap = new FakeTap();
    const bridge = new TapBridge('h1', tap, b.nic, { holdFrames: 64 });
    fc.assert(
      fc.property(fc.array(frameArb, { minLength: 1, maxLength: 32 }), (frames) => {
        const in0 = bridge.c.tapInFrames;
        const fab0 = bridge.c.toFabricFrames;
        const drops0 = bridge.drops.total + b.nic.drops.total;
        const held0 = bridge.heldFrames;
        const sent0 = bridge.c.held;
        tap.feed(frames);
        expect(bridge.c.tapInFrames - in0).toBe(frames.length);
        const heldNow = bridge.c.held - sent0; // frames that entered the holding queue
        // Before the event loop runs, each frame is exactly one of: to the fabric, dropped, held.
        expect(bridge.c.toFabricFrames - fab0 + (bridge.drops.total + b.nic.drops.total - drops0) + heldNow).toBe(frames.length);
        expect(bridge.heldFrames).toBeLessThanOrEqual(64);
        expect(held0).toBeLessThanOrEqual(64);
        b.rack.sched.run();
        vi.advanceTimersByTime(1000);
        expectBounded(b);
      }),
      FC,
    );
    expectCleanCodes(b, [bridge.drops.toJSON()]);
    bridge.close();
  });

  it('a 20,000-frame storm (broadcasts, random source MACs, runts, jumbos) in batches of 500 stays bounded', () => {
    const b = bed();
    const tap = new FakeTap();
    const bridge = new TapBridge('h1', tap, b.nic, { holdFrames: 256 });
    const frames = fc.sample(frameArb, { seed: 0x5707, numRuns: 2000 });
    const storm: Uint8Array[] = [];
    for (let i = 0; i < 20_000; i++) {
      const f = frames[i % frames.length]!;
      // Every tenth a broadcast from a fresh random source MAC: the MAC-learning path under load.
      if (i % 10 === 0 && f.length >= 14) {
        const g = f.slice();
        writeMac(g, 0, BCAST);
        writeMac(g, 6, 0x0200_0000_0000 + ((i * 2654435761) % 2 ** 40));
        storm.push(g);
      } else storm.push(f);
    }
    global.gc?.();
    const heap0 = process.memoryUsage().heapUsed;
    for (let i = 0; i < storm.length; i += 500) {
      expect(() => tap.feed(storm.slice(i, i + 500))).not.toThrow();
      expect(() => b.rack.sched.run()).not.toThrow();
      vi.advanceTimersByTime(250);
      expect(bridge.heldFrames).toBeLessThanOrEqual(256);
      expectBounded(b);
    }
    expect(bridge.c.tapInFrames).toBe(20_000);
    expectCleanCodes(b, [bridge.drops.toJSON()]);
    // 20,000 frames of ≤ 2.2 kB passed through; what stays behind must be far less than that.
    expect(process.memoryUsage().heapUsed - heap0).toBeLessThan(32 * 1024 * 1024);
    bridge.close();
  });
});
