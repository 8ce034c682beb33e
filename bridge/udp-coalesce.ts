/**
 * Receive-side UDP coalescing for frames going from the fabric into a TAP opened with IFF_VNET_HDR:
 * the UDP counterpart of tcp-coalesce.ts (what Linux UDP GRO builds, handed over as USO).
 *
 * Why: a UDP stream into a namespace is bound by the namespace's CPU (iperf3's receiver, the
 * emulator and the sender share two cores): every datagram written into a TAP runs the whole
 * receive path (tun_get_user, netif_rx, IP, route, socket lookup) inside the write(). Consecutive
 * datagrams of one flow that the fabric delivers in the same event batch are written as one
 * super-packet with a virtio_net_hdr of gso_type VIRTIO_NET_HDR_GSO_UDP_L4: the kernel runs the
 * path once and splits it back into the same datagrams at the socket (udp_queue_rcv_skb →
 * udp_rcv_segment → __udp_gso_segment), so the application reads exactly the datagrams that were
 * sent, one by one, in order.
 *
 * What crosses the fabric and what the captures see is unchanged: real Ethernet frames of at most
 * MTU + 18 bytes. Only the hand-off into the namespace is merged, and only where Linux UDP GRO
 * would merge (udp_gro_receive_segment, inet_gro_receive, ipv6_gro_receive), plus what
 * __udp_gso_segment needs to give the same datagrams back:
 * - IPv4 without options (IHL 5) and not a fragment (no MF, offset 0; DF allowed and equal), or
 *   IPv6 whose next header is UDP (no extension headers); total/payload length = the frame's rest
 *   (no Ethernet padding), UDP length = IP payload length;
 * - same Ethernet header, addresses, ports, TOS/traffic class and flow label, TTL/hop limit;
 * - IPv4 IDs consecutive (id, id+1, …): the kernel gives segment i the ID of the first + i
 *   (inet_gso_segment), so only then does every datagram keep its own ID; a sender with fixed IDs
 *   (an unconnected socket with DF sends ID 0) is written datagram by datagram;
 * - every datagram but the last has the payload size of the first (gso_size); a shorter one is the
 *   last; an empty one is never merged (gso_size 0 is refused by virtio_net_hdr_to_skb);
 * - at most 64 datagrams (UDP_GRO_CNT_MAX; older kernels' UDP_MAX_SEGMENTS) and an IP packet of at
 *   most 65,535 bytes (IPv4 total length; GRO's 64 KiB).
 *
 * Checksums: the super-packet goes out as NEEDS_CSUM (csum_start = the UDP header, csum_offset 6,
 * the pseudo-header sum over the super-packet's UDP length in the checksum field, as the kernel's
 * own UDP GRO leaves it). The kernel then treats every segment's checksum as good (CHECKSUM_PARTIAL)
 * and never verifies it, so a datagram only joins (or opens) a merge after its IPv4 header checksum
 * and its UDP checksum verify. One that fails is written unchanged behind a zero vnet header, so
 * the kernel verifies, drops and counts it (UdpInCsumErrors / IpExt InCsumErrors) exactly as without
 * merging; it is counted here as `badChecksum`. A datagram without a checksum (IPv4 checksum 0) is
 * written the same way, unmerged (`noChecksum`): merged it would arrive with one.
 *
 * Kernels before 6.2 refuse GSO_UDP_L4 from a TAP (EINVAL): the caller says so (the TAP's
 * `usoWrite`); then every datagram is written on its own and counted as `unsupported`.
 */
import { finishIpHeader, l4ChecksumsVerify, writeGsoVnetHdr } from './gso-headers.js';
import { CoalesceCounters, CoalesceWriter, MAX_IP } from './coalesce-writer.js';
import { VirtioNetHdr } from './virtio-net-hdr.js';

const ETH = 14;
const UDP_HDR = 8;
const IPPROTO_UDP = 17;
/** Most datagrams per super-packet: UDP_GRO_CNT_MAX, and UDP_MAX_SEGMENTS before Linux 6.10. */
export const MAX_SEGMENTS = 64;
/** Offset of the checksum in the UDP header (csum_offset). */
const UDP_CSUM_OFFSET = 6;

export class UdpCoalesceCounters extends CoalesceCounters {
  /** IPv4 datagrams without a checksum (0): written unmerged. */
  noChecksum = 0;
  /** Datagrams that would have been merge candidates, written one by one because the kernel refuses USO. */
  unsupported = 0;
}

/** True if f is an IPv4 or IPv6 frame carrying UDP right after the fixed IP header: the frames this coalescer takes. */
export function isUdpFrame(f: Uint8Array): boolean {
  if (f.length < ETH + 20) return false;
  if (f[12] === 0x08 && f[13] === 0x00) return f[23] === IPPROTO_UDP;
  return f[12] === 0x86 && f[13] === 0xdd && f.length >= ETH + 40 && f[20] === IPPROTO_UDP;
}

export class UdpCoalescer extends CoalesceWriter<UdpCoalesceCounters> {
  /** Payload bytes of the first datagram: the gso_size. */
  private segPayload = 0;
  private v6 = false;
  /** Offset of the UDP header in the frame. */
  private l4 = 0;
  /** IPv4 ID the next datagram must carry. */
  private nextId = 0;
  /** A short datagram was last: nothing more may join. */
  private closed = false;

  constructor(
    /** virtio_net_hdr size of the TAP (10 or 12). */
    hdr: number,
    /** One TAP frame, or `head` + frame as one (writev); false if dropped (coalesce-writer.ts). */
    write: (frame: Uint8Array, head?: Uint8Array) => boolean,
    /** Counts a failed write of `frames` fabric frames. */
    onDrop: (frames: number) => void = () => {},
    /** False if the TAP refuses GSO_UDP_L4 (kernel < 6.2): write datagram by datagram, counted. */
    private readonly usoWrite = true,
  ) {
    super(new UdpCoalesceCounters(), hdr, write, onDrop);
  }

  /** Takes a UDP frame (`isUdpFrame`; a view, copied before return). Call `flush()` at the end of the batch. */
  push(f: Uint8Array): void {
    this.c.frames++;
    if (this.len > 0 && !this.closed && this.tryMerge(f)) {
      if (this.closed || this.segs === MAX_SEGMENTS) this.flush();
      return;
    }
    this.flush();
    if (!this.merging || !this.tryStart(f)) this.writeOne(f);
  }

  /** Writes what is pending: the lone datagram as it came, or the super-packet. */
  flush(): void {
    if (this.len === 0) return;
    if (this.segs > 1) this.finishSuper();
    this.emitPending(this.segs > 1);
    this.closed = false;
  }

  /** Lengths, the IPv4 header checksum, the pseudo-header sum and the virtio_net_hdr of the super-packet. */
  private finishSuper(): void {
    const b = this.buf;
    const h = this.hdr;
    const u = h + this.l4;
    const udpLen = this.len - this.l4;
    const ps = finishIpHeader(b, h + ETH, this.len - ETH, this.v6, IPPROTO_UDP, udpLen);
    // __udp_gso_segment swaps this length for each segment's in the checksum (csum16_sub/add).
    b[u + 4] = udpLen >>> 8;
    b[u + 5] = udpLen & 0xff;
    b[u + 6] = ps >>> 8;
    b[u + 7] = ps & 0xff;
    writeGsoVnetHdr(b, h, VirtioNetHdr.GSO_UDP_L4, this.l4 + UDP_HDR, this.segPayload, this.l4, UDP_CSUM_OFFSET);
  }

  /** If f may open a merge: copies it in as the pending datagram. */
  private tryStart(f: Uint8Array): boolean {
    const l4 = udpOffset(f);
    if (l4 < 0) return false;
    const n = f.length;
    if (n - l4 <= UDP_HDR) return false; // empty: gso_size 0 is refused
    const v6 = l4 !== ETH + 20;
    if (!v6 && f[l4 + 6] === 0 && f[l4 + 7] === 0) {
      this.c.noChecksum++;
      return false;
    }
    if (!udpChecksumsVerify(f, l4, v6)) {
      this.c.badChecksum++;
      return false;
    }
    if (!this.usoWrite) {
      this.c.unsupported++;
      return false;
    }
    this.buf.set(f, this.hdr);
    this.len = n;
    this.segs = 1;
    this.l4 = l4;
    this.v6 = v6;
    this.segPayload = n - l4 - UDP_HDR;
    this.nextId = v6 ? 0 : (((f[18]! << 8) | f[19]!) + 1) & 0xffff;
    this.closed = false;
    return true;
  }

  /** Appends f's payload to the pending super-packet if it may join; false leaves everything as it was. */
  private tryMerge(f: Uint8Array): boolean {
    const n = f.length;
    const l4 = this.l4;
    const plen = n - l4 - UDP_HDR;
    if (plen <= 0 || plen > this.segPayload || this.len + plen > ETH + MAX_IP) return false;
    if (udpOffset(f) !== l4) return false;
    const b = this.buf;
    const h = this.hdr;
    for (let i = 0; i < ETH; i++) if (f[i] !== b[h + i]) return false;
    if (!this.v6) {
      // TOS, DF, TTL, addresses equal; the ID is the next one; length and checksum differ.
      if (f[15] !== b[h + 15] || f[20] !== b[h + 20] || f[22] !== b[h + 22]) return false;
      if (((f[18]! << 8) | f[19]!) !== this.nextId) return false;
      for (let i = 26; i < 34; i++) if (f[i] !== b[h + i]) return false;
      if (f[l4 + 6] === 0 && f[l4 + 7] === 0) return false; // tryStart counts it
    } else {
      // Version, traffic class, flow label; hop limit and addresses (the length differs).
      for (let i = 14; i < 18; i++) if (f[i] !== b[h + i]) return false;
      for (let i = 21; i < 54; i++) if (f[i] !== b[h + i]) return false;
    }
    for (let i = 0; i < 4; i++) if (f[l4 + i] !== b[h + l4 + i]) return false; // ports
    // Last, so frames that cannot join anyway are not summed twice (tryStart checks them).
    if (!udpChecksumsVerify(f, l4, this.v6)) return false;
    b.set(f.subarray(l4 + UDP_HDR, n), h + this.len);
    this.len += plen;
    this.segs++;
    this.nextId = (this.nextId + 1) & 0xffff;
    if (plen < this.segPayload) this.closed = true;
    return true;
  }
}

/**
 * Offset of the UDP header in f if f is a datagram the coalescer may merge (IPv4 without options,
 * not a fragment, only DF among the flags; or IPv6 without extension headers; IP and UDP lengths
 * matching the frame exactly), else -1.
 */
function udpOffset(f: Uint8Array): number {
  const n = f.length;
  let l4: number;
  if (f[12] === 0x08 && f[13] === 0x00) {
    if (n < ETH + 20 + UDP_HDR || f[14] !== 0x45 || f[23] !== IPPROTO_UDP) return -1;
    if ((f[20]! & 0xbf) !== 0 || f[21] !== 0) return -1; // MF, fragment offset or the reserved bit
    if (((f[16]! << 8) | f[17]!) !== n - ETH) return -1; // padded or truncated
    l4 = ETH + 20;
  } else if (f[12] === 0x86 && f[13] === 0xdd) {
    if (n < ETH + 40 + UDP_HDR || f[20] !== IPPROTO_UDP || (f[14]! & 0xf0) !== 0x60) return -1;
    if (((f[18]! << 8) | f[19]!) !== n - ETH - 40) return -1;
    l4 = ETH + 40;
  } else return -1;
  if (((f[l4 + 4]! << 8) | f[l4 + 5]!) !== n - l4) return -1; // UDP length ≠ IP payload
  return l4;
}

/**
 * True if f's IPv4 header checksum (none in IPv6) and its UDP checksum over the pseudo header, the
 * UDP header and the payload verify. Callers have checked f with `udpOffset` (UDP at `l4` running
 * to the end of f) and that an IPv4 checksum is not 0 (no checksum).
 */
export function udpChecksumsVerify(f: Uint8Array, l4: number, v6: boolean): boolean {
  // RFC 8200 §8.1: a zero UDP checksum is invalid in IPv6 (the sum alone could still come out right).
  if (v6 && f[l4 + 6] === 0 && f[l4 + 7] === 0) return false;
  return l4ChecksumsVerify(f, l4, v6, IPPROTO_UDP);
}
