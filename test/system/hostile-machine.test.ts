/**
 * SYSTEM test of issue 8's live-mode items on a real machine:
 * - item 8: every catchable terminating signal (SIGQUIT and SIGUSR2 included) makes `eop up` remove
 *   its namespaces, TAPs, /etc/netns files and state file, and exit 0 saying which signal stopped it.
 * - item 9: a full disk under the capture directory (a 64 KiB tmpfs in a private mount namespace):
 *   the error is said once, clearly, the run goes on, `eop run --strict` exits 1 and its report lists
 *   the capture problem; `eop up` says it once and its final status lists it.
 *
 * Needs root, /dev/net/tun, the addon, ip, ping, unshare and mount; skips locally without them, fails
 * with CI=true.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TERMINATING_SIGNALS } from '../../src/signals.js';
import { requireTool } from './require-tool.js';
import { CLI, eopDown, eopLeftovers, liveReady, startUp } from './live-helpers.js';

const ready = liveReady() && requireTool('unshare') && requireTool('mount');

const SMALL = `name: small
hosts:
  - {name: h1, attach: tap}
  - {name: h2, attach: builtin}
`;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'eoptest-hostile-'));
  writeFileSync(join(dir, 'small.yaml'), SMALL);
  if (ready && eopLeftovers().length > 0) eopDown();
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!ready).sequential('eop up: every terminating signal cleans up (issue 8 item 8)', () => {
  it.each(TERMINATING_SIGNALS.map((s) => [s]))('%s: namespaces, TAPs and /etc/netns entries are gone, exit 0', async (sig) => {
    const up = await startUp([join(dir, 'small.yaml'), '--no-captures']);
    expect(existsSync('/etc/netns/eop-h1/hosts')).toBe(true);
    up.child.kill(sig);
    const t = setTimeout(() => up.child.kill('SIGKILL'), 15_000);
    const code = await up.exited;
    clearTimeout(t);
    expect(code, up.stderr()).toBe(0);
    expect(up.stdout()).toMatch(new RegExp(`^stopped \\(${sig}\\): removed eop-h1$`, 'm'));
    expect(eopLeftovers()).toEqual([]);
    expect(existsSync('/etc/netns/eop-h1')).toBe(false);
    expect(readdirSync('/run/eop').filter((f) => f.startsWith('up-'))).toEqual([]);
  }, 30_000);
});

/** Runs `script` (sh) in a private mount namespace where `mnt` is a fresh 64 KiB tmpfs. */
function withTinyDisk(mnt: string, script: string, timeoutMs = 60_000) {
  return spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs -o size=64k none "${mnt}" && ${script}`], {
    encoding: 'utf8',
    timeout: timeoutMs,
  });
}

describe.skipIf(!ready).sequential('a full disk under the capture directory (issue 8 item 9)', () => {
  it('eop run: said once on stderr, the run finishes, --strict exits 1 and the report lists the capture problem', () => {
    const mnt = join(dir, 'disk-run');
    const cap = join(mnt, 'cap');
    for (const strict of [true, false]) {
      rmSync(mnt, { recursive: true, force: true });
      spawnSync('mkdir', ['-p', mnt]);
      const r = withTinyDisk(mnt, `exec "${process.execPath}" "${CLI}" run --capture-dir "${cap}"${strict ? ' --strict' : ''}`);
      expect(r.status, r.stderr).toBe(strict ? 1 : 0);
      const said = r.stderr.split('\n').filter((l) => /no space left on device/i.test(l));
      expect(said, r.stderr).toHaveLength(1);
      expect(said[0]).toMatch(/capture .*eop-h\d\.pcapng: write failed: ENOSPC.*captures stop, the run goes on/);
      // The run went on to the end: the ping and UDP tables are there and the only problems listed
      // are the captures that lost frames.
      expect(r.stdout).toMatch(/^Ping\n/m);
      expect(r.stdout).toMatch(/^UDP streams\n/m);
      const problems = r.stdout.slice(r.stdout.indexOf('Problems:\n') + 10).split('\n').filter(Boolean);
      expect(problems.length).toBeGreaterThan(0);
      for (const p of problems) expect(p).toMatch(/^ {2}- capture .*eop-h\d\.pcapng: write failed: ENOSPC: no space left on device.*; \d+ frame\(s\) not captured$/);
    }
  }, 60_000);

  it('eop up: said once on stderr, the rack keeps running, the final status lists the capture problem', () => {
    const mnt = join(dir, 'disk-up');
    spawnSync('mkdir', ['-p', mnt]);
    const cap = join(mnt, 'cap');
    const out = join(dir, 'up.out');
    const err = join(dir, 'up.err');
    // All inside the private mount namespace: eop up, a ping flood that fills the disk, a ping that
    // must still work after it, then SIGTERM.
    const script = [
      `"${process.execPath}" "${CLI}" up "${join(dir, 'small.yaml')}" --capture-dir "${cap}" >"${out}" 2>"${err}" & UP=$!`,
      `for i in $(seq 100); do grep -q '^ready' "${out}" && break; sleep 0.1; done`,
      `ip netns exec eop-h1 ping -q -f -c 3000 -s 1000 10.11.0.2 >/dev/null 2>&1`,
      `sleep 1`,
      `ip netns exec eop-h1 ping -c 2 -W 2 10.11.0.2 > "${join(dir, 'after.txt')}"`,
      `kill -TERM $UP; wait $UP; echo "up exit $?"`,
    ].join('\n');
    const r = withTinyDisk(mnt, script);
    expect(r.stdout, r.stderr).toMatch(/up exit 0/);
    const upErr = readFileSync(err, 'utf8');
    const upOut = readFileSync(out, 'utf8');
    const said = upErr.split('\n').filter((l) => /no space left on device/i.test(l));
    expect(said, upErr).toHaveLength(1);
    expect(said[0]).toMatch(/^eop up: capture .*\.pcapng: write failed: ENOSPC.*that capture stops, the rack keeps running/);
    expect(readFileSync(join(dir, 'after.txt'), 'utf8')).toMatch(/2 received/);
    const final = upOut.slice(upOut.lastIndexOf('status at'));
    expect(final).toMatch(/captures \d+ frames, \d+ not captured/);
    expect(final).toMatch(/^ {2}capture problem: capture .*\.pcapng: write failed: ENOSPC/m);
    expect(eopLeftovers()).toEqual([]);
  }, 60_000);
});
