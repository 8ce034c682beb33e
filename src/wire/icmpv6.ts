/**
 * ICMPv6 (RFC 4443) echo and NDP neighbour solicitation/advertisement (RFC 4861) with link-layer
 * address options. The checksum covers an IPv6 pseudo header, so verify/fill take the addresses.
 */
import { EopError, ErrorCode } from '../errors.js';
import { ICMP_ECHO_HEADER_LEN, writeEchoMessage } from './icmp-echo.js';
import { internetChecksum, onesSum, pseudoHeaderSum6 } from './checksum.js';
import { ETH_HEADER_LEN, EtherType, needRoom, tooShort, writeEthernetHeader } from './ethernet.js';
import { IpProtocol } from './ipv4.js';
import {
  IPV6_ADDR_LEN,
  IPV6_DST_OFFSET,
  IPV6_HEADER_LEN,
  IPV6_SRC_OFFSET,
  isIpv6Unspecified,
  writeIpv6Header,
  writeSolicitedNodeMulticast,
} from './ipv6.js';
import { ipv6MulticastMac, readMac, writeMac } from './mac.js';

export const Icmpv6Type = {
  DestUnreachable: 1,
  PacketTooBig: 2,
  TimeExceeded: 3,
  ParamProblem: 4,
  EchoRequest: 128,
  EchoReply: 129,
  RouterSolicitation: 133,
  RouterAdvertisement: 134,
  NeighborSolicitation: 135,
  NeighborAdvertisement: 136,
} as const;

export const NdpOption = { SourceLinkLayerAddr: 1, TargetLinkLayerAddr: 2 } as const;

export const ICMPV6_HEADER_LEN = ICMP_ECHO_HEADER_LEN;
/** NS and NA before options: header, reserved/flags, target address. */
export const NDP_NEIGHBOR_LEN = 24;
/** A link-layer address option for Ethernet: type, length (in 8-byte units), MAC. */
export const NDP_LLADDR_OPTION_LEN = 8;
/** RFC 4861 §7.1: NDP is sent with hop limit 255 and accepted only with it (proves on-link). */
export const NDP_HOP_LIMIT = 255;
/** Ethernet + IPv6 + NS or NA with one link-layer option. */
export const NDP_FRAME_LEN = ETH_HEADER_LEN + IPV6_HEADER_LEN + NDP_NEIGHBOR_LEN + NDP_LLADDR_OPTION_LEN;

const field = {
  TYPE: 0,
  CODE: 1,
  CHECKSUM: 2,
  ECHO_ID: 4,
  ECHO_SEQ: 6,
  NDP_FLAGS: 4,
  NDP_TARGET: 8,
  NDP_OPTIONS: 24,
} as const;

const NA_ROUTER = 0x80;
const NA_SOLICITED = 0x40;
const NA_OVERRIDE = 0x20;

/** Over exactly one ICMPv6 message (the IPv6 payload): the checksum covers the whole buffer. */
export class Icmpv6View {
  constructor(readonly buf: Uint8Array) {}

  /**
   * FRAME_TOO_SHORT below 8 bytes, or below 24 for NS/NA; BAD_LENGTH_FIELD for an NDP option of
   * length 0 (RFC 4861 §4.6 says discard: a walker would never advance) or one that overruns.
   */
  static checked(buf: Uint8Array): Icmpv6View {
    if (buf.length < ICMPV6_HEADER_LEN) throw tooShort('ICMPv6', buf.length, ICMPV6_HEADER_LEN);
    const v = new Icmpv6View(buf);
    if (v.isNeighborMessage()) {
      if (buf.length < NDP_NEIGHBOR_LEN) throw tooShort('NDP', buf.length, NDP_NEIGHBOR_LEN);
      for (let o = field.NDP_OPTIONS; o < buf.length; ) {
        const len = o + 1 < buf.length ? buf[o + 1] * 8 : 0;
        if (len === 0 || o + len > buf.length) {
          const what = `option at ${o} has length ${len}, message ${buf.length}`;
          throw new EopError(ErrorCode.BAD_LENGTH_FIELD, `NDP: ${what}`);
        }
        o += len;
      }
    }
    return v;
  }

  type(): number {
    return this.buf[field.TYPE];
  }
  code(): number {
    return this.buf[field.CODE];
  }
  checksum(): number {
    return (this.buf[field.CHECKSUM] << 8) | this.buf[field.CHECKSUM + 1];
  }
  isNeighborMessage(): boolean {
    const t = this.type();
    return t === Icmpv6Type.NeighborSolicitation || t === Icmpv6Type.NeighborAdvertisement;
  }
  echoId(): number {
    return (this.buf[field.ECHO_ID] << 8) | this.buf[field.ECHO_ID + 1];
  }
  echoSeq(): number {
    return (this.buf[field.ECHO_SEQ] << 8) | this.buf[field.ECHO_SEQ + 1];
  }
  /** Bytes after the 8-byte header: echo data, or the quoted packet of an error. */
  data(): Uint8Array {
    return this.buf.subarray(ICMPV6_HEADER_LEN);
  }
  /** NS/NA target address: a subarray, not a copy. */
  target(): Uint8Array {
    return this.buf.subarray(field.NDP_TARGET, field.NDP_TARGET + IPV6_ADDR_LEN);
  }
  /** NA flags. */
  router(): boolean {
    return (this.buf[field.NDP_FLAGS] & NA_ROUTER) !== 0;
  }
  solicited(): boolean {
    return (this.buf[field.NDP_FLAGS] & NA_SOLICITED) !== 0;
  }
  override(): boolean {
    return (this.buf[field.NDP_FLAGS] & NA_OVERRIDE) !== 0;
  }
  /** MAC from the first NS/NA option of `kind` (NdpOption), or null; needs a view from `checked`. */
  linkLayerOption(kind: number): number | null {
    const b = this.buf;
    for (let o: number = field.NDP_OPTIONS; o + 1 < b.length && b[o + 1] !== 0; o += b[o + 1] * 8) {
      if (b[o] === kind && b[o + 1] * 8 >= NDP_LLADDR_OPTION_LEN) return readMac(b, o + 2);
    }
    return null;
  }
  verifyChecksum(src: Uint8Array, dst: Uint8Array): boolean {
    const len = this.buf.length;
    return internetChecksum(this.buf, 0, len, pseudoHeaderSum6(src, dst, IpProtocol.ICMPv6, len)) === 0;
  }

  setType(v: number): void {
    this.buf[field.TYPE] = v;
  }
  setCode(v: number): void {
    this.buf[field.CODE] = v;
  }
  setEchoId(v: number): void {
    this.buf[field.ECHO_ID] = v >>> 8;
    this.buf[field.ECHO_ID + 1] = v;
  }
  setEchoSeq(v: number): void {
    this.buf[field.ECHO_SEQ] = v >>> 8;
    this.buf[field.ECHO_SEQ + 1] = v;
  }
  fillChecksum(src: Uint8Array, dst: Uint8Array): void {
    const len = this.buf.length;
    fillChecksum(this.buf, 0, len, pseudoHeaderSum6(src, dst, IpProtocol.ICMPv6, len));
  }
}

export type Icmpv6Repr =
  | {
      type: 'echoRequest' | 'echoReply';
      id: number;
      seq: number;
      /** A subarray of the parsed buffer, not a copy. */
      data: Uint8Array;
    }
  | {
      type: 'neighborSolicitation';
      /** Copied by parse. */
      target: Uint8Array;
      /** Source link-layer address option; null when absent (DAD probes from ::). */
      sourceMac: number | null;
    }
  | {
      type: 'neighborAdvertisement';
      target: Uint8Array;
      /** Target link-layer address option; null when absent. */
      targetMac: number | null;
      router: boolean;
      solicited: boolean;
      override: boolean;
    };

export const Icmpv6Repr = {
  /**
   * UNSUPPORTED for other types and for NDP with a non-zero code (RFC 4861 §7.1.1). The hop limit
   * 255 check of that section lives in the IPv6 header: the caller's job (NDP_HOP_LIMIT).
   */
  parse(v: Icmpv6View): Icmpv6Repr {
    const t = v.type();
    if (t === Icmpv6Type.EchoRequest || t === Icmpv6Type.EchoReply) {
      const type = t === Icmpv6Type.EchoRequest ? 'echoRequest' : 'echoReply';
      return { type, id: v.echoId(), seq: v.echoSeq(), data: v.data() };
    }
    if (v.isNeighborMessage() && v.code() === 0) {
      if (t === Icmpv6Type.NeighborSolicitation) {
        return {
          type: 'neighborSolicitation',
          target: v.target().slice(),
          sourceMac: v.linkLayerOption(NdpOption.SourceLinkLayerAddr),
        };
      }
      return {
        type: 'neighborAdvertisement',
        target: v.target().slice(),
        targetMac: v.linkLayerOption(NdpOption.TargetLinkLayerAddr),
        router: v.router(),
        solicited: v.solicited(),
        override: v.override(),
      };
    }
    throw new EopError(ErrorCode.UNSUPPORTED, `ICMPv6: type ${t} code ${v.code()}`);
  },
  bufferLen(r: Icmpv6Repr): number {
    switch (r.type) {
      case 'echoRequest':
      case 'echoReply':
        return ICMPV6_HEADER_LEN + r.data.length;
      case 'neighborSolicitation':
        return NDP_NEIGHBOR_LEN + (r.sourceMac === null ? 0 : NDP_LLADDR_OPTION_LEN);
      case 'neighborAdvertisement':
        return NDP_NEIGHBOR_LEN + (r.targetMac === null ? 0 : NDP_LLADDR_OPTION_LEN);
    }
  },
  /** The whole message with its checksum over the pseudo header of `src` → `dst`. */
  emit(r: Icmpv6Repr, buf: Uint8Array, off: number, src: Uint8Array, dst: Uint8Array): number {
    let len: number;
    switch (r.type) {
      case 'echoRequest':
      case 'echoReply': {
        const type = r.type === 'echoRequest' ? Icmpv6Type.EchoRequest : Icmpv6Type.EchoReply;
        len = writeEchoMessage(buf, off, type, r.id, r.seq, r.data);
        break;
      }
      case 'neighborSolicitation':
        len = writeNeighbor(buf, off, Icmpv6Type.NeighborSolicitation, 0, r.target, r.sourceMac);
        break;
      case 'neighborAdvertisement': {
        const flags = naFlags(r.router, r.solicited, r.override);
        len = writeNeighbor(buf, off, Icmpv6Type.NeighborAdvertisement, flags, r.target, r.targetMac);
        break;
      }
    }
    fillChecksum(buf, off, len, pseudoHeaderSum6(src, dst, IpProtocol.ICMPv6, len));
    return len;
  },
};

export interface Icmpv6EchoOptions {
  srcMac: number;
  dstMac: number;
  srcIp: Uint8Array;
  dstIp: Uint8Array;
  type: 'request' | 'reply';
  id: number;
  seq: number;
  payload: Uint8Array;
  /** Default 64. */
  hopLimit?: number;
}

/** Ethernet + IPv6 + echo into `buf[0..]`; returns the frame length. */
export function buildIcmpv6Echo(buf: Uint8Array, o: Icmpv6EchoOptions): number {
  const icmpLen = ICMPV6_HEADER_LEN + o.payload.length;
  needRoom(buf, ETH_HEADER_LEN + IPV6_HEADER_LEN + icmpLen);
  writeEthernetHeader(buf, 0, o.dstMac, o.srcMac, EtherType.IPv6);
  writeIpv6Header(buf, ETH_HEADER_LEN, o.srcIp, o.dstIp, IpProtocol.ICMPv6, icmpLen, o.hopLimit ?? 64, 0, 0);
  const type = o.type === 'request' ? Icmpv6Type.EchoRequest : Icmpv6Type.EchoReply;
  writeEchoMessage(buf, ETH_HEADER_LEN + IPV6_HEADER_LEN, type, o.id, o.seq, o.payload);
  return finishFrame(buf, icmpLen);
}

export interface NeighborSolicitationOptions {
  srcMac: number;
  /** `::` for duplicate address detection: then no source link-layer option is sent (RFC 4861 §4.3). */
  srcIp: Uint8Array;
  targetIp: Uint8Array;
}

/** Multicast NS to the target's solicited-node group and its 33:33 MAC, hop limit 255; returns its length. */
export function buildNeighborSolicitation(buf: Uint8Array, o: NeighborSolicitationOptions): number {
  const withOption = !isIpv6Unspecified(o.srcIp);
  const icmpLen = NDP_NEIGHBOR_LEN + (withOption ? NDP_LLADDR_OPTION_LEN : 0);
  needRoom(buf, ETH_HEADER_LEN + IPV6_HEADER_LEN + icmpLen);
  const ip = ETH_HEADER_LEN;
  // dst is written twice: writeIpv6Header wants one, then the solicited-node group replaces it in place
  writeIpv6Header(buf, ip, o.srcIp, o.targetIp, IpProtocol.ICMPv6, icmpLen, NDP_HOP_LIMIT, 0, 0);
  writeSolicitedNodeMulticast(buf, ip + IPV6_DST_OFFSET, o.targetIp, 0);
  writeEthernetHeader(buf, 0, ipv6MulticastMac(buf, ip + IPV6_DST_OFFSET), o.srcMac, EtherType.IPv6);
  const mac = withOption ? o.srcMac : null;
  writeNeighbor(buf, ip + IPV6_HEADER_LEN, Icmpv6Type.NeighborSolicitation, 0, o.targetIp, mac);
  return finishFrame(buf, icmpLen);
}

export interface NeighborAdvertisementOptions {
  srcMac: number;
  dstMac: number;
  srcIp: Uint8Array;
  /** The soliciting node, or ff02::1 for an unsolicited advertisement. */
  dstIp: Uint8Array;
  targetIp: Uint8Array;
  solicited: boolean;
  override: boolean;
  /** Default false. */
  router?: boolean;
}

/** NA carrying `srcMac` as the target link-layer option, hop limit 255; returns the frame length. */
export function buildNeighborAdvertisement(buf: Uint8Array, o: NeighborAdvertisementOptions): number {
  const icmpLen = NDP_NEIGHBOR_LEN + NDP_LLADDR_OPTION_LEN;
  needRoom(buf, NDP_FRAME_LEN);
  writeEthernetHeader(buf, 0, o.dstMac, o.srcMac, EtherType.IPv6);
  writeIpv6Header(buf, ETH_HEADER_LEN, o.srcIp, o.dstIp, IpProtocol.ICMPv6, icmpLen, NDP_HOP_LIMIT, 0, 0);
  const flags = naFlags(o.router ?? false, o.solicited, o.override);
  const icmp = ETH_HEADER_LEN + IPV6_HEADER_LEN;
  writeNeighbor(buf, icmp, Icmpv6Type.NeighborAdvertisement, flags, o.targetIp, o.srcMac);
  return finishFrame(buf, icmpLen);
}

/** Checksum the ICMPv6 message of a built frame against the addresses already in its IPv6 header. */
function finishFrame(buf: Uint8Array, icmpLen: number): number {
  const ip = ETH_HEADER_LEN;
  const addrs = ip + IPV6_SRC_OFFSET;
  const pseudo = onesSum(buf, addrs, addrs + 2 * IPV6_ADDR_LEN, IpProtocol.ICMPv6 + icmpLen);
  fillChecksum(buf, ip + IPV6_HEADER_LEN, icmpLen, pseudo);
  return ip + IPV6_HEADER_LEN + icmpLen;
}


function naFlags(router: boolean, solicited: boolean, override: boolean): number {
  return (router ? NA_ROUTER : 0) | (solicited ? NA_SOLICITED : 0) | (override ? NA_OVERRIDE : 0);
}

/**
 * NS or NA body with checksum 0 and at most one link-layer option: source for NS, target for NA
 * (RFC 4861 §4.3, §4.4); none if `mac` is null.
 */
function writeNeighbor(
  buf: Uint8Array,
  off: number,
  type: number,
  flags: number,
  target: Uint8Array,
  mac: number | null,
): number {
  buf[off + field.TYPE] = type;
  buf[off + field.CODE] = 0;
  buf[off + field.NDP_FLAGS] = flags;
  buf[off + field.NDP_FLAGS + 1] = 0;
  buf[off + field.NDP_FLAGS + 2] = 0;
  buf[off + field.NDP_FLAGS + 3] = 0;
  for (let i = 0; i < IPV6_ADDR_LEN; i++) buf[off + field.NDP_TARGET + i] = target[i];
  if (mac === null) return NDP_NEIGHBOR_LEN;
  const o = off + field.NDP_OPTIONS;
  const ns = type === Icmpv6Type.NeighborSolicitation;
  buf[o] = ns ? NdpOption.SourceLinkLayerAddr : NdpOption.TargetLinkLayerAddr;
  buf[o + 1] = NDP_LLADDR_OPTION_LEN / 8;
  writeMac(buf, o + 2, mac);
  return NDP_NEIGHBOR_LEN + NDP_LLADDR_OPTION_LEN;
}

function fillChecksum(buf: Uint8Array, off: number, len: number, pseudo: number): void {
  buf[off + field.CHECKSUM] = 0;
  buf[off + field.CHECKSUM + 1] = 0;
  const c = internetChecksum(buf, off, off + len, pseudo);
  buf[off + field.CHECKSUM] = c >>> 8;
  buf[off + field.CHECKSUM + 1] = c;
}
