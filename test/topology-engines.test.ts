/**
 * HRDMA and CPU copy (write-combining) settings in rack files (issue 9): the fields bench scenarios
 * take, with the same names and checks (one definition, src/topology/engine-fields.ts), rack-wide
 * and per host; they reach each host's model, and bad values name their field.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../src/errors.js';
import { parseScenarioText } from '../src/bench/scenario.js';
import { rackSpecFor } from '../src/bench/variant-rack.js';
import { DEFAULT_CPU, windowCopyGbps } from '../src/host/cpu-copy.js';
import { DEFAULT_HRDMA } from '../src/host/hrdma.js';
import { rackSpecFromTopology } from '../src/topology/build.js';
import { CPU_COPY_FIELDS, HRDMA_FIELDS } from '../src/topology/engine-fields.js';
import { parseTopologyText } from '../src/topology/load.js';
import { Rack } from '../src/topology/rack.js';
import { SCHEMA_KEYS } from '../src/topology/shapes.js';
import { expectEopError } from './helpers/eop-error.js';

const rackError = (text: string): string => expectEopError(() => parseTopologyText(text, 'r.yaml'), ErrorCode.CONFIG_INVALID).message;
const scenarioError = (text: string): string => expectEopError(() => parseScenarioText(text, 's.yaml'), ErrorCode.CONFIG_INVALID).message;

describe('HRDMA and write-combining settings in rack files', () => {
  it('rack files and scenarios take the same HRDMA and CPU copy fields (one definition)', () => {
    for (const k of Object.keys(HRDMA_FIELDS)) expect(SCHEMA_KEYS.dma).toContain(k);
    for (const k of Object.keys(CPU_COPY_FIELDS)) expect(SCHEMA_KEYS.cpu).toContain(k);
    // A scenario variant sets every one of them, and the point's rack has them.
    const dma = { setupNs: 300, immSetupNs: 40, peakGbps: 22, unalignedRateFactor: 0.5, alignmentBytes: 128, ringSlots: 256, chunkBytes: 4096, engineAt: 'switch', memReadNs: 80, prefetchDescs: 8, channels: 2, readMrrsBytes: 512, readTags: 64, completionBytes: 16 };
    const cpu = { copyGbps: 80, copySetupNs: 90, storeNs: 25, wcBuffers: 12, wcDrainNs: 120 };
    expect(Object.keys(dma).sort()).toEqual(Object.keys(HRDMA_FIELDS).sort());
    expect(Object.keys(cpu).sort()).toEqual(Object.keys(CPU_COPY_FIELDS).sort());
    const s = parseScenarioText(`name: x\nmessageBytes: [1024]\nvariants: [{name: a, rack: {dma: ${JSON.stringify(dma)}, cpu: ${JSON.stringify(cpu)}}}]\n`, 's.yaml');
    const spec = rackSpecFor(s.variants[0]!, 1);
    expect(spec.dma).toMatchObject(dma);
    expect(spec.cpu).toMatchObject(cpu);
    // The same settings in a rack file reach the model the same way.
    const t = parseTopologyText(`hosts: [h1, h2]\ndma: ${JSON.stringify(dma)}\ncpu: ${JSON.stringify(cpu)}\n`, 'r.yaml');
    const rack = new Rack(rackSpecFromTopology(t));
    expect(rack.host('h1').dma.cfg).toMatchObject(dma);
    expect(rack.host('h2').cpu.cfg).toMatchObject(cpu);
  });

  it('per host: a host overrides the rack’s settings field by field; the others keep the rack’s, and the model gets them', () => {
    const text = [
      'dma: {peakGbps: 30}',
      'cpu: {wcBuffers: 8}',
      'hosts:',
      '  - h1',
      '  - {name: h2, dma: {peakGbps: 60, setupNs: 200}, cpu: {wcBuffers: 24, wcDrainNs: 80}}',
    ].join('\n');
    const t = parseTopologyText(text, 'r.yaml');
    expect(t.hosts[0]!.dma).toMatchObject({ peakGbps: 30, setupNs: DEFAULT_HRDMA.setupNs });
    expect(t.hosts[1]!.dma).toMatchObject({ peakGbps: 60, setupNs: 200, chunkBytes: DEFAULT_HRDMA.chunkBytes });
    expect(t.hosts[1]!.cpu).toMatchObject({ wcBuffers: 24, wcDrainNs: 80, copyGbps: DEFAULT_CPU.copyGbps });
    const rack = new Rack(rackSpecFromTopology(t));
    const h1 = rack.host('h1');
    const h2 = rack.host('h2');
    expect([h1.dma.cfg.peakGbps, h1.dma.cfg.setupNs, h2.dma.cfg.peakGbps, h2.dma.cfg.setupNs]).toEqual([30, DEFAULT_HRDMA.setupNs, 60, 200]);
    // The write-combining bound follows each host's own buffers: 8 × 64 B / 100 ns and 24 × 64 B / 80 ns (then the copy rate).
    expect(windowCopyGbps(h1.cpu.cfg)).toBeCloseTo(40.96, 6);
    expect(windowCopyGbps(h2.cpu.cfg)).toBe(DEFAULT_CPU.copyGbps);
    expect(h2.cpu.cfg.wcBuffers).toBe(24);
  });

  it('bad values and keys name their field, with the allowed range, as in scenarios', () => {
    expect(rackError('hosts:\n  - {name: h1, dma: {peakGbps: 0}}')).toContain('r.yaml:2:32: hosts[0].dma.peakGbps: must be a number > 0 (got 0)');
    expect(rackError('hosts: [h1]\ncpu: {wcBuffers: 65}')).toContain('cpu.wcBuffers: must be an integer from 1 to 64 (got 65)');
    expect(rackError('hosts: [h1]\ndma: {engineAt: nic}')).toContain('dma.engineAt: must be one of "host", "switch" (got "nic")');
    expect(rackError('hosts:\n  - {name: h1, cpu: {wcBufers: 4}}')).toContain('hosts[0].cpu.wcBufers: unknown key; did you mean "wcBuffers"?');
    expect(rackError('hosts:\n  - {name: h1, cpu: {cores: 4}}')).toContain('hosts[0].cpu.cores: unknown key: a host\'s cores are "cores" on the host entry itself');
    expect(rackError('hosts:\n  - {name: h1, dma: {copyThresholdBytes: 64}}')).toContain('hosts[0].dma.copyThresholdBytes: unknown key: copyThresholdBytes is rack-wide only');
    expect(rackError('hosts:\n  - {name: m, role: management, dma: {peakGbps: 9}}\n  - h1')).toContain('hosts[0].dma: not allowed on the management host');
    // The same check, the same words, in a scenario.
    expect(scenarioError('name: x\nmessageBytes: [64]\nvariants: [{name: a, rack: {cpu: {wcBuffers: 65}}}]\n')).toContain('variants[0].rack.cpu.wcBuffers: must be an integer from 1 to 64 (got 65)');
    expect(scenarioError('name: x\nmessageBytes: [64]\nvariants: [{name: a, rack: {dma: {alignmentBytes: 48}}}]\n')).toContain('variants[0].rack.dma.alignmentBytes: must be a power of 2 from 1 to 4096 (got 48)');
  });
});
