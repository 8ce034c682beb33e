/** Ethernet II header with an optional single 802.1Q tag. No FCS: frames here never carry one. */
import { EopError, ErrorCode } from '../errors.js';
import { readMac, writeMac } from './mac.js';

export const EtherType = { IPv4: 0x0800, ARP: 0x0806, VLAN: 0x8100, IPv6: 0x86dd } as const;

export const ETH_HEADER_LEN = 14;
export const ETH_VLAN_TAG_LEN = 4;
/** Shortest frame a real NIC puts on a wire (60 + FCS = 64). Shorter frames are legal here, but
 * senders out there pad up to it, so receivers must trust length fields, not the buffer end. */
export const ETH_MIN_FRAME_LEN = 60;

const field = {
  DST: 0,
  SRC: 6,
  TYPE: 12,
  // present only when TYPE is VLAN
  TCI: 14,
  INNER_TYPE: 16,
} as const;

export class EthernetView {
  constructor(readonly buf: Uint8Array) {}

  /** FRAME_TOO_SHORT if the header (with its tag, if tagged) does not fit. */
  static checked(buf: Uint8Array): EthernetView {
    if (buf.length < ETH_HEADER_LEN) throw tooShort('Ethernet', buf.length, ETH_HEADER_LEN);
    const v = new EthernetView(buf);
    if (v.isTagged() && buf.length < ETH_HEADER_LEN + ETH_VLAN_TAG_LEN) {
      throw tooShort('802.1Q', buf.length, ETH_HEADER_LEN + ETH_VLAN_TAG_LEN);
    }
    return v;
  }

  dst(): number {
    return readMac(this.buf, field.DST);
  }
  src(): number {
    return readMac(this.buf, field.SRC);
  }
  /** The type right after the source address: VLAN (0x8100) for a tagged frame. */
  outerType(): number {
    return (this.buf[field.TYPE] << 8) | this.buf[field.TYPE + 1];
  }
  isTagged(): boolean {
    return this.outerType() === EtherType.VLAN;
  }
  /** Type of the payload: the inner type of a tagged frame. Unknown values are returned as they are. */
  etherType(): number {
    const o = this.isTagged() ? field.INNER_TYPE : field.TYPE;
    return (this.buf[o] << 8) | this.buf[o + 1];
  }
  /** 802.1Q TCI (PCP, DEI, VID) or null if untagged. */
  vlanTag(): number | null {
    return this.isTagged() ? (this.buf[field.TCI] << 8) | this.buf[field.TCI + 1] : null;
  }
  vlanId(): number | null {
    return this.isTagged() ? ((this.buf[field.TCI] & 0x0f) << 8) | this.buf[field.TCI + 1] : null;
  }
  payloadOffset(): number {
    return this.isTagged() ? ETH_HEADER_LEN + ETH_VLAN_TAG_LEN : ETH_HEADER_LEN;
  }
  payload(): Uint8Array {
    return this.buf.subarray(this.payloadOffset());
  }

  setDst(mac: number): void {
    writeMac(this.buf, field.DST, mac);
  }
  setSrc(mac: number): void {
    writeMac(this.buf, field.SRC, mac);
  }
  /** Sets the payload type (the inner one on a tagged frame). */
  setEtherType(type: number): void {
    const o = this.isTagged() ? field.INNER_TYPE : field.TYPE;
    this.buf[o] = type >>> 8;
    this.buf[o + 1] = type;
  }
}

export interface EthernetRepr {
  dst: number;
  src: number;
  etherType: number;
  /** 802.1Q TCI; absent for an untagged frame. */
  vlanTag?: number;
}

export const EthernetRepr = {
  parse(v: EthernetView): EthernetRepr {
    const r: EthernetRepr = { dst: v.dst(), src: v.src(), etherType: v.etherType() };
    const tag = v.vlanTag();
    if (tag !== null) r.vlanTag = tag;
    return r;
  },
  bufferLen(r: EthernetRepr): number {
    return r.vlanTag === undefined ? ETH_HEADER_LEN : ETH_HEADER_LEN + ETH_VLAN_TAG_LEN;
  },
  /** Writes the header at `buf[off..]`; returns its length. */
  emit(r: EthernetRepr, buf: Uint8Array, off: number): number {
    if (r.vlanTag === undefined) return writeEthernetHeader(buf, off, r.dst, r.src, r.etherType);
    writeEthernetHeader(buf, off, r.dst, r.src, EtherType.VLAN);
    buf[off + field.TCI] = r.vlanTag >>> 8;
    buf[off + field.TCI + 1] = r.vlanTag;
    buf[off + field.INNER_TYPE] = r.etherType >>> 8;
    buf[off + field.INNER_TYPE + 1] = r.etherType;
    return ETH_HEADER_LEN + ETH_VLAN_TAG_LEN;
  },
};

/** Untagged header, for builders on the per-frame path; returns 14. */
export function writeEthernetHeader(
  buf: Uint8Array,
  off: number,
  dst: number,
  src: number,
  etherType: number,
): number {
  writeMac(buf, off + field.DST, dst);
  writeMac(buf, off + field.SRC, src);
  buf[off + field.TYPE] = etherType >>> 8;
  buf[off + field.TYPE + 1] = etherType;
  return ETH_HEADER_LEN;
}

/**
 * Whether a frame from an edge (TAP, WebSocket) may enter the emulation: null if so, else the drop
 * code. The upper bound is a flat mtu + 14 + 4, tagged or not, as Linux NICs accept 1518 bytes at
 * MTU 1500 either way; anything oversized inside that allowance is caught by the IP length fields.
 */
export function checkEdgeFrame(buf: Uint8Array, mtu: number): ErrorCode | null {
  if (buf.length < ETH_HEADER_LEN) return ErrorCode.FRAME_TOO_SHORT;
  if (buf.length > mtu + ETH_HEADER_LEN + ETH_VLAN_TAG_LEN) return ErrorCode.FRAME_TOO_LONG;
  return null;
}

/** FRAME_TOO_SHORT with a uniform message; shared by every view's `checked`. */
export function tooShort(what: string, have: number, need: number): EopError {
  return new EopError(ErrorCode.FRAME_TOO_SHORT, `${what}: ${have} bytes, need at least ${need}`);
}

/** Builders write into the caller's buffer; one that is too small is a caller bug, not bad input. */
export function needRoom(buf: Uint8Array, len: number): void {
  if (buf.length < len) throw new RangeError(`frame buffer holds ${buf.length} bytes, frame needs ${len}`);
}
