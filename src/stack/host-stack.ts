/**
 * HostStack: the minimal IPv4/IPv6 host that answers on an EOP interface when nothing else (TAP,
 * WebSocket) is attached to it, and the home of the traffic generators.
 *
 * Receive (`receive`, installed with `port.setReceiver`):
 *   Ethernet → accepted if addressed to our MAC, broadcast, or one of our IPv6 multicast groups
 *   (all-nodes, solicited-node of our two addresses); other unicast is `not-for-us`.
 *   ARP      → answer requests for our IPv4; learn the sender of requests and replies addressed to
 *              us (and refresh a sender we already know from any ARP).
 *   IPv4     → header checksum; our address or broadcast; no fragments. ICMP echo is answered
 *              (unicast only), echo replies go to the pinger with their identifier. UDP: port 7
 *              echoes to the sender, port 9 and `openSink` ports feed the sink.
 *   IPv6     → our global or link-local address, or a group we joined. NDP (hop limit 255): NS
 *              for either address is answered with a solicited NA and teaches us the asker; NA
 *              completes a resolution in progress. Echo and UDP as for IPv4, through the same
 *              code: each family checks its header and addressing, then both share the handlers.
 *   Every checksum is verified (BAD_CHECKSUM). Anything a checked view rejects is counted by its
 *   EopError code, anything unwanted by a `StackDrop` reason, in `drops`; nothing throws out of
 *   `receive`. Replies go to the Ethernet source of the request, without a cache lookup.
 * Transmit: frames are built in place (stack replies in one reusable buffer of mtu + 18 bytes,
 *   generators in their own) and handed to `port.transmit`, which copies them at once. Frames to
 *   an address not yet resolved wait in the neighbour cache (see neighbor-cache.ts).
 */
import { DropCounters, EopError, ErrorCode, StackDrop } from '../errors.js';
import type { FramePort, FrameReceiver, TxMeta } from '../eop/frame-port.js';
import type { Logger } from '../log.js';
import type { Scheduler } from '../time/scheduler.js';
import type { Bytes } from '../time/units.js';
import {
  ArpOp,
  ArpView,
  BROADCAST_MAC,
  buildArp,
  buildIcmpv4Echo,
  buildIcmpv6Echo,
  buildNeighborAdvertisement,
  buildNeighborSolicitation,
  buildUdp4,
  buildUdp6,
  EthernetView,
  EtherType,
  formatIpv4,
  formatIpv6,
  Icmpv4Type,
  Icmpv4View,
  Icmpv6Type,
  Icmpv6View,
  IpProtocol,
  IPV6_DST_OFFSET,
  IPV6_HEADER_LEN,
  IPV6_SRC_OFFSET,
  Ipv4View,
  ipv6Equal,
  ipv6MulticastMac,
  Ipv6View,
  isIpv6Multicast,
  isIpv6Unspecified,
  isMulticastMac,
  linkLocalFromMac,
  NDP_HOP_LIMIT,
  NdpOption,
  parseIpv6,
  solicitedNodeMulticast,
  UdpView,
  writeMac,
  type ArpFrameOptions,
  type Icmpv4EchoOptions,
  type Icmpv6EchoOptions,
  type NeighborAdvertisementOptions,
  type NeighborSolicitationOptions,
  type Udp4Options,
  type Udp6Options,
} from '../wire/index.js';
import { NeighborCache, type NeighborCacheOptions, type NeighborEntry, type ResolveCallback } from './neighbor-cache.js';
import type { GeneratorHost } from './generator-host.js';
import { Pinger, type PingOptions } from './ping.js';
import { UdpSink, type SinkFlowStats } from './udp-sink.js';
import { UdpStream, type UdpStreamOptions } from './udp-stream.js';

export interface HostStackOptions {
  port: FramePort;
  sched: Scheduler;
  /** Our MAC (normally `port.mac`). */
  mac: number;
  ipv4: { addr: number; prefix: number };
  /** Global (or unique-local) IPv6 address; the link-local one is derived from the MAC. */
  ipv6: { bytes: Uint8Array; prefix: number };
  log?: Logger;
  /** For logs and messages, e.g. the host name. */
  name: string;
  neighbor?: NeighborCacheOptions;
}

/** Reasons (besides ErrorCode values) under which `HostStack.drops` counts received frames (src/errors.ts). */
export { StackDrop };

export class ProtoCounters {
  arp = 0;
  icmp = 0;
  icmp6 = 0;
  ndp = 0;
  udp = 0;
  other = 0;
}

export class StackCounters {
  rxFrames = 0;
  rxBytes: Bytes = 0;
  /** Frames handed to the interface (accepted or not). */
  txFrames = 0;
  txBytes: Bytes = 0;
  /** `port.transmit` returned false (the interface counts why). */
  txRejected = 0;
  /** Received frames that passed the checks, by protocol (NDP apart from other ICMPv6). */
  readonly rx = new ProtoCounters();
  /** Frames handed to the interface, by protocol. */
  readonly tx = new ProtoCounters();
  echoRequestsAnswered = 0;
  udpEchoed = 0;
}

/** Echo (RFC 862) and discard (RFC 863) ports. */
export const UDP_ECHO_PORT = 7;
export const UDP_DISCARD_PORT = 9;

const ALL_NODES = parseIpv6('ff02::1')!;
const EMPTY = new Uint8Array(0);
const FIRST_EPHEMERAL_PORT = 49152;

/**
 * The IP layer's findings on the datagram being received, for the protocol handlers both families
 * share. One per stack, overwritten by every frame; valid only during `receive` (the IPv6 fields
 * are views into the frame).
 */
class RxDatagram {
  family: 4 | 6 = 4;
  /** Sent to one of our unicast addresses (not a broadcast or a group). */
  unicast = false;
  /** The IP datagram's length, header included: an echo reply is as long. */
  ipBytes = 0;
  src4 = 0;
  dst4 = 0;
  /** IPv6: the header (the sink reads the source in place), source and destination. */
  ip6: Uint8Array = EMPTY;
  src6: Uint8Array = EMPTY;
  dst6: Uint8Array = EMPTY;
  /** IPv6: our address the datagram was sent to, the source of any reply. */
  replySrc6: Uint8Array = EMPTY;
}

export class HostStack implements GeneratorHost {
  readonly name: string;
  readonly port: FramePort;
  readonly sched: Scheduler;
  readonly mac: number;
  readonly mtu: number;
  readonly ipv4Addr: number;
  readonly ipv4Prefix: number;
  readonly ipv6Addr: Uint8Array;
  readonly ipv6Prefix: number;
  readonly linkLocal: Uint8Array;
  readonly drops = new DropCounters();
  readonly counters = new StackCounters();
  readonly neighbors: NeighborCache;
  readonly sink = new UdpSink();
  private readonly log: Logger | null;

  private readonly ipv4Broadcast: number;
  private readonly ipv4Mask: number;
  /** Multicast MACs we accept: all-nodes and the solicited-node groups of our two addresses. */
  private readonly groupMacs: number[];
  /** Solicited-node groups of our global and link-local addresses (accepted as destinations). */
  private readonly snGlobal: Uint8Array;
  private readonly snLinkLocal: Uint8Array;
  private readonly sinkPorts = new Set<number>([UDP_DISCARD_PORT]);
  private readonly pingers = new Map<number, Pinger>();
  private nextPingId = 1;
  private nextStreamId = 1;
  private nextEphemeral = FIRST_EPHEMERAL_PORT;

  // Transmit: one buffer, one meta object, and one options object per builder, all reused.
  private readonly rxd = new RxDatagram();
  private readonly tx: Uint8Array;
  private txView: Uint8Array;
  private readonly meta: TxMeta = { alignOffset: 0 };
  private readonly arpOpts: ArpFrameOptions;
  private readonly echo4: Icmpv4EchoOptions;
  private readonly echo6: Icmpv6EchoOptions;
  private readonly nsOpts: NeighborSolicitationOptions;
  private readonly naOpts: NeighborAdvertisementOptions;
  private readonly udp4: Udp4Options;
  private readonly udp6: Udp6Options;

  constructor(o: HostStackOptions) {
    if (o.ipv4.prefix < 0 || o.ipv4.prefix > 32) throw new Error(`${o.name}: IPv4 prefix ${o.ipv4.prefix}`);
    if (o.ipv6.prefix < 0 || o.ipv6.prefix > 128 || o.ipv6.bytes.length !== 16) {
      throw new Error(`${o.name}: IPv6 address needs 16 bytes and a prefix of 0..128`);
    }
    this.name = o.name;
    this.port = o.port;
    this.sched = o.sched;
    this.mac = o.mac;
    this.mtu = o.port.mtu;
    this.log = o.log ?? null;
    this.ipv4Addr = o.ipv4.addr >>> 0;
    this.ipv4Prefix = o.ipv4.prefix;
    this.ipv4Mask = o.ipv4.prefix === 0 ? 0 : (0xffffffff << (32 - o.ipv4.prefix)) >>> 0;
    this.ipv4Broadcast = (this.ipv4Addr | ~this.ipv4Mask) >>> 0;
    this.ipv6Addr = o.ipv6.bytes.slice();
    this.ipv6Prefix = o.ipv6.prefix;
    this.linkLocal = linkLocalFromMac(o.mac);
    this.snGlobal = solicitedNodeMulticast(this.ipv6Addr);
    this.snLinkLocal = solicitedNodeMulticast(this.linkLocal);
    this.groupMacs = [ipv6MulticastMac(ALL_NODES), ipv6MulticastMac(this.snGlobal), ipv6MulticastMac(this.snLinkLocal)];
    this.tx = new Uint8Array(this.mtu + 18);
    this.txView = this.tx;

    const mac = o.mac;
    this.arpOpts = { dstMac: 0, op: 0, senderMac: mac, senderIp: this.ipv4Addr, targetMac: 0, targetIp: 0 };
    this.echo4 = { srcMac: mac, dstMac: 0, srcIp: this.ipv4Addr, dstIp: 0, type: 'reply', id: 0, seq: 0, payload: EMPTY };
    this.echo6 = { srcMac: mac, dstMac: 0, srcIp: this.ipv6Addr, dstIp: this.ipv6Addr, type: 'reply', id: 0, seq: 0, payload: EMPTY };
    this.nsOpts = { srcMac: mac, srcIp: this.ipv6Addr, targetIp: this.ipv6Addr };
    this.naOpts = {
      srcMac: mac,
      dstMac: 0,
      srcIp: this.ipv6Addr,
      dstIp: this.ipv6Addr,
      targetIp: this.ipv6Addr,
      solicited: true,
      override: true,
    };
    this.udp4 = { srcMac: mac, dstMac: 0, srcIp: this.ipv4Addr, dstIp: 0, srcPort: 0, dstPort: 0, payload: EMPTY };
    this.udp6 = { srcMac: mac, dstMac: 0, srcIp: this.ipv6Addr, dstIp: this.ipv6Addr, srcPort: 0, dstPort: 0, payload: EMPTY };

    this.neighbors = new NeighborCache(
      o.sched,
      this.drops,
      { solicit: (e) => this.solicit(e), transmit: (f, align) => void this.sendFrame(f, align) },
      o.neighbor,
    );
    o.port.setReceiver(this.receive);
  }

  // ------------------------------------------------------------------------------ public API

  /** Open a sink port: datagrams to it are checked and counted per source (see UdpSink). */
  openSink(port: number): void {
    if (!Number.isInteger(port) || port < 1 || port > 65535 || port === UDP_ECHO_PORT) {
      throw new EopError(ErrorCode.USAGE, `${this.name}: cannot open UDP port ${port} as a sink`);
    }
    this.sinkPorts.add(port);
  }

  closeSink(port: number): void {
    if (port !== UDP_DISCARD_PORT) this.sinkPorts.delete(port);
  }

  /** What the sink saw from (srcIp, srcPort), if anything. */
  sinkStats(srcIp: number | Uint8Array, srcPort: number): SinkFlowStats | undefined {
    return this.sink.get(srcIp, srcPort);
  }

  /** Every flow the sink saw, in order of first arrival. */
  sinkFlows(): readonly SinkFlowStats[] {
    return this.sink.flows();
  }

  /** Start pinging (the first request leaves at the current virtual time, as an event). */
  ping(o: PingOptions): Pinger {
    let id = this.nextPingId;
    for (let i = 0; i < 65535 && this.pingers.get(id)?.done === false; i++) id = (id % 65535) + 1;
    const p = new Pinger(this, id, o);
    this.nextPingId = (id % 65535) + 1;
    this.pingers.set(id, p);
    return p;
  }

  /** Start a UDP stream (resolution first, then datagrams from `startNs`). */
  udpStream(o: UdpStreamOptions): UdpStream {
    const id = (((this.mac & 0xffff) << 16) | (this.nextStreamId & 0xffff)) >>> 0;
    const s = new UdpStream(this, id, o);
    this.nextStreamId++;
    return s;
  }

  /** `10.11.0.1/24 fd00:e0::1/64 fe80::…` for logs. */
  toString(): string {
    const v4 = `${formatIpv4(this.ipv4Addr)}/${this.ipv4Prefix}`;
    return `${this.name} ${v4} ${formatIpv6(this.ipv6Addr)}/${this.ipv6Prefix} ${formatIpv6(this.linkLocal)}`;
  }

  // ---------------------------------------------------------- for the generators (ping, udp)

  /** Next ephemeral UDP port (49152..65535, wrapping). */
  ephemeralPort(): number {
    const p = this.nextEphemeral;
    this.nextEphemeral = p === 65535 ? FIRST_EPHEMERAL_PORT : p + 1;
    return p;
  }

  /** Source address for an IPv6 destination: link-local for fe80::/10, else the global one. */
  ipv6SourceFor(dst: Uint8Array): Uint8Array {
    return isLinkLocal(dst) ? this.linkLocal : this.ipv6Addr;
  }

  /**
   * Throws EopError(USAGE) unless `dst` is a unicast address on our link other than our own:
   * the stack has no router and no loopback.
   */
  checkOnLink(dst: number | Uint8Array, what: string): void {
    let why: string | null = null;
    let text: string;
    if (typeof dst === 'number') {
      text = formatIpv4(dst);
      if (dst >>> 0 === this.ipv4Addr) why = 'is our own address (no loopback)';
      else if (((dst ^ this.ipv4Addr) & this.ipv4Mask) >>> 0 !== 0) {
        why = `is not in our subnet ${formatIpv4((this.ipv4Addr & this.ipv4Mask) >>> 0)}/${this.ipv4Prefix} (no router)`;
      } else if (dst >>> 0 === this.ipv4Broadcast) why = 'is the broadcast address';
    } else {
      if (dst.length !== 16) throw new EopError(ErrorCode.USAGE, `${this.name}: ${what}: IPv6 address needs 16 bytes`);
      text = formatIpv6(dst);
      if (ipv6Equal(dst, this.ipv6Addr) || ipv6Equal(dst, this.linkLocal)) why = 'is our own address (no loopback)';
      else if (isIpv6Multicast(dst) || isIpv6Unspecified(dst)) why = 'is not a unicast address';
      else if (!isLinkLocal(dst) && !samePrefix(dst, this.ipv6Addr, this.ipv6Prefix)) {
        why = `is not in our prefix /${this.ipv6Prefix} nor link-local (no router)`;
      }
    }
    if (why) throw new EopError(ErrorCode.USAGE, `${this.name}: ${what} destination ${text} ${why}`);
  }

  /** Calls `cb` with the MAC of `dst` when known (at once if it is), or null if it never resolves. */
  resolveNeighbor(dst: number | Uint8Array, cb: ResolveCallback): NeighborEntry | null {
    return typeof dst === 'number' ? this.neighbors.resolve4(dst, cb) : this.neighbors.resolve6(dst, cb);
  }

  sendIp(buf: Uint8Array, len: number, dst: number | Uint8Array, alignOffset = 0): boolean {
    const v4 = typeof dst === 'number';
    const e = v4 ? this.neighbors.get4(dst) : this.neighbors.get6(dst);
    if (e && e.reachable) {
      writeMac(buf, 0, e.mac);
      return this.sendFrame(len === buf.length ? buf : buf.subarray(0, len), alignOffset);
    }
    return v4 ? this.neighbors.enqueue4(dst, buf, len, alignOffset) : this.neighbors.enqueue6(dst, buf, len, alignOffset);
  }

  /** Hand a complete frame to the interface, counting it by protocol. */
  sendFrame(frame: Uint8Array, alignOffset: number): boolean {
    const c = this.counters;
    c.txFrames++;
    c.txBytes += frame.length;
    countProto(c.tx, frame);
    this.meta.alignOffset = alignOffset;
    if (this.port.transmit(frame, this.meta)) return true;
    c.txRejected++;
    return false;
  }

  // ------------------------------------------------------------------------------ receive

  /** The frame receiver installed on the port; also the place to inject frames in tests. */
  readonly receive: FrameReceiver = (frame: Uint8Array): void => {
    try {
      this.rx(frame);
    } catch (e) {
      if (e instanceof EopError) {
        this.drops.add(e.code);
        this.log?.warn(this.name, `dropped a received frame: ${e.message}`, e.code);
      } else {
        this.drops.add(StackDrop.INTERNAL);
        this.log?.error(this.name, `stack bug on receive: ${e instanceof Error ? e.stack ?? e.message : String(e)}`, StackDrop.INTERNAL);
      }
    }
  };

  private rx(frame: Uint8Array): void {
    const c = this.counters;
    c.rxFrames++;
    c.rxBytes += frame.length;
    const eth = EthernetView.checked(frame);
    const dst = eth.dst();
    if (dst !== this.mac && dst !== BROADCAST_MAC && !(isMulticastMac(dst) && this.groupMacs.includes(dst))) {
      this.drops.add(StackDrop.NOT_FOR_US);
      return;
    }
    if (eth.isTagged()) {
      this.drops.add(StackDrop.VLAN_TAGGED);
      return;
    }
    switch (eth.etherType()) {
      case EtherType.ARP:
        this.rxArp(eth, ArpView.checked(eth.payload()));
        return;
      case EtherType.IPv4:
        this.rxIpv4(eth, Ipv4View.checked(eth.payload()));
        return;
      case EtherType.IPv6:
        this.rxIpv6(eth, Ipv6View.checked(eth.payload()));
        return;
      default:
        this.drops.add(StackDrop.UNKNOWN_ETHERTYPE);
    }
  }

  private rxArp(eth: EthernetView, a: ArpView): void {
    this.counters.rx.arp++;
    const op = a.op();
    if (op !== ArpOp.Request && op !== ArpOp.Reply) {
      this.drops.add(StackDrop.ARP_UNKNOWN_OP);
      return;
    }
    const senderIp = a.senderIp();
    const senderMac = a.senderMac();
    const forUs = a.targetIp() === this.ipv4Addr;
    // RFC 826: refresh a sender we know from any ARP; create an entry only when addressed to us.
    // A probe (sender 0.0.0.0) or a claim of our own address teaches nothing.
    if (senderIp !== 0 && senderIp !== this.ipv4Addr && !isMulticastMac(senderMac)) {
      this.neighbors.learn4(senderIp, senderMac, forUs);
    }
    if (!forUs) {
      this.drops.add(StackDrop.ARP_OTHER_TARGET);
      return;
    }
    if (op !== ArpOp.Request) return;
    const o = this.arpOpts;
    o.op = ArpOp.Reply;
    o.dstMac = eth.src();
    o.targetMac = senderMac;
    o.targetIp = senderIp;
    this.sendFrame(this.txFrame(buildArp(this.tx, o)), 0);
  }

  // IPv4 and IPv6 each check their own header and addressing into `rxd`, then share the
  // protocol handlers below (echo, UDP echo and sink); only NDP is IPv6's alone.

  private rxIpv4(eth: EthernetView, ip: Ipv4View): void {
    if (!ip.verifyChecksum()) throw new EopError(ErrorCode.BAD_CHECKSUM, 'IPv4 header checksum');
    const dst = ip.dst();
    const unicast = dst === this.ipv4Addr;
    if (!unicast && dst !== 0xffffffff && dst !== this.ipv4Broadcast) {
      this.drops.add(StackDrop.IP_NOT_FOR_US);
      return;
    }
    if (ip.isFragment()) {
      this.drops.add(StackDrop.IPV4_FRAGMENT);
      return;
    }
    const d = this.rxd;
    d.family = 4;
    d.unicast = unicast;
    d.ipBytes = ip.totalLen();
    d.src4 = ip.src();
    d.dst4 = dst;
    switch (ip.protocol()) {
      case IpProtocol.ICMP: {
        const m = Icmpv4View.checked(ip.payload());
        if (!m.verifyChecksum()) throw new EopError(ErrorCode.BAD_CHECKSUM, 'ICMPv4 checksum');
        this.counters.rx.icmp++;
        const t = m.type();
        this.rxEcho(eth, m, t === Icmpv4Type.EchoRequest, t === Icmpv4Type.EchoReply);
        return;
      }
      case IpProtocol.UDP:
        this.rxUdp(eth, UdpView.checked(ip.payload()));
        return;
      default:
        this.drops.add(StackDrop.UNKNOWN_IP_PROTOCOL);
    }
  }

  private rxIpv6(eth: EthernetView, ip: Ipv6View): void {
    const b = ip.buf;
    const o = IPV6_DST_OFFSET;
    const toLinkLocal = eq16(b, o, this.linkLocal);
    const unicast = toLinkLocal || eq16(b, o, this.ipv6Addr);
    if (!unicast && !eq16(b, o, ALL_NODES) && !eq16(b, o, this.snGlobal) && !eq16(b, o, this.snLinkLocal)) {
      this.drops.add(StackDrop.IP_NOT_FOR_US);
      return;
    }
    const nh = ip.nextHeader();
    if (nh !== IpProtocol.ICMPv6 && nh !== IpProtocol.UDP) {
      this.drops.add(StackDrop.UNKNOWN_IP_PROTOCOL);
      return;
    }
    const d = this.rxd;
    d.family = 6;
    d.unicast = unicast;
    d.ipBytes = IPV6_HEADER_LEN + ip.payloadLen();
    d.ip6 = b;
    d.src6 = ip.src();
    d.dst6 = ip.dst();
    // A reply comes from the address the request was sent to.
    d.replySrc6 = toLinkLocal ? this.linkLocal : this.ipv6Addr;
    if (nh === IpProtocol.UDP) this.rxUdp(eth, UdpView.checked(ip.payload()));
    else this.rxIcmpv6(eth, ip, Icmpv6View.checked(ip.payload()));
  }

  private rxIcmpv6(eth: EthernetView, ip: Ipv6View, m: Icmpv6View): void {
    const d = this.rxd;
    if (!m.verifyChecksum(d.src6, d.dst6)) throw new EopError(ErrorCode.BAD_CHECKSUM, 'ICMPv6 checksum');
    const type = m.type();
    if (type === Icmpv6Type.NeighborSolicitation || type === Icmpv6Type.NeighborAdvertisement) {
      this.counters.rx.ndp++;
      if (ip.hopLimit() !== NDP_HOP_LIMIT) {
        this.drops.add(StackDrop.NDP_BAD_HOP_LIMIT);
        return;
      }
      if (m.code() !== 0) {
        this.drops.add(StackDrop.NDP_BAD_CODE);
        return;
      }
      const target = m.target();
      const ours = ipv6Equal(target, this.ipv6Addr) || ipv6Equal(target, this.linkLocal);
      if (type === Icmpv6Type.NeighborSolicitation) this.rxNs(eth, d.src6, m, target, ours);
      else this.rxNa(eth, m, target);
      return;
    }
    this.counters.rx.icmp6++;
    this.rxEcho(eth, m, type === Icmpv6Type.EchoRequest, type === Icmpv6Type.EchoReply);
  }

  private rxNs(eth: EthernetView, src: Uint8Array, m: Icmpv6View, target: Uint8Array, ours: boolean): void {
    if (!ours) {
      this.drops.add(StackDrop.NDP_OTHER_TARGET);
      return;
    }
    const dad = isIpv6Unspecified(src);
    const sllao = m.linkLayerOption(NdpOption.SourceLinkLayerAddr);
    const asker = sllao ?? eth.src();
    if (!dad && sllao !== null) this.neighbors.learn6(src, sllao, true);
    const o = this.naOpts;
    const ll = ipv6Equal(target, this.linkLocal);
    o.srcIp = ll ? this.linkLocal : this.ipv6Addr;
    o.targetIp = o.srcIp;
    // RFC 4861 §7.2.4: a DAD probe (from ::) gets an unsolicited NA to all-nodes.
    o.dstIp = dad ? ALL_NODES : src;
    o.dstMac = dad ? ipv6MulticastMac(ALL_NODES) : asker;
    o.solicited = !dad;
    const len = buildNeighborAdvertisement(this.tx, o);
    o.dstIp = this.ipv6Addr;
    this.sendFrame(this.txFrame(len), 0);
  }

  private rxNa(eth: EthernetView, m: Icmpv6View, target: Uint8Array): void {
    const mac = m.linkLayerOption(NdpOption.TargetLinkLayerAddr) ?? eth.src();
    if (!this.neighbors.learn6(target, mac, false)) this.drops.add(StackDrop.NA_UNSOLICITED);
  }

  /** ICMP or ICMPv6 echo: requests are answered, replies go to the pinger with their identifier. */
  private rxEcho(eth: EthernetView, m: Icmpv4View | Icmpv6View, request: boolean, reply: boolean): void {
    if (request) {
      if (!this.mayEcho()) return;
      const d = this.rxd;
      const o = d.family === 4 ? this.replyTo4(this.echo4, eth) : this.replyTo6(this.echo6, eth);
      o.id = m.echoId();
      o.seq = m.echoSeq();
      o.payload = m.data();
      const len = d.family === 4 ? buildIcmpv4Echo(this.tx, this.echo4) : buildIcmpv6Echo(this.tx, this.echo6);
      this.replySent();
      this.counters.echoRequestsAnswered++;
      this.sendFrame(this.txFrame(len), 0);
    } else if (reply) this.echoReply(this.rxd.family, m.echoId(), m.echoSeq(), m.data());
    else this.drops.add(StackDrop.UNKNOWN_ICMP_TYPE);
  }

  /** UDP over either family: port 7 echoes, sink ports feed the sink, anything else is closed. */
  private rxUdp(eth: EthernetView, u: UdpView): void {
    const d = this.rxd;
    const v4 = d.family === 4;
    if (!(v4 ? u.verifyChecksum4(d.src4, d.dst4) : u.verifyChecksum6(d.src6, d.dst6))) {
      throw new EopError(ErrorCode.BAD_CHECKSUM, 'UDP checksum');
    }
    this.counters.rx.udp++;
    const dstPort = u.dstPort();
    if (dstPort === UDP_ECHO_PORT) {
      if (!this.mayEcho()) return;
      const o = v4 ? this.replyTo4(this.udp4, eth) : this.replyTo6(this.udp6, eth);
      o.srcPort = dstPort;
      o.dstPort = u.srcPort();
      o.payload = u.payload();
      const len = v4 ? buildUdp4(this.tx, this.udp4) : buildUdp6(this.tx, this.udp6);
      this.replySent();
      this.counters.udpEchoed++;
      this.sendFrame(this.txFrame(len), 0);
      return;
    }
    if (!this.sinkPorts.has(dstPort)) {
      this.drops.add(StackDrop.UDP_PORT_CLOSED);
      return;
    }
    const now = this.sched.now;
    const taken = v4
      ? this.sink.receive4(d.src4, u.srcPort(), dstPort, u.payload(), now)
      : this.sink.receive6(d.ip6, IPV6_SRC_OFFSET, u.srcPort(), dstPort, u.payload(), now);
    if (!taken) this.drops.add(StackDrop.SINK_FLOWS_FULL);
  }

  /** An echo (ICMP or UDP) is answered only to unicast, and only if the reply fits our MTU. */
  private mayEcho(): boolean {
    if (!this.rxd.unicast) {
      this.drops.add(StackDrop.ECHO_TO_GROUP);
      return false;
    }
    if (this.rxd.ipBytes > this.mtu) {
      this.drops.add(StackDrop.REPLY_TOO_BIG);
      return false;
    }
    return true;
  }

  /** Addresses reply options back to the sender of the IPv4 datagram being received. */
  private replyTo4<O extends { dstMac: number; dstIp: number }>(o: O, eth: EthernetView): O {
    o.dstMac = eth.src();
    o.dstIp = this.rxd.src4;
    return o;
  }

  /** Addresses reply options back to the sender of the IPv6 datagram being received. */
  private replyTo6<O extends { dstMac: number; srcIp: Uint8Array; dstIp: Uint8Array }>(o: O, eth: EthernetView): O {
    o.dstMac = eth.src();
    o.srcIp = this.rxd.replySrc6;
    o.dstIp = this.rxd.src6;
    return o;
  }

  /** The reply is built: drop the options' references into the received frame (emulated memory). */
  private replySent(): void {
    this.echo4.payload = this.echo6.payload = this.udp4.payload = this.udp6.payload = EMPTY;
    this.echo6.dstIp = this.udp6.dstIp = this.ipv6Addr;
  }

  private echoReply(family: 4 | 6, id: number, seq: number, data: Uint8Array): void {
    const p = this.pingers.get(id);
    if (!p || p.family !== family) {
      this.drops.add(StackDrop.ECHO_REPLY_UNMATCHED);
      return;
    }
    p.onReply(seq, data);
  }

  // ------------------------------------------------------------------------------ transmit

  /** ARP request or neighbour solicitation for a pending cache entry. */
  private solicit(e: NeighborEntry): void {
    let len: number;
    if (e.family === 4) {
      const o = this.arpOpts;
      o.op = ArpOp.Request;
      o.dstMac = BROADCAST_MAC;
      o.targetMac = 0;
      o.targetIp = e.ipv4;
      len = buildArp(this.tx, o);
    } else {
      const o = this.nsOpts;
      o.srcIp = this.ipv6SourceFor(e.ipv6!);
      o.targetIp = e.ipv6!;
      len = buildNeighborSolicitation(this.tx, o);
    }
    this.sendFrame(this.txFrame(len), 0);
  }

  /** `tx[0, len)`, reusing the last view when the length repeats. */
  private txFrame(len: number): Uint8Array {
    if (this.txView.length !== len) this.txView = this.tx.subarray(0, len);
    return this.txView;
  }
}

function eq16(buf: Uint8Array, off: number, addr: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (buf[off + i] !== addr[i]) return false;
  return true;
}

function isLinkLocal(a: Uint8Array): boolean {
  return a[0] === 0xfe && (a[1]! & 0xc0) === 0x80;
}

function samePrefix(a: Uint8Array, b: Uint8Array, prefix: number): boolean {
  const whole = prefix >>> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false;
  const rest = prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (a[whole]! & mask) === (b[whole]! & mask);
}

/** Which protocol counter a frame we send belongs to (reads a few fixed offsets, no views). */
function countProto(c: ProtoCounters, f: Uint8Array): void {
  const type = (f[12]! << 8) | f[13]!;
  if (type === EtherType.ARP) c.arp++;
  else if (type === EtherType.IPv4) {
    const p = f[23];
    if (p === IpProtocol.ICMP) c.icmp++;
    else if (p === IpProtocol.UDP) c.udp++;
    else c.other++;
  } else if (type === EtherType.IPv6) {
    const nh = f[20];
    if (nh === IpProtocol.UDP) c.udp++;
    else if (nh === IpProtocol.ICMPv6) {
      const t = f[54];
      if (t === Icmpv6Type.NeighborSolicitation || t === Icmpv6Type.NeighborAdvertisement) c.ndp++;
      else c.icmp6++;
    } else c.other++;
  } else c.other++;
}
