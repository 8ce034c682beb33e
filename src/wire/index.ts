/**
 * wire: byte layouts of the frames EOP carries: Ethernet (+802.1Q), ARP, IPv4, IPv6, ICMPv4, ICMPv6
 * (echo, NDP), UDP. Layer 0 of 0–12, the bottom: imports nothing of EOP but errors.ts; every layer
 * above may import it.
 *
 * Rules:
 * - A view (`EthernetView`, `Ipv4View`, …) wraps a Uint8Array, copies nothing and allocates nothing
 *   per getter: getters read the bytes each time, setters write them, `payload()` is a subarray.
 *   Offsets live in one `field` table per file.
 * - `new XView(buf)` trusts the buffer; `XView.checked(buf)` validates it. Anything from outside
 *   the process (TAP, WebSocket, a pcap, emulated host memory) goes through `checked`.
 *   `checked` throws EopError: FRAME_TOO_SHORT when the buffer cannot hold the fixed header,
 *   BAD_LENGTH_FIELD when a length field disagrees with the buffer, BAD_VERSION, UNSUPPORTED for a
 *   layout the view cannot read. It never checks checksums: `verifyChecksum*` does, and the caller
 *   counts BAD_CHECKSUM.
 * - Views of a layer above Ethernet span exactly that layer's bytes: pass `ip.payload()`, which
 *   ends at the IP length field, never at the buffer end (Ethernet pads short frames to 60 bytes).
 * - A `Repr` is a plain value: `XRepr.parse(view)`, `XRepr.bufferLen(repr)` (bytes emit writes),
 *   `XRepr.emit(repr, buf, off)` → bytes written. Unknown type numbers stay numbers.
 * - Builders (`buildArp`, `buildUdp4`, …) write a whole frame at `buf[0..]`, fill every checksum,
 *   return the frame length, and allocate nothing. A buffer that is too small is a RangeError: a
 *   bug in the caller, not bad input.
 * - MACs and IPv4 addresses are numbers, IPv6 addresses 16-byte Uint8Arrays. Text forms
 *   (format*, parse*) are for config, CLI and logs, never the per-frame path.
 */
import { EopError } from '../errors.js';
import { ArpOp, ArpView } from './arp.js';
import { EthernetView, EtherType } from './ethernet.js';
import { Icmpv4Type, Icmpv4View } from './icmpv4.js';
import { Icmpv6Type, Icmpv6View, NdpOption } from './icmpv6.js';
import { formatIpv4, IpProtocol, Ipv4View } from './ipv4.js';
import { formatIpv6, Ipv6View } from './ipv6.js';
import { formatMac } from './mac.js';
import { UdpView } from './udp.js';

export {
  BROADCAST_MAC,
  formatMac,
  ipv6MulticastMac,
  isMulticastMac,
  parseMac,
  readMac,
  writeMac,
} from './mac.js';
export { readU16be, readU16le, readU32be, readU32le, writeU16be, writeU32be, writeU32le } from './bytes.js';
export { internetChecksum, onesSum, pseudoHeaderSum4, pseudoHeaderSum6 } from './checksum.js';
export {
  checkEdgeFrame,
  ETH_HEADER_LEN,
  ETH_MIN_FRAME_LEN,
  ETH_VLAN_TAG_LEN,
  EthernetRepr,
  EthernetView,
  EtherType,
  writeEthernetHeader,
} from './ethernet.js';
export { ARP_FRAME_LEN, ARP_LEN, ArpOp, ArpRepr, ArpView, buildArp, type ArpFrameOptions } from './arp.js';
export {
  formatIpv4,
  IPV4_HEADER_LEN,
  IpProtocol,
  Ipv4Repr,
  Ipv4View,
  parseIpv4,
  readIpv4,
  writeIpv4,
  writeIpv4Header,
} from './ipv4.js';
export {
  formatIpv6,
  IPV6_ADDR_LEN,
  IPV6_DST_OFFSET,
  IPV6_HEADER_LEN,
  IPV6_SRC_OFFSET,
  ipv6Equal,
  Ipv6Repr,
  Ipv6View,
  isIpv6Multicast,
  isIpv6Unspecified,
  linkLocalFromMac,
  parseIpv6,
  solicitedNodeMulticast,
  writeIpv6Header,
  writeSolicitedNodeMulticast,
} from './ipv6.js';
export {
  buildIcmpv4Echo,
  ICMPV4_ECHO_DATA_OFFSET,
  ICMPV4_HEADER_LEN,
  Icmpv4Repr,
  Icmpv4Type,
  Icmpv4View,
  type Icmpv4EchoOptions,
} from './icmpv4.js';
export {
  buildIcmpv6Echo,
  buildNeighborAdvertisement,
  buildNeighborSolicitation,
  ICMPV6_HEADER_LEN,
  Icmpv6Repr,
  Icmpv6Type,
  Icmpv6View,
  NDP_FRAME_LEN,
  NDP_HOP_LIMIT,
  NDP_LLADDR_OPTION_LEN,
  NDP_NEIGHBOR_LEN,
  NdpOption,
  type Icmpv6EchoOptions,
  type NeighborAdvertisementOptions,
  type NeighborSolicitationOptions,
} from './icmpv6.js';
export {
  buildUdp4,
  buildUdp6,
  finishUdp4Checksum,
  finishUdp6Checksum,
  UDP4_PAYLOAD_OFFSET,
  UDP6_PAYLOAD_OFFSET,
  UDP_HEADER_LEN,
  UdpRepr,
  UdpView,
  writeUdpHeader,
  type Udp4Options,
  type Udp6Options,
} from './udp.js';

/**
 * One line for logs and traces, e.g. `IPv4 10.0.0.1 > 10.0.0.2 ICMP echo request id=1 seq=3`.
 * Lives here because it is the one function that needs every protocol. Never throws: whatever
 * cannot be read is named as malformed with its error code.
 */
export function describeFrame(buf: Uint8Array): string {
  try {
    const eth = EthernetView.checked(buf);
    const vlan = eth.vlanId();
    const prefix = vlan === null ? '' : `vlan ${vlan} `;
    const type = eth.etherType();
    const payload = eth.payload();
    switch (type) {
      case EtherType.ARP:
        return prefix + guard('ARP', () => describeArp(ArpView.checked(payload)));
      case EtherType.IPv4:
        return prefix + guard('IPv4', () => describeIpv4(Ipv4View.checked(payload)));
      case EtherType.IPv6:
        return prefix + guard('IPv6', () => describeIpv6(Ipv6View.checked(payload)));
      default:
        return `${prefix}ether ${formatMac(eth.src())} > ${formatMac(eth.dst())} type 0x${hex4(type)}` +
          ` len=${buf.length}`;
    }
  } catch (e) {
    return `malformed Ethernet (${reason(e)}) len=${buf.length}`;
  }
}

function describeArp(a: ArpView): string {
  const op = a.op();
  if (op === ArpOp.Request) return `ARP who-has ${formatIpv4(a.targetIp())} tell ${formatIpv4(a.senderIp())}`;
  if (op === ArpOp.Reply) return `ARP ${formatIpv4(a.senderIp())} is-at ${formatMac(a.senderMac())}`;
  return `ARP op ${op} ${formatIpv4(a.senderIp())} > ${formatIpv4(a.targetIp())}`;
}

function describeIpv4(ip: Ipv4View): string {
  const head = `IPv4 ${formatIpv4(ip.src())} > ${formatIpv4(ip.dst())} `;
  const p = ip.payload();
  if (ip.isFragment()) return `${head}fragment proto ${ip.protocol()} off=${ip.fragOffset()} len=${p.length}`;
  switch (ip.protocol()) {
    case IpProtocol.ICMP:
      return head + guard('ICMP', () => describeIcmpv4(Icmpv4View.checked(p)));
    case IpProtocol.UDP:
      return head + guard('UDP', () => describeUdp(UdpView.checked(p)));
    default:
      return `${head}proto ${ip.protocol()} len=${p.length}`;
  }
}

function describeIcmpv4(m: Icmpv4View): string {
  switch (m.type()) {
    case Icmpv4Type.EchoRequest:
      return `ICMP echo request id=${m.echoId()} seq=${m.echoSeq()}`;
    case Icmpv4Type.EchoReply:
      return `ICMP echo reply id=${m.echoId()} seq=${m.echoSeq()}`;
    default:
      return `ICMP type ${m.type()} code ${m.code()}`;
  }
}

function describeIpv6(ip: Ipv6View): string {
  const head = `IPv6 ${formatIpv6(ip.src())} > ${formatIpv6(ip.dst())} `;
  const p = ip.payload();
  switch (ip.nextHeader()) {
    case IpProtocol.ICMPv6:
      return head + guard('ICMPv6', () => describeIcmpv6(Icmpv6View.checked(p)));
    case IpProtocol.UDP:
      return head + guard('UDP', () => describeUdp(UdpView.checked(p)));
    default:
      return `${head}next-header ${ip.nextHeader()} len=${p.length}`;
  }
}

function describeIcmpv6(m: Icmpv6View): string {
  switch (m.type()) {
    case Icmpv6Type.EchoRequest:
      return `ICMPv6 echo request id=${m.echoId()} seq=${m.echoSeq()}`;
    case Icmpv6Type.EchoReply:
      return `ICMPv6 echo reply id=${m.echoId()} seq=${m.echoSeq()}`;
    case Icmpv6Type.NeighborSolicitation:
      return `ICMPv6 neighbor solicitation who-has ${formatIpv6(m.target())}`;
    case Icmpv6Type.NeighborAdvertisement: {
      const mac = m.linkLayerOption(NdpOption.TargetLinkLayerAddr);
      const isAt = mac === null ? '' : ` is-at ${formatMac(mac)}`;
      return `ICMPv6 neighbor advertisement ${formatIpv6(m.target())}${isAt}`;
    }
    default:
      return `ICMPv6 type ${m.type()} code ${m.code()}`;
  }
}

function describeUdp(u: UdpView): string {
  return `UDP ${u.srcPort()} > ${u.dstPort()} len=${u.length() - 8}`;
}

function guard(what: string, fn: () => string): string {
  try {
    return fn();
  } catch (e) {
    return `${what} malformed (${reason(e)})`;
  }
}

function reason(e: unknown): string {
  return e instanceof EopError ? e.code : String(e);
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}
