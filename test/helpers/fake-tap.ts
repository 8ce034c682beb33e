/** An in-process stand-in for a TAP device (unit tests of the bridge only: no kernel involved). */
import { Buffer } from 'node:buffer';
import type { TapLike } from '../../bridge/tap-bridge.js';
import { FrameBatch, type TapIoError, type TapStats } from '../../bridge/tap-device.js';

export class FakeTap implements TapLike {
  readonly name = 'eoptest-f0';
  closed = false;
  failed = false;
  written: Uint8Array[] = [];
  framesCb: ((b: FrameBatch) => void) | null = null;
  errorCb: ((e: TapIoError) => void) | null = null;
  readonly stats = {} as TapStats;
  onFrames(cb: ((b: FrameBatch) => void) | null): void {
    this.framesCb = cb;
  }
  onError(cb: ((e: TapIoError) => void) | null): void {
    this.errorCb = cb;
  }
  paused = false;
  pause(): void {
    this.paused = true;
  }
  resume(): boolean {
    this.paused = false;
    return !this.closed;
  }
  write(frame: Uint8Array, head?: Uint8Array): boolean {
    const w = new Uint8Array((head?.length ?? 0) + frame.length);
    if (head) w.set(head);
    w.set(frame, head?.length ?? 0);
    this.written.push(w);
    return true;
  }
  close(): void {
    this.closed = true;
  }
  /** Delivers frames as one batch, as the addon does (views into one reused buffer). */
  feed(frames: Uint8Array[]): void {
    const buf = Buffer.alloc(frames.reduce((n, f) => n + f.length, 0) + 16);
    const lengths = new Uint32Array(frames.length);
    let off = 0;
    frames.forEach((f, i) => {
      buf.set(f, off);
      lengths[i] = f.length;
      off += f.length;
    });
    const b = new FrameBatch(buf, lengths);
    b.count = frames.length;
    b.bytes = off;
    if (!this.paused) this.framesCb?.(b);
    buf.fill(0xee); // the views are invalid after the callback
  }
}
