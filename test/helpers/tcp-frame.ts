/**
 * One finished TCP frame of a fixed flow (02:e0::1 → 02:e0::2, 10.11.0.1:40000 → 10.11.0.2:5201 or
 * fd00:e0::1 → fd00:e0::2, ACK number 777, window 501, IPv4 with DF and TTL 64), as a kernel sends it
 * with offloads off: every checksum computed. For the unit tests of GRO and TSO in bridge/.
 */
import { internetChecksum, pseudoHeaderSum4, pseudoHeaderSum6 } from '../../src/wire/checksum.js';

export const ETH = 14;
export const SRC6 = Uint8Array.from([0xfd, 0, 0, 0xe0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
export const DST6 = Uint8Array.from([0xfd, 0, 0, 0xe0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);

export interface TcpFrameSpec {
  v6?: boolean;
  seq: number;
  /** IPv4 identification (default 1). */
  id?: number;
  /** TCP flags (default ACK). */
  flags?: number;
  /** TCP options, a multiple of 4 bytes (default none). */
  options?: readonly number[];
  payload: Uint8Array;
}

export function tcpFrame(s: TcpFrameSpec): Uint8Array {
  const v6 = s.v6 ?? false;
  const opts = s.options ?? [];
  const l3 = v6 ? 40 : 20;
  const th = 20 + opts.length;
  const f = new Uint8Array(ETH + l3 + th + s.payload.length);
  const dv = new DataView(f.buffer);
  f.set([0x02, 0xe0, 0, 0, 0, 2, 0x02, 0xe0, 0, 0, 0, 1]);
  if (!v6) {
    dv.setUint16(12, 0x0800);
    f.set([0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 11, 0, 1, 10, 11, 0, 2], ETH);
    dv.setUint16(ETH + 2, l3 + th + s.payload.length);
    dv.setUint16(ETH + 4, s.id ?? 1);
    dv.setUint16(ETH + 10, internetChecksum(f, ETH, ETH + 20));
  } else {
    dv.setUint16(12, 0x86dd);
    dv.setUint32(ETH, 0x60000000);
    dv.setUint16(ETH + 4, th + s.payload.length);
    f[ETH + 6] = 6;
    f[ETH + 7] = 64;
    f.set(SRC6, ETH + 8);
    f.set(DST6, ETH + 24);
  }
  const t = ETH + l3;
  dv.setUint16(t, 40000);
  dv.setUint16(t + 2, 5201);
  dv.setUint32(t + 4, s.seq >>> 0);
  dv.setUint32(t + 8, 777);
  f[t + 12] = (th / 4) << 4;
  f[t + 13] = s.flags ?? 0x10;
  dv.setUint16(t + 14, 501);
  f.set(opts, t + 20);
  f.set(s.payload, t + th);
  const len = th + s.payload.length;
  const ps = v6 ? pseudoHeaderSum6(SRC6, DST6, 6, len) : pseudoHeaderSum4(0x0a0b0001, 0x0a0b0002, 6, len);
  dv.setUint16(t + 16, internetChecksum(f, t, f.length, ps));
  return f;
}
