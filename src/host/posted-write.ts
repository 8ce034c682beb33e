/**
 * A posted write in flight: issued by a DMA engine or a CPU store, landing later. The issuer
 * reserves the path at issue time (fabric.reservePath) and schedules `land` at the land time.
 * Writes issued back to back on one path land in order; several can share one land event when
 * they were issued together (a payload and its slot header), since nothing can observe the
 * difference of the few nanoseconds between them.
 */
import type { ErrorCode } from '../errors.js';
import { RouteKind, type Endpoint, type Fabric } from '../pcie/fabric.js';
import type { Bytes } from '../time/units.js';

export class WriteJob {
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

/** Land one write; returns null or the refusal code (already counted by the fabric). */
export function landWrite(fabric: Fabric, req: Endpoint, j: WriteJob): ErrorCode | null {
  switch (j.routeKind) {
    case RouteKind.REMOTE_REG: {
      const b = j.imm!;
      return fabric.landRegister(req, j.target, j.addr, (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0);
    }
    case RouteKind.LOCAL_MSI: {
      const v = j.imm ? (j.imm[0]! | (j.imm[1]! << 8) | (j.imm[2]! << 16) | (j.imm[3]! << 24)) >>> 0 : req.memory.readU32(j.srcAddr);
      req.deliverMsi(v);
      return null;
    }
    default:
      return j.imm
        ? fabric.landBytes(req, j.target, j.addr, j.imm, 0, j.len)
        : fabric.landFromMemory(req, j.target, j.addr, req.memory, j.srcAddr, j.len);
  }
}
