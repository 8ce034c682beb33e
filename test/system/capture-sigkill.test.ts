/**
 * SYSTEM test: crash safety of the captures. `eop run` (synchronous writer) and `eop up` (writer
 * thread) are killed with SIGKILL (no handler runs, no flush) in the middle of a long run, after
 * their captures have rotated at least once; then every
 * capture file, current and rotated, pcapng and pcap, must open in the real tshark without an error
 * and hold only whole records (captured length = frame length, timestamps in order). What was
 * still buffered in the process is lost, as SIGKILL allows; nothing on disk is torn.
 * Skips (with a reason) without tshark (and, for `eop up`, root, TAPs and namespaces), except with
 * CI=true, where it fails. The `eop up` part creates namespaces: run it inside /work/isolated.sh.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireTool } from './require-tool.js';
import { eopDown, inNsAsync, liveReady, startUp } from './live-helpers.js';

const CLI = join(__dirname, '..', '..', 'dist', 'src', 'cli', 'main.js');

async function killedRun(format: 'pcap' | 'pcapng'): Promise<{ dir: string; files: string[] }> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" (npm test does it first)`);
  const dir = mkdtempSync(join(tmpdir(), `eop-sigkill-${format}-`));
  const rack = join(dir, 'long.yaml');
  // Two streams long enough to be running at the kill; files of 1 MiB rotate within a second or two.
  writeFileSync(
    rack,
    [
      'hosts: [a, b, c]',
      'durationMs: 60000',
      `captures: {format: ${format}, maxFileMiB: 1, maxFiles: 3}`,
      'traffic:',
      '  - {kind: udp, from: a, to: b, messageBytes: 1000, count: 50000000}',
      '  - {kind: udp, from: c, to: b, messageBytes: 100, count: 50000000}',
    ].join('\n'),
  );
  const child = spawn(process.execPath, [CLI, 'run', rack, '--capture-dir', join(dir, 'cap')], { stdio: ['ignore', 'ignore', 'pipe'] });
  // Kill once a rotation happened: a condition, not a guess at how long startup takes.
  const rotated = join(dir, 'cap', `eop-b.${format}.1`);
  const until = Date.now() + 30_000;
  while (!existsSync(rotated) && child.exitCode === null && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  expect(child.exitCode, 'the run ended before the kill').toBeNull();
  expect(existsSync(rotated), 'no rotation within 30 s').toBe(true);
  child.kill('SIGKILL');
  const sig = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_c, s) => resolve(s)));
  expect(sig).toBe('SIGKILL');
  const files = readdirSync(join(dir, 'cap')).map((f) => join(dir, 'cap', f));
  return { dir, files };
}

/** tshark reads `f` without an error, and every record in it is whole and in time order. */
function expectWholeRecords(f: string): void {
  const r = spawnSync('tshark', ['-r', f, '-T', 'fields', '-e', 'frame.len', '-e', 'frame.cap_len', '-e', 'frame.time_epoch'], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  expect(r.status, `${f}: ${r.stderr}`).toBe(0);
  expect(r.stderr, f).not.toMatch(/cut short|appears to be damaged|corrupt|malformed/i);
  const rows = r.stdout.trim().split('\n').filter((l) => l.length > 0);
  // A file just created by rotation may hold only headers; the rotated one is full.
  if (f.endsWith('.1')) expect(rows.length, f).toBeGreaterThan(100);
  let last = -Infinity;
  for (const row of rows) {
    const [len, cap, t] = row.split('\t');
    expect(cap, `${f}: a record cut short`).toBe(len);
    expect(Number(t)).toBeGreaterThanOrEqual(last);
    last = Number(t);
  }
}

describe.skipIf(!requireTool('tshark'))('captures after SIGKILL (system)', () => {
  for (const format of ['pcapng', 'pcap'] as const) {
    it(`every ${format} file, rotated ones included, opens in tshark with whole records only`, async () => {
      const { dir, files } = await killedRun(format);
      try {
        expect(files.length).toBeGreaterThanOrEqual(4); // a, b, c and at least b's rotated file
        for (const f of files) expectWholeRecords(f);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 60_000);
  }
});

describe.skipIf(!(requireTool('tshark') && liveReady()))('eop up captures after SIGKILL (system)', () => {
  it('every file of a live rack, killed while a ping flood is captured, opens in tshark with whole records only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eop-sigkill-up-'));
    const rack = join(dir, 'live.yaml');
    writeFileSync(rack, ['name: killed', 'hosts: [{name: t1, attach: tap}, {name: t2, attach: tap}]', 'captures: {maxFileMiB: 0.25, maxFiles: 3}'].join('\n'));
    const up = await startUp([rack, '--capture-dir', join(dir, 'cap')]);
    try {
      // Bounded load: 20000 echo requests of 1400 bytes, and at most 30 s.
      const flood = inNsAsync('eop-t1', ['ping', '-f', '-q', '-c', '20000', '-s', '1400', '-w', '30', '10.11.0.2'], 40_000);
      const rotated = join(dir, 'cap', 'eop-t2.pcapng.1');
      const until = Date.now() + 30_000;
      while (!existsSync(rotated) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      expect(existsSync(rotated), 'no rotation within 30 s').toBe(true);
      up.child.kill('SIGKILL');
      await up.exited;
      await flood;
      const files = readdirSync(join(dir, 'cap')).map((f) => join(dir, 'cap', f));
      expect(files.length).toBeGreaterThanOrEqual(3);
      for (const f of files) expectWholeRecords(f);
    } finally {
      if (up.child.exitCode === null && up.child.signalCode === null) up.child.kill('SIGKILL');
      // SIGKILL left the namespaces and TAPs behind: take them down.
      eopDown();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
