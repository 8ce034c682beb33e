/**
 * Live mode: runs a Scheduler against a wall clock that the caller supplies (the CLI or a bridge).
 * An event never runs before its virtual time has been reached on the wall clock, so a frame is
 * never delivered earlier than the model allows. When the emulator falls behind (an event runs more
 * than `lagToleranceNs` after its time), that is counted and reported, never hidden.
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

export class LiveRunner {
  readonly stats: LiveStats = { lateBatches: 0, maxLagNs: 0, lastLagNs: 0, batches: 0 };
  private origin = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private running = false;

  constructor(
    private readonly sched: Scheduler,
    private readonly clock: WallClock,
    /** Lag beyond this is counted as "emulator slower than the model". */
    private readonly lagToleranceNs: Ns = 1_000_000,
  ) {}

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

  private runDue(vnow: Ns): void {
    const due = this.sched.nextTime();
    if (due <= vnow) {
      const lag = vnow - due;
      this.stats.batches++;
      this.stats.lastLagNs = lag;
      if (lag > this.stats.maxLagNs) this.stats.maxLagNs = lag;
      if (lag > this.lagToleranceNs) this.stats.lateBatches++;
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
      // Idle: wake up now and then so time keeps flowing for sources that inject frames.
      this.timer = setTimeout(this.tick, 5);
      return;
    }
    const waitNs = next - this.virtualNow();
    // Timers have millisecond granularity and fire late, not early: sleep to a millisecond short
    // of the event, then turn the loop until it is due.
    if (waitNs <= 2_000_000) this.immediate = setImmediate(this.tick);
    else this.timer = setTimeout(this.tick, Math.floor(waitNs / 1_000_000) - 1);
  };
}
