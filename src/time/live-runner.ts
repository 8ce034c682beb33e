/**
 * Live mode: runs a Scheduler against a wall clock that the caller supplies (the CLI or a bridge).
 * An event never runs before its virtual time has been reached on the wall clock, so a frame is
 * never delivered earlier than the model allows. When the emulator falls behind (an event runs more
 * than `lagToleranceNs` after its time), that is counted and reported, never hidden.
 *
 * Two views of lateness: totals since start (`stats`), and "behind now" (`recent()`): the late and
 * total batches and the largest lag over the last `windowNs` of wall time (default 5 s), kept in
 * 1-second buckets so that one late batch while idle marks the status for 5 s, not for ever.
 */
import type { Scheduler } from './scheduler.js';
import type { Ns } from './units.js';

export interface WallClock {
  /** Monotonic nanoseconds since an arbitrary origin. */
  nowNs(): Ns;
}

export interface LiveStats {
  /** Event batches that started later than `lagToleranceNs` behind their time. */
  lateBatches: number;
  /** Largest lag seen, ns. */
  maxLagNs: Ns;
  /** Lag of the most recent batch, ns. */
  lastLagNs: Ns;
  batches: number;
}

/** Lateness over the recent window ("behind now"). */
export interface RecentLag {
  /** Length of the window, ns. */
  windowNs: Ns;
  lateBatches: number;
  batches: number;
  maxLagNs: Ns;
  /** True if any batch in the window was late. */
  behind: boolean;
}

const BUCKET_NS = 1_000_000_000;
/** Idle wake-up period (was 5 ms: 200 wake-ups a second of an idle rack). */
const IDLE_WAKE_MS = 250;
export const DEFAULT_LAG_WINDOW_NS: Ns = 5 * BUCKET_NS;

export class LiveRunner {
  readonly stats: LiveStats = { lateBatches: 0, maxLagNs: 0, lastLagNs: 0, batches: 0 };
  private readonly nBuckets: number;
  private readonly bLate: number[];
  private readonly bBatches: number[];
  private readonly bMaxLag: number[];
  /** Wall-clock bucket index (wall ns / 1 s) of the newest bucket. */
  private bucketNow = -1;
  private origin = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private running = false;

  constructor(
    private readonly sched: Scheduler,
    private readonly clock: WallClock,
    /** Lag beyond this is counted as "emulator slower than the model". */
    private readonly lagToleranceNs: Ns = 1_000_000,
    windowNs: Ns = DEFAULT_LAG_WINDOW_NS,
  ) {
    this.nBuckets = Math.max(1, Math.round(windowNs / BUCKET_NS));
    this.bLate = new Array<number>(this.nBuckets).fill(0);
    this.bBatches = new Array<number>(this.nBuckets).fill(0);
    this.bMaxLag = new Array<number>(this.nBuckets).fill(0);
  }

  /** Lateness over the last window of wall time (see the file comment). */
  recent(): RecentLag {
    this.advance(Math.floor(this.clock.nowNs() / BUCKET_NS));
    let late = 0;
    let batches = 0;
    let maxLag = 0;
    for (let i = 0; i < this.nBuckets; i++) {
      late += this.bLate[i]!;
      batches += this.bBatches[i]!;
      if (this.bMaxLag[i]! > maxLag) maxLag = this.bMaxLag[i]!;
    }
    return { windowNs: this.nBuckets * BUCKET_NS, lateBatches: late, batches, maxLagNs: maxLag, behind: late > 0 };
  }

  /** Moves the window so that `bucket` is its newest second, clearing the seconds that passed. */
  private advance(bucket: number): void {
    if (bucket <= this.bucketNow) return;
    const steps = Math.min(this.nBuckets, bucket - this.bucketNow);
    for (let k = 1; k <= steps; k++) {
      const i = (((this.bucketNow + k) % this.nBuckets) + this.nBuckets) % this.nBuckets;
      this.bLate[i] = 0;
      this.bBatches[i] = 0;
      this.bMaxLag[i] = 0;
    }
    this.bucketNow = bucket;
  }

  /** Virtual time that corresponds to the wall clock now. */
  virtualNow(): Ns {
    return this.clock.nowNs() - this.origin;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.origin = this.clock.nowNs() - this.sched.now;
    this.tick();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }

  /** Ask for a prompt run, e.g. after an external frame was injected at the current time. */
  poke(): void {
    if (!this.running || this.immediate) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.immediate = setImmediate(this.tick);
  }

  /**
   * Run every event due by the wall clock now. A bridge calls this before it injects a frame, so
   * the frame enters a model that is up to date (never in its past); lateness is counted as usual.
   */
  syncNow(): void {
    if (!this.running) return;
    this.runDue(this.virtualNow());
  }

  /**
   * Carries a lone frame through the model at once: runs due events while the next one is due
   * within `windowNs` of the wall clock, for at most `budgetNs`, and stops as soon as `done()` says
   * the frame has left the model (time spent spinning after that only delays whatever the frame
   * caused, e.g. a ping reply already waiting in the other TAP). Returns the events' batches run.
   */
  spin(windowNs: Ns, budgetNs: Ns, done: () => boolean): number {
    if (!this.running) return 0;
    const deadline = this.clock.nowNs() + budgetNs;
    let rounds = 0;
    for (;;) {
      const next = this.sched.nextTime();
      if (next === Infinity || next - this.virtualNow() > windowNs) break;
      this.runDue(this.virtualNow());
      rounds++;
      if (done() || this.clock.nowNs() > deadline) break;
    }
    return rounds;
  }

  private runDue(vnow: Ns): void {
    const due = this.sched.nextTime();
    if (due <= vnow) {
      const lag = vnow - due;
      this.stats.batches++;
      this.stats.lastLagNs = lag;
      if (lag > this.stats.maxLagNs) this.stats.maxLagNs = lag;
      const late = lag > this.lagToleranceNs;
      if (late) this.stats.lateBatches++;
      const bucket = Math.floor((vnow + this.origin) / BUCKET_NS);
      if (bucket !== this.bucketNow) this.advance(bucket);
      const i = bucket % this.nBuckets;
      this.bBatches[i]!++;
      if (late) this.bLate[i]!++;
      if (lag > this.bMaxLag[i]!) this.bMaxLag[i] = lag;
    }
    if (vnow > this.sched.now) this.sched.runUntil(vnow);
  }

  private readonly tick = (): void => {
    this.immediate = undefined;
    this.timer = undefined;
    if (!this.running) return;
    this.runDue(this.virtualNow());
    const next = this.sched.nextTime();
    if (next === Infinity) {
      // Idle: nothing to run. Virtual time is read from the wall clock on demand (syncNow), and a
      // source that injects a frame pokes the runner, so no timer is needed to keep time flowing;
      // a slow one (4 wake-ups a second) stays as a safety net for a source that forgets to poke.
      this.timer = setTimeout(this.tick, IDLE_WAKE_MS);
      return;
    }
    const waitNs = next - this.virtualNow();
    // Timers have millisecond granularity and fire late, not early: sleep to a millisecond short
    // of the event, then turn the loop until it is due.
    if (waitNs <= 2_000_000) this.immediate = setImmediate(this.tick);
    else this.timer = setTimeout(this.tick, Math.floor(waitNs / 1_000_000) - 1);
  };
}
