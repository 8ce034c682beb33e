/**
 * Back-pressure from an EOP interface to the source that feeds it (a TAP: tap-bridge.ts; a
 * WebSocket client or uplink: ws-port.ts), one piece of code for both:
 *
 * - a frame for which the interface has no room (its queue pair to that peer is full, while some
 *   peer link is up) is copied into a small holding queue and the source is paused (it stops being
 *   read, so the kernel's queue or TCP pushes back further up);
 * - `onTxDrained` sends the held frames in order, as long as there is room, then resumes the source;
 * - a watchdog ends a pause after `stallMs` (200 ms) even if the interface never drains (a peer
 *   link went down meanwhile): the held frames are offered anyway (the interface drops and counts
 *   what it cannot take) and the source resumes, so a source is never stopped for good;
 * - a frame arriving while the holding queue is full is dropped and counted by the caller.
 *
 * With no peer link up at all, frames are not held: the interface drops them at once and counts
 * them (ERR_EOP_NO_PEER), which says more than a pause would.
 */
import type { FramePort } from '../src/eop/frame-port.js';
import { readMac } from '../src/wire/mac.js';

/** What is paused while frames wait. */
export interface HoldSource {
  pause(): void;
  resume(): void;
}

export interface TxHoldOptions {
  /** Where to count (default: counters of its own). */
  counters?: TxHoldCounters;
  /** Frames the holding queue keeps (default 256). */
  holdFrames?: number;
  /** A pause longer than this ends anyway (default 200 ms). */
  stallMs?: number;
  /** Hands one frame to the interface (with whatever counting the caller does). */
  ingest: (frame: Uint8Array) => void;
  /** A frame did not fit in the holding queue. */
  onDrop: () => void;
  /** Brings the model to the current live time (before the watchdog offers frames). */
  sync?: () => void;
  /** Asks the live runner to run promptly. */
  poke?: (frames: number) => void;
}

export class TxHoldCounters {
  /** Times the source was paused. */
  pauses = 0;
  /** Frames that waited in the holding queue. */
  held = 0;
  /** Pauses ended by the watchdog because the interface did not drain in time. */
  stalls = 0;
}

export const DEFAULT_STALL_MS = 200;
export const DEFAULT_HOLD_FRAMES = 256;

export class TxHold {
  readonly c: TxHoldCounters;
  private readonly queue: Uint8Array[] = [];
  private paused = false;
  private drainArmed = false;
  private stallTimer: NodeJS.Timeout | undefined;
  private readonly holdMax: number;
  private readonly stallMs: number;

  constructor(
    private readonly port: FramePort,
    private readonly source: HoldSource,
    private readonly o: TxHoldOptions,
  ) {
    this.c = o.counters ?? new TxHoldCounters();
    this.holdMax = o.holdFrames ?? DEFAULT_HOLD_FRAMES;
    this.stallMs = o.stallMs ?? DEFAULT_STALL_MS;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  get size(): number {
    return this.queue.length;
  }

  /** True if a frame for `dstMac` must wait: already paused, or no room while some peer is up. */
  mustWait(dstMac: number): boolean {
    return this.paused || (this.port.txSpace(dstMac) <= 0 && this.port.anyPeerUp());
  }

  /** Keeps a copy of `frame` (it may be a view the source reuses) and pauses the source. */
  hold(frame: Uint8Array): void {
    if (!this.paused) this.pause();
    if (this.queue.length >= this.holdMax) {
      this.o.onDrop();
      return;
    }
    this.queue.push(new Uint8Array(frame));
    this.c.held++;
  }

  /** Forgets held frames and any pause, without resuming the source (it is going away). */
  clear(): void {
    this.queue.length = 0;
    this.paused = false;
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
  }

  private pause(): void {
    this.paused = true;
    this.c.pauses++;
    this.source.pause();
    this.armDrain();
    this.stallTimer = setTimeout(this.onStall, this.stallMs);
    this.stallTimer.unref?.();
  }

  /** One drain callback at a time: each stall cycle must not add another waiter. */
  private armDrain(): void {
    if (this.drainArmed) return;
    this.drainArmed = true;
    this.port.onTxDrained(this.onDrained);
  }

  private readonly onDrained = (): void => {
    this.drainArmed = false;
    if (!this.paused) return;
    // Runs inside a scheduler event: the model's time is the current live time.
    while (this.queue.length > 0) {
      const f = this.queue[0]!;
      if (this.port.txSpace(readMac(f, 0)) <= 0) {
        this.armDrain();
        return;
      }
      this.queue.shift();
      this.o.ingest(f);
    }
    this.resume();
  };

  private readonly onStall = (): void => {
    this.stallTimer = undefined;
    if (!this.paused) return;
    this.c.stalls++;
    this.o.sync?.();
    for (const f of this.queue.splice(0)) this.o.ingest(f);
    this.resume();
    this.o.poke?.(0);
  };

  private resume(): void {
    this.paused = false;
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    this.source.resume();
  }
}
