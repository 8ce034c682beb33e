/**
 * The echo request/reply message body, identical in ICMPv4 (RFC 792) and ICMPv6 (RFC 4443):
 * type, code, checksum, identifier, sequence number, data. Each family fills its own checksum.
 */
export const ICMP_ECHO_HEADER_LEN = 8;

/** Writes type, code, id, seq and data at `off` (checksum left to the caller); returns the length. */
export function writeEchoMessage(buf: Uint8Array, off: number, type: number, id: number, seq: number, data: Uint8Array): number {
  buf[off] = type;
  buf[off + 1] = 0;
  buf[off + 4] = id >>> 8;
  buf[off + 5] = id;
  buf[off + 6] = seq >>> 8;
  buf[off + 7] = seq;
  // A reply built in place over its request passes data that already sits here: skip the copy.
  if (data.buffer !== buf.buffer || data.byteOffset !== buf.byteOffset + off + ICMP_ECHO_HEADER_LEN) {
    buf.set(data, off + ICMP_ECHO_HEADER_LEN);
  }
  return ICMP_ECHO_HEADER_LEN + data.length;
}
