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
    /** IMMEDIATE: bytes carried in the job itself (`immBuf` when pooled). */
    public imm: Uint8Array | null,
  ) {}
  /** Room for an immediate (≤ 16 bytes), so a recycled job carries one without allocating. */
  readonly immBuf = new Uint8Array(16);
  /** Set when the write was refused before it was issued. */
  failed: ErrorCode | null = null;

  /** Reuse this job for another write. */
  reset(kind: RouteKind, target: Endpoint, addr: number, len: Bytes, srcAddr: number): this {
    this.routeKind = kind;
    this.target = target;
    this.addr = addr;
    this.len = len;
    this.srcAddr = srcAddr;
    this.imm = null;
    this.next = null;
    this.failed = null;
    return this;
  }
}
