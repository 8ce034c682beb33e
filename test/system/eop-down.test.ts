/**
 * SYSTEM test of `eop down` (root): it cleans up after any crashed rack, whatever its namespace
 * prefix, and says what it removed and for whom.
 *
 * Everything runs in a private network + mount namespace of its own (private /run/netns, /run/eop,
 * /etc/netns; entered with nsenter), so the `eop down` here cannot touch what other system tests
 * running at the same time made, nor theirs what this one makes.
 *
 * 1. A rack with prefix `eopdn-` killed with SIGKILL leaves eopdn-t1, eopdn-t2 and their /etc/netns
 *    entries; a second rack (prefix `eopdr-`) runs. Plain `eop down` (no prefix given) removes the
 *    crashed rack's namespaces, found through its record, names the rack it cleaned up after, and
 *    does not touch the running rack's.
 * 2. A stray namespace and a TAP with a prefix no record knows stay until `eop down --ns-prefix`
 *    names it; a veth pair with that prefix is not a TAP and stays; asked for the running rack's
 *    prefix too, it leaves that rack's namespace alone and says so (exit 1).
 * 3. Once the running rack stopped (and removed its own), `eop down` finds nothing (exit 0).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, liveReady } from './live-helpers.js';
import { requireTool } from './require-tool.js';

const ready = liveReady() && requireTool('unshare') && requireTool('nsenter');

/** A private network + mount namespace kept alive by a sleeping process; commands enter it. */
class PrivateNs {
  private constructor(readonly holder: ChildProcess) {}

  static async open(): Promise<PrivateNs> {
    const setup = 'mkdir -p /run/netns /run/eop /etc/netns && mount -t tmpfs none /run/netns && mount -t tmpfs none /run/eop && mount -t tmpfs none /etc/netns && ip link set lo up && echo up && exec sleep 600';
    const holder = spawn('unshare', ['--mount', '--net', '--propagation', 'private', 'bash', '-c', setup], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      holder.stdout!.once('data', () => resolve());
      holder.once('exit', (c) => reject(new Error(`unshare exited ${c}`)));
    });
    return new PrivateNs(holder);
  }

  private enter(argv: string[]): string[] {
    return ['-t', String(this.holder.pid), '-n', '-m', '--', ...argv];
  }

  run(argv: string[]): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync('nsenter', this.enter(argv), { encoding: 'utf8', timeout: 30_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  eop(args: string[]): { status: number | null; stdout: string; stderr: string } {
    return this.run([process.execPath, CLI, ...args]);
  }

  /** Starts `eop up ...` inside (nsenter execs node: the child is the rack) and waits for ready. */
  async up(args: string[]): Promise<ChildProcess> {
    const child = spawn('nsenter', this.enter([process.execPath, CLI, 'up', ...args]), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
    const deadline = Date.now() + 40_000;
    while (!/^ready: /m.test(out)) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`eop up ${args.join(' ')} not ready:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return child;
  }

  namespaces(): string[] {
    return this.run(['ip', 'netns', 'list'])
      .stdout.split('\n')
      .map((l) => l.trim().split(/\s+/)[0] ?? '')
      .filter((n) => n.length > 0)
      .sort();
  }

  links(): string[] {
    return this.run(['ip', '-o', 'link', 'show'])
      .stdout.split('\n')
      .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1] ?? '')
      .filter((n) => n.length > 0);
  }

  close(): void {
    this.holder.kill('SIGKILL'); // the namespace, and all in it, goes with its last process
  }
}

const exited = (c: ChildProcess): Promise<number | null> => (c.exitCode !== null ? Promise.resolve(c.exitCode) : new Promise((r) => c.once('exit', (code) => r(code))));

describe.skipIf(!ready)('eop down: any rack, any prefix', () => {
  let pns: PrivateNs;
  let running: ChildProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'eop-down-'));
  beforeAll(async () => {
    pns = await PrivateNs.open();
  });
  afterAll(async () => {
    if (running && running.exitCode === null) {
      running.kill('SIGTERM');
      await exited(running);
    }
    pns?.close();
  });

  it('cleans up after a crashed rack found in the registry, leaves a running one alone, then --ns-prefix for strays', async () => {
    writeFileSync(join(dir, 'crash.yaml'), 'name: dn-crash\nhosts:\n  - {name: t1, attach: tap}\n  - {name: t2, attach: tap}\n');
    writeFileSync(join(dir, 'run.yaml'), 'name: dn-running\nhosts:\n  - {name: r1, attach: tap}\n  - r2\n');
    const crashed = await pns.up([join(dir, 'crash.yaml'), '--ns-prefix', 'eopdn-', '--no-captures']);
    crashed.kill('SIGKILL');
    await exited(crashed);
    running = await pns.up([join(dir, 'run.yaml'), '--ns-prefix', 'eopdr-', '--no-captures']);
    expect(pns.namespaces()).toEqual(['eopdn-t1', 'eopdn-t2', 'eopdr-r1']);
    // Strays no record knows: a namespace and a TAP, and a veth pair (not a TAP) with their prefix.
    for (const cmd of [['ip', 'netns', 'add', 'eopx-stray'], ['ip', 'tuntap', 'add', 'dev', 'eopx-tap0', 'mode', 'tap'], ['ip', 'link', 'add', 'eopx-v0', 'type', 'veth', 'peer', 'name', 'eopx-v1']]) {
      expect(pns.run(cmd).status, cmd.join(' ')).toBe(0);
    }

    const first = pns.eop(['down']);
    expect(first.status, first.stdout + first.stderr).toBe(0); // the running rack's prefix was not asked for
    expect(first.stdout).toMatch(/^removed (.*, )?namespace eopdn-t1, .*namespace eopdn-t2/m);
    expect(first.stdout).toContain('/etc/netns/eopdn-t1');
    // The killed rack could not remove its status socket either.
    expect(first.stdout).toContain(`status socket /run/eop/status-${crashed.pid}.sock`);
    expect(first.stdout).toMatch(new RegExp(`^cleaned up after rack "dn-crash" \\(eop up, pid ${crashed.pid}\\), which is no longer running \\(namespace prefix eopdn-\\)$`, 'm'));
    expect(first.stderr).toBe('');
    expect(pns.namespaces()).toEqual(['eopdr-r1', 'eopx-stray']);

    const second = pns.eop(['down', '--ns-prefix', 'eopx-', '--ns-prefix', 'eopdr-']);
    expect(second.status).toBe(1);
    expect(second.stdout).toMatch(/^removed namespace eopx-stray, interface eopx-tap0$/m);
    expect(second.stderr).toMatch(new RegExp(`left eopdr-r1 alone: rack "dn-running" \\(eop up, pid ${running.pid}\\) is still running`));
    expect(pns.namespaces()).toEqual(['eopdr-r1']);
    expect(pns.links()).toEqual(expect.arrayContaining(['eopx-v0', 'eopx-v1']));
    expect(pns.links()).not.toContain('eopx-tap0');

    running.kill('SIGTERM');
    expect(await exited(running)).toBe(0);
    const third = pns.eop(['down']);
    expect(third.status, third.stderr).toBe(0);
    expect(third.stdout).toMatch(/^nothing to remove: no namespace, \/etc\/netns entry or TAP starting with eop- is left$/m);
    expect(pns.namespaces()).toEqual([]);
  }, 120_000);

  it('a bad --ns-prefix is a usage error (exit 2, one sentence)', () => {
    const r = pns.eop(['down', '--ns-prefix', 'a/b']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--ns-prefix.*must be 1\.\.32 letters/);
  });
});
