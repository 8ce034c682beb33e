/**
 * A host's interrupt controller. An MSI arrives as a memory write (see fabric.ts); the handler
 * runs `handlerLatencyNs` later (interrupt entry and dispatch on the receiving CPU). A vector that
 * is already pending is coalesced: one handler run serves every message that arrived meanwhile,
 * which is what makes batching pay.
 */
import type { Scheduler } from '../time/scheduler.js';
import type { Ns } from '../time/units.js';

export type IrqHandler = (vector: number) => void;

export const MAX_VECTORS = 4096;

export class InterruptController {
  private readonly handlers: (IrqHandler | undefined)[] = [];
  private readonly pending = new Uint8Array(MAX_VECTORS);
  private nextVector = 32; // below 32 are CPU exceptions on x86; keep the habit
  raised = 0;
  coalesced = 0;
  handled = 0;
  spurious = 0;

  constructor(
    private readonly sched: Scheduler,
    public handlerLatencyNs: Ns,
    /** Interrupt entry varies uniformly by up to this much, drawn from the scheduler's seeded RNG. */
    public jitterNs: Ns = 0,
  ) {}

  allocate(handler: IrqHandler): number {
    const v = this.nextVector++;
    if (v >= MAX_VECTORS) throw new Error('interrupt vectors exhausted');
    this.handlers[v] = handler;
    return v;
  }

  setHandler(vector: number, handler: IrqHandler | undefined): void {
    this.handlers[vector] = handler;
  }

  /** An interrupt message for `vector` arrived; `extraNs` adds path-specific delay (doorbells). */
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
    const jitter = this.jitterNs > 0 ? this.sched.rng.next() * this.jitterNs : 0;
    this.sched.after(this.handlerLatencyNs + extraNs + jitter, this.dispatch, vector);
  }

  private readonly dispatch = (vector: number): void => {
    this.pending[vector] = 0;
    this.handled++;
    this.handlers[vector]?.(vector);
  };
}
