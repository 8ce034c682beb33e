/**
 * Small helpers around iproute2's `ip` for the host side of `eop up`: network namespaces and the
 * links (TAPs) placed in them. Synchronous (spawnSync), for setup and teardown only, never on a
 * data path. Names are validated before `ip` runs; every failure is an EopError (TAP_OPEN for a
 * failed `ip` command, CONFIG_INVALID for a bad name or value) whose message names the command and
 * quotes ip's own complaint.
 */
import { escapeText } from '../src/topology/problems.js';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import ipaddr from 'ipaddr.js';
import { EopError, ErrorCode } from '../src/errors.js';

/** Namespaces the emulator creates are named `eop-...`; tests use `eoptest-...`. */
export const EOP_NETNS_PREFIX = 'eop-';

const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
const IP_TIMEOUT_MS = 10_000;

function validName(kind: 'namespace' | 'interface', name: string): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 15 || !NAME_RE.test(name)) {
    throw new EopError(
      ErrorCode.CONFIG_INVALID,
      `invalid ${kind} name '${escapeText(String(name))}': use 1-15 characters of letters, digits, '_', '.', '-' (not starting with '.' or '-')`,
    );
  }
  return name;
}

export function validateNetnsName(name: string): string {
  return validName('namespace', name);
}

export function validateIfName(name: string): string {
  return validName('interface', name);
}

export interface IpOptions {
  /** Run inside this namespace (`ip -n NS ...`). */
  ns?: string;
}

/**
 * Runs `ip [-n ns] ...args` and returns its stdout. Throws EopError(TAP_OPEN) naming the command if
 * ip is missing, times out or exits non-zero.
 */
export function ip(args: readonly string[], opts: IpOptions = {}): string {
  const full = opts.ns !== undefined ? ['-n', validateNetnsName(opts.ns), ...args] : [...args];
  const cmd = `ip ${full.join(' ')}`;
  const r = spawnSync('ip', full, { encoding: 'utf8', timeout: IP_TIMEOUT_MS });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'the ip command (iproute2) is not installed' : r.error.message;
    throw new EopError(ErrorCode.TAP_OPEN, `'${cmd}' failed: ${why}`);
  }
  if (r.status !== 0) {
    const msg = (r.stderr || r.stdout || '').trim().split('\n')[0] || `exit status ${r.status ?? r.signal}`;
    throw new EopError(ErrorCode.TAP_OPEN, `'${cmd}' failed: ${msg}`);
  }
  return r.stdout;
}

// ---- namespaces ----

/** Names of all network namespaces (`ip netns list`), optionally only those starting with prefix. */
export function netnsList(prefix?: string): string[] {
  const out = ip(['netns', 'list']);
  const names = out
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.length > 0);
  return prefix === undefined ? names : names.filter((n) => n.startsWith(prefix));
}

/** The emulator's namespaces (`eop-*`). */
export function listEopNetns(): string[] {
  return netnsList(EOP_NETNS_PREFIX);
}

export function netnsExists(ns: string): boolean {
  validateNetnsName(ns);
  return netnsList().includes(ns);
}

export function netnsAdd(ns: string): void {
  ip(['netns', 'add', validateNetnsName(ns)]);
}

/** Deletes a namespace (and the links in it); a missing one is fine unless `mustExist`. */
export function netnsDelete(ns: string, mustExist = false): void {
  validateNetnsName(ns);
  if (!mustExist && !netnsExists(ns)) return;
  ip(['netns', 'del', ns]);
}

// ---- links ----

/** True if the link exists (in `ns`, or in the current namespace). */
export function linkExists(link: string, ns?: string): boolean {
  validateIfName(link);
  try {
    ip(['link', 'show', 'dev', link], ns !== undefined ? { ns } : {});
    return true;
  } catch {
    return false;
  }
}

/** Moves a link into namespace `ns` (from `fromNs`, or the current namespace). A TAP fd stays valid. */
export function linkSetNetns(link: string, ns: string, fromNs?: string): void {
  ip(['link', 'set', 'dev', validateIfName(link), 'netns', validateNetnsName(ns)], opt(fromNs));
}

export function linkSetMac(link: string, mac: string, ns?: string): void {
  if (!MAC_RE.test(mac)) {
    throw new EopError(ErrorCode.CONFIG_INVALID, `invalid MAC address '${mac}' for ${link}: use aa:bb:cc:dd:ee:ff`);
  }
  ip(['link', 'set', 'dev', validateIfName(link), 'address', mac.toLowerCase()], opt(ns));
}

export function linkSetMtu(link: string, mtu: number, ns?: string): void {
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) {
    throw new EopError(ErrorCode.CONFIG_INVALID, `invalid MTU ${mtu} for ${link}: use an integer within 68..65535`);
  }
  ip(['link', 'set', 'dev', validateIfName(link), 'mtu', String(mtu)], opt(ns));
}

/** Sets the transmit queue length (for a TAP: frames the kernel holds for our reader before dropping). */
export function linkSetTxQueueLen(link: string, qlen: number, ns?: string): void {
  if (!Number.isInteger(qlen) || qlen < 1 || qlen > 1_000_000) {
    throw new EopError(ErrorCode.CONFIG_INVALID, `invalid txqueuelen ${qlen} for ${link}: use an integer within 1..1000000`);
  }
  ip(['link', 'set', 'dev', validateIfName(link), 'txqueuelen', String(qlen)], opt(ns));
}

export function linkSetUp(link: string, ns?: string): void {
  ip(['link', 'set', 'dev', validateIfName(link), 'up'], opt(ns));
}

export function linkSetDown(link: string, ns?: string): void {
  ip(['link', 'set', 'dev', validateIfName(link), 'down'], opt(ns));
}

/** Names of the TUN/TAP devices in the current namespace (or `ns`). */
export function tunLinks(ns?: string): string[] {
  return ip(['-o', 'link', 'show', 'type', 'tun'], opt(ns))
    .split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
    .filter((n): n is string => !!n);
}

export function linkDelete(link: string, ns?: string): void {
  ip(['link', 'del', 'dev', validateIfName(link)], opt(ns));
}

/** Adds an address in CIDR form (`10.0.0.1/24`, `fd00::1/64`) to a link. */
export function addrAdd(link: string, cidr: string, ns?: string): void {
  try {
    ipaddr.parseCIDR(cidr);
  } catch {
    throw new EopError(ErrorCode.CONFIG_INVALID, `invalid address '${cidr}' for ${link}: use CIDR form like 10.0.0.1/24`);
  }
  ip(['addr', 'add', cidr, 'dev', validateIfName(link)], opt(ns));
}

export interface LinkSetup {
  mac?: string;
  mtu?: number;
  txQueueLen?: number;
  addresses?: readonly string[];
  up?: boolean;
}

/** Configures a link already in `ns`: MAC, MTU, addresses, then up (default true). */
export function configureLink(link: string, setup: LinkSetup, ns?: string): void {
  if (setup.mac !== undefined) linkSetMac(link, setup.mac, ns);
  if (setup.mtu !== undefined) linkSetMtu(link, setup.mtu, ns);
  if (setup.txQueueLen !== undefined) linkSetTxQueueLen(link, setup.txQueueLen, ns);
  for (const a of setup.addresses ?? []) addrAdd(link, a, ns);
  if (setup.up !== false) linkSetUp(link, ns);
}

function opt(ns: string | undefined): IpOptions {
  return ns !== undefined ? { ns } : {};
}

/**
 * Removes namespaces (first ending the processes still in them, and their /etc/netns files) and then
 * links, ignoring what is already gone or refuses: for cleanup paths (after a failure, after a test)
 * that must get as far as they can.
 */
export function removeQuietly(namespaces: readonly string[], links: readonly string[] = []): void {
  for (const ns of namespaces) {
    try {
      netnsKillAll(ns);
    } catch {
      // best effort
    }
    try {
      netnsDelete(ns);
    } catch {
      // best effort: `eop down` finds what is left
    }
    try {
      netnsRemoveEtc(ns);
    } catch {
      // best effort
    }
  }
  for (const l of links) {
    try {
      if (linkExists(l)) linkDelete(l);
    } catch {
      // best effort
    }
  }
}

export interface ExecResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `cmd` inside namespace `ns` without blocking the event loop; killed after `timeoutMs`. */
export function netnsExecAsync(ns: string, cmd: readonly string[], timeoutMs = 20_000): Promise<ExecResult> {
  return new Promise((resolve) => {
    const c = spawn('ip', ['netns', 'exec', ns, ...cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const t = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.on('exit', (status) => {
      clearTimeout(t);
      resolve({ status, stdout, stderr });
    });
  });
}

// ---- processes and names inside a namespace ----

/** Where `ip netns add` pins namespaces (a bind mount of the namespace per name). */
export const NETNS_RUN_DIR = '/run/netns';

/** Where `ip netns exec` finds per-namespace files that it bind-mounts over /etc. */
export const NETNS_ETC_DIR = '/etc/netns';

/**
 * PIDs of the processes whose network namespace is `ns`: what `ip netns pids` does (compare each
 * /proc/<pid>/ns/net with /run/netns/<ns>), without a process per call, since teardown runs it for
 * every namespace.
 */
export function netnsPids(ns: string): number[] {
  validateNetnsName(ns);
  let want;
  try {
    want = statSync(`${NETNS_RUN_DIR}/${ns}`);
  } catch {
    return [];
  }
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid <= 1 || pid === process.pid) continue;
    try {
      const st = statSync(`/proc/${e}/ns/net`);
      if (st.ino === want.ino && st.dev === want.dev) out.push(pid);
    } catch {
      // gone meanwhile, or a kernel thread we may not inspect
    }
  }
  return out;
}

/** True if process `pid` exists (EPERM: it exists, owned by someone else). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** Blocks for `ms` (teardown only: it runs in signal and exit paths, where awaiting is not possible). */
function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

/**
 * Ends every process left in `ns` (started with `eop exec`, daemons like `iperf3 -s -D`): SIGTERM,
 * up to `graceMs` to exit, then SIGKILL. A process stuck in a deleted namespace would otherwise live
 * on with no network. Returns the PIDs it signalled.
 */
export function netnsKillAll(ns: string, graceMs = 1_000): number[] {
  const pids = netnsPids(ns);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + graceMs;
  let left = pids.filter(pidAlive);
  while (left.length > 0 && Date.now() < deadline) {
    sleepSync(20);
    left = left.filter(pidAlive);
  }
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/**
 * Writes `/etc/netns/<ns>/hosts` so that programs run with `ip netns exec` (and `eop exec`) resolve
 * the rack's host names: `ping h2` works inside every namespace.
 */
export function netnsWriteHosts(ns: string, entries: readonly { name: string; addrs: readonly string[] }[]): void {
  validateNetnsName(ns);
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
  for (const e of entries) {
    if (!/^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(e.name)) continue; // not a valid host name: not resolvable
    for (const a of e.addrs) lines.push(`${a}\t${e.name}`);
  }
  const dir = `${NETNS_ETC_DIR}/${ns}`;
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  writeFileSync(`${dir}/hosts`, lines.join('\n') + '\n', { mode: 0o644 });
}

/** Removes `/etc/netns/<ns>` (made by netnsWriteHosts); a missing one is fine. */
export function netnsRemoveEtc(ns: string): void {
  validateNetnsName(ns);
  rmSync(`${NETNS_ETC_DIR}/${ns}`, { recursive: true, force: true });
}

/** Names of `/etc/netns/<prefix>*` directories (leftovers after a crash). */
export function netnsEtcLeftovers(prefix: string = EOP_NETNS_PREFIX): string[] {
  try {
    return readdirSync(NETNS_ETC_DIR).filter((n) => n.startsWith(prefix) && NAME_RE.test(n));
  } catch {
    return [];
  }
}
