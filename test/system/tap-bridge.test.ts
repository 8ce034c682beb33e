/**
 * TapBridge against a fake TAP and a fake EOP interface (no root needed): runts and oversized
 * frames are dropped and counted by code, valid frames go through unmodified both ways, a full
 * interface pauses reading (frames held, not dropped) and resumes when it drains, and a fatal TAP
 * error is reported once, naming the TAP.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { STALL_MS, TapBridge } from '../../bridge/tap-bridge.js';
import { FakeTap } from '../helpers/fake-tap.js';
import { FrameBatch, TapIoError, type TapStats } from '../../bridge/tap-device.js';
import { FakePort } from '../helpers/fake-port.js';
import { TcpCoalescer } from '../../bridge/tcp-coalesce.js';
import { ErrorCode } from '../../src/errors.js';
import { internetChecksum, pseudoHeaderSum4 } from '../../src/wire/checksum.js';

function frame(len: number, tag: number): Uint8Array {
  const f = new Uint8Array(len);
  f.set([0x02, 0xe0, 0, 0, 0, 2, 0x02, 0xe0, 0, 0, 0, 1, 0x08, 0x00]);
  for (let i = 14; i < len; i++) f[i] = (i + tag) & 0xff;
  return f.subarray(0, len);
}

describe('TapBridge (fake TAP and interface)', () => {
  it('drops and counts runts and oversized frames; passes valid frames unmodified both ways', () => {
    const tap = new FakeTap();
    const port = new FakePort();
    let syncs = 0;
    let pokes = 0;
    const b = new TapBridge('h1', tap, port, { sync: () => syncs++, poke: () => pokes++ });
    const good = frame(1514, 1);
    tap.feed([new Uint8Array(10), good, frame(1519, 2), new Uint8Array(13), frame(60, 3)]);
    expect(b.drops.get(ErrorCode.FRAME_TOO_SHORT)).toBe(2);
    expect(b.drops.get(ErrorCode.FRAME_TOO_LONG)).toBe(1);
    expect(port.sent).toHaveLength(2);
    expect(port.sent[0]).toEqual(good);
    expect(b.c.tapInFrames).toBe(5);
    expect(b.c.toFabricFrames).toBe(2);
    expect(syncs).toBe(1);
    expect(pokes).toBe(1);
    port.receiver(frame(100, 4));
    expect(tap.written).toHaveLength(1);
    expect(tap.written[0]).toEqual(frame(100, 4));
    expect(b.c.toTapFrames).toBe(1);
  });

  it('pauses reading when the interface is full, holds the frames, and resumes when it drains', () => {
    const tap = new FakeTap();
    const port = new FakePort();
    port.space = 2;
    const b = new TapBridge('h1', tap, port);
    const frames = [0, 1, 2, 3, 4].map((i) => frame(200, i));
    tap.feed(frames);
    expect(port.sent).toHaveLength(2);
    expect(b.isPaused).toBe(true);
    expect(b.heldFrames).toBe(3);
    expect(tap.paused).toBe(true);
    expect(b.drops.total).toBe(0);
    port.space = 10;
    port.drained.shift()!();
    expect(port.sent).toEqual(frames);
    expect(b.isPaused).toBe(false);
    expect(tap.paused).toBe(false);
  });

  it('reports a fatal TAP error once, naming the TAP, and drops what the fabric delivers for it', () => {
    const tap = new FakeTap();
    const port = new FakePort();
    const failures: string[] = [];
    const b = new TapBridge('h8', tap, port, { onFailure: (m) => failures.push(m) });
    const err = new TapIoError('eoptest-f0: read: File descriptor in bad state', 77, 'EBADFD', 'read', 'eoptest-f0', true);
    tap.errorCb!(err);
    tap.errorCb!(err);
    expect(failures).toEqual(['TAP eoptest-f0 of host h8 failed: eoptest-f0: read: File descriptor in bad state']);
    expect(tap.closed).toBe(true);
    port.receiver(frame(100, 1));
    expect(b.drops.get('tap-gone')).toBe(1);
  });
});

describe('TcpCoalescer (GRO on the way into a vnet-header TAP)', () => {
  const MSS = 1000;
  /** An IPv4 TCP segment, checksums right, seq given, payload bytes derived from seq. */
  function seg(seq: number, plen: number, flags = 0x10, id = 1): Uint8Array {
    const f = new Uint8Array(14 + 20 + 32 + plen);
    f.set([0x02, 0xe0, 0, 0, 0, 2, 0x02, 0xe0, 0, 0, 0, 1, 0x08, 0x00]);
    const ip = 14;
    const tot = 20 + 32 + plen;
    f.set([0x45, 0, tot >> 8, tot & 0xff, id >> 8, id & 0xff, 0x40, 0, 64, 6, 0, 0, 10, 11, 0, 1, 10, 11, 0, 2], ip);
    const ipck = internetChecksum(f, ip, ip + 20);
    f[ip + 10] = ipck >> 8;
    f[ip + 11] = ipck & 0xff;
    const t = 34;
    f.set([0x9c, 0x40, 0x14, 0x51], t);
    new DataView(f.buffer).setUint32(t + 4, seq >>> 0);
    new DataView(f.buffer).setUint32(t + 8, 777);
    f[t + 12] = 8 << 4;
    f[t + 13] = flags;
    f[t + 14] = 0x01;
    f[t + 15] = 0xf5;
    f.set([1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 9], t + 20); // NOP NOP timestamps
    for (let i = 0; i < plen; i++) f[t + 32 + i] = (seq + i) & 0xff;
    const ck = internetChecksum(f, t, f.length, pseudoHeaderSum4(0x0a0b0001, 0x0a0b0002, 6, 32 + plen));
    f[t + 16] = ck >> 8;
    f[t + 17] = ck & 0xff;
    return f;
  }

  function run(frames: Uint8Array[], merge = true): Uint8Array[] {
    const out: Uint8Array[] = [];
    // What the TAP gets: a header given apart (writev) is in front of its frame.
    const g = new TcpCoalescer(10, (f, head) => {
      const w = new Uint8Array((head?.length ?? 0) + f.length);
      if (head) w.set(head);
      w.set(f, head?.length ?? 0);
      out.push(w);
      return true;
    });
    if (!merge) g.disableMerging();
    for (const f of frames) g.push(f);
    g.flush();
    return out;
  }

  it('merges contiguous segments into one GSO super-frame with a correct virtio_net_hdr', () => {
    const segs = [seg(5000, MSS), seg(6000, MSS), seg(7000, MSS, 0x18, 2)];
    const out = run(segs);
    expect(out).toHaveLength(1);
    const o = out[0]!;
    const h = new DataView(o.buffer);
    expect(o[0]).toBe(1); // NEEDS_CSUM
    expect(o[1]).toBe(1); // GSO_TCPV4
    expect(h.getUint16(2, true)).toBe(14 + 20 + 32);
    expect(h.getUint16(4, true)).toBe(MSS);
    expect(h.getUint16(6, true)).toBe(34);
    expect(h.getUint16(8, true)).toBe(16);
    const f = o.subarray(10);
    expect(f.length).toBe(14 + 20 + 32 + 3 * MSS);
    expect((f[16]! << 8) | f[17]!).toBe(20 + 32 + 3 * MSS);
    expect(internetChecksum(f, 14, 34)).toBe(0); // IP header checksum valid
    expect(f[34 + 13]).toBe(0x18); // PSH from the last segment
    // TCP checksum field holds the pseudo-header sum (CHECKSUM_PARTIAL), as kernel GRO leaves it.
    expect((f[34 + 16]! << 8) | f[34 + 17]!).toBe(pseudoHeaderSum4(0x0a0b0001, 0x0a0b0002, 6, 32 + 3 * MSS));
    for (let i = 0; i < 3 * MSS; i++) if (f[66 + i] !== ((5000 + i) & 0xff)) throw new Error(`payload byte ${i}`);
  });

  it('writes frames it does not merge byte for byte behind a zero header, in order', () => {
    const arp = new Uint8Array(60);
    arp.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0xe0, 0, 0, 0, 1, 0x08, 0x06]);
    const a = seg(1000, MSS);
    const gap = seg(3000, MSS); // not contiguous
    const short = seg(4000, 10);
    const after = seg(4010, MSS); // after a short segment: a new merge
    const out = run([arp, a, gap, short, after]);
    expect(out).toHaveLength(4);
    expect(out[0]!.subarray(0, 10)).toEqual(new Uint8Array(10));
    expect(out[0]!.subarray(10)).toEqual(arp);
    expect(out[1]!.subarray(10)).toEqual(a);
    expect(out[2]![1]).toBe(1); // gap + short merged (short is last)
    expect(out[3]!.subarray(10)).toEqual(after);
    expect(run([seg(1, MSS), seg(1 + MSS, MSS)], false).map((o) => o.subarray(10))).toEqual([seg(1, MSS), seg(1 + MSS, MSS)]);
  });
});

describe('TapBridge stall watchdog', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('resumes reading when the interface never drains, offering the held frames anyway', () => {
    vi.useFakeTimers();
    const tap = new FakeTap();
    const port = new FakePort();
    port.space = 1;
    const b = new TapBridge('h1', tap, port);
    tap.feed([frame(100, 1), frame(100, 2), frame(100, 3)]);
    expect(b.isPaused).toBe(true);
    port.space = 0;
    vi.advanceTimersByTime(STALL_MS - 1);
    expect(b.isPaused).toBe(true); // not a moment before the watchdog's time
    vi.advanceTimersByTime(1);
    expect(b.isPaused).toBe(false);
    expect(b.c.stalls).toBe(1);
    expect(tap.paused).toBe(false);
    expect(port.sent).toHaveLength(3); // the fake accepts; a real interface would drop and count
    b.close();
  });
});
