/**
 * The PCIe limit `eop bench` prints next to every point, against values computed by hand from the
 * specification's numbers (transfer rate, line code, SKP ordered sets, TLP header and framing;
 * src/pcie/link.ts), for the TLP size of the point's copy path.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_LINK, effectiveWriteGbps, type LinkConfig } from '../src/pcie/link.js';
import { limitOf } from '../src/bench/measure.js';
import { parseScenario } from '../src/bench/scenario.js';
import { runPoint } from '../src/bench/point.js';

const link = (o: Partial<LinkConfig>): LinkConfig => ({ ...DEFAULT_LINK, ecrc: false, ...o });
const gen2x8 = link({ gen: 2, width: 8, mpsBytes: 256 });

describe('bench: PCIe limit per link', () => {
  it('Gen2 x8, MPS 256 (Marlin prototype): 29.181 Gb/s for HRDMA, 23.212 for CPU stores', () => {
    // 5 GT/s × 8/10 × 8 lanes = 32 Gb/s; SKP 4 symbols per 1538: × 1534/1538 = 31.9168;
    // TLP = 256 + 16 header + 8 framing/seq/LCRC: × 256/280 = 29.1811
    expect(limitOf(gen2x8, [[0, 1]]).gbps).toBeCloseTo(29.1811, 3);
    // CPU stores leave as 64-byte TLPs: 31.9168 × 64/88 = 23.2122
    const cpu = limitOf(gen2x8, [[0, 1]], { cpuOnly: true });
    expect(cpu.gbps).toBeCloseTo(23.2122, 3);
    expect(cpu.tlpBytes).toBe(64);
  });

  it('Gen3 x16, MPS 256: 114.921 Gb/s', () => {
    // 8 GT/s × 128/130 × 16 = 126.0308; × 374/375 = 125.6947; × 256/280 = 114.9209
    expect(limitOf(link({ gen: 3, width: 16, mpsBytes: 256 }), [[0, 1]]).gbps).toBeCloseTo(114.9209, 3);
  });

  it('pairs add up their up-links; incast is bounded by the one receiver down-link (3-DW headers there)', () => {
    // 4 pairs: 4 × 29.1811 = 116.7245
    expect(limitOf(gen2x8, [[0, 1], [2, 3], [4, 5], [6, 7]]).gbps).toBeCloseTo(4 * 29.1811, 3);
    // 3 senders into host 3: its down-link with 12-byte headers: 31.9168 × 256/276 = 29.6039
    const incast = limitOf(gen2x8, [[0, 3], [1, 3], [2, 3]]);
    expect(incast.gbps).toBeCloseTo(29.6039, 3);
    expect(incast.links).toBe(1);
    expect(effectiveWriteGbps(gen2x8, { headerBytes: 12 })).toBeCloseTo(29.6039, 3);
  });

  it('a bench point reports the limit of its copy path, and stays under it', () => {
    const s = parseScenario(
      {
        name: 'limit',
        messageBytes: [65536, 512],
        measure: { bytes: 1 << 20 },
        variants: [{ name: 'udp', traffic: 'udp', gen: 2, width: 8, mpsBytes: 256 }],
      },
      '<test>',
    );
    const big = runPoint({ scenario: s.name, variant: s.variants[0]!, messageBytes: 65536, seed: 1, measure: s.measure });
    expect(big.limitGbps).toBeCloseTo(29.181, 3);
    expect(big.limitTlpBytes).toBe(256);
    expect(big.gbps).toBeGreaterThan(0);
    expect(big.gbps).toBeLessThan(big.limitGbps);
    // 512-byte messages are 554-byte frames, below the 1,024-byte copy threshold: CPU copies
    const small = runPoint({ scenario: s.name, variant: s.variants[0]!, messageBytes: 512, seed: 1, measure: s.measure });
    expect(small.limitTlpBytes).toBe(64);
    expect(small.limitGbps).toBeCloseTo(23.212, 3);
    expect(small.gbps).toBeLessThan(small.limitGbps);
  });

  it('messages above 64 KiB: a 1 MiB message is 17 frames and is measured like any other', () => {
    const s = parseScenario(
      { name: 'big', messageBytes: [1 << 20], measure: { bytes: 16 << 20, minMessages: 8 }, variants: [{ name: 'tcp', traffic: 'tcp' }] },
      '<test>',
    );
    const p = runPoint({ scenario: s.name, variant: s.variants[0]!, messageBytes: 1 << 20, seed: 1, measure: s.measure });
    expect(p.finished).toBe(true);
    expect(p.messages).toBe(16);
    expect(p.frameBytes).toBe(65510 + 14); // a full MSS segment: 65,470 + 54
    expect(p.gbps).toBeGreaterThan(0);
    expect(p.gbps).toBeLessThan(p.limitGbps);
  });
});
