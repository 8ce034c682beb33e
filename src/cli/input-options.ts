/**
 * What every command that reads a rack or scenario file shares: the flags that raise the input
 * limits (src/topology/limits.ts), the check of a path argument, and printing user-controlled text
 * safely (terminal control characters escaped).
 */
import { InvalidArgumentError, type Command } from 'commander';
import { EopError, ErrorCode } from '../errors.js';
import { DEFAULT_INPUT_LIMITS, LIMIT_FLAGS, type InputLimits } from '../topology/limits.js';
import { escapeText } from '../topology/problems.js';
import { KiB } from '../time/units.js';

export interface LimitFlags {
  maxInputKib?: number;
  maxDurationMs?: number;
  maxMemoryMib?: number;
  maxPoints?: number;
}

function positiveInt(flag: string, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < 1 || n > max) {
      throw new InvalidArgumentError(`${flag} must be an integer from 1 to ${max} (got "${escapeText(v)}")`);
    }
    return n;
  };
}

const OPTIONS: Record<keyof InputLimits, { flag: string; arg: string; help: string; max: number }> = {
  maxInputBytes: {
    flag: LIMIT_FLAGS.maxInputBytes,
    arg: '<KiB>',
    help: `largest rack or scenario file read (default ${DEFAULT_INPUT_LIMITS.maxInputBytes / KiB} KiB)`,
    max: 1024 * 1024,
  },
  maxDurationMs: {
    flag: LIMIT_FLAGS.maxDurationMs,
    arg: '<ms>',
    help: `longest virtual time a rack may ask for (default ${DEFAULT_INPUT_LIMITS.maxDurationMs} ms)`,
    max: 1e9,
  },
  maxMemoryMiB: {
    flag: LIMIT_FLAGS.maxMemoryMiB,
    arg: '<MiB>',
    help: `largest estimated memory for the rack's rings and traffic (default ${DEFAULT_INPUT_LIMITS.maxMemoryMiB} MiB)`,
    max: 1024 * 1024,
  },
  maxMatrixPoints: {
    flag: LIMIT_FLAGS.maxMatrixPoints,
    arg: '<n>',
    help: `most points a scenario may expand to (default ${DEFAULT_INPUT_LIMITS.maxMatrixPoints})`,
    max: 1e7,
  },
};

/** Adds the flags that raise `which` limits to `cmd`. */
export function addLimitOptions(cmd: Command, which: readonly (keyof InputLimits)[]): Command {
  for (const k of which) {
    const o = OPTIONS[k];
    cmd.option(`${o.flag} ${o.arg}`, o.help, positiveInt(o.flag, o.max));
  }
  return cmd;
}

/** The help text's paragraph on limits, from the same table as the flags. */
export function limitsHelp(which: readonly (keyof InputLimits)[]): string {
  const lines = which.map((k) => `  ${`${OPTIONS[k].flag} ${OPTIONS[k].arg}`.padEnd(24)}${OPTIONS[k].help}`);
  return `Limits, checked before anything runs (exit 2, naming the limit; see README "Limits"):\n${lines.join('\n')}`;
}

/** The limits after the flags that raise them. */
export function limitsFromFlags(f: LimitFlags): InputLimits {
  return {
    maxInputBytes: f.maxInputKib !== undefined ? f.maxInputKib * KiB : DEFAULT_INPUT_LIMITS.maxInputBytes,
    maxDurationMs: f.maxDurationMs ?? DEFAULT_INPUT_LIMITS.maxDurationMs,
    maxMemoryMiB: f.maxMemoryMib ?? DEFAULT_INPUT_LIMITS.maxMemoryMiB,
    maxMatrixPoints: f.maxPoints ?? DEFAULT_INPUT_LIMITS.maxMatrixPoints,
  };
}

/** A file argument as given: `undefined` (not given) passes, an empty one is a usage error. */
export function checkPathArg(path: string | undefined, what: string): string | undefined {
  if (path === undefined) return undefined;
  if (path.trim() === '') throw new EopError(ErrorCode.USAGE, `the ${what} path is empty; give a file, or no argument for the default`);
  if (path.includes('\0')) throw new EopError(ErrorCode.USAGE, `the ${what} path contains a NUL byte`);
  return path;
}

/** A directory flag: not empty, no control characters (a NUL cannot be in a path). */
export function checkDirFlag(dir: string | undefined, flag: string): string | undefined {
  if (dir === undefined) return undefined;
  // eslint-disable-next-line no-control-regex
  if (dir === '' || /[\u0000-\u001f\u007f]/.test(dir)) {
    throw new EopError(ErrorCode.USAGE, `${flag} must be a directory path without control characters (got ${JSON.stringify(escapeText(dir))})`);
  }
  return dir;
}

/** Text that may hold user input, for a terminal: control characters shown as escapes. */
export function safeText(text: string): string {
  return escapeText(text, true);
}

/**
 * JSON for stdout: JSON.stringify escapes C0 controls but not C1 or bidi controls; this escapes
 * those as \uXXXX too, which stays valid JSON (they can only occur inside strings).
 */
export function safeJson(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Ethernet (14) + IPv6 (40) + TCP with every option (60) = 114: headers of any TCP/UDP frame fit. */
export const HEADERS_SNAPLEN = 128;

export function snaplenArg(v: string): number {
  if (v === 'headers') return HEADERS_SNAPLEN;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 64 || n > 262_144) throw new InvalidArgumentError(`must be "headers" (${HEADERS_SNAPLEN} bytes) or a byte count from 64 to 262144 (got "${v}")`);
  return n;
}

/** `--capture-snaplen`, shared by the live commands (eop up, eop serve). */
export const SNAPLEN_HELP = `keep at most this many bytes of each frame; "headers" = ${HEADERS_SNAPLEN} (long runs)`;

/** A namespace prefix: letters, digits, '.', '_', '-' (it starts namespace names and file names). */
export function nsPrefixArg(v: string): string {
  if (!/^[A-Za-z0-9_.-]{1,32}$/.test(v)) throw new InvalidArgumentError(`must be 1..32 letters, digits, '.', '_' or '-' (got "${v}")`);
  return v;
}
