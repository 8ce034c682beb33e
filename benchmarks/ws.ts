/**
 * `npm run bench:ws` (a measurement, not a test): how fast frames get through the WebSocket edge,
 * beside the TAP path, in one run.
 *
 *   (a) one WebSocket client on h4 of a served rack (`eop serve`, its own process) sends raw frames
 *       (EtherType 0x88b5) to h1's MAC as fast as the socket takes them, for `--seconds`: frames/s
 *       and Gb/s that reached h1's EOP interface, for 64-byte and 1514-byte frames (1500-byte MTU);
 *       RTT: `--pings` ICMP echoes to h1 (the page's guest), one at a time.
 *   (b) the same across an uplink: rack A (WebSocket host a4, uplink) and rack B (built-in b1,
 *       uplink) in two processes, joined by `eop attach --uplink` (a third process); frames and
 *       pings go from a4's client to b1.
 *   (c) the TAP path (root only; skipped otherwise): two TAP hosts of a served rack, iperf3 UDP
 *       unthrottled from one namespace to the other with 64-byte and 1514-byte frames, and ping.
 * Where the time goes: CPU seconds each process used during the run, per frame delivered
 * (/proc/<pid>/stat), so the cost splits into client, relay and rack.
 *
 *   npm run bench:ws [-- --seconds 3 --pings 200]
 *
 * Traffic stays on loopback and in the namespaces this makes (run it inside /work/isolated.sh or
 * on a machine where the default namespace names are free). Every process it starts is stopped.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WebSocket } from 'ws';
import { netnsExecAsync } from '../bridge/netns.js';
import { findStaticDir } from '../bridge/ws-server.js';
import type { Guest as GuestT } from '../bridge/www/guest.js';

// The page's guest (plain JS, not compiled into dist/): loaded from bridge/www at run time.
type GuestModule = typeof import('../bridge/www/guest.js');
const guestModule = (await import(pathToFileURL(join(findStaticDir()!, 'guest.js')).href)) as GuestModule;
const { Guest, parseIp } = guestModule;
type Guest = GuestT;

const here = dirname(fileURLToPath(import.meta.url));
const CLI = join(here, '..', 'src', 'cli', 'main.js');
function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a number above 0`);
  return v;
}
const SECONDS = arg('seconds', 3);
const PINGS = Math.floor(arg('pings', 200));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const dir = mkdtempSync(join(tmpdir(), 'eop-bench-ws-'));

interface Proc {
  child: ChildProcess;
  url: string;
  out: () => string;
}

async function start(args: string[]): Promise<Proc> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  for (let i = 0; i < 600 && !/^ready: /m.test(out); i++) {
    if (child.exitCode !== null) throw new Error(`eop ${args.join(' ')} exited:\n${out}`);
    await sleep(50);
  }
  if (!/^ready: /m.test(out)) throw new Error(`eop ${args.join(' ')} not ready:\n${out}`);
  return { child, url: /^ready: (http:\/\/\S+)/m.exec(out)?.[1] ?? '', out: () => out };
}

async function stop(p: Proc | undefined): Promise<void> {
  if (!p || p.child.exitCode !== null) return;
  p.child.kill('SIGTERM');
  await new Promise((r) => p.child.once('exit', r));
}

/** CPU seconds (user + system) a process has used so far. */
function cpuS(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

async function rxFrames(url: string, host: string): Promise<number> {
  const s = (await (await fetch(`${url}/api/status`)).json()) as { hosts: { name: string; rxFrames: number }[] };
  return s.hosts.find((h) => h.name === host)!.rxFrames;
}

async function openGuest(url: string, host: string): Promise<{ ws: WebSocket; g: Guest }> {
  const ws = await new Promise<WebSocket>((resolve, reject) => {
    const w = new WebSocket(`${url.replace('http', 'ws')}/hosts/${host}`, { perMessageDeflate: false });
    w.once('open', () => resolve(w));
    w.once('error', reject);
  });
  return { ws, g: new Guest(ws, [0x02, 0x5e, 0, 0, 0, 0x04]) };
}

interface Flow {
  frames: number;
  fps: number;
  gbps: number;
  cpu: Record<string, number>;
}

/**
 * Sends raw frames of `len` bytes to `dstMac` for SECONDS (keeping at most 4 MiB unsent), then waits
 * until `host` of the rack at `sinkUrl` stops receiving; rate = frames received / time to the last.
 */
async function flow(ws: WebSocket, dstMac: number[], srcMac: number[], len: number, sinkUrl: string, host: string, procs: Record<string, number>): Promise<Flow> {
  const frame = new Uint8Array(len);
  frame.set(dstMac, 0);
  frame.set(srcMac, 6);
  frame[12] = 0x88;
  frame[13] = 0xb5;
  const rx0 = await rxFrames(sinkUrl, host);
  const cpu0 = Object.fromEntries(Object.entries(procs).map(([k, pid]) => [k, cpuS(pid)]));
  const t0 = performance.now();
  let sent = 0;
  while (performance.now() - t0 < SECONDS * 1000) {
    while (ws.bufferedAmount < 4 << 20 && sent % 256 !== 255) {
      ws.send(frame);
      sent++;
    }
    sent++;
    await new Promise((r) => setImmediate(r));
  }
  let last = rx0;
  let tLast = performance.now();
  for (;;) {
    await sleep(50);
    const n = await rxFrames(sinkUrl, host);
    if (n !== last) {
      last = n;
      tLast = performance.now();
    } else if (performance.now() - tLast > 400) break;
  }
  const frames = last - rx0;
  const secs = (tLast - t0) / 1000;
  const cpu = Object.fromEntries(Object.entries(procs).map(([k, pid]) => [k, (cpuS(pid) - cpu0[k]!) / Math.max(1, frames)]));
  return { frames, fps: frames / secs, gbps: (frames * len * 8) / secs / 1e9, cpu };
}

async function rtt(g: Guest, ip: string): Promise<{ p50: number; p99: number }> {
  const r: number[] = [];
  for (let seq = 1; seq <= PINGS; seq++) r.push(await g.ping(parseIp(ip), seq, 3000));
  r.sort((a, b) => a - b);
  return { p50: r[Math.floor(r.length / 2)]!, p99: r[Math.min(r.length - 1, Math.ceil(r.length * 0.99) - 1)]! };
}

const rows: string[] = [];
function row(path: string, size: number, f: Flow | null, ping: { p50: number; p99: number } | null, note = ''): void {
  const cpu = f ? Object.entries(f.cpu).map(([k, v]) => `${k} ${(v * 1e6).toFixed(1)}`).join(', ') : '';
  rows.push(
    `| ${path} | ${size} | ${f ? Math.round(f.fps).toLocaleString('en') : '–'} | ${f ? f.gbps.toFixed(3) : '–'} | ${ping ? `${ping.p50.toFixed(3)} / ${ping.p99.toFixed(3)}` : '–'} | ${cpu}${note ? ` ${note}` : ''} |`,
  );
}

async function wsOneRack(): Promise<void> {
  const srv = await start(['serve', '--port', '0', '--no-captures']);
  try {
    const { ws, g } = await openGuest(srv.url, 'h4');
    await g.dhcp(5000);
    const ping = await rtt(g, '10.11.0.1');
    const h1 = [0x02, 0xe0, 0, 0, 0, 0x01];
    const procs = { client: process.pid, rack: srv.child.pid! };
    for (const len of [64, 1514]) row('WebSocket client → rack (h4 → h1)', len, await flow(ws, h1, g.mac, len, srv.url, 'h1', procs), len === 64 ? ping : null);
    ws.close();
  } finally {
    await stop(srv);
  }
}

async function wsUplink(): Promise<void> {
  const host = (n: string, i: string, mac: string, attach: string): string => `  - {name: ${n}, attach: ${attach}, mac: "${mac}", ipv4: 10.11.0.${i}/24, ipv6: "fd00:e0::${i}/64"}`;
  const ra = join(dir, 'ra.yaml');
  const rb = join(dir, 'rb.yaml');
  writeFileSync(ra, ['name: bench-a', 'hosts:', host('a1', '1', '02:0a:00:00:00:01', 'builtin'), host('a4', '4', '02:0a:00:00:00:04', 'websocket'), host('aup', '250', '02:0a:00:00:00:fe', 'uplink')].join('\n'));
  writeFileSync(rb, ['name: bench-b', 'hosts:', host('b1', '11', '02:0b:00:00:00:01', 'builtin'), host('bup', '251', '02:0b:00:00:00:fe', 'uplink')].join('\n'));
  let a: Proc | undefined;
  let b: Proc | undefined;
  let link: Proc | undefined;
  try {
    a = await start(['serve', ra, '--port', '0', '--no-captures']);
    b = await start(['serve', rb, '--port', '0', '--no-captures']);
    link = await start(['attach', '--uplink', a.url.replace('http', 'ws'), b.url.replace('http', 'ws')]);
    const { ws, g } = await openGuest(a.url, 'a4');
    await g.dhcp(5000);
    const ping = await rtt(g, '10.11.0.11');
    const b1 = [0x02, 0x0b, 0, 0, 0, 0x01];
    const procs = { client: process.pid, 'rack A': a.child.pid!, relay: link.child.pid!, 'rack B': b.child.pid! };
    for (const len of [64, 1514]) row('WebSocket client → rack A → uplink → rack B', len, await flow(ws, b1, g.mac, len, b.url, 'b1', procs), len === 64 ? ping : null);
    ws.close();
  } finally {
    await stop(link);
    await stop(a);
    await stop(b);
  }
}

async function tapPath(): Promise<void> {
  if (process.getuid?.() !== 0 || spawnSync('sh', ['-c', 'command -v iperf3']).status !== 0) {
    row('TAP namespace → TAP namespace (skipped: needs root and iperf3)', 0, null, null);
    return;
  }
  const rack = join(dir, 'rt.yaml');
  writeFileSync(rack, 'name: bench-tap\nhosts:\n  - {name: t1, attach: tap}\n  - {name: t2, attach: tap}\n');
  const srv = await start(['serve', rack, '--port', '0', '--no-captures', '--ns-prefix', 'eopbench-']);
  try {
    const p = await netnsExecAsync('eopbench-t1', ['ping', '-c', String(PINGS), '-i', '0.01', '-q', '10.11.0.2'], 120_000);
    const m = /= [\d.]+\/([\d.]+)\/([\d.]+)/.exec(p.stdout);
    const ping = m ? { p50: Number(m[1]), p99: Number(m[2]) } : null; // ping prints avg and max
    for (const len of [64, 1514]) {
      const server = netnsExecAsync('eopbench-t2', ['iperf3', '-s', '-1', '-p', '5311'], (SECONDS + 30) * 1000);
      await sleep(300);
      const cpu0 = cpuS(srv.child.pid!);
      const r = await netnsExecAsync('eopbench-t1', ['iperf3', '-c', '10.11.0.2', '-p', '5311', '-u', '-b', '0', '-l', String(len - 42), '-t', String(SECONDS), '-J'], (SECONDS + 30) * 1000);
      await server;
      const j = JSON.parse(r.stdout) as { end: { sum: { packets: number; lost_packets: number; seconds: number } } };
      const frames = j.end.sum.packets - j.end.sum.lost_packets;
      const secs = j.end.sum.seconds;
      row('TAP namespace → TAP namespace (iperf3 UDP)', len, { frames, fps: frames / secs, gbps: (frames * len * 8) / secs / 1e9, cpu: { rack: (cpuS(srv.child.pid!) - cpu0) / Math.max(1, frames) } }, len === 64 ? ping : null, len === 64 ? '(ping: avg / max)' : '');
    }
  } finally {
    await stop(srv);
  }
}

await wsOneRack();
await wsUplink();
await tapPath();
console.log(`\nbench:ws (${SECONDS} s per flow, ${PINGS} pings; frames are sent as fast as the path takes them)\n`);
console.log('| path | frame bytes | frames/s received | Gb/s | RTT ms p50 / p99 | CPU µs per frame delivered |');
console.log('|---|---:|---:|---:|---:|---|');
for (const r of rows) console.log(r);
