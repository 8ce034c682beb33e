/**
 * TLP trains along a path (src/pcie/path.ts): DLLP counts and bytes for a one-way and a
 * bidirectional stream, per-link headers, a read's round trip with completions and tags, and a
 * path through a spine — each against a hand calculation.
 */
import { describe, expect, it } from 'vitest';
import { HOST_APERTURE_BYTES, OUTBOUND_BASE } from '../src/mem/address-map.js';
import { DEFAULT_LINK, Link, effectiveWriteGbps, nsPerWireByte, type LinkConfig } from '../src/pcie/link.js';
import { Path, UPSTREAM_HEADER_BYTES, reserveRead, reserveWrite } from '../src/pcie/path.js';

const gen3x8: LinkConfig = { ...DEFAULT_LINK }; // Gen3 x8 MPS 256
const NS_PER_BYTE = nsPerWireByte(gen3x8); // 8 / (63.01538 × 374/375) = 0.1272926 ns
const W = 206.171875; // AckLimit 203 symbol times × 1.015625 ns
const GAP = 450; // link 100 + hop 150 + two NTBs 2 × 50 + link 100
const H2_BASE = 2 * HOST_APERTURE_BYTES;

function pair(): { a: Link; b: Link; ab: Path; ba: Path } {
  const a = new Link('h1', gen3x8);
  const b = new Link('h2', gen3x8);
  return { a, b, ab: new Path([a, b], 1, [GAP], H2_BASE, 1), ba: new Path([b, a], 1, [GAP], HOST_APERTURE_BYTES, 1) };
}

describe('headers per link', () => {
  it('every remote write leaves its requester above 4 GiB: 4-DW header upstream', () => {
    expect(OUTBOUND_BASE).toBeGreaterThanOrEqual(2 ** 32);
    expect(HOST_APERTURE_BYTES).toBeGreaterThanOrEqual(2 ** 32);
    expect(UPSTREAM_HEADER_BYTES).toBe(16);
  });

  it('a write below 4 GiB in the target costs 3-DW headers on the target link, above it 4-DW', () => {
    const { a, b, ab } = pair();
    const out = { leaveNs: 0, landNs: 0 };
    reserveWrite(ab, 0x100000, 4096, 0, 4096, out);
    // up: 4096 + 16 × 24 = 4480 B; down: 4096 + 16 × 20 = 4416 B
    expect(a.up.busyNs).toBeCloseTo(4480 * NS_PER_BYTE, 9);
    expect(b.down.busyNs).toBeCloseTo(4416 * NS_PER_BYTE, 9);
    reserveWrite(ab, 5 * 2 ** 30, 4096, 0, 4096, out);
    expect(b.down.busyNs).toBeCloseTo((4416 + 4480) * NS_PER_BYTE, 9);
  });
});

describe('DLLPs of a one-way stream', () => {
  it('64 back-to-back 4 KiB writes h1 → h2: 178 ACK windows, 356 DLLPs (2,848 B) back on each link', () => {
    const { a, b, ab } = pair();
    const out = { leaveNs: 0, landNs: 0 };
    for (let k = 0; k < 64; k++) reserveWrite(ab, 0x100000 + k * 4096, 4096, 0, 4096, out);
    // h1's up-link is the slower (4-DW headers): 64 × 4480 × 0.1272926 = 36,497.33 ns, back to back.
    expect(a.up.busyUntil).toBeCloseTo(64 * 4480 * NS_PER_BYTE, 6);
    // ACK windows over it: ceil(36,497.33 / 206.171875) = ceil(177.02) = 178 → 356 DLLPs on h1.down
    expect(a.down.dllps).toBe(356);
    expect(a.down.busyNs).toBeCloseTo(356 * 8 * NS_PER_BYTE, 9); // 2,848 B = 362.53 ns of h1.down
    // h2's down-link carries the same train paced by h1's up-link: the same 178 windows, on h2.up
    expect(b.up.dllps).toBe(356);
    // the data directions carry no DLLPs: a one-way stream pays only SKP there
    expect(a.up.dllps).toBe(0);
    expect(b.down.dllps).toBe(0);
    // and the stream runs at the one-way limit for 4-DW headers: 4096 × 8 / 570.27 = 57.46 Gb/s
    expect((64 * 4096 * 8) / a.up.busyUntil).toBeCloseTo(effectiveWriteGbps(gen3x8), 6);
  });
});

describe('DLLPs of a bidirectional stream', () => {
  it('1,000 writes each way: each direction slows by its share of the other side\'s DLLPs', () => {
    const { a, b, ab, ba } = pair();
    const out = { leaveNs: 0, landNs: 0 };
    for (let k = 0; k < 1000; k++) {
      reserveWrite(ab, 0x100000 + k * 4096, 4096, 0, 4096, out);
      reserveWrite(ba, 0x100000 + k * 4096, 4096, 0, 4096, out);
    }
    // One write alone: 4480 × 0.1272926 = 570.2732 ns. DLLPs take 16 / (8 × 203 × 374/375) = 0.98785 %
    // of the direction's time, so a write costs 570.2732 / (1 − 0.0098785) = 575.9631 ns.
    const perWrite = a.up.busyUntil / 1000;
    expect(Math.abs(perWrite / 575.9631 - 1)).toBeLessThan(0.0005);
    // ≈ the bidirectional limit: 4096 × 8 / 575.96 = 56.89 Gb/s
    expect(Math.abs((4096 * 8) / perWrite / effectiveWriteGbps(gen3x8, { bidirectional: true }) - 1)).toBeLessThan(0.0005);
    // DLLPs on h1.up ≈ 2 per window of h1.down's busy time: 2 × 575,963 / 206.17 ≈ 5,587
    expect(Math.abs(a.up.dllps / ((2 * 1000 * 575.9631) / W) - 1)).toBeLessThan(0.02);
    expect(Math.abs(b.up.dllps / ((2 * 1000 * 575.9631) / W) - 1)).toBeLessThan(0.02);
  });
});

describe('a non-posted read', () => {
  it('4 KiB from h2 at MRRS 512, RCB 64, 32 tags, 200 ns completer: 1,800.62 ns', () => {
    const { ab, ba } = pair();
    const out = { leaveNs: 0, landNs: 0 };
    const tagFree = new Float64Array(32);
    const t = reserveRead(ab, ba, 0x100000, 4096, 0, { mrrsBytes: 512, rcbBytes: 64, completerNs: 200, tagFree }, out);
    // Request 1: 24 B up (3.0550 ns), cut through: on h2.down from 3.0550 + 450 for 20 B (2.5459):
    //   it arrives at 455.6009. The completer answers 200 ns later: 655.6009.
    // Each request's 512 B come back as 8 CplDs of 64 + 20 = 84 B: 672 B = 85.5406 ns on h2.up.
    // The 8 requests leave 3.05 ns apart, so the completions queue on h2.up back to back:
    //   the last ends at 655.6009 + 8 × 85.5406 = 1339.9258, and reaches h1 450 + 85.5406 / 8 later:
    const req = 24 * NS_PER_BYTE;
    const reqDown = 20 * NS_PER_BYTE;
    const cpl = 672 * NS_PER_BYTE;
    const expected = req + GAP + reqDown + 200 + 8 * cpl + GAP + cpl / 8;
    expect(expected).toBeCloseTo(1800.618, 2);
    expect(t).toBeCloseTo(expected, 6);
  });

  it('with 2 tags the same read goes in rounds of one round trip (4,892.88 ns)', () => {
    const { ab, ba } = pair();
    const out = { leaveNs: 0, landNs: 0 };
    const t = reserveRead(ab, ba, 0x200000, 4096, 0, { mrrsBytes: 512, rcbBytes: 64, completerNs: 200, tagFree: new Float64Array(2) }, out);
    // One request alone: 3.0550 + 450 + 2.5459 + 200 + 85.5406 + 450 + 10.6926 = 1201.834 ns.
    // Tag 0 carries requests 1, 3, 5, 7, each issued when the previous one's completions are in;
    // tag 1 carries 2, 4, 6, 8, each 85.5406 ns behind (its completions queue behind tag 0's on
    // h2.up). The last lands at 3 × 1201.834 + 1201.834 + 85.5406 = 4892.88 ns.
    const round = 24 * NS_PER_BYTE + GAP + 20 * NS_PER_BYTE + 200 + 672 * NS_PER_BYTE + GAP + (672 * NS_PER_BYTE) / 8;
    expect(round).toBeCloseTo(1201.834, 2);
    expect(t).toBeCloseTo(4 * round + 672 * NS_PER_BYTE, 3);
  });
});

describe('a path through a spine', () => {
  it('three hops, two uplinks: latency adds up; two racks share one uplink', () => {
    const h1 = new Link('h1', gen3x8);
    const h2 = new Link('h2', gen3x8);
    const h3 = new Link('h3', gen3x8);
    const h4 = new Link('h4', gen3x8);
    const upA = new Link('torA', gen3x8);
    const upB = new Link('torB', gen3x8);
    // h1, h3 on ToR A; h2, h4 on ToR B. Gaps: h1 100 + hop 150 + NTB 50; uplink 100 + hop 150;
    // uplink 100 + hop 150 + NTB 50 + h2 100.
    const gaps = [300, 250, 400];
    const p12 = new Path([h1, upA, upB, h2], 2, gaps, H2_BASE, 3);
    const p34 = new Path([h3, upA, upB, h4], 2, gaps, 4 * HOST_APERTURE_BYTES, 3);
    expect(p12.fixedNs).toBe(950); // vs 450 through one switch
    expect(p12.hops).toBe(3);
    const out = { leaveNs: 0, landNs: 0 };
    // One 64-byte write: 64 + 24 = 88 B on every link but the last (3-DW there: 84 B).
    const land = reserveWrite(p12, 0x100000, 64, 0, 4096, out);
    expect(land).toBeCloseTo(88 * NS_PER_BYTE + 300 + 88 * NS_PER_BYTE + 250 + 88 * NS_PER_BYTE + 400 + 84 * NS_PER_BYTE, 6);
    // Two streams between the racks share upA.up: 2 × 32 writes of 4 KiB take twice as long there.
    for (let k = 0; k < 32; k++) {
      reserveWrite(p12, 0x200000 + k * 4096, 4096, 0, 4096, out);
      reserveWrite(p34, 0x200000 + k * 4096, 4096, 0, 4096, out);
    }
    expect(upA.up.busyNs).toBeCloseTo((88 + 64 * 4480) * NS_PER_BYTE, 6);
    expect(h1.up.busyNs).toBeCloseTo((88 + 32 * 4480) * NS_PER_BYTE, 6);
    expect(upA.up.busyUntil).toBeGreaterThanOrEqual(64 * 4480 * NS_PER_BYTE);
    // the uplink's DLLPs go spine → ToR A (upA.down)
    expect(upA.down.dllps).toBeGreaterThan(0);
  });
});
