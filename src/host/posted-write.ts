/**
 * A posted write in flight: issued by a DMA engine or a CPU store, landing later. The issuer
 * reserves the path at issue time (fabric.reservePath) and hands the job to `fabric.land` at the
 * land time.
 * Writes issued back to back on one path land in order; several can share one land event when
 * they were issued together (a payload and its slot header), since nothing can observe the
 * difference of the few nanoseconds between them.
 */
import type { ErrorCode } from '../errors.js';
import type { Endpoint, PostedWrite, RouteKind } from '../pcie/fabric.js';
import type { Bytes } from '../time/units.js';
import { readU32le } from '../wire/bytes.js';

/** The little-endian word at `b[off..]`, of which only `left` bytes (1..) exist. */
function wordAt(b: Uint8Array, off: number, left: Bytes): number {
  if (left >= 4) return readU32le(b, off);
  let v = 0;
  for (let k = left - 1; k >= 0; k--) v = (v << 8) | b[off + k]!;
  return v >>> 0;
}

/** Largest immediate a job carries (slot headers, indices, interrupt words). */
export const MAX_IMM_BYTES: Bytes = 16;

/**
 * Finished jobs kept per issuer for reuse. Enough for the hot path (a few batches in flight) and
 * small enough that a burst of floods to hundreds of peers does not keep thousands of jobs per host
 * alive for good.
 */
export const JOB_POOL_MAX = 256;

export class WriteJob implements PostedWrite {
  /** Next write landing in the same event, in order. */
  next: WriteJob | null = null;
  constructor(
    public routeKind: RouteKind,
    public target: Endpoint,
    /** Target-local address, or register offset for REMOTE_REG. */
    public addr: number,
    public len: Bytes,
    /** MEMORY: read from the requester's memory at `srcAddr` at land time. */
    public srcAddr: number,
  ) {}
  /** IMMEDIATE: up to 16 bytes carried in the job itself, as four little-endian words (no buffer per job). */
  imm = false;
  imm0 = 0;
  imm1 = 0;
  imm2 = 0;
  imm3 = 0;
  /** Set when the write was refused before it was issued. */
  failed: ErrorCode | null = null;
  /** On the first job of a committed group: what to call when the group landed (cpu-copy.ts). */
  onLanded: ((code: ErrorCode | null, arg: never) => void) | null = null;
  landedArg: unknown = undefined;

  /** Make this an immediate write of `b[off..off+len)` (len ≤ 16; missing bytes read as zero). */
  setImm(b: Uint8Array, off: number, len: Bytes): void {
    this.imm = true;
    this.imm0 = len > 0 ? wordAt(b, off, len) : 0;
    this.imm1 = len > 4 ? wordAt(b, off + 4, len - 4) : 0;
    this.imm2 = len > 8 ? wordAt(b, off + 8, len - 8) : 0;
    this.imm3 = len > 12 ? wordAt(b, off + 12, len - 12) : 0;
  }

  /** Reuse this job for another write. */
  reset(kind: RouteKind, target: Endpoint, addr: number, len: Bytes, srcAddr: number): this {
    this.routeKind = kind;
    this.target = target;
    this.addr = addr;
    this.len = len;
    this.srcAddr = srcAddr;
    this.imm = false;
    this.next = null;
    this.failed = null;
    return this;
  }
}
