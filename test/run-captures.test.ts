/**
 * `eop run`'s report counts what its captures lost: frames deleted by rotation are reported, and
 * captured − discarded is exactly what the surviving files hold.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildReport, formatReport } from '../src/run/report.js';
import { runTopology } from '../src/run/run-rack.js';
import { DEFAULT_RACK } from '../src/topology/default-rack.js';
import { readEpbs } from './helpers/pcapng-reader.js';

const dir = mkdtempSync(join(tmpdir(), 'eop-runcap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('eop run report: capture counts', () => {
  it('frames discarded by rotation are reported; the surviving files hold captured − discarded', () => {
    const topo = { ...DEFAULT_RACK, captures: { ...DEFAULT_RACK.captures, maxFileMiB: 1 / 16, maxFiles: 2 } };
    const r = runTopology(topo, { captureDir: dir });
    r.captures?.closeAll();
    const rep = buildReport(r);
    let surviving = 0;
    for (const f of readdirSync(dir)) surviving += readEpbs(join(dir, f)).length;
    expect(rep.captureFrames.discardedByRotation).toBeGreaterThan(0);
    expect(rep.captureFrames.notCaptured).toBe(0);
    expect(surviving).toBe(rep.captureFrames.captured - rep.captureFrames.discardedByRotation);
    expect(formatReport(rep)).toMatch(new RegExp(`^Captures: .* \\(${rep.captureFrames.captured} frames; ${rep.captureFrames.discardedByRotation} discarded by rotation\\)$`, 'm'));
    // Rotation is the configured cap, not a problem.
    expect(rep.problems.filter((p) => p.startsWith('capture'))).toEqual([]);
  });
});
