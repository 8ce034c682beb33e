/**
 * The header work shared by the receive-side coalescers (tcp-coalesce.ts, udp-coalesce.ts): verify
 * a frame's IPv4 header and L4 checksums before it may join a merge, finish the IP header of a
 * merged packet, and write the virtio_net_hdr that tells the kernel how to split it.
 *
 * Frames are Ethernet (14 bytes) + IPv4 without options or IPv6 without extension headers, with the
 * L4 header at `l4` and running to the end of the frame: the callers check that first.
 */
import { internetChecksum, pseudoHeaderSum4, pseudoHeaderSum6 } from '../src/wire/checksum.js';
import { readU32be } from '../src/wire/bytes.js';
import { fastOnesSum } from './fast-checksum.js';
import { VirtioNetHdr } from './virtio-net-hdr.js';

const ETH = 14;


/** Pseudo-header sum (folded, not complemented) of the IP packet at `ip` for an L4 length. */
function pseudoSum(f: Uint8Array, ip: number, v6: boolean, proto: number, l4Len: number): number {
  return v6
    ? pseudoHeaderSum6(f.subarray(ip + 8, ip + 24), f.subarray(ip + 24, ip + 40), proto, l4Len)
    : pseudoHeaderSum4(readU32be(f, ip + 12), readU32be(f, ip + 16), proto, l4Len);
}

/**
 * True if f's IPv4 header checksum (none in IPv6) and its L4 checksum (protocol `proto`, over the
 * pseudo header, the L4 header and the payload) verify.
 */
export function l4ChecksumsVerify(f: Uint8Array, l4: number, v6: boolean, proto: number): boolean {
  if (!v6 && internetChecksum(f, ETH, ETH + 20) !== 0) return false;
  const n = f.length;
  // The segment's bytes are summed natively where the addon is built (fast-checksum.ts): this sum
  // touches every byte the coalescers pass on. A checksum verifies when the sum over it is 0xffff.
  return fastOnesSum(f, l4, n, pseudoSum(f, ETH, v6, proto, n - l4)) === 0xffff;
}

/**
 * Sets the length field of the merged IP packet at `ip` (of `ipLen` bytes, header included) and,
 * for IPv4, its header checksum; returns the pseudo-header sum for `l4Len` bytes of L4, the value
 * the L4 checksum field holds in a NEEDS_CSUM packet (as the kernel's own GRO leaves it).
 */
export function finishIpHeader(b: Uint8Array, ip: number, ipLen: number, v6: boolean, proto: number, l4Len: number): number {
  if (!v6) {
    b[ip + 2] = ipLen >>> 8;
    b[ip + 3] = ipLen & 0xff;
    b[ip + 10] = 0;
    b[ip + 11] = 0;
    const ck = internetChecksum(b, ip, ip + 20);
    b[ip + 10] = ck >>> 8;
    b[ip + 11] = ck & 0xff;
  } else {
    const pl = ipLen - 40;
    b[ip + 4] = pl >>> 8;
    b[ip + 5] = pl & 0xff;
  }
  return pseudoSum(b, ip, v6, proto, l4Len);
}

/**
 * Writes a virtio_net_hdr (little endian) of `hdrSize` bytes (10, or 12 with a zero num_buffers) at
 * b[0]: NEEDS_CSUM, `gsoType`, hdr_len (headers up to the payload), gso_size, csum_start (the L4
 * header), csum_offset (of the checksum in it).
 */
export function writeGsoVnetHdr(b: Uint8Array, hdrSize: number, gsoType: number, hdrLen: number, gsoSize: number, csumStart: number, csumOffset: number): void {
  b[0] = VirtioNetHdr.F_NEEDS_CSUM;
  b[1] = gsoType;
  b[2] = hdrLen & 0xff;
  b[3] = hdrLen >>> 8;
  b[4] = gsoSize & 0xff;
  b[5] = gsoSize >>> 8;
  b[6] = csumStart & 0xff;
  b[7] = csumStart >>> 8;
  b[8] = csumOffset & 0xff;
  b[9] = csumOffset >>> 8;
  if (hdrSize === 12) {
    b[10] = 0;
    b[11] = 0;
  }
}
