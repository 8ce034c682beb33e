/**
 * stack: the built-in host stack that answers on an EOP interface when nothing else is attached
 * (ARP, NDP, ICMP/ICMPv6 echo, UDP echo and sinks), and the traffic generators that run on it
 * (Pinger, UdpStream). One HostStack per host, on that host's FramePort.
 *
 * Layer 6 of 0–12. May import `src/eop` (its `FramePort` only), `src/time`, `src/wire`, errors.ts, log.ts.
 *
 * Files, from the bottom: payload-pattern (the bytes every generator sends and every receiver
 * checks), stats, neighbor-cache, generator-host (the interface a generator needs from its stack),
 * ping and udp-stream (generators, on a GeneratorHost), udp-sink (checks received streams), and
 * host-stack (receive path, replies, and the factory of generators). Nothing imports host-stack
 * from inside the folder.
 *
 * Rules:
 * - Sits on `FramePort` only (eop/frame-port.ts): no reaching into the NIC, the host or the fabric.
 *   Frames are parsed with wire's checked views and built with wire's builders; no parsers or
 *   checksums of its own.
 * - Virtual time only (`sched.now`, `sched.after/at`); no wall clock, no randomness of its own, so
 *   a run is a function of the rack's seed. No periodic timers: a drained scheduler means the
 *   traffic is over (neighbour entries do not age; every timer here has an end).
 * - Nothing received throws out of the receive callback: malformed input is counted in
 *   `HostStack.drops` by ErrorCode, unwanted input by a `StackDrop` / `NeighborDrop` reason.
 *   Bad options from a caller (a message larger than the MTU allows, an off-link destination)
 *   throw EopError(USAGE) at construction, with the limit in the message.
 * - Per-frame paths allocate as little as they can: builders write into reused buffers through
 *   reused option objects, events are scheduled as bound methods with an argument (never a fresh
 *   closure per frame), flows are found by numeric keys. The received frame is a view into
 *   emulated memory valid only during the call: whatever is kept is copied.
 * - Units in names: `…Ns` virtual nanoseconds, `…Bytes`, `…Gbps`.
 */
export {
  HostStack,
  ProtoCounters,
  StackCounters,
  StackDrop,
  UDP_DISCARD_PORT,
  UDP_ECHO_PORT,
  type HostStackOptions,
} from './host-stack.js';
export {
  key6,
  NeighborCache,
  NeighborCounters,
  NeighborDrop,
  NeighborEntry,
  type NeighborCacheOptions,
  type NeighborHooks,
  type NeighborState,
  type ResolveCallback,
} from './neighbor-cache.js';
export { Pinger, type PingOptions, type PingResult } from './ping.js';
export { EMPTY_SUMMARY, percentile, summarize, throughputGbps, type Summary } from './stats.js';
export type { GeneratorHost } from './generator-host.js';
export { MAX_MESSAGE_BYTES, pattern, patternStart, STREAM_HEADER_BYTES, STREAM_MAGIC } from './payload-pattern.js';
export { SinkFlowStats, UdpSink } from './udp-sink.js';
export { UdpStream, UdpStreamStats, type UdpStreamOptions } from './udp-stream.js';
