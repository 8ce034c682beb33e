/**
 * Output of a bench run: a terminal table (the `table()` helper of `eop run`), JSON lines, CSV, and
 * an SVG plot of throughput against message size, one line per variant, in the style of Marlin's
 * figures (message size on a log2 axis, Gbps up the side), with the PCIe limit of each link drawn
 * dashed for comparison.
 */
import { table } from '../run/report.js';
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

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
const MARKERS = ['circle', 'square', 'diamond', 'triangle'] as const;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function marker(kind: (typeof MARKERS)[number], x: number, y: number, color: string): string {
  const r = 4;
  switch (kind) {
    case 'circle':
      return `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${r}" fill="${color}"/>`;
    case 'square':
      return `<rect x="${(x - r).toFixed(1)}" y="${(y - r).toFixed(1)}" width="${2 * r}" height="${2 * r}" fill="${color}"/>`;
    case 'diamond':
      return `<path d="M${x.toFixed(1)},${(y - r - 1).toFixed(1)} l${r + 1},${r + 1} l${-r - 1},${r + 1} l${-r - 1},${-r - 1} z" fill="${color}"/>`;
    default:
      return `<path d="M${x.toFixed(1)},${(y - r - 1).toFixed(1)} l${r + 1},${2 * r + 1} l${-2 * r - 2},0 z" fill="${color}"/>`;
  }
}

/** Throughput against message size: one line per variant, dashed PCIe limits. Deterministic text. */
export function toSvg(run: BenchRun): string {
  const W = 860;
  const H = 460;
  const m = { l: 64, r: 320, t: 40, b: 56 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const pts = run.points;
  const sizes = [...new Set(pts.map((p) => p.messageBytes))].sort((a, b) => a - b);
  const lx = sizes.map(Math.log2);
  const x0 = Math.min(...lx);
  const x1 = Math.max(...lx) === x0 ? x0 + 1 : Math.max(...lx);
  const limits = [...new Set(pts.map((p) => p.limitGbps))].sort((a, b) => a - b);
  const yMaxRaw = Math.max(...pts.map((p) => p.gbps), ...limits, 1);
  const step = yMaxRaw > 200 ? 50 : yMaxRaw > 80 ? 20 : yMaxRaw > 40 ? 10 : yMaxRaw > 12 ? 4 : 2;
  const yMax = Math.ceil((yMaxRaw * 1.05) / step) * step;
  const X = (b: number): number => m.l + ((Math.log2(b) - x0) / (x1 - x0)) * pw;
  const Y = (g: number): number => m.t + ph - (g / yMax) * ph;
  const o: string[] = [];
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  o.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  o.push(`<text x="${m.l}" y="22" font-size="15" font-weight="bold">${esc(run.scenario.name)}: bandwidth vs message size</text>`);
  for (let g = 0; g <= yMax + 1e-9; g += step) {
    o.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${Y(g).toFixed(1)}" y2="${Y(g).toFixed(1)}" stroke="#ddd"/>`);
    o.push(`<text x="${m.l - 8}" y="${(Y(g) + 4).toFixed(1)}" text-anchor="end">${g}</text>`);
  }
  for (const b of sizes) {
    o.push(`<line x1="${X(b).toFixed(1)}" x2="${X(b).toFixed(1)}" y1="${m.t + ph}" y2="${m.t + ph + 5}" stroke="#000"/>`);
    o.push(`<text x="${X(b).toFixed(1)}" y="${m.t + ph + 18}" text-anchor="middle">${b}</text>`);
  }
  o.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#000"/>`);
  o.push(`<text x="${m.l + pw / 2}" y="${H - 14}" text-anchor="middle">Message Size (Byte)</text>`);
  o.push(`<text transform="translate(18 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">Bandwidth (Gbps)</text>`);
  let ly = m.t + 8;
  const legend = (color: string, label: string, dashed: boolean, mk: (typeof MARKERS)[number] | null): void => {
    const lx0 = m.l + pw + 14;
    o.push(`<line x1="${lx0}" x2="${lx0 + 26}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    if (mk) o.push(marker(mk, lx0 + 13, ly, color));
    o.push(`<text x="${lx0 + 32}" y="${ly + 4}">${esc(label)}</text>`);
    ly += 18;
  };
  limits.forEach((lim) => {
    o.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${Y(lim).toFixed(1)}" y2="${Y(lim).toFixed(1)}" stroke="#555" stroke-width="1.2" stroke-dasharray="6 4"/>`);
    const links = [...new Set(pts.filter((p) => p.limitGbps === lim).map((p) => p.link))].join(', ');
    legend('#555', `PCIe limit ${lim.toFixed(1)} (${links})`, true, null);
  });
  const variants = [...new Set(pts.map((p) => p.variant))];
  variants.forEach((v, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const mk = MARKERS[i % MARKERS.length]!;
    const vp = pts.filter((p) => p.variant === v).sort((a, b) => a.messageBytes - b.messageBytes);
    o.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${vp.map((p) => `${X(p.messageBytes).toFixed(1)},${Y(p.gbps).toFixed(1)}`).join(' ')}"/>`);
    for (const p of vp) o.push(marker(mk, X(p.messageBytes), Y(p.gbps), color));
    legend(color, v, false, mk);
  });
  o.push(`<text x="${m.l}" y="${m.t - 6}" font-size="10" fill="#555">eop bench, virtual time, seed ${run.scenario.seed}</text>`);
  o.push('</svg>');
  return o.join('\n') + '\n';
}
