/**
 * The capture hot path writes pcapng EPB heads and tails with word stores (writeEpbHeaderLE32,
 * writeEpbTrailerLE32); they must produce exactly the bytes of the byte-by-byte encoders, for any
 * time (including carries into the high word of epoch ns), length, direction and offset.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { timeOriginFromNs } from '../src/capture/pcap-format.js';
import {
  EPB_FLAG_INBOUND,
  EPB_FLAG_OUTBOUND,
  HOST_IS_LE,
  epbBytes,
  writeEpbHeader,
  writeEpbHeaderLE32,
  writeEpbTrailer,
  writeEpbTrailerLE32,
} from '../src/capture/pcapng-format.js';

function byBytes(off: number, timeNs: number, capLen: number, origLen: number, flags: number, originNs: bigint): Uint8Array {
  const b = new Uint8Array(off + 4 + epbBytes(capLen, flags !== 0)).fill(0xee);
  const rec = epbBytes(capLen, flags !== 0);
  let o = writeEpbHeader(b, off, rec, 0, timeNs, capLen, origLen, timeOriginFromNs(originNs));
  b.fill(0x5a, o, o + capLen);
  o = writeEpbTrailer(b, o + capLen, capLen, flags, rec);
  expect(o - off).toBe(rec);
  return b;
}

function byWords(off: number, timeNs: number, capLen: number, origLen: number, flags: number, originNs: bigint): Uint8Array {
  const b = new Uint8Array(off + 4 + epbBytes(capLen, flags !== 0)).fill(0xee);
  const w = new Uint32Array(b.buffer, 0, b.length >>> 2);
  const rec = epbBytes(capLen, flags !== 0);
  let o = writeEpbHeaderLE32(w, off, rec, timeNs, capLen, origLen, timeOriginFromNs(originNs));
  b.fill(0x5a, o, o + capLen);
  o = writeEpbTrailerLE32(w, b, o + capLen, capLen, flags, rec);
  expect(o - off).toBe(rec);
  return b;
}

describe.runIf(HOST_IS_LE)('pcapng EPB word-store encoders', () => {
  it('write the same bytes as the byte encoders (fast-check, seed 7, 300 runs)', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 64 }).map((n) => n * 4),
        fc.oneof(fc.double({ min: -10, max: 1e13, noNaN: true }), fc.nat({ max: 2 ** 40 })),
        fc.integer({ min: 1, max: 1600 }),
        fc.constantFrom(0, EPB_FLAG_INBOUND, EPB_FLAG_OUTBOUND),
        fc.bigInt({ min: 0n, max: 1n << 62n }),
        (off, timeNs, capLen, flags, originNs) => {
          expect(byWords(off, timeNs, capLen, capLen + 3, flags, originNs)).toEqual(byBytes(off, timeNs, capLen, capLen + 3, flags, originNs));
        },
      ),
      { seed: 7, numRuns: 300 },
    );
  });

  it('carry from the low into the high timestamp word', () => {
    const origin = (1n << 32n) - 5n;
    expect(byWords(0, 10, 60, 60, EPB_FLAG_OUTBOUND, origin)).toEqual(byBytes(0, 10, 60, 60, EPB_FLAG_OUTBOUND, origin));
    const w = byWords(0, 10, 60, 60, 0, origin);
    const dv = new DataView(w.buffer);
    expect(dv.getUint32(12, true)).toBe(1); // high word
    expect(dv.getUint32(16, true)).toBe(5); // low word
  });
});
