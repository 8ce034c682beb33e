/**
 * The signals whose default action ends the process and that a program can catch. Whatever owns
 * something that must not outlive the process (namespaces, TAPs, capture buffers) listens to all of
 * them, not only SIGINT/SIGTERM: a SIGQUIT or SIGUSR2 must not leave namespaces behind.
 *
 * Left out, and why: SIGKILL/SIGSTOP (cannot be caught); SIGSEGV/SIGBUS/SIGFPE/SIGILL (raised by the
 * CPU, where running JavaScript is unsafe); SIGPIPE and SIGXFSZ (Node ignores them: they turn into
 * EPIPE/EFBIG errors); SIGUSR1 (Node's inspector; `eop up` uses it for a status line).
 */
import { constants } from 'node:os';

const CANDIDATES = [
  'SIGHUP',
  'SIGINT',
  'SIGQUIT',
  'SIGTERM',
  'SIGUSR2',
  'SIGALRM',
  'SIGVTALRM',
  'SIGPROF',
  'SIGPOLL',
  'SIGPWR',
  'SIGSTKFLT',
  'SIGXCPU',
  'SIGTRAP',
  'SIGABRT',
  'SIGSYS',
] as const;

/**
 * True when V8's sampling profiler runs (`node --cpu-prof`, `--prof`): it ticks with SIGPROF, so a
 * listener on SIGPROF would take its ticks as a stop request (and, once removed, the default action
 * would kill the process on the next tick).
 */
const PROFILING = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((a) => a === '--cpu-prof' || a === '--prof');

/** The terminating, catchable signals this platform has (SIGPROF only while no profiler runs). */
export const TERMINATING_SIGNALS: readonly NodeJS.Signals[] = CANDIDATES.filter(
  (s) => (constants.signals as Record<string, number | undefined>)[s] !== undefined && !(s === 'SIGPROF' && PROFILING),
) as NodeJS.Signals[];

/** 128 + the signal number: the exit status a shell reports for a process the signal ended. */
export function signalExitCode(sig: NodeJS.Signals): number {
  return 128 + ((constants.signals as Record<string, number | undefined>)[sig] ?? 15);
}
