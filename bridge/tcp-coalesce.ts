/**
 * Receive-side TCP coalescing (what Linux GRO does in a NIC driver) for frames going from the
 * fabric into a TAP opened with IFF_VNET_HDR.
 *
 * Why: writing a frame into a TAP runs the receiving namespace's whole network stack for it inside
 * the write() (profiled: about half of the emulator process's CPU at MTU 1500). Linux NICs hand
 * the stack GRO super-frames; we do the same: consecutive in-order segments of one TCP flow that
 * the fabric delivers in the same event batch are merged into one frame of up to 64 KiB written
 * with a virtio_net_hdr (gso_type TCPV4/TCPV6, gso_size = the segments' payload size, NEEDS_CSUM
 * with the pseudo-header sum in the TCP checksum field, as the kernel's own GRO leaves it).
 *
 * What crosses the fabric is unchanged: real Ethernet frames of at most MTU + 18 bytes, captured as
 * such. Only the hand-off to the namespace is merged, and only where Linux GRO would merge:
 * IPv4 without options or fragments / IPv6 without extension headers, same addresses, ports, TOS or
 * traffic class, TTL or hop limit, ACK number, window and TCP options, contiguous sequence numbers,
 * only ACK/PSH flags, every segment but the last of the same payload size, a PSH ends the merge.
 * A frame that is not merged with another is written byte for byte as it came (zero vnet header).
 *
 * Checksums: the super-frame goes out as NEEDS_CSUM, which tells the receiving kernel the checksum
 * is ours to vouch for, so it never verifies the segments inside. A segment is therefore only merged
 * (or opens a merge) after its IPv4 header checksum and its TCP checksum verify; one that fails is
 * written unchanged with a zero vnet header, so the kernel checks it, drops it and counts it
 * (InCsumErrors) exactly as without GRO, and it is counted here as `badChecksum`.
 */
import { CoalesceCounters, CoalesceWriter, MAX_IP } from './coalesce-writer.js';
import { finishIpHeader, l4ChecksumsVerify, writeGsoVnetHdr } from './gso-headers.js';
import { VirtioNetHdr } from './virtio-net-hdr.js';

export { CoalesceCounters };

const ETH = 14;
const TCP_ACK = 0x10;
const TCP_PSH = 0x08;

export class TcpCoalescer extends CoalesceWriter<CoalesceCounters> {
  private mss = 0;
  private v6 = false;
  private l4 = 0;
  private th = 0;
  private nextSeq = 0;
  /** No more segments may join (a short one or a PSH was last). */
  private closed = false;

  constructor(
    /** virtio_net_hdr size of the TAP (10 or 12). */
    hdr: number,
    /** One TAP frame, or `head` + frame as one (writev); false if dropped (coalesce-writer.ts). */
    write: (frame: Uint8Array, head?: Uint8Array) => boolean,
    /** Counts a failed write of `frames` fabric frames (a super-frame carries several). */
    onDrop: (frames: number) => void = () => {},
  ) {
    super(new CoalesceCounters(), hdr, write, onDrop);
  }

  /** Takes a frame (a view, copied before return). Call `flush()` at the end of the batch. */
  push(f: Uint8Array): void {
    this.c.frames++;
    if (this.len > 0 && !this.closed && this.merge(f)) {
      if (this.closed) this.flush(); // PSH or a short segment: nothing more can join, don't hold it
      return;
    }
    this.flush();
    if (!this.merging || !this.start(f)) this.writeOne(f);
    else if (this.closed) this.flush();
  }

  /** Writes what is pending. */
  flush(): void {
    if (this.len === 0) return;
    const b = this.buf;
    const h = this.hdr;
    if (this.segs > 1) {
      const ps = finishIpHeader(b, h + ETH, this.len - ETH, this.v6, 6, this.len - this.l4);
      b[h + this.l4 + 16] = ps >>> 8;
      b[h + this.l4 + 17] = ps & 0xff;
      // NEEDS_CSUM, TCPV4/TCPV6, hdr_len, gso_size, csum_start/offset.
      writeGsoVnetHdr(b, h, this.v6 ? VirtioNetHdr.GSO_TCPV6 : VirtioNetHdr.GSO_TCPV4, this.l4 + this.th, this.mss, this.l4, 16);
    }
    this.emitPending(this.segs > 1);
    this.closed = false;
  }

  /** Parses f as a coalescing candidate; on success copies it in as the pending frame. */
  private start(f: Uint8Array): boolean {
    const n = f.length;
    let l4: number;
    let v6: boolean;
    if (f[12] === 0x08 && f[13] === 0x00) {
      if (n < ETH + 40 || f[14] !== 0x45 || f[23] !== 6 || (f[20]! & 0x3f) !== 0 || f[21] !== 0) return false;
      if (((f[16]! << 8) | f[17]!) !== n - ETH) return false; // padded or truncated
      l4 = ETH + 20;
      v6 = false;
    } else if (f[12] === 0x86 && f[13] === 0xdd) {
      if (n < ETH + 60 || f[20] !== 6 || ((f[18]! << 8) | f[19]!) !== n - ETH - 40) return false;
      l4 = ETH + 40;
      v6 = true;
    } else return false;
    const th = (f[l4 + 12]! >>> 4) * 4;
    if (th < 20 || l4 + th >= n) return false; // no payload: a pure ACK is not merged
    const flags = f[l4 + 13]!;
    if ((flags & ~(TCP_ACK | TCP_PSH)) !== 0 || !(flags & TCP_ACK) || (f[l4 + 12]! & 0x0f) !== 0) return false;
    if (!checksumsVerify(f, l4, v6)) {
      this.c.badChecksum++;
      return false;
    }
    this.buf.set(f, this.hdr);
    this.len = n;
    this.segs = 1;
    this.l4 = l4;
    this.th = th;
    this.v6 = v6;
    this.mss = n - l4 - th;
    this.nextSeq = (((f[l4 + 4]! << 24) | (f[l4 + 5]! << 16) | (f[l4 + 6]! << 8) | f[l4 + 7]!) >>> 0) + this.mss;
    this.closed = (flags & TCP_PSH) !== 0;
    return true;
  }

  private merge(f: Uint8Array): boolean {
    const n = f.length;
    const l4 = this.l4;
    const th = this.th;
    if (n <= l4 + th) return false;
    const plen = n - l4 - th;
    if (plen > this.mss || this.len + plen > ETH + MAX_IP) return false;
    const b = this.buf;
    const h = this.hdr;
    // Ethernet header and ethertype.
    for (let i = 0; i < ETH; i++) if (f[i] !== b[h + i]) return false;
    if (!this.v6) {
      if (f[14] !== 0x45 || f[23] !== 6 || (f[20]! & 0x3f) !== 0 || f[21] !== 0 || ((f[16]! << 8) | f[17]!) !== n - ETH) return false;
      // TOS, flags (DF), TTL, protocol, addresses equal; length, id and checksum may differ.
      if (f[15] !== b[h + 15] || f[20] !== b[h + 20] || f[22] !== b[h + 22]) return false;
      for (let i = 26; i < 34; i++) if (f[i] !== b[h + i]) return false;
    } else {
      if (f[20] !== 6 || ((f[18]! << 8) | f[19]!) !== n - ETH - 40) return false;
      for (let i = 14; i < 18; i++) if (f[i] !== b[h + i]) return false;
      for (let i = 21; i < 54; i++) if (f[i] !== b[h + i]) return false;
    }
    // TCP: ports, ack, data offset, window, urgent and options equal; flags ACK (+PSH); seq contiguous.
    const flags = f[l4 + 13]!;
    if ((flags & ~(TCP_ACK | TCP_PSH)) !== 0 || !(flags & TCP_ACK)) return false;
    for (let i = 0; i < 4; i++) if (f[l4 + i] !== b[h + l4 + i]) return false;
    for (let i = 8; i < 13; i++) if (f[l4 + i] !== b[h + l4 + i]) return false;
    if (f[l4 + 14] !== b[h + l4 + 14] || f[l4 + 15] !== b[h + l4 + 15]) return false;
    for (let i = 18; i < th; i++) if (f[l4 + i] !== b[h + l4 + i]) return false;
    const seq = ((f[l4 + 4]! << 24) | (f[l4 + 5]! << 16) | (f[l4 + 6]! << 8) | f[l4 + 7]!) >>> 0;
    if (seq !== this.nextSeq >>> 0) return false;
    // Last, so frames that cannot join anyway are not summed twice (start() checks them).
    if (!checksumsVerify(f, l4, this.v6)) return false;
    b.set(f.subarray(l4 + th, n), h + this.len);
    this.len += plen;
    this.segs++;
    this.nextSeq = (this.nextSeq + plen) >>> 0;
    if (flags & TCP_PSH) {
      b[h + l4 + 13] = b[h + l4 + 13]! | TCP_PSH;
      this.closed = true;
    }
    if (plen < this.mss) this.closed = true;
    return true;
  }
}

/**
 * True if f's IPv4 header checksum (none in IPv6) and its TCP checksum over the pseudo header,
 * TCP header and payload verify. Callers have checked f is IPv4 without options (IHL 5) or IPv6
 * without extension headers, with TCP at `l4` running to the end of f.
 */
export function checksumsVerify(f: Uint8Array, l4: number, v6: boolean): boolean {
  return l4ChecksumsVerify(f, l4, v6, 6);
}
