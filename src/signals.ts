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

/** The terminating, catchable signals this platform has. */
export const TERMINATING_SIGNALS: readonly NodeJS.Signals[] = CANDIDATES.filter(
  (s) => (constants.signals as Record<string, number | undefined>)[s] !== undefined,
) as NodeJS.Signals[];

/** 128 + the signal number: the exit status a shell reports for a process the signal ended. */
export function signalExitCode(sig: NodeJS.Signals): number {
  return 128 + ((constants.signals as Record<string, number | undefined>)[sig] ?? 15);
}
