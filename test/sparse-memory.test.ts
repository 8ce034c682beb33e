import { describe, expect, it } from 'vitest';
import { EopError, ErrorCode } from '../src/errors.js';
import { SparseMemory, DEFAULT_PAGE_BYTES } from '../src/mem/sparse-memory.js';

const KiB = 1024;
const GiB = 1024 * 1024 * 1024;

function pattern(len: number, seed: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = (seed + i * 7) & 0xff;
  return b;
}

function catchErr(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('SparseMemory', () => {
  it('default page is 4 KiB', () => {
    expect(DEFAULT_PAGE_BYTES).toBe(4096);
    expect(new SparseMemory(1 << 20).pageBytes).toBe(4096);
  });

  it('a page given back by zeroing it whole costs nothing, and a reused page reads as zero', () => {
    const a = new SparseMemory(1 << 20);
    a.write(8192, new Uint8Array(4096).fill(0xab));
    expect(a.residentPages).toBe(1);
    a.fill(8192, 4096, 0);
    expect(a.residentPages).toBe(0);
    // The next pages made (here or in another memory) may be the one given back: still zero.
    const b = new SparseMemory(1 << 20);
    for (let p = 0; p < 4; p++) b.writeU32(p * 4096, 1);
    const got = new Uint8Array(4096);
    for (let p = 0; p < 4; p++) {
      b.read(p * 4096 + 4, got, 0, 4092);
      expect(got.subarray(0, 4092).every((x) => x === 0)).toBe(true);
    }
  });

  it('pageDataViewIfPresent peeks without making a page', () => {
    const m = new SparseMemory(1 << 20);
    expect(m.pageDataViewIfPresent(12345)).toBeNull();
    expect(m.residentPages).toBe(0);
    m.writeU32(12344, 7);
    const dv = m.pageDataViewIfPresent(12344)!;
    expect(dv.getUint32(m.pageOffset(12344), true)).toBe(7);
  });

  it('untouched memory reads zero and costs no pages', () => {
    const m = new SparseMemory(16 * 1024 * KiB, 4096);
    const dst = new Uint8Array(10_000).fill(0xaa);
    m.read(123_456, dst);
    expect(dst.every((b) => b === 0)).toBe(true);
    expect(m.readU32(8 * 1024 * KiB)).toBe(0);
    expect(m.readU64(8 * 1024 * KiB + 4092)).toBe(0); // across a page edge too
    expect(m.residentPages).toBe(0);
    expect(m.residentBytes).toBe(0);
  });

  it('a write crossing a page boundary is split and reads back exactly', () => {
    const m = new SparseMemory(1 << 20, 4096);
    const data = pattern(100, 3);
    const addr = 4096 - 37; // 37 bytes in page 0, 63 in page 1
    m.write(addr, data);
    expect(m.residentPages).toBe(2);
    const back = new Uint8Array(100);
    m.read(addr, back);
    expect(back).toEqual(data);
    // the split point: last byte of page 0 and first byte of page 1
    const edge = new Uint8Array(2);
    m.read(4095, edge);
    expect([...edge]).toEqual([data[36], data[37]]);
    // neighbours untouched
    const around = new Uint8Array(2);
    m.read(addr - 1, around, 0, 1);
    m.read(addr + 100, around, 1, 1);
    expect([...around]).toEqual([0, 0]);
  });

  it('a write spanning three pages uses srcOff/len correctly', () => {
    const m = new SparseMemory(1 << 20, 4096);
    const src = pattern(10_000, 11);
    // write bytes [500, 500+9000) of src at 4096-100: 100 B in page 0, 4096 in page 1, 4096 in page 2, 708 in page 3
    m.write(4096 - 100, src, 500, 9000);
    expect(m.residentPages).toBe(4);
    const back = new Uint8Array(9000);
    m.read(4096 - 100, back);
    expect(back).toEqual(src.subarray(500, 9500));
    expect(m.readU32(4096 - 104)).toBe(0);
    expect(m.readU32(4096 - 100 + 9000)).toBe(0);
  });

  it('out-of-range accesses throw EopError ERR_ADDR_OUT_OF_RANGE', () => {
    const m = new SparseMemory(8192, 4096);
    const cases: (() => unknown)[] = [
      () => m.write(8190, new Uint8Array(4)),
      () => m.write(-1, new Uint8Array(1)),
      () => m.read(8192, new Uint8Array(1)),
      () => m.readU32(8189),
      () => m.writeU32(8189, 1),
      () => m.readU64(8188),
      () => m.writeU64(8190, 1), // (8186 and 8188 would hit the partial-write bug below)
      () => m.view(8000, 193),
      () => m.fill(8191, 2, 0),
      () => m.copy(0, 8000, 200),
      () => m.copy(8000, 0, 200),
      () => m.readU32(-4),
    ];
    for (const fn of cases) {
      const e = catchErr(fn);
      expect(e).toBeInstanceOf(EopError);
      expect((e as EopError).code).toBe(ErrorCode.ADDR_OUT_OF_RANGE);
      expect((e as EopError).code).toBe('ERR_ADDR_OUT_OF_RANGE');
    }
    // Nothing partial was written by the refused writes.
    expect(m.residentPages).toBe(0);
    // the last valid bytes are fine
    m.write(8188, new Uint8Array([1, 2, 3, 4]));
    expect(m.readU32(8188)).toBe(0x04030201);
  });

  // Regression test for a bug found in review (src/mem/sparse-memory.ts, writeU64, ~line 239); see the git log.
  it('a refused writeU64 straddling the end of memory writes nothing', () => {
    const m = new SparseMemory(8192, 4096);
    const e = catchErr(() => m.writeU64(8186, 0x0102030405));
    expect((e as EopError).code).toBe(ErrorCode.ADDR_OUT_OF_RANGE);
    expect(m.readU32(8186)).toBe(0);
    expect(m.residentPages).toBe(0);
  });

  it('view returns null across a page boundary and a live view inside one', () => {
    const m = new SparseMemory(1 << 20, 4096);
    expect(m.view(4090, 7)).toBeNull(); // 4090..4096 crosses into page 1
    const v = m.view(4090, 6); // ends exactly at the page end
    expect(v).not.toBeNull();
    expect(v!.length).toBe(6);
    // live: writing through the view changes memory, writing memory changes the view
    v![0] = 0x5a;
    expect(m.readU32(4088)).toBe(0x5a << 16);
    m.write(4095, new Uint8Array([0x77]));
    expect(v![5]).toBe(0x77);
  });

  it('fill(0) of whole pages frees them; partial fill(0) does not allocate', () => {
    const m = new SparseMemory(1 << 20, 4096);
    m.fill(0, 3 * 4096, 0xee); // pages 0, 1, 2
    expect(m.residentPages).toBe(3);
    expect(m.readU32(2 * 4096 + 4092)).toBe(0xeeeeeeee);
    // zero [100, 2*4096+4096): page 0 partially (stays), pages 1 and 2 wholly (freed)
    m.fill(100, 3 * 4096 - 100, 0);
    expect(m.residentPages).toBe(1);
    expect(m.readU32(96)).toBe(0xeeeeeeee);
    expect(m.readU32(100)).toBe(0);
    expect(m.readU32(4096)).toBe(0);
    // a partial zero fill of an untouched page does not allocate it
    m.fill(5 * 4096 + 10, 20, 0);
    expect(m.residentPages).toBe(1);
    // a freed page reads zero and comes back on the next write
    m.writeU32(4096 + 8, 0x12345678);
    expect(m.residentPages).toBe(2);
    expect(m.readU32(4096 + 8)).toBe(0x12345678);
    expect(m.readU32(4096 + 4)).toBe(0);
  });

  it('fill(0) of a whole page invalidates the one-entry page cache', () => {
    const m = new SparseMemory(1 << 20, 4096);
    m.writeU32(8, 0xdeadbeef); // page 0 is now the cached page
    m.fill(0, 4096, 0);
    expect(m.residentPages).toBe(0);
    expect(m.readU32(8)).toBe(0);
    m.writeU32(12, 1);
    expect(m.readU32(8)).toBe(0);
    expect(m.residentPages).toBe(1);
  });

  it('readU32/writeU32 are little-endian, unsigned, and work across page edges', () => {
    const m = new SparseMemory(1 << 20, 4096);
    m.writeU32(16, 0xfedcba98);
    expect(m.readU32(16)).toBe(0xfedcba98); // > 2^31 stays positive
    const b = new Uint8Array(4);
    m.read(16, b);
    expect([...b]).toEqual([0x98, 0xba, 0xdc, 0xfe]);
    // across the edge of page 0 / page 1: 2 bytes each side
    m.writeU32(4094, 0x11223344);
    expect(m.readU32(4094)).toBe(0x11223344);
    const e = new Uint8Array(4);
    m.read(4094, e);
    expect([...e]).toEqual([0x44, 0x33, 0x22, 0x11]);
    // exactly at the last 4 bytes of a page (no split) and the first 4 of the next
    m.writeU32(8188, 0xa1b2c3d4);
    m.writeU32(8192, 0x01020304);
    expect(m.readU32(8188)).toBe(0xa1b2c3d4);
    expect(m.readU32(8192)).toBe(0x01020304);
    expect(m.readU32(8190)).toBe(0x0304a1b2);
  });

  it('readU64/writeU64 carry values above 2^32 exactly, also at page edges', () => {
    const m = new SparseMemory(1 << 20, 4096);
    // 0x0000_1234_5678_9abc = 0x1234 * 2^32 + 0x56789abc = 4660 * 4294967296 + 1450744508 = 20015998343868
    m.writeU64(64, 20015998343868);
    expect(m.readU64(64)).toBe(20015998343868);
    expect(m.readU32(64)).toBe(0x56789abc);
    expect(m.readU32(68)).toBe(0x1234);
    // a 48-bit bus address: 0x8000_0000_0000 + 64 GiB * 2 + 0x40 = 140737488355328 + 137438953472 + 64
    const addr48 = 140737488355328 + 137438953472 + 64;
    m.writeU64(4092, addr48); // low half in page 0, high half in page 1
    expect(m.readU64(4092)).toBe(addr48);
    expect(m.readU32(4092)).toBe(64); // low 32 bits: (2^47 + 2^37 + 64) mod 2^32 = 64
    expect(m.readU32(4096)).toBe(0x8020); // high: 2^15 + 2^5 = 32768 + 32 = 32800
    m.writeU64(8192 - 6, 2 ** 53 - 1); // split inside the low word
    expect(m.readU64(8192 - 6)).toBe(9007199254740991);
    m.writeU64(256, 0xffffffff);
    expect(m.readU64(256)).toBe(4294967295);
    expect(m.readU32(260)).toBe(0);
    m.writeU64(264, 4294967296);
    expect(m.readU32(264)).toBe(0);
    expect(m.readU32(268)).toBe(1);
  });

  it('a 64 GiB memory with a few writes at high addresses has only a few resident pages', () => {
    const m = new SparseMemory(64 * GiB, 65536);
    expect(m.sizeBytes).toBe(68719476736);
    const top = 64 * GiB;
    m.writeU64(top - 8, 123456789012345);
    m.write(40 * GiB + 65536 - 2, new Uint8Array([9, 8, 7, 6])); // crosses a page: 2 pages
    m.writeU32(17 * GiB, 0xcafef00d);
    expect(m.residentPages).toBe(4);
    expect(m.residentBytes).toBe(4 * 65536);
    expect(m.readU64(top - 8)).toBe(123456789012345);
    expect(m.readU32(40 * GiB + 65536 - 2)).toBe(0x06070809);
    expect(m.readU32(17 * GiB)).toBe(0xcafef00d);
    expect(m.readU32(33 * GiB)).toBe(0);
    const e = catchErr(() => m.writeU32(top - 2, 1));
    expect((e as EopError).code).toBe(ErrorCode.ADDR_OUT_OF_RANGE);
    expect(m.residentPages).toBe(4);
  });

  it('copy handles overlap as memmove in both directions, across pages', () => {
    const m = new SparseMemory(1 << 20, 4096);
    const data = pattern(6000, 1);
    m.write(1000, data);
    m.copy(1100, 1000, 6000); // forward overlap
    const back = new Uint8Array(6000);
    m.read(1100, back);
    expect(back).toEqual(data);
    m.copy(900, 1100, 6000); // backward overlap
    m.read(900, back);
    expect(back).toEqual(data);
  });

  it('copyTo another memory copies untouched source pages as zeros', () => {
    const a = new SparseMemory(1 << 20, 4096);
    const b = new SparseMemory(1 << 20, 4096);
    b.fill(0, 3 * 4096, 0xff);
    a.write(4096 + 4000, pattern(96, 5)); // only page 1 of the source exists
    a.copyTo(b, 10, 0, 3 * 4096 - 20);
    expect(b.readU32(10)).toBe(0); // from untouched source page 0
    const got = new Uint8Array(96);
    b.read(10 + 4096 + 4000, got);
    expect(got).toEqual(pattern(96, 5));
    expect(b.readU32(6)).toBe(0xffffffff); // before the destination range
    expect(b.readU32(3 * 4096 - 10)).toBe(0xffffffff); // after it
  });

  it('rejects invalid sizes and page sizes', () => {
    expect(() => new SparseMemory(0)).toThrow();
    expect(() => new SparseMemory(1.5)).toThrow();
    expect(() => new SparseMemory(1 << 20, 2048)).toThrow();
    expect(() => new SparseMemory(1 << 20, 6000)).toThrow();
  });
});
