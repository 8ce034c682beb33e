/**
 * One line of documentation per key of the rack file format, keyed like `SCHEMA_KEYS`
 * (`link.gen`, `host.mac`, `udp.rateGbps`). `eop run --print-default` prints them beside every
 * setting; `test/default-rack.test.ts` checks every schema key has one, so a new key cannot go
 * undocumented. Ranges come from `LIMITS` where the limit lives there.
 */
import { CPU_COPY_FIELDS, HRDMA_FIELDS, docsOf } from './engine-fields.js';
import { LIMITS, type FaultKind } from './types.js';

export const FIELD_DOCS: Readonly<Record<string, string>> = {
  'rack.name': 'names the rack in reports and capture files (no "/", "\\" or control characters)',
  'rack.seed': 'one seed, one run: same numbers every time (0..2^32-1)',
  'rack.durationMs': 'virtual time limit of the run (eop run --max-duration-ms raises the 60000 ms limit)',
  'rack.mtu': `default IP MTU of every host (${LIMITS.minMtu}..${LIMITS.maxMtu}); an EOP link comes up only between equal MTUs`,
  'rack.management': 'add the management host "mh" (owns the global address space, no EOP interface)',
  'rack.hosts': `1 to ${LIMITS.maxHosts} hosts: a bare name, or a mapping with the keys below`,
  'rack.link': "every host's PCIe link to the switch (a host may override any of these)",
  'rack.switch': 'the PCIe switch',
  'rack.tors': 'more than one top-of-rack switch, joined by a spine; hosts pick one with "tor"',
  'rack.dma': 'the HRDMA engine of every host',
  'rack.cpu': 'the hosts\' CPUs: copies (frames below dma.copyThresholdBytes), cores, kernel or polling profile',
  'rack.interrupts': 'how a receiver learns of new frames',
  'rack.eop': 'the EOP pseudo-NIC driver',
  'rack.captures': 'pcap/pcapng files of every EOP interface',
  'rack.traffic': 'what the built-in stacks send (eop run); one entry per kind below',
  'rack.faults': 'failures injected in virtual time (eop run, eop up), logged, counted and marked in the captures',
  'rack.failover': 'how long moving a host with two NTB paths off a failed one takes, part by part',

  'link.gen': 'PCIe generation 1..5',
  'link.width': 'lanes: 1, 2, 4, 8, 16',
  'link.mpsBytes': 'max payload size: 128, 256, 512',
  'link.ecrc': 'end-to-end CRC: 4 more bytes per TLP (headers of 3 or 4 DW follow each address)',
  'link.latencyNs': 'PHY + data-link traversal per link',

  'switch.hopLatencyNs': 'cut-through latency per hop',
  'switch.ntbTranslateNs': 'NTB address translation per crossing',

  'tor.name': 'a top-of-rack switch (a bare name is enough)',
  'tor.spineLink': "its PCIe link to the spine: any link setting (default the rack's link); not an uplink to another rack (that is a host with attach: uplink)",

  // The HRDMA and CPU copy fields are documented where they are defined (shared with scenarios).
  ...docsOf('dma', HRDMA_FIELDS),
  'dma.copyThresholdBytes': 'frames of at least this many bytes go by DMA, smaller ones by CPU copy',

  ...docsOf('cpu', CPU_COPY_FIELDS),
  'cpu.cores': `cores per host (1..${LIMITS.maxCores}): transmit work on core 0, interrupts on the last, queued behind each other`,
  'cpu.profile': 'kernel (interrupt, softirq, thread wake-up) | polling (a core spins on the rings: no interrupts)',

  'interrupts.mode': 'msi | doorbell',
  'interrupts.msiHandlerNs': 'interrupt entry to handler',
  'interrupts.doorbellExtraNs': 'doorbell mode: extra cost of the doorbell register path',
  'interrupts.coalesceNs': 'moderation: at most one interrupt per vector per this interval; 0 = one per batch',
  'interrupts.jitterNs': 'interrupt entry varies by up to this much (seeded); 0 = no randomness at all',

  'eop.ringSlots': 'receive ring slots per peer (power of 2, 4..4096); memory grows with hosts² × slots',
  'eop.batchFrames': 'frames per doorbell/interrupt batch (1..256, at most ringSlots)',
  'eop.arpResponder': "answer ARP requests for the rack's own addresses in the sender's EOP interface instead of flooding them (true/false, default false): n² frames instead of n³ when every host resolves every other",
  'eop.txQueueFrames': 'transmit queue per interface (1..65536)',
  'eop.version': 'protocol version both ends must agree on (32-bit)',
  'eop.driver': 'eop (default) or ntb-netdev: Linux ntb_transport + ntb_netdev as modelled (exactly two compute hosts; one queue pair, fixed entries in one window, a doorbell and a tasklet per frame; src/eop/ntb-netdev.ts)',
  'eop.ntbWindowBytes': 'ntb-netdev: the memory window behind each receive buffer (power of 2, 8 KiB..1 GiB, default 1 MiB): 15 entries of 64 KiB at 1 MiB',
  'eop.ntbUseDma': 'ntb-netdev: ntb_transport use_dma (default false): frames of at least dma.copyThresholdBytes are copied by the DMA engine, both ways',
  'eop.ntbHz': 'ntb-netdev: the kernel tick rate (CONFIG_HZ, default 250) that paces the restart timer of a stopped transmit queue',

  'failover.linkDownDetectUs': 'link failure to Surprise Down (AER) at both ports: the PCIe LTSSM Recovery.RcvrLock timeout, 24 ms',
  'failover.aerHandlerUs': "AER interrupt to the EOP driver's error_detected (kernel AER handler and recovery work; estimate)",
  'failover.remapUs': 'reprogramming an NTB window onto the other port, read back (estimate)',

  'captures.enabled': 'write captures (eop run --no-captures turns them off)',
  'captures.dir': 'folder for the capture files (eop run --capture-dir overrides)',
  'captures.format': 'pcap | pcapng',
  'captures.maxFileMiB': `rotate a file at this size (${LIMITS.minCaptureFileMiB}..${LIMITS.maxCaptureFileMiB})`,
  'captures.maxFiles': 'files kept per interface (oldest dropped); 1 = one file, stop when full',

  'host.name': `lowercase letter, then letters, digits or "-" (at most ${LIMITS.maxHostNameChars}: the interface is eop-<name>)`,
  'host.mac': 'unicast MAC; default 02:e0:00:00:HH:LL from the host number',
  'host.ipv4': `address/prefix; default 10.11.0.n/24 (n ≤ ${LIMITS.maxDefaultIpv4Hosts}); traffic needs one subnet`,
  'host.ipv6': 'address/prefix; default fd00:e0::n/64',
  'host.mtu': 'this host only (default: the rack mtu)',
  'host.link': 'this host only: any key of link',
  'host.attach': 'builtin (the built-in stack) | tap (eop up/serve: a namespace with a TAP) | websocket (eop serve: a WebSocket client is its interface) | uplink (eop serve: an Ethernet port to another rack)',
  'host.tor': 'the top-of-rack switch its link ends at (a name from tors; default the first)',
  'host.cores': 'this host only: cpu.cores',
  'host.profile': 'this host only: cpu.profile',
  'host.dma': "this host's HRDMA engine: any dma setting but copyThresholdBytes, over the rack's",
  'host.cpu': "this host's CPU copies and write-combining: any cpu setting but cores and profile (those are the host's own keys)",
  'host.role': 'compute | management (two at most: the first is the master, a second its backup; no EOP interface)',
  'host.backupPath': "a second NTB port and link (Marlin's backup path): true, or a mapping with the keys below",

  'backupPath.tor': "the top-of-rack switch its link ends at (default: the host's own, on another port)",
  'backupPath.link': "its link: the host's link with any link key overridden",

  'ping.kind': 'ping: one host pings another (or "all")',
  'ping.from': 'the sending host',
  'ping.to': 'the pinged host, or "all" for every other host',
  'ping.count': `echo requests (1..${LIMITS.maxPingCount})`,
  'ping.intervalUs': 'between requests',
  'ping.payloadBytes': 'ICMP payload; must fit the MTU (minus 28 bytes over IPv4, 48 over IPv6)',
  'ping.ipv6': 'ping the IPv6 address instead of the IPv4 one',

  'udp.kind': 'udp: a stream of sequence-numbered datagrams, checked by the receiver',
  'udp.from': 'the sending host',
  'udp.to': 'the receiving host',
  'udp.dstPort': '9 (discard) or a port the receiver counts; not 7 (echo)',
  'udp.messageBytes': 'UDP payload, 16..MTU-28 bytes (never fragmented)',
  'udp.rateGbps': 'send rate; omitted = as fast as the NIC accepts',
  'udp.count': 'datagrams to send (default 1000); or durationUs, not both',
  'udp.durationUs': 'send for this long instead of a count',
  'udp.alignOffsetBytes': 'payload offset past a 64-byte line (0..63): unaligned DMA runs slower',
  'udp.startUs': 'start this long after boot',

  'ping-all.kind': 'ping-all: every host pings every other host',
  'ping-all.count': `echo requests per pair (1..${LIMITS.maxPingCount})`,
  'ping-all.intervalUs': 'between requests',

  'rack.managementFailover': 'management-host failover: with a second role: management host (the backup), it takes the ports over when the master fails',
  'managementFailover.heartbeatUs': "the master's heartbeat period (assumption; PLX leaves it to software)",
  'managementFailover.missedHeartbeats': "heartbeats the backup misses before it takes over (its fail-detect timer)",
  'managementFailover.takeoverBaseUs': 'takeover work done once: the partition change (assumption: the 100 ms PCIe wait after a reset)',
  'managementFailover.portTakeoverUs': 'takeover work per downstream port: re-assign it, read its NTB state back (assumption)',
  'fault.atUs': 'when, in virtual µs after the links came up',
  'fault.kind': 'link-down | link-up | host-crash | host-restart | dma-error | tlp-corrupt | irq-lost | path-down | path-up | mh-fail | mh-restart',
  'fault.host': 'the compute host hit (its NTB link, its HRDMA engine, its up-link, its interrupts); mh-*: a management host',
  'fault.count': `dma-error, tlp-corrupt, irq-lost: the next N descriptors, TLP trains or interrupts (1..${LIMITS.maxFaultCount})`,
  'fault.pollUs': "irq-lost: the driver's poll interval, after which it finds the work the lost interrupt announced",
  'fault.path': 'path-down, path-up: primary | backup, one of the two NTB paths of a host with backupPath',
};

/** One line per fault kind: what it does and what recovers it (`eop fault --help`, the README). */
export const FAULT_KIND_DOCS: Record<FaultKind, string> = {
  'link-down': "the host's NTB link drops: its queue pairs go down, queued frames are dropped (ERR_EOP_LINK_DOWN)",
  'link-up': 'the link returns: the host and its peers negotiate again (the recovery of link-down)',
  'host-crash': "the host's driver stops abruptly: no LINK_DOWN entry, stale scratchpads",
  'host-restart': 'the crashed host starts again and renegotiates (the recovery of host-crash)',
  'dma-error': 'the next count HRDMA descriptors are corrupted: the driver re-sends their frames by CPU copy, counted',
  'tlp-corrupt': 'the next count TLP trains on the host\'s up-link arrive with a bad LCRC: NAKed and replayed, late, not lost',
  'irq-lost': "the next count interrupts vanish: the driver's poll (every pollUs) finds the work",
  'path-down': "one of a host's two NTB paths fails (path: primary | backup): AER reports it, the drivers move to the other path",
  'path-up': 'the failed path works again (traffic stuck with both paths down moves to it)',
  'mh-fail': 'a management host stops: data keeps flowing; the backup takes the ports over after missed heartbeats (takeover time logged)',
  'mh-restart': 'a failed management host starts again: it takes its ports back if nobody did, else it is the new backup',
};
