/**
 * `npm run bench:live` (a measurement, not a test): real traffic between two network namespaces
 * through several paths, in one run:
 *   (a) a veth pair, with the kernel's offloads (TSO/GSO/GRO, checksum) on and off;
 *   (b) vde_switch with two TAPs (Debian package vde2) — the reference for the ratios;
 *   (c) EOP full model (`eop up`, two TAP hosts, Gen3 x8), captures off, MTU 1500 (with and without
 *       GRO into the namespaces, and with busy polling: `--busy-poll-ms 20`) and 65,510;
 *   (d) the same with captures on;
 *   (e) the floor: EOP's TAP addon forwarding with no model (null-forwarder.ts), what any Node.js
 *       process on this addon gets at best.
 * For each: iperf3 TCP (one stream, 5 s), iperf3 UDP (1400-byte datagrams, unthrottled: received
 * Gb/s and loss) and ping RTT (100 pings at 10 ms, --interval), with the CPU the switching process (vde_switch,
 * eop) used during the pings (busy polling shows there). Prints a table with each path's ratio to
 * (b), and for EOP the emulator's own view (late event batches = slower than the model, drops).
 * Then the RTT target's comparison proper: (b), (e) and (c) with eop's defaults up at the same
 * time, their pings alternating in rounds, so that drift in the machine's state weighs on all alike.
 *
 *   npm run bench:live [-- --seconds 5 --pings 100 --only veth,vde,eop,floor]
 *
 * Needs root, /dev/net/tun, ip, iperf3, ping; vde_switch and ethtool for (b) and (a) without
 * offloads (skipped with a note if missing). Namespaces: eoptest-l1/eoptest-l2 for (a) and (b),
 * eop-h1/eop-h2 (made and removed by `eop up`) for (c)/(d), eopbp-h1/eopbp-h2 for the busy-polling
 * rack of the interleaved rounds, eoptest-l3/eoptest-l4 for (e). Everything is removed at the end, also
 * on failure. All traffic stays inside these namespaces.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ip, linkExists, netnsAdd, netnsExecAsync, removeQuietly } from '../bridge/netns.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');
const NS1 = 'eoptest-l1';
const NS2 = 'eoptest-l2';
/** The null forwarder's namespaces: apart from vde_switch's, as both run at once in the RTT duel. */
const NS3 = 'eoptest-l3';
const NS4 = 'eoptest-l4';
const NULL_FORWARDER = join(dirname(fileURLToPath(import.meta.url)), 'null-forwarder.js');
const IP1 = '10.11.0.1';
const IP2 = '10.11.0.2';

const USAGE = `usage: npm run bench:live [-- --seconds N --pings N --interval MS --only veth,vde,eop,floor --baseline DIR]
  --seconds N     length of each iperf3 run (1..600, default 5)
  --pings N       pings per path (1..10000, default 100)
  --interval MS   time between pings (1..1000 ms, default 10: the host sleeps between them, its
                  caches go cold; at 1 ms they stay warm)
  --only LIST     paths to measure: veth, vde, eop, floor (the null forwarder; default all; the
                  ratios need vde)
  --baseline DIR  also measure another checkout's build (DIR/dist/src/cli/main.js, its addon
                  built), captures off, MTU 1500: before/after rows in one run
Needs root, /dev/net/tun, ip, iperf3, ping; vde_switch (vde2) and ethtool for two of the rows.`;

function options(): { seconds: number; pings: number; intervalMs: number; only: string[] | undefined; baseline: string | undefined } {
  let v;
  try {
    v = parseArgs({ options: { seconds: { type: 'string' }, pings: { type: 'string' }, interval: { type: 'string' }, only: { type: 'string' }, baseline: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true }).values;
  } catch (e) {
    process.stderr.write(`bench:live: ${(e as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (v.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const int = (name: string, text: string | undefined, dflt: number, max: number): number => {
    if (text === undefined) return dflt;
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < 1 || n > max) {
      process.stderr.write(`bench:live: --${name} must be an integer from 1 to ${max} (got "${text}")\n`);
      process.exit(2);
    }
    return n;
  };
  const only = v.only?.split(',');
  const bad = only?.filter((o) => !['veth', 'vde', 'eop', 'floor'].includes(o)) ?? [];
  if (bad.length > 0) {
    process.stderr.write(`bench:live: --only takes veth, vde, eop, floor (got ${bad.join(', ')})\n`);
    process.exit(2);
  }
  let baseline: string | undefined;
  if (v.baseline !== undefined) {
    baseline = join(v.baseline, 'dist', 'src', 'cli', 'main.js');
    if (!existsSync(baseline)) {
      process.stderr.write(`bench:live: --baseline: ${baseline} does not exist (build that checkout: npx tsc -b, npm run build:addon)\n`);
      process.exit(2);
    }
  }
  return { seconds: int('seconds', v.seconds, 5, 600), pings: int('pings', v.pings, 100, 10_000), intervalMs: int('interval', v.interval, 10, 1000), only, baseline };
}
const { seconds: SECONDS, pings: PINGS, intervalMs: INTERVAL_MS, only: ONLY, baseline: BASELINE_CLI } = options();

/** Rounds of the interleaved RTT comparison (an even number: each order forward and backward alike). */
const DUEL_ROUNDS = 6;
/** The busy-polling side of the interleaved rounds (as bench:live's busy-poll row). */
const DUEL_BUSY_POLL_MS = 20;

function has(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

interface Result {
  path: string;
  tcpGbps: number | null;
  tcpRetr: number | null;
  udpGbps: number | null;
  udpLossPct: number | null;
  rttMs: number | null;
  /** Median of the pings' RTTs (a loaded machine's outliers move the mean, not this). */
  rttMedianMs: number | null;
  /** CPU time of the switching process during the pings, % of one core (null: not measured). */
  pingCpuPct: number | null;
  note: string;
}

/** utime + stime of a process, in seconds (Linux /proc), or null if unreadable. */
function cpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) in parentheses: utime is the 12th, stime the 13th.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return null;
  }
}
/** USER_HZ: the unit of /proc/<pid>/stat times (100 on every Linux architecture Node runs on). */
const CLK_TCK = 100;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));


async function iperf(nsC: string, nsS: string, dst: string, udp: boolean): Promise<{ gbps: number; retr: number; lossPct: number } | string> {
  const port = udp ? '5302' : '5301';
  const server = netnsExecAsync(nsS, ['iperf3', '-s', '-1', '-p', port], (SECONDS + 30) * 1000);
  await sleep(300);
  const args = ['iperf3', '-c', dst, '-p', port, '-t', String(SECONDS), '-J'];
  if (udp) args.push('-u', '-b', '0', '-l', '1400');
  const r = await netnsExecAsync(nsC, args, (SECONDS + 25) * 1000);
  await server;
  try {
    const j = JSON.parse(r.stdout) as {
      error?: string;
      end: { sum_sent?: { retransmits?: number }; sum_received?: { bits_per_second: number }; sum?: { bits_per_second: number; lost_percent: number } };
    };
    if (j.error) return j.error;
    // A UDP client's `end.sum` is the sender's view (bytes sent, `sender: true`); what the receiver
    // got is `sum_received` (iperf3 3.9 and later), `sum` only in older versions.
    if (udp) return { gbps: (j.end.sum_received ?? j.end.sum!).bits_per_second / 1e9, retr: 0, lossPct: j.end.sum!.lost_percent };
    return { gbps: j.end.sum_received!.bits_per_second / 1e9, retr: j.end.sum_sent?.retransmits ?? 0, lossPct: 0 };
  } catch {
    return `iperf3 failed: ${(r.stderr || r.stdout).slice(0, 200)}`;
  }
}

/** Per-ping RTTs of `count` pings every INTERVAL_MS from `ns` to `dst`, ms (lost ones are missing). */
async function pingTimes(ns: string, dst: string, count: number): Promise<number[]> {
  const r = await netnsExecAsync(ns, ['ping', '-c', String(count), '-i', String(INTERVAL_MS / 1000), '-W', '1', dst], 60_000 + count * (INTERVAL_MS + 10));
  return [...r.stdout.matchAll(/time=([\d.]+) ms/g)].map((t) => Number(t[1]));
}

function median(v: number[]): number | null {
  if (v.length === 0) return null;
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function mean(v: number[]): number | null {
  return v.length === 0 ? null : v.reduce((a, b) => a + b, 0) / v.length;
}

/** ping's average RTT and the median of its per-ping times, ms. */
async function pingRtt(ns: string, dst: string): Promise<{ meanMs: number | null; medianMs: number | null }> {
  const times = await pingTimes(ns, dst, PINGS);
  return { meanMs: mean(times), medianMs: median(times) };
}

async function measure(path: string, switchPid?: number): Promise<Result> {
  const res: Result = { path, tcpGbps: null, tcpRetr: null, udpGbps: null, udpLossPct: null, rttMs: null, rttMedianMs: null, pingCpuPct: null, note: '' };
  // warm-up (ARP/ND, JIT)
  await netnsExecAsync(currentNs1, ['ping', '-c', '3', '-i', '0.05', '-W', '1', IP2], 10_000);
  const tcp = await iperf(currentNs1, currentNs2, IP2, false);
  if (typeof tcp === 'string') res.note += ` tcp: ${tcp}`;
  else {
    res.tcpGbps = tcp.gbps;
    res.tcpRetr = tcp.retr;
  }
  const udp = await iperf(currentNs1, currentNs2, IP2, true);
  if (typeof udp === 'string') res.note += ` udp: ${udp}`;
  else {
    res.udpGbps = udp.gbps;
    res.udpLossPct = udp.lossPct;
  }
  const cpu0 = cpuSeconds(switchPid);
  const t0 = performance.now();
  const rtt = await pingRtt(currentNs1, IP2);
  res.rttMs = rtt.meanMs;
  res.rttMedianMs = rtt.medianMs;
  const cpu1 = cpuSeconds(switchPid);
  if (cpu0 !== null && cpu1 !== null) res.pingCpuPct = ((cpu1 - cpu0) / ((performance.now() - t0) / 1000)) * 100;
  process.stderr.write(`  ${path}: tcp ${res.tcpGbps?.toFixed(2)} Gb/s, udp ${res.udpGbps?.toFixed(2)} Gb/s (${res.udpLossPct?.toFixed(1)} % loss), rtt ${res.rttMs} ms (median ${res.rttMedianMs})${res.pingCpuPct !== null ? ` (switch CPU ${res.pingCpuPct.toFixed(0)} %)` : ''}\n`);
  return res;
}

let currentNs1 = NS1;
let currentNs2 = NS2;

function cleanupTest(): void {
  removeQuietly([NS1, NS2, NS3, NS4], ['eoptest-v1', 'eoptest-v2', 'eoptest-t1', 'eoptest-t2', 'eoptest-n1', 'eoptest-n2']);
}

function configure(ns: string, dev: string, addr: string, mtu: number, mac: string): void {
  ip(['link', 'set', 'dev', 'lo', 'up'], { ns });
  ip(['link', 'set', 'dev', dev, 'address', mac, 'mtu', String(mtu), 'up'], { ns });
  ip(['addr', 'add', `${addr}/24`, 'dev', dev], { ns });
}

async function vethCase(offloads: boolean): Promise<Result> {
  cleanupTest();
  netnsAdd(NS1);
  netnsAdd(NS2);
  try {
    ip(['link', 'add', 'eoptest-v1', 'netns', NS1, 'type', 'veth', 'peer', 'name', 'eoptest-v2', 'netns', NS2]);
    configure(NS1, 'eoptest-v1', IP1, 1500, '02:e0:00:00:00:01');
    configure(NS2, 'eoptest-v2', IP2, 1500, '02:e0:00:00:00:02');
    if (!offloads) {
      for (const [ns, dev] of [
        [NS1, 'eoptest-v1'],
        [NS2, 'eoptest-v2'],
      ] as const) {
        spawnSync('ip', ['netns', 'exec', ns, 'ethtool', '-K', dev, 'tso', 'off', 'gso', 'off', 'gro', 'off', 'tx', 'off', 'rx', 'off', 'sg', 'off'], { stdio: 'ignore' });
      }
    }
    currentNs1 = NS1;
    currentNs2 = NS2;
    return await measure(`(a) veth, offloads ${offloads ? 'on' : 'off'}, MTU 1500`);
  } finally {
    cleanupTest();
  }
}

interface Running {
  pid: number | undefined;
  stop: () => Promise<void>;
}

/** A switching process with two TAPs of its own, each moved into a namespace of the bench's. */
interface SwitchSpec {
  /** Row label. */
  path: string;
  /** Command and arguments; it creates the TAPs `taps` and forwards between them. */
  argv: [string, ...string[]];
  taps: [string, string];
  ns: [string, string];
}

/** vde_switch with its two TAPs in NS1 and NS2 (IP1, IP2): the reference of every ratio. */
function vdeSpec(dir: string): SwitchSpec {
  return { path: '(b) vde_switch, 2 TAPs, MTU 1500', argv: ['vde_switch', '-s', join(dir, 'sock'), '-t', 'eoptest-t1', '-t', 'eoptest-t2'], taps: ['eoptest-t1', 'eoptest-t2'], ns: [NS1, NS2] };
}

/**
 * EOP's TAP addon forwarding frames with no model (benchmarks/null-forwarder.ts), in NS3 and NS4:
 * the least latency any Node.js process on this addon gets, so the RTT target's gap splits into
 * what Node.js and the addon cost and what the model and the bridge cost.
 */
function floorSpec(): SwitchSpec {
  return { path: '(e) null forwarder on EOP\'s TAP addon, no model', argv: [process.execPath, NULL_FORWARDER, 'eoptest-n1', 'eoptest-n2'], taps: ['eoptest-n1', 'eoptest-n2'], ns: [NS3, NS4] };
}

/** Starts a switch of `spec` (a temporary directory `dir` of its own) with IP1/IP2 on its TAPs. */
async function startSwitch(spec: (dir: string) => SwitchSpec): Promise<Running & { spec: SwitchSpec }> {
  const dir = mkdtempSync(join(tmpdir(), 'eoptest-switch-'));
  const sp = spec(dir);
  removeQuietly(sp.ns, sp.taps);
  const [cmd, ...args] = sp.argv;
  // vde_switch reads commands from stdin and ends at its EOF: the pipe stays open until stop.
  const sw = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'ignore'] });
  const exited = new Promise<void>((r) => sw.on('exit', () => r()));
  const stop = async (): Promise<void> => {
    sw.kill('SIGTERM');
    await Promise.race([exited, sleep(2000)]);
    if (sw.exitCode === null && sw.signalCode === null) sw.kill('SIGKILL');
    removeQuietly(sp.ns, sp.taps);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 50 && !(linkExists(sp.taps[0]) && linkExists(sp.taps[1])); i++) await sleep(100);
    for (let k = 0; k < 2; k++) {
      netnsAdd(sp.ns[k]!);
      ip(['link', 'set', 'dev', sp.taps[k]!, 'netns', sp.ns[k]!]);
      configure(sp.ns[k]!, sp.taps[k]!, k === 0 ? IP1 : IP2, 1500, `02:e0:00:00:00:0${k + 1}`);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { pid: sw.pid, stop, spec: sp };
}

async function switchCase(spec: (dir: string) => SwitchSpec): Promise<Result> {
  const sw = await startSwitch(spec);
  try {
    currentNs1 = sw.spec.ns[0];
    currentNs2 = sw.spec.ns[1];
    return await measure(sw.spec.path, sw.pid);
  } finally {
    await sw.stop();
  }
}

interface EopRun extends Running {
  /** Everything eop up printed so far. */
  output: () => string;
  kill: (sig: NodeJS.Signals) => void;
}

/** `eop up` with two TAP hosts h1, h2 (namespaces <nsPrefix>h1, <nsPrefix>h2; IP1, IP2), once it is ready. */
async function startEop(mtu: number, captures: boolean, gro: boolean, busyPollMs: number | null, cli: string, nsPrefix = 'eop-'): Promise<EopRun> {
  const dir = mkdtempSync(join(tmpdir(), 'eoptest-benchlive-'));
  const topo = join(dir, 'rack.yaml');
  // One running rack per name: a second one at once (the busy-polling side of the rounds) is named for its prefix.
  writeFileSync(topo, `name: ${nsPrefix === 'eop-' ? 'bench' : `bench-${nsPrefix.replace(/-$/, '')}`}\nmtu: ${mtu}\nhosts:\n  - {name: h1, attach: tap}\n  - {name: h2, attach: tap}\n`);
  const args = [cli, 'up', topo, ...(captures ? ['--capture-dir', join(dir, 'captures')] : ['--no-captures']), ...(gro ? [] : ['--no-gro']), ...(busyPollMs !== null ? ['--busy-poll-ms', String(busyPollMs)] : []), '--ns-prefix', nsPrefix];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const stop = async (): Promise<void> => {
    child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100 && !/^ready: /m.test(out); i++) await sleep(100);
  if (!/^ready: /m.test(out)) {
    await stop();
    throw new Error(`eop up did not come up:\n${out}`);
  }
  return { pid: child.pid, stop, output: () => out, kill: (sig) => child.kill(sig) };
}

/** busyPollMs: null runs eop's default, a number passes --busy-poll-ms; cli: another build's CLI (--baseline). */
async function eopCase(mtu: number, captures: boolean, gro = true, busyPollMs: number | null = null, cli = CLI): Promise<Result> {
  const eop = await startEop(mtu, captures, gro, busyPollMs, cli);
  try {
    currentNs1 = 'eop-h1';
    currentNs2 = 'eop-h2';
    const label = `(${captures ? 'd' : 'c'}) EOP ${cli === CLI ? 'model' : 'baseline build'}, captures ${captures ? 'on' : 'off'}, MTU ${mtu}${gro ? '' : ', no GRO'}${busyPollMs === 0 ? ', no busy poll' : busyPollMs !== null ? `, busy poll ${busyPollMs} ms` : ''}`;
    const r = await measure(label, eop.pid);
    const before = eop.output().length;
    eop.kill('SIGUSR1');
    // The status comes once the kernel counters were read inside the namespaces (a process each).
    for (let i = 0; i < 50 && !/\n {2}live: .*\n/.test(eop.output().slice(before)); i++) await sleep(100);
    const status = eop.output().slice(before);
    const live = /live: (.*)/.exec(status)?.[1] ?? '';
    const drops = [...status.matchAll(/^ {2}(h\d) .*drops (.*)$/gm)].map((m) => `${m[1]} drops ${m[2]}`).join('; ');
    r.note = `${live.replace(/; \d+ events.*/, '')}; ${drops}`;
    return r;
  } finally {
    await eop.stop();
  }
}

/** RTTs of one path in the interleaved comparison. */
interface DuelSide {
  path: string;
  times: number[];
  cpuS: number;
  wallS: number;
}

/**
 * The RTT target compared fairly: vde_switch, `eop up` (captures off, MTU 1500; defaults, and a
 * second rack busy polling) and, with `floor`, the null forwarder are up at the same time, and their
 * pings alternate in rounds, forward then backward (ABCD DCBA ...), so that a change in the
 * machine's state during the run (other load, the host's scheduling of this VM) weighs on all
 * alike, which one path measured after the other cannot give.
 */
async function rttDuel(rounds: number, floor: boolean): Promise<DuelSide[]> {
  const per = Math.max(1, Math.round(PINGS / rounds));
  const started: Running[] = [];
  try {
    const vde = await startSwitch(vdeSpec);
    started.push(vde);
    const nul = floor ? await startSwitch(() => floorSpec()) : null;
    if (nul) started.push(nul);
    const eop = await startEop(1500, false, true, null, CLI);
    started.push(eop);
    // Busy polling trades a core for latency (off by default): a rack of its own beside the default one.
    const eopBp = await startEop(1500, false, true, DUEL_BUSY_POLL_MS, CLI, 'eopbp-');
    started.push(eopBp);
    const sides = [
      { s: { path: 'vde_switch', times: [] as number[], cpuS: 0, wallS: 0 }, ns: NS1, pid: vde.pid },
      ...(nul ? [{ s: { path: 'null forwarder (floor)', times: [] as number[], cpuS: 0, wallS: 0 }, ns: NS3, pid: nul.pid }] : []),
      { s: { path: `EOP model, --busy-poll-ms ${DUEL_BUSY_POLL_MS}`, times: [] as number[], cpuS: 0, wallS: 0 }, ns: 'eopbp-h1', pid: eopBp.pid },
      { s: { path: 'EOP model (default)', times: [] as number[], cpuS: 0, wallS: 0 }, ns: 'eop-h1', pid: eop.pid },
    ];
    // ARP/ND, and a second of pings for the JIT: the rounds compare steady states.
    for (const x of sides) await pingTimes(x.ns, IP2, 100);
    for (let r = 0; r < rounds; r++) {
      for (const x of r % 2 === 0 ? sides : [...sides].reverse()) {
        const c0 = cpuSeconds(x.pid);
        const t0 = performance.now();
        x.s.times.push(...(await pingTimes(x.ns, IP2, per)));
        const c1 = cpuSeconds(x.pid);
        x.s.wallS += (performance.now() - t0) / 1000;
        if (c0 !== null && c1 !== null) x.s.cpuS += c1 - c0;
      }
    }
    return sides.map((x) => x.s);
  } finally {
    for (const r of started.reverse()) await r.stop();
  }
}

/** Median RTT of the interleaved side whose label starts with `prefix` (null: no side, no answer). */
function duelMedian(duel: DuelSide[], prefix: string): number | null {
  return median(duel.find((d) => d.path.startsWith(prefix))?.times ?? []);
}

/** a <= b, or null (not judged) when either is missing. */
function atMost(a: number | null, b: number | null): boolean | null {
  return a === null || b === null ? null : a <= b;
}

function fmt(v: number | null, digits = 2): string {
  return v === null ? '-' : v.toFixed(digits);
}

function ratio(v: number | null, ref: number | null, inverse = false): string {
  if (v === null || ref === null || ref === 0 || v === 0) return '-';
  return `${(inverse ? ref / v : v / ref).toFixed(2)}x`;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench:live needs root');
  for (const t of ['ip', 'iperf3', 'ping']) if (!has(t)) throw new Error(`${t} is not installed`);
  if (!existsSync(CLI)) throw new Error(`${CLI} missing: npm run build`);
  const want = (k: string): boolean => !ONLY || ONLY.includes(k);
  process.stderr.write(`bench:live: ${SECONDS} s per iperf3 run, ${PINGS} pings at ${INTERVAL_MS} ms; node ${process.version}\n`);
  const results: Result[] = [];
  let vde: Result | null = null;
  const notes: string[] = [];
  let duel: DuelSide[] | null = null;
  try {
    if (want('veth')) {
      results.push(await vethCase(true));
      if (has('ethtool')) results.push(await vethCase(false));
      else notes.push('veth without offloads skipped: ethtool not installed');
    }
    if (want('vde')) {
      if (has('vde_switch')) {
        vde = await switchCase(vdeSpec);
        results.push(vde);
      } else notes.push('vde_switch not installed (apt-get install vde2): no reference for the ratios');
    }
    if (want('eop')) {
      results.push(await eopCase(1500, false));
      if (BASELINE_CLI) results.push(await eopCase(1500, false, true, null, BASELINE_CLI));
      results.push(await eopCase(1500, false, false));
      results.push(await eopCase(1500, false, true, 20));
      results.push(await eopCase(65510, false));
      results.push(await eopCase(1500, true));
      results.push(await eopCase(65510, true));
    }
    if (want('floor')) results.push(await switchCase(() => floorSpec()));
    if (want('vde') && want('eop') && has('vde_switch')) duel = await rttDuel(DUEL_ROUNDS, want('floor'));
  } finally {
    cleanupTest();
  }
  const ref = vde;
  const header = ['path', 'TCP Gb/s', 'retr', 'x vde', 'UDP rx Gb/s', 'loss %', 'x vde', 'RTT ms', 'vde/RTT', 'median', 'vde/med', 'ping CPU %'];
  const rows = results.map((r) => [
    r.path,
    fmt(r.tcpGbps),
    r.tcpRetr === null ? '-' : String(r.tcpRetr),
    ratio(r.tcpGbps, ref?.tcpGbps ?? null),
    fmt(r.udpGbps),
    fmt(r.udpLossPct, 1),
    ratio(r.udpGbps, ref?.udpGbps ?? null),
    fmt(r.rttMs, 3),
    ratio(r.rttMs, ref?.rttMs ?? null, true),
    fmt(r.rttMedianMs, 3),
    ratio(r.rttMedianMs, ref?.rttMedianMs ?? null, true),
    fmt(r.pingCpuPct, 0),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`\nbench:live (${new Date().toISOString()}), iperf3 ${SECONDS} s, ${PINGS} pings at ${INTERVAL_MS} ms; ratios against (b) vde_switch (RTT: ping's average, vde's RTT / this path's, >1 = faster; median: of the per-ping times); ping CPU: the switching process's CPU during the pings, % of one core\n`);
  console.log(line(header));
  for (const r of rows) console.log(line(r));
  console.log('\nEOP emulator status after each EOP run:');
  for (const r of results) if (r.note) console.log(`  ${r.path}: ${r.note.trim()}`);
  for (const n of notes) console.log(`note: ${n}`);
  if (duel) {
    const q = (v: number[], p: number): number => [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor(v.length * p))]!;
    console.log(`\nRTT interleaved: vde_switch${duel.length > 3 ? ', the null forwarder' : ''} and eop up (captures off, MTU 1500; defaults, and a second rack with --busy-poll-ms ${DUEL_BUSY_POLL_MS}) up together, ${DUEL_ROUNDS} alternating rounds (forward, backward) of ${Math.round(PINGS / DUEL_ROUNDS)} pings at ${INTERVAL_MS} ms each`);
    const dh = ['path', 'pings', 'median ms', 'mean ms', 'p10', 'p90', 'ping CPU %'];
    const dr = duel.map((d) => [d.path, String(d.times.length), fmt(median(d.times), 3), fmt(mean(d.times), 3), fmt(d.times.length ? q(d.times, 0.1) : null, 3), fmt(d.times.length ? q(d.times, 0.9) : null, 3), fmt(d.wallS > 0 ? (d.cpuS / d.wallS) * 100 : null, 0)]);
    const dw = dh.map((h, i) => Math.max(h.length, ...dr.map((r) => r[i]!.length)));
    const dl = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(dw[i]!) : c.padStart(dw[i]!))).join('  ');
    console.log(dl(dh));
    for (const r of dr) console.log(dl(r));
    const [v, f, e] = [duelMedian(duel, 'vde_switch'), duelMedian(duel, 'null forwarder'), duelMedian(duel, 'EOP model (default)')];
    if (v != null && f != null && e != null) {
      console.log(`RTT gap, medians: EOP - vde_switch = ${(e - v).toFixed(3)} ms, of which null forwarder - vde_switch = ${(f - v).toFixed(3)} ms (Node.js and the addon, no model) and EOP - null forwarder = ${(e - f).toFixed(3)} ms (the model and the bridge)`);
    }
  }
  if (ref) {
    const c1500 = results.find((r) => r.path.startsWith('(c)') && r.path.endsWith('MTU 1500'));
    const cj = results.find((r) => r.path.startsWith('(c)') && r.path.endsWith('MTU 65510'));
    const d1500 = results.find((r) => r.path.startsWith('(d)') && r.path.endsWith('MTU 1500'));
    const verdict = (ok: boolean | null): string => (ok === null ? 'n/a' : ok ? 'met' : 'MISSED');
    const t = (name: string, ok: boolean | null): string => `${name}: ${verdict(ok)}`;
    console.log(
      '\ntargets: ' +
        [
          t('TCP MTU 1500 >= 2.0x vde', c1500?.tcpGbps != null && ref.tcpGbps ? c1500.tcpGbps >= 2.0 * ref.tcpGbps : null),
          t('TCP captures on >= 0.8x off', d1500?.tcpGbps != null && c1500?.tcpGbps ? d1500.tcpGbps >= 0.8 * c1500.tcpGbps : null),
          t('TCP jumbo >= 8x vde', cj?.tcpGbps != null && ref.tcpGbps ? cj.tcpGbps >= 8 * ref.tcpGbps : null),
          t('UDP >= 1.0x vde', c1500?.udpGbps != null && ref.udpGbps ? c1500.udpGbps >= ref.udpGbps : null),
          duel
            ? `${t('RTT <= vde (interleaved, median)', atMost(duelMedian(duel, 'EOP model (default)'), duelMedian(duel, 'vde_switch')))} (with --busy-poll-ms ${DUEL_BUSY_POLL_MS}: ${verdict(atMost(duelMedian(duel, 'EOP model, --busy-poll'), duelMedian(duel, 'vde_switch')))})`
            : t('RTT <= vde', c1500?.rttMs != null && ref.rttMs ? c1500.rttMs <= ref.rttMs : null),
        ].join('; '),
    );
  }
}

main().catch((e: unknown) => {
  cleanupTest();
  console.error(`bench:live: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
