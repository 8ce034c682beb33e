/**
 * Where a bench application's and its kernel stack's work runs: on the host's own cores
 * (src/host/cores.ts), so that it queues behind the driver's work there and the driver's behind it.
 *
 * - The application thread (send calls, copies from and to user space) runs on its core; so does
 *   the driver's transmit path when that is core 0 (TX_CORE), as in Linux, where a socket's send
 *   runs the driver's transmit in the sending thread's context.
 * - Kernel profile: a received segment's protocol work runs in softirq on the IRQ core, behind the
 *   interrupt and the driver's per-frame work; if the application was asleep (its core idle), the
 *   IRQ core spends `wakeNs` waking it and its core `contextSwitchNs` before the copy out. TCP's
 *   ACK processing is softirq work too.
 * - Polling profile: the application's core spins, so protocol work and copy run there, nothing
 *   sleeps, nothing is woken.
 */
import type { Host } from '../host/host.js';
import type { Ns } from '../time/units.js';

export class StackCpu {
  private readonly irqCore: number;

  constructor(
    private readonly host: Host,
    /** The application thread's core. */
    readonly appCore: number,
  ) {
    this.irqCore = host.profile.kind === 'polling' ? appCore : host.cores.irqCore;
  }

  /** The application's own work (send calls, copies); returns when it ends. */
  app(ns: Ns): Ns {
    return this.host.cores.run(this.appCore, ns);
  }

  /** Receive: `protocolNs` of stack work on a segment, then `copyNs` of copy to the application. */
  rxSegment(protocolNs: Ns, copyNs: Ns): Ns {
    const c = this.host.cores;
    const p = this.host.profile;
    if (p.kind === 'polling') return c.run(this.appCore, protocolNs + copyNs);
    const protoEnd = c.run(this.irqCore, protocolNs);
    // Asleep: nothing left to do on its core when the segment is ready for it.
    const asleep = c.freeAt(this.appCore) < protoEnd;
    if (!asleep) return c.run(this.appCore, copyNs, protoEnd);
    const woken = p.wakeNs > 0 ? c.run(this.irqCore, p.wakeNs) : protoEnd;
    return c.run(this.appCore, p.contextSwitchNs + copyNs, woken);
  }

  /** Kernel work for one received ACK (softirq; the spinning core when polling). */
  ack(ns: Ns): Ns {
    return this.host.cores.run(this.irqCore, ns);
  }
}

/**
 * The core of the application end of flow `f` on a host with `cores` cores: the cores before the
 * IRQ core, round robin (flows beyond them share), or the only core.
 */
export function appCoreOf(f: number, cores: number): number {
  return cores <= 1 ? 0 : f % (cores - 1);
}
