/**
 * Helpers for the live-mode system tests: spawn `eop up` (the built CLI), wait for its "ready"
 * line, run commands inside its namespaces, stop it, and check that nothing `eop-*` is left.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tapAddonAvailable } from '../../bridge/tap-device.js';
import { netnsExecAsync } from '../../bridge/netns.js';
import { requireTool } from './require-tool.js';

export const CLI = join(__dirname, '..', '..', 'dist', 'src', 'cli', 'main.js');

/** Like requireTool, for a condition: skip locally with a printed reason, fail with CI=true. */
export function requireThat(ok: boolean, reason: string): boolean {
  if (ok) return true;
  if (process.env.CI === 'true') throw new Error(`${reason}; CI=true, so this system test fails instead of skipping`);
  console.warn(`[skip] ${reason}; skipping the live-mode system tests (in CI this fails)`);
  return false;
}

/** Root, /dev/net/tun, the addon, ip and ping: what every live test needs. */
export function liveReady(): boolean {
  return (
    requireTool('ip') &&
    requireTool('ping') &&
    requireThat(process.platform === 'linux', 'TAP devices need Linux') &&
    requireThat(process.getuid?.() === 0, 'TAP devices and namespaces need root') &&
    requireThat(existsSync('/dev/net/tun'), '/dev/net/tun does not exist') &&
    requireThat(tapAddonAvailable(), 'the TAP addon is not built: run npm ci') &&
    requireThat(existsSync(CLI), `${CLI} is missing: run "npm run build" (npm test does it first)`)
  );
}

export interface Proc {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
  /** The http:// URL from the ready line (serve), or ''. */
  url: string;
}

/** Starts `eop <args>` and resolves once it printed a line starting with "ready:". */
export async function startCli(args: string[], timeoutMs = 30_000, env: NodeJS.ProcessEnv = process.env): Promise<Proc> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    let timedOut = false;
    const t = setTimeout(() => {
      timedOut = true;
      // Wait for it to go before failing: a rack still tearing down would hold its prefix (and the
      // machine's CPU) for the next test. One that ignores SIGTERM is killed and cleaned up after.
      const why = new Error(`eop ${args.join(' ')} not ready after ${timeoutMs} ms:\n${out}\n${err}`);
      child.kill('SIGTERM');
      const hard = setTimeout(() => {
        child.kill('SIGKILL');
        spawnSync(process.execPath, [CLI, 'down'], { stdio: 'ignore', timeout: 30_000 });
      }, 10_000);
      void exited.then(() => {
        clearTimeout(hard);
        reject(why);
      });
    }, timeoutMs);
    const check = (): void => {
      if (/^ready: /m.test(out)) {
        clearTimeout(t);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(t);
      if (!timedOut) reject(new Error(`eop ${args.join(' ')} exited (${code}) before ready:\n${out}\n${err}`));
    });
  });
  const url = /^ready: (http:\/\/\S+)/m.exec(out)?.[1] ?? '';
  return { child, stdout: () => out, stderr: () => err, exited, url };
}

/** SIGTERM and wait (SIGKILL after 10 s). */
export async function stopCli(p: Proc | undefined): Promise<number | null> {
  if (!p) return null;
  if (p.child.exitCode !== null) return p.child.exitCode;
  p.child.kill('SIGTERM');
  const t = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
  const code = await p.exited;
  clearTimeout(t);
  return code;
}

export type Up = Proc;

/** Starts `eop up ...args` and resolves once it printed its "ready" line (rejects on exit/timeout). */
export function startUp(args: string[], timeoutMs = 20_000): Promise<Up> {
  return startCli(['up', ...args], timeoutMs);
}

/** SIGTERM and wait for exit (SIGKILL after 10 s). Returns the exit code. */
export const stopUp = (up: Up): Promise<number | null> => stopCli(up);

/** Sends SIGUSR1 and returns the status block printed in response. */
export async function statusOf(up: Up): Promise<string> {
  const before = up.stdout().length;
  up.child.kill('SIGUSR1');
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const s = up.stdout().slice(before);
    if (/\n {2}live: .*\n/.test(s)) return s;
  }
  throw new Error(`no status after SIGUSR1:\n${up.stdout().slice(before)}`);
}

/** Runs a command in a namespace (synchronously). */
export function inNs(ns: string, cmd: string[], timeoutMs = 20_000) {
  return spawnSync('ip', ['netns', 'exec', ns, ...cmd], { encoding: 'utf8', timeout: timeoutMs });
}

/** One counter of a namespace's /proc/net/snmp or /proc/net/netstat table, e.g. ('snmp', 'Udp', 'InCsumErrors'). */
export function procNetCounter(ns: string, file: 'snmp' | 'netstat', table: string, name: string): number {
  const lines = inNs(ns, ['cat', `/proc/net/${file}`]).stdout.split('\n').filter((l) => l.startsWith(`${table}:`));
  const i = lines[0]?.split(/\s+/).indexOf(name) ?? -1;
  if (i < 0) throw new Error(`${table} ${name} not in /proc/net/${file} of ${ns}`);
  return Number(lines[1]!.split(/\s+/)[i]);
}

/** Async version (so servers in other namespaces, and the emulator child, keep running). */
export const inNsAsync = netnsExecAsync;

/** eop-* namespaces and eop-* links in this namespace. */
export function eopLeftovers(): string[] {
  const ns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.startsWith('eop-'));
  const links = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1] ?? '')
    .filter((n) => n.startsWith('eop-'));
  return [...ns.map((n) => `netns ${n}`), ...links.map((l) => `link ${l}`)];
}

export function eopDown(): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'down', '--force'], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Replies in a ping's summary. With `-w` (a deadline) ping sends until it has `-c` replies and may
 * collect more: requests sent while a loaded machine delayed the answers are answered too ("9
 * received" for `-c 5`). So a `-w` ping is judged by at least `count` replies; EOP's own drops
 * are what the callers check for losses.
 */
export function pingReplies(stdout: string): number {
  const m = /\b(\d+) received/.exec(stdout);
  return m ? Number(m[1]) : 0;
}

/** A rack file of two TAP hosts, h1 and h2: the smallest rack the LiveRack tests run. */
export function twoTapRack(name: string): string {
  return `name: ${name}\nhosts:\n  - {name: h1, attach: tap}\n  - {name: h2, attach: tap}\n`;
}

/** The namespaces a LiveRack with this prefix makes for twoTapRack. */
export function twoTapNamespaces(prefix: string): string[] {
  return [`${prefix}h1`, `${prefix}h2`];
}
