/**
 * SYSTEM test: the embedded default rack, end to end, through the real CLI (`node dist/…`, built
 * by `npm test` before vitest runs) and real tshark reading the captures it wrote.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/run/report.js';
import { requireTool } from './require-tool.js';

const CLI = join(__dirname, '..', '..', 'dist', 'src', 'cli', 'main.js');

describe('default rack end to end (system)', () => {
  let dir: string;
  let report: Report;
  let exitCode: number | null;

  beforeAll(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" (npm test does it first)`);
    dir = mkdtempSync(join(tmpdir(), 'eop-default-'));
    const r = spawnSync(process.execPath, [CLI, 'run', '--json', '--capture-dir', dir], { encoding: 'utf8', timeout: 60_000 });
    exitCode = r.status;
    if (r.status !== 0) throw new Error(`eop run failed (${r.status}): ${r.stderr}`);
    report = JSON.parse(r.stdout) as Report;
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('exits 0 and brings every queue pair up', () => {
    expect(exitCode).toBe(0);
    expect(report.finished).toBe(true);
    expect(report.queuePairs).toHaveLength(4 * 3);
    for (const q of report.queuePairs) expect(q.state, `${q.host} ↔ ${q.peer}`).toBe('up');
  });

  it('every host pings every other and gets every reply', () => {
    const pairs = new Set(report.pings.map((p) => `${p.from}>${p.to}`));
    for (const a of ['h1', 'h2', 'h3', 'h4']) for (const b of ['h1', 'h2', 'h3', 'h4']) if (a !== b) expect(pairs.has(`${a}>${b}`)).toBe(true);
    for (const p of report.pings) {
      expect(p.sent, `${p.from} → ${p.to}`).toBeGreaterThan(0);
      expect(p.received, `${p.from} → ${p.to}`).toBe(p.sent);
      expect(p.rttUs!.min).toBeGreaterThan(0);
    }
  });

  it('the UDP stream arrives byte-exact and in order', () => {
    expect(report.streams).toHaveLength(1);
    const s = report.streams[0]!;
    expect(s.sent).toBe(2000);
    expect(s.received).toBe(2000);
    expect(s.lost).toBe(0);
    expect(s.corrupt).toBe(0);
    expect(s.reordered).toBe(0);
    expect(s.gbps).toBeGreaterThan(0);
  });

  it('nothing is dropped anywhere', () => {
    expect(report.fabricDrops).toEqual({});
    for (const i of report.interfaces) expect(i.drops, i.name).toEqual({});
    expect(report.problems).toEqual([]);
  });

  describe.skipIf(!requireTool('tshark'))('captures read by tshark', () => {
    it('one pcapng per interface, with the expected frame counts and nothing malformed', () => {
      expect(report.captures).toHaveLength(4);
      for (const iface of report.interfaces) {
        const path = join(dir, `${iface.name}.pcapng`);
        const lines = execFileSync('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.interface_name', '-e', 'frame.packet_flags_direction'], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        })
          .trim()
          .split('\n');
        // Every frame the interface sent (direction 2) or delivered (1) is in its capture.
        expect(lines.length, path).toBe(iface.txFrames + iface.rxFrames);
        expect(lines.filter((l) => /\t(0x0+)?2$/.test(l)).length).toBe(iface.txFrames);
        expect(lines.filter((l) => /\t(0x0+)?1$/.test(l)).length).toBe(iface.rxFrames);
        expect(new Set(lines.map((l) => l.split('\t')[0]))).toEqual(new Set([iface.name]));
        const bad = execFileSync('tshark', ['-r', path, '-Y', '_ws.malformed || _ws.expert.severity >= warning'], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        });
        expect(bad.trim(), `${path} has malformed or warned packets`).toBe('');
      }
      const udp = execFileSync('tshark', ['-r', join(dir, 'eop-h2.pcapng'), '-Y', 'udp && ip.src == 10.11.0.1 && frame.packet_flags_direction == 1'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      expect(udp.trim().split('\n').length).toBe(2000);
    });
  });
});

describe('eop CLI (system)', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000 });

  it('--help on every command', () => {
    for (const args of [['--help'], ['run', '--help'], ['validate', '--help']]) {
      const r = run(...args);
      expect(r.status, args.join(' ')).toBe(0);
      expect(r.stdout).toContain('Usage: eop');
    }
  });

  it('a bad flag value is a usage error (exit 2) naming the flag', () => {
    const r = run('run', '--seed', 'abc', '--no-captures');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--seed');
  });

  it('an invalid topology names the field (exit 2)', () => {
    const d = mkdtempSync(join(tmpdir(), 'eop-bad-'));
    try {
      const f = join(d, 'bad.yaml');
      execFileSync('sh', ['-c', `printf 'hosts: [h1, h2]\\nlink:\\n  gen: 6\\n' > ${f}`]);
      const r = run('run', f, '--no-captures');
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('link.gen');
      expect(r.stderr).not.toContain('    at '); // no stack trace
      const missing = run('run', join(d, 'nope.yaml'));
      expect(missing.status).toBe(2);
      expect(missing.stderr).toContain('nope.yaml');
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('a two-line rack file runs with defaults', () => {
    const d = mkdtempSync(join(tmpdir(), 'eop-two-'));
    try {
      const f = join(d, 'two.yaml');
      execFileSync('sh', ['-c', `printf 'hosts: [a, b]\\ntraffic: [{kind: ping, from: a, to: b, count: 5}]\\n' > ${f}`]);
      const r = run('run', f, '--json', '--no-captures', '--strict');
      expect(r.status, r.stderr).toBe(0);
      const rep = JSON.parse(r.stdout) as Report;
      expect(rep.pings[0]!.received).toBe(5);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('eop run interrupted (system)', () => {
  it.skipIf(!requireTool('tshark'))('SIGINT during a long run leaves complete, readable captures', async () => {
    const d = mkdtempSync(join(tmpdir(), 'eop-sigint-'));
    try {
      const f = join(d, 'long.yaml');
      // A stream long enough to still be running when the signal comes.
      execFileSync('sh', [
        '-c',
        `printf 'hosts: [a, b]\\ndurationMs: 60000\\ntraffic: [{kind: udp, from: a, to: b, count: 50000000}]\\n' > ${f}`,
      ]);
      const { spawn } = await import('node:child_process');
      const child = spawn(process.execPath, [CLI, 'run', f, '--capture-dir', d], { stdio: ['ignore', 'pipe', 'pipe'] });
      // Signal once the run is under way: the first write-behind flush (1 MiB, hundreds of frames)
      // has reached eop-a's capture file. A condition, not a guess at how long startup takes.
      const first = join(d, 'eop-a.pcapng');
      const until = Date.now() + 20_000;
      while (!(existsSync(first) && statSync(first).size > 512 * 1024) && child.exitCode === null && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      expect(child.exitCode).toBeNull();
      child.kill('SIGINT');
      const code = await new Promise<number | null>((resolve) => child.on('exit', (c, sig) => resolve(c ?? (sig ? 128 + 2 : null))));
      expect(code).toBe(130);
      for (const iface of ['eop-a', 'eop-b']) {
        const path = join(d, `${iface}.pcapng`);
        const r = spawnSync('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
        expect(r.status, r.stderr).toBe(0);
        expect(r.stderr).not.toMatch(/cut short|appears to be damaged|corrupt/i);
        expect(r.stdout.trim().split('\n').length).toBeGreaterThan(100);
      }
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
