/**
 * The switch partitioned into virtual switches, as in Marlin's control-plane failover: the master
 * management host (MMH) sits on the upstream port of virtual switch 1, the backup (BMH) on the
 * upstream port of virtual switch 2, and every downstream (NTB) port belongs to one of them. The
 * virtual switch a port belongs to decides which management host configures it and hears its
 * events (link up/down, hot plug): the control plane.
 *
 * The data plane is not here. Peer-to-peer routing between NTB ports is address routing set up at
 * enumeration; moving a port from one virtual switch to the other is a port re-assignment that
 * "does not affect peer-to-peer routing states" (Marlin slides, "Control Plane Failover"), so the
 * fabric keeps forwarding whatever happens to the management hosts.
 */

export interface VirtualSwitch {
  readonly name: string;
  /** Host index of the management host on its upstream port. */
  readonly upstream: number;
  readonly upstreamName: string;
  /** False once that management host failed (until it restarts). */
  alive: boolean;
}

export class VirtualSwitches {
  readonly switches: VirtualSwitch[];
  /** Downstream port (the compute host's index) → index into `switches`. */
  private readonly owner = new Map<number, number>();
  /** Ports whose owner is (re)enumerating them: not managed until done. */
  private readonly enumerating = new Set<number>();

  /** Every downstream port starts on the first virtual switch (the master's). */
  constructor(upstreams: readonly { index: number; name: string }[], downstreamPorts: readonly number[]) {
    if (upstreams.length === 0) throw new Error('a switch needs at least one management host');
    this.switches = upstreams.map((u, i) => ({ name: `vs${i + 1}`, upstream: u.index, upstreamName: u.name, alive: true }));
    for (const p of downstreamPorts) this.owner.set(p, 0);
  }

  ownerOf(port: number): VirtualSwitch | null {
    const v = this.owner.get(port);
    return v === undefined ? null : this.switches[v]!;
  }

  /** True when a live management host owns `port` (its events are heard, it can be configured). */
  managed(port: number): boolean {
    return (this.ownerOf(port)?.alive ?? false) && !this.enumerating.has(port);
  }

  /** The owner of `port` starts (re)enumerating it: its events wait until `enumerated(port)`. */
  enumerate(port: number): void {
    this.enumerating.add(port);
  }

  enumerated(port: number): void {
    this.enumerating.delete(port);
  }

  /** Ports owned by virtual switch `vs`, in index order. */
  portsOf(vs: number): number[] {
    return [...this.owner].filter(([, v]) => v === vs).map(([p]) => p).sort((a, b) => a - b);
  }

  reassign(port: number, vs: number): void {
    if (!this.owner.has(port)) throw new Error(`port ${port} is not a downstream port`);
    if (!this.switches[vs]) throw new Error(`no virtual switch ${vs}`);
    this.owner.set(port, vs);
    this.enumerating.delete(port);
  }

  /** Index of the virtual switch whose upstream is management host `name` (-1: none). */
  byUpstream(name: string): number {
    return this.switches.findIndex((s) => s.upstreamName === name);
  }
}
