/**
 * A Non-Transparent Bridge port: the only door between a compute host's PCIe domain and the
 * rack's global space.
 *
 * - Memory windows translate: a write at `localBase + off` (host side) leaves at `xlatBase + off`
 *   (global side), and the inbound window brings the host's aperture in the global space down to
 *   its local addresses. A write that does not lie wholly inside one window goes nowhere: the
 *   caller counts and logs it (ERR_NTB_OUT_OF_WINDOW).
 * - The requester-ID lookup table lists who may send through this port inbound.
 * - Scratchpads (32-bit, readable by both sides) keep their values when the peer goes down:
 *   whoever reuses them clears them first.
 * - Doorbell bits raise an interrupt on this port's host unless masked; masked bits stay pending
 *   and fire when unmasked, as on real NTB hardware.
 *
 * Register offsets follow no vendor exactly; they are ours, named and fixed (see NtbReg).
 */
import type { Bytes } from '../time/units.js';

export interface NtbWindow {
  /** Base on the side the write comes from. */
  localBase: number;
  sizeBytes: Bytes;
  /** Where `localBase` lands on the other side. */
  xlatBase: number;
}

export const NTB_SCRATCHPADS = 32;
export const NTB_DOORBELL_BITS = 32;

/** Register offsets inside a port's MMIO aperture (ntbRegsBase(host)). */
export const NtbReg = {
  /** Write 1s to set doorbell bits (what a peer writes). */
  DB_SET: 0x00,
  /** Write 1s to clear (local driver). */
  DB_CLEAR: 0x04,
  DB_MASK: 0x08,
  /** Scratchpad i at SPAD0 + 4i. */
  SPAD0: 0x100,
} as const;

export type DoorbellHandler = (pendingBits: number) => void;

export class Ntb {
  readonly outbound: NtbWindow[] = [];
  inbound: NtbWindow | null = null;
  /** Requester IDs allowed inbound. */
  readonly lut = new Set<number>();
  readonly scratchpads = new Uint32Array(NTB_SCRATCHPADS);
  doorbell = 0;
  doorbellMask = 0;
  linkUp = false;
  onDoorbell: DoorbellHandler | null = null;

  constructor(
    readonly name: string,
    /** The requester ID this port gives to transactions it forwards into the global space. */
    readonly rid: number,
  ) {}

  /** The outbound window holding [addr, addr+len) wholly, or null. */
  findOut(addr: number, len: Bytes): NtbWindow | null {
    const ws = this.outbound;
    for (let i = 0; i < ws.length; i++) {
      const w = ws[i]!;
      const off = addr - w.localBase;
      if (off >= 0 && off + len <= w.sizeBytes) return w;
    }
    return null;
  }

  /** Outbound translation; -1 if [addr, addr+len) is not wholly inside one window. */
  translateOut(addr: number, len: Bytes): number {
    const ws = this.outbound;
    for (let i = 0; i < ws.length; i++) {
      const w = ws[i]!;
      const off = addr - w.localBase;
      if (off >= 0 && off + len <= w.sizeBytes) return w.xlatBase + off;
    }
    return -1;
  }

  /** Inbound translation of a global address; -1 if outside the inbound window. */
  translateIn(globalAddr: number, len: Bytes): number {
    const w = this.inbound;
    if (!w) return -1;
    const off = globalAddr - w.localBase;
    return off >= 0 && off + len <= w.sizeBytes ? w.xlatBase + off : -1;
  }

  /** Set doorbell bits; raises the handler with the unmasked pending bits. */
  ringDoorbell(bits: number): void {
    this.doorbell = (this.doorbell | bits) >>> 0;
    const pending = (this.doorbell & ~this.doorbellMask) >>> 0;
    if (pending && this.onDoorbell) this.onDoorbell(pending);
  }

  clearDoorbell(bits: number): void {
    this.doorbell = (this.doorbell & ~bits) >>> 0;
  }

  setDoorbellMask(mask: number): void {
    this.doorbellMask = mask >>> 0;
    const pending = (this.doorbell & ~this.doorbellMask) >>> 0;
    if (pending && this.onDoorbell) this.onDoorbell(pending);
  }

  clearScratchpads(): void {
    this.scratchpads.fill(0);
  }

  setLink(up: boolean): void {
    if (this.linkUp === up) return;
    this.linkUp = up;
  }

  /** MMIO write into this port's register aperture. Returns false for an unknown register. */
  writeRegister(offset: number, value: number): boolean {
    if (offset === NtbReg.DB_SET) this.ringDoorbell(value);
    else if (offset === NtbReg.DB_CLEAR) this.clearDoorbell(value);
    else if (offset === NtbReg.DB_MASK) this.setDoorbellMask(value);
    else if (offset >= NtbReg.SPAD0 && offset < NtbReg.SPAD0 + 4 * NTB_SCRATCHPADS && offset % 4 === 0) {
      this.scratchpads[(offset - NtbReg.SPAD0) / 4] = value >>> 0;
    } else return false;
    return true;
  }

  /** MMIO read; -1 for an unknown register. */
  readRegister(offset: number): number {
    if (offset === NtbReg.DB_SET || offset === NtbReg.DB_CLEAR) return this.doorbell;
    if (offset === NtbReg.DB_MASK) return this.doorbellMask;
    if (offset >= NtbReg.SPAD0 && offset < NtbReg.SPAD0 + 4 * NTB_SCRATCHPADS && offset % 4 === 0) {
      return this.scratchpads[(offset - NtbReg.SPAD0) / 4]!;
    }
    return -1;
  }
}
