/**
 * `npm run bench:ws` (a measurement, not a test): how fast frames get through the WebSocket edge,
 * beside the TAP path, in one run, and where each process's CPU time goes.
 *
 *   (a) one WebSocket client on h4 of a served rack (`eop serve`, its own process) sends raw frames
 *       (EtherType 0x88b5) to h1's MAC as fast as the socket takes them, for `--seconds`: frames/s
 *       and Gb/s that reached h1's EOP interface, for 64-byte and 1514-byte frames (1500-byte MTU);
 *       RTT: `--pings` ICMP echoes to h1 (the page's guest), one at a time.
 *   (b) the same across an uplink: rack A (WebSocket host a4, uplink) and rack B (built-in b1,
 *       uplink) in two processes, joined by `eop attach --uplink` (a third process); frames and
 *       pings go from a4's client to b1.
 *   (c) the TAP path (root and iperf3; skipped otherwise): two TAP hosts of a served rack, iperf3
 *       UDP unthrottled from one namespace to the other with 64-byte and 1514-byte frames
 *       (received datagrams), and ping RTT (each reply's time);
 *   (d) the TAP path across an uplink: a TAP host in rack A to a TAP host in rack B, joined as (b).
 * Ratios: each WebSocket row's frames/s and RTT p50 over the TAP row of the same frame size and
 * shape (one rack, or across an uplink), measured in the same run.
 *
 * Where the time goes: every process's CPU time (user + system, /proc/<pid>/stat) per frame
 * delivered, split into stages (the `ws` library, Node's sockets and streams, native calls, the
 * WebSocket edge, the EOP driver, the PCIe model, the live runner, ...) by the shares of that
 * process's V8 CPU profile samples taken during the flow (cpu-profile.ts): racks and the relay run
 * with `node --cpu-prof`, the client (this process) is profiled through the inspector. The
 * sampling profiler costs every process alike (a few %).
 *
 *   npm run bench:ws [-- --seconds 3 --pings 200]
 *
 * Traffic stays on loopback and in the namespaces this makes (`eopbench-*`; run it inside
 * /work/isolated.sh or on a machine where those names are free). Every process it starts is stopped.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WebSocket } from 'ws';
import { netnsExecAsync } from '../bridge/netns.js';
import { findStaticDir } from '../bridge/ws-server.js';
import type { Guest as GuestT } from '../bridge/www/guest.js';
import { formatSplit, loadProfile, monotonicUs, stageShares, type CpuProfile } from './cpu-profile.js';

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
const SIZES = [64, 1514] as const;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const dir = mkdtempSync(join(tmpdir(), 'eop-bench-ws-'));
const profDir = join(dir, 'profiles');

interface Proc {
  child: ChildProcess;
  url: string;
  label: string;
}

let procSeq = 0;
/** Starts `eop <args>` under the sampling profiler; resolves at its "ready" line. */
async function start(args: string[], label: string): Promise<Proc> {
  const file = `${++procSeq}-${label.replace(/\W+/g, '_')}.cpuprofile`;
  const child = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${profDir}`, `--cpu-prof-name=${file}`, CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  for (let i = 0; i < 600 && !/^ready: /m.test(out); i++) {
    if (child.exitCode !== null) throw new Error(`eop ${args.join(' ')} exited:\n${out}`);
    await sleep(50);
  }
  if (!/^ready: /m.test(out)) throw new Error(`eop ${args.join(' ')} not ready:\n${out}`);
  const p = { child, url: /^ready: (http:\/\/\S+)/m.exec(out)?.[1] ?? '', label };
  profileFile.set(p, join(profDir, file));
  return p;
}

const profileFile = new Map<Proc, string>();

/** Stops a process (its profile is written as it exits) and settles the breakdowns waiting for it. */
async function stop(p: Proc | undefined): Promise<void> {
  if (!p) return;
  if (p.child.exitCode === null) {
    p.child.kill('SIGTERM');
    await new Promise((r) => p.child.once('exit', r));
  }
  const f = profileFile.get(p)!;
  const prof = existsSync(f) ? loadProfile(f) : null;
  for (const w of waiting.filter((x) => x.proc === p)) w.settle(prof);
}

/** CPU seconds (user + system) a process has used so far. */
function cpuS(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

// ---- the client's own profile (this process), through the inspector ----
const session = new Session();
session.connect();
const post = <T>(method: string, params?: object): Promise<T> =>
  new Promise((resolve, reject) => session.post(method, params ?? {}, (e, r) => (e ? reject(e) : resolve(r as T))));
await post('Profiler.enable');
await post('Profiler.setSamplingInterval', { interval: 1000 });

// ---- a flow's breakdown: per process, CPU per frame split by its profile over the flow ----
interface Split {
  label: string;
  usPerFrame: number;
  text: string;
}
interface Waiting {
  proc: Proc;
  settle: (p: CpuProfile | null) => void;
}
const waiting: Waiting[] = [];

interface Flow {
  frames: number;
  fps: number;
  gbps: number;
  splits: Promise<Split>[];
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

/**
 * Measures `run` (which returns the frames delivered): CPU of every process in `procs` and of this
 * one, and the window on the profiles' clock; each process's split settles when it is stopped.
 */
async function measured(procs: Proc[], withClient: boolean, run: () => Promise<{ frames: number; secs: number; len: number }>): Promise<Flow> {
  const cpu0 = new Map(procs.map((p) => [p, cpuS(p.child.pid!)]));
  const me0 = process.cpuUsage();
  if (withClient) await post('Profiler.start');
  const t0 = monotonicUs();
  const r = await run();
  const t1 = monotonicUs();
  const clientProf = withClient ? (await post<{ profile: CpuProfile }>('Profiler.stop')).profile : null;
  const n = Math.max(1, r.frames);
  const splits: Promise<Split>[] = procs.map((p) => {
    const usPerFrame = ((cpuS(p.child.pid!) - cpu0.get(p)!) * 1e6) / n;
    return new Promise<Split>((resolve) =>
      waiting.push({
        proc: p,
        settle: (prof) => resolve({ label: p.label, usPerFrame, text: prof ? formatSplit(stageShares(prof, t0, t1).shares, usPerFrame) : '(no profile)' }),
      }),
    );
  });
  if (clientProf) {
    const u = process.cpuUsage(me0);
    const usPerFrame = (u.user + u.system) / n;
    splits.unshift(Promise.resolve({ label: 'client', usPerFrame, text: formatSplit(stageShares(clientProf, t0, t1).shares, usPerFrame) }));
  }
  return { frames: r.frames, fps: r.frames / r.secs, gbps: (r.frames * r.len * 8) / r.secs / 1e9, splits };
}

/**
 * Sends raw frames of `len` bytes to `dstMac` for SECONDS (keeping at most 4 MiB unsent), then waits
 * until `host` of the rack at `sinkUrl` stops receiving; rate = frames received / time to the last.
 */
function wsFlow(ws: WebSocket, dstMac: number[], srcMac: number[], len: number, sinkUrl: string, host: string) {
  return async (): Promise<{ frames: number; secs: number; len: number }> => {
    const frame = new Uint8Array(len);
    frame.set(dstMac, 0);
    frame.set(srcMac, 6);
    frame[12] = 0x88;
    frame[13] = 0xb5;
    const rx0 = await rxFrames(sinkUrl, host);
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
    return { frames: last - rx0, secs: (tLast - t0) / 1000, len };
  };
}

interface Rtt {
  p50: number;
  p99: number;
}
const pct = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * q) - 1))]!;

/** One at a time, after 3 unmeasured ones (ARP); each reply's time. */
async function wsRtt(g: Guest, ip: string): Promise<Rtt> {
  for (let seq = 1; seq <= 3; seq++) await g.ping(parseIp(ip), 60_000 + seq, 3000);
  const r: number[] = [];
  for (let seq = 1; seq <= PINGS; seq++) r.push(await g.ping(parseIp(ip), seq, 3000));
  r.sort((a, b) => a - b);
  return { p50: pct(r, 0.5), p99: pct(r, 0.99) };
}

/** ping from a namespace, every 10 ms, after 3 unmeasured ones (ARP); each reply's time. */
async function tapRtt(ns: string, ip: string): Promise<Rtt | null> {
  await netnsExecAsync(ns, ['ping', '-c', '3', '-i', '0.2', '-W', '2', ip], 30_000);
  const p = await netnsExecAsync(ns, ['ping', '-c', String(PINGS), '-i', '0.01', '-W', '2', ip], 120_000);
  const r = [...p.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
  return r.length ? { p50: pct(r, 0.5), p99: pct(r, 0.99) } : null;
}

/** iperf3 UDP unthrottled, datagrams sized to make `len`-byte frames; received frames. */
function tapFlow(nsC: string, nsS: string, ip: string, len: number) {
  return async (): Promise<{ frames: number; secs: number; len: number }> => {
    const server = netnsExecAsync(nsS, ['iperf3', '-s', '-1', '-p', '5311'], (SECONDS + 30) * 1000);
    await sleep(300);
    const r = await netnsExecAsync(nsC, ['iperf3', '-c', ip, '-p', '5311', '-u', '-b', '0', '-l', String(len - 42), '-t', String(SECONDS), '-J'], (SECONDS + 30) * 1000);
    await server;
    const j = JSON.parse(r.stdout) as { end: { sum: { packets: number; lost_packets: number; seconds: number } } };
    return { frames: j.end.sum.packets - j.end.sum.lost_packets, secs: j.end.sum.seconds, len };
  };
}

interface Row {
  path: string;
  shape: 'one rack' | 'uplink';
  kind: 'ws' | 'tap';
  len: number;
  flow: Flow | null;
  rtt: Rtt | null;
  note?: string;
}
const rows: Row[] = [];

async function wsOneRack(): Promise<void> {
  const srv = await start(['serve', '--port', '0', '--no-captures'], 'rack');
  try {
    const { ws, g } = await openGuest(srv.url, 'h4');
    await g.dhcp(5000);
    const rtt = await wsRtt(g, '10.11.0.1');
    const h1 = [0x02, 0xe0, 0, 0, 0, 0x01];
    for (const len of SIZES) {
      const flow = await measured([srv], true, wsFlow(ws, h1, g.mac, len, srv.url, 'h1'));
      rows.push({ path: 'WebSocket client → rack (h4 → h1)', shape: 'one rack', kind: 'ws', len, flow, rtt: len === 64 ? rtt : null });
    }
    ws.close();
  } finally {
    await stop(srv);
  }
}

const hostLine = (n: string, i: string, mac: string, attach: string): string => `  - {name: ${n}, attach: ${attach}, mac: "${mac}", ipv4: 10.11.0.${i}/24, ipv6: "fd00:e0::${i}/64"}`;

/** Racks A and B (their first hosts of `attach`), joined by eop attach --uplink. */
async function twoRacks(attach: 'websocket' | 'tap', body: (a: Proc, b: Proc, link: Proc) => Promise<void>): Promise<void> {
  const ra = join(dir, `ra-${attach}.yaml`);
  const rb = join(dir, `rb-${attach}.yaml`);
  writeFileSync(ra, ['name: bench-a', 'hosts:', hostLine('a1', '1', '02:0a:00:00:00:01', attach === 'tap' ? 'tap' : 'builtin'), hostLine('a4', '4', '02:0a:00:00:00:04', attach === 'tap' ? 'builtin' : 'websocket'), hostLine('aup', '250', '02:0a:00:00:00:fe', 'uplink')].join('\n'));
  writeFileSync(rb, ['name: bench-b', 'hosts:', hostLine('b1', '11', '02:0b:00:00:00:01', attach === 'tap' ? 'tap' : 'builtin'), hostLine('bup', '251', '02:0b:00:00:00:fe', 'uplink')].join('\n'));
  const nsPrefix = (p: string): string[] => (attach === 'tap' ? ['--ns-prefix', p] : []);
  let a: Proc | undefined;
  let b: Proc | undefined;
  let link: Proc | undefined;
  try {
    a = await start(['serve', ra, '--port', '0', '--no-captures', ...nsPrefix('eopbench-a-')], 'rack A');
    b = await start(['serve', rb, '--port', '0', '--no-captures', ...nsPrefix('eopbench-b-')], 'rack B');
    link = await start(['attach', '--uplink', a.url.replace('http', 'ws'), b.url.replace('http', 'ws')], 'relay');
    await body(a, b, link);
  } finally {
    await stop(link);
    await stop(a);
    await stop(b);
  }
}

async function wsUplink(): Promise<void> {
  await twoRacks('websocket', async (a, b, link) => {
    const { ws, g } = await openGuest(a.url, 'a4');
    await g.dhcp(5000);
    const rtt = await wsRtt(g, '10.11.0.11');
    const b1 = [0x02, 0x0b, 0, 0, 0, 0x01];
    for (const len of SIZES) {
      const flow = await measured([a, link, b], true, wsFlow(ws, b1, g.mac, len, b.url, 'b1'));
      rows.push({ path: 'WebSocket client → rack A → uplink → rack B', shape: 'uplink', kind: 'ws', len, flow, rtt: len === 64 ? rtt : null });
    }
    ws.close();
  });
}

const canTap = process.getuid?.() === 0 && spawnSync('sh', ['-c', 'command -v iperf3']).status === 0;

async function tapOneRack(): Promise<void> {
  const rack = join(dir, 'rt.yaml');
  writeFileSync(rack, 'name: bench-tap\nhosts:\n  - {name: t1, attach: tap}\n  - {name: t2, attach: tap}\n');
  const srv = await start(['serve', rack, '--port', '0', '--no-captures', '--ns-prefix', 'eopbench-'], 'rack');
  try {
    const rtt = await tapRtt('eopbench-t1', '10.11.0.2');
    for (const len of SIZES) {
      const flow = await measured([srv], false, tapFlow('eopbench-t1', 'eopbench-t2', '10.11.0.2', len));
      rows.push({ path: 'TAP namespace → rack → TAP namespace (iperf3 UDP)', shape: 'one rack', kind: 'tap', len, flow, rtt: len === 64 ? rtt : null });
    }
  } finally {
    await stop(srv);
  }
}

async function tapUplink(): Promise<void> {
  await twoRacks('tap', async (a, b, link) => {
    const rtt = await tapRtt('eopbench-a-a1', '10.11.0.11');
    for (const len of SIZES) {
      const flow = await measured([a, link, b], false, tapFlow('eopbench-a-a1', 'eopbench-b-b1', '10.11.0.11', len));
      rows.push({ path: 'TAP namespace → rack A → uplink → rack B → TAP namespace (iperf3 UDP)', shape: 'uplink', kind: 'tap', len, flow, rtt: len === 64 ? rtt : null });
    }
  });
}

await wsOneRack();
await wsUplink();
if (canTap) {
  await tapOneRack();
  await tapUplink();
} else {
  rows.push({ path: 'TAP paths (skipped: need root and iperf3)', shape: 'one rack', kind: 'tap', len: 0, flow: null, rtt: null });
}
session.disconnect();

const peer = (r: Row): Row | undefined => rows.find((x) => x.kind === 'tap' && x.shape === r.shape && x.len === r.len && x.flow);
const ratio = (a: number | undefined, b: number | undefined): string => (a !== undefined && b ? `${(a / b).toFixed(2)}×` : '–');
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`\nbench:ws (${SECONDS} s per flow, ${PINGS} pings; frames are sent as fast as the path takes them; load average ${load} at the end)\n`);
console.log('| path | frame bytes | frames/s received | Gb/s | RTT ms p50 / p99 | frames/s ÷ TAP | RTT p50 ÷ TAP | CPU µs per frame delivered |');
console.log('|---|---:|---:|---:|---:|---:|---:|---|');
for (const r of rows) {
  const f = r.flow;
  const splits = f ? await Promise.all(f.splits) : [];
  const cpu = splits.map((s) => `${s.label} ${s.usPerFrame.toFixed(1)}`).join(', ');
  const p = r.kind === 'ws' ? peer(r) : undefined;
  const tapRttRow = r.kind === 'ws' && r.rtt ? rows.find((x) => x.kind === 'tap' && x.shape === r.shape && x.rtt) : undefined;
  console.log(
    `| ${r.path} | ${r.len || '–'} | ${f ? Math.round(f.fps).toLocaleString('en') : '–'} | ${f ? f.gbps.toFixed(3) : '–'} | ${r.rtt ? `${r.rtt.p50.toFixed(3)} / ${r.rtt.p99.toFixed(3)}` : '–'} | ${r.kind === 'ws' ? ratio(f?.fps, p?.flow?.fps) : ''} | ${r.kind === 'ws' && r.rtt ? ratio(r.rtt.p50, tapRttRow?.rtt?.p50) : ''} | ${cpu} |`,
  );
}
console.log('\nWhere the time goes: CPU µs per frame delivered, per process, split by its profile samples during the flow (idle excluded):\n');
for (const r of rows) {
  if (!r.flow) continue;
  console.log(`${r.path}, ${r.len} B:`);
  for (const s of await Promise.all(r.flow.splits)) console.log(`  ${s.label} ${s.usPerFrame.toFixed(1)}: ${s.text}`);
}
console.log(`\n(profiles: ${profDir})`);
