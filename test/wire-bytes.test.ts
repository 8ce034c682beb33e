import { describe, expect, it } from 'vitest';
import { isMulticastMac, parseMac, readMac, readU16be, readU16le, readU32be, readU32le, writeU16be, writeU32be, writeU32le } from '../src/wire/index.js';

describe('network byte order (u16, u32) and little-endian u16', () => {
  it('packs and unpacks known bytes at an offset; the top bit stays unsigned; writes keep the low bits', () => {
    const b = new Uint8Array(7);
    writeU32be(b, 1, 0x8234_5678);
    writeU16be(b, 5, 0x1_abcd); // a 17-bit value: only its low 16 bits are written
    expect([...b]).toEqual([0, 0x82, 0x34, 0x56, 0x78, 0xab, 0xcd]);
    expect(readU32be(b, 1)).toBe(0x8234_5678);
    expect(readU16be(b, 5)).toBe(0xabcd);
    expect(readU16le(b, 5)).toBe(0xcdab);
  });
});

describe('little-endian u32', () => {
  it('packs and unpacks known bytes at an offset', () => {
    const b = new Uint8Array(6);
    writeU32le(b, 1, 0x12345678);
    expect([...b]).toEqual([0, 0x78, 0x56, 0x34, 0x12, 0]);
    expect(readU32le(b, 1)).toBe(0x12345678);
  });

  it('keeps the top bit unsigned, and a negative int32 packs as its two\'s complement', () => {
    const b = new Uint8Array(4);
    writeU32le(b, 0, 1 << 31);
    expect([...b]).toEqual([0, 0, 0, 0x80]);
    expect(readU32le(b, 0)).toBe(0x8000_0000);
    writeU32le(b, 0, 0xffff_ffff);
    expect(readU32le(b, 0)).toBe(0xffff_ffff);
  });
});

describe('isMulticastMac (the one test of the I/G bit)', () => {
  it('is true for broadcast and group addresses, false for unicast, whatever the other bits', () => {
    const group = ['ff:ff:ff:ff:ff:ff', '01:00:5e:00:00:01', '33:33:00:00:00:01', '03:00:00:00:00:00', 'ff:00:00:00:00:00'];
    const unicast = ['02:e0:00:00:00:01', '00:00:00:00:00:00', 'fe:ff:ff:ff:ff:ff', '02:00:00:00:00:00'];
    for (const m of group) expect(isMulticastMac(parseMac(m)!)).toBe(true);
    for (const m of unicast) expect(isMulticastMac(parseMac(m)!)).toBe(false);
  });

  it('agrees with the first octet\'s low bit for frame bytes read with readMac', () => {
    const b = new Uint8Array(6);
    for (let first = 0; first < 256; first++) {
      b[0] = first;
      b[5] = 0xff - first;
      expect(isMulticastMac(readMac(b, 0))).toBe((first & 1) === 1);
    }
  });
});
