/**
 * pcapng file format (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html), the subset
 * the emulator writes: one Section Header Block, one Interface Description Block, then Enhanced Packet
 * Blocks.
 *
 * Rules, and why:
 * - Every block is `type, total length, body, total length`: the length at both ends lets readers walk
 *   forwards and backwards, so both copies must agree and include the 12 framing bytes.
 * - Every block, option value and packet body is padded with zeros to a 32-bit boundary; the lengths
 *   inside say the unpadded size (option length, captured length) and readers skip the padding.
 * - Little-endian throughout: the SHB byte-order magic 0x1A2B3C4D written LE tells readers so.
 * - Section length -1 = "not given": we stream and rotate, so we never go back to patch it.
 * - The IDB carries `if_name` (which EOP interface this is; shows as frame.interface_name) and
 *   `if_tsresol` = 9, i.e. timestamps count 10^-9 s. Without it the default is microseconds.
 * - EPB timestamps are one 64-bit count of ns split high word first, then low word (each LE).
 * - `epb_flags` bits 0-1 give direction: 01 inbound, 10 outbound (00 = unknown, so we omit the option).
 * - Options end with opt_endofopt (code 0, length 0).
 * - Encoders write into a caller's Buffer and return the new offset: no per-frame allocation.
 */
import { putU16LE, putU32LE, LINKTYPE_ETHERNET, DEFAULT_SNAPLEN, ZERO_ORIGIN, type TimeOrigin } from './pcap-format.js';

export const BT_SHB = 0x0a0d0d0a;
export const BT_IDB = 0x00000001;
export const BT_EPB = 0x00000006;
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

export const OPT_ENDOFOPT = 0;
/** opt_comment: UTF-8 text, allowed in every block; tshark shows it as `frame.comment`. */
export const OPT_COMMENT = 1;
/** Longest comment the writer puts on a record (longer notes are cut at a character boundary). */
export const MAX_COMMENT_BYTES = 1024;
export const OPT_SHB_USERAPPL = 4;
export const OPT_IF_NAME = 2;
export const OPT_IF_DESCRIPTION = 3;
export const OPT_IF_TSRESOL = 9;
export const OPT_EPB_FLAGS = 2;

export const EPB_FLAG_INBOUND = 0b01;
export const EPB_FLAG_OUTBOUND = 0b10;

/** type + length + ifId + tsHigh + tsLow + capLen + origLen */
export const EPB_HEADER_BYTES = 28;
/** epb_flags option (4 + 4) + opt_endofopt (4) */
export const EPB_FLAGS_OPTION_BYTES = 12;

const TWO_POW_32 = 4_294_967_296;

export const pad4 = (n: number): number => (n + 3) & ~3;

interface Opt {
  code: number;
  value: Uint8Array;
}

function optionsBytes(opts: Opt[]): number {
  if (opts.length === 0) return 0;
  let n = 4; // opt_endofopt
  for (const o of opts) n += 4 + pad4(o.value.length);
  return n;
}

function writeOptions(b: Buffer, off: number, opts: Opt[]): number {
  if (opts.length === 0) return off;
  for (const o of opts) {
    if (o.value.length > 0xffff) throw new RangeError(`pcapng option ${o.code} longer than 65535 bytes`);
    putU16LE(b, off, o.code);
    putU16LE(b, off + 2, o.value.length);
    b.set(o.value, off + 4);
    off += 4 + pad4(o.value.length); // padding: b is zero-filled
  }
  putU16LE(b, off, OPT_ENDOFOPT);
  putU16LE(b, off + 2, 0);
  return off + 4;
}

function block(type: number, fixed: Buffer, opts: Opt[]): Buffer {
  const total = 8 + fixed.length + optionsBytes(opts) + 4;
  const b = Buffer.alloc(total);
  putU32LE(b, 0, type);
  putU32LE(b, 4, total);
  fixed.copy(b, 8);
  const end = writeOptions(b, 8 + fixed.length, opts);
  putU32LE(b, end, total);
  return b;
}

const utf8 = (s: string): Uint8Array => Buffer.from(s, 'utf8');

/** Section Header Block, version 1.0, section length unknown (-1). */
export function encodeSectionHeaderBlock(userAppl = 'eop'): Buffer {
  const fixed = Buffer.alloc(16);
  putU32LE(fixed, 0, BYTE_ORDER_MAGIC);
  putU16LE(fixed, 4, 1); // major
  putU16LE(fixed, 6, 0); // minor
  fixed.writeBigInt64LE(-1n, 8); // section length: unspecified
  return block(BT_SHB, fixed, userAppl ? [{ code: OPT_SHB_USERAPPL, value: utf8(userAppl) }] : []);
}

export interface InterfaceDescription {
  name: string;
  description?: string;
  snaplen?: number;
  linkType?: number;
}

/** Interface Description Block with if_name, optional if_description, and if_tsresol = 9 (ns). */
export function encodeInterfaceDescriptionBlock(d: InterfaceDescription): Buffer {
  const fixed = Buffer.alloc(8);
  putU16LE(fixed, 0, d.linkType ?? LINKTYPE_ETHERNET);
  putU16LE(fixed, 2, 0); // reserved
  putU32LE(fixed, 4, d.snaplen ?? DEFAULT_SNAPLEN);
  const opts: Opt[] = [{ code: OPT_IF_NAME, value: utf8(d.name) }];
  if (d.description) opts.push({ code: OPT_IF_DESCRIPTION, value: utf8(d.description) });
  opts.push({ code: OPT_IF_TSRESOL, value: Uint8Array.of(9) });
  return block(BT_IDB, fixed, opts);
}

/**
 * Total bytes of one EPB holding `capLen` captured bytes, with or without the epb_flags option, and
 * with an opt_comment of `commentBytes` (0: none).
 */
export function epbBytes(capLen: number, withFlags: boolean, commentBytes = 0): number {
  const options = (withFlags ? 8 : 0) + (commentBytes > 0 ? 4 + pad4(commentBytes) : 0);
  return EPB_HEADER_BYTES + pad4(capLen) + (options > 0 ? options + 4 : 0) + 4;
}

/**
 * origin.lo + timeNs (clamped to >= 0, floored to whole ns): the timestamp is origin.hi * 2^32 plus
 * this, carried into two 32-bit words. Exact while it stays below 2^53 (timeNs below ~104 days).
 */
function epbTimeSum(timeNs: number, origin: TimeOrigin): number {
  return origin.lo + (timeNs > 0 ? Math.floor(timeNs) : 0);
}

/**
 * Writes the 28-byte EPB head at `off` (total length `total` from `epbBytes`) and returns the offset
 * where the `capLen` packet bytes go. `timeNs` is clamped to >= 0 and floored to whole ns; the
 * timestamp written is `origin + timeNs` (see TimeOrigin).
 */
export function writeEpbHeader(
  b: Uint8Array,
  off: number,
  total: number,
  interfaceId: number,
  timeNs: number,
  capLen: number,
  origLen: number,
  origin: TimeOrigin = ZERO_ORIGIN,
): number {
  let lo = epbTimeSum(timeNs, origin);
  const carry = Math.floor(lo / TWO_POW_32);
  const hi = origin.hi + carry;
  lo -= carry * TWO_POW_32;
  putU32LE(b, off, BT_EPB);
  putU32LE(b, off + 4, total);
  putU32LE(b, off + 8, interfaceId);
  putU32LE(b, off + 12, hi);
  putU32LE(b, off + 16, lo);
  putU32LE(b, off + 20, capLen);
  putU32LE(b, off + 24, origLen);
  return off + EPB_HEADER_BYTES;
}

/** True where a Uint32Array stores little-endian words (every platform Node ships for but s390x). */
export const HOST_IS_LE = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/**
 * `writeEpbHeader` for the capture hot path: the same 28 bytes as 7 word stores into `w`, a
 * Uint32Array over the same memory as the record's buffer (`off` is a byte offset, a multiple of 4:
 * every pcapng block is). Only where HOST_IS_LE. The header cost ~60 ns a record byte by byte, about
 * a tenth of the event loop's whole cost per captured frame.
 */
export function writeEpbHeaderLE32(w: Uint32Array, off: number, total: number, timeNs: number, capLen: number, origLen: number, origin: TimeOrigin): number {
  const sum = epbTimeSum(timeNs, origin);
  const carry = Math.floor(sum / TWO_POW_32);
  const i = off >>> 2;
  w[i] = BT_EPB;
  w[i + 1] = total;
  w[i + 2] = 0; // interface 0: a capture file describes one interface
  w[i + 3] = origin.hi + carry;
  w[i + 4] = sum - carry * TWO_POW_32;
  w[i + 5] = capLen;
  w[i + 6] = origLen;
  return off + EPB_HEADER_BYTES;
}

/**
 * `writeEpbTrailer` without a comment, for the hot path: word stores into `w` (as in
 * writeEpbHeaderLE32), `b` the byte view of the same memory for the padding.
 */
export function writeEpbTrailerLE32(w: Uint32Array, b: Uint8Array, off: number, capLen: number, flags: number, total: number): number {
  const pad = pad4(capLen) - capLen;
  for (let k = 0; k < pad; k++) b[off++] = 0;
  let i = off >>> 2;
  if (flags !== 0) {
    w[i] = OPT_EPB_FLAGS | (4 << 16);
    w[i + 1] = flags;
    w[i + 2] = OPT_ENDOFOPT;
    i += 3;
  }
  w[i] = total;
  return (i + 1) << 2;
}

/**
 * Writes what follows the packet bytes: zero padding to 32 bits, the epb_flags option when `flags` is
 * non-zero, and the trailing total length. `off` is the offset just after the packet bytes.
 * Returns the offset after the block.
 */
export function writeEpbTrailer(b: Uint8Array, off: number, capLen: number, flags: number, total: number, comment?: Uint8Array): number {
  const pad = pad4(capLen) - capLen;
  for (let i = 0; i < pad; i++) b[off++] = 0;
  const withComment = comment !== undefined && comment.length > 0;
  if (withComment) {
    putU16LE(b, off, OPT_COMMENT);
    putU16LE(b, off + 2, comment.length);
    b.set(comment, off + 4);
    off += 4 + comment.length;
    for (let i = comment.length; i < pad4(comment.length); i++) b[off++] = 0;
  }
  if (flags !== 0) {
    putU16LE(b, off, OPT_EPB_FLAGS);
    putU16LE(b, off + 2, 4);
    putU32LE(b, off + 4, flags);
    off += 8;
  }
  if (flags !== 0 || withComment) {
    putU32LE(b, off, OPT_ENDOFOPT); // code 0, length 0
    off += 4;
  }
  putU32LE(b, off, total);
  return off + 4;
}

/** `text` as UTF-8, cut to at most MAX_COMMENT_BYTES without splitting a character. */
export function commentBytes(text: string): Uint8Array {
  const all = Buffer.from(text, 'utf8');
  if (all.length <= MAX_COMMENT_BYTES) return all;
  let end = MAX_COMMENT_BYTES;
  while (end > 0 && (all[end]! & 0xc0) === 0x80) end--; // back to the start of a character
  return all.subarray(0, end);
}
