/**
 * JIT warm-up for live mode. V8 hands a function to its optimizing compiler only after it has run
 * for a while (its "interrupt budget"), so a live rack that carries a ping every 10 ms runs its
 * frame path in baseline code for minutes, and each ping pays for it. Before the live rack is
 * built, a throwaway rack of two hosts, built from the same rack file, carries a few thousand
 * echo-sized frames both ways through the same code a TAP frame takes (TAP bridge, EOP interface,
 * copy engines, fabric, interrupts, scheduler, the coalescer on the way out) in virtual time,
 * between two stand-in TAPs that drop what is written to them.
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
import { EtherType, writeEthernetHeader } from '../src/wire/ethernet.js';
import { IpProtocol, writeIpv4Header } from '../src/wire/ipv4.js';
import { BROADCAST_MAC } from '../src/wire/mac.js';
import { TapBridge, type TapLike } from './tap-bridge.js';
import { FrameBatch, type TapStats } from './tap-device.js';

/** Frames carried by default: enough for the optimizing compiler to take the frame path (measured with --trace-opt). */
export const WARM_UP_FRAMES = 4000;
/** An ICMP echo of ping's default size: 14 + 20 + 8 + 56 bytes. */
const FRAME_BYTES = 98;
/** 33:33:00:00:00:01, where IPv6 sends to all nodes. */
const IPV6_ALL_NODES_MAC = 0x3333_0000_0001;
/** Virtual time given to each frame's trailing events (credits, interrupts) before the next one. */
const SETTLE_NS = 20_000;

export interface WarmUpResult {
  /** Frames delivered to the other side (0: the rack has fewer than two hosts, nothing was done). */
  frames: number;
  /** Wall time spent, ms. */
  ms: number;
}

/** A TAP that is not there: frames offered to it are dropped; reads are driven by `inject`. */
class StandInTap implements TapLike {
  readonly closed = false;
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
  ) {
    this.batch = new FrameBatch(Buffer.alloc(vnetHdrSize + 2048), new Uint32Array(1));
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
  write(frame: Uint8Array): boolean {
    this.stats.framesOut++;
    this.stats.bytesOut += frame.length;
    return true;
  }
  close(): void {}

  /** One frame "read" from this TAP, with a zeroed virtio_net_hdr in front (a finished frame). */
  inject(frame: Uint8Array): void {
    const b = this.batch;
    b.buffer.fill(0, 0, this.vnetHdrSize);
    b.buffer.set(frame, this.vnetHdrSize);
    b.lengths[0] = this.vnetHdrSize + frame.length;
    b.count = 1;
    b.bytes = b.lengths[0];
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
  if (topo.hosts.length < 2) return { frames: 0, ms: 0 };
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
      for (let k = 0; deliveries.frames < want && k < 1000 && sched.nextTime() !== Infinity; k++) sched.runUntil(sched.nextTime());
      sched.runUntil(sched.now + SETTLE_NS);
    },
    deliveries,
    onFailure: (): void => {},
  };
  const ends = hosts.map((h) => {
    const tap = new StandInTap(h.ifName, vnetHdrSize);
    const port: FramePort = rack.nic(h.name);
    return { h, tap, bridge: new TapBridge(h.name, tap, port, opts) };
  });
  const [a, b] = ends as [(typeof ends)[0], (typeof ends)[0]];
  // Mostly echoes both ways, and what a namespace's stack also sends: broadcasts (ARP) and IPv6
  // multicast (neighbour discovery), which take the flood path.
  const mix = [
    [a, echoFrame(b.h.mac.addr, a.h.mac.addr, a.h.ipv4.addr, b.h.ipv4.addr)],
    [b, echoFrame(a.h.mac.addr, b.h.mac.addr, b.h.ipv4.addr, a.h.ipv4.addr)],
    [a, echoFrame(BROADCAST_MAC, a.h.mac.addr, a.h.ipv4.addr, b.h.ipv4.addr)],
    [b, echoFrame(IPV6_ALL_NODES_MAC, b.h.mac.addr, b.h.ipv4.addr, a.h.ipv4.addr)],
  ] as const;
  for (let i = 0; i < frames; i++) {
    const [end, frame] = mix[i % 8 < 6 ? i & 1 : 2 + (i & 1)]!;
    end.tap.inject(frame);
  }
  for (const e of ends) e.bridge.close();
  return { frames: deliveries.frames, ms: performance.now() - t0 };
}
