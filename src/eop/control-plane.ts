/**
 * The management host's part in EOP: it sees every NTB port's link events (it enumerated the
 * switch) and tells the other hosts, after `controlLatencyNs`. Data never passes through it.
 *
 * Which management host hears a port is the switch's business (`VirtualSwitches`): while no live
 * management host owns a port (its master failed and no backup has taken it over yet), the port's
 * link events wait in the switch, latest state first, and are told when a management host takes
 * the port (`portManaged`), as a new owner reads the port's link status when it enumerates it.
 * Only configuration waits: established windows keep carrying data meanwhile.
 */
import type { Host } from '../host/host.js';
import type { VirtualSwitches } from '../pcie/virtual-switches.js';
import type { Scheduler } from '../time/scheduler.js';
import type { Ns } from '../time/units.js';
import type { EopNic, PeerDirectory } from './eop-nic.js';

export class ControlPlane implements PeerDirectory {
  readonly nics: (EopNic | undefined)[] = [];
  readonly hosts: (Host | undefined)[] = [];
  /** Port ownership (null: no management host modelled; every event is told at once). */
  ports: VirtualSwitches | null = null;
  /** Link events that found their port unmanaged and waited (counted once each). */
  heldEvents = 0;
  /** Latest link state of each port whose change no management host has heard yet. */
  private readonly held = new Map<number, boolean>();

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
    if (this.ports && !this.ports.managed(index)) {
      this.held.set(index, up);
      this.heldEvents++;
      return;
    }
    this.tell(index, up);
  }

  /** Ports with a link change no management host has told yet. */
  get waiting(): number {
    return this.held.size;
  }

  /** A management host now manages `index`: it tells what changed meanwhile. True if anything had. */
  portManaged(index: number): boolean {
    const up = this.held.get(index);
    if (up === undefined) return false;
    this.held.delete(index);
    this.tell(index, up);
    return true;
  }

  private tell(index: number, up: boolean): void {
    for (const nic of this.nics) {
      if (!nic || nic.host.index === index) continue;
      this.sched.after(this.controlLatencyNs, () => nic.onPeerLink(index, up));
    }
  }
}
