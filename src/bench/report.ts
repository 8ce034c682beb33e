/**
 * Output of a bench run: a terminal table (the `table()` helper of `eop run`), JSON lines, CSV, and
 * the SVG plot drawn by plot.ts.
 */
import { table } from '../run/report.js';
import { plotSvg } from './plot.js';
import type { BenchRun } from './run.js';
import type { PointResult } from './point.js';

export function sizeLabel(bytes: number): string {
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

const f2 = (x: number): string => x.toFixed(2);

export function formatTable(run: BenchRun): string {
  const s = run.scenario;
  const out: string[] = [];
  out.push(`eop bench "${s.name}" (${s.source}), seed ${s.seed}: ${run.points.length} points${s.description ? `\n${s.description.trim()}` : ''}`);
  out.push('');
  out.push(
    table(
      ['variant', 'link', 'msg', 'frame B', 'Gb/s', 'limit Gb/s', '% limit', 'frames/s', 'one-way p50 µs', 'p99', 'RTT p50 µs', 'p99', 'lost'],
      run.points.map((p) => [
        p.variant,
        p.link,
        sizeLabel(p.messageBytes),
        p.frameBytes,
        f2(p.gbps),
        f2(p.limitGbps),
        (100 * p.efficiency).toFixed(1),
        p.framesPerSec,
        f2(p.latencyUs.p50),
        f2(p.latencyUs.p99),
        p.rttUs ? f2(p.rttUs.p50) : '-',
        p.rttUs ? f2(p.rttUs.p99) : '-',
        p.lostMessages,
      ]),
    ),
  );
  const unfinished = run.points.filter((p) => !p.finished);
  if (unfinished.length > 0) out.push('', `Unfinished within the virtual time limit: ${unfinished.map((p) => `${p.variant} @ ${p.messageBytes}`).join(', ')}`);
  const faulted = run.points.filter((p) => p.faults);
  if (faulted.length > 0) {
    const counts = (r: Record<string, number>): string => Object.entries(r).map(([k, n]) => `${k}=${n}`).join(' ') || '-';
    out.push('', 'Faults (by point):');
    for (const p of faulted) {
      const f = p.faults!;
      out.push(`  ${p.variant} @ ${sizeLabel(p.messageBytes)}: injected ${counts(f.injected)}; recovered ${counts(f.recovered)}${f.unstruck.length ? `; never struck: ${f.unstruck.join(', ')}` : ''}`);
    }
  }
  return out.join('\n');
}

/** A compact matrix: one row per message size, one column per variant (Gb/s). */
export function formatMatrix(run: BenchRun): string {
  const variants = [...new Set(run.points.map((p) => p.variant))];
  const sizes = [...new Set(run.points.map((p) => p.messageBytes))];
  const at = new Map(run.points.map((p) => [`${p.variant}|${p.messageBytes}`, p]));
  const limits = [...new Set(run.points.map((p) => p.limitGbps))];
  return table(
    ['msg', ...variants, ...(limits.length === 1 ? ['PCIe limit'] : [])],
    sizes.map((m) => [
      sizeLabel(m),
      ...variants.map((v) => {
        const p = at.get(`${v}|${m}`);
        return p ? f2(p.gbps) : '-';
      }),
      ...(limits.length === 1 ? [f2(limits[0]!)] : []),
    ]),
  );
}

export function toJsonLines(run: BenchRun): string {
  return run.points.map((p) => JSON.stringify(p)).join('\n') + '\n';
}

const CSV_FIELDS = [
  'scenario', 'variant', 'traffic', 'alignment', 'link', 'irqMode', 'copyPath', 'flows', 'hosts', 'messageBytes', 'frameBytes',
  'messages', 'gbps', 'limitGbps', 'efficiency', 'framesPerSec', 'latencyP50Us', 'latencyP99Us', 'rttP50Us', 'rttP99Us',
  'lostMessages', 'finished', 'virtualUs', 'events',
] as const;

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(run: BenchRun): string {
  const rows = run.points.map((p: PointResult) => {
    const flat: Record<string, unknown> = {
      ...p,
      latencyP50Us: p.latencyUs.p50,
      latencyP99Us: p.latencyUs.p99,
      rttP50Us: p.rttUs?.p50 ?? '',
      rttP99Us: p.rttUs?.p99 ?? '',
    };
    return CSV_FIELDS.map((k) => csvCell(flat[k])).join(',');
  });
  return [CSV_FIELDS.join(','), ...rows].join('\n') + '\n';
}

/** The SVG plot (plot.ts): throughput and, for ping-pong variants, latency against message size. */
export function toSvg(run: BenchRun): string {
  return plotSvg(run.points, run.scenario.name, run.scenario.seed);
}
