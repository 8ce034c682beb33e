/**
 * UdpCoalescer (UDP GSO writes into a vnet-header TAP): what merges, what never does, and what each
 * bad input gets. Every write is checked by splitting it back the way the receiving kernel does
 * (`kernelSegments`: __udp_gso_segment + inet_gso_segment / ipv6_gso_segment, the checksum then
 * completed as skb_checksum_help would): the datagrams that come out must be the datagrams that went
 * in, byte for byte and in order, IPv4 IDs and checksums included. A super-packet goes out as
 * NEEDS_CSUM, which the kernel trusts, so a datagram whose checksum is wrong (or absent) is never
 * merged: it is written unchanged behind a zero vnet header (the kernel verifies, drops and counts
 * it) and counted; the good datagrams around it still merge.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TapBridge } from '../bridge/tap-bridge.js';
import { isUdpFrame, MAX_SEGMENTS, UdpCoalescer, udpChecksumsVerify } from '../bridge/udp-coalesce.js';
import { VirtioNetHdr } from '../bridge/virtio-net-hdr.js';
import type { FramePort, FrameReceiver } from '../src/eop/frame-port.js';
import { BridgeDrop } from '../src/errors.js';
import { FakeTap } from './helpers/fake-tap.js';

const HDR = 10;
const ETH = 14;
const SRC6 = Uint8Array.from([0xfd, 0, 0, 0xe0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
const DST6 = Uint8Array.from([0xfd, 0, 0, 0xe0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);

/** Byte-wise RFC 1071 sum (independent of src/wire/checksum.ts), folded, with `init`. */
function sum(f: Uint8Array, from: number, to: number, init = 0): number {
  let x = init;
  for (let i = from; i < to; i += 2) x += (f[i]! << 8) | (i + 1 < to ? f[i + 1]! : 0);
  while (x > 0xffff) x = (x & 0xffff) + Math.floor(x / 0x10000);
  return x;
}

/** Pseudo-header sum of frame f (IPv4 or IPv6) for a UDP length. */
function pseudo(f: Uint8Array, v6: boolean, udpLen: number): number {
  return v6 ? sum(f, ETH + 8, ETH + 40, 17 + udpLen) : sum(f, ETH + 12, ETH + 20, 17 + udpLen);
}

/** Sets the UDP checksum of f as a sender does (0 → 0xffff), and the IPv4 header checksum. */
function seal(f: Uint8Array, v6: boolean): void {
  const dv = new DataView(f.buffer, f.byteOffset);
  if (!v6) {
    dv.setUint16(ETH + 10, 0);
    dv.setUint16(ETH + 10, ~sum(f, ETH, ETH + 20) & 0xffff);
  }
  const l4 = ETH + (v6 ? 40 : 20);
  dv.setUint16(l4 + 6, 0);
  const ck = ~sum(f, l4, f.length, pseudo(f, v6, f.length - l4)) & 0xffff;
  dv.setUint16(l4 + 6, ck === 0 ? 0xffff : ck);
}

interface DgramOpts {
  v6?: boolean;
  id?: number;
  sport?: number;
  dport?: number;
  tos?: number;
  ttl?: number;
  /** Byte 6 of the IPv4 header (flags + offset high bits): default DF. */
  frag?: number;
  fragLow?: number;
  /** A byte for the payload pattern. */
  tag?: number;
}

/** A UDP datagram of one flow (10.11.0.1:40000 → 10.11.0.2:5201), correct checksums. */
function dgram(plen: number, o: DgramOpts = {}): Uint8Array {
  const v6 = o.v6 ?? false;
  const l3 = v6 ? 40 : 20;
  const f = new Uint8Array(ETH + l3 + 8 + plen);
  const dv = new DataView(f.buffer);
  f.set([0x02, 0xe0, 0, 0, 0, 2, 0x02, 0xe0, 0, 0, 0, 1]);
  if (!v6) {
    dv.setUint16(12, 0x0800);
    f.set([0x45, o.tos ?? 0, 0, 0, 0, 0, o.frag ?? 0x40, o.fragLow ?? 0, o.ttl ?? 64, 17, 0, 0, 10, 11, 0, 1, 10, 11, 0, 2], ETH);
    dv.setUint16(ETH + 2, l3 + 8 + plen);
    dv.setUint16(ETH + 4, o.id ?? 1);
  } else {
    dv.setUint16(12, 0x86dd);
    dv.setUint32(ETH, 0x60000000 | ((o.tos ?? 0) << 20));
    dv.setUint16(ETH + 4, 8 + plen);
    f[ETH + 6] = 17;
    f[ETH + 7] = o.ttl ?? 64;
    f.set(SRC6, ETH + 8);
    f.set(DST6, ETH + 24);
  }
  const u = ETH + l3;
  dv.setUint16(u, o.sport ?? 40000);
  dv.setUint16(u + 2, o.dport ?? 5201);
  dv.setUint16(u + 4, 8 + plen);
  for (let i = 0; i < plen; i++) f[u + 8 + i] = ((o.tag ?? o.id ?? 0) * 31 + i * 7) & 0xff;
  seal(f, v6);
  return f;
}

/** A run of `n` datagrams with consecutive IPv4 IDs from `id0`, payload `plen` (the last `lastLen`). */
function burst(n: number, plen: number, o: DgramOpts & { id0?: number; lastLen?: number } = {}): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => dgram(i === n - 1 && o.lastLen !== undefined ? o.lastLen : plen, { ...o, id: ((o.id0 ?? 100) + i) & 0xffff, tag: i }));
}

/**
 * What the receiving kernel makes of one TAP write: a plain frame (zero vnet header) as it is; a
 * GSO_UDP_L4 super-packet split into gso_size pieces, each with the first's headers, IPv4 ID + i,
 * its own lengths, and its UDP checksum completed from the pseudo-header sum in the super-packet
 * (adjusted for the length, as __udp_gso_segment does; 0 written as 0xffff).
 */
function kernelSegments(w: Uint8Array): Uint8Array[] {
  const h = w.subarray(0, HDR);
  const f = w.subarray(HDR);
  if (h.every((b) => b === 0)) return [f];
  const dv = new DataView(w.buffer, w.byteOffset);
  expect(h[0]).toBe(1); // NEEDS_CSUM
  expect(h[1]).toBe(VirtioNetHdr.GSO_UDP_L4);
  const hdrLen = dv.getUint16(2, true);
  const gso = dv.getUint16(4, true);
  const csumStart = dv.getUint16(6, true);
  expect(dv.getUint16(8, true)).toBe(6);
  expect(hdrLen).toBe(csumStart + 8);
  const v6 = f[12] === 0x86;
  expect(csumStart).toBe(ETH + (v6 ? 40 : 20));
  const fv = new DataView(f.buffer, f.byteOffset);
  const l4 = csumStart;
  const superUdpLen = fv.getUint16(l4 + 4);
  expect(superUdpLen).toBe(f.length - l4);
  // The super-packet's own headers must be consistent (the kernel's IP layer checks them first).
  if (!v6) {
    expect(fv.getUint16(ETH + 2)).toBe(f.length - ETH);
    expect(sum(f, ETH, ETH + 20)).toBe(0xffff);
  } else expect(fv.getUint16(ETH + 4)).toBe(f.length - ETH - 40);
  expect(fv.getUint16(l4 + 6)).toBe(pseudo(f, v6, superUdpLen));
  const out: Uint8Array[] = [];
  const payload = f.subarray(l4 + 8);
  for (let off = 0, i = 0; off < payload.length; off += gso, i++) {
    const p = payload.subarray(off, Math.min(off + gso, payload.length));
    const s = new Uint8Array(l4 + 8 + p.length);
    s.set(f.subarray(0, l4 + 8));
    s.set(p, l4 + 8);
    const sv = new DataView(s.buffer);
    if (!v6) {
      sv.setUint16(ETH + 2, s.length - ETH);
      sv.setUint16(ETH + 4, (fv.getUint16(ETH + 4) + i) & 0xffff);
      sv.setUint16(ETH + 10, 0);
      sv.setUint16(ETH + 10, ~sum(s, ETH, ETH + 20) & 0xffff);
    } else sv.setUint16(ETH + 4, s.length - ETH - 40);
    sv.setUint16(l4 + 4, s.length - l4);
    // check = csum16_add(csum16_sub(check, old len), new len): the pseudo sum for this length.
    sv.setUint16(l4 + 6, pseudo(s, v6, s.length - l4));
    const ck = ~sum(s, l4, s.length) & 0xffff;
    sv.setUint16(l4 + 6, ck === 0 ? 0xffff : ck);
    out.push(s);
  }
  return out;
}

function run(frames: Uint8Array[], usoWrite = true, flushEach = false): { out: Uint8Array[]; g: UdpCoalescer } {
  const out: Uint8Array[] = [];
  const g = new UdpCoalescer(
    HDR,
    (f, head) => {
      const w = new Uint8Array((head?.length ?? 0) + f.length);
      if (head) w.set(head);
      w.set(f, head?.length ?? 0);
      out.push(w);
      return true;
    },
    () => {},
    usoWrite,
  );
  for (const f of frames) {
    g.push(f);
    if (flushEach) g.flush();
  }
  g.flush();
  return { out, g };
}

const isPlain = (w: Uint8Array): boolean => w.subarray(0, HDR).every((b) => b === 0);
const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
/** The datagrams the namespace's sockets would see, in order. */
const received = (out: Uint8Array[]): Uint8Array[] => out.flatMap(kernelSegments);
const hex = (fs: Uint8Array[]): string[] => fs.map((f) => Buffer.from(f).toString('hex'));

/** Every write plain and byte-identical to its input, in order. */
function expectAllAlone(frames: Uint8Array[], out: Uint8Array[]): void {
  expect(out).toHaveLength(frames.length);
  out.forEach((w, i) => {
    expect(isPlain(w)).toBe(true);
    expect(same(w.subarray(HDR), frames[i]!)).toBe(true);
  });
}

describe('UdpCoalescer: what merges', () => {
  for (const v6 of [false, true]) {
    const fam = v6 ? 'IPv6' : 'IPv4';

    it(`${fam}: a run of one flow becomes one GSO_UDP_L4 write that splits back into the same datagrams`, () => {
      const frames = burst(9, 1000, { v6, lastLen: 300 });
      const { out, g } = run(frames);
      expect(out).toHaveLength(1);
      const dv = new DataView(out[0]!.buffer);
      expect(dv.getUint16(4, true)).toBe(1000); // gso_size: the first datagram's payload
      expect(hex(received(out))).toEqual(hex(frames));
      expect(g.c).toMatchObject({ frames: 9, mergedFrames: 9, superFrames: 1, writes: 1, badChecksum: 0, noChecksum: 0, unsupported: 0 });
    });

    it(`${fam}: at most ${MAX_SEGMENTS} datagrams and 64 KiB of IP packet per write`, () => {
      const small = burst(70, 100, { v6 });
      const a = run(small);
      expect(a.out).toHaveLength(2);
      expect(received(a.out.slice(0, 1))).toHaveLength(MAX_SEGMENTS);
      expect(hex(received(a.out))).toEqual(hex(small));
      const big = burst(50, 1472, { v6 });
      const b = run(big);
      for (const w of b.out) expect(w.length - HDR - ETH).toBeLessThanOrEqual(65535);
      // IPv4: 44 × 1472 + 28 = 64,796 fits, 45 do not; IPv6 (frame ≤ 14 + 65,535 too): the same 44.
      expect(received(b.out.slice(0, 1))).toHaveLength(44);
      expect(hex(received(b.out))).toEqual(hex(big));
    });
  }

  it('IPv4 IDs that wrap from 65535 to 0 are consecutive', () => {
    const frames = burst(4, 500, { id0: 65534 });
    const { out } = run(frames);
    expect(out).toHaveLength(1);
    expect(hex(received(out))).toEqual(hex(frames));
  });

  it('a shorter datagram ends the write: the next one of the flow starts a new one', () => {
    const frames = [...burst(3, 800, { id0: 1 }), dgram(400, { id: 4 }), ...burst(3, 800, { id0: 5 })];
    const { out, g } = run(frames);
    expect(out).toHaveLength(2);
    expect(g.c.superFrames).toBe(2);
    expect(hex(received(out))).toEqual(hex(frames));
  });

  it('a larger datagram never joins (all but the last must be gso_size): it starts the next write', () => {
    const frames = [...burst(3, 500, { id0: 1 }), ...burst(3, 900, { id0: 4 })];
    const { out } = run(frames);
    expect(out).toHaveLength(2);
    expect(hex(received(out))).toEqual(hex(frames));
  });

  it('the virtio_net_hdr_mrg_rxbuf size (12) carries a zero num_buffers', () => {
    const out: Uint8Array[] = [];
    const g = new UdpCoalescer(12, (f, head) => {
      out.push(Uint8Array.from([...(head ?? []), ...f]));
      return true;
    });
    for (const f of burst(3, 200)) g.push(f);
    g.flush();
    expect(out).toHaveLength(1);
    expect([...out[0]!.subarray(0, 12)]).toEqual([1, 5, 42, 0, 200, 0, 34, 0, 6, 0, 0, 0]);
  });
});

describe('UdpCoalescer: what never merges (each datagram written alone, exactly as received)', () => {
  const cases: [string, Uint8Array[]][] = [
    ['IPv4 fragments (MF set)', burst(3, 400, { frag: 0x20 })],
    ['IPv4 fragments (non-zero offset)', burst(3, 400, { frag: 0x00, fragLow: 0xb9 })],
    ['the reserved IPv4 flag bit', burst(3, 400, { frag: 0xc0 })],
    ['repeated IPv4 IDs (a sender with a fixed ID)', [0, 1, 2].map((i) => dgram(400, { id: 0, tag: i }))],
    ['IPv4 IDs out of order', [dgram(400, { id: 5 }), dgram(400, { id: 4 }), dgram(400, { id: 7 })]],
    ['different source ports', [0, 1, 2].map((i) => dgram(400, { id: 10 + i, sport: 1000 + i }))],
    ['different destination ports', [0, 1, 2].map((i) => dgram(400, { id: 10 + i, dport: 1000 + i }))],
    ['different TOS', [0, 1, 2].map((i) => dgram(400, { id: 10 + i, tos: i * 4 }))],
    ['different TTL', [0, 1, 2].map((i) => dgram(400, { id: 10 + i, ttl: 60 + i }))],
    ['IPv6: different traffic class', [0, 1, 2].map((i) => dgram(400, { v6: true, tos: i * 4 }))],
    ['IPv6: different hop limit', [0, 1, 2].map((i) => dgram(400, { v6: true, ttl: 60 + i }))],
    ['empty datagrams (gso_size 0 is refused)', burst(3, 0)],
  ];
  for (const [what, frames] of cases) {
    it(what, () => {
      const { out, g } = run(frames);
      expectAllAlone(frames, out);
      expect(g.c.superFrames).toBe(0);
    });
  }

  it('IPv4 options (IHL 6)', () => {
    const frames = burst(3, 400).map((d) => {
      const f = new Uint8Array(d.length + 4);
      f.set(d.subarray(0, ETH + 20));
      f.set([1, 1, 1, 0], ETH + 20); // NOP NOP NOP EOL
      f.set(d.subarray(ETH + 20), ETH + 24);
      f[ETH] = 0x46;
      new DataView(f.buffer).setUint16(ETH + 2, f.length - ETH);
      return f;
    });
    const { out } = run(frames);
    expectAllAlone(frames, out);
  });

  it('UDP length ≠ IP payload length, and Ethernet padding after the IP packet', () => {
    const short = burst(3, 400).map((d) => {
      new DataView(d.buffer).setUint16(ETH + 20 + 4, 8 + 300); // UDP says 300 bytes of 400
      return d;
    });
    const padded = burst(3, 10).map((d) => Uint8Array.from([...d, 0, 0, 0, 0])); // IPv4 says 38, frame has 42 after Ethernet
    for (const frames of [short, padded]) {
      const { out } = run(frames);
      expectAllAlone(frames, out);
    }
  });

  it('IPv6 with an extension header (a Hop-by-Hop header before UDP)', () => {
    const frames = burst(3, 400, { v6: true }).map((d) => {
      const f = new Uint8Array(d.length + 8);
      f.set(d.subarray(0, ETH + 40));
      f[ETH + 6] = 0; // Hop-by-Hop
      f.set([17, 0, 1, 4, 0, 0, 0, 0], ETH + 40); // next UDP, PadN
      f.set(d.subarray(ETH + 40), ETH + 48);
      new DataView(f.buffer).setUint16(ETH + 4, f.length - ETH - 40);
      return f;
    });
    expect(frames.every(isUdpFrame)).toBe(false); // the bridge hands these to the TCP coalescer, which writes them alone
    const { out } = run(frames);
    expectAllAlone(frames, out);
  });

  it('other flows in between end the write (as GRO, one flow at a time)', () => {
    const frames = [dgram(400, { id: 1 }), dgram(400, { id: 1, sport: 7 }), dgram(400, { id: 2 }), dgram(400, { id: 2, sport: 7 })];
    const { out } = run(frames);
    expectAllAlone(frames, out);
  });

  it('datagrams pushed in different batches (a flush between them)', () => {
    const frames = burst(4, 400);
    const { out } = run(frames, true, true);
    expectAllAlone(frames, out);
  });

  it('with merging disabled (--no-gro) every datagram is written alone', () => {
    const frames = burst(5, 400);
    const out: Uint8Array[] = [];
    const g = new UdpCoalescer(HDR, (f, head) => (out.push(Uint8Array.from([...(head ?? []), ...f])), true));
    g.disableMerging();
    for (const f of frames) g.push(f);
    g.flush();
    expectAllAlone(frames, out);
  });
});

describe('UdpCoalescer: bad input', () => {
  for (const v6 of [false, true]) {
    const fam = v6 ? 'IPv6' : 'IPv4';
    it(`${fam}: a datagram with a wrong UDP checksum is written alone and unchanged, counted; the good ones around it merge`, () => {
      const frames = burst(9, 600, { v6 });
      frames[4]![frames[4]!.length - 1]! ^= 0x01;
      expect(udpChecksumsVerify(frames[4]!, ETH + (v6 ? 40 : 20), v6)).toBe(false);
      const { out, g } = run(frames);
      // IPv4: the bad one breaks the run of IDs, so the next write starts at ID 105.
      expect(out).toHaveLength(3);
      expect(isPlain(out[1]!)).toBe(true);
      expect(same(out[1]!.subarray(HDR), frames[4]!)).toBe(true);
      expect(hex(received(out))).toEqual(hex(frames));
      expect(g.c).toMatchObject({ badChecksum: 1, mergedFrames: 8, superFrames: 2 });
    });
  }

  it('IPv4: a wrong header checksum: alone, unchanged, counted', () => {
    const frames = burst(5, 600);
    frames[2]![ETH + 10]! ^= 0x40;
    const { out, g } = run(frames);
    expect(out.filter(isPlain)).toHaveLength(1);
    expect(hex(received(out))).toEqual(hex(frames));
    expect(g.c.badChecksum).toBe(1);
  });

  // IPv4 allows "no checksum" (0): merged it would arrive with one, so it is never vouched for.
  // IPv6 forbids 0 (RFC 8200 §8.1): the kernel drops it, so it must reach the kernel as it is.
  for (const [what, v6, counter] of [
    ['IPv4 without a checksum (0): alone and unchanged, counted as noChecksum', false, 'noChecksum'],
    ['IPv6 with a zero checksum (invalid): alone and unchanged, counted as a bad checksum', true, 'badChecksum'],
  ] as const) {
    it(what, () => {
      const ck = ETH + (v6 ? 40 : 20) + 6;
      const frames = burst(4, 600, { v6 }).map((d) => {
        d[ck] = 0;
        d[ck + 1] = 0;
        return d;
      });
      const { out, g } = run(frames);
      expectAllAlone(frames, out);
      expect(g.c[counter]).toBe(4);
    });
  }

  it('truncated and runt frames: alone and unchanged, never read past their end', () => {
    const d = dgram(600);
    const frames = [d.subarray(0, 20), d.subarray(0, ETH + 20 + 4), d.subarray(0, d.length - 100), new Uint8Array(0), dgram(600, { v6: true }).subarray(0, ETH + 44)];
    const { out } = run(frames);
    expectAllAlone(frames, out);
  });

  it('a kernel without UDP GSO writes (usoWrite false): one write per datagram, unchanged, counted', () => {
    const frames = burst(6, 600);
    const { out, g } = run(frames, false);
    expectAllAlone(frames, out);
    expect(g.c.unsupported).toBe(6);
    expect(g.c.superFrames).toBe(0);
  });

  it('a failed write of a super-packet counts every datagram in it as dropped', () => {
    const dropped: number[] = [];
    const g = new UdpCoalescer(HDR, () => false, (n) => dropped.push(n));
    for (const f of burst(7, 300)) g.push(f);
    g.flush();
    g.push(dgram(300, { id: 999 }));
    g.flush();
    expect(dropped).toEqual([7, 1]);
  });

  it('property: whatever comes in, the namespace receives exactly those datagrams in order', () => {
    const item = fc.record({
      plen: fc.oneof(fc.constant(1000), fc.integer({ min: 0, max: 1472 })),
      v6: fc.boolean(),
      idStep: fc.oneof(fc.constant(1), fc.constant(1), fc.constant(1), fc.integer({ min: 0, max: 3 })),
      sport: fc.oneof(fc.constant(40000), fc.constant(40001)),
      corrupt: fc.integer({ min: 0, max: 9 }),
      flush: fc.integer({ min: 0, max: 9 }),
    });
    fc.assert(
      fc.property(fc.array(item, { minLength: 1, maxLength: 80 }), (items) => {
        let id = 65530;
        const frames = items.map((it, i) => {
          id = (id + it.idStep) & 0xffff;
          const f = dgram(it.plen, { v6: it.v6, id, sport: it.sport, tag: i });
          if (it.corrupt === 0) f[f.length - 1]! ^= 0x80; // (an empty datagram: its checksum byte)
          return f;
        });
        const out: Uint8Array[] = [];
        const g = new UdpCoalescer(HDR, (f, head) => (out.push(Uint8Array.from([...(head ?? []), ...f])), true));
        frames.forEach((f, i) => {
          g.push(f);
          if (items[i]!.flush === 0) g.flush();
        });
        g.flush();
        expect(hex(received(out))).toEqual(hex(frames));
        // A datagram whose checksum does not hold only ever leaves as itself, behind a zero header.
        for (const w of out) if (!isPlain(w)) for (const s of kernelSegments(w)) expect(frames.some((f) => same(f, s) && udpChecksumsVerify(f, f[12] === 0x86 ? ETH + 40 : ETH + 20, f[12] === 0x86))).toBe(true);
        expect(g.c.mergedFrames + (g.c.writes - g.c.superFrames)).toBe(frames.length);
      }),
      { numRuns: 300, seed: 0x0d9 },
    );
  });
});

/** Just enough of an EOP interface for the bridge's fabric → TAP direction. */
function fabricPort(): FramePort & { deliver: (f: Uint8Array) => void } {
  let rx: FrameReceiver = () => {};
  return {
    name: 'h2-eop0',
    mac: 0x02e0_0000_0002,
    mtu: 1500,
    transmit: () => true,
    txSpace: () => 64,
    anyPeerUp: () => true,
    onTxDrained: () => {},
    setReceiver: (fn) => void (rx = fn),
    deliver: (f) => rx(f),
  };
}

class VnetTap extends FakeTap {
  readonly vnetHdrSize = HDR;
  constructor(readonly usoWrite: boolean) {
    super();
  }
}

describe('TapBridge with both coalescers', () => {
  /** A TCP segment with a bad checksum: the TCP coalescer writes it alone (an ordering marker). */
  const tcpMarker = (n: number): Uint8Array => {
    const f = dgram(40, { id: 5000 + n });
    f[ETH + 9] = 6;
    return f;
  };

  it('UDP datagrams merge into one write per batch, and frames reach the TAP in the order delivered', async () => {
    const tap = new VnetTap(true);
    const port = fabricPort();
    const bridge = new TapBridge('h2', tap, port);
    const a = burst(5, 700, { id0: 1 });
    const b = burst(5, 700, { id0: 6 });
    const frames = [...a, tcpMarker(1), ...b, tcpMarker(2)];
    for (const f of frames) port.deliver(f);
    await new Promise((r) => process.nextTick(r));
    expect(tap.written).toHaveLength(4);
    expect(hex(received(tap.written))).toEqual(hex(frames));
    expect(bridge.uso!.c).toMatchObject({ superFrames: 2, mergedFrames: 10 });
    bridge.close();
  });

  it('a TAP that refuses UDP GSO gets one write per datagram; --no-gro (coalesce false) the same', async () => {
    for (const [tap, opts] of [[new VnetTap(false), {}], [new VnetTap(true), { coalesce: false }]] as const) {
      const port = fabricPort();
      const bridge = new TapBridge('h2', tap, port, opts);
      const frames = burst(4, 700);
      for (const f of frames) port.deliver(f);
      await new Promise((r) => process.nextTick(r));
      expectAllAlone(frames, tap.written);
      expect(bridge.drops.get(BridgeDrop.TAP_WRITE)).toBe(0);
      bridge.close();
    }
  });
});
