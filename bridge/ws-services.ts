/**
 * The rack's services for WebSocket clients: DHCP and DNS, answered at the edge, never crossing
 * the fabric (like QEMU's user-mode network answering at 10.0.2.2/10.0.2.3).
 *
 * A browser VM or any guest that holds host H gets by DHCP exactly the address and prefix the rack
 * file gives H, and as name server the rack's *service address*: the highest address of H's subnet
 * that no host of the rack uses (10.11.0.254 for the default rack). The service address answers ARP
 * (with SERVICE_MAC) and DNS on port 53: A and AAAA records for every host name of the rack, as
 * `<host>`, `<host>.<rack>` and `<host>.<rack>.eop` (case-insensitive). Anything else: NXDOMAIN
 * for a name we do not own, an empty answer for a type we do not have. No router is handed out:
 * a rack is one Ethernet segment.
 *
 * `answer(frame)` looks at one frame from the client: null means "not for the services, send it
 * into the fabric"; otherwise the frames to send back to the client (possibly none, for a DHCP
 * message that needs no reply), and the frame stays out of the fabric.
 */
import type { HostConfig, Topology } from '../src/topology/schema.js';
import { ARP_FRAME_LEN, ArpOp, ArpView, buildArp } from '../src/wire/arp.js';
import {
  DHCP_CLIENT_PORT,
  DHCP_REPLY_MAX_LEN,
  DHCP_SERVER_PORT,
  DhcpMessageType,
  DhcpOp,
  emitDhcpReply,
  parseDhcp,
} from '../src/wire/dhcp.js';
import { DNS_PORT, DnsClass, DnsRcode, DnsType, dnsResponseLen, emitDnsResponse, parseDnsQuery } from '../src/wire/dns.js';
import { EtherType, EthernetView } from '../src/wire/ethernet.js';
import { IpProtocol, Ipv4View } from '../src/wire/ipv4.js';
import { BROADCAST_MAC } from '../src/wire/mac.js';
import { UDP4_PAYLOAD_OFFSET, UdpView, buildUdp4, finishUdp4Checksum } from '../src/wire/udp.js';

/** A locally administered MAC no host gets by default (defaults are 02:e0:00:…). */
export const SERVICE_MAC = 0x02_e0_ff_ff_ff_fe;
/** Leases never run out while the rack runs; a day keeps guests from renewing often. */
const LEASE_S = 86_400;
const DNS_TTL_S = 60;
const BROADCAST_IP = 0xffff_ffff;

/** What the services counted (shown per host in the status). */
export class ServiceCounters {
  dhcpOffers = 0;
  dhcpAcks = 0;
  dhcpNaks = 0;
  dnsAnswers = 0;
  dnsNxDomain = 0;
  arpReplies = 0;
  /** Messages for the services that could not be parsed (counted, not answered). */
  malformed = 0;
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffff_ffff << (32 - prefix)) >>> 0;
}

/** The service address for `host`: the highest address of its subnet that no host uses; null if none. */
export function serviceAddressFor(host: HostConfig, topo: Topology): number | null {
  const mask = maskOf(host.ipv4.prefix);
  const net = (host.ipv4.addr & mask) >>> 0;
  const bcast = (net | (~mask >>> 0)) >>> 0;
  const used = new Set(topo.hosts.map((h) => h.ipv4.addr));
  // A /31 or /32 has no room for a third address.
  for (let a = bcast - 1; a > net && a >= bcast - 16; a--) if (!used.has(a)) return a;
  return null;
}

export class RackServices {
  readonly c = new ServiceCounters();
  readonly serviceIp: number | null;
  private readonly names = new Map<string, HostConfig>();
  private readonly out = new Uint8Array(1600);

  constructor(
    private readonly host: HostConfig,
    topo: Topology,
  ) {
    this.serviceIp = serviceAddressFor(host, topo);
    const rack = topo.name.toLowerCase();
    for (const h of topo.hosts) {
      if (h.attach === 'uplink') continue; // a port to another rack: it has no address anyone answers at
      const n = h.name.toLowerCase();
      for (const alias of [n, `${n}.${rack}`, `${n}.${rack}.eop`]) this.names.set(alias, h);
    }
  }

  /** The domain handed out by DHCP (search domain for short names). */
  get domain(): string {
    return 'eop';
  }

  /** Replies for a frame from the client, or null if the frame is not for the services. */
  answer(frame: Uint8Array): Uint8Array[] | null {
    if (this.serviceIp === null || frame.length < 14) return null;
    const eth = new EthernetView(frame);
    if (eth.isTagged()) return null;
    const type = eth.etherType();
    if (type === EtherType.ARP) return this.arp(frame);
    if (type !== EtherType.IPv4) return null;
    let ip: Ipv4View;
    let udp: UdpView;
    try {
      ip = Ipv4View.checked(frame.subarray(14));
      if (ip.protocol() !== IpProtocol.UDP || ip.isFragment()) return null;
      udp = UdpView.checked(ip.buf.subarray(ip.headerLen(), ip.totalLen()));
    } catch {
      return null; // not ours to judge: the fabric carries it and the receiver counts it
    }
    const dst = ip.dst();
    if (udp.dstPort() === DHCP_SERVER_PORT && udp.srcPort() === DHCP_CLIENT_PORT && (dst === BROADCAST_IP || dst === this.serviceIp)) {
      return this.dhcp(udp.payload());
    }
    if (udp.dstPort() === DNS_PORT && dst === this.serviceIp) return this.dns(eth.src(), ip.src(), udp.srcPort(), udp.payload());
    return null;
  }

  private arp(frame: Uint8Array): Uint8Array[] | null {
    let a: ArpView;
    try {
      a = ArpView.checked(frame.subarray(14));
    } catch {
      return null;
    }
    if (a.op() !== ArpOp.Request || a.targetIp() !== this.serviceIp) return null;
    const n = buildArp(this.out, {
      op: ArpOp.Reply,
      dstMac: a.senderMac(),
      senderMac: SERVICE_MAC,
      senderIp: this.serviceIp,
      targetMac: a.senderMac(),
      targetIp: a.senderIp(),
    });
    this.c.arpReplies++;
    return [this.out.slice(0, Math.max(n, ARP_FRAME_LEN))];
  }

  private dhcp(msg: Uint8Array): Uint8Array[] {
    let req;
    try {
      req = parseDhcp(msg);
    } catch {
      this.c.malformed++;
      return [];
    }
    if (req.op !== DhcpOp.Request) return [];
    let type: number;
    if (req.messageType === DhcpMessageType.Discover) type = DhcpMessageType.Offer;
    else if (req.messageType === DhcpMessageType.Request) {
      // A request for another server's offer, or for an address that is not this host's: NAK.
      const wanted = req.requestedIp ?? req.ciaddr;
      const otherServer = req.serverId !== null && req.serverId !== this.serviceIp;
      if (otherServer) return [];
      type = wanted === this.host.ipv4.addr || wanted === 0 ? DhcpMessageType.Ack : DhcpMessageType.Nak;
    } else return []; // release, decline, inform: nothing to hand out
    const payload = new Uint8Array(DHCP_REPLY_MAX_LEN);
    const len = emitDhcpReply(
      {
        messageType: type,
        xid: req.xid,
        chaddr: req.chaddr,
        yiaddr: this.host.ipv4.addr,
        serverIp: this.serviceIp!,
        subnetMask: maskOf(this.host.ipv4.prefix),
        router: null,
        dnsServer: this.serviceIp!,
        domainName: this.domain,
        leaseTimeS: LEASE_S,
      },
      payload,
      0,
    );
    if (type === DhcpMessageType.Offer) this.c.dhcpOffers++;
    else if (type === DhcpMessageType.Ack) this.c.dhcpAcks++;
    else this.c.dhcpNaks++;
    const n = buildUdp4(this.out, {
      srcMac: SERVICE_MAC,
      dstMac: BROADCAST_MAC,
      srcIp: this.serviceIp!,
      dstIp: BROADCAST_IP,
      srcPort: DHCP_SERVER_PORT,
      dstPort: DHCP_CLIENT_PORT,
      payload: payload.subarray(0, len),
    });
    return [this.out.slice(0, n)];
  }

  private dns(clientMac: number, clientIp: number, clientPort: number, msg: Uint8Array): Uint8Array[] {
    let q;
    try {
      q = parseDnsQuery(msg);
    } catch {
      this.c.malformed++;
      return [];
    }
    const h = this.names.get(q.name.replace(/\.$/, ''));
    let address: Uint8Array | null = null;
    let rcode: number = DnsRcode.NoError;
    if (!h) rcode = DnsRcode.NxDomain;
    else if (q.qclass === DnsClass.IN && q.qtype === DnsType.A) {
      const a = h.ipv4.addr;
      address = Uint8Array.of(a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255);
    } else if (q.qclass === DnsClass.IN && q.qtype === DnsType.AAAA) address = h.ipv6.bytes;
    const answer = { rcode, address, ttlS: DNS_TTL_S };
    const len = dnsResponseLen(q, answer);
    if (UDP4_PAYLOAD_OFFSET + len > this.out.length) {
      this.c.malformed++;
      return [];
    }
    const n = buildUdp4(this.out, {
      srcMac: SERVICE_MAC,
      dstMac: clientMac,
      srcIp: this.serviceIp!,
      dstIp: clientIp,
      srcPort: DNS_PORT,
      dstPort: clientPort,
      payloadLen: len,
    });
    emitDnsResponse(q, answer, this.out, UDP4_PAYLOAD_OFFSET);
    // Checksum after the payload is in place.
    finishUdp4Checksum(this.out, n);
    if (rcode === DnsRcode.NxDomain) this.c.dnsNxDomain++;
    else this.c.dnsAnswers++;
    return [this.out.slice(0, n)];
  }
}
