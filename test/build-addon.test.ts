/**
 * scripts/build-addon.mjs, the package's "install" script, on a machine without a C++ toolchain:
 * the install goes on with one line saying what is missing and how to build later, unless CI=true,
 * where it fails. (The real `npm ci` without a compiler is exercised by hand: see the README.)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ADDON_BUILD_HINT } from '../bridge/tap-device.js';

const script = join(import.meta.dirname, '..', 'scripts', 'build-addon.mjs');
// A PATH with no compiler, no make and no python: the script must stop before node-gyp.
const emptyPath = mkdtempSync(join(tmpdir(), 'eop-nopath-'));

function run(ci: string | undefined): { status: number | null; stderr: string; stdout: string } {
  const env: NodeJS.ProcessEnv = { PATH: emptyPath, HOME: tmpdir() };
  if (ci !== undefined) env.CI = ci;
  const r = spawnSync(process.execPath, [script], { env, encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe('addon build without a toolchain', () => {
  it('succeeds with a one-line warning naming what is missing and how to build later', () => {
    const r = run(undefined);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('warning: TAP addon not built (missing a C++ compiler (g++ or clang++), make, python3)');
    expect(r.stderr).toContain('virtual time works');
    // The same advice eop up gives when the addon is missing.
    expect(r.stderr).toContain(ADDON_BUILD_HINT);
  });

  it('fails with CI=true', () => {
    const r = run('true');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('CI=true, so the install fails');
  });
});
