/**
 * `npm run calibrate` (src/bench/calibrate.ts): the error and tolerance arithmetic, the fit /
 * hold-out split, and that README.md and docs/model-vs-reality.md quote the table the model gives
 * now (regenerate with `npm run calibrate` after any model change).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FIGURES, calibrate, evaluate, formatCalibration, type Figure } from '../src/bench/calibrate.js';

const fake = (o: Partial<Figure>): Figure => ({
  id: 'x',
  quantity: 'q',
  published: 10,
  unit: 'Gb/s',
  kind: 'value',
  source: 's',
  conditions: 'c',
  role: 'hold-out',
  predict: () => 12,
  ...o,
});

function quoted(file: string): string {
  const text = readFileSync(fileURLToPath(new URL(`../${file}`, import.meta.url)), 'utf8');
  const m = /<!-- calibrate:begin -->\n([\s\S]*?)\n<!-- calibrate:end -->/.exec(text);
  if (!m) throw new Error(`${file} has no calibrate block`);
  return m[1]!;
}

describe('calibration', () => {
  it('error is (model − published) / published; tolerance 25 % throughput, 50 % latency, or the bound', () => {
    expect(evaluate(fake({})).error).toBeCloseTo(0.2, 12);
    expect(evaluate(fake({})).within).toBe(true);
    expect(evaluate(fake({ predict: () => 13 })).within).toBe(false); // +30 % throughput
    expect(evaluate(fake({ unit: 'µs', predict: () => 14 })).within).toBe(true); // +40 % latency
    expect(evaluate(fake({ unit: 'µs', predict: () => 4 })).within).toBe(false); // −60 %
    expect(evaluate(fake({ kind: 'upper', predict: () => 9 })).within).toBe(true);
    expect(evaluate(fake({ kind: 'upper', predict: () => 10.5 })).within).toBe(false);
  });

  it('keeps published figures out of the calibration: more hold-out than fitted, each fit names its parameter', () => {
    const fit = FIGURES.filter((f) => f.role === 'fit');
    const hold = FIGURES.filter((f) => f.role === 'hold-out');
    expect(hold.length).toBeGreaterThan(fit.length);
    for (const f of fit) expect(f.fitted, f.id).toBeTruthy();
    expect(new Set(FIGURES.map((f) => f.id)).size).toBe(FIGURES.length);
  });

  it('README.md and docs/model-vs-reality.md quote the current table', () => {
    const table = formatCalibration(calibrate());
    expect(quoted('README.md')).toBe(table);
    expect(quoted('docs/model-vs-reality.md')).toBe(table);
  });
});
