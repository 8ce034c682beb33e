/**
 * Builds a rack model from a plain, fully specified description: scheduler, fabric, hosts with
 * their links, NTB windows and lookup tables, EOP interfaces and the management plane. Models never
 * build topologies; this helper does (as ns-3's helpers do).
 */
import { EopError, ErrorCode } from '../errors.js';
import { Logger } from '../log.js';
import {
  HOST_APERTURE_BYTES,
  MAX_HOSTS,
  OUTBOUND_BASE,
  OUTBOUND_BYTES,
  hostApertureBase,
} from '../mem/address-map.js';
import { DEFAULT_PAGE_BYTES } from '../mem/sparse-memory.js';
import { ControlPlane } from '../eop/control-plane.js';
import { ArpDirectory } from '../eop/arp-responder.js';
import { DEFAULT_EOP, type EopConfig, type EopNic } from '../eop/eop-nic.js';
import { makeNic } from '../eop/nic-factory.js';
import { DEFAULT_MGMT_FAILOVER, ManagementFailover, type MgmtFailoverConfig } from '../eop/management-failover.js';
import { slotBytesFor } from '../eop/ring-layout.js';
import { DEFAULT_CPU, type CpuConfig } from '../host/cpu-copy.js';
import { DEFAULT_HRDMA, type HrdmaConfig } from '../host/hrdma.js';
import { DEFAULT_RAM_BYTES, Host } from '../host/host.js';
import { DEFAULT_CORES, profileOf, type ProfileKind } from '../host/profile.js';
import { DEFAULT_SWITCH, Fabric, type SwitchConfig } from '../pcie/fabric.js';
import { DEFAULT_LINK, Link, type LinkConfig } from '../pcie/link.js';
import { NtbPaths } from '../pcie/ntb-paths.js';
import { DEFAULT_FAILOVER, PathFailover, type FailoverConfig } from '../eop/path-failover.js';
import { SwitchTiers, type TorSpec } from '../pcie/switch-tiers.js';
import { VirtualSwitches } from '../pcie/virtual-switches.js';
import { Scheduler } from '../time/scheduler.js';
import type { Bytes, Ns } from '../time/units.js';

export interface HostSpec {
  name: string;
  /** EOP interface name (default `eop-<name>`). */
  ifName?: string;
  /** 48-bit MAC; ignored for the management host. */
  mac: number;
  management?: boolean;
  link?: Partial<LinkConfig>;
  /** Per-host EOP overrides (e.g. MTU, protocol version). */
  eop?: Partial<EopConfig>;
  /** The top-of-rack switch the host's link ends at (a name from `RackSpec.tors`; default the first). */
  tor?: string;
  /** CPU cores of this host (default `RackSpec.cores`, else DEFAULT_CORES; src/host/cores.ts). */
  cores?: number;
  /** Kernel stack or polling (default `RackSpec.profile`, else kernel; src/host/profile.ts). */
  profile?: ProfileKind;
  /**
   * A second NTB port with its own link (Marlin's backup path): on another port of the same switch,
   * or of the ToR named `tor`; its link is the host's with `link`'s overrides (src/pcie/ntb-paths.ts).
   */
  backupPath?: { tor?: string; link?: Partial<LinkConfig> };
  /** Its IPv4 address, for the EOP ARP responder's directory (`eop.arpResponder`). */
  ipv4?: number;
  /** This host's HRDMA engine and CPU copy settings over the rack's (`RackSpec.dma` / `cpu`). */
  dma?: Partial<HrdmaConfig>;
  cpu?: Partial<CpuConfig>;
}

export interface RackSpec {
  seed: number;
  switch: SwitchConfig;
  link: LinkConfig;
  dma: HrdmaConfig;
  cpu: CpuConfig;
  eop: EopConfig;
  /** Interrupt entry latency on every host. */
  irqHandlerNs: Ns;
  /** Uniform variation of interrupt entry (drawn from the seeded RNG); 0 by default. */
  irqJitterNs?: Ns;
  /** CPU cores per host (default DEFAULT_CORES). */
  cores?: number;
  /** How every host takes received work (default kernel; src/host/profile.ts). */
  profile?: ProfileKind;
  /** Interrupt moderation per vector (default 0: none). */
  irqModerationNs?: Ns;
  ramBytes: Bytes;
  pageBytes: Bytes;
  hosts: HostSpec[];
  /**
   * Two or more top-of-rack switches joined by a spine (src/pcie/switch-tiers.ts); absent or one:
   * every host on one switch.
   */
  tors?: TorSpec[];
  /** Timing of a failover between a host's two NTB paths (src/eop/path-failover.ts). */
  failover?: Partial<FailoverConfig>;
  /** Management-host failover timing (a second management host is the backup). */
  managementFailover?: MgmtFailoverConfig;
}

/** Interrupt entry: from MSI landing to the handler running. With the fabric path this gives
 * Marlin's ~1.2 µs cross-host interrupt on Gen2 x8 (see README "model versus reality"). */
export const DEFAULT_IRQ_HANDLER_NS: Ns = 700;

export function rackSpec(hosts: HostSpec[], over: Partial<Omit<RackSpec, 'hosts'>> = {}): RackSpec {
  return {
    seed: 1,
    switch: DEFAULT_SWITCH,
    link: DEFAULT_LINK,
    dma: DEFAULT_HRDMA,
    cpu: DEFAULT_CPU,
    eop: DEFAULT_EOP,
    irqHandlerNs: DEFAULT_IRQ_HANDLER_NS,
    ramBytes: DEFAULT_RAM_BYTES,
    pageBytes: DEFAULT_PAGE_BYTES,
    ...over,
    hosts,
  };
}

export class Rack {
  readonly sched: Scheduler;
  readonly log: Logger;
  readonly fabric: Fabric;
  readonly control: ControlPlane;
  /**
   * The management hosts (master first, then the backup) and who owns the downstream ports; null
   * for a rack without a management host.
   */
  readonly management: ManagementFailover | null = null;
  readonly hosts: Host[] = [];
  readonly nics: EopNic[] = [];
  private readonly byName = new Map<string, Host>();
  private readonly nicByName = new Map<string, EopNic>();
  /** Hosts with two NTB paths and the drivers' failover between them (null: every host has one path). */
  readonly failover: PathFailover | null = null;
  /**
   * Virtual time at which every interface was up and knew which peers' links are up (set by
   * `boot`). Queue pairs are not part of it: each is negotiated on its first use.
   */
  bootedAt: Ns = -1;

  constructor(readonly spec: RackSpec) {
    if (spec.hosts.length > MAX_HOSTS) throw new Error(`at most ${MAX_HOSTS} hosts fit the global address map`);
    this.sched = new Scheduler(spec.seed);
    this.log = new Logger(() => this.sched.now);
    this.fabric = new Fabric(this.sched, spec.switch, this.log);
    this.control = new ControlPlane(this.sched, spec.eop.controlLatencyNs);
    const n = spec.hosts.length;
    spec.hosts.forEach((hs, index) => {
      const host = new Host(
        {
          name: hs.name,
          index,
          management: !!hs.management,
          ramBytes: Math.min(spec.ramBytes, HOST_APERTURE_BYTES),
          // Pages at least as large as a ring slot: frames are then always zero-copy views.
          pageBytes: Math.max(spec.pageBytes, slotBytesFor(hs.eop?.mtu ?? spec.eop.mtu)),
          link: { ...spec.link, ...hs.link },
          dma: { ...spec.dma, ...hs.dma },
          cpu: { ...spec.cpu, ...hs.cpu },
          irqHandlerNs: spec.irqHandlerNs,
          irqJitterNs: spec.irqJitterNs ?? 0,
          cores: hs.cores ?? spec.cores ?? DEFAULT_CORES,
          profile: profileOf(hs.profile ?? spec.profile ?? 'kernel'),
          irqModerationNs: spec.irqModerationNs ?? 0,
        },
        this.sched,
        this.fabric,
      );
      if (host.ntb) {
        // Marlin's layout: one window onto the whole global space out, the host's aperture in.
        host.ntb.outbound.push({ localBase: OUTBOUND_BASE, sizeBytes: OUTBOUND_BYTES, xlatBase: 0 });
        host.ntb.inbound = { localBase: hostApertureBase(index), sizeBytes: HOST_APERTURE_BYTES, xlatBase: 0 };
      }
      this.hosts.push(host);
      this.byName.set(hs.name, host);
    });
    const tors = spec.tors ?? [];
    if (tors.length > 1) {
      const torOf = spec.hosts.map((hs) => {
        const t = hs.tor === undefined ? 0 : tors.findIndex((x) => x.name === hs.tor);
        if (t < 0) throw new EopError(ErrorCode.CONFIG_INVALID, `host ${hs.name}: no top-of-rack switch named "${hs.tor}" (have ${tors.map((x) => x.name).join(', ')})`);
        return t;
      });
      this.fabric.tiers = new SwitchTiers(tors, torOf);
    }
    const torIndex = (host: string, name: string | undefined, fallback: number): number => {
      if (name === undefined) return fallback;
      const t = tors.findIndex((x) => x.name === name);
      if (t < 0 || tors.length < 2) throw new EopError(ErrorCode.CONFIG_INVALID, `host ${host}: backup path to a top-of-rack switch "${name}" the rack does not have`);
      return t;
    };
    if (spec.hosts.some((hs) => hs.backupPath)) {
      const paths = new NtbPaths(n);
      spec.hosts.forEach((hs, i) => {
        if (!hs.backupPath) return;
        const host = this.hosts[i]!;
        if (!host.ntb) throw new EopError(ErrorCode.CONFIG_INVALID, `host ${hs.name}: the management host has no NTB port for a backup path`);
        const primaryTor = this.fabric.tiers ? this.fabric.tiers.torOf[i] ?? 0 : 0;
        const backup = new Link(`${hs.name}.backup`, { ...host.link.cfg, ...hs.backupPath.link });
        paths.add(i, { link: host.link, tor: primaryTor }, { link: backup, tor: torIndex(hs.name, hs.backupPath.tor, primaryTor) });
      });
      this.fabric.multipath = paths;
      this.failover = new PathFailover(this.sched, paths, this.control, { ...DEFAULT_FAILOVER, ...spec.failover }, spec.eop.controlLatencyNs);
    }
    // Every host of the rack may send through every NTB port; the IOMMUs decide what lands.
    for (const h of this.hosts) if (h.ntb) for (const o of this.hosts) h.ntb.lut.add(o.rid);
    for (const [i, hs] of spec.hosts.entries()) {
      const host = this.hosts[i]!;
      if (hs.management) {
        this.control.register(host, undefined);
        continue;
      }
      const nic = makeNic(host, { ...spec.eop, ...hs.eop }, hs.mac, this.control, n, hs.ifName ?? `eop-${hs.name}`);
      this.nics.push(nic);
      this.nicByName.set(hs.name, nic);
      this.control.register(host, nic);
    }
    // No queue pairs here: each opens on its first frame (EopNic.openQp), so boot costs nothing per
    // host pair and the first frame between two hosts pays their link setup.
    if (spec.eop.arpResponder) {
      const dir = new ArpDirectory();
      for (const [i, hs] of spec.hosts.entries()) if (!hs.management && hs.ipv4 !== undefined) dir.add(hs.ipv4, hs.mac, this.hosts[i]!.index);
      for (const nic of this.nics) if (nic.cfg.arpResponder) nic.arpDirectory = dir;
    }
    const mgmt = this.hosts.filter((_h, i) => spec.hosts[i]!.management);
    if (mgmt.length > 0) {
      const vs = new VirtualSwitches(
        mgmt.map((h) => ({ index: h.index, name: h.name })),
        this.nics.map((n) => n.host.index),
      );
      this.control.ports = vs;
      this.management = new ManagementFailover(this.sched, vs, this.control, spec.managementFailover ?? DEFAULT_MGMT_FAILOVER);
    }
  }

  host(name: string): Host {
    const h = this.byName.get(name);
    if (!h) throw new Error(`no host named ${name}`);
    return h;
  }

  nic(name: string): EopNic {
    const n = this.nicByName.get(name);
    if (!n) throw new Error(`host ${name} has no EOP interface`);
    return n;
  }

  /**
   * True when every running interface knows that every other running one's link is up, and every
   * queue pair opened so far whose peer is running is up (mismatches excepted).
   */
  allLinksSettled(): boolean {
    const running = this.nics.filter((n) => n.running && n.host.ntb!.linkUp);
    for (const nic of running) {
      for (const other of running) if (other !== nic && !nic.knowsPeerUp(other.host.index)) return false;
      for (const qp of nic.qps) {
        if (!qp) continue;
        const peer = this.control.nics[qp.peer];
        if (peer?.running && qp.state !== 'up' && qp.state !== 'mismatch') return false;
      }
    }
    return true;
  }

  /**
   * Start every EOP interface and run until the links settle (or `limitNs` passes). Returns the
   * virtual time the rack took to come up.
   */
  boot(limitNs: Ns = 1_000_000): Ns {
    for (const nic of this.nics) nic.start();
    this.runUntilSettled(limitNs);
    this.bootedAt = this.sched.now;
    return this.bootedAt;
  }

  /**
   * Open every queue pair now and run until all are up: what boot did before queue pairs opened on
   * first use. For measurements and tests of the steady state, which must not include link setup.
   * Returns the virtual time it took.
   */
  openAllQueuePairs(limitNs: Ns = 1_000_000): Ns {
    const t0 = this.sched.now;
    for (const a of this.nics) for (const b of this.nics) if (a !== b) a.openQp(b.host.index);
    this.runUntilSettled(limitNs);
    return this.sched.now - t0;
  }

  private runUntilSettled(limitNs: Ns): void {
    const step: Ns = 1_000;
    const end = this.sched.now + limitNs;
    while (this.sched.now < end) {
      this.sched.runUntil(this.sched.now + step);
      if (this.allLinksSettled()) break;
    }
  }
}
