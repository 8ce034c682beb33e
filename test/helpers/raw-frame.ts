/** Test frames: raw Ethernet, ethertype 0x88b5 (IEEE local experimental), payload tagged. */
export const BCAST = 0xffffffffffff;
/** MAC of host hN as the tests name them (index 0 unused: the management host). */
export const MAC = [0, 0x02e000000001, 0x02e000000002, 0x02e000000003, 0x02e000000004];

/** A `len`-byte frame from `src` to `dst`; the payload derives from `tag`, which also opens it (LE u16). */
export function rawFrame(dst: number, src: number, len: number, tag = 0): Uint8Array {
  const f = new Uint8Array(len);
  for (let i = 0; i < 6; i++) {
    f[i] = Math.floor(dst / 2 ** (8 * (5 - i))) & 0xff;
    f[6 + i] = Math.floor(src / 2 ** (8 * (5 - i))) & 0xff;
  }
  f[12] = 0x88;
  f[13] = 0xb5;
  for (let i = 14; i < len; i++) f[i] = (tag * 7 + i) & 0xff;
  if (len >= 16) {
    f[14] = tag & 0xff;
    f[15] = (tag >> 8) & 0xff;
  }
  return f;
}

/** Bytes written as hex with free whitespace, as copied from a capture. */
export function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}
