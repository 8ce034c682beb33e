/**
 * SYSTEM test of the TAP addon's writev path and its pause/resume, against the real kernel: two
 * TAPs opened with a virtio_net_hdr (eoptest-w0, eoptest-w1) are ports of a Linux bridge inside the
 * namespace eoptest-w, MTU 9000. A frame written into w0 as `write(frame, head)` (header and frame
 * apart, one writev) enters the kernel on w0, the bridge floods it out of w1, and we read it there:
 * it must be byte for byte the frame we wrote, at 60 bytes, MTU 1500 and MTU 9000; a 64 KiB TCP GSO
 * super-frame (IP length 65535) must come out as exactly its segments. Then w1 is paused and
 * resumed hundreds of times, a frame written each time: nothing is read while paused, every frame
 * arrives after each resume, in order. `readNow()` reads a frame that the bridge queued during our
 * write without an event-loop turn (never inside the TAP's own callback), and lone frames cost one
 * read() each while bursts are still read in batches.
 *
 * Needs root, /dev/net/tun, ip and the built addon (skips with a reason, fails with CI=true).
 * Run inside /work/isolated.sh on a shared machine. All frames stay inside eoptest-w.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ip, linkSetNetns, netnsAdd, removeQuietly } from '../../bridge/netns.js';
import { TapDevice, VirtioNetHdr, writeVirtioNetHdr, type FrameBatch } from '../../bridge/tap-device.js';
import { internetChecksum, pseudoHeaderSum4 } from '../../src/wire/checksum.js';
import { liveReady } from './live-helpers.js';

const ready = liveReady();
const NS = 'eoptest-w';
const IN = 'eoptest-w0';
const OUT = 'eoptest-w1';
const BR = 'eoptest-wbr';
const HDR = 10;
/** Local experimental EtherType (IEEE 802 "local experimental 1"): no stack in the namespace answers it. */
const ETHERTYPE = 0x88b5;
const SRC_MAC = [0x02, 0xe0, 0x77, 0, 0, 1];
const DST_MAC = [0x02, 0xe0, 0x77, 0, 0, 2]; // never learned by the bridge: flooded to w1

function cleanup(): void {
  removeQuietly([NS], [IN, OUT, 'eoptest-w2']);
}

/** An Ethernet frame of `len` bytes with our EtherType, a tag and payload bytes derived from it. */
function frame(len: number, tag: number): Uint8Array {
  const f = new Uint8Array(len);
  f.set(DST_MAC, 0);
  f.set(SRC_MAC, 6);
  f[12] = ETHERTYPE >> 8;
  f[13] = ETHERTYPE & 0xff;
  new DataView(f.buffer).setUint32(14, tag);
  for (let i = 18; i < len; i++) f[i] = (i * 31 + tag) & 0xff;
  return f;
}

/** A 64 KiB IPv4 TCP super-frame (IP total length 65535) and its GSO header (NEEDS_CSUM, TCPV4). */
function superFrame(): { head: Uint8Array; frame: Uint8Array } {
  const ipLen = 65535;
  const f = new Uint8Array(14 + ipLen);
  f.set(DST_MAC, 0);
  f.set(SRC_MAC, 6);
  f.set([0x08, 0x00], 12);
  const ipo = 14;
  f.set([0x45, 0, ipLen >> 8, ipLen & 0xff, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 77, 0, 1, 10, 77, 0, 2], ipo);
  const ipck = internetChecksum(f, ipo, ipo + 20);
  f[ipo + 10] = ipck >> 8;
  f[ipo + 11] = ipck & 0xff;
  const t = ipo + 20;
  const dv = new DataView(f.buffer);
  dv.setUint16(t, 40000);
  dv.setUint16(t + 2, 5201);
  dv.setUint32(t + 4, 1000);
  dv.setUint32(t + 8, 1);
  f[t + 12] = 5 << 4;
  f[t + 13] = 0x10; // ACK
  dv.setUint16(t + 14, 512);
  for (let i = t + 20; i < f.length; i++) f[i] = (i * 7) & 0xff;
  // CHECKSUM_PARTIAL: the pseudo-header sum in the TCP checksum field, as GRO leaves it.
  const ps = pseudoHeaderSum4(0x0a4d0001, 0x0a4d0002, 6, ipLen - 20);
  f[t + 16] = ps >> 8;
  f[t + 17] = ps & 0xff;
  const head = new Uint8Array(HDR);
  writeVirtioNetHdr(head, { flags: VirtioNetHdr.F_NEEDS_CSUM, gsoType: VirtioNetHdr.GSO_TCPV4, hdrLen: 54, gsoSize: 1448, csumStart: t, csumOffset: 16 });
  return { head, frame: f };
}

describe.skipIf(!ready).sequential('TAP writev and pause/resume against the kernel (a bridge between two TAPs)', () => {
  let wIn: TapDevice;
  let wOut: TapDevice;
  /** Frames of ours read from w1 (header included), copied. */
  const got: Uint8Array[] = [];
  let waiters: (() => void)[] = [];

  const onOut = (batch: FrameBatch): void => {
    batch.forEach((f) => {
      const eth = f.subarray(HDR);
      const ours = eth.length >= 14 && SRC_MAC.every((b, i) => eth[6 + i] === b);
      if (ours) got.push(new Uint8Array(f));
    });
    const w = waiters;
    waiters = [];
    for (const fn of w) fn();
  };

  /** Resolves once `n` frames of ours were read (fails after a generous 10 s). */
  function receive(n: number): Promise<Uint8Array[]> {
    return new Promise((resolve, reject) => {
      const guard = setTimeout(() => reject(new Error(`only ${got.length} of ${n} frames arrived within 10 s`)), 10_000);
      const check = (): void => {
        if (got.length >= n) {
          clearTimeout(guard);
          resolve(got.splice(0, n));
        } else waiters.push(check);
      };
      check();
    });
  }

  const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

  beforeAll(() => {
    cleanup();
    wIn = TapDevice.open(IN, { vnetHdr: true, offload: true });
    wOut = TapDevice.open(OUT, { vnetHdr: true, offload: true });
    wOut.onFrames(onOut);
    wIn.onFrames(() => {}); // whatever the kernel sends into w0 (nothing of ours)
    netnsAdd(NS);
    linkSetNetns(IN, NS);
    linkSetNetns(OUT, NS);
    ip(['link', 'add', BR, 'type', 'bridge', 'stp_state', '0'], { ns: NS });
    for (const dev of [IN, OUT]) {
      ip(['link', 'set', 'dev', dev, 'mtu', '9000', 'master', BR], { ns: NS });
    }
    ip(['link', 'set', 'dev', BR, 'mtu', '9000', 'up'], { ns: NS });
    ip(['link', 'set', 'dev', IN, 'up'], { ns: NS });
    ip(['link', 'set', 'dev', OUT, 'up'], { ns: NS });
  });

  afterAll(() => {
    wIn?.close();
    wOut?.close();
    cleanup();
  });

  it('write(frame, head) delivers header + frame as one frame, byte for byte, up to MTU 9000', async () => {
    const zero = new Uint8Array(HDR);
    const frames = [60, 1514, 9014].map((len, i) => frame(len, i + 1));
    // The bridge port may still be settling right after "up": retry the first frame until it passes.
    for (let i = 0; i < 100 && got.length === 0; i++) {
      expect(wIn.write(frame(60, 999), zero)).toBe(true);
      await new Promise((r) => setTimeout(r, 50));
    }
    await turn();
    got.length = 0;
    for (const f of frames) expect(wIn.write(f, zero)).toBe(true);
    const out = await receive(frames.length);
    for (let i = 0; i < frames.length; i++) {
      expect(out[i]!.length).toBe(HDR + frames[i]!.length);
      expect(Buffer.from(out[i]!.subarray(HDR)).equals(Buffer.from(frames[i]!))).toBe(true);
    }
    expect(wIn.stats.writeDropped).toBe(0);
  });

  it('write(frame, head) takes a 64 KiB TCP GSO super-frame: the kernel cuts it into its exact segments', async () => {
    // A bridge port re-segments GSO frames from a TAP (they are marked untrusted, and a TAP is not
    // GSO_ROBUST), so w1 gets MSS-sized segments: their payloads, in order, are the super-frame's.
    const { head, frame: f } = superFrame();
    const t = 14 + 20;
    const payload = f.subarray(t + 20);
    const n = Math.ceil(payload.length / 1448);
    expect(wIn.write(f, head)).toBe(true);
    const segs = await receive(n);
    const joined = Buffer.concat(segs.map((o) => o.subarray(HDR + t + 20)));
    expect(joined.length).toBe(payload.length);
    expect(joined.equals(Buffer.from(payload))).toBe(true);
    segs.forEach((o, i) => {
      const e = o.subarray(HDR);
      expect(Buffer.from(e.subarray(0, 14)).equals(Buffer.from(f.subarray(0, 14)))).toBe(true);
      expect(new DataView(e.buffer, e.byteOffset).getUint32(t + 4)).toBe(1000 + i * 1448); // sequence numbers
    });
    await turn();
    expect(got).toHaveLength(0);
  });

  it('pause() stops reading, resume() reads again with the same callback, 300 times over', async () => {
    const zero = new Uint8Array(HDR);
    const before = wOut.stats.readBatches;
    for (let i = 0; i < 300; i++) {
      wOut.pause();
      const f = frame(100, 10_000 + i);
      expect(wIn.write(f, zero)).toBe(true);
      // The frame is in w1's queue once write() returns (the bridge forwards in the same call):
      // a TAP still reading would have it on the next poll phase.
      await turn();
      await turn();
      expect(got.length).toBe(0);
      expect(wOut.resume()).toBe(true);
      const [o] = await receive(1);
      expect(Buffer.from(o!.subarray(HDR)).equals(Buffer.from(f))).toBe(true);
    }
    expect(wOut.stats.readBatches - before).toBeGreaterThanOrEqual(300);
  });

  it('readNow() reads the frame the kernel queued during our write at once, with no turn of the event loop', () => {
    const zero = new Uint8Array(HDR);
    got.length = 0;
    const f = frame(120, 20_000);
    expect(wIn.write(f, zero)).toBe(true);
    // Synchronous from here on: no poll callback can run, only readNow() can deliver the frame.
    // The bridge forwards within write() as a rule; a loaded kernel may defer it to ksoftirqd, so
    // keep asking for up to 5 s.
    const until = Date.now() + 5_000;
    let reads = 0;
    while (got.length === 0 && Date.now() < until) reads += wOut.readNow(1);
    expect(got).toHaveLength(1);
    expect(reads).toBe(1);
    expect(Buffer.from(got[0]!.subarray(HDR)).equals(Buffer.from(f))).toBe(true);
    got.length = 0;
    expect(wOut.readNow(1)).toBe(0); // nothing else queued: EAGAIN, no callback
  });

  it('readNow() inside the TAP\'s own callback reads nothing (the batch in hand stays intact); the loop brings the rest', async () => {
    const zero = new Uint8Array(HDR);
    got.length = 0;
    const inner: number[] = [];
    wOut.onFrames((b) => {
      inner.push(wOut.readNow(4));
      onOut(b);
    });
    try {
      const fs = [frame(200, 30_000), frame(200, 30_001)];
      for (const f of fs) expect(wIn.write(f, zero)).toBe(true);
      const out = await receive(2);
      fs.forEach((f, i) => expect(Buffer.from(out[i]!.subarray(HDR)).equals(Buffer.from(f))).toBe(true));
      expect(inner.length).toBeGreaterThan(0);
      expect(inner.every((n) => n === 0)).toBe(true);
    } finally {
      wOut.onFrames(onOut);
    }
  });

  it('a lone frame (wake-ups far apart) is read without a second read() that finds nothing; a burst is read in batches', async () => {
    const zero = new Uint8Array(HDR);
    const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
    got.length = 0;
    const empty0 = wOut.stats.emptyReads;
    for (let i = 0; i < 10; i++) {
      await sleep(20); // well past the 2 ms that make a wake-up "lone"
      expect(wIn.write(frame(100, 40_000 + i), zero)).toBe(true);
      await receive(1);
    }
    // Before, every wake-up ended with a read() answering EAGAIN: 10 here. The namespace's own
    // frames (IPv6 MLD) may add a burst now and then.
    expect(wOut.stats.emptyReads - empty0).toBeLessThanOrEqual(2);

    await sleep(20);
    const batches0 = wOut.stats.readBatches;
    for (let i = 0; i < 40; i++) expect(wIn.write(frame(100, 50_000 + i), zero)).toBe(true);
    const out = await receive(40);
    out.forEach((o, i) => expect(new DataView(o.buffer, o.byteOffset + HDR).getUint32(14)).toBe(50_000 + i));
    // The first wake-up takes one frame (it looks lone), the next ones come at once and take the rest.
    expect(wOut.stats.readBatches - batches0).toBeLessThanOrEqual(5);
  });

  it('resume() after close() says it cannot read', () => {
    const t = TapDevice.open('eoptest-w2');
    t.onFrames(() => {});
    t.pause();
    t.close();
    expect(t.resume()).toBe(false);
  });
});
