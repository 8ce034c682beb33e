/**
 * What a traffic generator (Pinger, UdpStream) needs from the stack it runs on, and nothing more.
 * HostStack implements it; the generators import only this, so they sit below the stack instead
 * of reaching back into it (and a test can run a generator on a stand-in).
 */
import type { FramePort } from '../eop/frame-port.js';
import type { Scheduler } from '../time/scheduler.js';
import type { NeighborEntry, ResolveCallback } from './neighbor-cache.js';

export interface GeneratorHost {
  /** For messages, e.g. the host name. */
  readonly name: string;
  readonly mac: number;
  /** IP MTU of the interface: the largest datagram a generator may build. */
  readonly mtu: number;
  readonly ipv4Addr: number;
  readonly sched: Scheduler;
  /** For flow control only (`txSpace`, `onTxDrained`): frames go out through `sendFrame`/`sendIp`. */
  readonly port: FramePort;
  /** Next ephemeral UDP port (49152..65535, wrapping). */
  ephemeralPort(): number;
  /** Source address for an IPv6 destination: link-local for fe80::/10, else the global one. */
  ipv6SourceFor(dst: Uint8Array): Uint8Array;
  /** Throws EopError(USAGE) unless `dst` is a unicast address on the link other than our own. */
  checkOnLink(dst: number | Uint8Array, what: string): void;
  /** Calls `cb` with the MAC of `dst` when known (at once if it is), or null if it never resolves. */
  resolveNeighbor(dst: number | Uint8Array, cb: ResolveCallback): NeighborEntry | null;
  /**
   * Send an IP frame built in `buf[0, len)` whose destination MAC is still to be written: at once
   * if `dst` is resolved, else after resolution (a copy waits). False if dropped or refused.
   */
  sendIp(buf: Uint8Array, len: number, dst: number | Uint8Array, alignOffset?: number): boolean;
  /** Hand a complete frame to the interface. False if the interface refused it. */
  sendFrame(frame: Uint8Array, alignOffset: number): boolean;
}
