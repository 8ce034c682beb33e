/**
 * Sparse, byte-addressable host memory. An emulated host may have a 64 GiB address space; only the
 * pages that were written cost real memory. Untouched memory reads as zero.
 *
 * Rules:
 * - Addresses are plain numbers (< 2^53), checked against the size on every access: an access
 *   outside [0, size) throws `EopError(ADDR_OUT_OF_RANGE)`; callers at an edge catch and count it.
 * - An access that crosses a page boundary is split, never truncated.
 * - `view()` returns a zero-copy window only when the range lies inside one page; callers that
 *   need a view of a crossing range pass a scratch buffer to `read()` instead.
 */
import { EopError, ErrorCode } from '../errors.js';
import { readU32le, writeU32le } from '../wire/bytes.js';
import type { Bytes } from '../time/units.js';

/**
 * 4 KiB, the x86 base page: a ring, a buffer or a descriptor area costs memory only for the 4 KiB
 * pieces that were written, so a rack where every host talks to every other (hosts² receive rings,
 * each touched in its first few slots) stays small. The rack builder raises it to the EOP slot size
 * when that is larger, so a slot never straddles a page.
 */
export const DEFAULT_PAGE_BYTES: Bytes = 4 * 1024;

/**
 * Pages given back (a whole page zeroed by `fill`, a `clear`) wait here, zeroed, for the next page
 * any memory of the same page size makes: a rack that gives ring pages back per batch would
 * otherwise allocate (and collect) a buffer per batch. Shared by every memory in the process, and
 * bounded; nothing in a reused page is visible (it is zeroed before it goes in). 64 MiB rather than
 * less: a page dropped from the pool frees nothing while another page of its slab lives, so a small
 * pool only makes new slabs (the 64-host all-pairs rack: 8 MiB pool 255 MiB peak RSS, 64 MiB 228).
 */
const FREE_POOL_MAX_BYTES: Bytes = 64 * 1024 * 1024;
const freePages = new Map<Bytes, Uint8Array[]>();
let freePoolBytes: Bytes = 0;
/** Small pages are cut from slabs of this size: one buffer allocation per slab, not per page. */
const SLAB_BYTES: Bytes = 256 * 1024;
/** Entries of each memory's page cache (a power of two). */
const PAGE_CACHE_ENTRIES = 8;
const slabs = new Map<Bytes, { buf: ArrayBuffer; next: number }>();

function newPage(bytes: Bytes): Uint8Array {
  const free = freePages.get(bytes);
  if (free && free.length > 0) {
    freePoolBytes -= bytes;
    return free.pop()!;
  }
  if (bytes >= SLAB_BYTES) return new Uint8Array(bytes);
  let s = slabs.get(bytes);
  if (!s || s.next + bytes > SLAB_BYTES) {
    s = { buf: new ArrayBuffer(SLAB_BYTES), next: 0 };
    slabs.set(bytes, s);
  }
  const p = new Uint8Array(s.buf, s.next, bytes);
  s.next += bytes;
  return p;
}

function freePage(p: Uint8Array): void {
  if (freePoolBytes + p.byteLength > FREE_POOL_MAX_BYTES) return; // left to the garbage collector
  p.fill(0);
  let free = freePages.get(p.byteLength);
  if (!free) freePages.set(p.byteLength, (free = []));
  free.push(p);
  freePoolBytes += p.byteLength;
}

export class SparseMemory {
  private readonly pages = new Map<number, Uint8Array>();
  /**
   * Recently used pages, direct-mapped by the page number's low bits: one frame's path touches a
   * staging buffer, a ring slot and an index word of the same memory in turn, which a one-entry
   * cache kept evicting (the Map lookups were the top builtin of a live TCP profile).
   */
  private readonly cachedNo = new Float64Array(PAGE_CACHE_ENTRIES).fill(-1);
  private readonly cachedPage: (Uint8Array | null)[] = new Array<Uint8Array | null>(PAGE_CACHE_ENTRIES).fill(null);
  private readonly dvs = new Map<number, DataView>();
  private dvPageNo = -1;
  private dv: DataView | null = null;

  constructor(
    readonly sizeBytes: Bytes,
    readonly pageBytes: Bytes = DEFAULT_PAGE_BYTES,
  ) {
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0) throw new Error(`memory size must be a positive integer (got ${sizeBytes})`);
    if (pageBytes < 4096 || (pageBytes & (pageBytes - 1)) !== 0 || pageBytes > 1 << 30) {
      throw new Error(`page size must be a power of two between 4 KiB and 1 GiB (got ${pageBytes})`);
    }
  }

  /** Real bytes held (pages touched × page size). */
  get residentBytes(): Bytes {
    return this.pages.size * this.pageBytes;
  }

  get residentPages(): number {
    return this.pages.size;
  }

  /** Pages resident in [addr, addr+len) (diagnostics and tests: walks the range page by page). */
  residentPagesIn(addr: number, len: Bytes): number {
    let n = 0;
    for (let p = Math.floor(addr / this.pageBytes); p * this.pageBytes < addr + len; p++) if (this.pages.has(p)) n++;
    return n;
  }

  contains(addr: number, len: Bytes): boolean {
    return addr >= 0 && len >= 0 && addr + len <= this.sizeBytes;
  }

  private check(addr: number, len: Bytes): void {
    if (!(addr >= 0 && len >= 0 && addr + len <= this.sizeBytes)) {
      throw new EopError(
        ErrorCode.ADDR_OUT_OF_RANGE,
        `access [0x${addr.toString(16)}, +${len}) outside memory of ${this.sizeBytes} bytes`,
      );
    }
  }

  private page(pageNo: number): Uint8Array {
    const k = pageNo & (PAGE_CACHE_ENTRIES - 1);
    if (this.cachedNo[k] === pageNo) return this.cachedPage[k]!;
    let p = this.pages.get(pageNo);
    if (!p) {
      p = newPage(this.pageBytes);
      this.pages.set(pageNo, p);
    }
    this.cachedNo[k] = pageNo;
    this.cachedPage[k] = p;
    return p;
  }

  private pageIfPresent(pageNo: number): Uint8Array | undefined {
    const k = pageNo & (PAGE_CACHE_ENTRIES - 1);
    if (this.cachedNo[k] === pageNo) return this.cachedPage[k]!;
    const p = this.pages.get(pageNo);
    if (p) {
      this.cachedNo[k] = pageNo;
      this.cachedPage[k] = p;
    }
    return p;
  }

  /** Forget a cached page (it was given back). */
  private uncache(pageNo: number): void {
    const k = pageNo & (PAGE_CACHE_ENTRIES - 1);
    if (this.cachedNo[k] === pageNo) {
      this.cachedNo[k] = -1;
      this.cachedPage[k] = null;
    }
  }

  /** Copy `len` bytes of `src` starting at `srcOff` to `addr`. */
  write(addr: number, src: Uint8Array, srcOff = 0, len: Bytes = src.length - srcOff): void {
    this.check(addr, len);
    if (len <= 32) {
      // Headers, indices, interrupt words: a byte loop beats making a subarray to `set` from.
      const pageNo = Math.floor(addr / this.pageBytes);
      const off = addr - pageNo * this.pageBytes;
      if (off + len <= this.pageBytes) {
        const p = this.page(pageNo);
        for (let i = 0; i < len; i++) p[off + i] = src[srcOff + i]!;
        return;
      }
    }
    while (len > 0) {
      const pageNo = Math.floor(addr / this.pageBytes);
      const off = addr - pageNo * this.pageBytes;
      const n = Math.min(len, this.pageBytes - off);
      this.page(pageNo).set(n === src.length && srcOff === 0 ? src : src.subarray(srcOff, srcOff + n), off);
      addr += n;
      srcOff += n;
      len -= n;
    }
  }

  /** Copy `len` bytes at `addr` into `dst` at `dstOff`. Untouched pages read as zero. */
  read(addr: number, dst: Uint8Array, dstOff = 0, len: Bytes = dst.length - dstOff): void {
    this.check(addr, len);
    while (len > 0) {
      const pageNo = Math.floor(addr / this.pageBytes);
      const off = addr - pageNo * this.pageBytes;
      const n = Math.min(len, this.pageBytes - off);
      const p = this.pageIfPresent(pageNo);
      if (p) dst.set(p.subarray(off, off + n), dstOff);
      else dst.fill(0, dstOff, dstOff + n);
      addr += n;
      dstOff += n;
      len -= n;
    }
  }

  /** Zero-copy view of [addr, addr+len) if it lies inside one page, else null. */
  view(addr: number, len: Bytes): Uint8Array | null {
    this.check(addr, len);
    const pageNo = Math.floor(addr / this.pageBytes);
    const off = addr - pageNo * this.pageBytes;
    if (off + len > this.pageBytes) return null;
    return this.page(pageNo).subarray(off, off + len);
  }

  /**
   * DataView over the page holding `addr` (allocating it), for structured reads and writes of
   * records that never cross a page (descriptors, headers). Use with `pageOffset(addr)`.
   */
  pageDataView(addr: number): DataView {
    const pageNo = Math.floor(addr / this.pageBytes);
    if (pageNo === this.dvPageNo) return this.dv!;
    if (addr < 0 || addr >= this.sizeBytes) this.check(addr, 1);
    let dv = this.dvs.get(pageNo);
    if (!dv) {
      const p = this.page(pageNo);
      dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
      this.dvs.set(pageNo, dv);
    }
    this.dvPageNo = pageNo;
    this.dv = dv;
    return dv;
  }

  /** As `pageDataView`, but null (reads as zero) where no page was written: a peek that allocates nothing. */
  pageDataViewIfPresent(addr: number): DataView | null {
    const pageNo = Math.floor(addr / this.pageBytes);
    if (pageNo === this.dvPageNo) return this.dv!;
    if (addr < 0 || addr >= this.sizeBytes) this.check(addr, 1);
    return this.pageIfPresent(pageNo) ? this.pageDataView(addr) : null;
  }

  pageOffset(addr: number): number {
    return (addr >>> 0) & (this.pageBytes - 1); // power-of-two pages: the low bits suffice
  }

  /** Copy within this memory (a local DMA or CPU copy). Overlapping ranges copy as memmove. */
  copy(dstAddr: number, srcAddr: number, len: Bytes): void {
    this.check(srcAddr, len);
    this.check(dstAddr, len);
    this.copyTo(this, dstAddr, srcAddr, len);
  }

  /** Copy `len` bytes from this memory at `srcAddr` into `dst` at `dstAddr`, page piece by piece. */
  copyTo(dst: SparseMemory, dstAddr: number, srcAddr: number, len: Bytes): void {
    this.check(srcAddr, len);
    if (dst === this && dstAddr > srcAddr && dstAddr < srcAddr + len) {
      // Overlap with the destination ahead: go through a temporary copy.
      const tmp = new Uint8Array(len);
      this.read(srcAddr, tmp);
      dst.write(dstAddr, tmp);
      return;
    }
    while (len > 0) {
      const pageNo = Math.floor(srcAddr / this.pageBytes);
      const off = srcAddr - pageNo * this.pageBytes;
      const n = Math.min(len, this.pageBytes - off);
      const p = this.pageIfPresent(pageNo);
      if (p) dst.write(dstAddr, p, off, n);
      else dst.fill(dstAddr, n, 0);
      srcAddr += n;
      dstAddr += n;
      len -= n;
    }
  }

  fill(addr: number, len: Bytes, value: number): void {
    this.check(addr, len);
    while (len > 0) {
      const pageNo = Math.floor(addr / this.pageBytes);
      const off = addr - pageNo * this.pageBytes;
      const n = Math.min(len, this.pageBytes - off);
      if (value === 0 && off === 0 && n === this.pageBytes) {
        // Zeroing a whole page gives it back.
        const gone = this.pages.get(pageNo);
        if (gone) freePage(gone);
        this.pages.delete(pageNo);
        this.dvs.delete(pageNo);
        if (this.dvPageNo === pageNo) {
          this.dvPageNo = -1;
          this.dv = null;
        }
        this.uncache(pageNo);
      } else if (value !== 0 || this.pageIfPresent(pageNo)) {
        this.page(pageNo).fill(value, off, off + n);
      }
      addr += n;
      len -= n;
    }
  }

  readU32(addr: number): number {
    const pageNo = Math.floor(addr / this.pageBytes);
    const off = addr - pageNo * this.pageBytes;
    if (addr < 0 || addr + 4 > this.sizeBytes) this.check(addr, 4);
    if (off + 4 > this.pageBytes) {
      const b = new Uint8Array(4);
      this.read(addr, b);
      return readU32le(b, 0);
    }
    const p = this.pageIfPresent(pageNo);
    if (!p) return 0;
    return readU32le(p, off);
  }

  writeU32(addr: number, v: number): void {
    const pageNo = Math.floor(addr / this.pageBytes);
    const off = addr - pageNo * this.pageBytes;
    if (addr < 0 || addr + 4 > this.sizeBytes || off + 4 > this.pageBytes) {
      const b = new Uint8Array(4);
      writeU32le(b, 0, v);
      this.write(addr, b);
      return;
    }
    writeU32le(this.page(pageNo), off, v);
  }

  /** 64-bit little-endian value as a number; values above 2^53 are a caller bug. */
  readU64(addr: number): number {
    const lo = this.readU32(addr);
    const hi = this.readU32(addr + 4);
    return hi * 4294967296 + lo;
  }

  writeU64(addr: number, v: number): void {
    this.check(addr, 8); // all or nothing: never half a value
    this.writeU32(addr, v >>> 0);
    this.writeU32(addr + 4, Math.floor(v / 4294967296) >>> 0);
  }

  /** Forget every page (a host reboot). */
  clear(): void {
    for (const p of this.pages.values()) freePage(p);
    this.pages.clear();
    this.dvs.clear();
    this.dvPageNo = -1;
    this.dv = null;
    this.cachedNo.fill(-1);
    this.cachedPage.fill(null);
  }
}

