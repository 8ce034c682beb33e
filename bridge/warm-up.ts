/**
 * JIT warm-up for live mode. V8 hands a function to its optimizing compiler only after it has run
 * for a while (its "interrupt budget"), so a live rack that carries a ping every 10 ms runs its
 * frame path in baseline code for minutes, and each ping pays for it. Before the live rack is
 * built, a throwaway rack of two hosts, built from the same rack file, carries a few thousand
 * echo-sized frames both ways through the same code a TAP frame takes (TAP bridge, EOP interface,
 * copy engines, fabric, interrupts, scheduler, the coalescer on the way out) in virtual time,
 * between two stand-in TAPs that drop what is written to them. One frame in six is a datagram of a
 * UDP burst (both ways, IPv4 and IPv6, checksums left to the bridge as a namespace with offloads
 * leaves them), read from the TAP as one batch and merged on the far side into one UDP GSO write
 * (udp-coalesce.ts), so that path is compiled before real UDP traffic needs it: the stand-in TAPs
 * take GSO_UDP_L4 writes, as a Linux 6.2+ TAP does, and count them (`udpGsoWrites`). Measured with
 * --trace-opt/--trace-deopt over 4 s of iperf3 -u after `eop up`: the merge itself (tryMerge,
 * finishSuper, udpOffset, the checksum checks) is no longer compiled or thrown away during the
 * traffic; what still is: tryStart and emitPending (once per merge, not hot enough yet) and the
 * model's HRDMA path for frames above dma.copyThresholdBytes.
 *
 * Nothing is shared with the live rack: its counters, captures, clock and memory are untouched, and
 * the throwaway rack is dropped afterwards. What it cost (about 0.1-0.2 s) is in `eop status
 * --json` (`live.warmUp`); what it saves is measured at LIVE_INTERRUPT_BUDGET.
 */
import { setFlagsFromString } from 'node:v8';
import type { FramePort } from '../src/eop/frame-port.js';
import { rackSpecFromTopology } from '../src/topology/build.js';
import { Rack } from '../src/topology/rack.js';
import type { Topology } from '../src/topology/schema.js';
import { pseudoHeaderSum4, pseudoHeaderSum6 } from '../src/wire/checksum.js';
import { EtherType, writeEthernetHeader } from '../src/wire/ethernet.js';
import { IpProtocol, writeIpv4Header } from '../src/wire/ipv4.js';
import { BROADCAST_MAC } from '../src/wire/mac.js';
import { buildUdp6, finishUdp4Checksum, finishUdp6Checksum, UDP4_PAYLOAD_OFFSET, UDP6_PAYLOAD_OFFSET, writeUdpHeader } from '../src/wire/udp.js';
import { TapBridge, type TapLike } from './tap-bridge.js';
import { FrameBatch, type TapStats } from './tap-device.js';
import { parseVirtioNetHdr, VirtioNetHdr, writeVirtioNetHdr } from './virtio-net-hdr.js';
import { NATIVE_MIN_BYTES } from './fast-checksum.js';

/**
 * Frames carried by default: enough for the optimizing compiler to take the frame path (measured with
 * --trace-opt): 4000 single frames and 800 UDP datagrams in bursts.
 */
export const WARM_UP_FRAMES = 4800;
/** An ICMP echo of ping's default size: 14 + 20 + 8 + 56 bytes. */
const FRAME_BYTES = 98;
/** 33:33:00:00:00:01, where IPv6 sends to all nodes. */
const IPV6_ALL_NODES_MAC = 0x3333_0000_0001;
/** Virtual time given to each frame's trailing events (credits, interrupts) before the next one. */
const SETTLE_NS = 20_000;
/** Datagrams of a UDP burst: one TAP read, one GSO write on the other side. */
const UDP_BURST = 8;
/** Single frames between two UDP bursts (one frame in six is UDP). */
const FRAMES_PER_BURST = 5 * UDP_BURST;
/**
 * Payload of a datagram (less if the MTU is smaller): its frame stays below the default
 * dma.copyThresholdBytes (1024), so it takes the CPU copy like the echoes (iperf3's 1460-byte
 * datagrams go by HRDMA, whose first run here cost about 100 ms more, measured on a loaded 2-core
 * VM), and its UDP part above NATIVE_MIN_BYTES, so its checksums are summed natively as real ones are.
 */
const UDP_PAYLOAD_BYTES = 512;

export interface WarmUpResult {
  /** Frames delivered to the other side (0: the rack has fewer than two hosts, nothing was done). */
  frames: number;
  /** Wall time spent, ms. */
  ms: number;
  /** Of `frames`: UDP datagrams, in bursts. */
  udpDatagrams: number;
  /** GSO_UDP_L4 super-packets written into the stand-in TAPs (0 without a vnet header)… */
  udpGsoWrites: number;
  /** …and the datagrams they carried. */
  udpGsoDatagrams: number;
}

/** A TAP that is not there: frames offered to it are dropped; reads are driven by `inject`. */
class StandInTap implements TapLike {
  readonly closed = false;
  /**
   * Takes UDP GSO writes, so the bridge merges datagrams (the live TAPs, opened after the warm-up,
   * say for themselves; where the kernel refuses, the merge code is compiled and never used).
   */
  readonly usoWrite = true;
  /** GSO_UDP_L4 writes received, and the datagrams in them (gso_size each, the last shorter). */
  udpGsoWrites = 0;
  udpGsoDatagrams = 0;
  readonly failed = false;
  readonly stats: TapStats = {
    framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, readBatches: 0, writeQueued: 0,
    writeDropped: 0, writeErrors: 0, readErrors: 0, emptyReads: 0, queueFrames: 0, queueBytes: 0,
  };
  private cb: ((batch: FrameBatch) => void) | null = null;
  private readonly batch: FrameBatch;

  constructor(
    readonly name: string,
    readonly vnetHdrSize: number,
    maxFrameBytes: number,
  ) {
    this.batch = new FrameBatch(Buffer.alloc(UDP_BURST * (vnetHdrSize + maxFrameBytes)), new Uint32Array(UDP_BURST));
  }

  onFrames(cb: ((batch: FrameBatch) => void) | null): this {
    this.cb = cb;
    return this;
  }
  onError(): this {
    return this;
  }
  pause(): void {}
  resume(): boolean {
    return true;
  }
  readNow(): number {
    return 0;
  }
  write(frame: Uint8Array, head?: Uint8Array): boolean {
    this.stats.framesOut++;
    this.stats.bytesOut += frame.length;
    // A merged frame comes with its header built in front (no `head`); single frames get a zero one.
    if (head === undefined && this.vnetHdrSize > 0 && frame[1] === VirtioNetHdr.GSO_UDP_L4) {
      const h = parseVirtioNetHdr(frame, this.vnetHdrSize as 10 | 12);
      this.udpGsoWrites++;
      this.udpGsoDatagrams += Math.ceil((frame.length - this.vnetHdrSize - h.hdrLen) / h.gsoSize);
    }
    return true;
  }
  close(): void {}

  /**
   * Frames "read" from this TAP as one batch (at most UDP_BURST), each behind `head` (a
   * virtio_net_hdr) or a zeroed one (a finished frame).
   */
  inject(frames: readonly Uint8Array[], head?: Uint8Array): void {
    const b = this.batch;
    const vh = this.vnetHdrSize;
    let off = 0;
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i]!;
      if (head) b.buffer.set(head, off);
      else b.buffer.fill(0, off, off + vh);
      b.buffer.set(f, off + vh);
      b.lengths[i] = vh + f.length;
      off += vh + f.length;
    }
    b.count = frames.length;
    b.bytes = off;
    this.cb?.(b);
  }
}

function echoFrame(dstMac: number, srcMac: number, srcIp: number, dstIp: number): Uint8Array {
  const f = new Uint8Array(FRAME_BYTES);
  const ip = writeEthernetHeader(f, 0, dstMac, srcMac, EtherType.IPv4);
  writeIpv4Header(f, ip, srcIp, dstIp, IpProtocol.ICMP, FRAME_BYTES - ip - 20, 64, 1, true, 0);
  f[ip + 20] = 8; // echo request; the model and the bridge never read further
  return f;
}

type WarmHost = Topology['hosts'][number];

/**
 * A burst of UDP datagrams from `src` to `dst` as one connected socket sends them (IPv4: DF,
 * consecutive IDs), checksums valid: what the coalescer merges. `shortLast`: the last datagram is
 * short (the end of a send, which closes a merge; below NATIVE_MIN_BYTES, so checksummed in JS).
 * The first `zeroHigh` datagrams get a checksum whose high byte is 0 (1 in 256 of real ones): the
 * coalescer then reads the low byte too (an IPv4 checksum 0 means none), code that would otherwise
 * first run, and throw the optimized code away, during real traffic.
 *
 * With `partial`, the datagrams are as a namespace's kernel hands them to a TAP with checksum
 * offload: the UDP checksum field holds the pseudo-header sum, for the bridge to finish (the frame
 * is read behind a NEEDS_CSUM header: `partialCsumHead`); what reaches the far side is the same.
 */
function udpBurst(src: WarmHost, dst: WarmHost, v6: boolean, payloadBytes: number, shortLast: boolean, zeroHigh: number, partial: boolean): Uint8Array[] {
  const out: Uint8Array[] = [];
  const l4 = v6 ? UDP6_PAYLOAD_OFFSET - 8 : UDP4_PAYLOAD_OFFSET - 8;
  for (let i = 0; i < UDP_BURST; i++) {
    const n = shortLast && i === UDP_BURST - 1 ? Math.min(payloadBytes, NATIVE_MIN_BYTES >>> 2) : payloadBytes;
    const f = new Uint8Array(l4 + 8 + n);
    const payload = f.subarray(l4 + 8).fill(i + 1);
    const common = { srcMac: src.mac.addr, dstMac: dst.mac.addr, srcPort: 40_000, dstPort: 5201, payloadLen: n };
    if (v6) buildUdp6(f, { ...common, srcIp: src.ipv6.bytes, dstIp: dst.ipv6.bytes });
    else {
      const ip = writeEthernetHeader(f, 0, dst.mac.addr, src.mac.addr, EtherType.IPv4);
      writeIpv4Header(f, ip, src.ipv4.addr, dst.ipv4.addr, IpProtocol.UDP, 8 + n, 64, 0x1000 + i, true, 0);
      writeUdpHeader(f, l4, common.srcPort, common.dstPort, n);
    }
    const finish = v6 ? (): void => finishUdp6Checksum(f, f.length) : (): void => finishUdp4Checksum(f, f.length);
    if (i < zeroHigh && n >= 2) {
      // With the first payload word 0 the checksum is ~S; a word of 0xfffe + ~S (end-around carry)
      // brings the sum to 0xfffe, so the checksum to 0x0001.
      payload[0] = 0;
      payload[1] = 0;
      finish();
      const w = 0xfffe + ((f[l4 + 6]! << 8) | f[l4 + 7]!);
      const word = (w & 0xffff) + (w >>> 16);
      payload[0] = word >>> 8;
      payload[1] = word & 0xff;
    }
    finish();
    if (partial) {
      const ps = v6 ? pseudoHeaderSum6(src.ipv6.bytes, dst.ipv6.bytes, IpProtocol.UDP, 8 + n) : pseudoHeaderSum4(src.ipv4.addr, dst.ipv4.addr, IpProtocol.UDP, 8 + n);
      f[l4 + 6] = ps >>> 8;
      f[l4 + 7] = ps & 0xff;
    }
    out.push(f);
  }
  return out;
}

/** The virtio_net_hdr of a datagram whose UDP checksum (at `l4` + 6) the reader must finish. */
function partialCsumHead(vnetHdrSize: number, l4: number): Uint8Array {
  const h = new Uint8Array(vnetHdrSize);
  writeVirtioNetHdr(h, { flags: VirtioNetHdr.F_NEEDS_CSUM, csumStart: l4, csumOffset: 6 }, vnetHdrSize as 10 | 12);
  return h;
}

/**
 * V8's interrupt budget (bytecode a function runs between its tiering checks) for live mode: 1/16 of
 * Node 20's default (67,584), so code that runs once per sparse frame, and code that a frame
 * outside the warm-up's mix sends back to baseline (a deoptimization), reaches the optimizing
 * compiler after a few dozen frames instead of a few hundred. Measured with the warm-up, 300 pings
 * at 10 ms in three interleaved rounds: the main thread's CPU per ping went from 720/433/670 µs
 * without both to 498/466/317 µs with both (README, live figures).
 */
export const LIVE_INTERRUPT_BUDGET = 4096;

/**
 * Makes V8 tier up sooner from now on (LIVE_INTERRUPT_BUDGET), for a live rack. The budget is read
 * each time a function's counter is reset, so setting it after startup takes effect for every
 * function from its next check on; with an unknown flag (another engine) nothing happens.
 */
export function tierUpSooner(): void {
  setFlagsFromString(`--interrupt-budget=${LIVE_INTERRUPT_BUDGET}`);
}

/**
 * Carries `frames` frames between the first two hosts of `topo` (both directions) through a
 * throwaway rack and TAP bridges whose TAPs have `vnetHdrSize` bytes of header (0: none).
 */
export function warmUpFramePath(topo: Topology, vnetHdrSize: number, frames = WARM_UP_FRAMES): WarmUpResult {
  const t0 = performance.now();
  if (topo.hosts.length < 2) return { frames: 0, ms: 0, udpDatagrams: 0, udpGsoWrites: 0, udpGsoDatagrams: 0 };
  const hosts = topo.hosts.slice(0, 2);
  const rack = new Rack(rackSpecFromTopology({ ...topo, hosts }));
  // Queue pairs open on first use, as in the live rack (objects built the same way get the same shapes).
  rack.boot();
  const sched = rack.sched;
  const deliveries = { frames: 0, last: null as TapBridge | null };
  // The same options, in the same order, as the live rack gives its bridges: objects of one shape
  // let the compiled code serve the live bridges without being thrown away (V8 "wrong map").
  const opts = {
    sync: (): void => {},
    // Event by event, as the live runner's spin does, until the frame is out (bounded: a frame the
    // model drops, e.g. a link still down, must not stall startup); then its trailing events.
    poke: (n: number): void => {
      const want = deliveries.frames + n;
      for (let k = 0; deliveries.frames < want && k < 1000 * n && sched.nextTime() !== Infinity; k++) sched.runUntil(sched.nextTime());
      sched.runUntil(sched.now + SETTLE_NS);
      // The end of the event batch: what the coalescers merged goes out, as the live bridge's
      // nextTick does (never reached while the warm-up runs).
      for (const e of ends) e.bridge.flushMerged();
    },
    deliveries,
    onFailure: (): void => {},
  };
  // UDP_PAYLOAD_BYTES, or what the MTU allows (an EOP link comes up only between equal MTUs).
  const mtu = Math.min(hosts[0]!.mtu, hosts[1]!.mtu);
  const udp4Bytes = Math.min(UDP_PAYLOAD_BYTES, mtu - 28);
  const udp6Bytes = Math.min(UDP_PAYLOAD_BYTES, mtu - 48);
  const maxFrameBytes = Math.max(FRAME_BYTES, UDP4_PAYLOAD_OFFSET + udp4Bytes, UDP6_PAYLOAD_OFFSET + udp6Bytes);
  const ends = hosts.map((h) => {
    const tap = new StandInTap(h.ifName, vnetHdrSize, maxFrameBytes);
    const port: FramePort = rack.nic(h.name);
    return { h, tap, bridge: new TapBridge(h.name, tap, port, opts) };
  });
  const [a, b] = ends as [(typeof ends)[0], (typeof ends)[0]];
  // Mostly echoes both ways, and what a namespace's stack also sends: broadcasts (ARP) and IPv6
  // multicast (neighbour discovery), which take the flood path.
  const mix = [
    [a, [echoFrame(b.h.mac.addr, a.h.mac.addr, a.h.ipv4.addr, b.h.ipv4.addr)]],
    [b, [echoFrame(a.h.mac.addr, b.h.mac.addr, b.h.ipv4.addr, a.h.ipv4.addr)]],
    [a, [echoFrame(BROADCAST_MAC, a.h.mac.addr, a.h.ipv4.addr, b.h.ipv4.addr)]],
    [b, [echoFrame(IPV6_ALL_NODES_MAC, b.h.mac.addr, b.h.ipv4.addr, a.h.ipv4.addr)]],
  ] as const;
  // Both ways, IPv4 and IPv6, merges ended by the batch's end and by a short datagram. With a vnet
  // header the sender's kernel leaves the checksums to the bridge (offloads on), as it does live.
  const partial = vnetHdrSize > 0;
  const head4 = partial ? partialCsumHead(vnetHdrSize, UDP4_PAYLOAD_OFFSET - 8) : undefined;
  const head6 = partial ? partialCsumHead(vnetHdrSize, UDP6_PAYLOAD_OFFSET - 8) : undefined;
  const bursts = [
    [a, udpBurst(a.h, b.h, false, udp4Bytes, false, 2, partial), head4],
    [b, udpBurst(b.h, a.h, false, udp4Bytes, true, 0, partial), head4],
    [a, udpBurst(a.h, b.h, true, udp6Bytes, true, 1, partial), head6],
    [b, udpBurst(b.h, a.h, true, udp6Bytes, false, 0, partial), head6],
  ] as const;
  let udpDatagrams = 0;
  let sent = 0;
  // i: single frames so far; a burst after every FRAMES_PER_BURST of them.
  for (let i = 0, burst = 0; sent < frames; ) {
    if (burst < Math.floor(i / FRAMES_PER_BURST)) {
      const [end, dgrams, head] = bursts[burst++ % bursts.length]!;
      const n = Math.min(dgrams.length, frames - sent);
      end.tap.inject(n === dgrams.length ? dgrams : dgrams.slice(0, n), head);
      udpDatagrams += n;
      sent += n;
      continue;
    }
    const [end, frame] = mix[i % 8 < 6 ? i & 1 : 2 + (i & 1)]!;
    end.tap.inject(frame);
    i++;
    sent++;
  }
  for (const e of ends) e.bridge.close();
  return {
    frames: deliveries.frames,
    ms: performance.now() - t0,
    udpDatagrams,
    udpGsoWrites: a.tap.udpGsoWrites + b.tap.udpGsoWrites,
    udpGsoDatagrams: a.tap.udpGsoDatagrams + b.tap.udpGsoDatagrams,
  };
}
