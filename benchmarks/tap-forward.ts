/**
 * Measurement (not a test): TCP throughput through the TAP addon with a JS forwarder.
 *
 * Two TAPs, each in its own namespace (eoptest-ba: 10.99.1.1/24, eoptest-bb: 10.99.1.2/24), frames
 * forwarded between them by this process; iperf3 runs a TCP test from one namespace to the other,
 * for each case: MTU 1500 and 65000, plain frames and IFF_VNET_HDR (TSO/csum offload, 64 KiB
 * super-frames), with the zero-copy batch forwarder (`writeBatch(batch)`) and, for comparison, a
 * per-frame forwarder that copies each batch into owned frames and writes them one by one.
 *
 *   npm run build && node dist/benchmarks/tap-forward.js [--seconds 5] [--case plain-1500,...] [--batch 64] [--txqlen 1000]
 *
 * Needs root, /dev/net/tun, ip and iperf3 (installed with apt-get if missing). Bounded in time
 * (each iperf3 run is killed after seconds + 15 s) and cleans up its namespaces even on failure.
 * All traffic stays inside the two test namespaces.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { configureLink, ip, linkSetNetns, netnsAdd, removeQuietly } from '../bridge/netns.js';
import { TapDevice, type FrameBatch } from '../bridge/tap-device.js';

const NS_A = 'eoptest-ba';
const NS_B = 'eoptest-bb';
const TAP_A = 'eoptest-ba0';
const TAP_B = 'eoptest-bb0';
const IP_A = '10.99.1.1';
const IP_B = '10.99.1.2';

interface Case {
  id: string;
  mtu: number;
  vnetHdr: boolean;
  forwarder: 'batch' | 'copy';
}

const ALL_CASES: Case[] = [
  { id: 'plain-1500', mtu: 1500, vnetHdr: false, forwarder: 'batch' },
  { id: 'plain-65000', mtu: 65000, vnetHdr: false, forwarder: 'batch' },
  { id: 'copy-1500', mtu: 1500, vnetHdr: false, forwarder: 'copy' },
  { id: 'copy-65000', mtu: 65000, vnetHdr: false, forwarder: 'copy' },
  { id: 'vnet-1500', mtu: 1500, vnetHdr: true, forwarder: 'batch' },
  { id: 'vnet-65000', mtu: 65000, vnetHdr: true, forwarder: 'batch' },
];

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Frames read per wake-up (--batch) and the TAPs' txqueuelen (--txqlen). */
const BATCH = Number(arg('batch') ?? 64);
const TXQLEN = Number(arg('txqlen') ?? 1000);

function cleanup(): void {
  removeQuietly([NS_A, NS_B], [TAP_A, TAP_B]);
}

function ensureIperf3(): void {
  if (spawnSync('iperf3', ['--version']).status === 0) return;
  console.log('iperf3 is missing: installing it with apt-get');
  const r = spawnSync('apt-get', ['install', '-y', '-q', 'iperf3'], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    timeout: 300_000,
  });
  if (r.status !== 0) throw new Error('iperf3 is missing and apt-get install -y iperf3 failed');
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

/** Frames the kernel dropped because our read side was behind (the TAP's tx queue was full). */
function kernelTxDrops(link: string, ns: string): number {
  try {
    const j = JSON.parse(ip(['-j', '-s', 'link', 'show', 'dev', link], { ns })) as {
      stats64?: { tx?: { dropped?: number } };
    }[];
    return j[0]?.stats64?.tx?.dropped ?? 0;
  } catch {
    return -1;
  }
}

/** Busy and total jiffies over all CPUs, from /proc/stat. */
function cpuTimes(): { busy: number; total: number } {
  const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  const total = f.slice(0, 8).reduce((x, y) => x + y, 0);
  return { busy: total - idle, total };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function runCase(c: Case, seconds: number): Promise<string> {
  cleanup();
  const a = TapDevice.open(TAP_A, { vnetHdr: c.vnetHdr, batchFrames: BATCH });
  const b = TapDevice.open(TAP_B, { vnetHdr: c.vnetHdr, batchFrames: BATCH });
  const errors: string[] = [];
  a.onError((e) => errors.push(e.message));
  b.onError((e) => errors.push(e.message));
  if (c.forwarder === 'batch') {
    a.onFrames((batch: FrameBatch) => b.writeBatch(batch));
    b.onFrames((batch: FrameBatch) => a.writeBatch(batch));
  } else {
    a.onFrames((batch: FrameBatch) => {
      for (const f of batch.copyFrames()) b.write(f);
    });
    b.onFrames((batch: FrameBatch) => {
      for (const f of batch.copyFrames()) a.write(f);
    });
  }
  try {
    netnsAdd(NS_A);
    netnsAdd(NS_B);
    linkSetNetns(TAP_A, NS_A);
    linkSetNetns(TAP_B, NS_B);
    configureLink(TAP_A, { mac: '02:99:01:00:00:01', mtu: c.mtu, txQueueLen: TXQLEN, addresses: [`${IP_A}/24`] }, NS_A);
    configureLink(TAP_B, { mac: '02:99:01:00:00:02', mtu: c.mtu, txQueueLen: TXQLEN, addresses: [`${IP_B}/24`] }, NS_B);
    const server = run('ip', ['netns', 'exec', NS_B, 'iperf3', '-s', '-1', '-B', IP_B], (seconds + 20) * 1000);
    await sleep(300);
    const cpu0 = process.cpuUsage();
    const sys0 = cpuTimes();
    const t0 = process.hrtime.bigint();
    const client = await run(
      'ip',
      ['netns', 'exec', NS_A, 'iperf3', '-c', IP_B, '-t', String(seconds), '-J', '--connect-timeout', '3000'],
      (seconds + 15) * 1000,
    );
    const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    const sys1 = cpuTimes();
    const machinePct = ((sys1.busy - sys0.busy) / Math.max(1, sys1.total - sys0.total)) * 100 * cpus().length;
    await server;
    let gbps = NaN;
    let iperfPct = 0;
    try {
      const j = JSON.parse(client.out) as {
        end?: {
          sum_received?: { bits_per_second?: number };
          cpu_utilization_percent?: { host_total?: number; remote_total?: number };
        };
        error?: string;
      };
      if (j.error) throw new Error(j.error);
      gbps = (j.end?.sum_received?.bits_per_second ?? NaN) / 1e9;
      iperfPct = (j.end?.cpu_utilization_percent?.host_total ?? 0) + (j.end?.cpu_utilization_percent?.remote_total ?? 0);
    } catch (e) {
      return `${c.id.padEnd(12)} FAILED: ${(e as Error).message || client.err.trim()}`;
    }
    const sa = a.stats;
    const sb = b.stats;
    const kdrops = kernelTxDrops(TAP_A, NS_A) + kernelTxDrops(TAP_B, NS_B);
    const frames = sa.framesIn + sb.framesIn;
    const batches = sa.readBatches + sb.readBatches;
    const userPct = (cpu.user / 1e6 / wallS) * 100;
    const sysPct = (cpu.system / 1e6 / wallS) * 100;
    return (
      `${c.id.padEnd(12)} ${gbps.toFixed(2).padStart(6)} Gbit/s  ` +
      `frames ${frames}, mean batch ${(frames / Math.max(1, batches)).toFixed(1)}, ` +
      `node CPU ${userPct.toFixed(0)}% user + ${sysPct.toFixed(0)}% sys, ` +
      `dropped ${sa.writeDropped + sb.writeDropped} (kernel tx ${kdrops}), queued ${sa.writeQueued + sb.writeQueued}` +
      `; machine ${machinePct.toFixed(0)}% of ${cpus().length * 100}% (iperf3 ${iperfPct.toFixed(0)}%, ` +
      `others ~${Math.max(0, machinePct - userPct - sysPct - iperfPct).toFixed(0)}%)` +
      (errors.length ? `, errors: ${errors.join('; ')}` : '')
    );
  } finally {
    a.close();
    b.close();
    cleanup();
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0 || !existsSync('/dev/net/tun')) {
    throw new Error('this benchmark needs root and /dev/net/tun');
  }
  ensureIperf3();
  const seconds = Number(arg('seconds') ?? 5);
  const wanted = arg('case')?.split(',');
  const cases = wanted ? ALL_CASES.filter((c) => wanted.includes(c.id)) : ALL_CASES;
  console.log(
    `TAP forwarder, iperf3 TCP ${seconds} s per case, batch ${BATCH}, txqueuelen ${TXQLEN} (node ${process.version})`,
  );
  for (const c of cases) console.log(await runCase(c, seconds));
}

const hardStop = setTimeout(() => {
  console.error('benchmark took too long: stopping');
  cleanup();
  process.exit(2);
}, 10 * 60_000);
hardStop.unref();
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    cleanup();
    process.exit(130);
  });
}

main()
  .catch((e: unknown) => {
    console.error((e as Error).message);
    process.exitCode = 1;
  })
  .finally(() => cleanup());
