/**
 * Captures written by the worker thread (live mode): the same bytes as the synchronous writer, data
 * on disk after flush() without close(), a bounded pool whose exhaustion is counted as drops,
 * rotation discards counted, and exact integer epoch-ns timestamps.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CaptureFile } from '../src/capture/capture-file.js';
import { CaptureSet } from '../src/capture/capture-set.js';
import { CaptureThread } from '../src/capture/capture-thread.js';
import { readEpbs } from './helpers/pcapng-reader.js';

let dir: string;
const thread = new CaptureThread();
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'eop-capthread-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});
afterAll(() => thread.terminate());

const frame = (n: number, seed: number): Uint8Array => {
  const f = new Uint8Array(n);
  for (let i = 0; i < n; i++) f[i] = (i * 13 + seed) & 0xff;
  return f;
};

describe('CaptureFile with a CaptureThread', () => {
  it('writes byte for byte what the synchronous writer writes (pcap and pcapng, rotation included)', () => {
    for (const format of ['pcap', 'pcapng'] as const) {
      const opts = { format, interfaceName: 'eop-h1', maxFileBytes: 20_000, maxFiles: 3 };
      const a = new CaptureFile({ ...opts, path: join(dir, `sync.${format}`) });
      const b = new CaptureFile({ ...opts, path: join(dir, `thr.${format}`), thread });
      for (let i = 0; i < 200; i++) {
        const f = frame(60 + ((i * 37) % 1400), i);
        a.write(i * 1000, f, i % 2 ? 'in' : 'out');
        b.write(i * 1000, f, i % 2 ? 'in' : 'out');
      }
      a.close();
      b.close();
      expect(b.stats).toEqual(a.stats);
      for (const sfx of ['', '.1', '.2']) {
        expect(readFileSync(join(dir, `thr.${format}${sfx}`)).equals(readFileSync(join(dir, `sync.${format}${sfx}`)))).toBe(true);
      }
    }
  });

  it('flush() puts the frames on disk while the file stays open (a running capture can be read)', async () => {
    const cf = new CaptureFile({ path: join(dir, 'live.pcapng'), format: 'pcapng', interfaceName: 'e0', thread });
    const header = statSync(cf.path).size;
    cf.write(5, frame(100, 1), 'out');
    cf.flush();
    for (let i = 0; i < 100 && statSync(cf.path).size === header; i++) await new Promise((r) => setTimeout(r, 10));
    expect(readEpbs(cf.path).map((r) => r.capLen)).toEqual([100]);
    cf.close();
  });

  it('with every chunk still at the writer, frames are dropped and counted (queueFullFrames), never blocked', () => {
    // The replies that return chunks are only taken when the event loop turns: writing in one
    // synchronous burst exhausts a two-chunk pool deterministically.
    const cf = new CaptureFile({ path: join(dir, 'bp.pcapng'), format: 'pcapng', interfaceName: 'e0', thread, bufferBytes: 8192, snaplenBytes: 2000 });
    const n = 200;
    for (let i = 0; i < n; i++) cf.write(i, frame(1000, i), 'out');
    cf.close();
    const s = cf.stats;
    expect(s.queueFullFrames).toBeGreaterThan(0);
    expect(s.droppedFrames).toBe(s.queueFullFrames);
    expect(s.frames + s.droppedFrames).toBe(n);
    expect(readEpbs(cf.path)).toHaveLength(s.frames);
  });

  it('rotation: the frames deleted with the oldest file are counted; surviving files + rotatedOutFrames = frames', () => {
    const cf = new CaptureFile({ path: join(dir, 'rot.pcapng'), format: 'pcapng', interfaceName: 'e0', thread, maxFileBytes: 5000, maxFiles: 2 });
    const n = 300;
    for (let i = 0; i < n; i++) cf.write(i, frame(200, i), 'in');
    cf.close();
    const surviving = readEpbs(cf.path).length + readEpbs(`${cf.path}.1`).length;
    expect(cf.stats.rotatedOutFrames).toBeGreaterThan(0);
    expect(surviving + cf.stats.rotatedOutFrames).toBe(cf.stats.frames);
    expect(cf.stats.frames).toBe(n);
    // The dropped files were renamed out of the way and deleted by the writer thread (close()
    // waited for it): nothing but the two kept files is left, no temporary name either.
    expect(readdirSync(dir).sort()).toEqual(['rot.pcapng', 'rot.pcapng.1']);
  });

  it('timestamps are the exact integer origin + t (epoch ns beyond 2^53 lose nothing)', () => {
    const origin = 1_764_489_600_123_456_789n; // 2025-11-30, ns
    for (const format of ['pcapng'] as const) {
      const cf = new CaptureFile({ path: join(dir, `ts.${format}`), format, interfaceName: 'e0', thread, timeOriginNs: origin });
      cf.write(0, frame(60, 0));
      cf.write(1, frame(60, 1));
      cf.write(4_294_967_297, frame(60, 2)); // carries into the high word
      cf.close();
      expect(readEpbs(cf.path).map((r) => r.tsNs)).toEqual([origin, origin + 1n, origin + 4_294_967_297n]);
    }
  });

  it('classic pcap: seconds and ns of origin + t, exact', () => {
    const origin = 1_764_489_600_999_999_999n;
    const cf = new CaptureFile({ path: join(dir, 'ts.pcap'), format: 'pcap', interfaceName: 'e0', timeOriginNs: origin });
    cf.write(1, frame(60, 0));
    cf.close();
    const b = readFileSync(cf.path);
    expect([b.readUInt32LE(24), b.readUInt32LE(28)]).toEqual([1_764_489_601, 0]);
  });
});

describe('CaptureSet, threaded: the flush timer', () => {
  it('is armed by a record, flushes within flushEveryMs without close(), and is not re-armed while idle', async () => {
    const FLUSH_MS = 37; // a delay nothing else here uses, to tell the set's timers apart
    const spy = vi.spyOn(globalThis, 'setTimeout');
    const armed = (): number => spy.mock.calls.filter((c) => c[1] === FLUSH_MS).length;
    const set = new CaptureSet({ threaded: true, flushEveryMs: FLUSH_MS, crashSafe: false });
    try {
      const path = join(dir, 'live.pcapng');
      const f = set.open({ format: 'pcapng', interfaceName: 'eop-h1', path });
      const header = statSync(path).size;
      await new Promise((r) => setTimeout(r, 80));
      expect(armed()).toBe(0); // an idle capture sets no timer
      f.write(1000, frame(100, 1), 'out');
      f.write(2000, frame(100, 2), 'in'); // a second record does not arm a second timer
      expect(armed()).toBe(1);
      for (let i = 0; i < 100 && statSync(path).size === header; i++) await new Promise((r) => setTimeout(r, 10));
      expect(statSync(path).size).toBeGreaterThan(header); // on disk, the file still open
      await new Promise((r) => setTimeout(r, 80));
      expect(armed()).toBe(1); // nothing re-armed while idle
      f.write(3000, frame(100, 3), 'out');
      expect(armed()).toBe(2); // the next record arms it again
    } finally {
      set.closeAll();
      spy.mockRestore();
    }
  });
});
