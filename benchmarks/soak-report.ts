/**
 * The soak's verdict, apart from running it (benchmarks/soak.ts collects, this judges and prints):
 * from the emulator's samples (RSS, open fds, capture disk use, once a second) and two status
 * snapshots, the figures and the pass criteria of issue 12 item 5.
 *
 * Rules, and why:
 * - "Start" is the window just after warm-up, "end" the last window of the run, each a median of its
 *   samples: a single sample can land on a garbage-collection peak or a rotation's extra fd, a median
 *   of several cannot (a real leak moves every sample of the end window).
 * - Memory: growth of the end median over the start median < 10 %. Descriptors: the fewest open at the
 *   end must not exceed the median at the start (a leak keeps every end sample up; a rotation, an
 *   iperf3 restart or a status connection in progress only adds some for a moment). Disk: the largest capture use seen at any
 *   sample must stay under the cap (interfaces × files kept × file size); and rotation must have
 *   happened, or the disk criterion would prove nothing.
 * - Frames and drops are the difference between the end and start snapshots too, plus totals.
 */

export interface SoakSample {
  /** Seconds since the emulator was ready. */
  tS: number;
  rssBytes: number;
  fds: number;
  diskBytes: number;
}

/** What the soak reads from `eop status --json` (bridge/rack-status.ts), summed over hosts. */
export interface StatusTotals {
  txFrames: number;
  rxFrames: number;
  /** EOP and TAP-bridge drops by code, and the kernel's own (`kernel:` prefix), summed over hosts. */
  drops: Record<string, number>;
  captureFrames: number;
  captureDrops: number;
}

export interface TrafficTotals {
  tcpRuns: number;
  tcpFailed: number;
  tcpBytes: number;
  tcpRetransmits: number;
  udpRuns: number;
  udpFailed: number;
  udpPackets: number;
  udpLost: number;
  /** First few failure messages. */
  failures: string[];
}

export interface SoakInput {
  seconds: number;
  warmupS: number;
  samples: SoakSample[];
  start: StatusTotals;
  end: StatusTotals;
  capBytes: number;
  rotated: boolean;
  /** `faults:` entries by kind, as written in the rack file. */
  faultsScheduled: Record<string, number>;
  /** Faults logged as struck, by kind (a counted kind strikes `count` times). */
  faults: Record<string, number>;
  recoveries: number;
  traffic: TrafficTotals;
  /** The emulator was still running at the end (it did not crash). */
  emulatorAlive: boolean;
  load: { start: number[]; end: number[] };
}

export interface Criterion {
  name: string;
  ok: boolean;
  detail: string;
}

export interface SoakReport {
  seconds: number;
  warmupS: number;
  rssMiB: { start: number; end: number; peak: number };
  rssGrowthPct: number;
  fds: { endMin: number; start: number; end: number };
  disk: { maxBytes: number; endBytes: number; capBytes: number; rotated: boolean };
  frames: { tx: number; rx: number; txSinceWarmup: number; rxSinceWarmup: number };
  drops: Record<string, number>;
  captures: { frames: number; drops: number };
  faultsScheduled: Record<string, number>;
  faults: Record<string, number>;
  recoveries: number;
  traffic: TrafficTotals;
  load: { start: number[]; end: number[] };
  criteria: Criterion[];
  pass: boolean;
}

export const MAX_RSS_GROWTH_PCT = 10;
const MiB = 1024 * 1024;

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Samples of the start window (after warm-up) and of the end window: each `windowS` long. */
export function windows(samples: SoakSample[], warmupS: number, windowS: number): { start: SoakSample[]; end: SoakSample[] } {
  const last = samples.length ? samples[samples.length - 1]!.tS : 0;
  const start = samples.filter((s) => s.tS >= warmupS && s.tS < warmupS + windowS);
  const end = samples.filter((s) => s.tS > last - windowS);
  return { start, end };
}

/** Length of the start and end windows for a run: a tenth of the measured part, 2 to 30 s. */
export function windowFor(seconds: number, warmupS: number): number {
  return Math.min(30, Math.max(2, (seconds - warmupS) / 10));
}

export function judgeSoak(inp: SoakInput): SoakReport {
  const w = windows(inp.samples, inp.warmupS, windowFor(inp.seconds, inp.warmupS));
  const rssStart = median(w.start.map((s) => s.rssBytes));
  const rssEnd = median(w.end.map((s) => s.rssBytes));
  const growthPct = ((rssEnd - rssStart) / rssStart) * 100;
  const fdsStart = median(w.start.map((s) => s.fds));
  const fdsEndMin = Math.min(...w.end.map((s) => s.fds));
  const diskMax = Math.max(0, ...inp.samples.map((s) => s.diskBytes));
  const diskEnd = inp.samples.length ? inp.samples[inp.samples.length - 1]!.diskBytes : 0;
  const enough = w.start.length > 0 && w.end.length > 0;
  const criteria: Criterion[] = [
    {
      name: 'emulator ran to the end',
      ok: inp.emulatorAlive,
      detail: inp.emulatorAlive ? 'still running when the soak ended' : 'the emulator exited during the soak',
    },
    {
      name: `memory growth < ${MAX_RSS_GROWTH_PCT} % after warm-up`,
      ok: enough && growthPct < MAX_RSS_GROWTH_PCT,
      detail: enough ? `RSS ${(rssStart / MiB).toFixed(1)} MiB -> ${(rssEnd / MiB).toFixed(1)} MiB (${growthPct >= 0 ? '+' : ''}${growthPct.toFixed(1)} %)` : 'too few samples',
    },
    {
      name: 'no file descriptor leak',
      ok: enough && fdsEndMin <= fdsStart,
      detail: enough ? `open fds: ${fdsStart} after warm-up (median), at least ${fdsEndMin} at the end` : 'too few samples',
    },
    {
      name: 'capture disk use under the cap',
      ok: inp.samples.length > 0 && diskMax <= inp.capBytes,
      detail: `largest ${(diskMax / MiB).toFixed(2)} MiB, cap ${(inp.capBytes / MiB).toFixed(2)} MiB`,
    },
    {
      name: 'captures rotated',
      ok: inp.rotated,
      detail: inp.rotated ? 'rotated files seen (the cap was reached and enforced)' : 'no rotation: the cap was never tested',
    },
  ];
  const drops: Record<string, number> = {};
  for (const [k, v] of Object.entries(inp.end.drops)) if (v > 0) drops[k] = v;
  return {
    seconds: inp.seconds,
    warmupS: inp.warmupS,
    rssMiB: {
      start: rssStart / MiB,
      end: rssEnd / MiB,
      peak: Math.max(0, ...inp.samples.map((s) => s.rssBytes)) / MiB,
    },
    rssGrowthPct: growthPct,
    fds: { endMin: fdsEndMin, start: fdsStart, end: median(w.end.map((s) => s.fds)) },
    disk: { maxBytes: diskMax, endBytes: diskEnd, capBytes: inp.capBytes, rotated: inp.rotated },
    frames: {
      tx: inp.end.txFrames,
      rx: inp.end.rxFrames,
      txSinceWarmup: inp.end.txFrames - inp.start.txFrames,
      rxSinceWarmup: inp.end.rxFrames - inp.start.rxFrames,
    },
    drops,
    captures: { frames: inp.end.captureFrames, drops: inp.end.captureDrops },
    faultsScheduled: inp.faultsScheduled,
    faults: inp.faults,
    recoveries: inp.recoveries,
    traffic: inp.traffic,
    load: inp.load,
    criteria,
    pass: criteria.every((c) => c.ok),
  };
}

const n = (v: number): string => Math.round(v).toLocaleString('en-US');
const kv = (o: Record<string, number>): string => Object.entries(o).map(([k, v]) => `${k}=${n(v)}`).join(' ') || 'none';

/** The report as printed (plain text, one fact per line). */
export function formatSoakReport(r: SoakReport): string {
  const t = r.traffic;
  const lines = [
    `soak: ${r.seconds} s (warm-up ${r.warmupS} s); load average ${r.load.start.map((x) => x.toFixed(1)).join(' ')} at start, ${r.load.end.map((x) => x.toFixed(1)).join(' ')} at end`,
    `emulator RSS: ${r.rssMiB.start.toFixed(1)} MiB after warm-up, ${r.rssMiB.end.toFixed(1)} MiB at the end (${r.rssGrowthPct >= 0 ? '+' : ''}${r.rssGrowthPct.toFixed(1)} %), peak ${r.rssMiB.peak.toFixed(1)} MiB`,
    `emulator open fds: ${r.fds.start} after warm-up, ${r.fds.end} at the end`,
    `frames carried: ${n(r.frames.tx)} sent into the fabric, ${n(r.frames.rx)} delivered (a flooded frame once per peer); ${n(r.frames.txSinceWarmup)} / ${n(r.frames.rxSinceWarmup)} after warm-up`,
    `frames dropped by reason: ${Object.keys(r.drops).length ? Object.entries(r.drops).map(([k, v]) => `${k}=${n(v)}`).join(' ') : 'none'}`,
    `captures: ${n(r.captures.frames)} frames written, ${n(r.captures.drops)} not captured; disk ${(r.disk.maxBytes / 1048576).toFixed(2)} MiB at most, ${(r.disk.endBytes / 1048576).toFixed(2)} MiB at the end, cap ${(r.disk.capBytes / 1048576).toFixed(2)} MiB${r.disk.rotated ? ', rotated' : ''}`,
    `faults scheduled: ${kv(r.faultsScheduled)}; struck (logged): ${kv(r.faults)}; recoveries logged: ${r.recoveries}`,
    `iperf3 TCP: ${t.tcpRuns} run(s), ${t.tcpFailed} failed, ${(t.tcpBytes / 1e9).toFixed(2)} GB received, ${n(t.tcpRetransmits)} retransmits; ` +
      `UDP: ${t.udpRuns} run(s), ${t.udpFailed} failed, ${n(t.udpPackets)} datagrams, ${n(t.udpLost)} lost`,
    ...t.failures.map((f) => `  iperf3 failure: ${f}`),
    'criteria:',
    ...r.criteria.map((c) => `  ${c.ok ? 'PASS' : 'FAIL'} ${c.name}: ${c.detail}`),
    r.pass ? 'soak: PASS' : 'soak: FAIL',
  ];
  return lines.join('\n');
}
