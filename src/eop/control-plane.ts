/**
 * The management host's part in EOP: it sees every NTB port's link events (it enumerated the
 * switch) and tells the other hosts, after `controlLatencyNs`. Data never passes through it.
 */
import type { Host } from '../host/host.js';
import type { Scheduler } from '../time/scheduler.js';
import type { Ns } from '../time/units.js';
import type { EopNic, PeerDirectory } from './eop-nic.js';

export class ControlPlane implements PeerDirectory {
  readonly nics: (EopNic | undefined)[] = [];
  readonly hosts: (Host | undefined)[] = [];

  constructor(
    private readonly sched: Scheduler,
    private readonly controlLatencyNs: Ns,
  ) {}

  register(host: Host, nic: EopNic | undefined): void {
    this.hosts[host.index] = host;
    this.nics[host.index] = nic;
  }

  host(index: number): Host | null {
    const nic = this.nics[index];
    return nic ? nic.host : null;
  }

  linkChanged(index: number, up: boolean): void {
    for (const nic of this.nics) {
      if (!nic || nic.host.index === index) continue;
      this.sched.after(this.controlLatencyNs, () => nic.onPeerLink(index, up));
    }
  }
}
