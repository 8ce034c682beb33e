/** The bench's outputs: JSON lines with the documented fields, CSV, the SVG plot and the table. */
import { describe, expect, it } from 'vitest';
import { plotSvg } from '../src/bench/plot.js';
import { formatMatrix, formatTable, toCsv, toJsonLines, toSvg } from '../src/bench/report.js';
import { runScenario } from '../src/bench/run.js';
import { parseScenario } from '../src/bench/scenario.js';

const run = runScenario(
  parseScenario(
    {
      name: 'outputs',
      messageBytes: [1024, 16384],
      measure: { bytes: 1 << 20, pingRounds: 20 },
      variants: [
        { name: 'UDP', traffic: 'udp' },
        { name: 'ping', traffic: 'pingpong', irqMode: 'doorbell' },
      ],
    },
    '<test>',
  ),
);

describe('bench: outputs', () => {
  it('JSON: one object per point with the documented fields', () => {
    const lines = toJsonLines(run).trim().split('\n');
    expect(lines).toHaveLength(4);
    for (const l of lines) {
      const p = JSON.parse(l) as Record<string, unknown>;
      for (const k of ['scenario', 'variant', 'messageBytes', 'gbps', 'limitGbps', 'latencyUs', 'framesPerSec', 'rttUs']) expect(p).toHaveProperty(k);
      expect(p.scenario).toBe('outputs');
      expect(p.latencyUs).toEqual({ p50: expect.any(Number), p99: expect.any(Number) });
    }
    expect(JSON.parse(lines[0]!).rttUs).toBeNull(); // UDP has no round trip
    expect(JSON.parse(lines[2]!).rttUs.p50).toBeGreaterThan(JSON.parse(lines[2]!).latencyUs.p50);
  });

  it('CSV: a header and one row per point', () => {
    const rows = toCsv(run).trim().split('\n');
    expect(rows[0]).toMatch(/^scenario,variant,traffic,alignment,link,/);
    expect(rows).toHaveLength(5);
    expect(rows[1]!.split(',')).toHaveLength(rows[0]!.split(',').length);
  });

  it('SVG: bandwidth of stream variants with the labelled PCIe limit, latency (p50, p99) of ping-pong variants', () => {
    const svg = toSvg(run);
    expect(svg.startsWith('<svg')).toBe(true);
    // UDP in the bandwidth panel; ping's p50 and p99 in the latency panel.
    expect(svg.match(/<polyline/g)).toHaveLength(3);
    expect(svg).toContain('bandwidth vs message size');
    expect(svg).toContain('one-way latency vs message size (ping-pong)');
    expect(svg).toContain('ping, one-way p99');
    const limit = run.points.find((p) => p.variant === 'UDP')!.limitGbps;
    expect(svg).toContain(`>${limit.toFixed(1)} Gb/s: PCIe write limit, Gen3 x8 MPS 256</text>`); // on the line
    expect(svg).toContain('Message Size (Byte)');
  });

  it('SVG: coinciding series stay distinguishable and are named as equal; a >10× span gets a log axis', () => {
    const base = run.points.filter((p) => p.variant === 'UDP');
    const twin = base.map((p) => ({ ...p, variant: 'UDP again' }));
    const slow = base.map((p) => ({ ...p, variant: 'slow', gbps: p.gbps / 100 }));
    const svg = plotSvg([...base, ...twin], 'twins', 1);
    const lines = [...svg.matchAll(/<polyline[^>]*stroke="([^"]+)" stroke-width="([^"]+)"( stroke-dasharray="([^"]+)")?/g)];
    expect(lines).toHaveLength(2);
    expect(lines[0]![1]).not.toBe(lines[1]![1]); // colour
    expect(lines[0]![4]).not.toBe(lines[1]![4]); // dash pattern
    expect(Number(lines[0]![2])).toBeGreaterThan(Number(lines[1]![2])); // the one beneath is wider
    expect(svg).toContain('UDP again (= UDP)');
    expect(svg).not.toContain('log scale');
    expect(plotSvg([...base, ...slow], 'span', 1)).toContain('Bandwidth (Gbps) (log scale)');
  });

  it('SVG: each limit line says how many links it adds up', () => {
    const two = run.points.filter((p) => p.variant === 'UDP').map((p) => ({ ...p, variant: '2 pairs', limitGbps: 2 * p.limitGbps, limitLinks: 2 }));
    const svg = plotSvg([...run.points.filter((p) => p.variant === 'UDP'), ...two], 'limits', 1);
    const one = run.points.find((p) => p.variant === 'UDP')!.limitGbps;
    expect(svg).toContain(`${(2 * one).toFixed(1)} Gb/s: PCIe write limit, 2 × Gen3 x8 MPS 256`);
    expect(svg).toContain(`${one.toFixed(1)} Gb/s: PCIe write limit, Gen3 x8 MPS 256`);
    const dashes = [...svg.matchAll(/<line [^>]*stroke-width="1.4" stroke-dasharray="([^"]+)"\/>/g)].map((m) => m[1]);
    expect(new Set(dashes).size).toBe(2);
  });

  it('table and matrix', () => {
    expect(formatTable(run)).toContain('one-way p50 µs');
    expect(formatMatrix(run).split('\n')[0]).toMatch(/msg\s+UDP\s+ping\s+PCIe limit/);
  });
});
