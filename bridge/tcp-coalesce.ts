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
import { pseudoHeaderSum4, pseudoHeaderSum6, internetChecksum } from '../src/wire/checksum.js';
import { fastOnesSum } from './fast-checksum.js';

const ETH = 14;
/** Largest IP packet (IPv4 total length / IPv6 payload length field). */
const MAX_IP = 65535;
const TCP_ACK = 0x10;
const TCP_PSH = 0x08;

export class CoalesceCounters {
  /** Frames handed in. */
  frames = 0;
  /** Frames that went out merged into a super-frame. */
  mergedFrames = 0;
  /** Writes to the TAP (super-frames and single frames). */
  writes = 0;
  superFrames = 0;
  /** Segments that would have been merge candidates but whose IPv4 or TCP checksum is wrong. */
  badChecksum = 0;
}

export class TcpCoalescer {
  readonly c = new CoalesceCounters();
  /** [0, hdr) virtio_net_hdr, then the pending frame. */
  private readonly buf: Uint8Array;
  /** The zero virtio_net_hdr written in front of a frame that is not merged (flags 0, GSO_NONE). */
  private readonly zeroHead: Uint8Array;
  private len = 0;
  private segs = 0;
  private mss = 0;
  private v6 = false;
  private l4 = 0;
  private th = 0;
  private nextSeq = 0;
  /** No more segments may join (a short one or a PSH was last). */
  private closed = false;

  constructor(
    /** virtio_net_hdr size of the TAP (10 or 12). */
    private readonly hdr: number,
    /**
     * Writes one TAP frame (header included), or with `head` the header and then the frame as one
     * TAP frame (the TAP's writev: a frame that is not merged is never copied); false if dropped.
     */
    private readonly write: (frame: Uint8Array, head?: Uint8Array) => boolean,
    /** Counts a failed write of `frames` fabric frames (a super-frame carries several). */
    private readonly onDrop: (frames: number) => void = () => {},
  ) {
    this.buf = new Uint8Array(hdr + ETH + MAX_IP);
    this.zeroHead = new Uint8Array(hdr);
  }

  private merging = true;

  /** Write every frame on its own (with a zero header): for comparisons. */
  disableMerging(): void {
    this.merging = false;
  }

  /** True if a frame is waiting for `flush()`. */
  get pending(): boolean {
    return this.len > 0;
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
    if (this.segs === 1) {
      this.emit(b.subarray(0, h + this.len), true);
    } else {
      const ip = h + ETH;
      const l4 = h + this.l4;
      if (!this.v6) {
        const total = this.len - ETH;
        b[ip + 2] = total >>> 8;
        b[ip + 3] = total & 0xff;
        b[ip + 10] = 0;
        b[ip + 11] = 0;
        const ck = internetChecksum(b, ip, ip + 20);
        b[ip + 10] = ck >>> 8;
        b[ip + 11] = ck & 0xff;
        const src = ((b[ip + 12]! << 24) | (b[ip + 13]! << 16) | (b[ip + 14]! << 8) | b[ip + 15]!) >>> 0;
        const dst = ((b[ip + 16]! << 24) | (b[ip + 17]! << 16) | (b[ip + 18]! << 8) | b[ip + 19]!) >>> 0;
        const ps = pseudoHeaderSum4(src, dst, 6, this.len - this.l4);
        b[l4 + 16] = ps >>> 8;
        b[l4 + 17] = ps & 0xff;
      } else {
        const pl = this.len - ETH - 40;
        b[ip + 4] = pl >>> 8;
        b[ip + 5] = pl & 0xff;
        const ps = pseudoHeaderSum6(b.subarray(ip + 8, ip + 24), b.subarray(ip + 24, ip + 40), 6, this.len - this.l4);
        b[l4 + 16] = ps >>> 8;
        b[l4 + 17] = ps & 0xff;
      }
      // virtio_net_hdr, little endian: NEEDS_CSUM, TCPV4/TCPV6, hdr_len, gso_size, csum_start/offset.
      b[0] = 1;
      b[1] = this.v6 ? 4 : 1;
      const hl = this.l4 + this.th;
      b[2] = hl & 0xff;
      b[3] = hl >>> 8;
      b[4] = this.mss & 0xff;
      b[5] = this.mss >>> 8;
      b[6] = this.l4 & 0xff;
      b[7] = this.l4 >>> 8;
      b[8] = 16;
      b[9] = 0;
      if (h === 12) {
        b[10] = 0;
        b[11] = 0;
      }
      this.c.superFrames++;
      this.c.mergedFrames += this.segs;
      this.emit(b.subarray(0, h + this.len), false, this.segs);
    }
    this.len = 0;
    this.segs = 0;
    this.closed = false;
  }

  private emit(frame: Uint8Array, plain: boolean, frames = 1): void {
    if (plain) frame.fill(0, 0, this.hdr);
    this.c.writes++;
    if (!this.write(frame)) this.onDrop(frames);
  }

  private writeOne(f: Uint8Array): void {
    this.c.writes++;
    if (!this.write(f, this.zeroHead)) this.onDrop(1);
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
  const n = f.length;
  let ps: number;
  if (!v6) {
    if (internetChecksum(f, ETH, ETH + 20) !== 0) return false;
    const src = ((f[26]! << 24) | (f[27]! << 16) | (f[28]! << 8) | f[29]!) >>> 0;
    const dst = ((f[30]! << 24) | (f[31]! << 16) | (f[32]! << 8) | f[33]!) >>> 0;
    ps = pseudoHeaderSum4(src, dst, 6, n - l4);
  } else {
    ps = pseudoHeaderSum6(f.subarray(ETH + 8, ETH + 24), f.subarray(ETH + 24, ETH + 40), 6, n - l4);
  }
  // The segment's bytes are summed natively where the addon is built (fast-checksum.ts): this sum
  // touches every byte GRO passes on. A checksum verifies when the sum over it is 0xffff.
  return fastOnesSum(f, l4, n, ps) === 0xffff;
}
