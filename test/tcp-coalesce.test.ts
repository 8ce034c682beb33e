/**
 * TcpCoalescer (GRO into a vnet-header TAP) must never vouch for a checksum it has not verified: a
 * super-frame goes out as NEEDS_CSUM, so the receiving kernel does not check the segments inside.
 * A segment whose IPv4 header checksum or TCP checksum is wrong is written unchanged behind a zero
 * vnet header (the kernel then verifies, drops and counts it) and counted as badChecksum; the good
 * segments around it are still merged. Regression for issue 8 item 1 (8 segments with wrong TCP
 * checksums were delivered to an application).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TcpCoalescer, checksumsVerify } from '../bridge/tcp-coalesce.js';
import { ETH, tcpFrame } from './helpers/tcp-frame.js';

const HDR = 10;
const TCP_HDR = 20;

/** A TCP segment of one flow (ACK, or flags), IPv4 or IPv6, with correct checksums. */
function seg(seq: number, plen: number, v6 = false, flags = 0x10): Uint8Array {
  return tcpFrame({ v6, seq, flags, payload: Uint8Array.from({ length: plen }, (_, i) => (seq + i * 7) & 0xff) });
}

function run(frames: Uint8Array[]): { out: Uint8Array[]; g: TcpCoalescer } {
  const out: Uint8Array[] = [];
  // What the TAP gets: a header given apart (writev) is in front of its frame.
  const g = new TcpCoalescer(HDR, (f, head) => {
    const w = new Uint8Array((head?.length ?? 0) + f.length);
    if (head) w.set(head);
    w.set(f, head?.length ?? 0);
    out.push(w);
    return true;
  });
  for (const f of frames) g.push(f);
  g.flush();
  return { out, g };
}

/** Byte-wise RFC 1071 reference, independent of src/wire/checksum.ts: true if f's checksums hold. */
function refVerifies(f: Uint8Array, v6: boolean): boolean {
  const sum = (from: number, to: number, init: number): number => {
    let x = init;
    for (let i = from; i < to; i += 2) x += (f[i]! << 8) | (i + 1 < to ? f[i + 1]! : 0);
    while (x > 0xffff) x = (x & 0xffff) + Math.floor(x / 0x10000);
    return x;
  };
  const l4 = ETH + (v6 ? 40 : 20);
  const len = f.length - l4;
  let ps: number;
  if (!v6) {
    if (sum(ETH, ETH + 20, 0) !== 0xffff) return false;
    ps = sum(ETH + 12, ETH + 20, 6 + len);
  } else ps = sum(ETH + 8, ETH + 40, 6 + len);
  return sum(l4, f.length, ps) === 0xffff;
}

const isPlain = (w: Uint8Array): boolean => w.subarray(0, HDR).every((b) => b === 0);
const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

describe('TcpCoalescer checksum verification', () => {
  for (const v6 of [false, true]) {
    const fam = v6 ? 'IPv6' : 'IPv4';

    it(`${fam}: valid segments verify and merge into one super-frame (the control case)`, () => {
      const segs = Array.from({ length: 8 }, (_, i) => seg(1000 + i * 1000, 1000, v6));
      for (const s of segs) expect(checksumsVerify(s, ETH + (v6 ? 40 : 20), v6)).toBe(true);
      const { out, g } = run(segs);
      expect(out).toHaveLength(1);
      expect(out[0]![0]).toBe(1); // NEEDS_CSUM
      expect(g.c.mergedFrames).toBe(8);
      expect(g.c.badChecksum).toBe(0);
    });

    it(`${fam}: 8 segments with wrong TCP checksums are each written unchanged, none merged`, () => {
      const segs = Array.from({ length: 8 }, (_, i) => {
        const s = seg(1000 + i * 1000, 1000, v6);
        s[s.length - 1] ^= 0x5a; // payload corrupted after the checksum was computed
        return s;
      });
      const { out, g } = run(segs);
      expect(out).toHaveLength(8);
      out.forEach((w, i) => {
        expect(isPlain(w)).toBe(true);
        expect(same(w.subarray(HDR), segs[i]!)).toBe(true);
      });
      expect(g.c.superFrames).toBe(0);
      expect(g.c.badChecksum).toBe(8);
    });

    it(`${fam}: one bad segment in the middle splits the merge and passes on unchanged`, () => {
      const segs = Array.from({ length: 5 }, (_, i) => seg(1000 + i * 1000, 1000, v6));
      const t = ETH + (v6 ? 40 : 20);
      segs[2]![t + 16] ^= 0x01; // wrong TCP checksum field
      const { out, g } = run(segs);
      expect(out).toHaveLength(3); // [0,1] merged, 2 plain, [3,4] merged
      expect(out[0]![0]).toBe(1);
      expect(isPlain(out[1]!)).toBe(true);
      expect(same(out[1]!.subarray(HDR), segs[2]!)).toBe(true);
      expect(out[2]![0]).toBe(1);
      expect(g.c.mergedFrames).toBe(4);
      expect(g.c.badChecksum).toBe(1);
    });
  }

  it('IPv4: a wrong IP header checksum (TCP checksum right) is not merged either', () => {
    const segs = Array.from({ length: 4 }, (_, i) => seg(1000 + i * 1000, 1000));
    for (const s of segs) s[ETH + 11] ^= 0x10;
    const { out, g } = run(segs);
    expect(out).toHaveLength(4);
    out.forEach((w, i) => expect(isPlain(w) && same(w.subarray(HDR), segs[i]!)).toBe(true));
    expect(g.c.badChecksum).toBe(4);
  });

  it('property: every super-frame carries only segments that verified; every bad one goes out as it came', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.array(fc.record({ plen: fc.integer({ min: 1, max: 1400 }), corrupt: fc.option(fc.nat(1500), { nil: undefined }) }), {
          minLength: 1,
          maxLength: 24,
        }),
        (v6, specs) => {
          const mss = Math.max(...specs.map((s) => s.plen));
          let seq = 5000;
          const segs: Uint8Array[] = [];
          const good: boolean[] = [];
          for (const s of specs) {
            // Equal-size segments so most runs are merge candidates.
            const f = seg(seq, mss, v6);
            seq += mss;
            if (s.corrupt !== undefined) {
              const at = ETH + (s.corrupt % (f.length - ETH));
              f[at] ^= 0x80;
            }
            segs.push(f);
            good.push(refVerifies(f, v6));
          }
          const { out } = run(segs);
          // Walk the output, consuming inputs in order.
          let i = 0;
          for (const w of out) {
            if (isPlain(w)) {
              expect(same(w.subarray(HDR), segs[i]!)).toBe(true);
              i++;
              continue;
            }
            // A super-frame: its payload is the concatenation of the next k inputs' payloads, all good.
            const body = w.subarray(HDR);
            const l4 = ETH + (v6 ? 40 : 20);
            let off = l4 + TCP_HDR;
            while (off < body.length) {
              const s = segs[i]!;
              expect(good[i]).toBe(true);
              expect(same(body.subarray(off, off + s.length - l4 - TCP_HDR), s.subarray(l4 + TCP_HDR))).toBe(true);
              off += s.length - l4 - TCP_HDR;
              i++;
            }
          }
          expect(i).toBe(segs.length);
        },
      ),
      { seed: 0x6e0, numRuns: 300 },
    );
  });
});
