/**
 * Layout of EOP's structures in host memory. Everything a peer touches is described here, because
 * both sides must agree on it byte for byte.
 *
 * Receive ring (one per peer, in the receiver's memory, written only by that peer):
 *   slot i at ringBase + i × slotBytes;  [0, 64) slot header, [64, 64 + len) the Ethernet frame.
 *   The header takes a whole cache line so the frame starts 64-byte aligned (HRDMA runs at full
 *   rate only on aligned transfers).
 * Slot header (little-endian u32s):
 *   LEN     frame length in bytes
 *   SEQ     the sender's producer index for this slot (free-running), checked by the receiver
 *   FLAGS   DONE (written last, after the frame), LINK_DOWN (sender leaving), WANT_CREDIT (the
 *           sender filled the ring with this slot and asks for an interrupt with the credits),
 *           LOST (written by the receiver itself after a path failover: the sender's frame for this
 *           slot never landed; src/eop/path-failover.ts)
 * Credit word (one per peer, in the SENDER's memory, written only by the receiver):
 *   CONS    the receiver's consumer index (free-running): the sender may fill up to CONS + slots.
 */
import type { Bytes } from '../time/units.js';

export const SLOT_HEADER_BYTES: Bytes = 64;
export const SlotHdr = { LEN: 0, SEQ: 4, FLAGS: 8 } as const;
export const SlotFlag = { DONE: 1, LINK_DOWN: 2, WANT_CREDIT: 4, LOST: 8 } as const;
/** Header bytes actually written per slot. */
export const SLOT_HEADER_USED: Bytes = 12;

export const CREDIT_BLOCK_BYTES: Bytes = 64;
export const Credit = { CONS: 0 } as const;

/** Largest IP MTU (ntb_netdev's limit). */
export const MAX_MTU = 65510;
/** Room for the Ethernet header and one 802.1Q tag. */
export const ETH_OVERHEAD_BYTES: Bytes = 18;

export function maxFrameBytes(mtu: number): Bytes {
  return mtu + ETH_OVERHEAD_BYTES;
}

/**
 * Slot size for an MTU: a power of two, so that with memory pages at least this large (the rack
 * builder sees to it) a slot never straddles a page and the receiver hands every frame on as a
 * zero-copy view of its memory.
 */
export function slotBytesFor(mtu: number): Bytes {
  const need = SLOT_HEADER_BYTES + maxFrameBytes(mtu);
  let s = 256;
  while (s < need) s *= 2;
  return s;
}
