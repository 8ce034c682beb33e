#!/usr/bin/env node
/**
 * `eop`: the command line. The only layer that touches the process: arguments, files, the wall
 * clock, signals and exit codes. Exit codes: 0 done, 1 the run found problems (with --strict) or an
 * internal error, 2 bad usage or an invalid topology.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { EopError, ErrorCode } from '../errors.js';
import { formatLogRecord, type LogLevel } from '../log.js';
import { buildReport, formatReport } from '../run/report.js';
import { runTopologyAsync } from '../run/run-rack.js';
import { DEFAULT_RACK, DEFAULT_RACK_YAML } from '../topology/default-rack.js';
import { checkTopologyLimits, loadTopology } from '../topology/load.js';
import type { InputLimits } from '../topology/limits.js';
import type { Topology } from '../topology/schema.js';
import { addLimitOptions, checkDirFlag, checkPathArg, limitsFromFlags, limitsHelp, safeJson, safeText, type LimitFlags } from './input-options.js';
import { registerLiveCommands } from './up-command.js';
import { registerBench } from './bench.js';
import { registerServe } from './serve-command.js';
import { registerStatus } from './status-command.js';
import { registerFault } from './fault-command.js';
import { registerAttach } from './attach-command.js';

export const EXIT_OK = 0;
export const EXIT_PROBLEMS = 1;
export const EXIT_USAGE = 2;

function packageVersion(): string {
  try {
    let dir = dirname(fileURLToPath(import.meta.url));
    for (let i = 0; i < 5; i++) {
      try {
        return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
      } catch {
        dir = dirname(dir);
      }
    }
  } catch {
    /* fall through */
  }
  return 'unknown';
}

function intArg(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max} (got "${v}")`);
    }
    return n;
  };
}

function numArg(name: string, minExclusive: number) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n <= minExclusive) throw new InvalidArgumentError(`${name} must be a number above ${minExclusive} (got "${v}")`);
    return n;
  };
}

function loadOrDefault(path: string | undefined, limits: InputLimits): Topology {
  return path !== undefined ? loadTopology(path, limits) : DEFAULT_RACK;
}

interface RunFlags extends LimitFlags {
  durationMs?: number;
  seed?: number;
  captures: boolean;
  captureDir?: string;
  json?: boolean;
  printDefault?: boolean;
  strict?: boolean;
  logLevel: LogLevel;
}

async function runCommand(path: string | undefined, flags: RunFlags): Promise<number> {
  if (flags.printDefault) {
    if (path !== undefined) {
      throw new EopError(ErrorCode.USAGE, '--print-default prints the embedded rack and reads no file: drop the rack file argument');
    }
    process.stdout.write(DEFAULT_RACK_YAML);
    return EXIT_OK;
  }
  const limits = limitsFromFlags(flags);
  checkDirFlag(flags.captureDir, '--capture-dir');
  let topo = loadOrDefault(checkPathArg(path, 'rack file'), limits);
  if (flags.durationMs !== undefined || flags.seed !== undefined) {
    topo = { ...topo, ...(flags.durationMs !== undefined ? { durationMs: flags.durationMs } : {}), ...(flags.seed !== undefined ? { seed: flags.seed } : {}) };
  }
  // the flags meet the same limits as the file (and the embedded rack as any other)
  checkTopologyLimits(topo, limits);
  const attached = topo.hosts.filter((h) => h.attach !== 'builtin');
  if (attached.length > 0) {
    process.stderr.write(
      `note: ${attached.map((h) => `${h.name} (attach: ${h.attach})`).join(', ')} run the built-in stack under "eop run", which is virtual time only; real sockets attach with "eop up" (tap) or "eop serve" (tap, websocket, uplink).\n`,
    );
  }
  const result = await runTopologyAsync(
    topo,
    {
      captures: flags.captures && topo.captures.enabled,
      ...(flags.captureDir ? { captureDir: flags.captureDir } : {}),
      logSink: (r) => process.stderr.write(formatLogRecord(r) + '\n'),
      logLevel: flags.logLevel,
      exitHandlers: true,
    },
    () => performance.now(),
  );
  result.captures?.closeAll();
  const report = buildReport(result);
  process.stdout.write((flags.json ? safeJson(JSON.stringify(report, null, 2)) : safeText(formatReport(report))) + '\n');
  return flags.strict && report.problems.length > 0 ? EXIT_PROBLEMS : EXIT_OK;
}

function validateCommand(path: string, flags: LimitFlags): number {
  const t = loadTopology(checkPathArg(path, 'rack file')!, limitsFromFlags(flags));
  const traffic = t.traffic.length;
  process.stdout.write(
    `${safeText(path)}: valid. Rack "${t.name}": ${t.hosts.length} compute host(s)${t.management ? ` + management host ${t.management.name}` : ''}, ` +
      `Gen${t.link.gen} x${t.link.width} MPS ${t.link.mpsBytes}, MTU ${t.mtu}, ${traffic} traffic item(s) after expansion.\n`,
  );
  return EXIT_OK;
}

const RACK_LIMITS = ['maxInputBytes', 'maxDurationMs', 'maxMemoryMiB'] as const;

export function buildProgram(): Command {
  const program = new Command();
  program
    // commander echoes arguments in its errors: never let them drive the terminal
    .configureOutput({ writeErr: (str) => process.stderr.write(safeText(str)) })
    .name('eop')
    .description(
      'EOP: an Ethernet-over-PCIe rack network emulator. Hosts joined by a PCIe switch with NTBs exchange real\n' +
        'Ethernet frames through HRDMA, NTB windows and MSI interrupts, byte for byte, with a PCIe timing model.',
    )
    .version(packageVersion(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  const run = program
    .command('run')
    .description('Run a rack in virtual time and print per-host and per-queue-pair counters, ping RTTs and throughput.')
    .argument('[topology]', 'rack file (YAML or JSON); default: the embedded rack (mh + h1..h4, Gen3 x8, ping-all + one UDP stream)')
    .option('--duration-ms <ms>', 'virtual time limit (overrides durationMs)', numArg('--duration-ms', 0))
    .option('--seed <n>', 'random seed (overrides seed)', intArg('--seed', 0, 2 ** 32 - 1))
    .option('--no-captures', 'do not write capture files')
    .option('--capture-dir <dir>', 'write captures here instead of the topology\'s captures.dir')
    .option('--json', 'print the report as JSON')
    .option('--strict', 'exit 1 if any ping is lost, any datagram lost or corrupt, or a link stays down')
    .addOption(new Option('--log-level <level>', 'log detail on stderr').choices(['error', 'warn', 'info', 'debug']).default('warn'))
    .option('--print-default', 'print the embedded default rack as YAML (every setting with its default and a description: a starting point for your own) and exit');
  addLimitOptions(run, RACK_LIMITS)
    .addHelpText(
      'after',
      '\nExamples:\n  eop run                          # the embedded default rack\n  eop run rack.yaml --json\n  eop run --print-default > rack.yaml\n\nCaptures are written to captures/<interface>.pcapng; open them with wireshark or tshark -r.\n' +
        '\n' +
        limitsHelp(RACK_LIMITS),
    )
    .action(async (path: string | undefined, flags: RunFlags) => {
      process.exitCode = await runCommand(path, flags);
    });

  const validate = program
    .command('validate')
    .description('Check a rack file and say what it describes; every invalid field is named (exit 2). What it accepts, "eop run" and "eop up" run.')
    .argument('<topology>', 'rack file (YAML or JSON)');
  addLimitOptions(validate, RACK_LIMITS)
    .addHelpText('after', '\n' + limitsHelp(RACK_LIMITS))
    .action((path: string, flags: LimitFlags) => {
      process.exitCode = validateCommand(path, flags);
    });

  registerLiveCommands(program); // up, down, exec (live mode with TAPs)
  registerBench(program); // bench: scripted sweeps (src/bench)
  registerServe(program); // serve: WebSocket hosts, uplinks, status, page
  registerStatus(program); // status: /api/status of a running rack
  registerFault(program); // fault: /api/faults of a running rack
  registerAttach(program); // attach: uplinks between racks, a local namespace on a remote host
  return program;
}

/** Errors that mean "the input (a file, a flag, an argument) is wrong": exit 2. */
export const BAD_INPUT_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.CONFIG_INVALID,
  ErrorCode.CONFIG_UNREADABLE,
  ErrorCode.LIMIT_EXCEEDED,
  ErrorCode.USAGE,
]);

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end here with code 0; usage errors were already printed by commander.
      return e.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (e instanceof EopError) {
      process.stderr.write(`eop: ${safeText(e.message)}\n`);
      return BAD_INPUT_CODES.has(e.code) ? EXIT_USAGE : EXIT_PROBLEMS;
    }
    process.stderr.write(`eop: internal error: ${safeText(e instanceof Error ? (e.stack ?? e.message) : String(e))}\n`);
    return EXIT_PROBLEMS;
  }
}

const invokedDirectly = process.argv[1] && fileURLToPath(import.meta.url) === (await import('node:fs')).realpathSync(process.argv[1]);
if (invokedDirectly) process.exit(await main(process.argv));
