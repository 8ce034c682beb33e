/**
 * Transmit staging buffers in the sender's memory: a frame handed to the interface is copied into
 * one (the emulated skb), and the buffer is shared, by reference count, by every queue pair that
 * sends it (a flood). It is free again when the last copy out of it (DMA or CPU) has landed.
 * Free buffers form a stack: any free one will do, so one slow peer cannot block the others.
 */
import type { Bytes } from '../time/units.js';

export class StagingPool {
  private readonly refs: Uint16Array;
  private readonly free: Int32Array;
  private freeCount = 0;

  constructor(
    /** Host-local address of buffer 0. */
    readonly base: number,
    readonly slotBytes: Bytes,
    readonly slots: number,
  ) {
    this.refs = new Uint16Array(slots);
    this.free = new Int32Array(slots);
    for (let i = slots - 1; i >= 0; i--) this.free[this.freeCount++] = i;
  }

  get available(): number {
    return this.freeCount;
  }

  addr(slot: number): number {
    return this.base + slot * this.slotBytes;
  }

  /** A free buffer, or -1 if all are in use. */
  alloc(): number {
    return this.freeCount > 0 ? this.free[--this.freeCount]! : -1;
  }

  /** One more sender of `slot`'s frame. */
  ref(slot: number): void {
    this.refs[slot]!++;
  }

  /** Give back a buffer that was allocated but taken by no queue pair. */
  unused(slot: number): void {
    if (this.refs[slot] === 0) this.free[this.freeCount++] = slot;
  }

  /** One sender is done with `slot`; the last one frees it. */
  release(slot: number): void {
    if (this.refs[slot]! > 0 && --this.refs[slot]! === 0) this.free[this.freeCount++] = slot;
  }
}
