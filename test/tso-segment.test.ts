/**
 * TsoSegmenter (TSO for frames read from a vnet-header TAP with offloads on) must put on the
 * fabric exactly the segments the kernel's software GSO would have sent: the same headers with
 * per-segment lengths, IPv4 ids, sequence numbers and flags, and correct checksums, the payload in
 * order. The reference segments here are built independently, byte by byte, as the kernel sends
 * them with offloads off. A header asking for work it does not do is refused (the bridge drops and
 * counts the frame as vnet-offload-unexpected), never half done.
 */
import { describe, expect, it } from 'vitest';
import { TapBridge } from '../bridge/tap-bridge.js';
import { TcpCoalescer, checksumsVerify } from '../bridge/tcp-coalesce.js';
import { TsoSegmenter, tsoHoldFrames } from '../bridge/tso-segment.js';
import { FakePort } from './helpers/fake-port.js';
import { FakeTap } from './helpers/fake-tap.js';
import { ETH, tcpFrame } from './helpers/tcp-frame.js';
import { BridgeDrop } from '../src/errors.js';
import { internetChecksum, pseudoHeaderSum4 } from '../src/wire/checksum.js';

const VH = 10;
/** TCP options as Linux sends them on a data segment: NOP NOP timestamp. */
const TS_OPTS = [1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9];

interface Flow {
  v6: boolean;
  seq: number;
  id: number;
  flags: number;
  payload: Uint8Array;
}

/** One finished TCP frame (what the kernel sends with offloads off), checksums computed. */
const frame = (f: Flow): Uint8Array => tcpFrame({ ...f, options: TS_OPTS });

/** What a TAP with TSO reads: the super-frame (checksum field: pseudo-header sum) behind its vnet header. */
function superRead(f: Flow, mss: number): Uint8Array {
  const whole = frame(f);
  const l4 = ETH + (f.v6 ? 40 : 20);
  const r = new Uint8Array(VH + whole.length);
  r.set(whole, VH);
  const dv = new DataView(r.buffer);
  dv.setUint16(VH + l4 + 16, 0x1234); // whatever the kernel left there: segmentation recomputes it
  r[0] = 1; // NEEDS_CSUM
  r[1] = f.v6 ? 4 : 1;
  dv.setUint16(2, l4 + 32, true);
  dv.setUint16(4, mss, true);
  dv.setUint16(6, l4, true);
  dv.setUint16(8, 16, true);
  return r;
}

/** The segments the kernel would send for f (software GSO), built one by one. */
function kernelSegments(f: Flow, mss: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const n = Math.max(1, Math.ceil(f.payload.length / mss));
  for (let i = 0; i < n; i++) {
    const last = i === n - 1;
    const flags = f.flags & ~(i > 0 ? 0x80 : 0) & ~(last ? 0 : 0x09);
    out.push(frame({ ...f, seq: f.seq + i * mss, id: (f.id + i) & 0xffff, flags, payload: f.payload.subarray(i * mss, Math.min(f.payload.length, (i + 1) * mss)) }));
  }
  return out;
}

function segment(read: Uint8Array, s = new TsoSegmenter()): { ok: boolean; out: Uint8Array[] } {
  const out: Uint8Array[] = [];
  const ok = s.take(read, VH, (fr) => out.push(new Uint8Array(fr)));
  return { ok, out };
}

const payload = (n: number, seed = 3): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

describe('TsoSegmenter', () => {
  for (const v6 of [false, true]) {
    it(`splits an IPv${v6 ? 6 : 4} super-frame into the kernel's segments, byte for byte`, () => {
      const mss = 1448 - (v6 ? 20 : 0);
      // PSH|FIN|CWR|ACK: CWR stays on the first segment only, PSH and FIN on the last only;
      // the ip id wraps past 0xffff; the sequence number wraps past 2^32.
      const f: Flow = { v6, seq: 0xffffff00, id: 0xfffe, flags: 0x80 | 0x10 | 0x08 | 0x01, payload: payload(5 * mss + 100) };
      const s = new TsoSegmenter();
      const { ok, out } = segment(superRead(f, mss), s);
      expect(ok).toBe(true);
      expect(out).toEqual(kernelSegments(f, mss));
      for (const o of out) expect(checksumsVerify(o, ETH + (v6 ? 40 : 20), v6)).toBe(true);
      expect(s.c).toMatchObject({ superFrames: 1, segments: 6 });
    });
  }

  it('a super-frame whose payload is a whole number of segments has no empty tail', () => {
    const f: Flow = { v6: false, seq: 1, id: 1, flags: 0x18, payload: payload(3 * 1000) };
    const { out } = segment(superRead(f, 1000));
    expect(out).toEqual(kernelSegments(f, 1000));
    expect(out).toHaveLength(3);
  });

  it('GRO on the receiving side merges the segments back into the same payload', () => {
    const f: Flow = { v6: false, seq: 99, id: 5, flags: 0x18, payload: payload(40 * 1448) };
    const { out } = segment(superRead(f, 1448));
    const writes: Uint8Array[] = [];
    const g = new TcpCoalescer(VH, (w) => (writes.push(new Uint8Array(w)), true));
    for (const o of out) g.push(o);
    g.flush();
    expect(writes).toHaveLength(1);
    expect(g.c.mergedFrames).toBe(40);
    const hl = ETH + 20 + 32;
    expect(writes[0]!.subarray(VH + hl)).toEqual(f.payload);
  });

  it('finishes a NEEDS_CSUM checksum of a frame without GSO as the kernel does (UDP)', () => {
    // A UDP datagram whose checksum field holds only the pseudo-header sum.
    const data = payload(301);
    const b = new Uint8Array(ETH + 20 + 8 + data.length);
    const dv = new DataView(b.buffer);
    dv.setUint16(12, 0x0800);
    b.set([0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 11, 0, 1, 10, 11, 0, 2], ETH);
    dv.setUint16(ETH + 2, b.length - ETH);
    dv.setUint16(ETH + 10, internetChecksum(b, ETH, ETH + 20));
    dv.setUint16(34, 5000);
    dv.setUint16(36, 5001);
    dv.setUint16(38, 8 + data.length);
    b.set(data, 42);
    const ps = pseudoHeaderSum4(0x0a0b0001, 0x0a0b0002, 17, 8 + data.length);
    dv.setUint16(40, ps);
    const read = new Uint8Array(VH + b.length);
    read.set(b, VH);
    read[0] = 1;
    new DataView(read.buffer).setUint16(6, 34, true);
    new DataView(read.buffer).setUint16(8, 6, true);
    const s = new TsoSegmenter();
    const { ok, out } = segment(read, s);
    expect(ok).toBe(true);
    expect(out).toHaveLength(1);
    // The UDP checksum now verifies over the pseudo header, and the rest of the frame is untouched.
    expect(internetChecksum(out[0]!, 34, out[0]!.length, ps)).toBe(0);
    expect(out[0]!.subarray(0, 40)).toEqual(b.subarray(0, 40));
    expect(s.c.checksumsFinished).toBe(1);
  });

  it('a frame with a zero header or only DATA_VALID passes unchanged', () => {
    const f = frame({ v6: false, seq: 1, id: 1, flags: 0x10, payload: payload(10) });
    for (const flags of [0, 2]) {
      const read = new Uint8Array(VH + f.length);
      read.set(f, VH);
      read[0] = flags;
      expect(segment(read).out).toEqual([f]);
    }
  });

  describe('refuses what it does not do, emitting nothing', () => {
    const good = (): Uint8Array => superRead({ v6: false, seq: 1, id: 1, flags: 0x10, payload: payload(4000) }, 1448);
    const cases: [string, (r: Uint8Array) => Uint8Array | void][] = [
      ['UDP fragmentation (gso_type 3)', (r) => void (r[1] = 3)],
      ['UDP segmentation (gso_type 5)', (r) => void (r[1] = 5)],
      ['TCP with the ECN bit (not enabled)', (r) => void (r[1] = 0x81)],
      ['gso_size 0', (r) => void (r[4] = r[5] = 0)],
      ['IPv4 super-frame that is not TCP', (r) => void (r[VH + ETH + 9] = 17)],
      ['IPv4 fragment', (r) => void (r[VH + ETH + 6] = 0x20)],
      ['TCPV6 type on an IPv4 frame', (r) => void (r[1] = 4)],
      ['TCP header longer than the frame', (r) => ((r[VH + ETH + 20 + 12] = 0xf0), r.subarray(0, VH + ETH + 20 + 40))],
      ['TCP data offset below 20 bytes', (r) => void (r[VH + ETH + 20 + 12] = 0x40)],
      ['NEEDS_CSUM position beyond the frame', (r) => (r[1] = 0, new DataView(r.buffer).setUint16(6, r.length, true))],
      ['NEEDS_CSUM start inside the Ethernet header', (r) => (r[1] = 0, new DataView(r.buffer).setUint16(6, 4, true))],
    ];
    for (const [name, spoil] of cases) {
      it(name, () => {
        const r = good();
        const { ok, out } = segment(spoil(r) ?? r);
        expect(ok).toBe(false);
        expect(out).toEqual([]);
      });
    }
  });

  it('the bridge holding queue takes every segment of one TSO batch', () => {
    // Two 64 KiB super-frames at the smallest MSS the MTU allows.
    for (const mtu of [576, 1280, 1500, 9000, 65510]) expect(tsoHoldFrames(mtu) * (mtu - 100)).toBeGreaterThanOrEqual(2 * 65536);
  });
});

/** A fake TAP opened with a vnet header: every frame it hands over starts with one. */
class VnetFakeTap extends FakeTap {
  readonly vnetHdrSize = VH;
}

describe('TapBridge reading a TAP with TSO', () => {
  it('carries the segments of a super-frame into the interface; a full interface holds the rest', () => {
    const tap = new VnetFakeTap();
    const port = new FakePort();
    port.space = 2;
    const b = new TapBridge('h1', tap, port);
    const f: Flow = { v6: false, seq: 1000, id: 7, flags: 0x18, payload: payload(5 * 1448) };
    const plain = frame({ v6: false, seq: 1, id: 1, flags: 0x10, payload: payload(0) });
    const plainRead = new Uint8Array(VH + plain.length);
    plainRead.set(plain, VH);
    // The held segments are copies: the fake TAP overwrites its buffer after the callback.
    tap.feed([plainRead, superRead(f, 1448)]);
    expect(port.sent).toEqual([plain, kernelSegments(f, 1448)[0]]);
    expect(b.isPaused).toBe(true);
    expect(b.heldFrames).toBe(4);
    port.space = 10;
    port.drained.shift()!();
    expect(port.sent).toEqual([plain, ...kernelSegments(f, 1448)]);
    expect(b.c.tapInFrames).toBe(6);
    expect(b.tso!.c).toMatchObject({ superFrames: 1, segments: 5 });
    expect(b.drops.total).toBe(0);
  });

  it('drops and counts a read whose vnet header asks for work it does not do', () => {
    const tap = new VnetFakeTap();
    const port = new FakePort();
    const b = new TapBridge('h1', tap, port);
    const r = superRead({ v6: false, seq: 1, id: 1, flags: 0x10, payload: payload(3000) }, 1448);
    r[1] = 5; // UDP_L4 segmentation: not enabled on the TAP
    tap.feed([r]);
    expect(port.sent).toEqual([]);
    expect(b.drops.get(BridgeDrop.VNET_OFFLOAD)).toBe(1);
    expect(b.c.tapInFrames).toBe(1);
  });
});
