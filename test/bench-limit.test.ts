/**
 * The PCIe limit `eop bench` prints next to every point, against values computed by hand from the
 * specification's numbers (transfer rate, line code, TLP overhead) and the model's documented
 * link-layer factor (4 % for DLLPs and SKP ordered sets).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_LINK, effectiveWriteGbps, type LinkConfig } from '../src/pcie/link.js';
import { parseScenario } from '../src/bench/scenario.js';
import { runPoint } from '../src/bench/point.js';

const link = (o: Partial<LinkConfig>): LinkConfig => ({ ...DEFAULT_LINK, linkLayerOverhead: 0.04, ecrc: false, ...o });

describe('bench: PCIe limit per link', () => {
  it('Gen2 x8, MPS 256, 64-bit headers (Marlin prototype) = 28.13 Gb/s', () => {
    // 5 GT/s × 8/10 × 8 lanes = 32 Gb/s; TLP = 256 + 16 header + 8 framing/seq/LCRC = 280 B;
    // 32 × 256/280 = 29.257; / 1.04 (DLLP + SKP) = 28.132
    expect(effectiveWriteGbps(link({ gen: 2, width: 8, mpsBytes: 256, addr64: true }))).toBeCloseTo(28.132, 1);
    expect(Math.abs(effectiveWriteGbps(link({ gen: 2, width: 8, mpsBytes: 256, addr64: true })) / 28.132 - 1)).toBeLessThan(0.01);
  });

  it('Gen3 x16, MPS 256, 64-bit headers = 110.80 Gb/s', () => {
    // 8 GT/s × 128/130 × 16 = 126.031 Gb/s; × 256/280 = 115.228; / 1.04 = 110.796
    expect(Math.abs(effectiveWriteGbps(link({ gen: 3, width: 16, mpsBytes: 256, addr64: true })) / 110.796 - 1)).toBeLessThan(0.01);
  });

  it('Gen5 x16, MPS 512, 32-bit headers = 466.5 Gb/s', () => {
    // 32 GT/s × 128/130 × 16 = 504.123 Gb/s; TLP = 512 + 12 + 8 = 532 B; × 512/532 = 485.170; / 1.04 = 466.51
    expect(Math.abs(effectiveWriteGbps(link({ gen: 5, width: 16, mpsBytes: 512, addr64: false })) / 466.51 - 1)).toBeLessThan(0.01);
  });

  it('a bench point reports the same limit for its link, and stays under it', () => {
    const s = parseScenario(
      { name: 'limit', messageBytes: [65536], measure: { bytes: 1 << 20 }, variants: [{ name: 'udp', traffic: 'udp', gen: 2, width: 8, mpsBytes: 256 }] },
      '<test>',
    );
    const p = runPoint({ scenario: s.name, variant: s.variants[0]!, messageBytes: 65536, seed: 1, measure: s.measure });
    expect(Math.abs(p.limitGbps / 28.132 - 1)).toBeLessThan(0.01);
    expect(p.gbps).toBeGreaterThan(0);
    expect(p.gbps).toBeLessThan(p.limitGbps);
  });
});
