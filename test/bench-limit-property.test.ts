/**
 * No bench point ever reports goodput above its PCIe limit: a property test over random points
 * (link generation, width, MPS, traffic kind, alignment, copy path, interrupt mode, message size
 * up to above 64 KiB, flows, hosts, pattern, DMA engine beside the CPU or in the switch, channels,
 * CPU generation), fixed seed and a bounded number of small runs, plus
 * the two cases the old window got wrong (a Gen1 x1 UDP point at 101.4 % of its limit, and two
 * streams into one Gen2 x8 link at 28.62 Gb/s against 28.13).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runPoint, type PointResult } from '../src/bench/point.js';
import { parseScenario } from '../src/bench/scenario.js';

function point(variant: Record<string, unknown>, messageBytes: number, measure: Record<string, unknown>, rack: Record<string, unknown> = {}): PointResult {
  const s = parseScenario({ name: 'prop', messageBytes: [messageBytes], measure, rack, variants: [{ name: 'v', ...variant }] }, '<test>');
  return runPoint({ scenario: s.name, variant: s.variants[0]!, messageBytes, seed: s.seed, measure: s.measure });
}

// gbps and limitGbps are both rounded to 3 decimals.
const atMostLimit = (p: PointResult): boolean => p.gbps <= p.limitGbps + 0.0005;

describe('bench: goodput never exceeds the PCIe limit', () => {
  it('for random points (fast-check, seed 42, 24 runs)', () => {
    const arb = fc.record({
      gen: fc.constantFrom(1, 2, 3, 4, 5),
      width: fc.constantFrom(1, 4, 8, 16),
      mpsBytes: fc.constantFrom(128, 256, 512),
      traffic: fc.constantFrom('udp', 'tcp', 'pingpong'),
      alignment: fc.constantFrom('aligned', 'unaligned', 'copy'),
      copyPath: fc.constantFrom('hrdma', 'cpu'),
      irqMode: fc.constantFrom('msi', 'doorbell'),
      shape: fc.constantFrom(
        { flows: 1, hosts: 2, pattern: 'pairs' },
        { flows: 2, hosts: 2, pattern: 'pairs' },
        { flows: 2, hosts: 4, pattern: 'pairs' },
        { flows: 3, hosts: 4, pattern: 'incast' },
      ),
      messageBytes: fc.constantFrom(64, 700, 1500, 4096, 65536, 200_000),
      mtu: fc.constantFrom(1500, 9000, 65510),
      // The copy engines: beside the CPU or in the switch (reads across the link, few or many
      // tags), one channel or several; Marlin-era or Golden Cove cores for the CPU path.
      dma: fc.constantFrom({}, { engineAt: 'switch' }, { engineAt: 'switch', readTags: 2, readMrrsBytes: 256 }, { channels: 4, peakGbps: 10 }),
      cpu: fc.constantFrom({}, { generation: 'golden-cove' }),
    });
    fc.assert(
      fc.property(arb, (a) => {
        const { shape, messageBytes, mtu, dma, cpu, ...fields } = a;
        // Ping-pong hands a message over in one go: keep it within the interface's queue.
        const msg = fields.traffic === 'pingpong' ? Math.min(messageBytes, 65536) : messageBytes;
        const p = point({ ...fields, ...shape }, msg, { bytes: 1 << 20, minMessages: 8, maxMessages: 400, pingRounds: 8 }, { mtu, dma, cpu });
        if (!atMostLimit(p)) throw new Error(`${JSON.stringify(a)}: ${p.gbps} Gb/s > limit ${p.limitGbps}`);
        return p.limitGbps > 0;
      }),
      { seed: 42, numRuns: 24, endOnFailure: true },
    );
  });

  it('a Gen1 x1 UDP stream (was 101.4 % of its limit)', () => {
    for (const m of [1024, 65536]) {
      const p = point({ traffic: 'udp', gen: 1, width: 1, mpsBytes: 256 }, m, { bytes: 4 << 20 }, { mtu: 65510 });
      expect(p.gbps).toBeGreaterThan(0);
      expect(atMostLimit(p)).toBe(true);
    }
  });

  it('two streams into one Gen2 x8 link (was 28.62 Gb/s against 28.13)', () => {
    const p = point({ traffic: 'tcp', gen: 2, width: 8, mpsBytes: 256, flows: 2, hosts: 3, pattern: 'incast' }, 65536, { bytes: 32 << 20 }, { mtu: 65510 });
    expect(p.gbps).toBeGreaterThan(0.8 * p.limitGbps);
    expect(atMostLimit(p)).toBe(true);
  });
});
