import { describe, expect, it } from 'vitest';
import { Rng } from '../src/time/rng.js';
import { internetChecksum, onesSum, pseudoHeaderSum4, pseudoHeaderSum6, parseIpv6 } from '../src/wire/index.js';

/**
 * Reference RFC 1071 checksum written the slow, obvious way (byte pairs, carry folded on every
 * add) so the fast loop is checked against something that shares no code with it.
 */
function refChecksum(bytes: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < bytes.length; i += 2) {
    s += bytes[i] * 256 + (i + 1 < bytes.length ? bytes[i + 1] : 0);
    s = (s % 65536) + Math.floor(s / 65536);
  }
  return 0xffff - s;
}

function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

describe('internetChecksum', () => {
  it('matches the RFC 1071 §3 worked example', () => {
    const b = hex('0001 f203 f4f5 f6f7');
    expect(onesSum(b, 0, b.length)).toBe(0xddf2);
    expect(internetChecksum(b, 0, b.length)).toBe(0x220d);
  });

  it('matches the classic IPv4 header example (checksum b861)', () => {
    const h = hex('4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7');
    expect(internetChecksum(h, 0, h.length)).toBe(0xb861);
    h[10] = 0xb8;
    h[11] = 0x61;
    expect(internetChecksum(h, 0, h.length)).toBe(0);
  });

  it('pads an odd tail with a zero byte', () => {
    const b = hex('0001 f203 f4f5 f6f7 01');
    expect(internetChecksum(b, 0, b.length)).toBe(refChecksum(b));
    expect(internetChecksum(b, 0, b.length)).toBe(internetChecksum(hex('0001 f203 f4f5 f6f7 0100'), 0, 10));
  });

  it('agrees with the reference on random buffers, lengths and offsets', () => {
    const rng = new Rng(7);
    for (let n = 0; n < 500; n++) {
      const len = rng.int(n < 400 ? 80 : 9000);
      const start = rng.int(4);
      const buf = new Uint8Array(start + len + 3);
      for (let i = 0; i < buf.length; i++) buf[i] = rng.int(256);
      expect(internetChecksum(buf, start, start + len)).toBe(refChecksum(buf.subarray(start, start + len)));
    }
  });

  it('verifies to 0 once its own checksum is inserted (any content)', () => {
    const rng = new Rng(99);
    for (let n = 0; n < 300; n++) {
      const len = 4 + 2 * rng.int(800);
      const buf = new Uint8Array(len);
      for (let i = 0; i < len; i++) buf[i] = n % 3 === 0 ? 0xff : rng.int(256);
      const at = 2 * rng.int(len / 2);
      buf[at] = 0;
      buf[at + 1] = 0;
      const c = internetChecksum(buf, 0, len);
      buf[at] = c >>> 8;
      buf[at + 1] = c;
      expect(internetChecksum(buf, 0, len)).toBe(0);
    }
  });

  it('carries an initial sum the same as prepending its bytes', () => {
    const rng = new Rng(3);
    for (let n = 0; n < 100; n++) {
      const a = Uint8Array.from({ length: 12 }, () => rng.int(256));
      const b = Uint8Array.from({ length: 1 + rng.int(200) }, () => rng.int(256));
      const joined = new Uint8Array(a.length + b.length);
      joined.set(a);
      joined.set(b, a.length);
      expect(internetChecksum(b, 0, b.length, onesSum(a, 0, a.length))).toBe(refChecksum(joined));
    }
  });
});

describe('pseudo headers', () => {
  it('IPv4: src, dst, zero, protocol, length', () => {
    const ph = hex('0a00 0001 0a00 0002 0011 0025');
    expect(pseudoHeaderSum4(0x0a000001, 0x0a000002, 17, 0x25)).toBe(onesSum(ph, 0, ph.length));
    const max = hex('ffff ffff ffff ffff 00ff ffff');
    expect(pseudoHeaderSum4(0xffffffff, 0xffffffff, 255, 0xffff)).toBe(onesSum(max, 0, 12));
  });

  it('IPv6: src, dst, 32-bit length, zero, next header', () => {
    const src = parseIpv6('fe80::ff:fe00:1')!;
    const dst = parseIpv6('ff02::1:ff00:2')!;
    const ph = new Uint8Array(40);
    ph.set(src, 0);
    ph.set(dst, 16);
    ph.set([0, 0, 0, 32, 0, 0, 0, 58], 32);
    expect(pseudoHeaderSum6(src, dst, 58, 32)).toBe(onesSum(ph, 0, 40));
    ph.set([0, 1, 0, 4], 32);
    expect(pseudoHeaderSum6(src, dst, 58, 0x10004)).toBe(onesSum(ph, 0, 40));
  });
});
