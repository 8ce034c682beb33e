/**
 * MAC addresses as 48-bit integers. A `number` holds 48 bits exactly, compares with `===` and keys a
 * `Map` without allocating, which is what the per-frame path needs; strings exist only at the edges.
 */

/** 2^32 and 2^40: the high 16 bits do not fit JS bitwise operators, so they are split off by division. */
const TWO32 = 0x1_0000_0000;
const TWO40 = 0x100_0000_0000;

export const BROADCAST_MAC = 0xffff_ffff_ffff;

export function readMac(buf: Uint8Array, off: number): number {
  const hi = (buf[off] << 8) | buf[off + 1];
  const lo = ((buf[off + 2] << 24) | (buf[off + 3] << 16) | (buf[off + 4] << 8) | buf[off + 5]) >>> 0;
  return hi * TWO32 + lo;
}

export function writeMac(buf: Uint8Array, off: number, mac: number): void {
  const hi = Math.floor(mac / TWO32);
  const lo = mac >>> 0;
  buf[off] = hi >>> 8;
  buf[off + 1] = hi;
  buf[off + 2] = lo >>> 24;
  buf[off + 3] = lo >>> 16;
  buf[off + 4] = lo >>> 8;
  buf[off + 5] = lo;
}

/** `02:00:00:00:00:01`, lower case. */
export function formatMac(mac: number): string {
  return mac.toString(16).padStart(12, '0').replace(/..(?!$)/g, '$&:');
}

const MAC_RE = /^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i;

/** Six two-digit hex octets separated by `:` or `-` (not mixed); null if anything else. */
export function parseMac(str: string): number | null {
  const s = str.trim();
  return MAC_RE.test(s) ? parseInt(s.replace(/[:-]/g, ''), 16) : null;
}

/**
 * I/G bit of the first octet (group address); broadcast counts as multicast. The one test of it:
 * frame bytes go through `readMac` first. `& 1` truncates the quotient, which is below 256.
 */
export function isMulticastMac(mac: number): boolean {
  return ((mac / TWO40) & 1) === 1;
}

/** RFC 2464 §7: 33:33 followed by the last four octets of the IPv6 destination at `addr[off..]`. */
export function ipv6MulticastMac(addr: Uint8Array, off = 0): number {
  const lo = ((addr[off + 12] << 24) | (addr[off + 13] << 16) | (addr[off + 14] << 8) | addr[off + 15]) >>> 0;
  return 0x3333 * TWO32 + lo;
}
