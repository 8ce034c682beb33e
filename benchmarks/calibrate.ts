/**
 * `npm run calibrate`: the model-versus-reality table (src/bench/calibrate.ts) — every published
 * figure EOP is compared with, the model's prediction for it (run now, virtual time, seed 1), the
 * error, and whether the figure set a default (fit) or was kept out (hold-out). Markdown on
 * stdout, as quoted by the README and docs/model-vs-reality.md; `--json` for one object per row.
 */
import { calibrate, formatCalibration } from '../src/bench/calibrate.js';

const args = process.argv.slice(2);
const unknown = args.filter((a) => a !== '--json' && a !== '--help');
if (args.includes('--help') || unknown.length > 0) {
  if (unknown.length > 0) process.stderr.write(`calibrate: unknown argument ${unknown.join(' ')}\n`);
  process.stdout.write('usage: npm run calibrate [-- --json]\n  Prints the model-versus-published-measurements table (Markdown, or JSON lines with --json).\n');
  process.exit(unknown.length > 0 ? 2 : 0);
}
const rows = calibrate();
if (args.includes('--json')) {
  for (const r of rows) {
    const { predict: _p, ...f } = r.figure;
    process.stdout.write(JSON.stringify({ ...f, model: r.model, error: r.error, within: r.within }) + '\n');
  }
} else {
  process.stdout.write(formatCalibration(rows) + '\n');
}
