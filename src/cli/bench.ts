/**
 * `eop bench [scenario.yaml]`: scripted throughput and latency sweeps in virtual time (see
 * src/bench/). Registered on the program by main.ts; this file owns the command's I/O: reading the
 * scenario, the progress bar on stderr, and writing the table, JSON lines, CSV and SVG.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, type Command } from 'commander';
import { EopError, ErrorCode } from '../errors.js';
import { formatMatrix, formatTable, toCsv, toJsonLines, toSvg } from '../bench/report.js';
import { runScenario, type Progress } from '../bench/run.js';
import { loadScenario } from '../bench/scenario.js';

/** The default sweep: Marlin's inter-host figure. */
export const DEFAULT_SCENARIO_FILE = 'marlin-inter-host.yaml';

/** The repository's scenarios/ folder (from src/cli or dist/src/cli), else ./scenarios. */
export function scenariosDir(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const d = join(dir, 'scenarios');
    if (existsSync(join(d, DEFAULT_SCENARIO_FILE))) return d;
    dir = dirname(dir);
  }
  const here = join(process.cwd(), 'scenarios');
  return existsSync(join(here, DEFAULT_SCENARIO_FILE)) ? here : null;
}

interface BenchFlags {
  json?: boolean;
  csv?: boolean;
  svg?: string;
  seed?: number;
  progress?: boolean;
  list?: boolean;
}

function progressBar(p: Progress): string {
  const width = 28;
  const filled = Math.round(p.fraction * width);
  const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
  const eta = p.etaMs === null ? 'estimating…' : `~${secs(p.etaMs)} left`;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.done}/${p.total} ${(100 * p.fraction).toFixed(0).padStart(3)}%  ${secs(p.elapsedMs)} elapsed, ${eta}  ${p.label}`;
}

function benchCommand(path: string | undefined, flags: BenchFlags): number {
  const dir = scenariosDir();
  if (flags.list) {
    if (!dir) throw new EopError(ErrorCode.USAGE, 'no scenarios/ folder found next to this installation');
    for (const f of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort()) process.stdout.write(`${join(dir, f)}\n`);
    return 0;
  }
  if (flags.json && flags.csv) throw new EopError(ErrorCode.USAGE, '--json and --csv both write to stdout: choose one');
  const file = path ?? (dir ? join(dir, DEFAULT_SCENARIO_FILE) : null);
  if (!file) throw new EopError(ErrorCode.USAGE, 'no scenario given and the default scenarios/marlin-inter-host.yaml was not found');
  const scenario = loadScenario(file);
  const showProgress = flags.progress ?? process.stderr.isTTY === true;
  let lastDraw = 0;
  const run = runScenario(scenario, {
    ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
    wallClockMs: () => performance.now(),
    onProgress: showProgress
      ? (p) => {
          const now = performance.now();
          if (p.done !== p.total && now - lastDraw < 100) return;
          lastDraw = now;
          const line = progressBar(p);
          const cols = process.stderr.columns ?? 120;
          process.stderr.write(`\r${line.slice(0, cols - 1).padEnd(Math.min(cols - 1, line.length))}`);
          if (p.done === p.total) process.stderr.write('\r\x1b[2K');
        }
      : undefined,
  });
  if (flags.seed !== undefined) run.scenario = { ...run.scenario, seed: flags.seed };
  if (flags.json) process.stdout.write(toJsonLines(run));
  else if (flags.csv) process.stdout.write(toCsv(run));
  else {
    process.stdout.write(formatTable(run) + '\n\nGb/s by message size\n' + formatMatrix(run) + '\n');
    process.stdout.write(`\n${run.points.length} points in ${(run.wallMs / 1000).toFixed(1)} s wall${flags.svg ? `; plot to ${flags.svg}` : ''}\n`);
  }
  // The plot last: an unwritable path must not cost the results already printed.
  if (flags.svg) {
    try {
      writeFileSync(flags.svg, toSvg(run));
    } catch (e) {
      throw new EopError(ErrorCode.USAGE, `cannot write the plot to ${flags.svg}: ${(e as Error).message}`);
    }
  }
  return 0;
}

function seedArg(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n > 0xffff_ffff) throw new InvalidArgumentError(`--seed must be an integer from 0 to ${0xffff_ffff} (got "${v}")`);
  return n;
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('Sweep throughput and latency in virtual time (message size, alignment, link, MPS, copy path, interrupts, flows).')
    .argument('[scenario]', `scenario file (YAML); default: scenarios/${DEFAULT_SCENARIO_FILE} (Marlin's inter-host figure)`)
    .option('--json', 'print one JSON object per point (JSON lines)')
    .option('--csv', 'print the points as CSV')
    .option('--svg <file>', 'write a plot of Gb/s against message size, one line per variant')
    .option('--seed <n>', "override the scenario's seed", seedArg)
    .option('--progress', 'show the progress bar even when stderr is not a terminal')
    .option('--no-progress', 'never show the progress bar')
    .option('--list', 'list the scenario files shipped in scenarios/ and exit')
    .addHelpText(
      'after',
      '\nExamples:\n  eop bench                                   # Marlin\'s figure, Gen2 x8\n  eop bench scenarios/gen-scaling.yaml --svg gen.svg\n  eop bench scenarios/msi-vs-doorbell.yaml --json > points.jsonl\n\nA malformed scenario is reported field by field (exit 2).',
    )
    .action((path: string | undefined, flags: BenchFlags) => {
      process.exitCode = benchCommand(path, flags);
    });
}
