/**
 * What the receive-side coalescers (tcp-coalesce.ts, udp-coalesce.ts) share: the buffer a merge is
 * built in (virtio_net_hdr first, then the pending frame), the TAP writes and their counting. A
 * subclass decides what may merge and finishes the headers of a merged frame.
 */

const ETH = 14;
/** Largest IP packet (IPv4 total length field; GRO's 64 KiB for IPv6 too). */
export const MAX_IP = 65535;

export class CoalesceCounters {
  /** Frames handed in. */
  frames = 0;
  /** Frames that went out merged into a super-frame. */
  mergedFrames = 0;
  /** Writes to the TAP (super-frames and single frames). */
  writes = 0;
  superFrames = 0;
  /** Frames that would have been merge candidates but whose IPv4 or L4 checksum is wrong. */
  badChecksum = 0;
}

export abstract class CoalesceWriter<C extends CoalesceCounters> {
  /** [0, hdr) virtio_net_hdr, then the pending frame. */
  protected readonly buf: Uint8Array;
  /** The zero virtio_net_hdr written in front of a frame that is not merged (flags 0, GSO_NONE). */
  private readonly zeroHead: Uint8Array;
  /** Bytes of the pending frame (Ethernet header included), 0 if none. */
  protected len = 0;
  /** Frames in the pending one. */
  protected segs = 0;
  protected merging = true;

  constructor(
    readonly c: C,
    /** virtio_net_hdr size of the TAP (10 or 12). */
    protected readonly hdr: number,
    /**
     * Writes one TAP frame (header included), or with `head` the header and then the frame as one
     * TAP frame (the TAP's writev: a frame that is not merged is never copied); false if dropped.
     */
    private readonly write: (frame: Uint8Array, head?: Uint8Array) => boolean,
    /** Counts a failed write of `frames` fabric frames (a super-frame carries several). */
    private readonly onDrop: (frames: number) => void,
  ) {
    this.buf = new Uint8Array(hdr + ETH + MAX_IP);
    this.zeroHead = new Uint8Array(hdr);
  }

  /** Write every frame on its own (with a zero header): for comparisons (`--no-gro`). */
  disableMerging(): void {
    this.merging = false;
  }

  /** True if a frame is waiting for `flush()`. */
  get pending(): boolean {
    return this.len > 0;
  }

  /** Writes the pending frame: alone behind a zero header, or (`merged`) behind the header built at buf[0]. */
  protected emitPending(merged: boolean): void {
    const frame = this.buf.subarray(0, this.hdr + this.len);
    if (merged) {
      this.c.superFrames++;
      this.c.mergedFrames += this.segs;
    } else frame.fill(0, 0, this.hdr);
    this.c.writes++;
    if (!this.write(frame)) this.onDrop(merged ? this.segs : 1);
    this.len = 0;
    this.segs = 0;
  }

  /** Writes f alone, unchanged, behind a zero header. */
  protected writeOne(f: Uint8Array): void {
    this.c.writes++;
    if (!this.write(f, this.zeroHead)) this.onDrop(1);
  }
}
