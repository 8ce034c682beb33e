/**
 * A host's CPU cores as a resource. Work on a core (a CPU copy through the NTB window, a store, the
 * EOP driver's per-frame receive work) occupies it for its duration; work given to a busy core
 * queues behind what it already has, in the order it was given. Latency and throughput then come
 * out of contention on the cores rather than out of fixed delays.
 *
 * Which core does what is the caller's choice: the transmit path runs on `TX_CORE`, interrupt
 * handling on `irqCore` (the last core, so that with one core both share it, as a single-queue
 * NIC whose interrupt lands on the sending core does).
 */
import type { Scheduler } from '../time/scheduler.js';
import type { Ns } from '../time/units.js';

/** The core the transmit path (driver transmit, CPU copies and stores) runs on. */
export const TX_CORE = 0;

export class Cores {
  private readonly freeAtNs: Float64Array;
  /** CPU time given to each core so far. */
  readonly busyNs: Float64Array;

  constructor(
    readonly count: number,
    private readonly sched: Scheduler,
  ) {
    if (!Number.isInteger(count) || count < 1) throw new Error(`a host needs at least one core (got ${count})`);
    this.freeAtNs = new Float64Array(count);
    this.busyNs = new Float64Array(count);
  }

  /** The core interrupts are handled on. */
  get irqCore(): number {
    return this.count - 1;
  }

  /** When work given to `core` now would start. */
  startNs(core: number, notBefore: Ns = this.sched.now): Ns {
    const f = this.freeAtNs[core]!;
    const t = notBefore > this.sched.now ? notBefore : this.sched.now;
    return f > t ? f : t;
  }

  /** `core` is busy from `startNs` until `endNs` (work the caller timed itself, e.g. a copy the link paces). */
  occupy(core: number, startNs: Ns, endNs: Ns): void {
    this.freeAtNs[core] = endNs;
    this.busyNs[core]! += endNs - startNs;
  }

  /** Run `ns` of work on `core` after what it already has; returns when it ends. */
  run(core: number, ns: Ns, notBefore?: Ns): Ns {
    const start = this.startNs(core, notBefore);
    const end = start + ns;
    this.occupy(core, start, end);
    return end;
  }

  /** When `core` has finished everything given to it. */
  freeAt(core: number): Ns {
    return this.freeAtNs[core]!;
  }
}
