import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../src/errors.js';
import {
  BROADCAST_MAC,
  checkEdgeFrame,
  describeFrame,
  EthernetRepr,
  EthernetView,
  EtherType,
  formatMac,
  ipv6MulticastMac,
  Ipv4View,
  isMulticastMac,
  parseIpv6,
  parseMac,
  readMac,
  writeMac,
} from '../src/wire/index.js';
import { codeOf } from './helpers/eop-error.js';
import { hex } from './helpers/raw-frame.js';

// ARP who-has 10.0.2.2 tell 10.0.2.15 (QEMU user networking), padded to 60 bytes as on a wire.
const ARP_REQUEST = hex(`
  ffff ffff ffff 5254 0012 3456 0806 0001 0800 0604 0001 5254 0012 3456 0a00 020f
  0000 0000 0000 0a00 0202 0000 0000 0000 0000 0000 0000 0000 0000 0000
`);

// IPv4 10.0.0.1 > 10.0.0.2 ICMP echo request id=0x1c2b seq=3 (Linux ping layout).
const ICMP_ECHO = hex(`
  0200 0000 0002 0200 0000 0001 0800 4500 004c 8c1e 4000 4001 9a90 0a00 0001 0a00
  0002 0800 a119 1c2b 0003 5c7e 1f67 0000 0000 1011 1213 1415 1617 1819 1a1b 1c1d
  1e1f 2021 2223 2425 2627 2829 2a2b 2c2d 2e2f 3031 3233 3435 3637
`);

/** ICMP_ECHO with an 802.1Q tag (PCP 3, VID 100) after the source MAC. */
function tagged(): Uint8Array {
  const f = new Uint8Array(ICMP_ECHO.length + 4);
  f.set(ICMP_ECHO.subarray(0, 12), 0);
  f.set([0x81, 0x00, 0x60, 0x64], 12);
  f.set(ICMP_ECHO.subarray(12), 16);
  return f;
}

describe('MAC addresses', () => {
  it('reads and writes 48-bit integers, including the top bit', () => {
    const buf = new Uint8Array(8);
    for (const mac of [0, 1, 0x0200_0000_0001, 0x8000_0000_0000, 0xfedc_ba98_7654, BROADCAST_MAC]) {
      writeMac(buf, 1, mac);
      expect(readMac(buf, 1)).toBe(mac);
    }
    writeMac(buf, 2, 0x5254_0012_3456);
    expect(Array.from(buf.subarray(2, 8))).toEqual([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
  });

  it('formats and parses text', () => {
    expect(formatMac(0x0200_0000_0001)).toBe('02:00:00:00:00:01');
    expect(formatMac(BROADCAST_MAC)).toBe('ff:ff:ff:ff:ff:ff');
    expect(parseMac('52:54:00:12:34:56')).toBe(0x5254_0012_3456);
    expect(parseMac('52-54-00-AB-cd-EF')).toBe(0x5254_00ab_cdef);
    expect(parseMac(formatMac(0xfedc_ba98_7654))).toBe(0xfedc_ba98_7654);
    const bad = ['', '52:54:00:12:34', '52:54:00:12:34:56:78', '52:54-00:12:34:56', '5254.0012.3456'];
    bad.push('g2:54:00:12:34:56', '2:54:00:12:34:56', '52:54:00:12:34:56:');
    for (const s of bad) expect(parseMac(s)).toBeNull();
  });

  it('classifies multicast by the I/G bit; broadcast is multicast', () => {
    expect(isMulticastMac(BROADCAST_MAC)).toBe(true);
    expect(isMulticastMac(parseMac('01:00:5e:00:00:01')!)).toBe(true);
    expect(isMulticastMac(parseMac('33:33:00:00:00:01')!)).toBe(true);
    expect(isMulticastMac(parseMac('02:00:00:00:00:01')!)).toBe(false);
    expect(isMulticastMac(parseMac('fe:ff:ff:ff:ff:ff')!)).toBe(false);
  });

  it('maps IPv6 multicast groups to 33:33:xx:xx:xx:xx (RFC 2464)', () => {
    expect(formatMac(ipv6MulticastMac(parseIpv6('ff02::1:ff00:2')!))).toBe('33:33:ff:00:00:02');
    expect(formatMac(ipv6MulticastMac(parseIpv6('ff02::1')!))).toBe('33:33:00:00:00:01');
  });
});

describe('EthernetView', () => {
  it('reads a captured ARP request', () => {
    const eth = EthernetView.checked(ARP_REQUEST);
    expect(eth.dst()).toBe(BROADCAST_MAC);
    expect(formatMac(eth.src())).toBe('52:54:00:12:34:56');
    expect(eth.etherType()).toBe(EtherType.ARP);
    expect(eth.vlanTag()).toBeNull();
    expect(eth.vlanId()).toBeNull();
    expect(eth.payloadOffset()).toBe(14);
    const p = eth.payload();
    expect(p.buffer).toBe(ARP_REQUEST.buffer);
    expect(p.byteOffset).toBe(ARP_REQUEST.byteOffset + 14);
    expect(p.length).toBe(46);
  });

  it('reads through a subarray of a larger buffer', () => {
    const big = new Uint8Array(7 + ICMP_ECHO.length + 5).fill(0xee);
    big.set(ICMP_ECHO, 7);
    const eth = EthernetView.checked(big.subarray(7, 7 + ICMP_ECHO.length));
    expect(formatMac(eth.dst())).toBe('02:00:00:00:00:02');
    expect(formatMac(eth.src())).toBe('02:00:00:00:00:01');
    expect(eth.etherType()).toBe(EtherType.IPv4);
    expect(Ipv4View.checked(eth.payload()).totalLen()).toBe(0x4c);
  });

  it('exposes the inner type and VLAN id of an 802.1Q frame', () => {
    const f = tagged();
    const eth = EthernetView.checked(f);
    expect(eth.isTagged()).toBe(true);
    expect(eth.outerType()).toBe(EtherType.VLAN);
    expect(eth.etherType()).toBe(EtherType.IPv4);
    expect(eth.vlanTag()).toBe(0x6064);
    expect(eth.vlanId()).toBe(100);
    expect(eth.payloadOffset()).toBe(18);
    const ip = Ipv4View.checked(eth.payload());
    expect(ip.verifyChecksum()).toBe(true);
    eth.setEtherType(0x88b5);
    expect(eth.outerType()).toBe(EtherType.VLAN);
    expect(eth.etherType()).toBe(0x88b5);
  });

  it('keeps unknown EtherTypes as numbers', () => {
    const f = ARP_REQUEST.slice();
    f[12] = 0x88;
    f[13] = 0xb5;
    const eth = EthernetView.checked(f);
    expect(eth.etherType()).toBe(0x88b5);
    expect(EthernetRepr.parse(eth).etherType).toBe(0x88b5);
  });

  it('rejects truncated headers with FRAME_TOO_SHORT', () => {
    expect(codeOf(() => EthernetView.checked(ARP_REQUEST.subarray(0, 13)))).toBe(ErrorCode.FRAME_TOO_SHORT);
    expect(codeOf(() => EthernetView.checked(new Uint8Array(0)))).toBe(ErrorCode.FRAME_TOO_SHORT);
    expect(codeOf(() => EthernetView.checked(ARP_REQUEST.subarray(0, 14)))).toBeUndefined();
    // a tag promises 4 more bytes
    expect(codeOf(() => EthernetView.checked(tagged().subarray(0, 17)))).toBe(ErrorCode.FRAME_TOO_SHORT);
    expect(codeOf(() => EthernetView.checked(tagged().subarray(0, 18)))).toBeUndefined();
  });

  it('setters write the bytes', () => {
    const f = new Uint8Array(14);
    const eth = new EthernetView(f);
    eth.setDst(BROADCAST_MAC);
    eth.setSrc(0x5254_0012_3456);
    eth.setEtherType(EtherType.ARP);
    expect(f).toEqual(ARP_REQUEST.subarray(0, 14));
  });
});

describe('EthernetRepr', () => {
  it('parse then emit gives the same header bytes, untagged and tagged', () => {
    for (const f of [ARP_REQUEST, ICMP_ECHO, tagged()]) {
      const repr = EthernetRepr.parse(EthernetView.checked(f));
      const out = new Uint8Array(EthernetRepr.bufferLen(repr));
      expect(EthernetRepr.emit(repr, out, 0)).toBe(out.length);
      expect(out).toEqual(f.subarray(0, out.length));
    }
    expect(EthernetRepr.parse(EthernetView.checked(tagged()))).toEqual({
      dst: 0x0200_0000_0002,
      src: 0x0200_0000_0001,
      etherType: EtherType.IPv4,
      vlanTag: 0x6064,
    });
  });
});

describe('checkEdgeFrame', () => {
  const mtu = 1500;
  it('accepts 14 bytes up to mtu + 14 + 4 (VLAN allowance)', () => {
    expect(checkEdgeFrame(new Uint8Array(14), mtu)).toBeNull();
    expect(checkEdgeFrame(new Uint8Array(mtu + 14), mtu)).toBeNull();
    expect(checkEdgeFrame(new Uint8Array(mtu + 14 + 4), mtu)).toBeNull();
  });
  it('rejects short and long frames with their codes', () => {
    expect(checkEdgeFrame(new Uint8Array(13), mtu)).toBe(ErrorCode.FRAME_TOO_SHORT);
    expect(checkEdgeFrame(new Uint8Array(0), mtu)).toBe(ErrorCode.FRAME_TOO_SHORT);
    expect(checkEdgeFrame(new Uint8Array(mtu + 14 + 5), mtu)).toBe(ErrorCode.FRAME_TOO_LONG);
    expect(checkEdgeFrame(new Uint8Array(9000 + 19), 9000)).toBe(ErrorCode.FRAME_TOO_LONG);
  });
});

describe('describeFrame', () => {
  it('describes known frames in one line', () => {
    expect(describeFrame(ARP_REQUEST)).toBe('ARP who-has 10.0.2.2 tell 10.0.2.15');
    expect(describeFrame(ICMP_ECHO)).toBe('IPv4 10.0.0.1 > 10.0.0.2 ICMP echo request id=7211 seq=3');
    expect(describeFrame(tagged())).toBe('vlan 100 IPv4 10.0.0.1 > 10.0.0.2 ICMP echo request id=7211 seq=3');
    const unknown = ARP_REQUEST.slice();
    unknown[12] = 0x88;
    unknown[13] = 0xb5;
    expect(describeFrame(unknown)).toBe('ether 52:54:00:12:34:56 > ff:ff:ff:ff:ff:ff type 0x88b5 len=60');
  });

  it('names what it cannot read and never throws', () => {
    expect(describeFrame(new Uint8Array(3))).toBe('malformed Ethernet (ERR_FRAME_TOO_SHORT) len=3');
    expect(describeFrame(ICMP_ECHO.subarray(0, 30))).toBe('IPv4 malformed (ERR_FRAME_TOO_SHORT)');
    expect(describeFrame(ICMP_ECHO.subarray(0, 60))).toBe('IPv4 malformed (ERR_BAD_LENGTH_FIELD)');
    let seed = 12345;
    for (let i = 0; i < 2000; i++) {
      const len = i % 120;
      const f = new Uint8Array(len);
      for (let j = 0; j < len; j++) {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        f[j] = seed >>> 24;
      }
      // steer half of the garbage into the IP/ARP paths
      const types = [[0x08, 0x00], [0x86, 0xdd], [0x08, 0x06], [0x81, 0x00]];
      if (len >= 14 && i % 2 === 0) f.set(types[(i >> 1) % 4], 12);
      if (len >= 15 && i % 4 === 0) f[14] = 0x45;
      expect(typeof describeFrame(f)).toBe('string');
    }
  });
});
