/**
 * The rack file's vocabulary: every default (`DEFAULTS`), the limits that are not plain field ranges
 * (`LIMITS`), and the normalized types the emulator consumes (`Topology` and its parts). Defaults of
 * the model's own parameters are the model's constants, so the file format and the model cannot
 * drift apart.
 */
import { DEFAULT_EOP, type DriverKind } from '../eop/eop-nic.js';
import { DEFAULT_FAILOVER } from '../eop/path-failover.js';
import { DEFAULT_MGMT_FAILOVER } from '../eop/management-failover.js';
import { DEFAULT_CPU } from '../host/cpu-copy.js';
import { DEFAULT_HRDMA } from '../host/hrdma.js';
import { DEFAULT_SWITCH } from '../pcie/fabric.js';
import { DEFAULT_LINK } from '../pcie/link.js';
import { DEFAULT_IRQ_HANDLER_NS } from './rack.js';
import { DEFAULT_CORES, type ProfileKind } from '../host/profile.js';
import type { CpuCopySettings, HrdmaSettings } from './engine-fields.js';

export const DEFAULTS = {
  name: 'rack',
  seed: 1,
  durationMs: 100,
  mtu: DEFAULT_EOP.mtu,
  management: true,
  managementHostName: 'mh',
  // The model's own defaults, so the file format and the model cannot drift apart.
  link: { gen: DEFAULT_LINK.gen, width: DEFAULT_LINK.width, mpsBytes: DEFAULT_LINK.mpsBytes, ecrc: DEFAULT_LINK.ecrc, latencyNs: DEFAULT_LINK.latencyNs },
  switch: { ...DEFAULT_SWITCH },
  // Every HRDMA and CPU copy field the file takes (engine-fields.ts) defaults to the model's value.
  dma: { ...DEFAULT_HRDMA, copyThresholdBytes: DEFAULT_EOP.copyThresholdBytes },
  cpu: { ...DEFAULT_CPU, cores: DEFAULT_CORES, profile: 'kernel' as ProfileKind },
  interrupts: {
    mode: DEFAULT_EOP.irqMode,
    msiHandlerNs: DEFAULT_IRQ_HANDLER_NS,
    doorbellExtraNs: DEFAULT_EOP.doorbellExtraNs,
    coalesceNs: 0,
    jitterNs: 0,
  },
  eop: {
    ringSlots: DEFAULT_EOP.ringSlots,
    batchFrames: DEFAULT_EOP.batchFrames,
    txQueueFrames: DEFAULT_EOP.txQueueFrames,
    version: DEFAULT_EOP.version,
    arpResponder: DEFAULT_EOP.arpResponder,
    driver: DEFAULT_EOP.driver,
    ntbWindowBytes: DEFAULT_EOP.ntbWindowBytes,
    ntbUseDma: DEFAULT_EOP.ntbUseDma,
    ntbHz: DEFAULT_EOP.ntbHz,
  },
  captures: { enabled: true, dir: 'captures', format: 'pcapng', maxFileMiB: 64, maxFiles: 4 },
  host: { attach: 'builtin', role: 'compute' },
  ping: { count: 10, intervalUs: 100, payloadBytes: 56, ipv6: false },
  udp: { dstPort: 9, messageBytes: 1472, count: 1000, alignOffsetBytes: 0, startUs: 0 },
  pingAll: { count: 3, intervalUs: 100 },
  fault: { count: 1, pollUs: 1000, path: 'primary' },
  // The model's own defaults (src/eop/path-failover.ts says where each comes from).
  failover: {
    linkDownDetectUs: DEFAULT_FAILOVER.linkDownDetectNs / 1000,
    aerHandlerUs: DEFAULT_FAILOVER.aerHandlerNs / 1000,
    remapUs: DEFAULT_FAILOVER.remapNs / 1000,
  },
  managementFailover: {
    heartbeatUs: DEFAULT_MGMT_FAILOVER.heartbeatNs / 1000,
    missedHeartbeats: DEFAULT_MGMT_FAILOVER.missedHeartbeats,
    takeoverBaseUs: DEFAULT_MGMT_FAILOVER.takeoverBaseNs / 1000,
    portTakeoverUs: DEFAULT_MGMT_FAILOVER.portTakeoverNs / 1000,
  },
} as const;

/** Limits that are not plain field ranges. */
export const LIMITS = {
  maxHosts: 256,
  /** Cores per host: each is two numbers in the model; 1024 is more than any server has. */
  maxCores: 1024,
  /** Linux IFNAMSIZ - 1: an interface name has at most 15 characters. */
  maxIfNameChars: 15,
  ifNamePrefix: 'eop-',
  /** 15 - "eop-".length */
  maxHostNameChars: 11,
  minMtu: 68,
  /** ntb_netdev's limit. */
  maxMtu: 65510,
  /** Default IPv4 addresses are 10.11.0.1 .. 10.11.0.254. */
  maxDefaultIpv4Hosts: 254,
  /** ICMP echo sequence numbers are 16 bits; a ping never wraps them. */
  maxPingCount: 65535,
  /** A capture file holds at least 64 KiB (a few frames of the largest MTU) before it rotates. */
  minCaptureFileMiB: 1 / 16,
  /** 1 TiB: the byte count must stay an exact integer. */
  maxCaptureFileMiB: 1024 * 1024,
  /** Entries of `faults:`: each is one scheduled event and a line in the report. */
  maxFaults: 10_000,
  /** Operations one counted fault may hit: each is remembered until it strikes. */
  maxFaultCount: 1_000_000,
} as const;

// ---------------------------------------------------------------------------------------------
// Normalized types (what the emulator consumes)
// ---------------------------------------------------------------------------------------------

export type PcieGen = 1 | 2 | 3 | 4 | 5;
export type PcieWidth = 1 | 2 | 4 | 8 | 16;
export type MpsBytes = 128 | 256 | 512;
export type AttachMode = 'builtin' | 'tap' | 'websocket' | 'uplink';
export type HostRole = 'compute' | 'management';
export type InterruptMode = 'msi' | 'doorbell';
export type CaptureFormat = 'pcap' | 'pcapng';

export interface LinkConfig {
  gen: PcieGen;
  width: PcieWidth;
  mpsBytes: MpsBytes;
  ecrc: boolean;
  /** PHY + data-link traversal per link. */
  latencyNs: number;
}

export interface SwitchConfig {
  /** Cut-through latency per hop. */
  hopLatencyNs: number;
  ntbTranslateNs: number;
}

/** The rack's HRDMA engine (engine-fields.ts; a host may override any of it but the threshold). */
export interface DmaConfig extends HrdmaSettings {
  /** Frames of at least this many bytes go by DMA, smaller ones by CPU copy. */
  copyThresholdBytes: number;
}

/** The rack's CPU copies (engine-fields.ts; a host may override any of them), cores and profile. */
export interface CpuConfig extends CpuCopySettings {
  /** Cores per host (src/host/cores.ts); a host may override. */
  cores: number;
  /** kernel (interrupts, softirq, wake-ups) or polling (src/host/profile.ts); a host may override. */
  profile: ProfileKind;
}

export interface InterruptConfig {
  mode: InterruptMode;
  msiHandlerNs: number;
  doorbellExtraNs: number;
  coalesceNs: number;
  /** Interrupt entry varies by up to this much (uniform, drawn from the seeded RNG); 0 = none. */
  jitterNs: number;
}

export interface EopConfig {
  ringSlots: number;
  batchFrames: number;
  txQueueFrames: number;
  version: number;
  /** Answer ARP requests for the rack's addresses in the sender's EOP interface (src/eop/arp-responder.ts). */
  arpResponder: boolean;
  /** `eop` or `ntb-netdev` (Linux ntb_transport + ntb_netdev, two hosts; src/eop/ntb-netdev.ts) and that driver's settings. */
  driver: DriverKind;
  ntbWindowBytes: number;
  ntbUseDma: boolean;
  ntbHz: number;
}

export interface CaptureConfig {
  enabled: boolean;
  dir: string;
  format: CaptureFormat;
  maxFileMiB: number;
  maxFiles: number;
}

export interface MacAddress {
  /** 48-bit integer, first octet most significant. */
  addr: number;
  bytes: Uint8Array;
  /** Lowercase, colon-separated: "02:e0:00:00:00:01". */
  text: string;
}

export interface Ipv4Cidr {
  /** 32-bit unsigned integer. */
  addr: number;
  prefix: number;
  /** The address alone: "10.11.0.1". */
  text: string;
  /** Address and prefix: "10.11.0.1/24". */
  cidr: string;
}

export interface Ipv6Cidr {
  bytes: Uint8Array;
  prefix: number;
  /** The address alone, RFC 5952 form: "fd00:e0::1". */
  text: string;
  /** Address and prefix: "fd00:e0::1/64". */
  cidr: string;
}

/** A compute host: it has an EOP interface. */
export interface HostConfig {
  /** Position among the compute hosts, 0-based; default addresses derive from it. */
  index: number;
  name: string;
  /** EOP interface name, `eop-<name>` (fits Linux's 15 characters). */
  ifName: string;
  mac: MacAddress;
  ipv4: Ipv4Cidr;
  ipv6: Ipv6Cidr;
  mtu: number;
  /** The rack's `link` with this host's overrides applied. */
  link: LinkConfig;
  attach: AttachMode;
  /** The top-of-rack switch the host sits on (null: the rack has one switch). */
  tor: string | null;
  /** The rack's `cpu.cores` / `cpu.profile` unless the host overrides them. */
  cores: number;
  profile: ProfileKind;
  /** The rack's `dma` engine settings with this host's overrides applied. */
  dma: HrdmaSettings;
  /** The rack's `cpu` copy settings with this host's overrides applied. */
  cpu: CpuCopySettings;
  /** A second NTB path (Marlin's backup port and link), or null: one path. */
  backupPath: BackupPathConfig | null;
}

/** A host's second NTB port: its own link, to a port of its own ToR or of another one. */
export interface BackupPathConfig {
  /** The ToR switch the backup link ends at (null: the rack has one switch). */
  tor: string | null;
  /** The host's link with the backup path's overrides. */
  link: LinkConfig;
}

/** How long a failover between a host's two NTB paths takes, part by part (src/eop/path-failover.ts). */
export interface FailoverTimingConfig {
  /** Link failure to Surprise Down at both ports (the LTSSM's Recovery timeout). */
  linkDownDetectUs: number;
  /** AER interrupt to the driver's error_detected. */
  aerHandlerUs: number;
  /** Reprogramming an NTB window onto the other port. */
  remapUs: number;
}

/** A top-of-rack switch of a rack with more than one, joined to the others by a spine. */
export interface TorConfig {
  name: string;
  /** Its PCIe link to the spine: the rack's `link` with the entry's `spineLink` overrides. */
  spineLink: LinkConfig;
}

/** The management host (MH): owns the global address space, has no EOP interface. */
export interface ManagementHostConfig {
  name: string;
  /** True if listed in `hosts` with `role: management`; false if added by `management: true`. */
  declared: boolean;
  link: LinkConfig;
  /** The top-of-rack switch it sits on (null: the rack has one switch). */
  tor: string | null;
}

export interface PingTraffic {
  kind: 'ping';
  /** The config entry this came from, e.g. "traffic[0]". */
  origin: string;
  from: string;
  to: string;
  count: number;
  intervalUs: number;
  payloadBytes: number;
  ipv6: boolean;
}

export interface UdpTraffic {
  kind: 'udp';
  origin: string;
  from: string;
  to: string;
  dstPort: number;
  messageBytes: number;
  /** null: as fast as the NIC accepts. */
  rateGbps: number | null;
  /** Exactly one of `count` and `durationUs` is non-null (count 1000 if the file gives neither). */
  count: number | null;
  durationUs: number | null;
  alignOffsetBytes: number;
  startUs: number;
}

export type TrafficSpec = PingTraffic | UdpTraffic;

/** Management-host failover, in the file's units (µs). */
export interface ManagementFailoverConfig {
  heartbeatUs: number;
  missedHeartbeats: number;
  takeoverBaseUs: number;
  portTakeoverUs: number;
}

/** What a `faults:` entry does (src/topology/install-faults.ts says how each is injected). */
export const FAULT_KINDS = ['link-down', 'link-up', 'host-crash', 'host-restart', 'dma-error', 'tlp-corrupt', 'irq-lost', 'path-down', 'path-up', 'mh-fail', 'mh-restart'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
/** Kinds that hit a management host (every other kind hits a compute host). */
export const MANAGEMENT_FAULT_KINDS: readonly FaultKind[] = ['mh-fail', 'mh-restart'];
/** Kinds that hit the next `count` operations (descriptors, TLP trains, interrupts) rather than a state. */
export const COUNTED_FAULT_KINDS: readonly FaultKind[] = ['dma-error', 'tlp-corrupt', 'irq-lost'];
/** Kinds that hit one of a host's two NTB paths (the host must declare `backupPath`). */
export const PATH_FAULT_KINDS: readonly FaultKind[] = ['path-down', 'path-up'];
export type NtbPathName = 'primary' | 'backup';

export interface FaultSpec {
  /** The config entry this came from, e.g. "faults[0]". */
  origin: string;
  /** Virtual time after boot at which the fault strikes. */
  atUs: number;
  kind: FaultKind;
  /** The host hit: a compute host, or a management host for mh-fail and mh-restart. */
  host: string;
  /** dma-error, tlp-corrupt, irq-lost: how many operations are hit (1 for the others). */
  count: number;
  /** irq-lost: the driver's poll interval, after which it finds the work a lost interrupt announced. */
  pollUs: number;
  /** path-down, path-up: which of the host's two NTB paths. */
  path: NtbPathName;
}

/** The fully defaulted, normalized rack. */
export interface Topology {
  /** Where it came from: a file path, "<default>", or what the caller of parseTopology said. */
  source: string;
  name: string;
  seed: number;
  durationMs: number;
  /** Rack-wide default MTU (each host's resolved MTU is `hosts[i].mtu`). */
  mtu: number;
  /** Rack-wide link defaults (each host's resolved link is `hosts[i].link`). */
  link: LinkConfig;
  switch: SwitchConfig;
  /** Top-of-rack switches joined by a spine; empty: every host on one switch. */
  tors: TorConfig[];
  dma: DmaConfig;
  cpu: CpuConfig;
  interrupts: InterruptConfig;
  eop: EopConfig;
  captures: CaptureConfig;
  /** Compute hosts, in file order. */
  hosts: HostConfig[];
  management: ManagementHostConfig | null;
  /** The backup management host (a second `role: management` host), on a second virtual switch. */
  backupManagement: ManagementHostConfig | null;
  /** Management-host failover: heartbeat, detection and takeover (src/eop/management-failover.ts). */
  managementFailover: ManagementFailoverConfig;
  /** Expanded: every ping has one `to`; `ping-all` is gone. */
  traffic: TrafficSpec[];
  /** The `faults:` schedule, in file order. */
  faults: FaultSpec[];
  /** Failover timing for hosts with two NTB paths. */
  failover: FailoverTimingConfig;
}
