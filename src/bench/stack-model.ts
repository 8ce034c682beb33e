/**
 * The host-stack costs of the bench's traffic generators: what a socket application and the
 * kernel's TCP/UDP code spend per message, per segment and per byte, on top of the EOP model (which
 * charges the driver's own work: CPU copies into the window, descriptor setup, interrupt entry,
 * per-frame receive handling).
 *
 * These are generator parameters, not part of the PCIe/EOP model, and they are estimates: Marlin
 * does not publish them. Each is an order-of-magnitude figure for a Linux host of Marlin's era
 * (i7 / Xeon E5 at 3.4 GHz); `docs/model-vs-reality.md` says how much each one moves the results.
 * A scenario may override any of them under `stack:`.
 *
 * This work runs on the hosts' own cores (stack-cpu.ts), where it queues behind the driver's and
 * the interrupts' work and they behind it; the application's copies still overlap the DMA of
 * earlier frames, as on a real host where the engine works while the core copies the next message.
 */
import type { Bytes, Gbps, Ns } from '../time/units.js';

export interface StackModel {
  /** Per send call: syscall entry/exit, socket lock, skb allocation (≈1 µs on Linux 3.x). */
  sendCallNs: Ns;
  /** Per received segment or datagram: softirq, IP and TCP/UDP receive, socket wake-up. */
  rxSegmentNs: Ns;
  /** Per ACK processed by the TCP sender. */
  ackRxNs: Ns;
  /** copy_from_user / copy_to_user rate (one core, data not in cache). */
  userCopyGbps: Gbps;
  /** "aligned + copy": the sender's extra copy of an unaligned payload into a 64-byte aligned buffer. */
  alignCopyGbps: Gbps;
  alignCopySetupNs: Ns;
  /**
   * OS noise: each send call takes an extra uniform [0, jitterNs) drawn from the seeded generator.
   * It is the only random element of a bench run: the same seed gives the same numbers, another
   * seed numbers within a few per cent (test/bench-determinism.test.ts states the tolerance).
   */
  jitterNs: Ns;
  /** TCP: most bytes sent and not yet acknowledged (the congestion/receive window, steady state). */
  windowBytes: Bytes;
  /** TCP: the receiver acknowledges every this many segments (delayed ACK: 2), and at once on PSH. */
  ackEverySegments: number;
  /** UDP: bytes a receiving socket may hold before it drops (net.core.rmem). */
  rcvbufBytes: Bytes;
  /**
   * UDP: bytes of datagrams a sending socket may have below it (queued in the interface or being
   * copied) before a send blocks: Linux charges a datagram to the socket's send buffer until the
   * driver has transmitted it. Default net.core.wmem_default, 212,992 bytes.
   */
  sndbufBytes: Bytes;
  /** Ping-pong: pause between a reply and the next request (0 = back to back). */
  thinkNs: Ns;
}

export const DEFAULT_STACK: StackModel = {
  sendCallNs: 1000,
  rxSegmentNs: 800,
  ackRxNs: 300,
  userCopyGbps: 40,
  alignCopyGbps: 40,
  alignCopySetupNs: 100,
  jitterNs: 200,
  windowBytes: 1024 * 1024,
  ackEverySegments: 2,
  rcvbufBytes: 4 * 1024 * 1024,
  sndbufBytes: 212_992,
  thinkNs: 1000,
};

/** Ethernet (14) + IPv4 (20) + TCP (20): MSS = MTU − 40. */
export const TCP_FRAME_OVERHEAD: Bytes = 54;
/** Ethernet (14) + IPv4 (20) + UDP (8): datagram payload ≤ MTU − 28. */
export const UDP_FRAME_OVERHEAD: Bytes = 42;
/** A bare TCP ACK: 54 header bytes, padded to Ethernet's 60-byte minimum (no FCS on EOP). */
export const ACK_FRAME_BYTES: Bytes = 60;
