import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../src/errors.js';
import {
  ArpOp,
  ArpRepr,
  ArpView,
  BROADCAST_MAC,
  buildArp,
  buildIcmpv4Echo,
  buildIcmpv6Echo,
  buildNeighborAdvertisement,
  buildNeighborSolicitation,
  buildUdp4,
  buildUdp6,
  describeFrame,
  EthernetView,
  finishUdp4Checksum,
  finishUdp6Checksum,
  formatIpv4,
  formatIpv6,
  formatMac,
  Icmpv4Repr,
  Icmpv4View,
  Icmpv6Repr,
  Icmpv6Type,
  Icmpv6View,
  IpProtocol,
  Ipv4Repr,
  Ipv4View,
  ipv6Equal,
  Ipv6Repr,
  Ipv6View,
  linkLocalFromMac,
  NDP_HOP_LIMIT,
  NdpOption,
  parseIpv4,
  parseIpv6,
  solicitedNodeMulticast,
  UDP4_PAYLOAD_OFFSET,
  UDP6_PAYLOAD_OFFSET,
  UdpRepr,
  UdpView,
} from '../src/wire/index.js';
import { codeOf } from './helpers/eop-error.js';
import { hex } from './helpers/raw-frame.js';

/*
 * Vectors: frames written out as they appear in a capture. Checksums were computed outside this
 * code base (Python struct + RFC 1071) and are cross-checked below by `refChecksum`, which shares
 * no code with src/wire.
 */
function refChecksum(...parts: ArrayLike<number>[]): number {
  const bytes: number[] = [];
  for (const p of parts) {
    const a = Array.from(p);
    if (bytes.length % 2) throw new Error('parts must be even-sized but the last');
    bytes.push(...a);
  }
  let s = 0;
  for (let i = 0; i < bytes.length; i += 2) {
    s += bytes[i] * 256 + (bytes[i + 1] ?? 0);
    s = (s % 65536) + Math.floor(s / 65536);
  }
  return 0xffff - s;
}

const MAC1 = 0x0200_0000_0001;
const MAC2 = 0x0200_0000_0002;
const IP1 = 0x0a00_0001; // 10.0.0.1
const IP2 = 0x0a00_0002;
const LL1 = parseIpv6('fe80::ff:fe00:1')!; // link-local of MAC1
const LL2 = parseIpv6('fe80::ff:fe00:2')!;

// QEMU user net: who-has 10.0.2.2 tell 10.0.2.15, then the reply (unpadded, as built by a host).
const ARP_REQUEST = hex(`
  ffff ffff ffff 5254 0012 3456 0806 0001 0800 0604 0001 5254 0012 3456 0a00 020f
  0000 0000 0000 0a00 0202 0000 0000 0000 0000 0000 0000 0000 0000 0000
`);
const ARP_REPLY = hex(`
  5254 0012 3456 5255 0a00 0202 0806 0001 0800 0604 0002 5255 0a00 0202 0a00 0202
  5254 0012 3456 0a00 020f
`);

// 10.0.0.1 > 10.0.0.2 echo request id=0x1c2b seq=3, Linux ping layout (ident 0x8c1e, DF, ttl 64);
// ICMP checksum a119, IP checksum 9a90.
const ICMP_REQUEST = hex(`
  0200 0000 0002 0200 0000 0001 0800 4500 004c 8c1e 4000 4001 9a90 0a00 0001 0a00
  0002 0800 a119 1c2b 0003 5c7e 1f67 0000 0000 1011 1213 1415 1617 1819 1a1b 1c1d
  1e1f 2021 2223 2425 2627 2829 2a2b 2c2d 2e2f 3031 3233 3435 3637
`);
// Its reply as the built-in stack sends it: ident 0, DF, ttl 64; ICMP checksum a919, IP 26af.
const ICMP_REPLY = hex(`
  0200 0000 0001 0200 0000 0002 0800 4500 004c 0000 4000 4001 26af 0a00 0002 0a00
  0001 0000 a919 1c2b 0003 5c7e 1f67 0000 0000 1011 1213 1415 1617 1819 1a1b 1c1d
  1e1f 2021 2223 2425 2627 2829 2a2b 2c2d 2e2f 3031 3233 3435 3637
`);

// 10.0.0.1:40000 > 10.0.0.2:53 DNS query A example.com; UDP checksum 6d8a, IP 26b2.
const UDP4_DNS = hex(`
  0200 0000 0002 0200 0000 0001 0800 4500 0039 0000 4000 4011 26b2 0a00 0001 0a00
  0002 9c40 0035 0025 6d8a 1234 0100 0001 0000 0000 0000 0765 7861 6d70 6c65 0363
  6f6d 0000 0100 01
`);

// 10.0.0.1:7 > 10.0.0.2:9 "hi" (44 bytes), padded to 60 with junk as some NICs do.
const UDP4_PADDED = hex(`
  0200 0000 0002 0200 0000 0001 0800 4500 001e 0000 4000 4011 26cd 0a00 0001 0a00
  0002 0007 0009 000a 835e 6869 aaaa aaaa aaaa aaaa aaaa aaaa aaaa aaaa
`);

// fe80::ff:fe00:1 > ff02::1:ff00:2 NS who-has fe80::ff:fe00:2, SLLAO 02:00:00:00:00:01; checksum 7c97.
const NS = hex(`
  3333 ff00 0002 0200 0000 0001 86dd 6000 0000 0020 3aff fe80 0000 0000 0000 0000
  00ff fe00 0001 ff02 0000 0000 0000 0000 0001 ff00 0002 8700 7c97 0000 0000 fe80
  0000 0000 0000 0000 00ff fe00 0002 0101 0200 0000 0001
`);
// fe80::ff:fe00:2 > fe80::ff:fe00:1 NA (S, O) fe80::ff:fe00:2 is-at 02:00:00:00:00:02; checksum 1b1a.
const NA = hex(`
  0200 0000 0001 0200 0000 0002 86dd 6000 0000 0020 3aff fe80 0000 0000 0000 0000
  00ff fe00 0002 fe80 0000 0000 0000 0000 00ff fe00 0001 8800 1b1a 6000 0000 fe80
  0000 0000 0000 0000 00ff fe00 0002 0201 0200 0000 0002
`);
// DAD probe: :: > ff02::1:ff00:2 NS for fe80::ff:fe00:2, no option; checksum 7d23.
const NS_DAD = hex(`
  3333 ff00 0002 0200 0000 0002 86dd 6000 0000 0018 3aff 0000 0000 0000 0000 0000
  0000 0000 0000 ff02 0000 0000 0000 0000 0001 ff00 0002 8700 7d23 0000 0000 fe80
  0000 0000 0000 0000 00ff fe00 0002
`);
// fe80::ff:fe00:1 > fe80::ff:fe00:2 echo request id=0x1234 seq=1 "abcdefgh"; checksum e0e5.
const ECHO6 = hex(`
  0200 0000 0002 0200 0000 0001 86dd 6000 0000 0010 3a40 fe80 0000 0000 0000 0000
  00ff fe00 0001 fe80 0000 0000 0000 0000 00ff fe00 0002 8000 e0e5 1234 0001 6162
  6364 6566 6768
`);
// fe80::ff:fe00:1:546 > fe80::ff:fe00:2:547 "hello"; checksum bcb8.
const UDP6 = hex(`
  0200 0000 0002 0200 0000 0001 86dd 6000 0000 000d 1140 fe80 0000 0000 0000 0000
  00ff fe00 0001 fe80 0000 0000 0000 0000 00ff fe00 0002 0222 0223 000d bcb8 6865
  6c6c 6f
`);

const ip4Of = (f: Uint8Array) => Ipv4View.checked(EthernetView.checked(f).payload());
const ip6Of = (f: Uint8Array) => Ipv6View.checked(EthernetView.checked(f).payload());

describe('test vectors', () => {
  it('carry checksums that an independent implementation confirms', () => {
    // IPv4 header checksums
    for (const f of [ICMP_REQUEST, ICMP_REPLY, UDP4_DNS, UDP4_PADDED]) {
      expect(refChecksum(f.subarray(14, 34))).toBe(0);
    }
    // ICMPv4
    expect(refChecksum(ICMP_REQUEST.subarray(34))).toBe(0);
    expect(refChecksum(ICMP_REPLY.subarray(34))).toBe(0);
    // UDP over IPv4: pseudo header = addresses, 0, 17, UDP length
    const udp4 = (f: Uint8Array, len: number) =>
      refChecksum(f.subarray(26, 34), [0, 17, len >> 8, len & 0xff], f.subarray(34, 34 + len));
    expect(udp4(UDP4_DNS, 0x25)).toBe(0);
    expect(udp4(UDP4_PADDED, 0x0a)).toBe(0);
    // over IPv6: addresses, 32-bit length, 0, next header
    const v6 = (f: Uint8Array, nh: number) => {
      const len = f.length - 54;
      return refChecksum(f.subarray(22, 54), [0, 0, len >> 8, len & 0xff, 0, 0, 0, nh], f.subarray(54));
    };
    for (const f of [NS, NA, NS_DAD, ECHO6]) expect(v6(f, 58)).toBe(0);
    expect(v6(UDP6, 17)).toBe(0);
  });
});

describe('IPv4 addresses', () => {
  it('parses dotted quads only and formats back', () => {
    expect(parseIpv4('10.0.0.1')).toBe(IP1);
    expect(parseIpv4('255.255.255.255')).toBe(0xffffffff);
    expect(formatIpv4(0xffffffff)).toBe('255.255.255.255');
    expect(formatIpv4(0xc0a800c7)).toBe('192.168.0.199');
    for (const bad of ['', '10.0.1', '10.0.0.256', '10.0.0.01', '0x0a.0.0.1', '10.0.0.1/24', '::1']) {
      expect(parseIpv4(bad)).toBeNull();
    }
  });
});

describe('ARP', () => {
  it('parses a captured request (padded to 60 bytes)', () => {
    const eth = EthernetView.checked(ARP_REQUEST);
    const arp = ArpView.checked(eth.payload());
    expect(ArpRepr.parse(arp)).toEqual({
      op: ArpOp.Request,
      senderMac: 0x5254_0012_3456,
      senderIp: parseIpv4('10.0.2.15'),
      targetMac: 0,
      targetIp: parseIpv4('10.0.2.2'),
    });
  });

  it('emits identical bytes', () => {
    for (const f of [ARP_REQUEST, ARP_REPLY]) {
      const repr = ArpRepr.parse(ArpView.checked(f.subarray(14)));
      const out = new Uint8Array(ArpRepr.bufferLen(repr));
      expect(ArpRepr.emit(repr, out, 0)).toBe(28);
      expect(out).toEqual(f.subarray(14, 42));
    }
  });

  it('buildArp writes the reply frame byte for byte', () => {
    const buf = new Uint8Array(1514).fill(0x55);
    const len = buildArp(buf, {
      op: ArpOp.Reply,
      senderMac: 0x5255_0a00_0202,
      senderIp: parseIpv4('10.0.2.2')!,
      targetMac: 0x5254_0012_3456,
      targetIp: parseIpv4('10.0.2.15')!,
      dstMac: 0x5254_0012_3456,
    });
    expect(len).toBe(42);
    expect(buf.subarray(0, len)).toEqual(ARP_REPLY);
    const req = new Uint8Array(42);
    buildArp(req, {
      op: ArpOp.Request,
      senderMac: 0x5254_0012_3456,
      senderIp: 0x0a00020f,
      targetMac: 0,
      targetIp: 0x0a000202,
      dstMac: BROADCAST_MAC,
    });
    expect(req).toEqual(ARP_REQUEST.subarray(0, 42));
    const zero = { op: 1, senderMac: 0, senderIp: 0, targetMac: 0, targetIp: 0, dstMac: 0 };
    expect(() => buildArp(new Uint8Array(41), zero)).toThrow(RangeError);
  });

  it('rejects truncated and non-Ethernet/IPv4 ARP', () => {
    expect(codeOf(() => ArpView.checked(ARP_REQUEST.subarray(14, 41)))).toBe(ErrorCode.FRAME_TOO_SHORT);
    const f = ARP_REQUEST.slice(14, 42);
    f[1] = 6; // IEEE 802 hardware
    expect(codeOf(() => ArpView.checked(f))).toBe(ErrorCode.UNSUPPORTED);
  });
});

describe('IPv4', () => {
  it('parses a captured header', () => {
    const ip = ip4Of(ICMP_REQUEST);
    expect(ip.version()).toBe(4);
    expect(ip.headerLen()).toBe(20);
    expect(ip.totalLen()).toBe(76);
    expect(ip.ident()).toBe(0x8c1e);
    expect(ip.dontFrag()).toBe(true);
    expect(ip.isFragment()).toBe(false);
    expect(ip.ttl()).toBe(64);
    expect(ip.protocol()).toBe(IpProtocol.ICMP);
    expect(ip.checksum()).toBe(0x9a90);
    expect(formatIpv4(ip.src())).toBe('10.0.0.1');
    expect(formatIpv4(ip.dst())).toBe('10.0.0.2');
    expect(ip.verifyChecksum()).toBe(true);
    expect(ip.payload().length).toBe(56);
  });

  it('Repr round-trips to identical header bytes', () => {
    for (const f of [ICMP_REQUEST, ICMP_REPLY, UDP4_DNS, UDP4_PADDED]) {
      const repr = Ipv4Repr.parse(ip4Of(f));
      const out = new Uint8Array(Ipv4Repr.bufferLen(repr));
      expect(Ipv4Repr.emit(repr, out, 0)).toBe(20);
      expect(out).toEqual(f.subarray(14, 34));
    }
  });

  it('uses total length, not the buffer end, under Ethernet padding', () => {
    expect(UDP4_PADDED.length).toBe(60);
    const ip = ip4Of(UDP4_PADDED);
    expect(ip.payload().length).toBe(10);
    const udp = UdpView.checked(ip.payload());
    expect(udp.verifyChecksum4(ip.src(), ip.dst())).toBe(true);
    expect(Buffer.from(udp.payload()).toString()).toBe('hi');
  });

  it('checked rejects each malformation with its code', () => {
    const hdr = () => ICMP_REQUEST.slice(14);
    expect(codeOf(() => Ipv4View.checked(hdr().subarray(0, 19)))).toBe(ErrorCode.FRAME_TOO_SHORT);
    let b = hdr();
    b[0] = 0x65;
    expect(codeOf(() => Ipv4View.checked(b))).toBe(ErrorCode.BAD_VERSION);
    b = hdr();
    b[0] = 0x44; // IHL 16 bytes
    expect(codeOf(() => Ipv4View.checked(b))).toBe(ErrorCode.BAD_LENGTH_FIELD);
    b = hdr();
    b[3] = 19; // total length shorter than the header
    expect(codeOf(() => Ipv4View.checked(b))).toBe(ErrorCode.BAD_LENGTH_FIELD);
    // total length says 76, only 60 bytes arrived
    expect(codeOf(() => Ipv4View.checked(hdr().subarray(0, 60)))).toBe(ErrorCode.BAD_LENGTH_FIELD);
    b = hdr();
    b[0] = 0x4f; // IHL 60 bytes, total length 40
    b[3] = 40;
    expect(codeOf(() => Ipv4View.checked(b))).toBe(ErrorCode.BAD_LENGTH_FIELD);
  });

  it('verifyChecksum catches a flipped bit; fillChecksum repairs it', () => {
    const b = ICMP_REQUEST.slice(14);
    const ip = Ipv4View.checked(b);
    ip.setTtl(63);
    expect(ip.verifyChecksum()).toBe(false);
    ip.fillChecksum();
    expect(ip.verifyChecksum()).toBe(true);
    ip.setTtl(64);
    ip.fillChecksum();
    expect(b).toEqual(ICMP_REQUEST.subarray(14));
  });

  it('Repr refuses fragments', () => {
    const b = ICMP_REQUEST.slice(14);
    b[6] = 0x20; // MF
    expect(codeOf(() => Ipv4Repr.parse(Ipv4View.checked(b)))).toBe(ErrorCode.UNSUPPORTED);
    b[6] = 0x00;
    b[7] = 0x10; // offset 128
    const ip = Ipv4View.checked(b);
    expect(ip.fragOffset()).toBe(128);
    expect(codeOf(() => Ipv4Repr.parse(ip))).toBe(ErrorCode.UNSUPPORTED);
  });
});

describe('ICMPv4', () => {
  it('parses a captured echo request and verifies its checksum', () => {
    const icmp = Icmpv4View.checked(ip4Of(ICMP_REQUEST).payload());
    expect(icmp.type()).toBe(8);
    expect(icmp.code()).toBe(0);
    expect(icmp.checksum()).toBe(0xa119);
    expect(icmp.verifyChecksum()).toBe(true);
    const repr = Icmpv4Repr.parse(icmp);
    expect(repr.type).toBe('echoRequest');
    expect(repr.id).toBe(0x1c2b);
    expect(repr.seq).toBe(3);
    expect(repr.data.length).toBe(48);
    expect(repr.data.buffer).toBe(ICMP_REQUEST.buffer);
  });

  it('Repr emits identical bytes', () => {
    for (const f of [ICMP_REQUEST, ICMP_REPLY]) {
      const repr = Icmpv4Repr.parse(Icmpv4View.checked(ip4Of(f).payload()));
      const out = new Uint8Array(Icmpv4Repr.bufferLen(repr));
      expect(Icmpv4Repr.emit(repr, out, 0)).toBe(56);
      expect(out).toEqual(f.subarray(34));
    }
  });

  it('buildIcmpv4Echo writes the reply byte for byte, also in place over the request', () => {
    const req = Icmpv4Repr.parse(Icmpv4View.checked(ip4Of(ICMP_REQUEST).payload()));
    const addrs = { srcMac: MAC2, dstMac: MAC1, srcIp: IP2, dstIp: IP1 };
    const opts = { ...addrs, type: 'reply' as const, id: req.id, seq: req.seq, payload: req.data };
    const buf = new Uint8Array(1514);
    expect(buildIcmpv4Echo(buf, opts)).toBe(90);
    expect(buf.subarray(0, 90)).toEqual(ICMP_REPLY);

    const inPlace = ICMP_REQUEST.slice();
    const data = Icmpv4View.checked(ip4Of(inPlace).payload()).data();
    expect(buildIcmpv4Echo(inPlace, { ...opts, payload: data })).toBe(90);
    expect(inPlace).toEqual(ICMP_REPLY);
  });

  it('rejects truncation; Repr refuses non-echo types', () => {
    expect(codeOf(() => Icmpv4View.checked(new Uint8Array(7)))).toBe(ErrorCode.FRAME_TOO_SHORT);
    const unreachable = new Uint8Array(8);
    unreachable[0] = 3;
    expect(codeOf(() => Icmpv4Repr.parse(Icmpv4View.checked(unreachable)))).toBe(ErrorCode.UNSUPPORTED);
  });

  it('detects a corrupted payload', () => {
    const f = ICMP_REQUEST.slice();
    f[f.length - 1] ^= 1;
    expect(Icmpv4View.checked(ip4Of(f).payload()).verifyChecksum()).toBe(false);
  });
});

describe('UDP over IPv4', () => {
  it('parses a captured DNS query', () => {
    const ip = ip4Of(UDP4_DNS);
    const udp = UdpView.checked(ip.payload());
    expect(UdpRepr.parse(udp)).toEqual({ srcPort: 40000, dstPort: 53, payloadLen: 29 });
    expect(udp.checksum()).toBe(0x6d8a);
    expect(udp.verifyChecksum4(ip.src(), ip.dst())).toBe(true);
    expect(udp.verifyChecksum4(ip.src(), ip.dst() + 1)).toBe(false);
    expect(Buffer.from(udp.payload().subarray(13, 20)).toString()).toBe('example');
  });

  it('Repr + fillChecksum4 emit identical bytes', () => {
    const ip = ip4Of(UDP4_DNS);
    const repr = UdpRepr.parse(UdpView.checked(ip.payload()));
    const out = new Uint8Array(8 + repr.payloadLen);
    expect(UdpRepr.emit(repr, out, 0)).toBe(8);
    out.set(UdpView.checked(ip.payload()).payload(), 8);
    expect(new UdpView(out).checksum()).toBe(0);
    new UdpView(out).fillChecksum4(IP1, IP2);
    expect(out).toEqual(UDP4_DNS.subarray(34));
  });

  it('buildUdp4 writes the frame byte for byte, with or without a payload argument', () => {
    const dns = UDP4_DNS.slice(UDP4_PAYLOAD_OFFSET);
    const common = { srcMac: MAC1, dstMac: MAC2, srcIp: IP1, dstIp: IP2, srcPort: 40000, dstPort: 53 };
    const a = new Uint8Array(1514);
    expect(buildUdp4(a, { ...common, payload: dns })).toBe(UDP4_DNS.length);
    expect(a.subarray(0, UDP4_DNS.length)).toEqual(UDP4_DNS);

    const b = new Uint8Array(1514);
    const len = buildUdp4(b, { ...common, payloadLen: dns.length });
    b.set(dns, UDP4_PAYLOAD_OFFSET);
    finishUdp4Checksum(b, len);
    expect(b.subarray(0, len)).toEqual(UDP4_DNS);

    const c = new Uint8Array(1514);
    buildUdp4(c, { ...common, payload: dns, checksum: false });
    const udp = UdpView.checked(ip4Of(c.subarray(0, len)).payload());
    expect(udp.checksum()).toBe(0);
    expect(udp.verifyChecksum4(IP1, IP2)).toBe(true); // 0 means "none" over IPv4
  });

  it('sends a computed zero as 0xffff', () => {
    const buf = new Uint8Array(64);
    const common = { srcMac: MAC1, dstMac: MAC2, srcIp: IP1, dstIp: IP2, srcPort: 1, dstPort: 2 };
    const len = buildUdp4(buf, { ...common, payload: new Uint8Array(2) });
    // a payload word equal to the old checksum brings the sum to 0xffff, i.e. a checksum of 0
    const fix = Uint8Array.from(buf.subarray(40, 42));
    buildUdp4(buf, { ...common, payload: fix });
    const ip = ip4Of(buf.subarray(0, len));
    const udp = UdpView.checked(ip.payload());
    expect(udp.checksum()).toBe(0xffff);
    expect(udp.verifyChecksum4(IP1, IP2)).toBe(true);
  });

  it('checked rejects truncation and bad length fields', () => {
    const u = () => UDP4_DNS.slice(34);
    expect(codeOf(() => UdpView.checked(u().subarray(0, 7)))).toBe(ErrorCode.FRAME_TOO_SHORT);
    expect(codeOf(() => UdpView.checked(u().subarray(0, 36)))).toBe(ErrorCode.BAD_LENGTH_FIELD);
    const b = u();
    b[5] = 7;
    expect(codeOf(() => UdpView.checked(b))).toBe(ErrorCode.BAD_LENGTH_FIELD);
  });

  it('builders refuse buffers that are too small and mismatched lengths', () => {
    const o = { srcMac: MAC1, dstMac: MAC2, srcIp: IP1, dstIp: IP2, srcPort: 1, dstPort: 2 };
    expect(() => buildUdp4(new Uint8Array(50), { ...o, payloadLen: 9 })).toThrow(RangeError);
    const mismatched = { ...o, payloadLen: 3, payload: new Uint8Array(4) };
    expect(() => buildUdp4(new Uint8Array(100), mismatched)).toThrow(RangeError);
    expect(() => buildUdp4(new Uint8Array(100), o)).toThrow(RangeError);
    expect(() => buildUdp4(new Uint8Array(70000), { ...o, payloadLen: 65508 })).toThrow(RangeError);
  });
});

describe('IPv6 addresses', () => {
  it('parses and formats RFC 5952 text', () => {
    const good = ['fe80::ff:fe00:1', '2001:db8::1', '::', '::1', 'ff02::1:ff00:2', '::ffff:192.0.2.1'];
    for (const s of [...good, '2001:db8:0:1:1:1:1:1']) {
      expect(formatIpv6(parseIpv6(s)!)).toBe(s);
    }
    expect(formatIpv6(parseIpv6('2001:0DB8:0000:0000:0000:0000:0000:0001')!)).toBe('2001:db8::1');
    for (const bad of ['', 'fe80::1%eth0', '1::2::3', '10.0.0.1', 'fe80::g', '1:2:3:4:5:6:7:8:9']) {
      expect(parseIpv6(bad)).toBeNull();
    }
  });

  it('derives link-local (EUI-64) and solicited-node addresses', () => {
    expect(formatIpv6(linkLocalFromMac(0x5254_0012_3456))).toBe('fe80::5054:ff:fe12:3456');
    expect(formatIpv6(linkLocalFromMac(MAC1))).toBe('fe80::ff:fe00:1');
    expect(formatIpv6(solicitedNodeMulticast(parseIpv6('2001:db8::abcd:1234:5678')!))).toBe('ff02::1:ff34:5678');
    expect(ipv6Equal(solicitedNodeMulticast(LL2), parseIpv6('ff02::1:ff00:2')!)).toBe(true);
    expect(ipv6Equal(LL1, LL2)).toBe(false);
  });
});

describe('IPv6', () => {
  it('parses a captured header', () => {
    const ip = ip6Of(NS);
    expect(ip.version()).toBe(6);
    expect(ip.trafficClass()).toBe(0);
    expect(ip.flowLabel()).toBe(0);
    expect(ip.payloadLen()).toBe(32);
    expect(ip.nextHeader()).toBe(IpProtocol.ICMPv6);
    expect(ip.hopLimit()).toBe(255);
    expect(formatIpv6(ip.src())).toBe('fe80::ff:fe00:1');
    expect(formatIpv6(ip.dst())).toBe('ff02::1:ff00:2');
  });

  it('Repr round-trips, traffic class and flow label included', () => {
    const f = UDP6.slice();
    f.set([0x6b, 0x8a, 0xbc, 0xde], 14); // TC 0xb8, flow 0xabcde
    const ip = ip6Of(f);
    expect(ip.trafficClass()).toBe(0xb8);
    expect(ip.flowLabel()).toBe(0xabcde);
    for (const frame of [NS, UDP6, f]) {
      const repr = Ipv6Repr.parse(ip6Of(frame));
      const out = new Uint8Array(Ipv6Repr.bufferLen(repr));
      expect(Ipv6Repr.emit(repr, out, 0)).toBe(40);
      expect(out).toEqual(frame.subarray(14, 54));
    }
  });

  it('uses payload length, not the buffer end', () => {
    const padded = new Uint8Array(UDP6.length + 9).fill(0xaa);
    padded.set(UDP6);
    const ip = ip6Of(padded);
    expect(ip.payload().length).toBe(13);
    expect(UdpView.checked(ip.payload()).verifyChecksum6(ip.src(), ip.dst())).toBe(true);
  });

  it('checked rejects each malformation with its code', () => {
    const h = () => NS.slice(14);
    expect(codeOf(() => Ipv6View.checked(h().subarray(0, 39)))).toBe(ErrorCode.FRAME_TOO_SHORT);
    const b = h();
    b[0] = 0x40;
    expect(codeOf(() => Ipv6View.checked(b))).toBe(ErrorCode.BAD_VERSION);
    expect(codeOf(() => Ipv6View.checked(h().subarray(0, 71)))).toBe(ErrorCode.BAD_LENGTH_FIELD);
  });
});

describe('NDP', () => {
  it('parses a captured neighbour solicitation', () => {
    const ip = ip6Of(NS);
    const m = Icmpv6View.checked(ip.payload());
    expect(m.type()).toBe(Icmpv6Type.NeighborSolicitation);
    expect(m.checksum()).toBe(0x7c97);
    expect(m.verifyChecksum(ip.src(), ip.dst())).toBe(true);
    expect(m.verifyChecksum(LL2, ip.dst())).toBe(false);
    expect(formatIpv6(m.target())).toBe('fe80::ff:fe00:2');
    expect(m.linkLayerOption(NdpOption.SourceLinkLayerAddr)).toBe(MAC1);
    expect(m.linkLayerOption(NdpOption.TargetLinkLayerAddr)).toBeNull();
    expect(Icmpv6Repr.parse(m)).toEqual({ type: 'neighborSolicitation', target: LL2, sourceMac: MAC1 });
  });

  it('parses a captured neighbour advertisement', () => {
    const m = Icmpv6View.checked(ip6Of(NA).payload());
    expect(Icmpv6Repr.parse(m)).toEqual({
      type: 'neighborAdvertisement',
      target: LL2,
      targetMac: MAC2,
      router: false,
      solicited: true,
      override: true,
    });
  });

  it('Repr emits identical bytes', () => {
    for (const f of [NS, NA, NS_DAD, ECHO6]) {
      const ip = ip6Of(f);
      const repr = Icmpv6Repr.parse(Icmpv6View.checked(ip.payload()));
      const out = new Uint8Array(Icmpv6Repr.bufferLen(repr));
      expect(Icmpv6Repr.emit(repr, out, 0, ip.src(), ip.dst())).toBe(out.length);
      expect(out).toEqual(f.subarray(54));
    }
  });

  it('buildNeighborSolicitation targets the solicited-node group with hop limit 255', () => {
    const buf = new Uint8Array(1514).fill(0x77);
    const len = buildNeighborSolicitation(buf, { srcMac: MAC1, srcIp: LL1, targetIp: LL2 });
    expect(len).toBe(86);
    expect(buf.subarray(0, len)).toEqual(NS);
    expect(ip6Of(buf.subarray(0, len)).hopLimit()).toBe(NDP_HOP_LIMIT);
  });

  it('buildNeighborSolicitation from :: (DAD) carries no link-layer option', () => {
    const buf = new Uint8Array(100);
    const len = buildNeighborSolicitation(buf, { srcMac: MAC2, srcIp: parseIpv6('::')!, targetIp: LL2 });
    expect(len).toBe(78);
    expect(buf.subarray(0, len)).toEqual(NS_DAD);
  });

  it('buildNeighborAdvertisement writes the frame byte for byte', () => {
    const buf = new Uint8Array(86);
    const len = buildNeighborAdvertisement(buf, {
      srcMac: MAC2,
      dstMac: MAC1,
      srcIp: LL2,
      dstIp: LL1,
      targetIp: LL2,
      solicited: true,
      override: true,
    });
    expect(len).toBe(86);
    expect(buf).toEqual(NA);
  });

  it('checked rejects truncated messages and broken options', () => {
    const p = () => NS.slice(54);
    expect(codeOf(() => Icmpv6View.checked(p().subarray(0, 7)))).toBe(ErrorCode.FRAME_TOO_SHORT);
    expect(codeOf(() => Icmpv6View.checked(p().subarray(0, 23)))).toBe(ErrorCode.FRAME_TOO_SHORT);
    expect(codeOf(() => Icmpv6View.checked(p().subarray(0, 24)))).toBeUndefined();
    let b = p();
    b[25] = 0; // option length 0
    expect(codeOf(() => Icmpv6View.checked(b))).toBe(ErrorCode.BAD_LENGTH_FIELD);
    b = p();
    b[25] = 2; // 16 bytes claimed, 8 present
    expect(codeOf(() => Icmpv6View.checked(b))).toBe(ErrorCode.BAD_LENGTH_FIELD);
    expect(codeOf(() => Icmpv6View.checked(p().subarray(0, 25)))).toBe(ErrorCode.BAD_LENGTH_FIELD);
  });

  it('Repr refuses NDP with a non-zero code and unknown types', () => {
    const b = NS.slice(54);
    b[1] = 1;
    expect(codeOf(() => Icmpv6Repr.parse(Icmpv6View.checked(b)))).toBe(ErrorCode.UNSUPPORTED);
    const ra = new Uint8Array(16);
    ra[0] = Icmpv6Type.RouterAdvertisement;
    expect(codeOf(() => Icmpv6Repr.parse(Icmpv6View.checked(ra)))).toBe(ErrorCode.UNSUPPORTED);
  });
});

describe('ICMPv6 echo and UDP over IPv6', () => {
  it('parses and builds an echo request byte for byte', () => {
    const ip = ip6Of(ECHO6);
    const m = Icmpv6View.checked(ip.payload());
    expect(m.verifyChecksum(ip.src(), ip.dst())).toBe(true);
    const repr = Icmpv6Repr.parse(m);
    expect(repr).toMatchObject({ type: 'echoRequest', id: 0x1234, seq: 1 });
    const buf = new Uint8Array(200);
    const len = buildIcmpv6Echo(buf, {
      srcMac: MAC1,
      dstMac: MAC2,
      srcIp: LL1,
      dstIp: LL2,
      type: 'request',
      id: 0x1234,
      seq: 1,
      payload: Buffer.from('abcdefgh'),
    });
    expect(buf.subarray(0, len)).toEqual(ECHO6);
  });

  it('buildUdp6 writes the frame byte for byte, with or without a payload argument', () => {
    const common = { srcMac: MAC1, dstMac: MAC2, srcIp: LL1, dstIp: LL2, srcPort: 546, dstPort: 547 };
    const a = new Uint8Array(200);
    const len = buildUdp6(a, { ...common, payload: Buffer.from('hello') });
    expect(a.subarray(0, len)).toEqual(UDP6);
    const b = new Uint8Array(200);
    expect(buildUdp6(b, { ...common, payloadLen: 5 })).toBe(len);
    b.set(Buffer.from('hello'), UDP6_PAYLOAD_OFFSET);
    finishUdp6Checksum(b, len);
    expect(b.subarray(0, len)).toEqual(UDP6);
  });

  it('UDP checksum is mandatory over IPv6', () => {
    const f = UDP6.slice();
    const ip = ip6Of(f);
    const udp = UdpView.checked(ip.payload());
    expect(udp.verifyChecksum6(ip.src(), ip.dst())).toBe(true);
    f[60] = 0;
    f[61] = 0;
    expect(udp.verifyChecksum6(ip.src(), ip.dst())).toBe(false);
    udp.fillChecksum6(ip.src(), ip.dst());
    expect(f).toEqual(UDP6);
  });
});

describe('describeFrame on IP traffic', () => {
  it('describes each vector', () => {
    expect(describeFrame(ICMP_REPLY)).toBe('IPv4 10.0.0.2 > 10.0.0.1 ICMP echo reply id=7211 seq=3');
    expect(describeFrame(UDP4_DNS)).toBe('IPv4 10.0.0.1 > 10.0.0.2 UDP 40000 > 53 len=29');
    expect(describeFrame(ARP_REPLY)).toBe('ARP 10.0.2.2 is-at 52:55:0a:00:02:02');
    expect(describeFrame(NS)).toBe(
      'IPv6 fe80::ff:fe00:1 > ff02::1:ff00:2 ICMPv6 neighbor solicitation who-has fe80::ff:fe00:2',
    );
    expect(describeFrame(NA)).toBe(
      'IPv6 fe80::ff:fe00:2 > fe80::ff:fe00:1 ICMPv6 neighbor advertisement fe80::ff:fe00:2' +
        ' is-at 02:00:00:00:00:02',
    );
    expect(describeFrame(ECHO6)).toBe('IPv6 fe80::ff:fe00:1 > fe80::ff:fe00:2 ICMPv6 echo request id=4660 seq=1');
    expect(describeFrame(UDP6)).toBe('IPv6 fe80::ff:fe00:1 > fe80::ff:fe00:2 UDP 546 > 547 len=5');
    expect(describeFrame(UDP4_DNS.subarray(0, 40))).toBe('IPv4 malformed (ERR_BAD_LENGTH_FIELD)');
    expect(formatMac(EthernetView.checked(NS).dst())).toBe('33:33:ff:00:00:02');
  });
});
