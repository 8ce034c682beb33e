/** captures/README.md names the files a run of the default rack actually writes. */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTopology } from '../src/run/run-rack.js';
import { DEFAULT_RACK } from '../src/topology/default-rack.js';

describe('captures/README.md', () => {
  it('lists exactly the files the default rack writes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'eop-captures-'));
    const r = runTopology(DEFAULT_RACK, { captureDir: dir });
    r.captures?.closeAll();
    const written = readdirSync(dir).sort();
    const readme = readFileSync(join(import.meta.dirname, '..', 'captures', 'README.md'), 'utf8');
    const listed = [...readme.matchAll(/^captures\/(\S+)$/gm)].map((m) => m[1]!).sort();
    expect(written.length).toBeGreaterThan(0);
    expect(listed).toEqual(written);
  });
});
