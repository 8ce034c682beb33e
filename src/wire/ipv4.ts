/** IPv4 header (RFC 791) and IPv4 addresses as uint32 numbers. */
import ipaddr from 'ipaddr.js';
import { EopError, ErrorCode } from '../errors.js';
import { internetChecksum } from './checksum.js';
import { tooShort } from './ethernet.js';

/** IANA protocol numbers, shared by the IPv4 protocol field and the IPv6 next header. */
export const IpProtocol = { ICMP: 1, TCP: 6, UDP: 17, ICMPv6: 58 } as const;

export const IPV4_HEADER_LEN = 20;

const field = {
  VER_IHL: 0,
  TOS: 1,
  LENGTH: 2,
  IDENT: 4,
  FLAGS_FRAG: 6,
  TTL: 8,
  PROTOCOL: 9,
  CHECKSUM: 10,
  SRC: 12,
  DST: 16,
} as const;

const FLAG_DF = 0x4000;
const FLAG_MF = 0x2000;

export function readIpv4(buf: Uint8Array, off: number): number {
  return ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0;
}

export function writeIpv4(buf: Uint8Array, off: number, ip: number): void {
  buf[off] = ip >>> 24;
  buf[off + 1] = ip >>> 16;
  buf[off + 2] = ip >>> 8;
  buf[off + 3] = ip;
}

export function formatIpv4(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 0xff}.${(ip >>> 8) & 0xff}.${ip & 0xff}`;
}

/** Dotted quad only (no `10.1`, no octal or hex parts); null if anything else. */
export function parseIpv4(str: string): number | null {
  const s = str.trim();
  if (!ipaddr.IPv4.isValidFourPartDecimal(s)) return null;
  const b = ipaddr.IPv4.parse(s).octets;
  return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
}

export class Ipv4View {
  constructor(readonly buf: Uint8Array) {}

  /**
   * FRAME_TOO_SHORT below 20 bytes; BAD_VERSION unless 4; BAD_LENGTH_FIELD if IHL < 5, total length
   * < IHL, or total length > buffer. A buffer longer than total length is fine (Ethernet padding).
   */
  static checked(buf: Uint8Array): Ipv4View {
    if (buf.length < IPV4_HEADER_LEN) throw tooShort('IPv4', buf.length, IPV4_HEADER_LEN);
    const v = new Ipv4View(buf);
    if (v.version() !== 4) throw new EopError(ErrorCode.BAD_VERSION, `IPv4: version ${v.version()}`);
    const hl = v.headerLen();
    const total = v.totalLen();
    if (hl < IPV4_HEADER_LEN || total < hl || total > buf.length) {
      throw new EopError(
        ErrorCode.BAD_LENGTH_FIELD,
        `IPv4: header length ${hl}, total length ${total}, buffer ${buf.length}`,
      );
    }
    return v;
  }

  version(): number {
    return this.buf[field.VER_IHL] >>> 4;
  }
  /** IHL in bytes. */
  headerLen(): number {
    return (this.buf[field.VER_IHL] & 0x0f) * 4;
  }
  tos(): number {
    return this.buf[field.TOS];
  }
  totalLen(): number {
    return (this.buf[field.LENGTH] << 8) | this.buf[field.LENGTH + 1];
  }
  ident(): number {
    return (this.buf[field.IDENT] << 8) | this.buf[field.IDENT + 1];
  }
  dontFrag(): boolean {
    return (this.buf[field.FLAGS_FRAG] & (FLAG_DF >>> 8)) !== 0;
  }
  moreFrags(): boolean {
    return (this.buf[field.FLAGS_FRAG] & (FLAG_MF >>> 8)) !== 0;
  }
  /** Fragment offset in bytes. */
  fragOffset(): number {
    return (((this.buf[field.FLAGS_FRAG] & 0x1f) << 8) | this.buf[field.FLAGS_FRAG + 1]) * 8;
  }
  isFragment(): boolean {
    return this.moreFrags() || this.fragOffset() !== 0;
  }
  ttl(): number {
    return this.buf[field.TTL];
  }
  protocol(): number {
    return this.buf[field.PROTOCOL];
  }
  checksum(): number {
    return (this.buf[field.CHECKSUM] << 8) | this.buf[field.CHECKSUM + 1];
  }
  src(): number {
    return readIpv4(this.buf, field.SRC);
  }
  dst(): number {
    return readIpv4(this.buf, field.DST);
  }
  /** Bytes from the end of the header (options skipped) to total length: padding excluded. */
  payload(): Uint8Array {
    return this.buf.subarray(this.headerLen(), this.totalLen());
  }
  verifyChecksum(): boolean {
    return internetChecksum(this.buf, 0, this.headerLen()) === 0;
  }

  setTos(v: number): void {
    this.buf[field.TOS] = v;
  }
  setTotalLen(v: number): void {
    this.buf[field.LENGTH] = v >>> 8;
    this.buf[field.LENGTH + 1] = v;
  }
  setIdent(v: number): void {
    this.buf[field.IDENT] = v >>> 8;
    this.buf[field.IDENT + 1] = v;
  }
  setTtl(v: number): void {
    this.buf[field.TTL] = v;
  }
  setProtocol(v: number): void {
    this.buf[field.PROTOCOL] = v;
  }
  setSrc(ip: number): void {
    writeIpv4(this.buf, field.SRC, ip);
  }
  setDst(ip: number): void {
    writeIpv4(this.buf, field.DST, ip);
  }
  /** Recompute the header checksum; call after the last setter. */
  fillChecksum(): void {
    this.buf[field.CHECKSUM] = 0;
    this.buf[field.CHECKSUM + 1] = 0;
    const c = internetChecksum(this.buf, 0, this.headerLen());
    this.buf[field.CHECKSUM] = c >>> 8;
    this.buf[field.CHECKSUM + 1] = c;
  }
}

/** An unfragmented datagram. Options are dropped by parse and never emitted. */
export interface Ipv4Repr {
  src: number;
  dst: number;
  protocol: number;
  payloadLen: number;
  ttl: number;
  /** Defaults: tos 0, ident 0, dontFrag false. */
  tos?: number;
  ident?: number;
  dontFrag?: boolean;
}

export const Ipv4Repr = {
  /** UNSUPPORTED for a fragment: nothing here reassembles, and a piece parsed as a whole would lie. */
  parse(v: Ipv4View): Ipv4Repr {
    if (v.isFragment()) {
      throw new EopError(ErrorCode.UNSUPPORTED, `IPv4: fragment (offset ${v.fragOffset()})`);
    }
    return {
      src: v.src(),
      dst: v.dst(),
      protocol: v.protocol(),
      payloadLen: v.totalLen() - v.headerLen(),
      ttl: v.ttl(),
      tos: v.tos(),
      ident: v.ident(),
      dontFrag: v.dontFrag(),
    };
  },
  /** Header only; the payload follows it. */
  bufferLen(_r: Ipv4Repr): number {
    return IPV4_HEADER_LEN;
  },
  /** Writes the header, checksum included; returns 20. */
  emit(r: Ipv4Repr, buf: Uint8Array, off: number): number {
    const { src, dst, protocol, payloadLen, ttl, ident = 0, dontFrag = false, tos = 0 } = r;
    return writeIpv4Header(buf, off, src, dst, protocol, payloadLen, ttl, ident, dontFrag, tos);
  },
};

/** The whole 20-byte header with its checksum, for builders on the per-frame path; returns 20. */
export function writeIpv4Header(
  buf: Uint8Array,
  off: number,
  src: number,
  dst: number,
  protocol: number,
  payloadLen: number,
  ttl: number,
  ident: number,
  dontFrag: boolean,
  tos: number,
): number {
  const total = IPV4_HEADER_LEN + payloadLen;
  if (total > 0xffff) throw new RangeError(`IPv4 payload of ${payloadLen} bytes does not fit a datagram`);
  buf[off + field.VER_IHL] = 0x45;
  buf[off + field.TOS] = tos;
  buf[off + field.LENGTH] = total >>> 8;
  buf[off + field.LENGTH + 1] = total;
  buf[off + field.IDENT] = ident >>> 8;
  buf[off + field.IDENT + 1] = ident;
  buf[off + field.FLAGS_FRAG] = dontFrag ? FLAG_DF >>> 8 : 0;
  buf[off + field.FLAGS_FRAG + 1] = 0;
  buf[off + field.TTL] = ttl;
  buf[off + field.PROTOCOL] = protocol;
  buf[off + field.CHECKSUM] = 0;
  buf[off + field.CHECKSUM + 1] = 0;
  writeIpv4(buf, off + field.SRC, src);
  writeIpv4(buf, off + field.DST, dst);
  const c = internetChecksum(buf, off, off + IPV4_HEADER_LEN);
  buf[off + field.CHECKSUM] = c >>> 8;
  buf[off + field.CHECKSUM + 1] = c;
  return IPV4_HEADER_LEN;
}
