/**
 * IPv6 fixed header (RFC 8200) and IPv6 addresses as 16-byte Uint8Arrays. Extension headers are
 * not walked: `nextHeader()` reports the first one and the payload starts after the fixed header.
 */
import ipaddr from 'ipaddr.js';
import { EopError, ErrorCode } from '../errors.js';
import { tooShort } from './ethernet.js';

export const IPV6_HEADER_LEN = 40;
export const IPV6_ADDR_LEN = 16;

const field = {
  VER_TC_FLOW: 0,
  LENGTH: 4,
  NEXT_HEADER: 6,
  HOP_LIMIT: 7,
  SRC: 8,
  DST: 24,
} as const;

/** Offsets of the addresses inside the header, for code that reads them in place without a subarray. */
export const IPV6_SRC_OFFSET = field.SRC;
export const IPV6_DST_OFFSET = field.DST;

/** RFC 5952 text (`fe80::1`), with IPv4-mapped addresses as `::ffff:1.2.3.4`. */
export function formatIpv6(addr: Uint8Array): string {
  const a = ipaddr.fromByteArray(Array.from(addr.subarray(0, IPV6_ADDR_LEN))) as ipaddr.IPv6;
  return a.isIPv4MappedAddress() ? `::ffff:${a.toIPv4Address().toString()}` : a.toString();
}

/** Any RFC 4291 text form; null if invalid or scoped (`%eth0`: a zone cannot travel in 16 bytes). */
export function parseIpv6(str: string): Uint8Array | null {
  const s = str.trim();
  if (s.includes('%') || !ipaddr.IPv6.isValid(s)) return null;
  return Uint8Array.from(ipaddr.IPv6.parse(s).toByteArray());
}

export function ipv6Equal(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < IPV6_ADDR_LEN; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function isIpv6Multicast(addr: Uint8Array): boolean {
  return addr[0] === 0xff;
}

export function isIpv6Unspecified(addr: Uint8Array): boolean {
  for (let i = 0; i < IPV6_ADDR_LEN; i++) if (addr[i] !== 0) return false;
  return true;
}

/** ff02::1:ffXX:XXXX from the low 24 bits of `addr` (RFC 4291 §2.7.1). */
export function solicitedNodeMulticast(addr: Uint8Array): Uint8Array {
  const out = new Uint8Array(IPV6_ADDR_LEN);
  writeSolicitedNodeMulticast(out, 0, addr, 0);
  return out;
}

/** solicitedNodeMulticast without allocating: from `addr[addrOff..+16]` into `buf[off..+16]`. */
export function writeSolicitedNodeMulticast(
  buf: Uint8Array,
  off: number,
  addr: Uint8Array,
  addrOff: number,
): void {
  buf.fill(0, off, off + IPV6_ADDR_LEN);
  buf[off] = 0xff;
  buf[off + 1] = 0x02;
  buf[off + 11] = 0x01;
  buf[off + 12] = 0xff;
  buf[off + 13] = addr[addrOff + 13];
  buf[off + 14] = addr[addrOff + 14];
  buf[off + 15] = addr[addrOff + 15];
}

/** fe80::/64 with a modified EUI-64 interface id (RFC 4291 appendix A: U/L bit flipped, ff:fe inserted). */
export function linkLocalFromMac(mac: number): Uint8Array {
  const a = new Uint8Array(IPV6_ADDR_LEN);
  a[0] = 0xfe;
  a[1] = 0x80;
  const hi = Math.floor(mac / 0x1_0000_0000);
  const lo = mac >>> 0;
  a[8] = (hi >>> 8) ^ 0x02;
  a[9] = hi;
  a[10] = lo >>> 24;
  a[11] = 0xff;
  a[12] = 0xfe;
  a[13] = lo >>> 16;
  a[14] = lo >>> 8;
  a[15] = lo;
  return a;
}

export class Ipv6View {
  constructor(readonly buf: Uint8Array) {}

  /** FRAME_TOO_SHORT below 40 bytes; BAD_VERSION unless 6; BAD_LENGTH_FIELD if payload length overruns. */
  static checked(buf: Uint8Array): Ipv6View {
    if (buf.length < IPV6_HEADER_LEN) throw tooShort('IPv6', buf.length, IPV6_HEADER_LEN);
    const v = new Ipv6View(buf);
    if (v.version() !== 6) throw new EopError(ErrorCode.BAD_VERSION, `IPv6: version ${v.version()}`);
    if (IPV6_HEADER_LEN + v.payloadLen() > buf.length) {
      const what = `payload length ${v.payloadLen()}, buffer ${buf.length}`;
      throw new EopError(ErrorCode.BAD_LENGTH_FIELD, `IPv6: ${what}`);
    }
    return v;
  }

  version(): number {
    return this.buf[field.VER_TC_FLOW] >>> 4;
  }
  trafficClass(): number {
    const o = field.VER_TC_FLOW;
    return ((this.buf[o] & 0x0f) << 4) | (this.buf[o + 1] >>> 4);
  }
  flowLabel(): number {
    const o = field.VER_TC_FLOW;
    return ((this.buf[o + 1] & 0x0f) << 16) | (this.buf[o + 2] << 8) | this.buf[o + 3];
  }
  payloadLen(): number {
    return (this.buf[field.LENGTH] << 8) | this.buf[field.LENGTH + 1];
  }
  nextHeader(): number {
    return this.buf[field.NEXT_HEADER];
  }
  hopLimit(): number {
    return this.buf[field.HOP_LIMIT];
  }
  /** Subarray into the header, not a copy. */
  src(): Uint8Array {
    return this.buf.subarray(field.SRC, field.SRC + IPV6_ADDR_LEN);
  }
  /** Subarray into the header, not a copy. */
  dst(): Uint8Array {
    return this.buf.subarray(field.DST, field.DST + IPV6_ADDR_LEN);
  }
  /** Up to payload length: padding excluded. */
  payload(): Uint8Array {
    return this.buf.subarray(IPV6_HEADER_LEN, IPV6_HEADER_LEN + this.payloadLen());
  }

  setPayloadLen(v: number): void {
    this.buf[field.LENGTH] = v >>> 8;
    this.buf[field.LENGTH + 1] = v;
  }
  setNextHeader(v: number): void {
    this.buf[field.NEXT_HEADER] = v;
  }
  setHopLimit(v: number): void {
    this.buf[field.HOP_LIMIT] = v;
  }
  setSrc(addr: Uint8Array): void {
    this.buf.set(addr.subarray(0, IPV6_ADDR_LEN), field.SRC);
  }
  setDst(addr: Uint8Array): void {
    this.buf.set(addr.subarray(0, IPV6_ADDR_LEN), field.DST);
  }
}

export interface Ipv6Repr {
  src: Uint8Array;
  dst: Uint8Array;
  nextHeader: number;
  payloadLen: number;
  hopLimit: number;
  /** Defaults 0. */
  trafficClass?: number;
  flowLabel?: number;
}

export const Ipv6Repr = {
  /** Addresses are copied: a repr outlives the frame buffer it came from. */
  parse(v: Ipv6View): Ipv6Repr {
    return {
      src: v.src().slice(),
      dst: v.dst().slice(),
      nextHeader: v.nextHeader(),
      payloadLen: v.payloadLen(),
      hopLimit: v.hopLimit(),
      trafficClass: v.trafficClass(),
      flowLabel: v.flowLabel(),
    };
  },
  /** Header only; the payload follows it. */
  bufferLen(_r: Ipv6Repr): number {
    return IPV6_HEADER_LEN;
  },
  emit(r: Ipv6Repr, buf: Uint8Array, off: number): number {
    const { src, dst, nextHeader, payloadLen, hopLimit, trafficClass = 0, flowLabel = 0 } = r;
    return writeIpv6Header(buf, off, src, dst, nextHeader, payloadLen, hopLimit, trafficClass, flowLabel);
  },
};

/** The whole fixed header, for builders on the per-frame path; returns 40. */
export function writeIpv6Header(
  buf: Uint8Array,
  off: number,
  src: Uint8Array,
  dst: Uint8Array,
  nextHeader: number,
  payloadLen: number,
  hopLimit: number,
  trafficClass: number,
  flowLabel: number,
): number {
  if (payloadLen > 0xffff) throw new RangeError(`IPv6 payload of ${payloadLen} bytes needs a jumbogram`);
  const o = off + field.VER_TC_FLOW;
  buf[o] = 0x60 | ((trafficClass >>> 4) & 0x0f);
  buf[o + 1] = ((trafficClass & 0x0f) << 4) | ((flowLabel >>> 16) & 0x0f);
  buf[o + 2] = flowLabel >>> 8;
  buf[o + 3] = flowLabel;
  buf[off + field.LENGTH] = payloadLen >>> 8;
  buf[off + field.LENGTH + 1] = payloadLen;
  buf[off + field.NEXT_HEADER] = nextHeader;
  buf[off + field.HOP_LIMIT] = hopLimit;
  for (let i = 0; i < IPV6_ADDR_LEN; i++) {
    buf[off + field.SRC + i] = src[i];
    buf[off + field.DST + i] = dst[i];
  }
  return IPV6_HEADER_LEN;
}
