/**
 * Discrete-event scheduler with nanosecond virtual time.
 *
 * Rules:
 * - Time only moves forward, and only here. Nothing below the CLI reads the wall clock; live mode
 *   (live-runner.ts) paces this same scheduler against a clock it is given.
 * - Simultaneous events run in the order they were scheduled (a sequence number breaks ties), so a
 *   run is a pure function of its inputs and the seed.
 * - An event is a function plus one argument, kept in parallel arrays of a binary heap, so the hot
 *   path schedules without allocating a closure when the caller passes a bound method and an arg.
 */
import { Rng } from './rng.js';
import type { Ns } from './units.js';

export type EventFn<A = any> = (arg: A) => void;

/** Handle for cancelling a scheduled event. */
export type EventId = number;

export class Scheduler {
  /** Current virtual time. */
  now: Ns = 0;
  readonly rng: Rng;
  /** Events executed so far (for benchmarks and the status view). */
  executed = 0;

  private times: number[] = [];
  private seqs: number[] = [];
  private fns: EventFn[] = [];
  private args: unknown[] = [];
  private size = 0;
  private nextSeq = 1;
  private cancelled = new Set<EventId>();
  private stopped = false;
  /**
   * Called when an event is scheduled ahead of everything pending (it becomes the next one to run):
   * lets a live runner sleep without a timer while idle and still wake for an event that nothing
   * else announced (one branch per schedule; null in virtual time).
   */
  onNewEarliest: (() => void) | null = null;

  constructor(seed = 1) {
    this.rng = new Rng(seed);
  }

  /** Schedule `fn(arg)` at absolute time `at` (clamped to now: the past cannot be scheduled). */
  at<A>(at: Ns, fn: EventFn<A>, arg?: A): EventId {
    if (!(at >= this.now)) {
      if (Number.isNaN(at)) throw new Error('scheduler: event time is NaN');
      at = this.now;
    }
    const seq = this.nextSeq++;
    let i = this.size++;
    const times = this.times;
    const seqs = this.seqs;
    const fns = this.fns;
    const args = this.args;
    // sift up
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pt = times[p]!;
      if (pt < at || (pt === at && seqs[p]! < seq)) break;
      times[i] = pt;
      seqs[i] = seqs[p]!;
      fns[i] = fns[p]!;
      args[i] = args[p];
      i = p;
    }
    times[i] = at;
    seqs[i] = seq;
    fns[i] = fn as EventFn;
    args[i] = arg;
    if (i === 0 && this.onNewEarliest !== null) this.onNewEarliest();
    return seq;
  }

  /** Schedule `fn(arg)` after `delay` ns. */
  after<A>(delay: Ns, fn: EventFn<A>, arg?: A): EventId {
    return this.at(this.now + delay, fn, arg);
  }

  cancel(id: EventId): void {
    this.cancelled.add(id);
  }

  get pending(): number {
    return this.size;
  }

  /** Time of the next event, or Infinity if none. */
  nextTime(): Ns {
    return this.size > 0 ? this.times[0]! : Infinity;
  }

  /** Stop `run`/`runUntil` after the current event. */
  stop(): void {
    this.stopped = true;
  }

  /**
   * Run events with time <= `until` (default: until the queue is empty or `stop()` is called).
   * Virtual time ends at `until` if that is finite, so periodic sources see a consistent clock.
   * Returns the number of events run.
   */
  runUntil(until: Ns = Infinity): number {
    this.stopped = false;
    let n = 0;
    while (this.size > 0 && !this.stopped) {
      const t = this.times[0]!;
      if (t > until) break;
      const seq = this.seqs[0]!;
      const fn = this.fns[0]!;
      const arg = this.args[0];
      this.popTop();
      if (this.cancelled.size > 0 && this.cancelled.delete(seq)) continue;
      this.now = t;
      n++;
      fn(arg);
    }
    if (until !== Infinity && !this.stopped && until > this.now) this.now = until;
    this.executed += n;
    return n;
  }

  run(): number {
    return this.runUntil(Infinity);
  }

  private popTop(): void {
    const times = this.times;
    const seqs = this.seqs;
    const fns = this.fns;
    const args = this.args;
    const last = --this.size;
    if (last === 0) {
      fns[0] = undefined as unknown as EventFn;
      args[0] = undefined;
      return;
    }
    const t = times[last]!;
    const s = seqs[last]!;
    const f = fns[last]!;
    const a = args[last];
    fns[last] = undefined as unknown as EventFn;
    args[last] = undefined;
    let i = 0;
    const half = last >> 1;
    while (i < half) {
      let c = 2 * i + 1;
      const r = c + 1;
      if (r < last && (times[r]! < times[c]! || (times[r] === times[c] && seqs[r]! < seqs[c]!))) c = r;
      const ct = times[c]!;
      if (t < ct || (t === ct && s < seqs[c]!)) break;
      times[i] = ct;
      seqs[i] = seqs[c]!;
      fns[i] = fns[c]!;
      args[i] = args[c];
      i = c;
    }
    times[i] = t;
    seqs[i] = s;
    fns[i] = f;
    args[i] = a;
  }
}
