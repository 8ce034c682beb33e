/**
 * Classic libpcap file format (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-03.html).
 *
 * Rules, and why:
 * - Written little-endian with magic 0xa1b23c4d: that magic means "timestamps are seconds +
 *   NANOseconds" (the plain 0xa1b2c3d4 means microseconds), so virtual-time ns survive the round trip.
 *   Readers detect the byte order from the magic, so LE is as portable as BE and matches the host.
 * - Version 2.4, thiszone = 0 and sigfigs = 0 (both always 0 in practice), LINKTYPE_ETHERNET = 1:
 *   records hold Ethernet frames without preamble or FCS, exactly what the emulator moves.
 * - snaplen in the header is the largest `incl_len` any record may have; a longer frame is cut to it
 *   and keeps its real size in `orig_len` (readers then mark it "captured N of M bytes").
 * - Record timestamps are unsigned 32-bit seconds + ns (< 1e9), so times must be >= 0.
 * - Encoders write into a caller's Buffer and return the new offset: the capture hot path encodes
 *   straight into its write-behind buffer with no per-frame allocation.
 */

export const PCAP_MAGIC_NS = 0xa1b23c4d;
export const PCAP_VERSION_MAJOR = 2;
export const PCAP_VERSION_MINOR = 4;
export const LINKTYPE_ETHERNET = 1;
export const DEFAULT_SNAPLEN = 262_144;

export const PCAP_GLOBAL_HEADER_BYTES = 24;
export const PCAP_RECORD_HEADER_BYTES = 16;

const NS_PER_S = 1_000_000_000;

/** Little-endian u32 store without bounds checks or allocation (callers size the buffer). */
export function putU32LE(b: Uint8Array, o: number, v: number): void {
  b[o] = v;
  b[o + 1] = v >>> 8;
  b[o + 2] = v >>> 16;
  b[o + 3] = v >>> 24;
}

export function putU16LE(b: Uint8Array, o: number, v: number): void {
  b[o] = v;
  b[o + 1] = v >>> 8;
}

/** The 24-byte global header. */
export function encodePcapGlobalHeader(snaplen: number = DEFAULT_SNAPLEN, linkType: number = LINKTYPE_ETHERNET): Buffer {
  const b = Buffer.alloc(PCAP_GLOBAL_HEADER_BYTES);
  putU32LE(b, 0, PCAP_MAGIC_NS);
  putU16LE(b, 4, PCAP_VERSION_MAJOR);
  putU16LE(b, 6, PCAP_VERSION_MINOR);
  putU32LE(b, 8, 0); // thiszone
  putU32LE(b, 12, 0); // sigfigs
  putU32LE(b, 16, snaplen);
  putU32LE(b, 20, linkType);
  return b;
}

/** Bytes one record takes in the file for `capLen` captured bytes. */
/**
 * The instant a capture's time 0 stands for, split so that per-frame timestamps stay integer ns in
 * plain numbers: epoch ns (~1.7e18) exceed 2^53, so `epoch0 + t` as a double would round to 256 ns.
 * Built once from a bigint (`timeOriginFromNs`); the per-frame writers only add and carry.
 */
export interface TimeOrigin {
  /** High and low 32-bit halves of the origin in ns (pcapng). */
  readonly hi: number;
  readonly lo: number;
  /** Whole seconds and the ns remainder of the origin (classic pcap). */
  readonly sec: number;
  readonly nsec: number;
}

export const ZERO_ORIGIN: TimeOrigin = { hi: 0, lo: 0, sec: 0, nsec: 0 };

export function timeOriginFromNs(ns: bigint): TimeOrigin {
  if (ns < 0n || ns >= 1n << 64n) throw new RangeError(`time origin ${ns} ns is outside 0..2^64-1`);
  return {
    hi: Number(ns >> 32n),
    lo: Number(ns & 0xffffffffn),
    sec: Number(ns / 1_000_000_000n),
    nsec: Number(ns % 1_000_000_000n),
  };
}

export function pcapRecordBytes(capLen: number): number {
  return PCAP_RECORD_HEADER_BYTES + capLen;
}

/**
 * Writes a 16-byte record header at `off` and returns the offset where the `capLen` data bytes go.
 * `timeNs` is clamped to >= 0 and floored to whole ns; the timestamp written is `origin + timeNs`.
 */
export function writePcapRecordHeader(
  b: Uint8Array,
  off: number,
  timeNs: number,
  capLen: number,
  origLen: number,
  origin: TimeOrigin = ZERO_ORIGIN,
): number {
  const t = (timeNs > 0 ? Math.floor(timeNs) : 0) + origin.nsec;
  let sec = Math.floor(t / NS_PER_S);
  let nsec = t - sec * NS_PER_S;
  sec += origin.sec;
  // Above 2^53 ns the subtraction can round outside [0, 1e9); fold it back.
  if (nsec < 0) {
    sec -= 1;
    nsec += NS_PER_S;
  } else if (nsec >= NS_PER_S) {
    sec += 1;
    nsec -= NS_PER_S;
  }
  putU32LE(b, off, sec);
  putU32LE(b, off + 4, nsec);
  putU32LE(b, off + 8, capLen);
  putU32LE(b, off + 12, origLen);
  return off + PCAP_RECORD_HEADER_BYTES;
}
