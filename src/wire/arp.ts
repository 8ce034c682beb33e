/** ARP (RFC 826) for Ethernet and IPv4, the only pairing an Ethernet-only emulator meets. */
import { EopError, ErrorCode } from '../errors.js';
import { ETH_HEADER_LEN, EtherType, needRoom, tooShort, writeEthernetHeader } from './ethernet.js';
import { readIpv4, writeIpv4 } from './ipv4.js';
import { readMac, writeMac } from './mac.js';

export const ArpOp = { Request: 1, Reply: 2 } as const;

export const ARP_LEN = 28;
/** Ethernet + ARP, unpadded. */
export const ARP_FRAME_LEN = ETH_HEADER_LEN + ARP_LEN;

const HTYPE_ETHERNET = 1;

const field = {
  HTYPE: 0,
  PTYPE: 2,
  HLEN: 4,
  PLEN: 5,
  OP: 6,
  SHA: 8,
  SPA: 14,
  THA: 18,
  TPA: 24,
} as const;

export class ArpView {
  constructor(readonly buf: Uint8Array) {}

  /** FRAME_TOO_SHORT below 28 bytes; UNSUPPORTED unless Ethernet/IPv4 (the offsets below assume it). */
  static checked(buf: Uint8Array): ArpView {
    if (buf.length < ARP_LEN) throw tooShort('ARP', buf.length, ARP_LEN);
    const v = new ArpView(buf);
    const hlen = buf[field.HLEN];
    const plen = buf[field.PLEN];
    if (v.htype() !== HTYPE_ETHERNET || v.ptype() !== EtherType.IPv4 || hlen !== 6 || plen !== 4) {
      const what = `htype ${v.htype()} ptype 0x${v.ptype().toString(16)} hlen ${hlen} plen ${plen}`;
      throw new EopError(ErrorCode.UNSUPPORTED, `ARP: ${what}`);
    }
    return v;
  }

  htype(): number {
    return (this.buf[field.HTYPE] << 8) | this.buf[field.HTYPE + 1];
  }
  ptype(): number {
    return (this.buf[field.PTYPE] << 8) | this.buf[field.PTYPE + 1];
  }
  op(): number {
    return (this.buf[field.OP] << 8) | this.buf[field.OP + 1];
  }
  senderMac(): number {
    return readMac(this.buf, field.SHA);
  }
  senderIp(): number {
    return readIpv4(this.buf, field.SPA);
  }
  targetMac(): number {
    return readMac(this.buf, field.THA);
  }
  targetIp(): number {
    return readIpv4(this.buf, field.TPA);
  }

  setOp(v: number): void {
    this.buf[field.OP] = v >>> 8;
    this.buf[field.OP + 1] = v;
  }
  setSenderMac(mac: number): void {
    writeMac(this.buf, field.SHA, mac);
  }
  setSenderIp(ip: number): void {
    writeIpv4(this.buf, field.SPA, ip);
  }
  setTargetMac(mac: number): void {
    writeMac(this.buf, field.THA, mac);
  }
  setTargetIp(ip: number): void {
    writeIpv4(this.buf, field.TPA, ip);
  }
}

export interface ArpRepr {
  /** ArpOp; other values are kept as numbers. */
  op: number;
  senderMac: number;
  senderIp: number;
  targetMac: number;
  targetIp: number;
}

export const ArpRepr = {
  parse(v: ArpView): ArpRepr {
    return {
      op: v.op(),
      senderMac: v.senderMac(),
      senderIp: v.senderIp(),
      targetMac: v.targetMac(),
      targetIp: v.targetIp(),
    };
  },
  bufferLen(_r: ArpRepr): number {
    return ARP_LEN;
  },
  emit(r: ArpRepr, buf: Uint8Array, off: number): number {
    buf[off + field.HTYPE] = 0;
    buf[off + field.HTYPE + 1] = HTYPE_ETHERNET;
    buf[off + field.PTYPE] = EtherType.IPv4 >>> 8;
    buf[off + field.PTYPE + 1] = EtherType.IPv4 & 0xff;
    buf[off + field.HLEN] = 6;
    buf[off + field.PLEN] = 4;
    buf[off + field.OP] = r.op >>> 8;
    buf[off + field.OP + 1] = r.op;
    writeMac(buf, off + field.SHA, r.senderMac);
    writeIpv4(buf, off + field.SPA, r.senderIp);
    writeMac(buf, off + field.THA, r.targetMac);
    writeIpv4(buf, off + field.TPA, r.targetIp);
    return ARP_LEN;
  },
};

export interface ArpFrameOptions extends ArpRepr {
  /** Ethernet destination: BROADCAST_MAC for a request, the asker for a reply. */
  dstMac: number;
}

/** Ethernet + ARP from `senderMac` into `buf[0..]`; returns ARP_FRAME_LEN (42, not padded to 60). */
export function buildArp(buf: Uint8Array, o: ArpFrameOptions): number {
  needRoom(buf, ARP_FRAME_LEN);
  writeEthernetHeader(buf, 0, o.dstMac, o.senderMac, EtherType.ARP);
  ArpRepr.emit(o, buf, ETH_HEADER_LEN);
  return ARP_FRAME_LEN;
}
