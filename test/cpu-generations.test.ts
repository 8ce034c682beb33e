/**
 * CPU copies through the write-combining window per CPU generation (src/host/cpu-copy.ts
 * CPU_GENERATIONS): one core's store throughput is fill buffers × 64 B per drain time, so a newer
 * core with more fill buffers copies faster into a wide link, and the scenario field
 * `cpu.generation` selects it.
 */
import { describe, expect, it } from 'vitest';
import { EopError, ErrorCode } from '../src/errors.js';
import { parseScenarioText } from '../src/bench/scenario.js';
import { rackSpecFor } from '../src/bench/variant-rack.js';
import { CPU_GENERATIONS, cpuConfig, DEFAULT_CPU, wcStoreGbps, WC_TLP_BYTES, type CpuConfig } from '../src/host/cpu-copy.js';
import { remoteAddr } from '../src/mem/address-map.js';
import { DEFAULT_LINK, effectiveWriteGbps, type LinkConfig } from '../src/pcie/link.js';
import { bootedRack } from './helpers/rack.js';

const SRC = 0x4000_0000;
const DST = 0x8000_0000;

/** Gb/s of h1's core copying `total` bytes into h2 through the window in 64 KiB copies (less the completion's interrupt). */
function cpuStream(cpu: CpuConfig, link: Partial<LinkConfig>, total = 4 << 20): number {
  const rack = bootedRack(2, { cpu, link: { ...DEFAULT_LINK, ...link } });
  const [h1, h2] = [rack.host('h1'), rack.host('h2')];
  h2.iommu.grant(h1.rid, DST, total, 'test');
  const t0 = rack.sched.now;
  let end = -1;
  for (let k = 0; k < total; k += 65536) h1.cpu.copy(SRC + k, remoteAddr(2, DST + k), 65536);
  h1.cpu.commit(() => (end = rack.sched.now));
  rack.sched.run();
  return (total * 8) / (end - t0);
}

describe('CPU generations: WC store throughput from fill buffers and drain time', () => {
  it('by hand: 10 / 12 / 16 fill buffers × 64 B per 100 ns = 51.2 / 61.44 / 81.92 Gb/s', () => {
    expect(wcStoreGbps(cpuConfig('sandy-bridge'))).toBeCloseTo((10 * 64 * 8) / 100, 9);
    expect(wcStoreGbps(cpuConfig('sunny-cove'))).toBeCloseTo((12 * 64 * 8) / 100, 9);
    expect(wcStoreGbps(cpuConfig('golden-cove'))).toBeCloseTo((16 * 64 * 8) / 100, 9);
    // The default is Marlin's era; an explicit value wins over the generation's.
    expect(cpuConfig(undefined)).toEqual(DEFAULT_CPU);
    expect(cpuConfig('golden-cove', { wcBuffers: 4 }).wcBuffers).toBe(4);
    expect(Object.keys(CPU_GENERATIONS)).toEqual(['sandy-bridge', 'sunny-cove', 'golden-cove']);
  });

  it('on Gen4 x16 each core runs at its WC bound (within the copy setup per 64 KiB)', () => {
    for (const g of ['sandy-bridge', 'golden-cove'] as const) {
      const cpu = cpuConfig(g);
      const bound = wcStoreGbps(cpu);
      const perCopy = 65536 * 8 / bound;
      const expected = bound * perCopy / (perCopy + cpu.copySetupNs);
      const got = cpuStream(cpu, { gen: 4, width: 16 });
      expect(got / expected, g).toBeGreaterThan(0.99);
      expect(got / expected, g).toBeLessThanOrEqual(1.0001);
    }
  });

  it('on Gen3 x8 the link at 64-byte TLPs (45.71 Gb/s) is below every generation\'s WC bound', () => {
    const limit = effectiveWriteGbps(DEFAULT_LINK, { tlpBytes: WC_TLP_BYTES });
    expect(limit).toBeCloseTo(45.707, 2);
    const got = cpuStream(cpuConfig('golden-cove'), {});
    expect(got / limit).toBeGreaterThan(0.99);
    expect(got / limit).toBeLessThanOrEqual(1);
  });

  it('a scenario selects a generation with cpu.generation; an unknown one is refused naming the field', () => {
    const s = parseScenarioText('name: g\nmessageBytes: [4096]\nrack:\n  cpu:\n    generation: golden-cove\nvariants:\n  - name: a\n', 'g.yaml');
    expect(rackSpecFor(s.variants[0]!, 1).cpu.wcBuffers).toBe(16);
    try {
      parseScenarioText('name: g\nmessageBytes: [4096]\nrack:\n  cpu:\n    generation: pentium\nvariants:\n  - name: a\n', 'g.yaml');
      expect.unreachable('accepted an unknown generation');
    } catch (e) {
      expect(e).toBeInstanceOf(EopError);
      expect((e as EopError).code).toBe(ErrorCode.CONFIG_INVALID);
      expect((e as EopError).message).toMatch(/cpu\.generation/);
    }
  });
});
