import { describe, expect, it } from 'vitest';
import {
  DEFAULT_LINK,
  Link,
  LinkDirection,
  dataRateGbps,
  dwordPayloadBytes,
  effectiveWriteGbps,
  tlpCount,
  tlpOverheadBytes,
  wireBytes,
  wireTimeNs,
  type LinkConfig,
} from '../src/pcie/link.js';

// Precision: toBeCloseTo(x, 2) means |actual - x| < 0.005, far below 1 % of every value checked here.

const gen3x8: LinkConfig = { gen: 3, width: 8, mpsBytes: 256, addr64: true, ecrc: false, linkLayerOverhead: 0.04, latencyNs: 100 };
const gen2x8: LinkConfig = { gen: 2, width: 8, mpsBytes: 128, addr64: false, ecrc: false, linkLayerOverhead: 0.04, latencyNs: 100 };
const gen5x16: LinkConfig = { gen: 5, width: 16, mpsBytes: 512, addr64: true, ecrc: true, linkLayerOverhead: 0.04, latencyNs: 100 };

describe('PCIe link bandwidth (hand-computed)', () => {
  it('default link is Gen3 x8 MPS 256, 64-bit, no ECRC, 4 % link layer', () => {
    expect(DEFAULT_LINK).toMatchObject(gen3x8);
  });

  it('Gen3 x8, MPS 256, 64-bit, no ECRC, factor 0.04', () => {
    // data rate: 8 GT/s × 128/130 × 8 lanes = 8192/130 = 63.01538 Gb/s
    expect(dataRateGbps(gen3x8)).toBeCloseTo(63.01538, 4);
    // per TLP: 16 B header + 8 B framing = 24 B
    expect(tlpOverheadBytes(gen3x8)).toBe(24);
    // × 256/(256+24) = 57.61407; / 1.04 = 55.39814 Gb/s
    expect(effectiveWriteGbps(gen3x8)).toBeCloseTo(55.39814, 2);
  });

  it("Gen2 x8, MPS 128, 32-bit, no ECRC (Marlin's prototype)", () => {
    // 5 GT/s × 8/10 × 8 lanes = 32 Gb/s
    expect(dataRateGbps(gen2x8)).toBe(32);
    // per TLP: 12 B header + 8 B framing = 20 B
    expect(tlpOverheadBytes(gen2x8)).toBe(20);
    // 32 × 128/(128+12+8) = 32 × 128/148 = 27.67568; / 1.04 = 26.61123 Gb/s
    expect(effectiveWriteGbps(gen2x8)).toBeCloseTo(26.61123, 2);
  });

  it('Gen5 x16, MPS 512, 64-bit, ECRC on', () => {
    // 32 GT/s × 128/130 × 16 lanes = 65536/130 = 504.12308 Gb/s
    expect(dataRateGbps(gen5x16)).toBeCloseTo(504.12308, 3);
    // per TLP: 16 B header + 8 B framing + 4 B ECRC = 28 B
    expect(tlpOverheadBytes(gen5x16)).toBe(28);
    // × 512/540 = 477.98336; / 1.04 = 459.59939 Gb/s
    expect(effectiveWriteGbps(gen5x16)).toBeCloseTo(459.59939, 2);
  });

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

  it('a smaller maxPayload lowers the effective rate', () => {
    // Gen3 x8 with 64-byte TLPs: 63.01538 × 64/88 = 45.82937; / 1.04 = 44.06670
    expect(effectiveWriteGbps(gen3x8, 64)).toBeCloseTo(44.0667, 2);
  });
});

describe('TLP counts, dword padding and wire bytes', () => {
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
    expect(dwordPayloadBytes(4, 1)).toBe(4);
    expect(dwordPayloadBytes(2, 4096)).toBe(4100);
    expect(dwordPayloadBytes(0, 0)).toBe(0);
  });

  it('wireBytes: payload + per-TLP overhead, times (1 + factor)', () => {
    // aligned 4096 B: (4096 + 16 × 24) × 1.04 = 4480 × 1.04 = 4659.2
    expect(wireBytes(gen3x8, 0, 4096)).toBeCloseTo(4659.2, 6);
    // offset 4: payload 4096 (dword aligned), 17 TLPs: (4096 + 17 × 24) × 1.04 = 4504 × 1.04 = 4684.16
    expect(wireBytes(gen3x8, 4, 4096)).toBeCloseTo(4684.16, 6);
    // offset 2, 100 B: dwords cover bytes 0..104 → 104 B payload, 1 TLP: (104 + 24) × 1.04 = 133.12
    expect(wireBytes(gen3x8, 2, 100)).toBeCloseTo(133.12, 6);
    // Gen2 32-bit, 1500 B at 0: 12 TLPs of ≤128 (1500/128 = 11.7): (1500 + 12 × 20) × 1.04 = 1740 × 1.04 = 1809.6
    expect(wireBytes(gen2x8, 0, 1500)).toBeCloseTo(1809.6, 6);
    // an explicit maxPayload: 64 B TLPs for 1500 B: 24 TLPs: (1500 + 24 × 24) × 1.04 = 2076 × 1.04 = 2159.04
    expect(wireBytes(gen3x8, 0, 1500, 64)).toBeCloseTo(2159.04, 6);
  });

  it('wireTimeNs: wire bits over the data rate', () => {
    // 4659.2 B × 8 = 37273.6 bits / (8192/130) Gb/s = 37273.6 × 130 / 8192 = 591.5 ns
    expect(wireTimeNs(gen3x8, 0, 4096)).toBeCloseTo(591.5, 6);
    // Gen2: 1809.6 × 8 / 32 = 452.4 ns
    expect(wireTimeNs(gen2x8, 0, 1500)).toBeCloseTo(452.4, 6);
  });

  it('Link.wireTimeNs equals wireTimeNs(cfg, …)', () => {
    for (const cfg of [gen3x8, gen2x8, gen5x16]) {
      const link = new Link('l', cfg);
      for (const [addr, len, mp] of [
        [0, 4096, cfg.mpsBytes],
        [4, 4096, cfg.mpsBytes],
        [3, 1, 64],
        [1000, 1514, cfg.mpsBytes],
        [4094, 9000, 128],
        [0, 0, 256],
      ] as const) {
        expect(link.wireTimeNs(addr, len, mp)).toBeCloseTo(wireTimeNs(cfg, addr, len, mp), 9);
      }
    }
    // and one absolute value through the class: 591.5 ns for aligned 4 KiB on Gen3 x8
    expect(new Link('x', gen3x8).wireTimeNs(0, 4096, 256)).toBeCloseTo(591.5, 6);
  });

  it('describe() names the configuration and its rates', () => {
    expect(new Link('h1', gen3x8).describe()).toBe('Gen3 x8 MPS 256 64-bit: 63.02 Gb/s data, 55.40 Gb/s writes');
    expect(new Link('h1', gen5x16).describe()).toBe('Gen5 x16 MPS 512 64-bit ECRC: 504.12 Gb/s data, 459.60 Gb/s writes');
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
});
