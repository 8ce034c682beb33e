/**
 * DHCPv4 (RFC 2131 message, RFC 2132 options): just what a server handing one fixed address to one
 * client needs. The message sits in a UDP payload (client port 68 → server port 67):
 *
 *   op(1) htype(1) hlen(1) hops(1) xid(4) secs(2) flags(2) ciaddr(4) yiaddr(4) siaddr(4) giaddr(4)
 *   chaddr(16) sname(64) file(128) magic cookie 63.82.53.63 (4) options (code, len, value)… 255
 *
 * Only the options a guest needs are read or written; unknown ones are skipped. Options overloaded
 * into sname/file (option 52) are not read: a client asking for an address never uses them.
 */
import { EopError, ErrorCode } from '../errors.js';
import { readIpv4, writeIpv4 } from './ipv4.js';
import { readMac, writeMac } from './mac.js';

export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;

const field = {
  OP: 0,
  HTYPE: 1,
  HLEN: 2,
  XID: 4,
  FLAGS: 10,
  CIADDR: 12,
  YIADDR: 16,
  SIADDR: 20,
  CHADDR: 28,
  COOKIE: 236,
  OPTIONS: 240,
} as const;

const MAGIC_COOKIE = 0x63825363;
/** Fixed part plus cookie. */
export const DHCP_FIXED_LEN = field.OPTIONS;

export const DhcpOp = { Request: 1, Reply: 2 } as const;
export const DhcpMessageType = { Discover: 1, Offer: 2, Request: 3, Decline: 4, Ack: 5, Nak: 6, Release: 7, Inform: 8 } as const;
export const DhcpOption = {
  Pad: 0,
  SubnetMask: 1,
  Router: 3,
  DnsServer: 6,
  DomainName: 15,
  RequestedIp: 50,
  LeaseTime: 51,
  MessageType: 53,
  ServerId: 54,
  End: 255,
} as const;

/** What a server needs from a client's message. */
export interface DhcpRequestRepr {
  op: number;
  xid: number;
  /** Client hardware address (Ethernet). */
  chaddr: number;
  ciaddr: number;
  /** 0 when the option is absent. */
  messageType: number;
  requestedIp: number | null;
  serverId: number | null;
}

/** Parses a DHCP message (the UDP payload). Throws EopError on a malformed one. */
export function parseDhcp(buf: Uint8Array): DhcpRequestRepr {
  if (buf.length < DHCP_FIXED_LEN) {
    throw new EopError(ErrorCode.FRAME_TOO_SHORT, `DHCP message of ${buf.length} bytes, need at least ${DHCP_FIXED_LEN}`);
  }
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (dv.getUint32(field.COOKIE) !== MAGIC_COOKIE) throw new EopError(ErrorCode.UNSUPPORTED, 'DHCP message without the magic cookie (plain BOOTP)');
  if (buf[field.HTYPE] !== 1 || buf[field.HLEN] !== 6) throw new EopError(ErrorCode.UNSUPPORTED, 'DHCP for a non-Ethernet hardware type');
  const r: DhcpRequestRepr = {
    op: buf[field.OP]!,
    xid: dv.getUint32(field.XID),
    chaddr: readMac(buf, field.CHADDR),
    ciaddr: readIpv4(buf, field.CIADDR),
    messageType: 0,
    requestedIp: null,
    serverId: null,
  };
  let off = field.OPTIONS;
  while (off < buf.length) {
    const code = buf[off]!;
    if (code === DhcpOption.End) break;
    if (code === DhcpOption.Pad) {
      off++;
      continue;
    }
    if (off + 2 > buf.length) throw new EopError(ErrorCode.BAD_LENGTH_FIELD, 'DHCP option runs past the message');
    const len = buf[off + 1]!;
    const v = off + 2;
    if (v + len > buf.length) throw new EopError(ErrorCode.BAD_LENGTH_FIELD, `DHCP option ${code} of ${len} bytes runs past the message`);
    if (code === DhcpOption.MessageType && len === 1) r.messageType = buf[v]!;
    else if (code === DhcpOption.RequestedIp && len === 4) r.requestedIp = readIpv4(buf, v);
    else if (code === DhcpOption.ServerId && len === 4) r.serverId = readIpv4(buf, v);
    off = v + len;
  }
  return r;
}

export interface DhcpReplyRepr {
  messageType: number;
  xid: number;
  chaddr: number;
  yiaddr: number;
  serverIp: number;
  subnetMask: number;
  /** Omitted when null (a rack has no router). */
  router: number | null;
  dnsServer: number;
  domainName: string;
  leaseTimeS: number;
}

/** Upper bound of what emitDhcpReply writes (fixed part + options), for buffer sizing. */
export const DHCP_REPLY_MAX_LEN = DHCP_FIXED_LEN + 64 + 255;

/** Writes a server reply (OFFER, ACK or NAK) at buf[off..]; returns its length. */
export function emitDhcpReply(r: DhcpReplyRepr, buf: Uint8Array, off: number): number {
  buf.fill(0, off, off + DHCP_FIXED_LEN);
  const dv = new DataView(buf.buffer, buf.byteOffset + off);
  buf[off + field.OP] = DhcpOp.Reply;
  buf[off + field.HTYPE] = 1;
  buf[off + field.HLEN] = 6;
  dv.setUint32(field.XID, r.xid);
  // Broadcast flag: the client has no address yet, so the reply goes to everyone on its link.
  dv.setUint16(field.FLAGS, 0x8000);
  if (r.messageType !== DhcpMessageType.Nak) writeIpv4(buf, off + field.YIADDR, r.yiaddr);
  writeIpv4(buf, off + field.SIADDR, r.serverIp);
  writeMac(buf, off + field.CHADDR, r.chaddr);
  dv.setUint32(field.COOKIE, MAGIC_COOKIE);
  let p = off + field.OPTIONS;
  const opt = (code: number, bytes: number[]): void => {
    buf[p++] = code;
    buf[p++] = bytes.length;
    for (const b of bytes) buf[p++] = b;
  };
  const ip4 = (ip: number): number[] => [ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255];
  opt(DhcpOption.MessageType, [r.messageType]);
  opt(DhcpOption.ServerId, ip4(r.serverIp));
  if (r.messageType !== DhcpMessageType.Nak) {
    opt(DhcpOption.LeaseTime, ip4(r.leaseTimeS));
    opt(DhcpOption.SubnetMask, ip4(r.subnetMask));
    if (r.router !== null) opt(DhcpOption.Router, ip4(r.router));
    opt(DhcpOption.DnsServer, ip4(r.dnsServer));
    const name = [...new TextEncoder().encode(r.domainName.slice(0, 63))];
    if (name.length > 0) opt(DhcpOption.DomainName, name);
  }
  buf[p++] = DhcpOption.End;
  return p - off;
}
