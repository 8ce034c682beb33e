/**
 * RFC 1071 Internet checksum. Sums are kept as JS numbers (exact to 2^53), so the loop adds 16-bit
 * words without folding carries and folds once at the end: a 64 KiB datagram sums to under 2^32.
 */

/** Folded 16-bit ones-complement sum of the big-endian words in `buf[start, end)` plus `initial`;
 * an odd tail byte is padded with zero. */
export function onesSum(buf: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  let i = start;
  if (LITTLE_ENDIAN && end - start >= 64 && ((buf.byteOffset + start) & 1) === 0) {
    // Bulk part as native 32-bit words: a ones-complement sum does not depend on byte order up to
    // one final byte swap (RFC 1071 §2(B)), and a 32-bit accumulation folds to the same 16 bits.
    if (((buf.byteOffset + i) & 3) !== 0) {
      sum += (buf[i]! << 8) | buf[i + 1]!;
      i += 2;
    }
    const words = (end - i) >>> 2;
    const u32 = new Uint32Array(buf.buffer, buf.byteOffset + i, words);
    let le = 0;
    for (let k = 0; k < words; k++) le += u32[k]!;
    le = fold(le);
    sum += ((le & 0xff) << 8) | (le >>> 8);
    i += words * 4;
  }
  const even = i + ((end - i) & ~1);
  // Two words per turn: halves the loop overhead on MTU-sized payloads.
  for (const stop = even - 2; i < stop; i += 4) {
    sum += ((buf[i] << 8) | buf[i + 1]) + ((buf[i + 2] << 8) | buf[i + 3]);
  }
  if (i < even) sum += (buf[i] << 8) | buf[i + 1];
  if (even < end) sum += buf[even] << 8;
  return fold(sum);
}

/** The value for a checksum field (complement of the sum); 0 over a region whose checksum is right. */
export function internetChecksum(buf: Uint8Array, start: number, end: number, initial = 0): number {
  return ~onesSum(buf, start, end, initial) & 0xffff;
}

/** RFC 768/793 IPv4 pseudo header (addresses as uint32); pass as `initial`. */
export function pseudoHeaderSum4(src: number, dst: number, protocol: number, len: number): number {
  return fold((src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + len);
}

/** RFC 8200 §8.1 IPv6 pseudo header (16-byte addresses, 32-bit length); pass as `initial`. */
export function pseudoHeaderSum6(src: Uint8Array, dst: Uint8Array, nextHeader: number, len: number): number {
  return onesSum(dst, 0, 16, onesSum(src, 0, 16, (len >>> 16) + (len & 0xffff) + nextHeader));
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function fold(sum: number): number {
  // `& 0xffff` is exact above 2^32 too (ToInt32 keeps the low bits); the high part needs division.
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}
