/**
 * Layout of the virtio_net_hdr that prefixes each frame of a TAP opened with `vnetHdr` (little
 * endian on x86/arm64, the kernel's native order for legacy virtio):
 *
 * | offset | size | field       | meaning                                                          |
 * |--------|------|-------------|------------------------------------------------------------------|
 * | 0      | 1    | flags       | 1 NEEDS_CSUM (checksum from csumStart, store at +csumOffset), 2 DATA_VALID |
 * | 1      | 1    | gsoType     | 0 NONE, 1 TCPV4, 3 UDP, 4 TCPV6, 5 UDP_L4; +0x80 ECN             |
 * | 2      | 2    | hdrLen      | Ethernet+IP+TCP header bytes (a hint)                            |
 * | 4      | 2    | gsoSize     | payload bytes per segment (the MSS) when gsoType != NONE        |
 * | 6      | 2    | csumStart   | offset from the Ethernet header where checksumming starts       |
 * | 8      | 2    | csumOffset  | where, after csumStart, the checksum goes                       |
 * | 10     | 2    | numBuffers  | only in the 12-byte form (mergeable rx buffers); write 0 or 1   |
 *
 * The Ethernet frame follows at offset vnetHdrSize. A frame from another source written to such a
 * TAP needs a zero header in front (flags 0, gsoType 0 = a plain, fully checksummed frame).
 */
export const VirtioNetHdr = {
  F_NEEDS_CSUM: 1,
  F_DATA_VALID: 2,
  GSO_NONE: 0,
  GSO_TCPV4: 1,
  GSO_UDP: 3,
  GSO_TCPV6: 4,
  GSO_UDP_L4: 5,
  GSO_ECN: 0x80,
} as const;

export interface VirtioNetHdrFields {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
  /** Present in the 12-byte form only. */
  numBuffers?: number;
}

/** Reads the virtio_net_hdr at the start of `frame` (size 10 or 12). */
export function parseVirtioNetHdr(frame: Uint8Array, size: 10 | 12 = 10): VirtioNetHdrFields {
  if (frame.length < size) throw new RangeError(`frame shorter than its ${size}-byte virtio_net_hdr`);
  const v = new DataView(frame.buffer, frame.byteOffset, size);
  const h: VirtioNetHdrFields = {
    flags: v.getUint8(0),
    gsoType: v.getUint8(1),
    hdrLen: v.getUint16(2, true),
    gsoSize: v.getUint16(4, true),
    csumStart: v.getUint16(6, true),
    csumOffset: v.getUint16(8, true),
  };
  if (size === 12) h.numBuffers = v.getUint16(10, true);
  return h;
}

/** Writes a virtio_net_hdr at the start of `out` (size 10 or 12); missing fields are 0. */
export function writeVirtioNetHdr(out: Uint8Array, h: Partial<VirtioNetHdrFields>, size: 10 | 12 = 10): void {
  if (out.length < size) throw new RangeError(`buffer shorter than a ${size}-byte virtio_net_hdr`);
  const v = new DataView(out.buffer, out.byteOffset, size);
  v.setUint8(0, h.flags ?? 0);
  v.setUint8(1, h.gsoType ?? 0);
  v.setUint16(2, h.hdrLen ?? 0, true);
  v.setUint16(4, h.gsoSize ?? 0, true);
  v.setUint16(6, h.csumStart ?? 0, true);
  v.setUint16(8, h.csumOffset ?? 0, true);
  if (size === 12) v.setUint16(10, h.numBuffers ?? 0, true);
}
