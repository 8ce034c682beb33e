/**
 * DNS (RFC 1035) for a resolver that answers one question about names it owns: parse a query's
 * header and first question, write a response with zero or one address record. The message sits
 * in a UDP payload (port 53):
 *
 *   id(2) flags(2) qdcount(2) ancount(2) nscount(2) arcount(2) | qname (labels, 0) qtype(2) qclass(2)
 *
 * Compression pointers are not accepted in a query's question (clients never send them there), so
 * a looping pointer cannot hang the parser. Names are at most 255 bytes, labels 63 (RFC 1035 2.3.4).
 */
import { EopError, ErrorCode } from '../errors.js';

export const DNS_PORT = 53;
export const DNS_HEADER_LEN = 12;
export const DnsType = { A: 1, AAAA: 28 } as const;
export const DnsClass = { IN: 1 } as const;
export const DnsRcode = { NoError: 0, FormErr: 1, ServFail: 2, NxDomain: 3, NotImp: 4 } as const;
const MAX_NAME_BYTES = 255;
const MAX_LABEL_BYTES = 63;

export interface DnsQuestion {
  id: number;
  /** Recursion desired, echoed in the response. */
  rd: boolean;
  /** Lowercase, dot-separated, no trailing dot. */
  name: string;
  qtype: number;
  qclass: number;
  /** The question's bytes (qname + qtype + qclass), copied into the response. */
  questionBytes: Uint8Array;
}

/** Parses a query. Throws EopError for a response, a malformed message or no question. */
export function parseDnsQuery(buf: Uint8Array): DnsQuestion {
  if (buf.length < DNS_HEADER_LEN) throw new EopError(ErrorCode.FRAME_TOO_SHORT, `DNS message of ${buf.length} bytes`);
  const flags = (buf[2]! << 8) | buf[3]!;
  if (flags & 0x8000) throw new EopError(ErrorCode.UNSUPPORTED, 'DNS message is a response, not a query');
  if ((flags >> 11) & 0xf) throw new EopError(ErrorCode.UNSUPPORTED, 'DNS opcode other than QUERY');
  const qd = (buf[4]! << 8) | buf[5]!;
  if (qd < 1) throw new EopError(ErrorCode.UNSUPPORTED, 'DNS query without a question');
  const labels: string[] = [];
  let off = DNS_HEADER_LEN;
  let nameBytes = 0;
  for (;;) {
    if (off >= buf.length) throw new EopError(ErrorCode.BAD_LENGTH_FIELD, 'DNS name runs past the message');
    const len = buf[off]!;
    if (len === 0) {
      off++;
      break;
    }
    if (len > MAX_LABEL_BYTES) throw new EopError(ErrorCode.UNSUPPORTED, 'DNS label above 63 bytes or a compression pointer in a question');
    nameBytes += len + 1;
    if (nameBytes > MAX_NAME_BYTES) throw new EopError(ErrorCode.BAD_LENGTH_FIELD, 'DNS name above 255 bytes');
    if (off + 1 + len > buf.length) throw new EopError(ErrorCode.BAD_LENGTH_FIELD, 'DNS label runs past the message');
    labels.push(String.fromCharCode(...buf.subarray(off + 1, off + 1 + len)).toLowerCase());
    off += 1 + len;
  }
  if (off + 4 > buf.length) throw new EopError(ErrorCode.BAD_LENGTH_FIELD, 'DNS question without type and class');
  return {
    id: (buf[0]! << 8) | buf[1]!,
    rd: (flags & 0x0100) !== 0,
    name: labels.join('.'),
    qtype: (buf[off]! << 8) | buf[off + 1]!,
    qclass: (buf[off + 2]! << 8) | buf[off + 3]!,
    questionBytes: buf.slice(DNS_HEADER_LEN, off + 4),
  };
}

export interface DnsAnswer {
  rcode: number;
  /** 4 bytes (A) or 16 (AAAA), or null for no record. */
  address: Uint8Array | null;
  ttlS: number;
}

/** Bytes emitDnsResponse writes for `q` and `a`. */
export function dnsResponseLen(q: DnsQuestion, a: DnsAnswer): number {
  return DNS_HEADER_LEN + q.questionBytes.length + (a.address ? 12 + a.address.length : 0);
}

/** Writes the authoritative response to `q` at buf[off..]; returns its length. */
export function emitDnsResponse(q: DnsQuestion, a: DnsAnswer, buf: Uint8Array, off: number): number {
  const dv = new DataView(buf.buffer, buf.byteOffset + off);
  dv.setUint16(0, q.id);
  // QR, AA, RD echoed, RA 0 (we only know our own names), rcode.
  dv.setUint16(2, 0x8000 | 0x0400 | (q.rd ? 0x0100 : 0) | (a.rcode & 0xf));
  dv.setUint16(4, 1);
  dv.setUint16(6, a.address ? 1 : 0);
  dv.setUint32(8, 0);
  let p = off + DNS_HEADER_LEN;
  buf.set(q.questionBytes, p);
  p += q.questionBytes.length;
  if (a.address) {
    // Name: a pointer to the question's name at offset 12.
    buf[p++] = 0xc0;
    buf[p++] = DNS_HEADER_LEN;
    const r = new DataView(buf.buffer, buf.byteOffset + p);
    r.setUint16(0, a.address.length === 4 ? DnsType.A : DnsType.AAAA);
    r.setUint16(2, DnsClass.IN);
    r.setUint32(4, a.ttlS);
    r.setUint16(8, a.address.length);
    p += 10;
    buf.set(a.address, p);
    p += a.address.length;
  }
  return p - off;
}
