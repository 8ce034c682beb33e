/**
 * The rack `eop run` uses when no file is given, as YAML (what `eop run --print-default` prints,
 * for the user to copy and edit) and parsed. The YAML spells out the main settings with their
 * default values so that it documents them; the test suite checks they match the schema defaults.
 */
import { parseTopologyText } from './load.js';
import type { Topology } from './schema.js';

export const DEFAULT_RACK_SOURCE = '<default rack>';

export const DEFAULT_RACK_YAML = `# EOP rack: Ethernet over a PCIe fabric.
# Only "hosts" is required; everything else below shows its default or an example.
name: default
seed: 1               # one seed, one run: same numbers every time
durationMs: 100       # virtual time limit of the run
mtu: 1500             # default for every host (68..65510)

management: true      # add the management host "mh" (owns the global address space, no EOP interface)

hosts:                # a bare name, or a mapping with name, mac, ipv4, ipv6, mtu, link, attach, role, tor
  - h1                # defaults: mac 02:e0:00:00:00:01, ipv4 10.11.0.1/24, ipv6 fd00:e0::1/64
  - h2
  - h3
  - name: h4
    ipv4: 10.11.0.4/24
    attach: builtin   # builtin | tap | websocket

link:                 # every host's link to the switch (a host may override any of these)
  gen: 3              # PCIe generation 1..5
  width: 8            # lanes: 1, 2, 4, 8, 16
  mpsBytes: 256       # max payload size: 128, 256, 512
  ecrc: false         # TLP headers (3 or 4 DW) follow each address; ACK/UpdateFC/SKP follow the spec
  latencyNs: 100      # PHY + data-link traversal per link

switch:
  hopLatencyNs: 150   # cut-through per hop
  ntbTranslateNs: 50

# tors:               # more than one top-of-rack switch, joined by a spine; hosts pick one with "tor:"
#   - name: tor1      # (a host without "tor" sits on the first); a bare name, or name + uplink
#     uplink: {gen: 3, width: 16}   # the ToR's link to the spine (any link setting; default the rack's)
#   - tor2

dma:                  # the HRDMA engine of every host
  setupNs: 400
  peakGbps: 40
  unalignedRateFactor: 0.35   # rate multiplier for payloads not aligned to alignmentBytes
  alignmentBytes: 64
  ringSlots: 1024
  copyThresholdBytes: 1024    # smaller frames are copied by the CPU

cpu:
  copyGbps: 40
  copySetupNs: 100

interrupts:
  mode: msi           # msi | doorbell
  msiHandlerNs: 700
  doorbellExtraNs: 2000
  coalesceNs: 0
  jitterNs: 0         # interrupt entry varies by up to this much (seeded); 0 = no randomness at all

eop:                  # the EOP pseudo-NIC driver
  ringSlots: 32       # receive ring slots per peer (power of 2); memory grows with hosts² × slots
  batchFrames: 16
  txQueueFrames: 256
  version: 1

captures:
  enabled: true
  dir: captures
  format: pcapng      # pcap | pcapng
  maxFileMiB: 64
  maxFiles: 4

traffic:
  - kind: ping-all    # every host pings every other host
    count: 3
    intervalUs: 100
  - kind: udp
    from: h1
    to: h2
    dstPort: 9
    messageBytes: 1472
    count: 2000       # or durationUs; rateGbps omitted = as fast as the NIC accepts
`;

/** A fresh, mutable copy of the default rack. */
export function defaultRack(): Topology {
  return parseTopologyText(DEFAULT_RACK_YAML, DEFAULT_RACK_SOURCE, 'yaml');
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !ArrayBuffer.isView(v) && !Object.isFrozen(v)) {
    for (const child of Object.values(v)) deepFreeze(child);
    Object.freeze(v);
  }
  return v;
}

/** The default rack, parsed once and frozen (its MAC and IPv6 byte arrays excepted); use `defaultRack()` to get one you may change. */
export const DEFAULT_RACK: Topology = deepFreeze(defaultRack());
