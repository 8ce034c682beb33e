/** ICMPv4 (RFC 792). The view reads any message's common header; the repr and builder cover echo only. */
import { EopError, ErrorCode } from '../errors.js';
import { ICMP_ECHO_HEADER_LEN, writeEchoMessage } from './icmp-echo.js';
import { internetChecksum } from './checksum.js';
import { ETH_HEADER_LEN, EtherType, needRoom, tooShort, writeEthernetHeader } from './ethernet.js';
import { IPV4_HEADER_LEN, IpProtocol, writeIpv4Header } from './ipv4.js';

export const Icmpv4Type = { EchoReply: 0, DestUnreachable: 3, EchoRequest: 8, TimeExceeded: 11 } as const;

/** Every ICMPv4 message we read starts with 8 bytes: type, code, checksum, then 4 type-specific bytes. */
export const ICMPV4_HEADER_LEN = ICMP_ECHO_HEADER_LEN;
/** Ethernet + IPv4 + ICMP header: where echo data starts in a built frame. */
export const ICMPV4_ECHO_DATA_OFFSET = ETH_HEADER_LEN + IPV4_HEADER_LEN + ICMPV4_HEADER_LEN;

const field = {
  TYPE: 0,
  CODE: 1,
  CHECKSUM: 2,
  ECHO_ID: 4,
  ECHO_SEQ: 6,
} as const;

/** Over exactly one ICMP message (the IPv4 payload): the checksum covers the whole buffer. */
export class Icmpv4View {
  constructor(readonly buf: Uint8Array) {}

  static checked(buf: Uint8Array): Icmpv4View {
    if (buf.length < ICMPV4_HEADER_LEN) throw tooShort('ICMPv4', buf.length, ICMPV4_HEADER_LEN);
    return new Icmpv4View(buf);
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
  echoId(): number {
    return (this.buf[field.ECHO_ID] << 8) | this.buf[field.ECHO_ID + 1];
  }
  echoSeq(): number {
    return (this.buf[field.ECHO_SEQ] << 8) | this.buf[field.ECHO_SEQ + 1];
  }
  /** Bytes after the 8-byte header: echo data, or the quoted datagram of an error. */
  data(): Uint8Array {
    return this.buf.subarray(ICMPV4_HEADER_LEN);
  }
  verifyChecksum(): boolean {
    return internetChecksum(this.buf, 0, this.buf.length) === 0;
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
  fillChecksum(): void {
    fillIcmpv4Checksum(this.buf, 0, this.buf.length);
  }
}

export interface Icmpv4Repr {
  type: 'echoRequest' | 'echoReply';
  id: number;
  seq: number;
  /** A subarray of the parsed buffer, not a copy: copy it to keep it past the frame. */
  data: Uint8Array;
}

export const Icmpv4Repr = {
  /** UNSUPPORTED for anything but echo request/reply. */
  parse(v: Icmpv4View): Icmpv4Repr {
    const t = v.type();
    if (t !== Icmpv4Type.EchoRequest && t !== Icmpv4Type.EchoReply) {
      throw new EopError(ErrorCode.UNSUPPORTED, `ICMPv4: type ${t} code ${v.code()}`);
    }
    const type = t === Icmpv4Type.EchoRequest ? 'echoRequest' : 'echoReply';
    return { type, id: v.echoId(), seq: v.echoSeq(), data: v.data() };
  },
  bufferLen(r: Icmpv4Repr): number {
    return ICMPV4_HEADER_LEN + r.data.length;
  },
  /** Header and data, checksum included. */
  emit(r: Icmpv4Repr, buf: Uint8Array, off: number): number {
    const type = r.type === 'echoRequest' ? Icmpv4Type.EchoRequest : Icmpv4Type.EchoReply;
    return writeEcho(buf, off, type, r.id, r.seq, r.data);
  },
};

export interface Icmpv4EchoOptions {
  srcMac: number;
  dstMac: number;
  srcIp: number;
  dstIp: number;
  type: 'request' | 'reply';
  id: number;
  seq: number;
  payload: Uint8Array;
  /** Default 64. */
  ttl?: number;
}

/** Ethernet + IPv4 (DF, ident 0) + echo into `buf[0..]`; returns the frame length. Allocates nothing. */
export function buildIcmpv4Echo(buf: Uint8Array, o: Icmpv4EchoOptions): number {
  const icmpLen = ICMPV4_HEADER_LEN + o.payload.length;
  const len = ETH_HEADER_LEN + IPV4_HEADER_LEN + icmpLen;
  needRoom(buf, len);
  writeEthernetHeader(buf, 0, o.dstMac, o.srcMac, EtherType.IPv4);
  writeIpv4Header(buf, ETH_HEADER_LEN, o.srcIp, o.dstIp, IpProtocol.ICMP, icmpLen, o.ttl ?? 64, 0, true, 0);
  const type = o.type === 'request' ? Icmpv4Type.EchoRequest : Icmpv4Type.EchoReply;
  writeEcho(buf, ETH_HEADER_LEN + IPV4_HEADER_LEN, type, o.id, o.seq, o.payload);
  return len;
}

function writeEcho(buf: Uint8Array, off: number, type: number, id: number, seq: number, data: Uint8Array): number {
  const len = writeEchoMessage(buf, off, type, id, seq, data);
  fillIcmpv4Checksum(buf, off, off + len);
  return len;
}

function fillIcmpv4Checksum(buf: Uint8Array, start: number, end: number): void {
  buf[start + field.CHECKSUM] = 0;
  buf[start + field.CHECKSUM + 1] = 0;
  const c = internetChecksum(buf, start, end);
  buf[start + field.CHECKSUM] = c >>> 8;
  buf[start + field.CHECKSUM + 1] = c;
}
