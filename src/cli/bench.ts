/**
 * `eop bench [NAME | scenario.yaml]`: scripted throughput and latency sweeps in virtual time (see
 * src/bench/). Registered on the program by main.ts; this file owns the command's I/O: finding the
 * scenario (a file, or a shipped one by name), the progress bar on stderr, and writing the table,
 * JSON lines, CSV and SVG. Output paths are checked before the run (a sweep can take minutes; a
 * typo in a path must not cost them), and every file written is named at the end.
 */
import { accessSync, constants, existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, type Command } from 'commander';
import { EopError, ErrorCode } from '../errors.js';
import { formatMatrix, formatTable, toCsv, toJsonLines, toSvg } from '../bench/report.js';
import { runScenario, type Progress } from '../bench/run.js';
import { loadScenario } from '../bench/scenario.js';
import { addLimitOptions, limitsFromFlags, limitsHelp, safeJson, safeText, type LimitFlags } from './input-options.js';

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

interface BenchFlags extends LimitFlags {
  json?: boolean;
  csv?: string;
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

/** The shipped scenarios: name (file name without .yaml) → path. */
export function shippedScenarios(dir: string | null = scenariosDir()): Map<string, string> {
  const out = new Map<string, string>();
  if (!dir) return out;
  for (const f of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort()) out.set(f.replace(/\.ya?ml$/, ''), join(dir, f));
  return out;
}

/** A path to a scenario file, or the name of a shipped one. */
export function resolveScenario(arg: string | undefined): string {
  const shipped = shippedScenarios();
  if (arg === undefined) {
    const def = shipped.get(DEFAULT_SCENARIO_FILE.replace(/\.yaml$/, ''));
    if (!def) throw new EopError(ErrorCode.USAGE, `no scenario given and the default scenarios/${DEFAULT_SCENARIO_FILE} was not found`);
    return def;
  }
  if (arg.trim() === '') throw new EopError(ErrorCode.USAGE, 'the scenario argument is empty: give a shipped name (eop bench --list) or a file');
  if (existsSync(arg)) return arg;
  const byName = shipped.get(arg.replace(/\.ya?ml$/, ''));
  if (byName) return byName;
  const names = [...shipped.keys()].join(', ');
  throw new EopError(ErrorCode.USAGE, `"${arg}" is neither a file nor a shipped scenario${names ? ` (shipped: ${names}; eop bench --list)` : ''}`);
}

/** Refuse an output path that cannot be written, before the run. `-` is stdout. */
export function checkOutputPath(path: string, flag: string): void {
  if (path === '-') return;
  if (path.trim() === '') throw new EopError(ErrorCode.USAGE, `${flag}: the file name is empty`);
  // "--csv --no-progress" would otherwise write a file called --no-progress: a forgotten file name.
  if (path.startsWith('-')) throw new EopError(ErrorCode.USAGE, `${flag} needs a file name (or - for stdout), got the option-like "${path}"; write ./${path} for a file of that name`);
  const full = resolve(path);
  const dir = dirname(full);
  const problem = (why: string): never => {
    throw new EopError(ErrorCode.USAGE, `${flag} ${path}: ${why} (checked before the run)`);
  };
  if (!existsSync(dir)) problem(`the folder ${dir} does not exist`);
  if (!statSync(dir).isDirectory()) problem(`${dir} is not a folder`);
  if (existsSync(full)) {
    if (statSync(full).isDirectory()) problem('is a folder; give a file name');
    try {
      accessSync(full, constants.W_OK);
    } catch {
      problem('the file exists and is not writable');
    }
  } else {
    try {
      accessSync(dir, constants.W_OK);
    } catch {
      problem(`the folder ${dir} is not writable`);
    }
  }
}

function listScenarios(extra: string | undefined): number {
  if (extra !== undefined) throw new EopError(ErrorCode.USAGE, `--list takes no scenario (got "${extra}")`);
  const shipped = shippedScenarios();
  if (shipped.size === 0) throw new EopError(ErrorCode.USAGE, 'no scenarios/ folder found next to this installation');
  const width = Math.max(...[...shipped.keys()].map((n) => n.length));
  for (const [name, file] of shipped) {
    const d = loadScenario(file).description.replace(/\s+/g, ' ').trim();
    const line = d.split(/(?<=\.) /)[0] ?? '';
    process.stdout.write(`${name.padEnd(width)}  ${line}${name === DEFAULT_SCENARIO_FILE.replace(/\.yaml$/, '') ? ' (the default)' : ''}\n`);
  }
  process.stdout.write(`\nRun one with: eop bench NAME   (files in ${dirname([...shipped.values()][0]!)})\n`);
  return 0;
}

function benchCommand(path: string | undefined, flags: BenchFlags): number {
  if (flags.list) return listScenarios(path);
  if (flags.json && flags.csv === '-') throw new EopError(ErrorCode.USAGE, '--json and --csv - both write to stdout: choose one');
  if (flags.svg === '-') throw new EopError(ErrorCode.USAGE, '--svg needs a file name (the plot is not written to stdout)');
  if (flags.svg) checkOutputPath(flags.svg, '--svg');
  if (flags.csv) checkOutputPath(flags.csv, '--csv');
  if (flags.svg && flags.csv && resolve(flags.svg) === resolve(flags.csv)) throw new EopError(ErrorCode.USAGE, `--svg and --csv name the same file (${flags.svg})`);
  const scenario = loadScenario(resolveScenario(path), limitsFromFlags(flags));
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
  const toStdout = flags.json || flags.csv === '-';
  // variant names come from the scenario file: escaped before they reach a terminal
  if (flags.json) process.stdout.write(safeJson(toJsonLines(run)));
  else if (flags.csv === '-') process.stdout.write(safeText(toCsv(run)));
  else process.stdout.write(safeText(formatTable(run) + '\n\nGb/s by message size\n' + formatMatrix(run)) + '\n');
  // Files last: a path that became unwritable during the run must not cost the results printed.
  const written: string[] = [];
  const failed: string[] = [];
  const write = (file: string, what: string, text: () => string): void => {
    try {
      writeFileSync(file, text());
      written.push(`${file} (${what})`);
    } catch (e) {
      failed.push(`cannot write the ${what} to ${file}: ${(e as Error).message}`);
    }
  };
  if (flags.csv && flags.csv !== '-') write(flags.csv, 'CSV', () => toCsv(run));
  if (flags.svg) write(flags.svg, 'plot', () => toSvg(run));
  const summary = `${run.points.length} points in ${(run.wallMs / 1000).toFixed(1)} s wall${written.length ? `; wrote ${written.join(', ')}` : ''}`;
  // With JSON or CSV on stdout the summary goes to stderr, so stdout stays machine-readable.
  (toStdout ? process.stderr : process.stdout).write(`${toStdout ? '' : '\n'}${summary}\n`);
  if (failed.length) throw new EopError(ErrorCode.USAGE, failed.join('; '));
  return 0;
}

const BENCH_HELP_AFTER = `
Examples:
  eop bench                                   # Marlin's figure, Gen2 x8
  eop bench --list                            # the shipped scenarios
  eop bench gen-scaling --svg gen.svg         # a shipped scenario by name, with a plot
  eop bench msi-vs-doorbell --json > points.jsonl
  eop bench my-sweep.yaml --csv points.csv

Columns of the table:
  Gb/s            application goodput: bytes of complete messages delivered to the receiving
                  application, per second of virtual time, after warm-up (10^9 bit/s)
  limit Gb/s      the PCIe write limit: full, aligned MPS-sized memory writes on the link, times
                  the links the flows do not share (the best any traffic could do)
  % limit         Gb/s as a percentage of limit Gb/s
  frame B         size of a data frame on the wire, Ethernet header included, no FCS (bytes)
  frames/s        data frames delivered per second of virtual time
  one-way p50/p99 per message, send call to the receiving application: median and 99th
                  percentile (µs of virtual time)
  RTT p50/p99     TCP: segment sent to its ACK processed; ping-pong: request sent to reply
                  received (µs); - for UDP
  lost            UDP messages not delivered whole (the receiving socket buffer was full)

A malformed scenario is reported field by field (exit 2); output paths are checked before the run.`;

function seedArg(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n > 0xffff_ffff) throw new InvalidArgumentError(`--seed must be an integer from 0 to ${0xffff_ffff} (got "${v}")`);
  return n;
}

const BENCH_LIMITS = ['maxInputBytes', 'maxMatrixPoints'] as const;

export function registerBench(program: Command): void {
  const bench = program
    .command('bench')
    .description('Sweep throughput and latency in virtual time (message size, alignment, link, MPS, copy path, interrupts, flows).')
    .argument('[scenario]', `a shipped scenario's NAME (see --list) or a scenario file (YAML); default: ${DEFAULT_SCENARIO_FILE.replace(/\.yaml$/, '')} (Marlin's inter-host figure)`)
    .option('--json', 'print one JSON object per point (JSON lines) instead of the table')
    .option('--csv <file>', 'write the points as CSV to <file> (- prints them instead of the table)')
    .option('--svg <file>', 'write the plot: Gb/s against message size per stream variant, with PCIe limits; one-way latency for ping-pong variants')
    .option('--seed <n>', "override the scenario's seed", seedArg)
    .option('--progress', 'show the progress bar even when stderr is not a terminal')
    .option('--no-progress', 'never show the progress bar')
    .option('--list', 'list the shipped scenarios (NAME and a one-line description) and exit');
  addLimitOptions(bench, BENCH_LIMITS)
    .addHelpText('after', `${BENCH_HELP_AFTER}\n\n${limitsHelp(BENCH_LIMITS)}`)
    .action((path: string | undefined, flags: BenchFlags) => {
      process.exitCode = benchCommand(path, flags);
    });
}
