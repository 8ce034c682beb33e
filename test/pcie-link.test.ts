/**
 * The PCIe link layer against hand calculations from the specification's rules (see the opening
 * comment of src/pcie/link.ts for every number used here).
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_LINK,
  Link,
  LinkDirection,
  ackLimitSymbols,
  ackWindowNs,
  completionCount,
  completionWireBytes,
  dataRateGbps,
  dllpShare,
  dwordPayloadBytes,
  effectiveReadGbps,
  effectiveWriteGbps,
  headerBytesFor,
  nsPerWireByte,
  readRequestCount,
  skpShare,
  symbolTimeNs,
  tlpCount,
  tlpOverheadBytes,
  wireBytes,
  wireTimeNs,
  type LinkConfig,
} from '../src/pcie/link.js';

// Precision: toBeCloseTo(x, 3) means |actual - x| < 0.0005.

const cfg = (o: Partial<LinkConfig>): LinkConfig => ({ ...DEFAULT_LINK, ...o });
const gen3x8 = cfg({ gen: 3, width: 8, mpsBytes: 256 });
const gen2x8 = cfg({ gen: 2, width: 8, mpsBytes: 256 });
const gen1x1 = cfg({ gen: 1, width: 1, mpsBytes: 256 });
const gen5x16 = cfg({ gen: 5, width: 16, mpsBytes: 512, ecrc: true });

describe('physical layer: data rate, symbol time, SKP ordered sets', () => {
  it('per-lane data rates of the table in DOMAIN.md', () => {
    // Gen1 2.5 × 0.8 = 2.0; Gen2 5 × 0.8 = 4.0; Gen3 8 × 128/130 = 7.877; Gen4 15.754; Gen5 31.508
    expect(dataRateGbps({ gen: 1, width: 1 })).toBeCloseTo(2.0, 6);
    expect(dataRateGbps({ gen: 2, width: 1 })).toBeCloseTo(4.0, 6);
    expect(dataRateGbps({ gen: 3, width: 1 })).toBeCloseTo(7.877, 3);
    expect(dataRateGbps({ gen: 4, width: 1 })).toBeCloseTo(15.754, 3);
    expect(dataRateGbps({ gen: 5, width: 1 })).toBeCloseTo(31.508, 3);
    // the slides' Gen3 x16 ≈ 128 Gb/s (126.03 after 128b/130b)
    expect(dataRateGbps({ gen: 3, width: 16 })).toBeCloseTo(126.0308, 3);
  });

  it('symbol times: 10 UI at 8b/10b, 130/16 UI at 128b/130b', () => {
    expect(symbolTimeNs(1)).toBe(4); // 10 bits at 2.5 GT/s
    expect(symbolTimeNs(2)).toBe(2);
    expect(symbolTimeNs(3)).toBeCloseTo(1.015625, 9); // 8.125 / 8
    expect(symbolTimeNs(5)).toBeCloseTo(0.25390625, 9);
  });

  it('SKP: 4 symbols per 1538 (8b/10b), one block per 375 (128b/130b)', () => {
    expect(skpShare(1)).toBeCloseTo(0.0026008, 6);
    expect(skpShare(2)).toBe(4 / 1538);
    expect(skpShare(3)).toBe(1 / 375);
    expect(skpShare(5)).toBe(1 / 375);
    // ns per wire byte at Gen3 x8: 8 / (63.01538 × 374/375) = 0.1272926
    expect(nsPerWireByte(gen3x8)).toBeCloseTo(0.1272926, 6);
    // Gen2 x8: 8 / (32 × 1534/1538) = 0.2506519
    expect(nsPerWireByte(gen2x8)).toBeCloseTo(0.2506519, 6);
  });
});

describe('data-link layer: ACK / UpdateFC interval from the specification', () => {
  it('AckLimit = floor((MPS + 28) × AckFactor / width + InternalDelay) reproduces the published table', () => {
    // Base Spec rev 5.0 Tables 3-7 (2.5 GT/s), 3-8 (5 GT/s), 3-9 (8 GT/s and up), as quoted by
    // pcie-bench/pcie-model model/pcie.py (Ack_Limits), for the model's widths and MPS values.
    const table: Record<number, Record<number, Record<number, number>>> = {
      1: { 1: { 128: 237, 256: 416, 512: 559 }, 2: { 128: 128, 256: 217, 512: 289 }, 4: { 128: 73, 256: 118, 512: 154 }, 8: { 128: 67, 256: 107, 512: 86 }, 16: { 128: 48, 256: 72, 512: 86 } },
      2: { 1: { 128: 288, 256: 467, 512: 610 }, 2: { 128: 179, 256: 268, 512: 340 }, 4: { 128: 124, 256: 169, 512: 205 }, 8: { 128: 118, 256: 158, 512: 137 }, 16: { 128: 99, 256: 123, 512: 137 } },
      3: { 1: { 128: 333, 256: 512, 512: 655 }, 2: { 128: 224, 256: 313, 512: 385 }, 4: { 128: 169, 256: 214, 512: 250 }, 8: { 128: 163, 256: 203, 512: 182 }, 16: { 128: 144, 256: 168, 512: 182 } },
    };
    for (const gen of [1, 2, 3, 4, 5] as const) {
      for (const width of [1, 2, 4, 8, 16] as const) {
        for (const mpsBytes of [128, 256, 512] as const) {
          expect(ackLimitSymbols({ gen, width, mpsBytes }), `Gen${gen} x${width} MPS ${mpsBytes}`).toBe(table[Math.min(gen, 3)]![width]![mpsBytes]);
        }
      }
    }
    // By hand, Gen3 x8 MPS 256: (256 + 28) × 2.5 / 8 + 115 = 88.75 + 115 = 203.75 → 203
    expect(ackLimitSymbols(gen3x8)).toBe(203);
    // 203 symbol times × 1.015625 ns = 206.171875 ns
    expect(ackWindowNs(gen3x8)).toBeCloseTo(206.171875, 9);
  });

  it('share of a direction taken by ACK + UpdateFC for a saturated opposite stream: 16 / (width × AckLimit)', () => {
    expect(dllpShare(gen3x8)).toBeCloseTo(16 / (8 * 203), 12); // 0.985 %
    expect(dllpShare(gen2x8)).toBeCloseTo(16 / (8 * 158), 12); // 1.266 %
    expect(dllpShare(gen1x1)).toBeCloseTo(16 / 416, 12); // 3.846 %
  });
});

describe('write limits (hand-computed)', () => {
  it('Gen3 x8, MPS 256, 4-DW headers: 57.460 Gb/s one way, 56.893 both ways', () => {
    // 63.01538 × (1 − 1/375) × 256 / (256 + 16 + 8) = 63.01538 × 0.997333 × 0.914286 = 57.4604
    expect(effectiveWriteGbps(gen3x8)).toBeCloseTo(57.4604, 3);
    // 63.01538 × (1 − 1/375 − 16/1624) × 0.914286 = 56.8928
    expect(effectiveWriteGbps(gen3x8, { bidirectional: true })).toBeCloseTo(56.8928, 3);
  });

  it("Gen2 x8, MPS 256 (Marlin's prototype): 29.181 Gb/s one way, 28.811 both ways", () => {
    // 32 × 1534/1538 × 256/280 = 29.1811; 32 × (1534/1538 − 16/1264) × 256/280 = 28.8107
    expect(effectiveWriteGbps(gen2x8)).toBeCloseTo(29.1811, 3);
    expect(effectiveWriteGbps(gen2x8, { bidirectional: true })).toBeCloseTo(28.8107, 3);
  });

  it('Gen5 x16, MPS 512, ECRC on, 3-DW headers: 480.27 Gb/s', () => {
    // 504.12308 × 374/375 × 512 / (512 + 12 + 8 + 4) = 502.7787 × 0.955224 = 480.2662
    expect(tlpOverheadBytes(gen5x16, 12)).toBe(24);
    expect(effectiveWriteGbps(gen5x16, { headerBytes: 12 })).toBeCloseTo(480.2662, 3);
  });

  it('CPU stores (64-byte write-combined TLPs) on Gen3 x8: 45.707 Gb/s', () => {
    // 63.01538 × 374/375 × 64 / (64 + 24) = 45.7072
    expect(effectiveWriteGbps(gen3x8, { tlpBytes: 64 })).toBeCloseTo(45.7072, 3);
  });

  it('Gen1 x1, MPS 256: 1.8238 one way, 1.7535 both ways (DLLPs cost most on narrow links)', () => {
    // 2 × 1534/1538 × 256/280 = 1.82382; 2 × (1534/1538 − 16/416) × 256/280 = 1.75349
    expect(effectiveWriteGbps(gen1x1)).toBeCloseTo(1.82382, 4);
    expect(effectiveWriteGbps(gen1x1, { bidirectional: true })).toBeCloseTo(1.75349, 4);
  });
});

describe('TLPs: counts, dword padding, headers by address', () => {
  it('an aligned 4096-byte write at MPS 256 is 16 TLPs; at offset 4 it is 17', () => {
    expect(tlpCount(0, 4096, 256)).toBe(16);
    expect(tlpCount(0x10000, 4096, 256)).toBe(16);
    expect(tlpCount(4, 4096, 256)).toBe(17);
    expect(tlpCount(252, 8, 256)).toBe(2); // 4 bytes each side of a 256 boundary
    expect(tlpCount(0, 1, 256)).toBe(1);
    expect(tlpCount(0, 257, 256)).toBe(2);
    expect(tlpCount(0, 0, 256)).toBe(0);
    expect(tlpCount(4096 - 64, 128, 128)).toBe(2); // never across a 4 KiB boundary
  });

  it('payload is carried in whole dwords', () => {
    expect(dwordPayloadBytes(0, 4)).toBe(4);
    expect(dwordPayloadBytes(0, 5)).toBe(8);
    expect(dwordPayloadBytes(1, 4)).toBe(8); // bytes 1..4: dwords 0 and 1
    expect(dwordPayloadBytes(3, 2)).toBe(8); // bytes 3..4
    expect(dwordPayloadBytes(2, 4096)).toBe(4100);
    expect(dwordPayloadBytes(0, 0)).toBe(0);
  });

  it('3-DW header below 4 GiB, 4-DW from 4 GiB up', () => {
    expect(headerBytesFor(0)).toBe(12);
    expect(headerBytesFor(2 ** 32 - 1)).toBe(12);
    expect(headerBytesFor(2 ** 32)).toBe(16);
    expect(headerBytesFor(0x8000_0000_0000)).toBe(16);
  });

  it('wireBytes: payload + TLPs × (header by address + 8)', () => {
    // aligned 4096 B below 4 GiB: 4096 + 16 × (12 + 8) = 4416
    expect(wireBytes(gen3x8, 0, 4096)).toBe(4416);
    // the same above 4 GiB: 4096 + 16 × 24 = 4480
    expect(wireBytes(gen3x8, 2 ** 32, 4096)).toBe(4480);
    // offset 4: 17 TLPs: 4096 + 17 × 20 = 4436
    expect(wireBytes(gen3x8, 4, 4096)).toBe(4436);
    // offset 2, 100 B: dwords cover 104 B, 1 TLP: 104 + 20 = 124
    expect(wireBytes(gen3x8, 2, 100)).toBe(124);
    // 64-byte TLPs for 1500 B at 6 GiB: 24 TLPs: 1500 + 24 × 24 = 2076
    expect(wireBytes(gen3x8, 6 * 2 ** 30, 1500, 64)).toBe(2076);
  });

  it('wireTimeNs: wire bytes × ns per byte (SKP included)', () => {
    // 4416 × 0.1272926 = 562.1241 ns
    expect(wireTimeNs(gen3x8, 0, 4096)).toBeCloseTo(562.1241, 3);
    // Gen2 x8, 1500 B above 4 GiB: 6 TLPs of ≤ 256: (1500 + 6 × 24) × 0.2506519 = 412.0718 ns
    expect(wireTimeNs(gen2x8, 2 ** 33, 1500)).toBeCloseTo(412.0718, 3);
  });

  it('Link.wireTimeNs equals wireTimeNs(cfg, …)', () => {
    for (const c of [gen3x8, gen2x8, gen5x16, gen1x1]) {
      const link = new Link('l', c);
      for (const [addr, len, mp] of [
        [0, 4096, c.mpsBytes],
        [4, 4096, c.mpsBytes],
        [3, 1, 64],
        [1000, 1514, c.mpsBytes],
        [4094, 9000, 128],
        [2 ** 40 + 12, 1514, c.mpsBytes],
        [0, 0, 256],
      ] as const) {
        expect(link.wireTimeNs(addr, len, mp)).toBeCloseTo(wireTimeNs(c, addr, len, mp), 9);
      }
    }
  });

  it('describe() names the configuration and its rates', () => {
    expect(new Link('h1', gen3x8).describe()).toBe('Gen3 x8 MPS 256: 63.02 Gb/s data, 57.46 Gb/s writes');
    expect(new Link('h1', gen5x16).describe()).toBe('Gen5 x16 MPS 512 ECRC: 504.12 Gb/s data, 476.71 Gb/s writes');
  });
});

describe('reads: requests, RCB completions, tags', () => {
  it('a 4 KiB read at MRRS 512 is 8 requests and 64 completions of 64 B', () => {
    expect(readRequestCount(gen3x8, 0, 4096)).toBe(8);
    expect(readRequestCount(gen3x8, 100, 4096)).toBe(9); // starts 100 B into an MRRS block
    expect(completionCount(gen3x8, 0, 4096)).toBe(64);
    expect(completionCount(gen3x8, 32, 64)).toBe(2); // crosses a 64-byte RCB boundary
    expect(completionCount({ rcbBytes: 128 }, 0, 4096)).toBe(32);
    // completions: 4096 + 64 × (12 + 8) = 5376 bytes on the completer → requester direction
    expect(completionWireBytes(gen3x8, 0, 4096)).toBe(5376);
    // a 4-byte register read: one completion of 4 + 20 = 24 bytes
    expect(completionWireBytes(gen3x8, 0x40, 4)).toBe(24);
  });

  it('read limit: the lower of the completion stream and tags × MRRS per round trip', () => {
    // completions: 63.01538 × 374/375 × 64/84 = 62.84734 × 0.761905 = 47.8837 Gb/s
    expect(effectiveReadGbps(gen3x8, 1e9)).toBeCloseTo(Math.min(47.8837, (32 * 512 * 8) / 1e9), 3);
    expect(effectiveReadGbps(gen3x8, 1000)).toBeCloseTo(47.8837, 3); // 32 × 512 × 8 / 1000 = 131 Gb/s of tags
    // 2 tags, 2 µs round trip: 2 × 512 × 8 / 2000 = 4.096 Gb/s
    expect(effectiveReadGbps(cfg({ tags: 2 }), 2000)).toBeCloseTo(4.096, 6);
  });
});

describe('LinkDirection', () => {
  it('queues reservations behind each other and accumulates busy time', () => {
    const d = new LinkDirection('t');
    expect(d.reserve(0, 100)).toBe(0); // busy 0..100
    expect(d.reserve(50, 100)).toBe(100); // queued: busy 100..200
    expect(d.reserve(500, 10)).toBe(500); // idle gap: starts when asked
    expect(d.busyUntil).toBe(510);
    expect(d.busyNs).toBe(210);
  });

  it('acknowledges one window of TLPs with one ACK and one UpdateFC on the reverse direction', () => {
    const l = new Link('l', gen3x8); // window 206.171875 ns; a DLLP pair is 16 × 0.1272926 = 2.0367 ns
    l.up.acknowledge(0, 10); // opens the window [0, 206.17]
    expect(l.down.dllps).toBe(2);
    l.up.acknowledge(10, 200); // inside the window: nothing more
    expect(l.down.dllps).toBe(2);
    l.up.acknowledge(200, 620); // 620 − 206.17 = 413.8 → 3 more windows
    expect(l.down.dllps).toBe(8);
    l.up.acknowledge(5000, 5000); // a lone TLP after idle gets its own window
    expect(l.down.dllps).toBe(10);
    expect(l.up.dllps).toBe(0);
    expect(l.down.busyNs).toBeCloseTo(5 * 16 * nsPerWireByte(gen3x8), 9);
    // the reverse was idle: the DLLPs took idle time and pushed nothing
    expect(l.down.busyUntil).toBe(0);
  });
});
