/**
 * Marlin's inter-host figure (seed 002, slide 43) ranks its four variants, for large messages:
 * TCP unaligned < TCP aligned + copy < TCP aligned ≤ UDP aligned. The shipped scenario, run at
 * 64 KiB, must come out in that order from the model alone (nothing in the generators orders them).
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runPoint } from '../src/bench/point.js';
import { loadScenario } from '../src/bench/scenario.js';

const file = fileURLToPath(new URL('../scenarios/marlin-inter-host.yaml', import.meta.url));

describe('bench: Marlin figure order', () => {
  it('unaligned < aligned+copy < aligned ≤ UDP aligned at 64 KiB, all below the PCIe limit', () => {
    const s = loadScenario(file);
    const g = new Map<string, number>();
    let limit = 0;
    for (const v of s.variants) {
      const p = runPoint({ scenario: s.name, variant: v, messageBytes: 65536, seed: s.seed, measure: s.measure });
      expect(p.finished).toBe(true);
      expect(p.link).toBe('Gen2 x8 MPS 256');
      g.set(v.name, p.gbps);
      limit = p.limitGbps;
    }
    const [u, c, a, udp] = ['TCP unaligned', 'TCP aligned+copy', 'TCP aligned', 'UDP aligned'].map((n) => g.get(n)!);
    expect(u).toBeLessThan(c!);
    expect(c).toBeLessThan(a!);
    expect(a).toBeLessThanOrEqual(udp!);
    expect(udp).toBeLessThan(limit);
  });
});
