/**
 * The SVG plot of a bench run, in the style of Marlin's figures (message size on a log2 axis):
 * one panel of throughput (Gb/s) for stream variants with the PCIe limits they are compared with,
 * and, when the scenario has ping-pong variants, one panel of one-way latency (µs, p50 solid,
 * p99 dotted).
 *
 * Readability rules (each one fixes a plot that misled a reader):
 * - Series that coincide stay visible: every series has its own colour, marker shape and dash
 *   pattern, markers are hollow so a shape under another still shows, earlier series are drawn
 *   with wider strokes beneath later ones, and the legend says "= X" for a series identical to
 *   an earlier one X at every size (within 0.5 %).
 * - A value axis is logarithmic when the plotted values span more than 10× (a 0.1 Gb/s and a
 *   26 Gb/s series on one linear axis make the small one a flat line at zero).
 * - Each limit line is grey with its own dash pattern, and labelled on the line and in the
 *   legend with what it is the limit of (the links and the variants it applies to).
 * Deterministic text: the same run gives the same bytes.
 */
import type { PointResult } from './point.js';

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
const MARKERS = ['circle', 'square', 'diamond', 'triangle', 'cross'] as const;
const DASHES = ['', '9 4', '3 3', '12 3 3 3', '6 2 2 2 2 2'];
const LIMIT_DASHES = ['6 4', '2 3', '10 4 2 4', '14 4'];
const LIMIT_GREYS = ['#444', '#777', '#999', '#222'];
/** Values within this ratio of each other at every size are "the same series". */
const SAME_WITHIN = 0.005;
/** A value axis goes logarithmic when max/min of the plotted values exceeds this. */
export const LOG_AXIS_SPAN = 10;

type Marker = (typeof MARKERS)[number];

interface Series {
  label: string;
  /** (message bytes, value) sorted by size; values ≤ 0 are not drawn on a log axis. */
  points: [number, number][];
  style: { color: string; marker: Marker | null; dash: string; width: number };
}

interface Limit {
  value: number;
  /** What it is the limit of (drawn on the line). */
  label: string;
  /** Which variants it applies to (legend only). */
  whose: string;
}

interface Panel {
  title: string;
  yLabel: string;
  series: Series[];
  limits: Limit[];
}

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function marker(kind: Marker, x: number, y: number, color: string): string {
  const r = 4.5;
  const a = `fill="white" fill-opacity="0.6" stroke="${color}" stroke-width="1.6"`;
  const X = x.toFixed(1);
  const Y = y.toFixed(1);
  switch (kind) {
    case 'circle':
      return `<circle cx="${X}" cy="${Y}" r="${r}" ${a}/>`;
    case 'square':
      return `<rect x="${(x - r).toFixed(1)}" y="${(y - r).toFixed(1)}" width="${2 * r}" height="${2 * r}" ${a}/>`;
    case 'diamond':
      return `<path d="M${X},${(y - r - 1.5).toFixed(1)} l${r + 1.5},${r + 1.5} l${-r - 1.5},${r + 1.5} l${-r - 1.5},${-r - 1.5} z" ${a}/>`;
    case 'triangle':
      return `<path d="M${X},${(y - r - 1.5).toFixed(1)} l${r + 1.5},${2 * r + 1.5} l${-2 * r - 3},0 z" ${a}/>`;
    default:
      return `<path d="M${(x - r).toFixed(1)},${(y - r).toFixed(1)} l${2 * r},${2 * r} m0,${-2 * r} l${-2 * r},${2 * r}" stroke="${color}" stroke-width="2"/>`;
  }
}

/** Ticks of a value axis: "nice" linear steps, or 1-2-5 per decade on a log axis. */
function axisTicks(lo: number, hi: number, log: boolean): number[] {
  if (log) {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
      for (const k of [1, 2, 5]) {
        const v = k * 10 ** e;
        if (v >= lo * 0.999 && v <= hi * 1.001) out.push(Number(v.toPrecision(6)));
      }
    }
    return out;
  }
  const raw = hi / 8;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((k) => k * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = 0; v <= hi + 1e-9; v += step) out.push(Number(v.toPrecision(6)));
  return out;
}

/** The nearest 1, 2 or 5 × 10^k below or above `v` (a log axis ends on a labelled tick). */
function niceLog(v: number, dir: 'up' | 'down'): number {
  const e = Math.floor(Math.log10(v));
  const steps = [1, 2, 5, 10].map((k) => Number((k * 10 ** e).toPrecision(6)));
  return dir === 'up' ? steps.find((x) => x >= v)! : [...steps].reverse().find((x) => x <= v)!;
}

function tickText(v: number): string {
  return v >= 1000 ? `${v / 1000}k` : String(v);
}

/** Legend lines longer than this are wrapped at spaces (the legend column is 330 px wide). */
const LEGEND_CHARS = 44;

function wrap(text: string, max: number): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const w of text.split(' ')) {
    if (cur && cur.length + 1 + w.length > max) {
      lines.push(cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  return [...lines, cur];
}

function sameSeries(a: Series, b: Series): boolean {
  if (a.points.length !== b.points.length) return false;
  return a.points.every(([s, v], i) => {
    const [s2, v2] = b.points[i]!;
    return s === s2 && Math.abs(v - v2) <= SAME_WITHIN * Math.max(Math.abs(v), Math.abs(v2), 1e-9);
  });
}

const PW = 560;
const PH = 300;
const M = { l: 70, r: 330, t: 46, b: 52 };
export const PANEL_HEIGHT = M.t + PH + M.b;
export const PLOT_WIDTH = M.l + PW + M.r;

/** One panel at vertical offset `top`, into `o`. */
function drawPanel(o: string[], panel: Panel, sizes: number[], top: number): void {
  const lx = sizes.map(Math.log2);
  const x0 = Math.min(...lx);
  const x1 = Math.max(...lx) === x0 ? x0 + 1 : Math.max(...lx);
  const values = [...panel.series.flatMap((s) => s.points.map((p) => p[1])), ...panel.limits.map((l) => l.value)].filter((v) => v > 0);
  const vMin = values.length ? Math.min(...values) : 1;
  const vMax = values.length ? Math.max(...values) : 1;
  const log = vMax / vMin > LOG_AXIS_SPAN;
  const lo = log ? niceLog(vMin, 'down') : 0;
  const hiRaw = log ? niceLog(vMax * 1.05, 'up') : vMax * 1.08;
  const ticks = axisTicks(lo, hiRaw, log);
  const hi = log ? hiRaw : Math.max(ticks[ticks.length - 1]!, hiRaw);
  const t = top + M.t;
  const X = (b: number): number => M.l + ((Math.log2(b) - x0) / (x1 - x0)) * PW;
  const Y = (v: number): number => {
    const f = log ? (Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) : v / hi;
    return t + PH - f * PH;
  };
  o.push(`<text x="${M.l}" y="${top + 22}" font-size="15" font-weight="bold">${esc(panel.title)}</text>`);
  for (const v of ticks) {
    o.push(`<line x1="${M.l}" x2="${M.l + PW}" y1="${Y(v).toFixed(1)}" y2="${Y(v).toFixed(1)}" stroke="#e4e4e4"/>`);
    o.push(`<text x="${M.l - 8}" y="${(Y(v) + 4).toFixed(1)}" text-anchor="end">${tickText(v)}</text>`);
  }
  for (const b of sizes) {
    o.push(`<line x1="${X(b).toFixed(1)}" x2="${X(b).toFixed(1)}" y1="${t + PH}" y2="${t + PH + 5}" stroke="#000"/>`);
    o.push(`<text x="${X(b).toFixed(1)}" y="${t + PH + 18}" text-anchor="middle">${b}</text>`);
  }
  o.push(`<rect x="${M.l}" y="${t}" width="${PW}" height="${PH}" fill="none" stroke="#000"/>`);
  o.push(`<text x="${M.l + PW / 2}" y="${t + PH + 40}" text-anchor="middle">Message Size (Byte)</text>`);
  o.push(`<text transform="translate(20 ${t + PH / 2}) rotate(-90)" text-anchor="middle">${esc(panel.yLabel)}${log ? ' (log scale)' : ''}</text>`);
  let ly = t + 8;
  const legend = (color: string, label: string, dash: string, width: number, mk: Marker | null): void => {
    const x = M.l + PW + 14;
    o.push(`<line x1="${x}" x2="${x + 30}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="${width}"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
    if (mk) o.push(marker(mk, x + 15, ly, color));
    for (const [k, line] of wrap(label, LEGEND_CHARS).entries()) o.push(`<text x="${x + 36}" y="${ly + 4 + 14 * k}">${esc(line)}</text>`);
    ly += 18 + 14 * (wrap(label, LEGEND_CHARS).length - 1);
  };
  panel.limits.forEach((lim, i) => {
    const grey = LIMIT_GREYS[i % LIMIT_GREYS.length]!;
    const dash = LIMIT_DASHES[i % LIMIT_DASHES.length]!;
    const y = Y(lim.value);
    o.push(`<line x1="${M.l}" x2="${M.l + PW}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="${grey}" stroke-width="1.4" stroke-dasharray="${dash}"/>`);
    // On the line too, with a white halo so a series crossing it does not hide the words.
    const onLine = `${lim.value.toFixed(1)} Gb/s: ${lim.label}`;
    o.push(`<text x="${M.l + PW - 6}" y="${(y - 5).toFixed(1)}" text-anchor="end" font-size="10" fill="${grey}" stroke="white" stroke-width="3" paint-order="stroke">${esc(onLine)}</text>`);
    legend(grey, `${onLine} (${lim.whose})`, dash, 1.4, null);
  });
  panel.series.forEach((s, i) => {
    const twin = panel.series.slice(0, i).find((e) => sameSeries(e, s));
    const drawn = s.points.filter(([, v]) => !log || v > 0);
    o.push(
      `<polyline fill="none" stroke="${s.style.color}" stroke-width="${s.style.width}"${s.style.dash ? ` stroke-dasharray="${s.style.dash}"` : ''} points="${drawn.map(([b, v]) => `${X(b).toFixed(1)},${Y(v).toFixed(1)}`).join(' ')}"/>`,
    );
    if (s.style.marker) for (const [b, v] of drawn) o.push(marker(s.style.marker, X(b), Y(v), s.style.color));
    legend(s.style.color, twin ? `${s.label} (= ${twin.label})` : s.label, s.style.dash, s.style.width, s.style.marker);
  });
}

function styleOf(i: number, n: number): Series['style'] {
  // Wider strokes first, narrower ones drawn on top: a series hidden under a later one shows its edges.
  return { color: PALETTE[i % PALETTE.length]!, marker: MARKERS[i % MARKERS.length]!, dash: DASHES[i % DASHES.length]!, width: 1.5 + 2 * ((n - 1 - i) / Math.max(1, n - 1)) };
}

function seriesBy(pts: PointResult[], value: (p: PointResult) => number): { label: string; points: [number, number][] }[] {
  const variants = [...new Set(pts.map((p) => p.variant))];
  return variants.map((v) => ({
    label: v,
    points: pts
      .filter((p) => p.variant === v)
      .sort((a, b) => a.messageBytes - b.messageBytes)
      .map((p): [number, number] => [p.messageBytes, value(p)]),
  }));
}

/** The limit lines of stream points: one per distinct limit, naming its links and variants. */
function limitsOf(pts: PointResult[]): Limit[] {
  const values = [...new Set(pts.map((p) => p.limitGbps))].sort((a, b) => b - a);
  return values.map((value) => {
    const at = pts.filter((p) => p.limitGbps === value);
    const links = [...new Set(at.map((p) => (p.limitLinks > 1 ? `${p.limitLinks} × ${p.link}` : p.link)))].join(', ');
    const variants = [...new Set(at.map((p) => p.variant))];
    const whose = variants.length === new Set(pts.map((p) => p.variant)).size ? 'every variant' : variants.join('; ');
    return { value, label: `PCIe write limit, ${links}`, whose };
  });
}

export function plotSvg(pts: PointResult[], scenarioName: string, seed: number): string {
  const sizes = [...new Set(pts.map((p) => p.messageBytes))].sort((a, b) => a - b);
  const streams = pts.filter((p) => p.traffic !== 'pingpong');
  const pings = pts.filter((p) => p.traffic === 'pingpong');
  const panels: Panel[] = [];
  if (streams.length > 0) {
    const raw = seriesBy(streams, (p) => p.gbps);
    panels.push({
      title: `${scenarioName}: bandwidth vs message size`,
      yLabel: 'Bandwidth (Gbps)',
      series: raw.map((s, i) => ({ ...s, style: styleOf(i, raw.length) })),
      limits: limitsOf(streams),
    });
  }
  if (pings.length > 0) {
    const p50 = seriesBy(pings, (p) => p.latencyUs.p50);
    const p99 = seriesBy(pings, (p) => p.latencyUs.p99);
    const series: Series[] = [];
    p50.forEach((s, i) => {
      const st = styleOf(i, p50.length);
      series.push({ label: `${s.label}, one-way p50`, points: s.points, style: st });
      series.push({ label: `${s.label}, one-way p99`, points: p99[i]!.points, style: { ...st, marker: null, dash: '1 3', width: 1.2 } });
    });
    panels.push({ title: `${scenarioName}: one-way latency vs message size (ping-pong)`, yLabel: 'One-way latency (µs)', series, limits: [] });
  }
  const H = panels.length * PANEL_HEIGHT + 20;
  const o: string[] = [];
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${PLOT_WIDTH}" height="${H}" viewBox="0 0 ${PLOT_WIDTH} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  o.push(`<rect width="${PLOT_WIDTH}" height="${H}" fill="white"/>`);
  panels.forEach((p, i) => drawPanel(o, p, sizes, i * PANEL_HEIGHT));
  o.push(`<text x="${M.l}" y="${H - 6}" font-size="10" fill="#555">eop bench, virtual time, seed ${seed}</text>`);
  o.push('</svg>');
  return o.join('\n') + '\n';
}
