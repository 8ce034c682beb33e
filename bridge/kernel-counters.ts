/**
 * Losses the kernel counts, read from inside a host's namespace: the namespace side of its TAP (`ip -s
 * link`'s TX/RX dropped: TX dropped is the kernel throwing frames away because the TAP queue was full
 * while EOP was not reading fast enough; RX dropped, frames EOP wrote that the stack refused) and the
 * namespace's UDP receive-buffer and input errors (a receiving application too slow for the rate).
 * Without these a UDP test can lose most of its datagrams while every EOP counter says 0.
 *
 * How: one `ip netns exec <ns> cat …` per read (ip remounts /sys for the namespace; /proc/net is the
 * reader's namespace). That is a process per host, so it runs for status views and the final report
 * only (about once a second at most), never on a data path; the async form keeps the event loop free.
 */
import { spawn } from 'node:child_process';
import { validateIfName, validateNetnsName } from './netns.js';

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

const READ_TIMEOUT_MS = 5_000;

function args(ns: string, dev: string): string[] {
  validateNetnsName(ns);
  validateIfName(dev);
  return [
    'netns',
    'exec',
    ns,
    'cat',
    `/sys/class/net/${dev}/statistics/tx_dropped`,
    `/sys/class/net/${dev}/statistics/rx_dropped`,
    '/proc/net/snmp',
    '/proc/net/snmp6',
  ];
}

/** Parses the output of the `cat` above; null if it is not that. */
export function parseKernelCounters(text: string): KernelCounters | null {
  const lines = text.split('\n');
  const tx = Number(lines[0]);
  const rx = Number(lines[1]);
  if (!/^\d+$/.test(lines[0] ?? '') || !/^\d+$/.test(lines[1] ?? '')) return null;
  let rcvbuf = 0;
  let inErr = 0;
  // /proc/net/snmp: a "Udp:" header line of names, then a "Udp:" line of values.
  const udp = lines.filter((l) => l.startsWith('Udp: '));
  if (udp.length >= 2) {
    const names = udp[0]!.split(/\s+/).slice(1);
    const vals = udp[1]!.split(/\s+/).slice(1).map(Number);
    rcvbuf += vals[names.indexOf('RcvbufErrors')] ?? 0;
    inErr += vals[names.indexOf('InErrors')] ?? 0;
  }
  // /proc/net/snmp6: "Udp6RcvbufErrors <n>" lines.
  for (const l of lines) {
    const m = /^(Udp6RcvbufErrors|Udp6InErrors)\s+(\d+)/.exec(l);
    if (m) {
      if (m[1] === 'Udp6RcvbufErrors') rcvbuf += Number(m[2]);
      else inErr += Number(m[2]);
    }
  }
  return { tapTxDropped: tx, tapRxDropped: rx, udpRcvbufErrors: rcvbuf, udpInErrors: inErr };
}

/** Reads the counters without blocking the event loop; null if unreadable. */
export function readKernelCounters(ns: string, dev: string): Promise<KernelCounters | null> {
  return new Promise((resolve) => {
    let out = '';
    const c = spawn('ip', args(ns, dev), { stdio: ['ignore', 'pipe', 'ignore'] });
    c.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const t = setTimeout(() => c.kill('SIGKILL'), READ_TIMEOUT_MS);
    c.on('error', () => resolve(null));
    c.on('close', (code) => {
      clearTimeout(t);
      resolve(code === 0 ? parseKernelCounters(out) : null);
    });
  });
}
