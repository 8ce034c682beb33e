/**
 * Every stable code in EOP, in one registry: what a thrown `EopError` carries and what a
 * `DropCounters` counts. Anything that comes from an edge (a frame, a config file, a CLI flag, a DMA
 * descriptor written by a driver) and is wrong gets one of these codes: as a thrown `EopError` where
 * a caller can report it, or as a counted drop where the emulation must carry on. Tests assert codes,
 * not messages. Broken internal invariants are plain `Error`s (bugs), never these.
 *
 * Each entry has its stable `code` string (never renamed: reports, logs and tests quote it), the
 * `layer` that raises it, and a one-line `meaning` that the report, `--help` and the README use.
 * `byDesign` marks a count that is normal traffic handling (frames meant for someone else), not a
 * loss. The five views below (`ErrorCode`, `StackDrop`, `NeighborDrop`, `BridgeDrop`, `WsDrop`) are this
 * registry's groups, not vocabularies of their own; `DropCounters` takes only registered codes.
 */

export type CodeLayer =
  | 'wire'
  | 'mem'
  | 'ntb'
  | 'iommu'
  | 'hrdma'
  | 'eop'
  | 'stack'
  | 'neighbor'
  | 'bridge'
  | 'config'
  | 'capture';

export interface CodeInfo {
  readonly code: string;
  readonly layer: CodeLayer;
  readonly meaning: string;
  readonly byDesign?: boolean;
}

const REGISTRY = {
  error: {
    // wire formats
    FRAME_TOO_SHORT: { code: 'ERR_FRAME_TOO_SHORT', layer: 'wire', meaning: 'frame or header shorter than its fixed part (Ethernet: 14 bytes)' },
    FRAME_TOO_LONG: { code: 'ERR_FRAME_TOO_LONG', layer: 'wire', meaning: 'frame longer than the interface MTU allows' },
    BAD_LENGTH_FIELD: { code: 'ERR_BAD_LENGTH_FIELD', layer: 'wire', meaning: 'a length field disagrees with the bytes present' },
    BAD_VERSION: { code: 'ERR_BAD_VERSION', layer: 'wire', meaning: 'IP version field is not the EtherType\'s version' },
    BAD_CHECKSUM: { code: 'ERR_BAD_CHECKSUM', layer: 'wire', meaning: 'an IP, ICMP or UDP checksum does not verify' },
    UNSUPPORTED: { code: 'ERR_UNSUPPORTED', layer: 'wire', meaning: 'a header layout the parser cannot read (e.g. IPv4 options it does not skip)' },
    // memory and address space
    ADDR_UNMAPPED: { code: 'ERR_ADDR_UNMAPPED', layer: 'ntb', meaning: 'a global address that no host, register aperture or window owns' },
    ADDR_OUT_OF_RANGE: { code: 'ERR_ADDR_OUT_OF_RANGE', layer: 'mem', meaning: 'an access beyond a host\'s emulated address space' },
    // NTB
    NTB_OUT_OF_WINDOW: { code: 'ERR_NTB_OUT_OF_WINDOW', layer: 'ntb', meaning: 'a write outside every NTB memory window (dropped, never written elsewhere)' },
    NTB_LUT_DENIED: { code: 'ERR_NTB_LUT_DENIED', layer: 'ntb', meaning: 'the requester is not in the target NTB\'s requester-ID lookup table' },
    NTB_LINK_DOWN: { code: 'ERR_NTB_LINK_DOWN', layer: 'ntb', meaning: 'a write through an NTB whose link is down' },
    NTB_PATH_DOWN: { code: 'ERR_NTB_PATH_DOWN', layer: 'ntb', meaning: 'a write over an NTB path whose link failed, issued before the driver moved off it or still in flight when it failed (lost)' },
    NTB_BAD_REGISTER: { code: 'ERR_NTB_BAD_REGISTER', layer: 'ntb', meaning: 'a register write at an offset where the NTB has no register' },
    // IOMMU
    IOMMU_BLOCKED: { code: 'ERR_IOMMU_BLOCKED', layer: 'iommu', meaning: 'the target host\'s IOMMU has not granted the requester that range' },
    // protected DMA (memory credentials, src/pcie/dma-credentials.ts)
    DMA_CREDENTIAL_MISSING: { code: 'ERR_DMA_CREDENTIAL_MISSING', layer: 'iommu', meaning: 'an access to protected memory without a credential that covers it' },
    DMA_CREDENTIAL_FORGED: { code: 'ERR_DMA_CREDENTIAL_FORGED', layer: 'iommu', meaning: 'a memory credential whose fields do not match its authentication code' },
    DMA_CREDENTIAL_REPLAYED: { code: 'ERR_DMA_CREDENTIAL_REPLAYED', layer: 'iommu', meaning: 'a memory credential presented again after its transfer used it' },
    DMA_CREDENTIAL_EXPIRED: { code: 'ERR_DMA_CREDENTIAL_EXPIRED', layer: 'iommu', meaning: 'a memory credential presented after its lifetime' },
    // HRDMA
    DMA_BAD_DESCRIPTOR: { code: 'ERR_DMA_BAD_DESCRIPTOR', layer: 'hrdma', meaning: 'a DMA descriptor with a bad op, length or source (completes with an error status)' },
    DMA_RING_FULL: { code: 'ERR_DMA_RING_FULL', layer: 'hrdma', meaning: 'a descriptor posted while every slot of the DMA ring was in use (refused)' },
    DMA_FENCE_ABORTED: { code: 'ERR_DMA_FENCE_ABORTED', layer: 'hrdma', meaning: 'a fenced DMA descriptor not executed because the descriptor before it failed' },
    // EOP driver
    EOP_TX_QUEUE_FULL: { code: 'ERR_EOP_TX_QUEUE_FULL', layer: 'eop', meaning: 'transmit queue of the peer (or the staging pool) full: frame dropped at the sender' },
    EOP_PATH_LOST: { code: 'ERR_EOP_PATH_LOST', layer: 'eop', meaning: 'frame sent over an NTB path that failed before it landed; counted lost by the receiver when the sender moved to its other path' },
    EOP_LINK_DOWN: { code: 'ERR_EOP_LINK_DOWN', layer: 'eop', meaning: 'frame sent, or still queued, while the interface or the peer\'s link was down' },
    EOP_BAD_SLOT: { code: 'ERR_EOP_BAD_SLOT', layer: 'eop', meaning: 'a receive slot header with a length outside 14 bytes..the maximum frame' },
    EOP_SEQ_GAP: { code: 'ERR_EOP_SEQ_GAP', layer: 'eop', meaning: 'a receive slot whose sequence number is not the expected one' },
    EOP_NEGOTIATION: { code: 'ERR_EOP_NEGOTIATION', layer: 'eop', meaning: 'link parameters in the scratchpads disagree (version, MTU, ring geometry): link stays down' },
    EOP_NO_PEER: { code: 'ERR_EOP_NO_PEER', layer: 'eop', meaning: 'frame sent while no queue pair is up' },
    // config / CLI
    CONFIG_INVALID: { code: 'ERR_CONFIG_INVALID', layer: 'config', meaning: 'a rack or scenario file, or a value in it, is invalid' },
    CONFIG_UNREADABLE: { code: 'ERR_CONFIG_UNREADABLE', layer: 'config', meaning: 'a rack or scenario file cannot be read' },
    LIMIT_EXCEEDED: { code: 'ERR_LIMIT_EXCEEDED', layer: 'config', meaning: 'valid input that asks for more than a documented input limit (src/topology/limits.ts)' },
    USAGE: { code: 'ERR_USAGE', layer: 'config', meaning: 'a command, option or API called with values it does not accept' },
    // captures
    CAPTURE_IO: { code: 'ERR_CAPTURE_IO', layer: 'capture', meaning: 'a capture file cannot be opened or written' },
    CAPTURE_UNSAFE: { code: 'ERR_CAPTURE_UNSAFE', layer: 'capture', meaning: 'a capture directory others can write, or a capture name taken by a link or another user\'s file (refused)' },
    // TAP devices (bridge/)
    TAP_OPEN: { code: 'ERR_TAP_OPEN', layer: 'bridge', meaning: 'a TAP device or network namespace cannot be created or opened' },
    TAP_IO: { code: 'ERR_TAP_IO', layer: 'bridge', meaning: 'reading or writing a TAP failed' },
    TAP_ADDON_MISSING: { code: 'ERR_TAP_ADDON_MISSING', layer: 'bridge', meaning: 'the native TAP addon is not built' },
  },
  stack: {
    NOT_FOR_US: { code: 'not-for-us', layer: 'stack', meaning: 'unicast to another MAC, or a multicast group this host did not join', byDesign: true },
    VLAN_TAGGED: { code: 'vlan-tagged', layer: 'stack', meaning: 'an 802.1Q-tagged frame (the built-in stack has no VLANs)', byDesign: true },
    UNKNOWN_ETHERTYPE: { code: 'unknown-ethertype', layer: 'stack', meaning: 'an EtherType other than ARP, IPv4 and IPv6', byDesign: true },
    UNKNOWN_IP_PROTOCOL: { code: 'unknown-ip-protocol', layer: 'stack', meaning: 'an IPv4 protocol or IPv6 next header the stack does not speak (extension headers included)', byDesign: true },
    IP_NOT_FOR_US: { code: 'ip-not-for-us', layer: 'stack', meaning: 'an IP packet to another address (hosts do not forward)', byDesign: true },
    IPV4_FRAGMENT: { code: 'ipv4-fragment', layer: 'stack', meaning: 'an IPv4 fragment (nothing here reassembles)' },
    UNKNOWN_ICMP_TYPE: { code: 'unknown-icmp-type', layer: 'stack', meaning: 'an ICMP or ICMPv6 type the stack does not handle' },
    ECHO_TO_GROUP: { code: 'echo-to-group', layer: 'stack', meaning: 'an echo request to a broadcast or multicast address (not answered, as Linux by default)' },
    ECHO_REPLY_UNMATCHED: { code: 'echo-reply-unmatched', layer: 'stack', meaning: 'an echo reply no pinger is waiting for (late or duplicate)' },
    ARP_OTHER_TARGET: { code: 'arp-other-target', layer: 'stack', meaning: 'an ARP request for another host\'s address', byDesign: true },
    ARP_UNKNOWN_OP: { code: 'arp-unknown-op', layer: 'stack', meaning: 'an ARP operation other than request and reply' },
    NDP_BAD_HOP_LIMIT: { code: 'ndp-bad-hop-limit', layer: 'stack', meaning: 'a neighbour discovery message whose hop limit is not 255 (RFC 4861: discard)' },
    NDP_BAD_CODE: { code: 'ndp-bad-code', layer: 'stack', meaning: 'a neighbour discovery message with a non-zero ICMPv6 code' },
    NDP_OTHER_TARGET: { code: 'ndp-other-target', layer: 'stack', meaning: 'a neighbour solicitation for another host\'s address' },
    NA_UNSOLICITED: { code: 'ndp-na-unsolicited', layer: 'stack', meaning: 'a neighbour advertisement for an address not being resolved (RFC 4861 §7.2.5: discard)' },
    UDP_PORT_CLOSED: { code: 'udp-port-closed', layer: 'stack', meaning: 'a UDP datagram to a port nothing listens on', byDesign: true },
    REPLY_TOO_BIG: { code: 'reply-exceeds-mtu', layer: 'stack', meaning: 'an echo whose reply would exceed the MTU (nothing here fragments)' },
    SINK_FLOWS_FULL: { code: 'sink-flows-full', layer: 'stack', meaning: 'a datagram for a new flow while the verifying sink tracks its maximum of flows' },
    INTERNAL: { code: 'stack-internal-error', layer: 'stack', meaning: 'a bug in the stack, caught so the interface carries on (logged as an error)' },
  },
  neighbor: {
    QUEUE_FULL: { code: 'neighbor-queue-full', layer: 'neighbor', meaning: 'a frame waiting for address resolution found the wait queue full' },
    UNRESOLVED: { code: 'neighbor-unresolved', layer: 'neighbor', meaning: 'frames dropped because address resolution gave up' },
    CACHE_FULL: { code: 'neighbor-cache-full', layer: 'neighbor', meaning: 'a new neighbour while the cache holds its maximum of entries' },
  },
  bridge: {
    TAP_GONE: { code: 'tap-gone', layer: 'bridge', meaning: 'the TAP failed (deleted underneath); frames for it are dropped' },
    TAP_WRITE: { code: 'tap-write', layer: 'bridge', meaning: 'the TAP\'s write queue was full or the write failed (the addon counts why)' },
    VNET_OFFLOAD: { code: 'vnet-offload-unexpected', layer: 'bridge', meaning: 'a frame from a vnet-header TAP that still needed a checksum or segmentation' },
  },
  websocket: {
    TEXT: { code: 'ws-text-message', layer: 'bridge', meaning: 'a WebSocket client sent a text message (frames are binary messages)' },
    RATE: { code: 'ws-rate-limit', layer: 'bridge', meaning: 'a WebSocket client sent faster than its frame or byte rate limit' },
    CLIENT_QUEUE_FULL: { code: 'ws-client-queue-full', layer: 'bridge', meaning: 'a frame for a slow or stalled WebSocket client found its send queue full' },
    STACK_DETACHED: { code: 'ws-stack-detached', layer: 'bridge', meaning: 'the built-in stack of a WebSocket host sent while a client held the host' },
    PROTOCOL: { code: 'ws-protocol-error', layer: 'bridge', meaning: 'a WebSocket client broke the protocol (bad frame, bad UTF-8 in a close); the connection is closed' },
    UPLINK_DOWN: { code: 'uplink-down', layer: 'bridge', meaning: 'a frame for the uplink while no rack is connected to it' },
    UPLINK_LOOP: { code: 'uplink-loop-or-duplicate-mac', layer: 'bridge', meaning: 'a frame came in over the uplink with a source MAC that lives in this rack (a loop, or the same MAC in two racks)' },
  },
} as const satisfies Record<string, Record<string, CodeInfo>>;

type Registry = typeof REGISTRY;
type CodesOf<G extends Record<string, CodeInfo>> = { readonly [K in keyof G]: G[K]['code'] };

function codesOf<G extends Record<string, CodeInfo>>(group: G): CodesOf<G> {
  return Object.freeze(Object.fromEntries(Object.entries(group).map(([k, v]) => [k, v.code]))) as CodesOf<G>;
}

/** Errors and drops from edges (frames, descriptors, files, CLI): `ERR_…`. */
export const ErrorCode = codesOf(REGISTRY.error);
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
/** Received frames the built-in stack does not take (besides malformed ones, counted by ErrorCode). */
export const StackDrop = codesOf(REGISTRY.stack);
export type StackDrop = (typeof StackDrop)[keyof typeof StackDrop];
/** Frames the stack's neighbour cache drops while resolving addresses. */
export const NeighborDrop = codesOf(REGISTRY.neighbor);
export type NeighborDrop = (typeof NeighborDrop)[keyof typeof NeighborDrop];
/** Frames a TAP bridge drops besides ErrorCode values. */
export const BridgeDrop = codesOf(REGISTRY.bridge);
export type BridgeDrop = (typeof BridgeDrop)[keyof typeof BridgeDrop];

/** Frames the WebSocket edge (bridge/ws-port.ts, ws-server.ts) drops besides ErrorCode values. */
export const WsDrop = codesOf(REGISTRY.websocket);
export type WsDrop = (typeof WsDrop)[keyof typeof WsDrop];

/** Any registered code. */
export type Code = ErrorCode | StackDrop | NeighborDrop | BridgeDrop | WsDrop;

/** Every registered code with its layer and meaning, in registry order. */
export const CODES: readonly CodeInfo[] = Object.values(REGISTRY as Registry).flatMap((g) => Object.values(g) as CodeInfo[]);

const BY_CODE = new Map<string, CodeInfo>(CODES.map((c) => [c.code, c]));

/** The registry entry of `code`, or undefined for a string that is not a registered code. */
export function codeInfo(code: string): CodeInfo | undefined {
  return BY_CODE.get(code);
}

/** A count that is normal traffic handling (frames meant for someone else), not a loss. */
export function isByDesign(code: string): boolean {
  return BY_CODE.get(code)?.byDesign === true;
}

export class EopError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'EopError';
  }
}

/** Counts drops by registered code. One per component that can drop; printed by the CLI. */
export class DropCounters {
  private readonly counts = new Map<Code, number>();
  total = 0;

  add(code: Code, n = 1): void {
    this.counts.set(code, (this.counts.get(code) ?? 0) + n);
    this.total += n;
  }

  get(code: Code): number {
    return this.counts.get(code) ?? 0;
  }

  entries(): [Code, number][] {
    return [...this.counts.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(this.entries());
  }
}
