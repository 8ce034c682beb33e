/**
 * Losses the kernel counts, read from inside a host's namespace: the namespace side of its TAP (TX
 * dropped is the kernel throwing frames away because the TAP queue was full while EOP was not reading
 * fast enough; RX dropped, frames EOP wrote that the stack refused) and the namespace's UDP
 * receive-buffer and input errors (a receiving application too slow for the rate). Without these a
 * UDP test can lose most of its datagrams while every EOP counter says 0.
 *
 * How: /proc/<pid>/net/{dev,snmp,snmp6} show the network namespace of process <pid>, so each TAP
 * namespace gets one idle anchor process (`cat` reading a pipe from us: it exits with us, even after
 * SIGKILL) and a read is three small file reads. Spawning `ip netns exec … cat` per read, as before,
 * forked from the emulator's event loop every second and put 40–110 ms spikes into ping RTTs.
 * The anchor's namespace is checked on every read (inode of /proc/<pid>/ns/net against
 * /run/netns/<ns>), so a killed anchor whose PID was reused is never read; a dead one is restarted at
 * most every ANCHOR_RESPAWN_MS.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { NETNS_RUN_DIR, validateIfName, validateNetnsName } from './netns.js';

export interface KernelCounters {
  /** Namespace side of the TAP: frames the kernel dropped on the way to EOP (queue full). */
  tapTxDropped: number;
  /** Namespace side of the TAP: frames from EOP the kernel dropped on receive. */
  tapRxDropped: number;
  /** UDP (IPv4 + IPv6) datagrams dropped because a socket's receive buffer was full. */
  udpRcvbufErrors: number;
  /** UDP (IPv4 + IPv6) datagrams dropped on input for any reason (includes the above). */
  udpInErrors: number;
}

const ANCHOR_RESPAWN_MS = 5_000;

/** Receive and transmit "drop" columns of `dev` in /proc/net/dev; null if the device is not listed. */
export function parseNetDevDrops(text: string, dev: string): { rxDropped: number; txDropped: number } | null {
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0 || line.slice(0, colon).trim() !== dev) continue;
    // bytes packets errs drop fifo frame compressed multicast | bytes packets errs drop …
    const v = line.slice(colon + 1).trim().split(/\s+/);
    if (v.length < 16 || !v.every((x) => /^\d+$/.test(x))) return null;
    return { rxDropped: Number(v[3]), txDropped: Number(v[11]) };
  }
  return null;
}

/** UDP (IPv4 + IPv6) receive-buffer and input errors from /proc/net/snmp and snmp6 (0 if absent). */
export function parseUdpErrors(snmp: string, snmp6: string): { udpRcvbufErrors: number; udpInErrors: number } {
  let rcvbuf = 0;
  let inErr = 0;
  // /proc/net/snmp: a "Udp:" header line of names, then a "Udp:" line of values.
  const udp = snmp.split('\n').filter((l) => l.startsWith('Udp: '));
  if (udp.length >= 2) {
    const names = udp[0]!.split(/\s+/).slice(1);
    const vals = udp[1]!.split(/\s+/).slice(1).map(Number);
    rcvbuf += vals[names.indexOf('RcvbufErrors')] ?? 0;
    inErr += vals[names.indexOf('InErrors')] ?? 0;
  }
  // /proc/net/snmp6: "Udp6RcvbufErrors <n>" lines.
  for (const l of snmp6.split('\n')) {
    const m = /^(Udp6RcvbufErrors|Udp6InErrors)\s+(\d+)/.exec(l);
    if (m) {
      if (m[1] === 'Udp6RcvbufErrors') rcvbuf += Number(m[2]);
      else inErr += Number(m[2]);
    }
  }
  return { udpRcvbufErrors: rcvbuf, udpInErrors: inErr };
}

/** The counters from the three files' text; null if the TAP is not in /proc/net/dev. */
export function parseKernelCounters(netDev: string, snmp: string, snmp6: string, dev: string): KernelCounters | null {
  const d = parseNetDevDrops(netDev, dev);
  if (!d) return null;
  return { tapTxDropped: d.txDropped, tapRxDropped: d.rxDropped, ...parseUdpErrors(snmp, snmp6) };
}

/** Reads one TAP namespace's counters through its anchor process. */
export class KernelCounterReader {
  private child: ChildProcess | null = null;
  private alive = false;
  private spawnedAt = -Infinity;
  private closed = false;
  private readonly nsIno: number;
  private readonly nsDev: number;

  constructor(
    readonly ns: string,
    readonly dev: string,
  ) {
    validateNetnsName(ns);
    validateIfName(dev);
    const st = statSync(`${NETNS_RUN_DIR}/${ns}`);
    this.nsIno = st.ino;
    this.nsDev = st.dev;
    this.spawnAnchor();
  }

  /** The counters now; null while the anchor is (re)starting or if the namespace is gone. */
  async read(): Promise<KernelCounters | null> {
    if (this.closed) return null;
    if (!this.alive) {
      if (Date.now() - this.spawnedAt >= ANCHOR_RESPAWN_MS) this.spawnAnchor();
      return null;
    }
    const pid = this.child?.pid;
    if (pid === undefined) return null;
    try {
      // Until `ip netns exec` has switched namespaces the anchor is still in ours: not yet.
      const st = await stat(`/proc/${pid}/ns/net`);
      if (st.ino !== this.nsIno || st.dev !== this.nsDev) return null;
      const [netDev, snmp, snmp6] = await Promise.all([
        readFile(`/proc/${pid}/net/dev`, 'utf8'),
        readFile(`/proc/${pid}/net/snmp`, 'utf8'),
        readFile(`/proc/${pid}/net/snmp6`, 'utf8').catch(() => ''), // no IPv6: no snmp6
      ]);
      // The anchor may have been replaced by another process with its PID between stat and read.
      if (!this.alive) return null;
      return parseKernelCounters(netDev, snmp, snmp6, this.dev);
    } catch {
      return null;
    }
  }

  close(): void {
    this.closed = true;
    this.alive = false;
    try {
      this.child?.kill('SIGKILL');
    } catch {
      // already gone
    }
    this.child = null;
  }

  private spawnAnchor(): void {
    this.spawnedAt = Date.now();
    let c: ChildProcess;
    try {
      c = spawn('ip', ['netns', 'exec', this.ns, 'cat'], { stdio: ['pipe', 'ignore', 'ignore'] });
    } catch {
      return;
    }
    this.child = c;
    this.alive = true;
    const gone = (): void => {
      if (this.child === c) this.alive = false;
    };
    c.on('error', gone);
    c.on('exit', gone);
    c.stdin?.on('error', () => {}); // EPIPE once it is gone: nothing to do
    // Neither the anchor nor its pipe keeps the emulator running.
    c.unref();
    (c.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  }
}
