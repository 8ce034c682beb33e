/**
 * Live mode: runs a Scheduler against a wall clock that the caller supplies (the CLI or a bridge).
 * An event never runs before its virtual time has been reached on the wall clock, so a frame is
 * never delivered earlier than the model allows. When the emulator falls behind (an event runs more
 * than `lagToleranceNs` after its time), that is counted and reported, never hidden.
 *
 * Two views of lateness: totals since start (`stats`), and "behind now" (`recent()`): the late and
 * total batches and the largest lag over the last `windowNs` of wall time (default 5 s), kept in
 * 1-second buckets so that one late batch while idle marks the status for 5 s, not for ever.
 *
 * Wake-ups: the runner turns the event loop only while events are due soon. With nothing pending it
 * sets no timer at all; with the next event far off, one timer for it. Whatever schedules an event
 * ahead of the pending ones while the runner sleeps (a frame from a TAP, a fault from the control
 * socket, a traffic generator) wakes it through the scheduler's `onNewEarliest`, so no periodic
 * safety-net poll is needed. `stats.wakeups` counts the runner's turns (timers and immediates).
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
  /** Turns of the runner on the event loop (timer or setImmediate), idle or not. */
  wakeups: number;
  /** Of these, turns started by a timer (sleeping until a later event). */
  timerWakeups: number;
  /** Busy polling stopped because the process lost its core while polling (see busyPollNs). */
  pollBackoffs: number;
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
/**
 * A busy-polling turn that starts this long after the previous one, with no frame in between: the
 * process was preempted (a scheduler time slice is 0.75-3 ms; one idle turn takes a few µs).
 */
export const POLL_PREEMPTED_GAP_NS = 500_000;
/**
 * Frames less than this apart are dense traffic (a bulk transfer): they keep the loop busy by
 * themselves, and spinning between them only takes the core from the applications and the kernel
 * (measured: TCP at MTU 1500 lost a third on the loaded 2-core VM). Only sparser frames start or
 * extend busy polling.
 */
export const POLL_DENSE_GAP_NS = 1_000_000;
/** After a preemption, no busy polling for this long (then it is tried again). */
export const POLL_BACKOFF_NS = 250_000_000;
/** While polling, the preemption count is read again at most this often (a getrusage call). */
const PREEMPTIONS_READ_NS = 1_000_000;
/** Up to this far ahead, the next event is waited for by turning the loop (setImmediate), not a timer. */
const SPIN_AHEAD_NS = 2_000_000;
export const DEFAULT_LAG_WINDOW_NS: Ns = 5 * BUCKET_NS;

export class LiveRunner {
  readonly stats: LiveStats = { lateBatches: 0, maxLagNs: 0, lastLagNs: 0, batches: 0, wakeups: 0, timerWakeups: 0, pollBackoffs: 0 };
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
  /** Wall ns until which the runner keeps turning the loop after frames came in (keepPolling). */
  private pollUntilNs = 0;
  /** Wall ns of the previous keepPolling (frames from outside). */
  private lastFramesNs = -Infinity;
  /** Wall ns before which keepPolling does not start busy polling (after a preemption). */
  private pollBackoffUntilNs = 0;
  /** The previous turn was a busy-polling one (no event due soon asked for it); its wall ns. */
  private polledAtNs = -1;
  /** Frames came in since the previous turn (keepPolling): without a preemption count, a long gap was work. */
  private framesSinceTurn = false;
  /**
   * How long to keep turning the event loop after the last frame came in (0: never): busy polling,
   * as Linux's busy_poll does for sockets, for sparse traffic only (POLL_DENSE_GAP_NS). Sparse traffic (a ping every 10 ms) then finds the
   * process running with its code and data in the CPU's caches and no wake-up to wait for, instead
   * of asleep in epoll (a pass through bridge and model after 10 ms asleep measured 5-10 times its
   * warm cost: caches emptied by other work or the core's sleep states). The price is one core
   * while traffic is sparse; an idle rack does not poll.
   *
   * Only while the process has a core to itself: when a polling turn comes more than
   * POLL_PREEMPTED_GAP_NS after the previous one without any frame in between, the scheduler took
   * the core away (a loaded machine), and a process that spins then waits for its next time slice
   * when a frame comes, while one asleep in epoll is woken at once. Polling stops for
   * POLL_BACKOFF_NS (`stats.pollBackoffs` counts these) and is tried again after that. A long turn
   * that was not a preemption (a GC pause, a status line) does not count when `preemptions` is set;
   * without it, only turns without frames are judged (a turn with frames may just have been work).
   */
  busyPollNs: Ns = 0;
  /**
   * The process's count of preemptions (getrusage's involuntary context switches), if the caller
   * can read it: a long gap between polling turns counts as a preemption only if this grew since it
   * was last read (a long turn of other work, e.g. a status line, is not). Without it, the gap decides.
   */
  preemptions: (() => number) | null = null;
  private preemptionsSeen = 0;
  private preemptionsReadNs = -Infinity;

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
    this.pollUntilNs = 0;
    this.polledAtNs = -1;
    this.sched.onNewEarliest = null;
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }

  /**
   * Frames came in (from outside: not an answer read at once after a write): keep turning the loop
   * for `busyPollNs` from now, if they came POLL_DENSE_GAP_NS or more after the previous ones;
   * closer frames are dense traffic and stop busy polling (see there).
   */
  keepPolling(): void {
    if (this.busyPollNs <= 0) return;
    this.framesSinceTurn = true;
    const now = this.clock.nowNs();
    const gap = now - this.lastFramesNs;
    this.lastFramesNs = now;
    if (gap < POLL_DENSE_GAP_NS) {
      this.pollUntilNs = 0;
      return;
    }
    if (now < this.pollBackoffUntilNs) return;
    this.pollUntilNs = now + this.busyPollNs;
  }

  /** Ask for a prompt run, e.g. after an external frame was injected at the current time. */
  poke(): void {
    if (!this.running || this.immediate) return;
    this.sched.onNewEarliest = null; // awake now: the next turn looks at the queue anyway
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
    this.stats.wakeups++;
    if (this.timer) this.stats.timerWakeups++;
    // Awake: events scheduled during this turn are seen below, no poke needed for them.
    this.sched.onNewEarliest = null;
    if (this.timer) clearTimeout(this.timer); // a poke's immediate may have run before the timer
    this.immediate = undefined;
    this.timer = undefined;
    if (!this.running) return;
    const wallNs = this.clock.nowNs();
    // With a preemption count, a long turn with frames in it counts too: under bulk traffic on a
    // loaded machine, spinning between batches takes the core from the applications and the kernel.
    const judged = !this.framesSinceTurn || this.preemptions !== null;
    if (this.polledAtNs >= 0 && judged && wallNs - this.polledAtNs > POLL_PREEMPTED_GAP_NS && this.wasPreempted()) {
      // Preempted while busy polling: sleeping in epoll serves a frame sooner now (see busyPollNs).
      this.stats.pollBackoffs++;
      this.pollUntilNs = 0;
      this.pollBackoffUntilNs = wallNs + POLL_BACKOFF_NS;
    }
    this.framesSinceTurn = false;
    this.polledAtNs = -1;
    this.runDue(wallNs - this.origin);
    const next = this.sched.nextTime();
    const dueSoon = next !== Infinity && next - this.virtualNow() <= SPIN_AHEAD_NS;
    if (this.pollUntilNs > 0 && this.clock.nowNs() >= this.pollUntilNs) this.pollUntilNs = 0;
    if (dueSoon || this.pollUntilNs > 0) {
      // Timers have millisecond granularity and fire late, not early: an event due within 2 ms is
      // waited for by turning the loop (TAP reads still run between turns).
      if (!dueSoon) {
        this.polledAtNs = this.clock.nowNs();
        // A recent count, so that a long gap after this turn is judged by what happened in it
        // (a preemption during earlier traffic or a GC pause must not count).
        if (this.preemptions && this.polledAtNs - this.preemptionsReadNs > PREEMPTIONS_READ_NS) {
          this.preemptionsSeen = this.preemptions();
          this.preemptionsReadNs = this.polledAtNs;
        }
      }
      this.immediate = setImmediate(this.tick);
      return;
    }
    // Asleep: an event scheduled ahead of `next` (or any event while idle) pokes the runner.
    this.sched.onNewEarliest = this.wake;
    if (next === Infinity) return; // idle: virtual time is read from the wall clock on demand
    // Sleep to a millisecond short of the event, then turn the loop until it is due.
    this.timer = setTimeout(this.tick, Math.floor((next - this.virtualNow()) / 1_000_000) - 1);
  };

  private wasPreempted(): boolean {
    if (!this.preemptions) return true;
    const n = this.preemptions();
    const grew = n > this.preemptionsSeen;
    this.preemptionsSeen = n;
    return grew;
  }

  private readonly wake = (): void => {
    this.poke();
  };
}
