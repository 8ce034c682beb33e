/** UDP (RFC 768) over IPv4 and IPv6, with the per-frame builders the host stack sends through. */
import { EopError, ErrorCode } from '../errors.js';
import { internetChecksum, onesSum, pseudoHeaderSum4, pseudoHeaderSum6 } from './checksum.js';
import { ETH_HEADER_LEN, EtherType, needRoom, tooShort, writeEthernetHeader } from './ethernet.js';
import { IPV4_HEADER_LEN, IpProtocol, writeIpv4Header } from './ipv4.js';
import { IPV6_ADDR_LEN, IPV6_HEADER_LEN, IPV6_SRC_OFFSET, writeIpv6Header } from './ipv6.js';

export const UDP_HEADER_LEN = 8;
/** Where the payload starts in a frame from buildUdp4 / buildUdp6. */
export const UDP4_PAYLOAD_OFFSET = ETH_HEADER_LEN + IPV4_HEADER_LEN + UDP_HEADER_LEN;
export const UDP6_PAYLOAD_OFFSET = ETH_HEADER_LEN + IPV6_HEADER_LEN + UDP_HEADER_LEN;

const field = {
  SRC_PORT: 0,
  DST_PORT: 2,
  LENGTH: 4,
  CHECKSUM: 6,
} as const;

/** IPv4 source and destination sit side by side at header bytes 12..20. */
const IPV4_ADDRS = 12;

/** Over the IP payload; the UDP length field, not the buffer end, bounds the datagram. */
export class UdpView {
  constructor(readonly buf: Uint8Array) {}

  /** FRAME_TOO_SHORT below 8 bytes; BAD_LENGTH_FIELD if the length field is under 8 or overruns. */
  static checked(buf: Uint8Array): UdpView {
    if (buf.length < UDP_HEADER_LEN) throw tooShort('UDP', buf.length, UDP_HEADER_LEN);
    const v = new UdpView(buf);
    const len = v.length();
    if (len < UDP_HEADER_LEN || len > buf.length) {
      throw new EopError(ErrorCode.BAD_LENGTH_FIELD, `UDP: length ${len}, buffer ${buf.length}`);
    }
    return v;
  }

  srcPort(): number {
    return (this.buf[field.SRC_PORT] << 8) | this.buf[field.SRC_PORT + 1];
  }
  dstPort(): number {
    return (this.buf[field.DST_PORT] << 8) | this.buf[field.DST_PORT + 1];
  }
  /** Header plus payload, from the length field. */
  length(): number {
    return (this.buf[field.LENGTH] << 8) | this.buf[field.LENGTH + 1];
  }
  checksum(): number {
    return (this.buf[field.CHECKSUM] << 8) | this.buf[field.CHECKSUM + 1];
  }
  payload(): Uint8Array {
    return this.buf.subarray(UDP_HEADER_LEN, this.length());
  }
  /** A zero checksum means "none" over IPv4 and passes. */
  verifyChecksum4(src: number, dst: number): boolean {
    const len = this.length();
    const pseudo = pseudoHeaderSum4(src, dst, IpProtocol.UDP, len);
    return this.checksum() === 0 || internetChecksum(this.buf, 0, len, pseudo) === 0;
  }
  /** Mandatory over IPv6 (RFC 8200 §8.1): zero fails. */
  verifyChecksum6(src: Uint8Array, dst: Uint8Array): boolean {
    const len = this.length();
    const pseudo = pseudoHeaderSum6(src, dst, IpProtocol.UDP, len);
    return this.checksum() !== 0 && internetChecksum(this.buf, 0, len, pseudo) === 0;
  }

  setSrcPort(v: number): void {
    this.buf[field.SRC_PORT] = v >>> 8;
    this.buf[field.SRC_PORT + 1] = v;
  }
  setDstPort(v: number): void {
    this.buf[field.DST_PORT] = v >>> 8;
    this.buf[field.DST_PORT + 1] = v;
  }
  setLength(v: number): void {
    this.buf[field.LENGTH] = v >>> 8;
    this.buf[field.LENGTH + 1] = v;
  }
  fillChecksum4(src: number, dst: number): void {
    const len = this.length();
    fillUdpChecksum(this.buf, 0, pseudoHeaderSum4(src, dst, IpProtocol.UDP, len), len);
  }
  fillChecksum6(src: Uint8Array, dst: Uint8Array): void {
    const len = this.length();
    fillUdpChecksum(this.buf, 0, pseudoHeaderSum6(src, dst, IpProtocol.UDP, len), len);
  }
}

export interface UdpRepr {
  srcPort: number;
  dstPort: number;
  payloadLen: number;
}

export const UdpRepr = {
  parse(v: UdpView): UdpRepr {
    return { srcPort: v.srcPort(), dstPort: v.dstPort(), payloadLen: v.length() - UDP_HEADER_LEN };
  },
  bufferLen(_r: UdpRepr): number {
    return UDP_HEADER_LEN;
  },
  /**
   * Header with checksum 0: the checksum covers a payload emit does not have. Write the payload
   * after it, then call `fillChecksum4`/`fillChecksum6` on a view (or leave 0 over IPv4).
   */
  emit(r: UdpRepr, buf: Uint8Array, off: number): number {
    return writeUdpHeader(buf, off, r.srcPort, r.dstPort, r.payloadLen);
  },
};

export function writeUdpHeader(
  buf: Uint8Array,
  off: number,
  srcPort: number,
  dstPort: number,
  payloadLen: number,
): number {
  const len = UDP_HEADER_LEN + payloadLen;
  buf[off + field.SRC_PORT] = srcPort >>> 8;
  buf[off + field.SRC_PORT + 1] = srcPort;
  buf[off + field.DST_PORT] = dstPort >>> 8;
  buf[off + field.DST_PORT + 1] = dstPort;
  buf[off + field.LENGTH] = len >>> 8;
  buf[off + field.LENGTH + 1] = len;
  buf[off + field.CHECKSUM] = 0;
  buf[off + field.CHECKSUM + 1] = 0;
  return UDP_HEADER_LEN;
}

interface UdpBuildCommon {
  srcMac: number;
  dstMac: number;
  srcPort: number;
  dstPort: number;
  /**
   * Copied after the headers and checksummed. If absent, `payloadLen` bytes are reserved at
   * UDP4_PAYLOAD_OFFSET / UDP6_PAYLOAD_OFFSET for the caller, who then calls finishUdp4Checksum /
   * finishUdp6Checksum.
   */
  payload?: Uint8Array;
  /** Required without `payload`; must match it if both are given. */
  payloadLen?: number;
}

export interface Udp4Options extends UdpBuildCommon {
  srcIp: number;
  dstIp: number;
  /** Default 64. */
  ttl?: number;
  /** false sends checksum 0 ("none", allowed over IPv4 only). Default true. */
  checksum?: boolean;
}

export interface Udp6Options extends UdpBuildCommon {
  srcIp: Uint8Array;
  dstIp: Uint8Array;
  /** Default 64. */
  hopLimit?: number;
}

/** Ethernet + IPv4 (DF, ident 0) + UDP into `buf[0..]`; returns the frame length. Allocates nothing. */
export function buildUdp4(buf: Uint8Array, o: Udp4Options): number {
  const n = payloadLenOf(o);
  const len = UDP4_PAYLOAD_OFFSET + n;
  needRoom(buf, len);
  writeEthernetHeader(buf, 0, o.dstMac, o.srcMac, EtherType.IPv4);
  const udpLen = UDP_HEADER_LEN + n;
  writeIpv4Header(buf, ETH_HEADER_LEN, o.srcIp, o.dstIp, IpProtocol.UDP, udpLen, o.ttl ?? 64, 0, true, 0);
  writeUdpHeader(buf, ETH_HEADER_LEN + IPV4_HEADER_LEN, o.srcPort, o.dstPort, n);
  if (o.payload) {
    buf.set(o.payload, UDP4_PAYLOAD_OFFSET);
    if (o.checksum !== false) finishUdp4Checksum(buf, len);
  }
  return len;
}

/** Fill the UDP checksum of a buildUdp4 frame once its payload is in place. */
export function finishUdp4Checksum(buf: Uint8Array, frameLen: number): void {
  const udp = ETH_HEADER_LEN + IPV4_HEADER_LEN;
  const pseudo = onesSum(buf, ETH_HEADER_LEN + IPV4_ADDRS, udp, IpProtocol.UDP + (frameLen - udp));
  fillUdpChecksum(buf, udp, pseudo, frameLen - udp);
}

/** Ethernet + IPv6 + UDP into `buf[0..]`; returns the frame length. Allocates nothing. */
export function buildUdp6(buf: Uint8Array, o: Udp6Options): number {
  const n = payloadLenOf(o);
  const len = UDP6_PAYLOAD_OFFSET + n;
  needRoom(buf, len);
  writeEthernetHeader(buf, 0, o.dstMac, o.srcMac, EtherType.IPv6);
  const udpLen = UDP_HEADER_LEN + n;
  writeIpv6Header(buf, ETH_HEADER_LEN, o.srcIp, o.dstIp, IpProtocol.UDP, udpLen, o.hopLimit ?? 64, 0, 0);
  writeUdpHeader(buf, ETH_HEADER_LEN + IPV6_HEADER_LEN, o.srcPort, o.dstPort, n);
  if (o.payload) {
    buf.set(o.payload, UDP6_PAYLOAD_OFFSET);
    finishUdp6Checksum(buf, len);
  }
  return len;
}

/** Fill the UDP checksum of a buildUdp6 frame once its payload is in place. */
export function finishUdp6Checksum(buf: Uint8Array, frameLen: number): void {
  const udp = ETH_HEADER_LEN + IPV6_HEADER_LEN;
  const addrs = ETH_HEADER_LEN + IPV6_SRC_OFFSET;
  const pseudo = onesSum(buf, addrs, addrs + 2 * IPV6_ADDR_LEN, IpProtocol.UDP + (frameLen - udp));
  fillUdpChecksum(buf, udp, pseudo, frameLen - udp);
}

function payloadLenOf(o: UdpBuildCommon): number {
  if (o.payload) {
    if (o.payloadLen !== undefined && o.payloadLen !== o.payload.length) {
      throw new RangeError(`UDP payloadLen ${o.payloadLen} but payload has ${o.payload.length} bytes`);
    }
    return o.payload.length;
  }
  if (o.payloadLen === undefined) throw new RangeError('UDP builder needs payload or payloadLen');
  return o.payloadLen;
}

function fillUdpChecksum(buf: Uint8Array, off: number, pseudo: number, udpLen: number): void {
  buf[off + field.CHECKSUM] = 0;
  buf[off + field.CHECKSUM + 1] = 0;
  // RFC 768: a computed 0 is sent as all ones, since 0 on the wire means "no checksum".
  const c = internetChecksum(buf, off, off + udpLen, pseudo) || 0xffff;
  buf[off + field.CHECKSUM] = c >>> 8;
  buf[off + field.CHECKSUM + 1] = c;
}
