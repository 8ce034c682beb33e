/**
 * Looks at receive rings after a doorbell: the cost of doorbell bits shared between queue pairs.
 *
 * A doorbell register has 31 data bits and EOP gives peer p bit p mod 31, so beyond 31 peers a bit
 * is shared. The handler knows only which bits were set, not which rings got frames: for every queue
 * pair behind a set bit it reads that ring's next slot header from its own memory. A ring nobody
 * wrote since the handler last cleared it is not in the caches (it was last touched a ring's length
 * of frames ago), so each look is one load from local DRAM (`HostProfile.localReadNs`), on the
 * interrupt core, one after another. A look that finds nothing is the `rxRingEmpty` counter; with
 * k queue pairs on a bit, a frame on the last of them waits k looks, and the core is busy k ×
 * localReadNs (test/ring-looks.test.ts, by hand).
 */
import type { Host } from '../host/host.js';
import { DATA_DOORBELL_BITS } from './negotiation.js';
import type { QueuePair } from './queue-pair.js';

/** The doorbell bit of the queue pair with peer `peer`. */
export function dataBitOf(peer: number): number {
  return 1 << (peer % DATA_DOORBELL_BITS);
}

/**
 * Look at every queue pair behind a set bit of `bits`, in order: each look occupies the interrupt
 * core for one local read, and `walk(qp)` runs when that core has done its look.
 */
export function lookAtRings(host: Host, qps: readonly (QueuePair | undefined)[], bits: number, walk: (qp: QueuePair) => void): void {
  const cores = host.cores;
  const core = cores.irqCore;
  const lookNs = host.profile.localReadNs;
  const sched = host.sched;
  for (let i = 0; i < qps.length; i++) {
    const qp = qps[i];
    if (!qp || !(bits & dataBitOf(qp.peer))) continue;
    const at = cores.run(core, lookNs);
    if (at > sched.now) sched.at(at, walk, qp);
    else walk(qp);
  }
}
