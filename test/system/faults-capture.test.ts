/**
 * SYSTEM test: the faults of a `faults:` schedule are marked in the pcapng captures as comments on
 * the next frame, and the files still open cleanly in the real tshark, every fault and recovery in
 * order. Skips (with a reason) without tshark, except with CI=true, where it fails.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runTopology } from '../../src/run/run-rack.js';
import { parseTopologyText } from '../../src/topology/load.js';
import { requireTool } from './require-tool.js';

const dir = mkdtempSync(join(tmpdir(), 'eop-faults-cap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!requireTool('tshark'))('faults marked in captures (tshark)', () => {
  it('every fault and recovery is a frame comment, in order, and tshark reads the files', () => {
    const text = [
      'name: marks',
      'durationMs: 3000',
      'hosts: [h1, h2, h3]',
      `captures: {enabled: true, format: pcapng, dir: "${dir}"}`,
      'traffic:',
      '  - {kind: ping, from: h1, to: h2, count: 10, intervalUs: 100}',
      'faults:',
      '  - {atUs: 150, kind: irq-lost, host: h2, count: 1, pollUs: 30}',
      '  - {atUs: 250, kind: link-down, host: h2}',
      '  - {atUs: 550, kind: link-up, host: h2}',
    ].join('\n');
    const r = runTopology(parseTopologyText(text, 'marks.yaml'));
    r.captures!.closeAll();
    const events = r.faults.log.events.map((e) => `eop ${e.phase} ${e.kind} ${e.host} (${e.origin})`);
    expect(events).toHaveLength(5); // irq-lost + its poll, link-down, link-up + recovery
    for (const h of ['h1', 'h2']) {
      const file = join(dir, `eop-${h}.pcapng`);
      const all = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
      expect(all.status, all.stderr).toBe(0);
      expect(all.stderr).not.toMatch(/malformed|cut short|appears to be damaged/i);
      const frames = all.stdout.trim().split('\n').length;
      expect(frames).toBe(r.rack.nic(h).c.txFrames + r.rack.nic(h).c.rxFrames);
      const c = spawnSync('tshark', ['-r', file, '-Y', 'frame.comment', '-T', 'fields', '-e', 'frame.comment'], { encoding: 'utf8' });
      expect(c.status, c.stderr).toBe(0);
      const marks = c.stdout.match(/eop (fault|recovery) [a-z-]+ h\d \(faults\[\d\]\)/g) ?? [];
      expect(marks, h).toEqual(events);
    }
  });
});
