/**
 * Which racks run on this machine: every `eop up` and `eop serve` records itself in a state
 * directory (`/run/eop` as root, else `$XDG_RUNTIME_DIR/eop` or `<tmp>/eop-<uid>`) as
 * `up-<pid>.json`, with its rack name, namespace prefix and where its status can be read. That is
 * the lock: a second rack with the same name or the same namespace prefix (with TAP hosts) refuses
 * to start; racks with different names and prefixes run side by side. `eop attach --tap` records
 * the namespace it makes too (mode `attach`; it locks nothing). A record of a dead process is kept
 * while any namespace it names still exists (a crash: `eop down` reads it to know what to remove,
 * whatever the prefix) and removed when read after that. `eop status` finds racks here.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pidAlive } from '../../bridge/netns.js';

export interface RackRecord {
  pid: number;
  mode: 'up' | 'serve' | 'attach';
  /** The rack's name (attach: "<host> of <url>"). */
  rack: string;
  /** Namespace prefix, when the rack has TAP hosts (else null). */
  nsPrefix: string | null;
  namespaces: string[];
  /** TAP devices it made (they live in its namespaces once set up). */
  links: string[];
  /** http://host:port of the status (serve), or null. */
  statusUrl: string | null;
  /** Unix socket serving /api/status (up), or null. */
  statusSocket: string | null;
}

const ROOT_DIR = '/run/eop';

/** Where this process records itself. */
export function stateDir(): string {
  if (typeof process.getuid === 'function' && process.getuid() === 0) return ROOT_DIR;
  return process.env.XDG_RUNTIME_DIR ? join(process.env.XDG_RUNTIME_DIR, 'eop') : join(tmpdir(), `eop-${process.getuid?.() ?? 'user'}`);
}

/** Every directory a rack may have recorded itself in (root's and this user's). */
function stateDirs(): string[] {
  return [...new Set([ROOT_DIR, stateDir()])];
}

/** A record as found on disk: whether its process still runs, and the file. */
export interface FoundRecord extends RackRecord {
  alive: boolean;
  path: string;
}

/** Where `ip netns add` pins a namespace: its existence is one stat, no process. */
const netnsPinned = (ns: string): boolean => /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(ns) && existsSync(`/run/netns/${ns}`);

/**
 * Every record of other processes, live or dead. A dead one whose namespaces are all gone is
 * removed (nothing left to clean up after it); one with namespaces left is kept for `eop down`.
 */
export function recordedRacks(): FoundRecord[] {
  const out: FoundRecord[] = [];
  for (const dir of stateDirs()) {
    let files: string[];
    try {
      files = readdirSync(dir).filter((f) => /^up-\d+\.json$/.test(f));
    } catch {
      continue;
    }
    for (const f of files) {
      const path = join(dir, f);
      try {
        const r = JSON.parse(readFileSync(path, 'utf8')) as Partial<RackRecord> & { pid: number };
        if (r.pid === process.pid) continue;
        const rec: FoundRecord = {
          pid: r.pid,
          mode: r.mode ?? 'up',
          rack: r.rack ?? '?',
          nsPrefix: r.nsPrefix === undefined ? 'eop-' : r.nsPrefix,
          namespaces: (r.namespaces ?? []).filter((n) => typeof n === 'string'),
          links: (r.links ?? []).filter((n) => typeof n === 'string'),
          statusUrl: r.statusUrl ?? null,
          statusSocket: r.statusSocket ?? null,
          alive: pidAlive(r.pid),
          path,
        };
        if (!rec.alive && !rec.namespaces.some(netnsPinned)) {
          forgetRecord(rec);
          continue;
        }
        out.push(rec);
      } catch {
        // unreadable or half-written: not a rack we can talk to
      }
    }
  }
  return out;
}

/** Removes a dead process's record and its status socket. */
export function forgetRecord(r: FoundRecord): void {
  rmSync(r.path, { force: true });
  if (r.statusSocket) rmSync(r.statusSocket, { force: true });
}

/** Racks (eop up, eop serve) recorded by other live processes. */
export function runningRacks(): RackRecord[] {
  return recordedRacks()
    .filter((r) => r.alive && r.mode !== 'attach')
    .map(({ alive: _a, path: _p, ...r }) => r);
}

/** Why a rack named `rack` with namespace prefix `nsPrefix` cannot start now; null if it can. */
export function rackConflict(rack: string, nsPrefix: string | null): string | null {
  for (const r of runningRacks()) {
    if (r.rack === rack) return `rack "${rack}" is already running (eop ${r.mode}, pid ${r.pid}); stop it first or give this rack another name`;
    if (nsPrefix !== null && r.nsPrefix === nsPrefix) {
      return `eop ${r.mode} (pid ${r.pid}, rack "${r.rack}") already uses the namespace prefix "${nsPrefix}"; give this rack another with --ns-prefix`;
    }
  }
  return null;
}

/** Records this process; returns the path to remove at exit (null if the directory is not writable). */
export function registerRack(rec: Omit<RackRecord, 'pid'>): string | null {
  const dir = stateDir();
  const path = join(dir, `up-${process.pid}.json`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(path, JSON.stringify({ pid: process.pid, ...rec }));
    return path;
  } catch {
    return null;
  }
}

/** Path of this process's status socket. */
export function statusSocketPath(): string {
  return join(stateDir(), `status-${process.pid}.sock`);
}

/** Status sockets of racks that died without removing them (SIGKILL): `status-<pid>.sock`, pid gone. */
export function staleStatusSockets(): string[] {
  const out: string[] = [];
  for (const dir of stateDirs()) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names) {
      const m = /^status-(\d+)\.sock$/.exec(n);
      if (!m || pidAlive(Number(m[1]))) continue;
      const p = join(dir, n);
      try {
        if (lstatSync(p).isSocket()) out.push(p);
      } catch {
        // gone meanwhile
      }
    }
  }
  return out;
}
