/**
 * Where a process's CPU time goes, from a V8 CPU profile (`node --cpu-prof`, or the inspector's
 * Profiler domain): each sample is charged to the function on top of the stack (self time), the
 * function's script is mapped to a stage of a frame's path (the `ws` library, Node's sockets and
 * streams, the WebSocket edge, the EOP driver, the PCIe model, ...), and the shares of the busy
 * samples (idle ones excluded) inside a time window are returned.
 *
 * Shares, not durations: on a loaded machine a sample's wall-clock spacing includes time the
 * process was not running, so the caller multiplies the shares by the CPU time the kernel counted
 * (/proc/<pid>/stat) over the same window. Sample timestamps are microseconds of the monotonic
 * clock, the clock of `process.hrtime` (checked on Linux), so windows from several processes line up.
 */
import { readFileSync } from 'node:fs';

export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string } }[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Stages in the order of a frame's path through a rack process (the report keeps this order). */
export const STAGES = [
  'ws library (framing, masking)',
  'Node sockets and streams',
  'native calls (syscalls, copies)',
  'WebSocket edge (bridge/ws-*)',
  'TAP bridge and addon',
  'EOP driver',
  'PCIe and memory model',
  'scheduler and live runner',
  'built-in stack',
  'captures',
  'status and page',
  'bench client',
  'GC',
  'other',
] as const;
export type Stage = (typeof STAGES)[number];

/** The stage a function belongs to, from its script URL (and name, for V8's pseudo-frames). */
export function stageOf(url: string, functionName: string): Stage | 'idle' | null {
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(root)') return null;
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(program)') return 'native calls (syscalls, copies)';
  if (url === '') return 'native calls (syscalls, copies)';
  if (/\/node_modules\/ws\//.test(url)) return 'ws library (framing, masking)';
  if (url.startsWith('node:')) return 'Node sockets and streams';
  if (/\/bridge\/(ws-|www\/)/.test(url)) return 'WebSocket edge (bridge/ws-*)';
  if (/\/bridge\/(tap-|tcp-coalesce)/.test(url)) return 'TAP bridge and addon';
  if (/\/bridge\/(rack-status|kernel-counters|lag-announcer)/.test(url)) return 'status and page';
  if (/\/src\/eop\//.test(url)) return 'EOP driver';
  if (/\/src\/(pcie|mem|host)\//.test(url)) return 'PCIe and memory model';
  if (/\/src\/time\//.test(url)) return 'scheduler and live runner';
  if (/\/src\/stack\//.test(url)) return 'built-in stack';
  if (/\/src\/capture\//.test(url)) return 'captures';
  if (/\/benchmarks\//.test(url)) return 'bench client';
  return 'other';
}

export function loadProfile(path: string): CpuProfile {
  return JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
}

/**
 * Shares of the busy samples taken in [fromUs, toUs] per stage (summing to 1), and how many busy
 * samples that was. Sample i is stamped startTime + timeDeltas[0..i].
 */
export function stageShares(p: CpuProfile, fromUs: number, toUs: number): { shares: Map<Stage, number>; busySamples: number } {
  const stageById = new Map<number, Stage | 'idle' | null>();
  for (const n of p.nodes) stageById.set(n.id, stageOf(n.callFrame.url, n.callFrame.functionName));
  const counts = new Map<Stage, number>();
  let busy = 0;
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    if (t < fromUs || t > toUs) continue;
    const s = stageById.get(p.samples[i]!);
    if (s === 'idle' || s === null || s === undefined) continue;
    counts.set(s, (counts.get(s) ?? 0) + 1);
    busy++;
  }
  const shares = new Map<Stage, number>();
  for (const s of STAGES) {
    const c = counts.get(s);
    if (c) shares.set(s, c / busy);
  }
  return { shares, busySamples: busy };
}

/** "ws library 4.1, Node sockets 3.0, ..." : `totalUs` split by the shares, largest first, above `minUs`. */
export function formatSplit(shares: Map<Stage, number>, totalUs: number, minUs = 0.05): string {
  return [...shares]
    .map(([s, f]) => [s, f * totalUs] as const)
    .filter(([, us]) => us >= minUs)
    .sort((a, b) => b[1] - a[1])
    .map(([s, us]) => `${s} ${us.toFixed(1)}`)
    .join(', ');
}

/** Now on the profiles' clock (monotonic microseconds). */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}
