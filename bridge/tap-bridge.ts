/**
 * TAP ⇄ EOP interface: attaches one emulated host's EOP interface (a `FramePort`) to a Linux TAP
 * device, frames both ways: what crosses the fabric is the Ethernet frames the kernel sends, of at
 * most the MTU. By default the TAP carries a virtio_net_hdr, with offloads on: TCP super-frames
 * read from it are split into the segments the kernel's GSO would have made, and unfinished
 * checksums are finished, as a NIC's TSO and checksum offload do (tso-segment.ts: one read per
 * 64 KiB instead of per frame); frames going *into* a namespace are merged GRO-style
 * (TCP segments: tcp-coalesce.ts; UDP datagrams: udp-coalesce.ts). The fabric and the captures
 * never see super-frames.
 *
 * TAP → fabric: each wake-up's batch (views valid only in the callback) is first brought to the
 * current live time (`sync()`: the scheduler runs every event that is due, so the frame enters the
 * model at the wall-clock instant it arrived, never in the past), then each frame is checked
 * (`checkEdgeFrame`: runts < 14 bytes and frames above MTU + 18 are dropped and counted by code)
 * and handed to `port.transmit`. Back-pressure: when the interface has no room for a frame
 * (`txSpace` 0: its queue pair is full, the peer's ring is out of credits), the rest of the batch
 * is copied into a small holding queue and reading from the TAP pauses, so the kernel's TAP queue
 * (txqueuelen) holds further frames, as a NIC stops its netdev queue; `onTxDrained` resumes (or,
 * after 200 ms without draining, e.g. with no peer link up, a watchdog offers the held frames
 * anyway, the interface drops and counts them, and reading resumes: tx-hold.ts). Only
 * if the holding queue itself is full is a frame dropped (counted as ERR_EOP_TX_QUEUE_FULL), and the
 * kernel drops (and counts, `ip -s link`) when its own queue overflows while we are paused.
 *
 * fabric → TAP: frames the interface delivers (views into emulated memory, valid only during the
 * call) are written to the TAP at once: the addon copies them into the kernel or into its bounded
 * write queue. The write happens while the scheduler runs the delivery event, which the live
 * runner never runs before its time: a frame reaches the namespace no earlier than the model allows.
 */
import { BridgeDrop, DropCounters, ErrorCode } from '../src/errors.js';
import type { FramePort } from '../src/eop/frame-port.js';
import { checkEdgeFrame } from '../src/wire/ethernet.js';
import { readMac } from '../src/wire/mac.js';
import { TcpCoalescer } from './tcp-coalesce.js';
import { TsoSegmenter, tsoHoldFrames } from './tso-segment.js';
import { isUdpFrame, UdpCoalescer } from './udp-coalesce.js';
import { DEFAULT_HOLD_FRAMES, DEFAULT_STALL_MS, TxHold, TxHoldCounters } from './tx-hold.js';
import type { FrameBatch, TapIoError, TapStats } from './tap-device.js';

/** The part of TapDevice the bridge uses (a fake can stand in for tests). */
export interface TapLike {
  readonly name: string;
  readonly closed: boolean;
  readonly failed: boolean;
  readonly stats: TapStats;
  /** 0, or the virtio_net_hdr size in front of every frame (TAP opened with vnetHdr). */
  readonly vnetHdrSize?: number;
  /** True if the kernel takes GSO_UDP_L4 super-packets written into it (Linux ≥ 6.2). */
  readonly usoWrite?: boolean;
  onFrames(cb: ((batch: FrameBatch) => void) | null): unknown;
  onError(cb: ((err: TapIoError) => void) | null): unknown;
  /** Stops reading; the onFrames callback stays for `resume()`. */
  pause(): void;
  /** Reads again after `pause()`; false if it cannot (closed, failed). */
  resume(): boolean;
  /** Reads already-queued frames into the onFrames callback at once (no loop turn); returns how many. */
  readNow?(maxFrames: number): number;
  /** One frame; with `head`, head + frame as one frame (writev, no copy). */
  write(frame: Uint8Array, head?: Uint8Array): boolean;
  close(): void;
}

/** Drop reasons the bridge counts besides ErrorCode values (src/errors.ts). */
export { BridgeDrop };

/** The bridge's counters; pauses, held and stalls are the holding queue's (tx-hold.ts). */
export class BridgeCounters extends TxHoldCounters {
  /** Frames read from the TAP. */
  tapInFrames = 0;
  tapInBytes = 0;
  /** Frames the EOP interface accepted from the TAP. */
  toFabricFrames = 0;
  toFabricBytes = 0;
  /** Frames delivered by the EOP interface and written to the TAP. */
  toTapFrames = 0;
  toTapBytes = 0;
  /** Of tapInFrames: read at once after a write into the TAP (`pickUp`), not by a wake-up. */
  pickedUp = 0;
}

export interface TapBridgeOptions {
  /** Brings the model to the current live time (run due events); called before frames enter. */
  sync?: () => void;
  /** Asks the live runner to run promptly (frames were just injected); gets the batch size. */
  poke?: (frames: number) => void;
  /**
   * Shared count of frames written into TAPs, bumped per frame (lets a spin end on delivery), and
   * the bridge that wrote the last one (where an answer may already wait: `pickUp`).
   */
  deliveries?: { frames: number; last: TapBridge | null };
  /** Called once when the TAP fails (e.g. deleted underneath), with a sentence naming it. */
  onFailure?: (message: string, err: TapIoError) => void;
  /** Holding queue for frames read while the interface was full (default 256). */
  holdFrames?: number;
  /**
   * With a TAP opened with vnetHdr: merge TCP segments on the way into the TAP, as GRO does (see
   * tcp-coalesce.ts). Default true when the TAP has a vnet header.
   */
  coalesce?: boolean;
}

/** A pause that lasts longer than this ends anyway (tx-hold.ts). */
export const STALL_MS = DEFAULT_STALL_MS;

export class TapBridge {
  readonly c = new BridgeCounters();
  /** Frames dropped at the bridge, by code (the interface counts its own drops). */
  readonly drops = new DropCounters();
  /** Set when the TAP failed: the reason, naming the interface. */
  failure: string | null = null;
  private readonly hold: TxHold;
  private closed = false;
  private readonly vh: number;
  /** Set when writes into the TAP are coalesced: TCP segments, and UDP datagrams (`uso`). */
  readonly gro: TcpCoalescer | null = null;
  readonly uso: UdpCoalescer | null = null;
  /** Set when the TAP has a vnet header: finishes checksums and splits TCP super-frames it reads. */
  readonly tso: TsoSegmenter | null = null;
  private flushQueued = false;

  constructor(
    readonly host: string,
    readonly tap: TapLike,
    readonly port: FramePort,
    private readonly opts: TapBridgeOptions = {},
  ) {
    // Paused, reading stops and the kernel's TAP queue holds what comes meanwhile.
    const source = { pause: () => tap.pause(), resume: () => void (!this.closed && !tap.closed && !tap.failed && tap.resume()) };
    this.hold = new TxHold(port, source, {
      counters: this.c,
      ingest: (f) => void this.ingest(f),
      onDrop: () => this.drops.add(ErrorCode.EOP_TX_QUEUE_FULL),
      // With a vnet header (TSO), one wake-up's segments must all fit when the interface is full.
      holdFrames: opts.holdFrames ?? ((tap.vnetHdrSize ?? 0) > 0 ? Math.max(DEFAULT_HOLD_FRAMES, tsoHoldFrames(port.mtu)) : DEFAULT_HOLD_FRAMES),
      ...(opts.sync ? { sync: opts.sync } : {}),
      ...(opts.poke ? { poke: opts.poke } : {}),
    });
    this.vh = tap.vnetHdrSize ?? 0;
    if (this.vh > 0) {
      // Every write needs the header: a coalescer writes single frames with a zero one.
      const write = (f: Uint8Array, head?: Uint8Array): boolean => tap.write(f, head);
      const onDrop = (n: number): void => this.drops.add(BridgeDrop.TAP_WRITE, n);
      this.gro = new TcpCoalescer(this.vh as 10 | 12, write, onDrop);
      this.uso = new UdpCoalescer(this.vh, write, onDrop, tap.usoWrite === true);
      if (opts.coalesce === false) {
        this.gro.disableMerging();
        this.uso.disableMerging();
      }
      this.tso = new TsoSegmenter();
    }
    port.setReceiver(this.fromFabric);
    tap.onError(this.onTapError);
    tap.onFrames(this.onBatch);
  }

  /** True while reading is paused for back-pressure. */
  get isPaused(): boolean {
    return this.hold.isPaused;
  }

  /** Frames waiting in the holding queue. */
  get heldFrames(): number {
    return this.hold.size;
  }

  /** One TAP frame into the fabric (exported for tests). Returns true if the interface took it. */
  ingest(frame: Uint8Array): boolean {
    const code = checkEdgeFrame(frame, this.port.mtu);
    if (code !== null) {
      this.drops.add(code);
      return false;
    }
    const ok = this.port.transmit(frame);
    if (ok) {
      this.c.toFabricFrames++;
      this.c.toFabricBytes += frame.length;
    }
    return ok;
  }

  private readonly onBatch = (batch: FrameBatch): void => {
    if (this.closed) return;
    this.opts.sync?.();
    const lengths = batch.lengths;
    const buf = batch.buffer;
    let off = 0;
    const vh = this.vh;
    this.spaceMac = -1;
    this.space = 0;
    for (let i = 0; i < batch.count; i++) {
      const end = off + lengths[i]!;
      // A zero vnet header (or none): a finished frame. Otherwise the kernel left us a checksum
      // to finish or a TCP super-frame to segment (offloads on: tso-segment.ts).
      if (vh === 0 || (buf[off]! === 0 && buf[off + 1]! === 0)) this.takeFrame(buf.subarray(off + vh, end));
      else if (!this.tso?.take(buf.subarray(off, end), vh, this.takeFrame)) {
        this.c.tapInFrames++;
        this.drops.add(BridgeDrop.VNET_OFFLOAD);
      }
      off = end;
    }
    this.opts.poke?.(batch.count);
  };

  /**
   * Room for the previous frame's destination, counted down as frames are taken: no event runs
   * during a batch, so room only shrinks, and consecutive frames of a flow ask the interface once.
   */
  private spaceMac = -1;
  private space = 0;

  /** One finished frame of the current batch (a view valid only during the call). */
  private readonly takeFrame = (frame: Uint8Array): void => {
    const len = frame.length;
    this.c.tapInFrames++;
    this.c.tapInBytes += len;
    // Hold a frame only when the interface is full (back-pressure), not when no peer is up at all:
    // then the interface drops and counts it at once (ERR_EOP_NO_PEER).
    if (!this.hold.isPaused && len >= 14) {
      const dst = readMac(frame, 0);
      if (dst !== this.spaceMac) {
        this.spaceMac = dst;
        this.space = this.port.txSpace(dst);
      }
    }
    if (this.hold.isPaused || (len >= 14 && this.space <= 0 && this.port.anyPeerUp() && checkEdgeFrame(frame, this.port.mtu) === null)) {
      this.hold.hold(frame);
      return;
    }
    if (this.ingest(frame)) this.space--;
  };

  /**
   * Reads a frame the kernel already queued on the TAP (the namespace's answer to the frame just
   * written into it) and carries it into the fabric now, as a wake-up would a loop turn later.
   * Returns the frames read (0: none waiting, or the TAP cannot read now).
   */
  pickUp(): number {
    if (this.closed || this.failure !== null || this.hold.isPaused || !this.tap.readNow) return 0;
    // A TCP segment merged-and-held until the end of the batch has not reached the kernel yet.
    if (this.gro?.pending || this.uso?.pending) this.flushMerged();
    const n = this.tap.readNow(1);
    this.c.pickedUp += n;
    return n;
  }

  private readonly fromFabric = (frame: Uint8Array): void => {
    if (this.closed || this.failure !== null) {
      this.drops.add(BridgeDrop.TAP_GONE);
      return;
    }
    this.c.toTapFrames++;
    this.c.toTapBytes += frame.length;
    const d = this.opts.deliveries;
    if (d) {
      d.frames++;
      d.last = this;
    }
    if (this.gro) {
      // One frame pending at a time across both coalescers: what one holds is written before the
      // other writes, so frames reach the namespace in the order the fabric delivered them.
      if (this.uso !== null && isUdpFrame(frame)) {
        this.gro.flush();
        this.uso.push(frame);
      } else {
        this.uso?.flush();
        this.gro.push(frame);
      }
      if ((this.gro.pending || this.uso?.pending) && !this.flushQueued) {
        // The end of the current event batch: everything merged so far is due now.
        this.flushQueued = true;
        process.nextTick(this.flushMerged);
      }
      return;
    }
    if (!this.tap.write(frame)) this.drops.add(BridgeDrop.TAP_WRITE);
  };

  /**
   * The end of an event batch: what the coalescers merged goes into the TAP now. Queued on
   * nextTick by fromFabric; called directly where no tick comes between batches (warm-up.ts).
   */
  readonly flushMerged = (): void => {
    this.flushQueued = false;
    if (this.closed || this.failure !== null) return;
    this.gro?.flush();
    this.uso?.flush();
  };

  private readonly onTapError = (err: TapIoError): void => {
    if (!err.fatal || this.failure !== null) return;
    this.failure = `TAP ${err.iface} of host ${this.host} failed: ${err.message}`;
    this.hold.clear();
    try {
      this.tap.close();
    } catch {
      // already gone
    }
    this.opts.onFailure?.(this.failure, err);
  };

  /** Stops both directions and closes the TAP (idempotent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.hold.clear();
    this.port.setReceiver(() => {});
    this.tap.onError(null);
    this.tap.close();
  }
}
