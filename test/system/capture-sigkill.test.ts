/**
 * SYSTEM test: crash safety of the captures. `eop run` (synchronous writer) is killed with SIGKILL
 * (no handler runs, no flush) in the middle of a long run, after its captures have rotated at
 * least once (the `eop up` case, writer thread, is in eop-up.test.ts with the other live tests);
 * then, once
 * its capture guardian (the process that outlives it) has exited, every capture file, current and
 * rotated, pcapng and pcap, must open in the real tshark without a single complaint and hold only
 * whole records (captured length = frame length, timestamps in order): no record is cut short. What
 * was still buffered in the process is lost, as SIGKILL allows; nothing on disk is torn.
 * Skips (with a reason) without tshark, except with CI=true, where it fails.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireTool } from './require-tool.js';
import { expectCapturesAfterKill, guardiansGone, guardiansOf } from './capture-check.js';

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
  const guardians = await guardiansOf(child.pid!);
  expect(guardians, 'eop run started no capture guardian').toHaveLength(1);
  child.kill('SIGKILL');
  const sig = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_c, s) => resolve(s)));
  expect(sig).toBe('SIGKILL');
  await guardiansGone(guardians);
  const files = readdirSync(join(dir, 'cap')).map((f) => join(dir, 'cap', f));
  return { dir, files };
}

describe.skipIf(!requireTool('tshark'))('captures after SIGKILL (system)', () => {
  for (const format of ['pcapng', 'pcap'] as const) {
    it(`every ${format} file, rotated ones included, opens in tshark with whole records only`, async () => {
      const { dir, files } = await killedRun(format);
      try {
        // a, b.1 and c at least; b itself may be between rotation's rename and its new file at the kill.
        expect(files.length).toBeGreaterThanOrEqual(3);
        expectCapturesAfterKill(files);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 60_000);
  }
});

