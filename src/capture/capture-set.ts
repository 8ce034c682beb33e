/**
 * A registry of the capture files of one run (one per interface), and the only place that touches
 * process signals for captures.
 *
 * Rules, and why:
 * - Write-behind buffers must reach disk however the process ends: `process.on('exit')` flushes and
 *   closes (synchronous fs only works there), every catchable terminating signal (src/signals.ts:
 *   SIGINT, SIGTERM, SIGQUIT, SIGUSR2, …) closes the files and then lets the signal do what it would
 *   have done, so shells and supervisors still see 128 + the signal number.
 * - Every file is watched by the process's capture guardian (capture-guardian.ts) unless `crashSafe`
 *   is false: after a SIGKILL it cuts each file back to its last whole record.
 * - `threaded`: the files write through one shared CaptureThread (live mode, see capture-file.ts),
 *   and a timer hands every file's buffered records to it within `flushEveryMs` (default 250 ms)
 *   of the first one, so a capture of a running rack can be opened at any time and lags at most
 *   about that. The timer is armed by a record, so an idle rack's captures set none.
 * - An I/O error that stops a capture (a full disk) is said once per set through `onError`, however
 *   many files it hits; each file's stats keep their own error and drop counts for the report.
 * - Re-raising: when we are the only listener we remove our signal listeners (Node then restores the
 *   default action) and send the signal to ourselves; `exit(128 + n)` backs that up. When someone else
 *   also listens (e.g. a CLI that prints stats and exits itself), they own the exit and we only close.
 * - One set of listeners per process, however many sets or calls: they iterate over every registered
 *   set, so installing twice never doubles work or re-raises twice.
 * - The process is injectable (`ProcessLike`) so tests can drive the handlers without real signals.
 */
import { constants } from 'node:os';
import { EopError, ErrorCode } from '../errors.js';
import { TERMINATING_SIGNALS } from '../signals.js';
import { CaptureFile, type CaptureOptions, type CaptureStats } from './capture-file.js';
import { CaptureGuardian } from './capture-guardian.js';
import { CaptureThread } from './capture-thread.js';

/** The part of `process` the exit handlers use. */
export interface ProcessLike {
  readonly pid: number;
  on(event: string, listener: (...args: any[]) => void): unknown;
  removeListener(event: string, listener: (...args: any[]) => void): unknown;
  listenerCount(event: string): number;
  kill(pid: number, signal?: string | number): unknown;
  exit(code?: number): unknown;
}

const HANDLED_SIGNALS = TERMINATING_SIGNALS;
type HandledSignal = NodeJS.Signals;

interface Installation {
  readonly sets: Set<CaptureSet>;
  readonly onExit: () => void;
  readonly onSignal: (signal: HandledSignal) => void;
  signalsOn: boolean;
}

const installations = new WeakMap<ProcessLike, Installation>();

function closeSets(sets: Iterable<CaptureSet>): void {
  for (const set of sets) {
    try {
      set.closeAll();
    } catch {
      // Never let capture cleanup change how the process ends.
    }
  }
}

function removeSignalListeners(proc: ProcessLike, inst: Installation): void {
  if (!inst.signalsOn) return;
  for (const sig of HANDLED_SIGNALS) proc.removeListener(sig, inst.onSignal);
  inst.signalsOn = false;
}

function install(proc: ProcessLike, set: CaptureSet): void {
  let inst = installations.get(proc);
  if (!inst) {
    const sets = new Set<CaptureSet>();
    const created: Installation = {
      sets,
      signalsOn: true,
      onExit: () => closeSets(sets),
      onSignal: (signal: HandledSignal) => {
        closeSets(sets);
        if (proc.listenerCount(signal) > 1) return; // someone else decides how to exit
        removeSignalListeners(proc, created);
        const signum = constants.signals[signal];
        try {
          proc.kill(proc.pid, signal);
        } catch {
          // fall through to exit()
        }
        proc.exit(128 + signum);
      },
    };
    inst = created;
    installations.set(proc, inst);
    proc.on('exit', inst.onExit);
    for (const sig of HANDLED_SIGNALS) proc.on(sig, inst.onSignal);
  } else if (!inst.signalsOn) {
    for (const sig of HANDLED_SIGNALS) proc.on(sig, inst.onSignal);
    inst.signalsOn = true;
  }
  inst.sets.add(set);
}

function uninstall(proc: ProcessLike, set: CaptureSet): void {
  const inst = installations.get(proc);
  if (!inst) return;
  inst.sets.delete(set);
  if (inst.sets.size > 0) return;
  proc.removeListener('exit', inst.onExit);
  removeSignalListeners(proc, inst);
  installations.delete(proc);
}

export interface CaptureSetOptions {
  /** Write through a worker thread (live mode); default false (synchronous, nothing dropped). */
  threaded?: boolean;
  /** Threaded: hand buffered records to the writer at least this often; default 250. */
  flushEveryMs?: number;
  /** Told once, with a sentence, when an I/O error stops a capture of this set. */
  onError?: (message: string) => void;
  /**
   * Repair files after a crash (SIGKILL): the process's capture guardian cuts them back to their last
   * whole record (capture-guardian.ts). Default true.
   */
  crashSafe?: boolean;
}

const DEFAULT_FLUSH_EVERY_MS = 250;

export class CaptureSet {
  private readonly files = new Map<string, CaptureFile>();
  private proc: ProcessLike | null = null;
  private readonly thread: CaptureThread | null;
  private flushTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private errorSaid = false;

  constructor(private readonly opts: CaptureSetOptions = {}) {
    this.thread = opts.threaded ? new CaptureThread() : null;
  }

  /**
   * A record went into an empty buffer: flush everything within flushEveryMs. A one-shot timer
   * armed by the first record, not an interval, so an idle rack's captures never wake the loop.
   */
  private readonly flushSoon = (): void => {
    if (!this.thread || this.flushTimer !== undefined || this.closed) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flushAll();
    }, this.opts.flushEveryMs ?? DEFAULT_FLUSH_EVERY_MS);
    this.flushTimer.unref();
  };

  /** Opens a capture file (throws EopError CAPTURE_IO/CAPTURE_UNSAFE on failure) and registers it under `key`. */
  open(opts: CaptureOptions, key: string = opts.interfaceName): CaptureFile {
    if (this.files.has(key)) throw new EopError(ErrorCode.CONFIG_INVALID, `capture for ${key} is already open`);
    const file = new CaptureFile({
      ...opts,
      ...(this.thread ? { thread: this.thread } : {}),
      ...(this.opts.crashSafe === false ? {} : { guardian: CaptureGuardian.forProcess() }),
      onBuffered: this.flushSoon,
      onError: (msg) => {
        opts.onError?.(msg);
        if (this.errorSaid) return;
        this.errorSaid = true;
        this.opts.onError?.(msg);
      },
    });
    this.files.set(key, file);
    return file;
  }

  /** Registers an already open file (the set then owns it). */
  add(key: string, file: CaptureFile): void {
    if (this.files.has(key)) throw new EopError(ErrorCode.CONFIG_INVALID, `capture for ${key} is already open`);
    this.files.set(key, file);
  }

  get(key: string): CaptureFile | undefined {
    return this.files.get(key);
  }

  get size(): number {
    return this.files.size;
  }

  entries(): [string, CaptureFile][] {
    return [...this.files.entries()];
  }

  /** What timeNs 0 stands for in every file, from now on (live mode: the epoch ns of virtual 0). */
  setTimeOrigin(originNs: bigint): void {
    for (const f of this.files.values()) f.setTimeOrigin(originNs);
  }

  flushAll(): void {
    for (const f of this.files.values()) f.flush();
  }

  /** Closes every file (idempotent). Files stay registered so their stats can still be read. */
  closeAll(): void {
    this.closed = true;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    for (const f of this.files.values()) f.close();
    this.thread?.terminate();
  }

  /** Problems worth a line in a report: per file, why frames were not captured. */
  problems(): string[] {
    const out: string[] = [];
    for (const f of this.files.values()) {
      const s = f.stats;
      if (s.lastError) out.push(`${s.lastError}; ${s.droppedFrames} frame(s) not captured`);
      else if (s.queueFullFrames > 0) out.push(`capture ${f.path}: ${s.queueFullFrames} frame(s) dropped because the disk did not keep up`);
    }
    return out;
  }

  stats(): Record<string, Readonly<CaptureStats>> {
    const out: Record<string, Readonly<CaptureStats>> = {};
    for (const [k, f] of this.files) out[k] = { ...f.stats };
    return out;
  }

  /**
   * Closes all files on process exit, and on every terminating signal before its default action
   * (exit 128 + n). Safe to call repeatedly and from several sets: listeners are installed once.
   */
  installExitHandlers(proc: ProcessLike = process): void {
    if (this.proc && this.proc !== proc) uninstall(this.proc, this);
    this.proc = proc;
    install(proc, this);
  }

  /** Undoes installExitHandlers for this set (listeners go when no set needs them). */
  uninstallExitHandlers(): void {
    if (!this.proc) return;
    uninstall(this.proc, this);
    this.proc = null;
  }
}
