/**
 * A host's interrupt controller. An MSI arrives as a memory write (see fabric.ts). What happens
 * next depends on the host's profile (profile.ts):
 * - kernel: the interrupt is delivered `handlerLatencyNs − irqEntryNs` later (root complex, local
 *   APIC), then occupies the IRQ core for `irqEntryNs` (entry) behind whatever that core already
 *   has. A plain handler runs when that is done (the hard-IRQ part: what Marlin's 1.2 µs measures);
 *   a deferred one (a NIC's: NAPI, ntb_transport's tasklet; the default) runs after `softirqNs`
 *   more on the same core. With
 *   moderation (`moderationNs`, like a NIC's interrupt throttle), a vector is delivered at most
 *   once per interval: a message arriving sooner waits for the interval to end.
 * - polling: no interrupt is taken; the spinning core finds the work within one poll iteration
 *   (`pollIntervalNs`) and the handler runs then, with no entry cost.
 * A vector that is already pending is coalesced: one handler run serves every message that arrived
 * meanwhile, which is what makes batching pay.
 */
import type { Scheduler } from '../time/scheduler.js';
import type { Ns } from '../time/units.js';
import { Cores } from './cores.js';
import { KERNEL_PROFILE, type HostProfile } from './profile.js';

export type IrqHandler = (vector: number) => void;

export const MAX_VECTORS = 4096;

export class InterruptController {
  private readonly handlers: (IrqHandler | undefined)[] = [];
  /** 1: the vector's handler is deferred work (softirq), 0: it runs in the hard-IRQ part. */
  private readonly deferred = new Uint8Array(MAX_VECTORS);
  private readonly pending = new Uint8Array(MAX_VECTORS);
  /** Per vector, when its handler last ran (only with moderation; made on first use). */
  private lastRunNs: Float64Array | null = null;
  private nextVector = 32; // below 32 are CPU exceptions on x86; keep the habit
  raised = 0;
  coalesced = 0;
  handled = 0;
  spurious = 0;
  /** Deliveries held back by moderation. */
  moderated = 0;
  readonly cores: Cores;

  constructor(
    private readonly sched: Scheduler,
    /** Message landing → handler running on an idle core (kernel profile; fitted, see profile.ts). */
    public handlerLatencyNs: Ns,
    /** Interrupt entry varies uniformly by up to this much, drawn from the scheduler's seeded RNG. */
    public jitterNs: Ns = 0,
    cores?: Cores,
    public profile: HostProfile = KERNEL_PROFILE,
    /** Kernel profile: at most one delivery per vector per this interval (0: no moderation). */
    public moderationNs: Ns = 0,
  ) {
    this.cores = cores ?? new Cores(1, sched);
  }

  /** The counters as reports show them. */
  counts(): { raised: number; coalesced: number; moderated: number; spurious: number } {
    return { raised: this.raised, coalesced: this.coalesced, moderated: this.moderated, spurious: this.spurious };
  }

  /** A vector for `handler`; `deferred` (default): it runs as softirq work after the entry. */
  allocate(handler: IrqHandler, deferred = true): number {
    const v = this.nextVector++;
    if (v >= MAX_VECTORS) throw new Error('interrupt vectors exhausted');
    this.handlers[v] = handler;
    this.deferred[v] = deferred ? 1 : 0;
    return v;
  }

  setHandler(vector: number, handler: IrqHandler | undefined): void {
    this.handlers[vector] = handler;
  }

  /** An interrupt message for `vector` arrived; `extraNs` adds path-specific delay before delivery. */
  raise(vector: number, extraNs: Ns = 0): void {
    this.raised++;
    if (vector >= MAX_VECTORS || !this.handlers[vector]) {
      this.spurious++;
      return;
    }
    if (this.pending[vector]) {
      this.coalesced++;
      return;
    }
    this.pending[vector] = 1;
    const p = this.profile;
    if (p.kind === 'polling') {
      this.sched.after(p.pollIntervalNs + extraNs, this.dispatch, vector);
      return;
    }
    const jitter = this.jitterNs > 0 ? this.sched.rng.next() * this.jitterNs : 0;
    const entry = p.irqEntryNs < this.handlerLatencyNs ? p.irqEntryNs : this.handlerLatencyNs;
    let at = this.sched.now + this.handlerLatencyNs - entry + extraNs + jitter;
    if (this.moderationNs > 0) {
      const last = (this.lastRunNs ??= new Float64Array(MAX_VECTORS).fill(-Infinity))[vector]!;
      if (at < last + this.moderationNs) {
        at = last + this.moderationNs;
        this.moderated++;
      }
    }
    const c = this.cores;
    if (c.freeAt(c.irqCore) <= at) {
      // The core will be idle when the interrupt arrives: take it then, in this one event (work
      // given to the core before then queues behind it, as an interrupt preempts it).
      const entered = at + entry;
      const end = this.deferred[vector] && p.softirqNs > 0 ? entered + p.softirqNs : entered;
      c.occupy(c.irqCore, at, end);
      if (this.lastRunNs) this.lastRunNs[vector] = entered;
      this.sched.at(end, this.dispatch, vector);
      return;
    }
    this.sched.at(at, this.enter, vector);
  }

  /**
   * The interrupt reaches the IRQ core: its entry (and, for a deferred handler, the softirq after
   * it) queues behind what that core already has; the handler runs when that work is done. One
   * event for both parts: nothing else can run on the core between them.
   */
  private readonly enter = (vector: number): void => {
    const p = this.profile;
    const entry = p.irqEntryNs < this.handlerLatencyNs ? p.irqEntryNs : this.handlerLatencyNs;
    const c = this.cores;
    const entered = c.run(c.irqCore, entry);
    if (this.lastRunNs) this.lastRunNs[vector] = entered;
    const end = this.deferred[vector] && p.softirqNs > 0 ? c.run(c.irqCore, p.softirqNs) : entered;
    if (end > this.sched.now) this.sched.at(end, this.dispatch, vector);
    else this.dispatch(vector);
  };

  private readonly dispatch = (vector: number): void => {
    this.pending[vector] = 0;
    this.handled++;
    this.handlers[vector]?.(vector);
  };
}
