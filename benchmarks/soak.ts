/**
 * `npm run soak [minutes]` (default 10): a long live run under faults, judged for leaks.
 *
 * What it does, in order:
 * 1. Refuses with one sentence unless it can isolate itself (Linux, root, /dev/net/tun, iperf3, ip,
 *    unshare, the built CLI and TAP addon), then re-runs itself inside a private network and mount
 *    namespace (as /work/isolated.sh does: its own /run/netns, /run/eop, /etc/netns, loopback up), so
 *    its namespaces, TAPs and rack lock can never meet anyone else's, and all of them vanish with it.
 * 2. Writes a rack file: four TAP hosts h1..h4 (the default Gen3 x8 fabric), pcapng captures with
 *    small caps (1 MiB per file, 3 files per interface) so rotation happens within seconds, and a
 *    `faults:` schedule with one fault every `--fault-every-s` (default 4 s), cycling through
 *    link-down (up again 0.5 s later), dma-error, tlp-corrupt, irq-lost and host-crash (restart 1 s
 *    later), over every host in turn (see src/topology/install-faults.ts).
 * 3. Starts `eop up` on it, captures in a tmpfs of its own (so the soak writes gigabytes to memory
 *    that is freed as files rotate, not to the machine's disk; `--capture-dir` picks a real one),
 *    and runs iperf3 TCP h1 -> h2 and iperf3 UDP h3 -> h4 (200 Mb/s, 1400-byte datagrams) for the
 *    whole duration, in runs of at most 60 s.
 * 4. Samples the emulator once a second (RSS from /proc/PID/status, open fds from /proc/PID/fd,
 *    capture disk use from the files' allocated blocks) and reads its status (`eop status --json`)
 *    after warm-up and at the end. benchmarks/soak-report.ts judges: memory growth < 10 % after
 *    warm-up, no fd leak, disk under the cap (and rotation happened), emulator alive.
 * 5. Stops everything it started (by pid), prints the report (`--json`: the report as JSON on stdout)
 *    and exits 0 if every criterion passed, 1 if one failed, 2 on bad usage or a missing
 *    prerequisite, 3 if the run itself broke (timeout, emulator never ready).
 * Bounded: every child has a timeout, and a watchdog ends the soak 3 minutes after its duration.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tapAddonAvailable } from '../bridge/tap-device.js';
import { CAP_BYTES, faultSchedule, HOSTS, rackYaml } from './soak-rack.js';
import { formatSoakReport, judgeSoak, type SoakSample, type StatusTotals, type TrafficTotals } from './soak-report.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const CLI = join(HERE, '..', 'src', 'cli', 'main.js');
const INNER_ENV = 'EOP_SOAK_INNER';
const ipOf = (h: string): string => `10.11.0.${HOSTS.indexOf(h as (typeof HOSTS)[number]) + 1}`;
const IPERF_RUN_MAX_S = 60;
/** Enough to keep UDP busy without starving TCP on a loaded 2-core machine. */
const UDP_RATE = '20M';
const WATCHDOG_EXTRA_MS = 180_000;

const USAGE = `Usage: npm run soak [minutes] [-- options]     (node dist/benchmarks/soak.js [minutes] [options])

A live rack (4 TAP hosts, captures with small caps, a fault every few seconds) under iperf3 TCP and
UDP for [minutes] (default 10); reports the emulator's RSS and open fds after warm-up and at the end,
frames carried and dropped by reason, capture disk use against the cap, and exits 1 if memory grew
by 10 % or more after warm-up, descriptors leaked or the captures outgrew their cap.
Needs root; runs inside a private network and mount namespace that it creates itself.

Options:
  --seconds <s>        duration in seconds instead of minutes (at least 15)
  --fault-every-s <s>  one fault every s seconds (default 4)
  --capture-dir <dir>  write captures here (default: a tmpfs of the soak's own)
  --json               print the report as JSON on stdout
  -h, --help           this text`;

interface Options {
  seconds: number;
  faultEveryS: number;
  captureDir: string | undefined;
  json: boolean;
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Options | 'help' {
  const o: Options = { seconds: 600, faultEveryS: 4, captureDir: undefined, json: false };
  const num = (flag: string, v: string | undefined, min: number): number => {
    const x = Number(v);
    if (v === undefined || !Number.isFinite(x) || x < min) throw new UsageError(`${flag} needs a number >= ${min}, got ${v ?? 'nothing'}`);
    return x;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') return 'help';
    else if (a === '--json') o.json = true;
    else if (a === '--seconds') o.seconds = num(a, argv[++i], 15);
    else if (a === '--fault-every-s') o.faultEveryS = num(a, argv[++i], 0.5);
    else if (a === '--capture-dir') {
      o.captureDir = argv[++i];
      if (!o.captureDir) throw new UsageError('--capture-dir needs a directory');
    } else if (/^\d+(\.\d+)?$/.test(a)) o.seconds = num('minutes', a, 0.25) * 60;
    else throw new UsageError(`unknown argument ${a}`);
  }
  return o;
}

function has(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

/** The first missing prerequisite, as a sentence, or null. */
function missingPrerequisite(): string | null {
  if (process.platform !== 'linux') return 'npm run soak needs Linux (TAP devices and network namespaces).';
  if (process.getuid?.() !== 0) {
    return 'npm run soak needs root (it creates TAP devices, network namespaces and a private mount namespace): run it as root, e.g. sudo npm run soak.';
  }
  if (!existsSync('/dev/net/tun')) return 'npm run soak needs /dev/net/tun (TAP devices), which does not exist here.';
  for (const t of ['ip', 'iperf3', 'unshare', 'mount']) if (!has(t)) return `npm run soak needs ${t}, which is not installed.`;
  if (!existsSync(CLI)) return `npm run soak needs the built CLI (${CLI}): run npm run build.`;
  if (!tapAddonAvailable()) return 'npm run soak needs the TAP addon: run npm run build:addon.';
  return null;
}

// ---- step 1: isolation ----

/** Re-runs this script inside a private network + mount namespace; resolves with its exit code. */
function runIsolated(argv: string[]): Promise<number> {
  const setup =
    'mkdir -p /run/netns /run/eop /etc/netns && mount -t tmpfs none /run/netns && mount -t tmpfs none /run/eop && ' +
    'mount -t tmpfs none /etc/netns && ip link set lo up && exec "$@"';
  const child = spawn('unshare', ['--mount', '--net', '--propagation', 'private', 'sh', '-c', setup, 'eop-soak', process.execPath, fileURLToPath(import.meta.url), ...argv], {
    stdio: 'inherit',
    env: { ...process.env, [INNER_ENV]: '1' },
  });
  // Ctrl-C reaches the inner soak too (same process group): it cleans up and exits; we wait for it.
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, () => child.kill(s));
  return new Promise((resolve) => child.on('exit', (code, sig) => resolve(code ?? (sig ? 3 : 1))));
}

// ---- children, tracked so that cleanup can end each by its pid ----

const children = new Set<ChildProcess>();

interface Exec {
  status: number | null;
  stdout: string;
  stderr: string;
}

function execIn(ns: string, cmd: string[], timeoutMs: number): Promise<Exec> {
  return new Promise((resolve) => {
    const c = spawn('ip', ['netns', 'exec', ns, ...cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(c);
    let stdout = '';
    let stderr = '';
    c.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    c.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const t = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.on('error', (e) => (stderr += e.message));
    c.on('close', (status) => {
      clearTimeout(t);
      children.delete(c);
      resolve({ status, stdout, stderr });
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- step 3/4: the emulator, its traffic and its samples ----

interface Emulator {
  child: ChildProcess;
  stdout: () => string;
  stderrLines: string[];
  faults: Record<string, number>;
  recoveries: number;
}

async function startEmulator(rack: string, captureDir: string): Promise<Emulator> {
  const child = spawn(process.execPath, [CLI, 'up', rack, '--capture-dir', captureDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let out = '';
  const em: Emulator = { child, stdout: () => out, stderrLines: [], faults: {}, recoveries: 0 };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out = (out + d).slice(-64 * 1024)));
  let partial = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    const lines = (partial + d).split('\n');
    partial = lines.pop()!;
    for (const l of lines) {
      const f = /\bfault ([a-z-]+) \S+ \(faults\[\d+\]\)/.exec(l);
      if (f) em.faults[f[1]!] = (em.faults[f[1]!] ?? 0) + 1;
      else if (/\brecovery [a-z-]+ \S+ \(faults\[\d+\]\)/.test(l)) em.recoveries++;
      else em.stderrLines.push(l);
      if (em.stderrLines.length > 50) em.stderrLines.shift();
    }
  });
  const until = Date.now() + 60_000;
  while (!/^ready: /m.test(out)) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`eop up exited before it was ready:\n${em.stderrLines.join('\n')}`);
    if (Date.now() > until) throw new Error('eop up was not ready within 60 s');
    await sleep(100);
  }
  return em;
}

/** Reads the rack's status with `eop status --json` (asynchronously: the sampler keeps running). */
async function statusTotals(): Promise<StatusTotals> {
  const r = await new Promise<Exec>((resolve) => {
    const c = spawn(process.execPath, [CLI, 'status', 'soak', '--json'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    let stdout = '';
    let stderr = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    c.on('error', (e) => (stderr += e.message));
    c.on('close', (status) => resolve({ status, stdout, stderr }));
  });
  if (r.status !== 0) throw new Error(`eop status failed: ${r.stderr.trim()}`);
  const j = JSON.parse(r.stdout) as {
    captures: { frames: number; drops: number };
    hosts: { txFrames: number; rxFrames: number; drops: Record<string, number>; kernel: Record<string, number> | null }[];
  };
  const t: StatusTotals = { txFrames: 0, rxFrames: 0, drops: {}, captureFrames: j.captures.frames, captureDrops: j.captures.drops };
  const add = (k: string, v: number): void => {
    t.drops[k] = (t.drops[k] ?? 0) + v;
  };
  for (const h of j.hosts) {
    t.txFrames += h.txFrames;
    t.rxFrames += h.rxFrames;
    for (const [k, v] of Object.entries(h.drops)) add(k, v);
    for (const [k, v] of Object.entries(h.kernel ?? {})) add(`kernel:${k}`, v);
  }
  return t;
}

function sample(pid: number, captureDir: string, t0: number): SoakSample & { rotated: boolean } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? NaN);
  const fds = readdirSync(`/proc/${pid}/fd`).length;
  let diskBytes = 0;
  let rotated = false;
  for (const name of readdirSync(captureDir)) {
    try {
      diskBytes += statSync(join(captureDir, name)).blocks * 512;
    } catch {
      // rotated away between the listing and the stat
    }
    if (/\.\d+$/.test(name)) rotated = true;
  }
  return { tS: (Date.now() - t0) / 1000, rssBytes: rssKiB * 1024, fds, diskBytes, rotated };
}

function emptyTraffic(): TrafficTotals {
  return { tcpRuns: 0, tcpFailed: 0, tcpBytes: 0, tcpRetransmits: 0, udpRuns: 0, udpFailed: 0, udpPackets: 0, udpLost: 0, failures: [] };
}

/** iperf3 runs of at most 60 s, back to back, until `endAt` (ms since the epoch). */
async function iperfLoop(udp: boolean, endAt: number, tr: TrafficTotals): Promise<void> {
  const [from, to] = udp ? ['h3', 'h4'] : ['h1', 'h2'];
  const port = udp ? '5202' : '5201';
  const fail = (why: string): void => {
    if (udp) tr.udpFailed++;
    else tr.tcpFailed++;
    if (tr.failures.length < 5) tr.failures.push(`${udp ? 'UDP' : 'TCP'}: ${why.slice(0, 200)}`);
  };
  while (endAt - Date.now() >= 5_000) {
    const runS = Math.min(IPERF_RUN_MAX_S, Math.floor((endAt - Date.now()) / 1000) - 2);
    if (runS < 3) break;
    const server = execIn(`eop-${to}`, ['iperf3', '-s', '-1', '-p', port], (runS + 40) * 1000);
    await sleep(300);
    const args = ['iperf3', '-c', ipOf(to), '-p', port, '-t', String(runS), '-J', '--connect-timeout', '5000'];
    if (udp) args.push('-u', '-b', UDP_RATE, '-l', '1400');
    const c = await execIn(`eop-${from}`, args, (runS + 30) * 1000);
    const s = await server;
    if (udp) tr.udpRuns++;
    else tr.tcpRuns++;
    try {
      const j = JSON.parse(c.stdout) as {
        error?: string;
        end: { sum_sent?: { retransmits?: number }; sum_received?: { bytes: number }; sum?: { packets: number; lost_packets: number } };
      };
      if (j.error) fail(j.error);
      else if (udp) {
        tr.udpPackets += j.end.sum?.packets ?? 0;
        tr.udpLost += j.end.sum?.lost_packets ?? 0;
      } else {
        tr.tcpBytes += j.end.sum_received?.bytes ?? 0;
        tr.tcpRetransmits += j.end.sum_sent?.retransmits ?? 0;
      }
    } catch {
      fail(`exit ${c.status}: ${(c.stderr || c.stdout || s.stderr).trim()}`);
      await sleep(1000);
    }
  }
}

// ---- step 5: stopping ----

async function stopEmulator(em: Emulator): Promise<void> {
  const c = em.child;
  if (c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise<void>((r) => c.on('exit', () => r()));
  c.kill('SIGTERM');
  const t = setTimeout(() => c.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(t);
}

function killChildren(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

function progress(msg: string): void {
  process.stderr.write(`soak: ${msg}\n`);
}

async function soak(o: Options): Promise<number> {
  const work = mkdtempSync(join(tmpdir(), 'eop-soak-'));
  const captureDir = o.captureDir ?? join(work, 'cap');
  let mounted = false;
  const cleanup = (): void => {
    killChildren();
    if (mounted) spawnSync('umount', [captureDir]);
    rmSync(work, { recursive: true, force: true });
  };
  let interrupted = false;
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(s, () => {
      interrupted = true;
      progress(`${s}: stopping`);
      killChildren();
    });
  }
  const watchdog = setTimeout(() => {
    progress(`not finished ${WATCHDOG_EXTRA_MS / 1000} s after its duration: stopping everything`);
    cleanup();
    process.exit(3);
  }, o.seconds * 1000 + WATCHDOG_EXTRA_MS);
  watchdog.unref();
  try {
    if (!o.captureDir) {
      mkdirSync(captureDir, { mode: 0o700 });
      // Room for the cap plus the file being created by a rotation; more would hide a cap overrun.
      const sizeKiB = Math.ceil(CAP_BYTES / 1024) + 4096;
      const m = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k,mode=0700`, 'eop-soak', captureDir], { encoding: 'utf8' });
      if (m.status !== 0) throw new Error(`cannot mount a tmpfs for the captures: ${m.stderr.trim()}`);
      mounted = true;
    }
    const rack = join(work, 'soak.yaml');
    const schedule = faultSchedule(o.seconds, o.faultEveryS);
    writeFileSync(rack, rackYaml(schedule.yaml));
    const warmupS = Math.min(60, Math.max(5, o.seconds / 10));
    const load = { start: loadavg(), end: [] as number[] };
    progress(`${o.seconds} s, warm-up ${warmupS} s, a fault every ${o.faultEveryS} s, captures in ${captureDir} (cap ${CAP_BYTES / 1048576} MiB); load average ${load.start.map((x) => x.toFixed(1)).join(' ')}`);
    const em = await startEmulator(rack, captureDir);
    const pid = em.child.pid!;
    const t0 = Date.now();
    const endAt = t0 + o.seconds * 1000;
    const samples: SoakSample[] = [];
    let rotated = false;
    const take = (): void => {
      if (em.child.exitCode !== null || em.child.signalCode !== null) return;
      try {
        const s = sample(pid, captureDir, t0);
        rotated ||= s.rotated;
        samples.push({ tS: s.tS, rssBytes: s.rssBytes, fds: s.fds, diskBytes: s.diskBytes });
        if (samples.length % 30 === 0) progress(`${Math.round(s.tS)}/${o.seconds} s: RSS ${(s.rssBytes / 1048576).toFixed(1)} MiB, ${s.fds} fds, captures ${(s.diskBytes / 1048576).toFixed(2)} MiB`);
      } catch {
        // the emulator exited between the check and the read: the criteria say so
      }
    };
    take();
    const sampler = setInterval(take, 1000);
    const traffic = emptyTraffic();
    const loops = Promise.all([iperfLoop(false, endAt, traffic), iperfLoop(true, endAt, traffic)]);
    await sleep(warmupS * 1000);
    const start = await statusTotals();
    await loops;
    while (Date.now() < endAt && !interrupted) await sleep(200);
    take();
    clearInterval(sampler);
    const emulatorAlive = em.child.exitCode === null && em.child.signalCode === null;
    const end = emulatorAlive ? await statusTotals() : start;
    load.end = loadavg();
    await stopEmulator(em);
    if (interrupted) {
      progress('interrupted: no verdict');
      return 3;
    }
    const report = judgeSoak({
      seconds: o.seconds,
      warmupS,
      samples,
      start,
      end,
      capBytes: CAP_BYTES,
      rotated,
      faultsScheduled: schedule.scheduled,
      faults: em.faults,
      recoveries: em.recoveries,
      traffic,
      emulatorAlive,
      load,
    });
    if (!emulatorAlive) progress(`the emulator exited during the soak; its last lines:\n${em.stderrLines.join('\n')}`);
    if (o.json) process.stdout.write(JSON.stringify(report, null, 1) + '\n');
    else process.stdout.write(formatSoakReport(report) + '\n');
    return report.pass ? 0 : 1;
  } finally {
    clearTimeout(watchdog);
    cleanup();
  }
}

async function main(): Promise<number> {
  let o: Options | 'help';
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`soak: ${e.message}\n${USAGE}\n`);
    return 2;
  }
  if (o === 'help') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const missing = missingPrerequisite();
  if (missing) {
    process.stderr.write(missing + '\n');
    return 2;
  }
  if (process.env[INNER_ENV] !== '1') return runIsolated(process.argv.slice(2));
  return soak(o);
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    killChildren();
    process.stderr.write(`soak: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(3);
  },
);
