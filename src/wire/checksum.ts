/**
 * RFC 1071 Internet checksum. Sums are kept as JS numbers (exact to 2^53), so the loop adds 16-bit
 * words without folding carries and folds once at the end: a 64 KiB datagram sums to under 2^32.
 */

/** Folded 16-bit ones-complement sum of the big-endian words in `buf[start, end)` plus `initial`;
 * an odd tail byte is padded with zero. */
export function onesSum(buf: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  let i = start;
  const even = start + ((end - start) & ~1);
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

function fold(sum: number): number {
  // `& 0xffff` is exact above 2^32 too (ToInt32 keeps the low bits); the high part needs division.
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}
