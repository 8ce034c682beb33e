/** The bench's outputs: JSON lines with the documented fields, CSV, the SVG plot and the table. */
import { describe, expect, it } from 'vitest';
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

  it('SVG: one line per variant and the dashed PCIe limit', () => {
    const svg = toSvg(run);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain('stroke-dasharray');
    expect(svg).toContain('PCIe limit 55.4');
    expect(svg).toContain('Message Size (Byte)');
  });

  it('table and matrix', () => {
    expect(formatTable(run)).toContain('one-way p50 µs');
    expect(formatMatrix(run).split('\n')[0]).toMatch(/msg\s+UDP\s+ping\s+PCIe limit/);
  });
});
