/**
 * `eop down`: removes what racks left behind (after a crash or `kill -9`), whatever their prefix:
 *
 * - namespaces (ending the processes still in them, as `ip netns del` would leave them running with
 *   no network) and their `/etc/netns/<ns>` entries, and TAP devices left in this namespace;
 * - which ones: every name starting with `eop-` (the default prefix, and every TAP's `eop-<host>`),
 *   with a `--ns-prefix` given here, with the prefix of any rack recorded in the state directory
 *   (`/run/eop`, rack-registry.ts) whose process is gone, and the exact namespaces and TAPs such a
 *   record names (an `eop attach --tap --netns NAME`, say). A dead rack's record goes once nothing
 *   it named is left. Also the status sockets (`status-<pid>.sock`) of racks whose process is gone.
 * - what it leaves: the namespaces and TAPs of racks still running (named in their records), unless
 *   `--force`; it says which, and exits 1 then (a running rack cleans up after itself when
 *   stopped). Only TUN/TAP devices are removed, never another kind of link that shares a prefix.
 *
 * Prints one line "removed ..." listing everything removed (or "nothing to remove: ..."), then one
 * line per crashed rack it cleaned up after. Idempotent. Exit codes: 0 done, 1 something of a
 * running rack was left, 2 not root.
 */
import { rmSync } from 'node:fs';
import { Command } from 'commander';
import {
  EOP_NETNS_PREFIX,
  linkDelete,
  netnsDelete,
  netnsEtcLeftovers,
  netnsKillAll,
  netnsList,
  netnsRemoveEtc,
  tunLinks,
} from '../../bridge/netns.js';
import { nsPrefixArg } from './input-options.js';
import { forgetRecord, recordedRacks, staleStatusSockets, type FoundRecord } from './rack-registry.js';

export interface DownOptions {
  /** Prefixes to clean besides `eop-` and those of crashed racks' records. */
  prefixes: readonly string[];
  /** Also remove what racks still running own. */
  force: boolean;
}

export interface DownResult {
  /** Everything removed, as "namespace x", "interface y", "process 12 in x", "/etc/netns/x". */
  removed: string[];
  /** The prefixes looked at. */
  prefixes: string[];
  /** Crashed racks whose records were cleaned up after (and removed). */
  cleanedAfter: FoundRecord[];
  /** Running racks and what of theirs was left alone. */
  leftAlone: { rec: FoundRecord; names: string[] }[];
}

const describeRec = (r: FoundRecord): string => `${r.mode === 'attach' ? r.rack : `rack "${r.rack}"`} (eop ${r.mode}, pid ${r.pid})`;

export function eopDown(o: DownOptions): DownResult {
  const recs = recordedRacks();
  const dead = recs.filter((r) => !r.alive);
  const running = recs.filter((r) => r.alive);
  const prefixes = [...new Set([EOP_NETNS_PREFIX, ...o.prefixes, ...dead.flatMap((r) => (r.nsPrefix ? [r.nsPrefix] : []))])];
  const deadNs = new Set(dead.flatMap((r) => r.namespaces));
  const deadLinks = new Set(dead.flatMap((r) => r.links));
  const ours = (n: string): boolean => prefixes.some((p) => n.startsWith(p));
  const owner = (n: string): FoundRecord | undefined => running.find((r) => r.namespaces.includes(n) || r.links.includes(n));
  const removed: string[] = [];
  const left = new Map<FoundRecord, string[]>();
  /** True if `n` may go; else notes it as left alone for its running rack. */
  const mayRemove = (n: string): boolean => {
    const r = owner(n);
    if (!r || o.force) return true;
    left.set(r, [...(left.get(r) ?? []), n]);
    return false;
  };

  for (const ns of netnsList().filter((n) => ours(n) || deadNs.has(n)).sort()) {
    if (!mayRemove(ns)) continue;
    const pids = netnsKillAll(ns);
    if (pids.length > 0) removed.push(`process${pids.length > 1 ? 'es' : ''} ${pids.join(', ')} in ${ns}`);
    netnsDelete(ns);
    removed.push(`namespace ${ns}`);
  }
  const etc = new Set([...prefixes.flatMap((p) => netnsEtcLeftovers(p)), ...[...deadNs].flatMap((n) => netnsEtcLeftovers(n).filter((e) => e === n))]);
  for (const ns of [...etc].sort()) {
    if (owner(ns) && !o.force) continue; // a running rack's namespace: already listed above
    netnsRemoveEtc(ns);
    removed.push(`/etc/netns/${ns}`);
  }
  for (const l of tunLinks().filter((n) => ours(n) || deadLinks.has(n))) {
    if (!mayRemove(l)) continue;
    try {
      linkDelete(l);
      removed.push(`interface ${l}`);
    } catch {
      // gone meanwhile
    }
  }
  for (const sock of staleStatusSockets()) {
    try {
      rmSync(sock);
      removed.push(`status socket ${sock}`);
    } catch {
      // gone meanwhile
    }
  }
  // recordedRacks() drops a dead record once nothing it names is left: all of it is gone now.
  for (const r of dead) forgetRecord(r);
  return { removed, prefixes, cleanedAfter: dead, leftAlone: [...left].map(([rec, names]) => ({ rec, names })) };
}

function downCommand(flags: { force?: boolean; nsPrefix: string[] }): number {
  if (process.platform !== 'linux' || (typeof process.getuid === 'function' && process.getuid() !== 0)) {
    process.stderr.write('eop down: needs root (to delete network namespaces and TAP devices): run it with sudo.\n');
    return 2;
  }
  const r = eopDown({ prefixes: flags.nsPrefix, force: flags.force ?? false });
  const out = (s: string): void => void process.stdout.write(s + '\n');
  out(
    r.removed.length
      ? `removed ${r.removed.join(', ')}`
      : `nothing to remove: no namespace, /etc/netns entry or TAP starting with ${r.prefixes.join(' or ')} is left${r.leftAlone.length ? ' but those of running racks' : ''}`,
  );
  for (const d of r.cleanedAfter) out(`cleaned up after ${describeRec(d)}, which is no longer running${d.nsPrefix ? ` (namespace prefix ${d.nsPrefix})` : ''}`);
  for (const { rec, names } of r.leftAlone) {
    process.stderr.write(
      `eop down: left ${names.join(', ')} alone: ${describeRec(rec)} is still running; stop it with Ctrl-C or kill ${rec.pid} (it cleans up itself), or use --force.\n`,
    );
  }
  return r.leftAlone.length > 0 ? 1 : 0;
}

export function registerDown(program: Command): void {
  program
    .command('down')
    .description(
      'Remove the network namespaces, /etc/netns entries, TAPs and status sockets that racks left behind (after a crash): every eop-* one, those of any crashed rack recorded in /run/eop whatever its prefix, and those starting with --ns-prefix. Idempotent.',
    )
    .option('--ns-prefix <prefix>', 'also remove namespaces and TAPs starting with this (repeatable; eop up/serve --ns-prefix)', (v: string, acc: string[]) => [...acc, nsPrefixArg(v)], [] as string[])
    .option('--force', 'also remove those of racks still running (they lose their namespaces)')
    .addHelpText(
      'after',
      '\nA running rack removes its own namespaces when stopped; eop down leaves them alone (exit 1) unless --force.\n' +
        'Only TUN/TAP devices are removed, never another kind of interface that shares a prefix.\n\n' +
        'Examples:\n  sudo eop down                      # after kill -9 of any eop up / eop serve\n  sudo eop down --ns-prefix rackb-   # also names starting with rackb- (no record left)',
    )
    .action((flags: { force?: boolean; nsPrefix: string[] }) => {
      process.exitCode = downCommand(flags);
    });
}
