/**
 * The bench's frame format: real Ethernet frames with a small bench header right after the
 * Ethernet header (inside the 20/28/40 bytes of IP + L4 header it stands for). The rest of a frame
 * is padding of the right length; no IP or checksum is computed (the host stack in src/stack does
 * that; here only timing matters).
 */

/** Ethertype of bench frames (IEEE 802 local experimental). */
export const BENCH_ETHERTYPE = 0x88b5;
/** Frame kinds, at byte 14. */
export const Kind = { HELLO: 0, DATA: 1, ACK: 2, REQUEST: 3, RESPONSE: 4 } as const;
/** Bench header offsets, right after the Ethernet header. */
export const Hdr = { KIND: 14, FLOW: 15, FLAGS: 16, SEQ: 20, MSG: 24 } as const;
export const Flag = { PSH: 1, LAST: 2 } as const;
/** Shortest frame the receive dispatcher looks into (Ethernet header + bench header). */
export const BENCH_MIN_FRAME_BYTES = 28;

/** Writes the Ethernet header and the bench kind and flow. */
export function header(f: Uint8Array, dst: number, src: number, kind: number, flow: number): void {
  writeMac(f, 0, dst);
  writeMac(f, 6, src);
  f[12] = BENCH_ETHERTYPE >> 8;
  f[13] = BENCH_ETHERTYPE & 0xff;
  f[Hdr.KIND] = kind;
  f[Hdr.FLOW] = flow;
}

/** True for a bench frame that carries traffic (not a hello). */
export function isBenchTraffic(f: Uint8Array): boolean {
  return f.length >= BENCH_MIN_FRAME_BYTES && f[12] === BENCH_ETHERTYPE >> 8 && f[13] === (BENCH_ETHERTYPE & 0xff) && f[Hdr.KIND] !== Kind.HELLO;
}

function writeMac(f: Uint8Array, off: number, mac: number): void {
  const hi = Math.floor(mac / 2 ** 32);
  const lo = mac >>> 0;
  f[off] = (hi >>> 8) & 0xff;
  f[off + 1] = hi & 0xff;
  f[off + 2] = lo >>> 24;
  f[off + 3] = (lo >>> 16) & 0xff;
  f[off + 4] = (lo >>> 8) & 0xff;
  f[off + 5] = lo & 0xff;
}

/** Big-endian, as the fields of the IP headers these bytes stand in for. */
export function writeU32(f: Uint8Array, off: number, v: number): void {
  f[off] = v >>> 24;
  f[off + 1] = (v >>> 16) & 0xff;
  f[off + 2] = (v >>> 8) & 0xff;
  f[off + 3] = v & 0xff;
}

export function readU32(f: Uint8Array, off: number): number {
  return ((f[off]! << 24) | (f[off + 1]! << 16) | (f[off + 2]! << 8) | f[off + 3]!) >>> 0;
}
