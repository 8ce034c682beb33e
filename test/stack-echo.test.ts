/**
 * The echo services (ICMP echo and UDP port 7) go through one receive path for IPv4 and IPv6: each
 * case here runs for IPv4, IPv6 to the global address and IPv6 to the link-local one, so a rule
 * that holds for one family and not the other fails here. Frames are injected with `receive` and
 * the replies read from a port that records what the stack sends.
 */
import { describe, expect, it } from 'vitest';
import type { FramePort, FrameReceiver } from '../src/eop/frame-port.js';
import { HostStack, StackDrop } from '../src/stack/index.js';
import { Scheduler } from '../src/time/scheduler.js';
import {
  BROADCAST_MAC,
  buildIcmpv4Echo,
  buildIcmpv6Echo,
  buildUdp4,
  buildUdp6,
  EthernetView,
  formatIpv4,
  formatIpv6,
  Icmpv4View,
  Icmpv6View,
  ipv6MulticastMac,
  Ipv4View,
  Ipv6View,
  parseIpv4,
  parseIpv6,
  UdpView,
} from '../src/wire/index.js';

class RecordingPort implements FramePort {
  readonly name = 'rec';
  readonly sent: Uint8Array[] = [];
  constructor(
    readonly mac: number,
    readonly mtu: number,
  ) {}
  transmit(frame: Uint8Array): boolean {
    this.sent.push(frame.slice());
    return true;
  }
  txSpace(): number {
    return 1000;
  }
  anyPeerUp(): boolean {
    return true;
  }
  onTxDrained(fn: () => void): void {
    fn();
  }
  setReceiver(_fn: FrameReceiver): void {}
}

const PEER_MAC = 0x02e0_0000_0009;
const PEER4 = parseIpv4('10.11.0.9')!;
const PEER6 = parseIpv6('fd00:e0::9')!;
const PEER_LL = parseIpv6('fe80::9')!;
const ALL_NODES = parseIpv6('ff02::1')!;

function stack(mtu = 1500): { s: HostStack; port: RecordingPort } {
  const port = new RecordingPort(0x02e0_0000_0001, mtu);
  const s = new HostStack({
    port,
    sched: new Scheduler(1),
    mac: port.mac,
    ipv4: { addr: parseIpv4('10.11.0.1')!, prefix: 24 },
    ipv6: { bytes: parseIpv6('fd00:e0::1')!, prefix: 64 },
    name: 'h1',
  });
  return { s, port };
}

type Family = 'IPv4' | 'IPv6 global' | 'IPv6 link-local';
const FAMILIES: Family[] = ['IPv4', 'IPv6 global', 'IPv6 link-local'];

/** Our address and the peer's in `f`, as text (what the reply must carry). */
function addrs(s: HostStack, f: Family): { ours: string; peer: string } {
  if (f === 'IPv4') return { ours: formatIpv4(s.ipv4Addr), peer: formatIpv4(PEER4) };
  return f === 'IPv6 global'
    ? { ours: formatIpv6(s.ipv6Addr), peer: formatIpv6(PEER6) }
    : { ours: formatIpv6(s.linkLocal), peer: formatIpv6(PEER_LL) };
}

/** A request from the peer to us (`group`: to the broadcast / all-nodes address instead). */
function request(s: HostStack, f: Family, kind: 'icmp' | 'udp', payload: Uint8Array, group = false): Uint8Array {
  const buf = new Uint8Array(14 + 40 + 8 + payload.length);
  const common = { srcMac: PEER_MAC, payload };
  let len: number;
  if (f === 'IPv4') {
    const a = { ...common, dstMac: group ? BROADCAST_MAC : s.mac, srcIp: PEER4, dstIp: group ? 0xffffffff : s.ipv4Addr };
    len = kind === 'icmp' ? buildIcmpv4Echo(buf, { ...a, type: 'request', id: 77, seq: 5 }) : buildUdp4(buf, { ...a, srcPort: 4000, dstPort: 7 });
  } else {
    const dstIp = group ? ALL_NODES : f === 'IPv6 global' ? s.ipv6Addr : s.linkLocal;
    const srcIp = f === 'IPv6 global' ? PEER6 : PEER_LL;
    const a = { ...common, dstMac: group ? ipv6MulticastMac(ALL_NODES) : s.mac, srcIp, dstIp };
    len = kind === 'icmp' ? buildIcmpv6Echo(buf, { ...a, type: 'request', id: 77, seq: 5 }) : buildUdp6(buf, { ...a, srcPort: 4000, dstPort: 7 });
  }
  return buf.subarray(0, len);
}

/** Source, destination, and the L4 bytes of a reply; checksums verified. */
function parseReply(f: Family, frame: Uint8Array, kind: 'icmp' | 'udp'): { src: string; dst: string; l4: Uint8Array; dstMac: number } {
  const eth = EthernetView.checked(frame);
  if (f === 'IPv4') {
    const ip = Ipv4View.checked(eth.payload());
    expect(ip.verifyChecksum()).toBe(true);
    if (kind === 'icmp') expect(Icmpv4View.checked(ip.payload()).verifyChecksum()).toBe(true);
    else expect(UdpView.checked(ip.payload()).verifyChecksum4(ip.src(), ip.dst())).toBe(true);
    return { src: formatIpv4(ip.src()), dst: formatIpv4(ip.dst()), l4: ip.payload(), dstMac: eth.dst() };
  }
  const ip = Ipv6View.checked(eth.payload());
  if (kind === 'icmp') expect(Icmpv6View.checked(ip.payload()).verifyChecksum(ip.src(), ip.dst())).toBe(true);
  else expect(UdpView.checked(ip.payload()).verifyChecksum6(ip.src(), ip.dst())).toBe(true);
  return { src: formatIpv6(ip.src()), dst: formatIpv6(ip.dst()), l4: ip.payload(), dstMac: eth.dst() };
}

const PAYLOAD = Uint8Array.from({ length: 300 }, (_, i) => (i * 13 + 1) & 0xff);

/** Sends one request of `kind` and returns the one reply, checked to go from the address asked to the asker. */
function answer(f: Family, kind: 'icmp' | 'udp'): { s: HostStack; l4: Uint8Array } {
  const { s, port } = stack();
  s.receive(request(s, f, kind, PAYLOAD));
  expect(s.drops.toJSON()).toEqual({});
  expect(port.sent).toHaveLength(1);
  const r = parseReply(f, port.sent[0]!, kind);
  expect({ src: r.src, dst: r.dst, dstMac: r.dstMac }).toEqual({ src: addrs(s, f).ours, dst: addrs(s, f).peer, dstMac: PEER_MAC });
  return { s, l4: r.l4 };
}

describe.each(FAMILIES)('echo services over %s', (f) => {
  it('ICMP echo: the reply comes from the address asked, to the asker, with id, seq and data', () => {
    const { s, l4 } = answer(f, 'icmp');
    const m = f === 'IPv4' ? new Icmpv4View(l4) : new Icmpv6View(l4);
    expect([m.type(), m.echoId(), m.echoSeq()]).toEqual([f === 'IPv4' ? 0 : 129, 77, 5]);
    expect(m.data()).toEqual(PAYLOAD);
    expect(s.counters.echoRequestsAnswered).toBe(1);
  });

  it('UDP echo: ports swapped, payload byte for byte, from the address asked', () => {
    const { s, l4 } = answer(f, 'udp');
    const u = new UdpView(l4);
    expect([u.srcPort(), u.dstPort()]).toEqual([7, 4000]);
    expect(u.payload()).toEqual(PAYLOAD);
    expect(s.counters.udpEchoed).toBe(1);
  });

  it('a request to a group address is not answered (echo-to-group), for ICMP and UDP alike', () => {
    const { s, port } = stack();
    s.receive(request(s, f, 'icmp', PAYLOAD, true));
    s.receive(request(s, f, 'udp', PAYLOAD, true));
    expect(s.drops.toJSON()).toEqual({ [StackDrop.ECHO_TO_GROUP]: 2 });
    expect(port.sent).toHaveLength(0);
  });

  it('a request whose reply would exceed our MTU is not answered (reply-exceeds-mtu)', () => {
    // MTU 300: a 300-byte payload plus headers is over it in either family.
    const { s, port } = stack(300);
    s.receive(request(s, f, 'icmp', PAYLOAD));
    s.receive(request(s, f, 'udp', PAYLOAD));
    expect(s.drops.toJSON()).toEqual({ [StackDrop.REPLY_TOO_BIG]: 2 });
    expect(port.sent).toHaveLength(0);
  });
});
