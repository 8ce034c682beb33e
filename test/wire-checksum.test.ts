/** The checksum fast path against a plain RFC 1071 reference, over random offsets and lengths. */
import { expect, it } from 'vitest';
import { onesSum } from '../src/wire/checksum.js';
function ref(buf: Uint8Array, s: number, e: number, init = 0): number {
  let sum = init;
  for (let i = s; i < e; i += 2) sum += (buf[i]! << 8) | (i + 1 < e ? buf[i + 1]! : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 65536);
  return sum;
}
it('bulk 32-bit summing matches a byte-by-byte reference for any offset, alignment and length', () => {
  const big = new Uint8Array(70000);
  let x = 12345;
  for (let i = 0; i < big.length; i++) { x = (x * 1103515245 + 12345) >>> 0; big[i] = x >>> 24; }
  for (let t = 0; t < 3000; t++) {
    x = (x * 1103515245 + 12345) >>> 0; const off = x % 9;
    x = (x * 1103515245 + 12345) >>> 0; const s = x % 300;
    x = (x * 1103515245 + 12345) >>> 0; const len = x % 66000;
    const b = big.subarray(off);
    const e = Math.min(b.length, s + len);
    expect(onesSum(b, s, e, t)).toBe(ref(b, s, e, t));
  }
  const ff = new Uint8Array(65536).fill(0xff);
  expect(onesSum(ff, 0, ff.length)).toBe(ref(ff, 0, ff.length));
});
