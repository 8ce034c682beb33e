/**
 * Transmit-side TCP segmentation (what a NIC's TSO does) for frames read from a TAP opened with
 * IFF_VNET_HDR and offloads on (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6).
 *
 * Why: with offloads off, the sending namespace's kernel segments every TCP super-frame itself and
 * we read the segments back one read(2) per MTU frame: profiled under iperf3 TCP at MTU 1500, the
 * TAP reads were about a third of the emulator process's CPU (a syscall per 1,514 bytes), and the
 * sender's kernel spent more segmenting and queueing each segment. With TSO, one read hands over
 * up to 64 KiB and the split costs a header copy and a checksum per segment.
 *
 * What crosses the fabric is unchanged: real Ethernet frames of at most the MTU, the segments the
 * kernel's own software GSO would have made (tcp_gso_segment / inet_gso_segment):
 *  - every segment carries the super-frame's Ethernet, IP and TCP headers (options included);
 *  - gso_size payload bytes each, the last one the rest;
 *  - TCP sequence numbers advance by the payload; CWR only on the first segment, FIN and PSH only on
 *    the last (the others keep ACK, URG, ECE, RST, SYN as the super-frame has them);
 *  - IPv4: total length per segment, identification incremented per segment (the super-frame's
 *    is the first), header checksum recomputed; IPv6: payload length per segment;
 *  - the TCP checksum computed over the pseudo header, the TCP header and the segment's payload.
 * A frame without GSO but with NEEDS_CSUM (any protocol: the kernel filled in the pseudo-header
 * sum) gets its checksum finished as skb_checksum_help does: the folded sum from csum_start to the
 * end, complemented, at csum_start + csum_offset (0 written as 0xffff).
 *
 * A header asking for anything else (UDP fragmentation, ECN TSO, a GSO type we did not enable, a
 * checksum position outside the frame, a super-frame that is not plain Ethernet + IPv4/IPv6 +
 * TCP) is refused: `take` returns false and the caller drops and counts the frame.
 */
import { internetChecksum, pseudoHeaderSum4, pseudoHeaderSum6 } from '../src/wire/checksum.js';
import { readU16be as be16, readU16le as le16, readU32be as be32, writeU16be as put16, writeU32be as put32 } from '../src/wire/bytes.js';
import { fastOnesSum } from './fast-checksum.js';
import { VirtioNetHdr } from './virtio-net-hdr.js';

const ETH = 14;
const TCP_FIN = 0x01;
const TCP_PSH = 0x08;
const TCP_CWR = 0x80;
/**
 * Bytes a TAP with TSO reads per wake-up (the addon stops once this much is in): at least 64 KiB
 * (at MTU 1500 a batch is then two or three super-frames), and room for 64 frames of the MTU, the
 * addon's frame limit, so that jumbo frames still come 64 to a wake-up (at MTU 65,510 a 64 KiB
 * limit read one frame per wake-up and cost a quarter of TCP's throughput). The segments of one
 * batch must fit the bridge's holding queue (`tsoHoldFrames`) in case the interface is full.
 */
export function tsoReadBatchBytes(mtu: number): number {
  return Math.max(65536, 64 * (mtu + 18));
}

/** Holding-queue size that takes every segment of one TSO batch at this MTU (mss ≥ MTU - 100). */
export function tsoHoldFrames(mtu: number): number {
  return Math.ceil((tsoReadBatchBytes(mtu) + 65536) / Math.max(8, mtu - 100));
}

/** Largest headers of a segment: Ethernet, IPv4 with options (60), TCP with options (60). */
const MAX_HEADER_BYTES = ETH + 60 + 60;
/** Largest segment: IP total length is 16 bits. */
const MAX_SEGMENT_BYTES = ETH + 65535;

export class SegmentCounters {
  /** Reads that carried a TSO super-frame. */
  superFrames = 0;
  /** Frames made from them. */
  segments = 0;
  /** Frames whose NEEDS_CSUM checksum was finished here. */
  checksumsFinished = 0;
}

export class TsoSegmenter {
  readonly c = new SegmentCounters();
  /** The super-frame's headers, kept while each segment's copy is written over the payload. */
  private readonly template = new Uint8Array(MAX_HEADER_BYTES);

  /**
   * One TAP read (`read`: a `vh`-byte virtio_net_hdr, then the frame): calls `emit` with each
   * finished frame in order, a view valid only during the call. Returns false, having emitted
   * nothing, if the header asks for work this segmenter does not do.
   *
   * `read` is rewritten in place: each segment's headers are written just in front of its payload,
   * over the tail of the segments already emitted (no payload copy). Fine for a TAP batch, whose
   * frames are views valid only during the batch's callback anyway.
   */
  take(read: Uint8Array, vh: number, emit: (frame: Uint8Array) => void): boolean {
    const flags = read[0]!;
    const gsoType = read[1]!;
    const frame = read.subarray(vh);
    if (gsoType === VirtioNetHdr.GSO_NONE) {
      if ((flags & VirtioNetHdr.F_NEEDS_CSUM) !== 0 && !this.finishChecksum(frame, le16(read, 6), le16(read, 8))) return false;
      emit(frame);
      return true;
    }
    if (gsoType !== VirtioNetHdr.GSO_TCPV4 && gsoType !== VirtioNetHdr.GSO_TCPV6) return false;
    return this.segment(frame, gsoType === VirtioNetHdr.GSO_TCPV6, le16(read, 4), emit);
  }

  /** skb_checksum_help: the pseudo-header sum is already in the field; sum the rest over it. */
  private finishChecksum(frame: Uint8Array, start: number, offset: number): boolean {
    const at = start + offset;
    if (start < ETH || at + 2 > frame.length) return false;
    const ck = ~fastOnesSum(frame, start, frame.length) & 0xffff;
    const v = ck === 0 ? 0xffff : ck;
    frame[at] = v >>> 8;
    frame[at + 1] = v & 0xff;
    this.c.checksumsFinished++;
    return true;
  }

  private segment(frame: Uint8Array, v6: boolean, mss: number, emit: (frame: Uint8Array) => void): boolean {
    const l4 = tcpOffset(frame, v6);
    if (l4 < 0 || mss === 0) return false;
    const th = (frame[l4 + 12]! >>> 4) * 4;
    const hl = l4 + th;
    if (th < 20 || hl > frame.length || hl + mss > MAX_SEGMENT_BYTES) return false;
    const t = this.template;
    t.set(frame.subarray(0, hl));
    const headers = t.subarray(0, hl);
    const seq0 = be32(t, l4 + 4);
    const id0 = v6 ? 0 : be16(t, ETH + 4);
    const tcpFlags = t[l4 + 13]!;
    // Pseudo-header sum of the addresses and protocol: the same for every segment but its length.
    const addrSum = v6 ? pseudoHeaderSum6(t.subarray(ETH + 8, ETH + 24), t.subarray(ETH + 24, ETH + 40), 6, 0) : pseudoHeaderSum4(be32(t, ETH + 12), be32(t, ETH + 16), 6, 0);
    const payload = frame.length - hl;
    const count = Math.max(1, Math.ceil(payload / mss));
    for (let i = 0; i < count; i++) {
      const at = i * mss; // segment i: headers at [at, at + hl), its payload right after
      const plen = Math.min(mss, payload - at);
      frame.set(headers, at);
      const last = i === count - 1;
      frame[at + l4 + 13] = tcpFlags & ~(i > 0 ? TCP_CWR : 0) & ~(last ? 0 : TCP_FIN | TCP_PSH);
      put32(frame, at + l4 + 4, (seq0 + at) >>> 0);
      fillHeaders(frame, at, v6, l4, th + plen, (id0 + i) & 0xffff, addrSum);
      emit(frame.subarray(at, at + hl + plen));
    }
    this.c.superFrames++;
    this.c.segments += count;
    return true;
  }
}

/**
 * IP length (and IPv4 id and header checksum), then the TCP checksum, of the segment whose
 * Ethernet header starts at `f[at]`; `addrSum`: the pseudo-header sum without the length.
 */
function fillHeaders(f: Uint8Array, at: number, v6: boolean, l4: number, tcpBytes: number, id: number, addrSum: number): void {
  const ip = at + ETH;
  if (v6) {
    put16(f, ip + 4, tcpBytes);
  } else {
    put16(f, ip + 2, l4 - ETH + tcpBytes);
    put16(f, ip + 4, id);
    put16(f, ip + 10, 0);
    put16(f, ip + 10, internetChecksum(f, ip, at + l4));
  }
  const tcp = at + l4;
  put16(f, tcp + 16, 0);
  put16(f, tcp + 16, ~fastOnesSum(f, tcp, tcp + tcpBytes, fold16(addrSum + tcpBytes)) & 0xffff);
}

function fold16(x: number): number {
  x = (x & 0xffff) + (x >>> 16);
  return (x & 0xffff) + (x >>> 16);
}

/**
 * Where TCP starts in a super-frame: untagged Ethernet, IPv4 (options allowed, not a fragment) or
 * IPv6 without extension headers, carrying TCP; -1 otherwise.
 */
function tcpOffset(f: Uint8Array, v6: boolean): number {
  if (!v6) {
    if (f.length < ETH + 20 || f[12] !== 0x08 || f[13] !== 0x00 || f[ETH]! >>> 4 !== 4 || f[ETH + 9] !== 6) return -1;
    if ((be16(f, ETH + 6) & 0x3fff) !== 0) return -1; // MF or a fragment offset
    const ihl = (f[ETH]! & 0x0f) * 4;
    return ihl >= 20 && ETH + ihl + 20 <= f.length ? ETH + ihl : -1;
  }
  if (f.length < ETH + 60 || f[12] !== 0x86 || f[13] !== 0xdd || f[ETH]! >>> 4 !== 6 || f[ETH + 6] !== 6) return -1;
  return ETH + 40;
}
