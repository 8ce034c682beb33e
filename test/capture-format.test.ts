import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ErrorCode, EopError } from '../src/errors.js';
import {
  BT_EPB,
  BT_IDB,
  BT_SHB,
  CaptureFile,
  CaptureSet,
  encodePcapGlobalHeader,
  type CaptureOptions,
  type ProcessLike,
} from '../src/capture/index.js';
import { requireTool } from './system/require-tool.js';

// ---- tiny readers, independent of the writers ----

interface PcapRecord {
  sec: number;
  nsec: number;
  inclLen: number;
  origLen: number;
  data: Buffer;
}

function readPcap(file: string): { header: Buffer; records: PcapRecord[] } {
  const b = readFileSync(file);
  const records: PcapRecord[] = [];
  let off = 24;
  while (off < b.length) {
    const inclLen = b.readUInt32LE(off + 8);
    records.push({
      sec: b.readUInt32LE(off),
      nsec: b.readUInt32LE(off + 4),
      inclLen,
      origLen: b.readUInt32LE(off + 12),
      data: b.subarray(off + 16, off + 16 + inclLen),
    });
    off += 16 + inclLen;
  }
  expect(off).toBe(b.length);
  return { header: b.subarray(0, 24), records };
}

interface Block {
  type: number;
  total: number;
  body: Buffer;
}

/** Walks blocks, checking both length fields and 32-bit alignment of each. */
function readBlocks(file: string): Block[] {
  const b = readFileSync(file);
  const blocks: Block[] = [];
  let off = 0;
  while (off < b.length) {
    const type = b.readUInt32LE(off);
    const total = b.readUInt32LE(off + 4);
    expect(total % 4).toBe(0);
    expect(total).toBeGreaterThanOrEqual(12);
    expect(off + total).toBeLessThanOrEqual(b.length);
    expect(b.readUInt32LE(off + total - 4)).toBe(total);
    blocks.push({ type, total, body: b.subarray(off + 8, off + total - 4) });
    off += total;
  }
  expect(off).toBe(b.length);
  return blocks;
}

/** Options as code -> value, checking they end with opt_endofopt and pad to 32 bits with zeros. */
function readOptions(b: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let off = 0;
  for (;;) {
    const code = b.readUInt16LE(off);
    const len = b.readUInt16LE(off + 2);
    if (code === 0) {
      expect(len).toBe(0);
      expect(off + 4).toBe(b.length);
      return out;
    }
    out.set(code, b.subarray(off + 4, off + 4 + len));
    const padded = (len + 3) & ~3;
    for (let i = len; i < padded; i++) expect(b[off + 4 + i]).toBe(0);
    off += 4 + padded;
  }
}

interface Epb {
  ifId: number;
  tsNs: bigint;
  capLen: number;
  origLen: number;
  data: Buffer;
  options: Map<number, Buffer>;
}

function readEpb(blk: Block): Epb {
  expect(blk.type).toBe(BT_EPB);
  const b = blk.body;
  const capLen = b.readUInt32LE(12);
  const padded = (capLen + 3) & ~3;
  for (let i = capLen; i < padded; i++) expect(b[20 + i]).toBe(0);
  const rest = b.subarray(20 + padded);
  return {
    ifId: b.readUInt32LE(0),
    tsNs: (BigInt(b.readUInt32LE(4)) << 32n) | BigInt(b.readUInt32LE(8)),
    capLen,
    origLen: b.readUInt32LE(16),
    data: b.subarray(20, 20 + capLen),
    options: rest.length ? readOptions(rest) : new Map(),
  };
}

function frameOf(len: number, seed = 0): Uint8Array {
  const f = new Uint8Array(len);
  for (let i = 0; i < len; i++) f[i] = (i * 7 + seed) & 0xff;
  return f;
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'eop-capture-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const open = (o: Partial<CaptureOptions> & Pick<CaptureOptions, 'format'>): CaptureFile =>
  new CaptureFile({ path: join(dir, `cap.${o.format}`), interfaceName: 'h1-eop0', ...o });

describe('pcap format', () => {
  it('global header bytes are exact (ns magic, v2.4, snaplen 262144, Ethernet)', () => {
    expect(encodePcapGlobalHeader().toString('hex')).toBe(
      '4d3cb2a1' + '0200' + '0400' + '00000000' + '00000000' + '00000400' + '01000000',
    );
  });

  it('writes the header at open and one record with exact bytes', () => {
    const cf = open({ format: 'pcap' });
    expect(statSync(cf.path).size).toBe(24); // header is on disk before any frame
    const frame = Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x08, 0x06, 0xaa]);
    cf.write(1_500_000_123, frame); // 1 s + 500000123 ns
    cf.close();
    const b = readFileSync(cf.path);
    expect(b.subarray(24).toString('hex')).toBe(
      '01000000' + // ts_sec 1
        '7b65cd1d' + // ts_nsec 500000123 = 0x1dcd657b
        '0f000000' + // incl_len 15
        '0f000000' + // orig_len 15
        Buffer.from(frame).toString('hex'),
    );
    expect(cf.stats).toMatchObject({ frames: 1, bytes: 24 + 16 + 15, files: 1, droppedFrames: 0, truncatedFrames: 0 });
  });

  it('splits large ns timestamps into seconds and nanoseconds', () => {
    const cf = open({ format: 'pcap' });
    cf.write(9_007_199_254_740_991, frameOf(60)); // 2^53 - 1
    cf.write(-5, frameOf(60)); // clamped to 0
    cf.write(1.9, frameOf(60)); // floored
    cf.close();
    const r = readPcap(cf.path).records;
    expect([r[0]!.sec, r[0]!.nsec]).toEqual([9_007_199, 254_740_991]);
    expect([r[1]!.sec, r[1]!.nsec]).toEqual([0, 0]);
    expect([r[2]!.sec, r[2]!.nsec]).toEqual([0, 1]);
  });

  it('truncates a frame longer than snaplen and keeps orig_len', () => {
    const cf = open({ format: 'pcap', snaplenBytes: 128 });
    const f = frameOf(200);
    cf.write(1, f);
    cf.write(2, frameOf(100));
    cf.close();
    const { header, records } = readPcap(cf.path);
    expect(header.readUInt32LE(16)).toBe(128);
    expect(records[0]).toMatchObject({ inclLen: 128, origLen: 200 });
    expect(records[0]!.data.equals(Buffer.from(f.subarray(0, 128)))).toBe(true);
    expect(records[1]).toMatchObject({ inclLen: 100, origLen: 100 });
    expect(cf.stats.truncatedFrames).toBe(1);
    expect(cf.stats.frames).toBe(2);
  });

  it('copies the frame: the caller may reuse its buffer right after write()', () => {
    const cf = open({ format: 'pcap' });
    const f = frameOf(64, 1);
    const before = Buffer.from(f);
    cf.write(1, f);
    f.fill(0xee);
    cf.write(2, f);
    cf.close();
    const r = readPcap(cf.path).records;
    expect(r[0]!.data.equals(before)).toBe(true);
    expect(r[1]!.data.every((x) => x === 0xee)).toBe(true);
  });
});

describe('pcapng format', () => {
  it('SHB, IDB (if_name, if_description, if_tsresol=9), then EPBs with 32-bit padding for odd lengths', () => {
    const cf = open({ format: 'pcapng', description: 'EOP link h1<->h2', snaplenBytes: 65535 });
    const lens = [60, 61, 62, 63, 65, 1, 9001];
    lens.forEach((n, i) => cf.write(1000 + i, frameOf(n, i), i % 2 ? 'in' : 'out'));
    cf.write(4_294_967_297, frameOf(61)); // > 2^32 ns: high word 1; no direction: no options
    cf.close();

    const blocks = readBlocks(cf.path);
    expect(blocks.map((b) => b.type)).toEqual([BT_SHB, BT_IDB, ...Array(lens.length + 1).fill(BT_EPB)]);

    const shb = blocks[0]!.body;
    expect(shb.readUInt32LE(0)).toBe(0x1a2b3c4d);
    expect([shb.readUInt16LE(4), shb.readUInt16LE(6)]).toEqual([1, 0]);
    expect(shb.readBigInt64LE(8)).toBe(-1n);

    const idb = blocks[1]!.body;
    expect(idb.readUInt16LE(0)).toBe(1); // LINKTYPE_ETHERNET
    expect(idb.readUInt32LE(4)).toBe(65535);
    const idbOpts = readOptions(idb.subarray(8));
    expect(idbOpts.get(2)!.toString()).toBe('h1-eop0');
    expect(idbOpts.get(3)!.toString()).toBe('EOP link h1<->h2');
    expect([...idbOpts.get(9)!]).toEqual([9]);

    lens.forEach((n, i) => {
      const e = readEpb(blocks[2 + i]!);
      expect(blocks[2 + i]!.total).toBe(28 + ((n + 3) & ~3) + 12 + 4);
      expect(e).toMatchObject({ ifId: 0, tsNs: BigInt(1000 + i), capLen: n, origLen: n });
      expect(e.data.equals(Buffer.from(frameOf(n, i)))).toBe(true);
      expect(e.options.get(2)!.readUInt32LE(0)).toBe(i % 2 ? 1 : 2); // 01 inbound, 10 outbound
    });
    const last = readEpb(blocks[blocks.length - 1]!);
    expect(last.tsNs).toBe(4_294_967_297n);
    expect(last.options.size).toBe(0);
    expect(blocks[blocks.length - 1]!.total).toBe(28 + 64 + 4);
    expect(cf.stats.bytes).toBe(statSync(cf.path).size);
  });

  it('truncates to snaplen with orig_len kept', () => {
    const cf = open({ format: 'pcapng', snaplenBytes: 101 });
    cf.write(7, frameOf(300), 'in');
    cf.close();
    const e = readEpb(readBlocks(cf.path)[2]!);
    expect(e).toMatchObject({ capLen: 101, origLen: 300 });
    expect(e.data.equals(Buffer.from(frameOf(300).subarray(0, 101)))).toBe(true);
    expect(cf.stats.truncatedFrames).toBe(1);
  });

  it('writes frames bigger than the buffer straight through, in order', () => {
    for (const format of ['pcap', 'pcapng'] as const) {
      const cf = open({ format, bufferBytes: 1 }); // clamped to the minimum
      cf.write(1, frameOf(100, 1), 'out');
      cf.write(2, frameOf(9001, 2), 'in');
      cf.write(3, frameOf(70, 3));
      cf.close();
      if (format === 'pcap') {
        const r = readPcap(cf.path).records;
        expect(r.map((x) => x.inclLen)).toEqual([100, 9001, 70]);
        expect(r[1]!.data.equals(Buffer.from(frameOf(9001, 2)))).toBe(true);
      } else {
        const e = readBlocks(cf.path).slice(2).map(readEpb);
        expect(e.map((x) => x.capLen)).toEqual([100, 9001, 70]);
        expect(e[1]!.data.equals(Buffer.from(frameOf(9001, 2)))).toBe(true);
        expect(e[1]!.options.get(2)!.readUInt32LE(0)).toBe(1);
      }
      expect(cf.stats.bytes).toBe(statSync(cf.path).size);
    }
  });

  it('buffers until flush()', () => {
    const cf = open({ format: 'pcapng' });
    const headerSize = statSync(cf.path).size;
    cf.write(1, frameOf(60));
    expect(statSync(cf.path).size).toBe(headerSize);
    cf.flush();
    expect(statSync(cf.path).size).toBe(headerSize + 28 + 60 + 4);
    cf.close();
    cf.close(); // idempotent
    cf.write(2, frameOf(60));
    expect(cf.stats).toMatchObject({ frames: 1, droppedFrames: 1 });
  });
});

describe('size cap and rotation', () => {
  it('rotates to path.1, path.2 … and keeps at most maxFiles, each a valid file', () => {
    const cf = open({ format: 'pcapng', maxFileBytes: 1000, maxFiles: 3 });
    const n = 60; // 100-byte frames: EPB 144 bytes, ~6 per file
    for (let i = 0; i < n; i++) cf.write(i, frameOf(100, i), 'out');
    cf.close();
    const p = cf.path;
    expect(existsSync(p) && existsSync(`${p}.1`) && existsSync(`${p}.2`)).toBe(true);
    expect(existsSync(`${p}.3`)).toBe(false);
    expect(cf.stats.files).toBeGreaterThan(3);
    expect(cf.stats.droppedFrames).toBe(0);
    expect(cf.stats.frames).toBe(n);

    // Oldest to newest: path.2, path.1, path; timestamps are contiguous and end with the last frame.
    const ts: bigint[] = [];
    for (const f of [`${p}.2`, `${p}.1`, p]) {
      expect(statSync(f).size).toBeLessThanOrEqual(1000);
      const blocks = readBlocks(f);
      expect(blocks[0]!.type).toBe(BT_SHB);
      expect(blocks[1]!.type).toBe(BT_IDB);
      ts.push(...blocks.slice(2).map((b) => readEpb(b).tsNs));
    }
    expect(ts[ts.length - 1]).toBe(BigInt(n - 1));
    ts.forEach((t, i) => i > 0 && expect(t).toBe(ts[i - 1]! + 1n));
  });

  it('rotates classic pcap too', () => {
    const cf = open({ format: 'pcap', maxFileBytes: 500, maxFiles: 2 });
    for (let i = 0; i < 20; i++) cf.write(i * 1e9, frameOf(100));
    cf.close();
    expect(existsSync(`${cf.path}.1`)).toBe(true);
    expect(existsSync(`${cf.path}.2`)).toBe(false);
    const last = readPcap(cf.path).records;
    expect(last[last.length - 1]!.sec).toBe(19);
    expect(readPcap(`${cf.path}.1`).header.readUInt32LE(0)).toBe(0xa1b23c4d);
  });

  it('maxFiles 1: one file, stops when full and counts drops', () => {
    const cf = open({ format: 'pcap', maxFileBytes: 24 + 3 * 116, maxFiles: 1 });
    for (let i = 0; i < 10; i++) cf.write(i, frameOf(100));
    cf.close();
    expect(existsSync(`${cf.path}.1`)).toBe(false);
    expect(readPcap(cf.path).records).toHaveLength(3);
    expect(cf.stats).toMatchObject({ frames: 3, droppedFrames: 7, files: 1 });
    expect(cf.capturing).toBe(false);
  });

  it('a single record larger than the cap still goes into an empty file', () => {
    const cf = open({ format: 'pcap', maxFileBytes: 100, maxFiles: 0 });
    cf.write(1, frameOf(500));
    cf.write(2, frameOf(10));
    cf.close();
    expect(readPcap(cf.path).records).toHaveLength(1);
    expect(cf.stats).toMatchObject({ frames: 1, droppedFrames: 1 });
  });
});

describe('errors', () => {
  it('open failure throws EopError CAPTURE_IO naming the path', () => {
    const blocker = join(dir, 'not-a-dir');
    writeFileSync(blocker, 'x');
    const path = join(blocker, 'x.pcap');
    let err: unknown;
    try {
      new CaptureFile({ path, format: 'pcap', interfaceName: 'e0' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EopError);
    expect((err as EopError).code).toBe(ErrorCode.CAPTURE_IO);
    expect((err as EopError).message).toContain(path);
  });

  it.runIf(existsSync('/dev/full'))('a device at the capture name is refused (CAPTURE_UNSAFE), never replaced or written', () => {
    expect(() => new CaptureFile({ path: '/dev/full', format: 'pcapng', interfaceName: 'e0' })).toThrow(
      expect.objectContaining({ code: ErrorCode.CAPTURE_UNSAFE, message: expect.stringContaining('/dev/full exists and is not a regular file') }),
    );
    expect(statSync('/dev/full').isCharacterDevice()).toBe(true);
  });

  it('bad options are CONFIG_INVALID', () => {
    expect(() => open({ format: 'pcap', maxFileBytes: -1 })).toThrow(
      expect.objectContaining({ code: ErrorCode.CONFIG_INVALID }),
    );
    expect(() => open({ format: 'pcapx' as 'pcap' })).toThrow(expect.objectContaining({ code: ErrorCode.CONFIG_INVALID }));
  });

  it('an I/O error after open never throws from write(): capture stops, drops are counted, lastError kept', () => {
    const sub = join(dir, 'sub');
    const cf = new CaptureFile({ path: join(sub, 'c.pcap'), format: 'pcap', interfaceName: 'e0', maxFileBytes: 300, maxFiles: 3 });
    cf.write(1, frameOf(100));
    rmSync(sub, { recursive: true, force: true }); // the next rotation's rename fails
    expect(() => {
      for (let i = 0; i < 5; i++) cf.write(2 + i, frameOf(100));
      cf.flush();
      cf.close();
    }).not.toThrow();
    expect(cf.capturing).toBe(false);
    expect(cf.lastError).toMatch(/rotate failed/);
    expect(cf.stats.lastError).toBe(cf.lastError);
    expect(cf.stats.frames + cf.stats.droppedFrames).toBe(6);
    expect(cf.stats.droppedFrames).toBeGreaterThanOrEqual(4);
  });
});

describe('CaptureSet', () => {
  class FakeProcess extends EventEmitter implements ProcessLike {
    readonly pid = 4242;
    kill = vi.fn();
    exit = vi.fn();
  }

  it('flushAll / closeAll / stats', () => {
    const set = new CaptureSet();
    const a = set.open({ path: join(dir, 'a.pcapng'), format: 'pcapng', interfaceName: 'h1-eop0' });
    const b = set.open({ path: join(dir, 'b.pcap'), format: 'pcap', interfaceName: 'h2-eop0' });
    expect(() => set.open({ path: join(dir, 'c.pcap'), format: 'pcap', interfaceName: 'h1-eop0' })).toThrow(EopError);
    a.write(1, frameOf(60));
    b.write(1, frameOf(60));
    const aSize = statSync(a.path).size;
    set.flushAll();
    expect(statSync(a.path).size).toBe(aSize + 28 + 60 + 4);
    set.closeAll();
    set.closeAll();
    expect(a.capturing || b.capturing).toBe(false);
    expect(set.stats()).toMatchObject({ 'h1-eop0': { frames: 1 }, 'h2-eop0': { frames: 1 } });
  });

  it('installs exit/signal handlers once, however often asked', () => {
    const proc = new FakeProcess();
    const s1 = new CaptureSet();
    const s2 = new CaptureSet();
    s1.installExitHandlers(proc);
    s1.installExitHandlers(proc);
    s2.installExitHandlers(proc);
    expect([proc.listenerCount('exit'), proc.listenerCount('SIGINT'), proc.listenerCount('SIGTERM')]).toEqual([1, 1, 1]);
    s1.uninstallExitHandlers();
    expect(proc.listenerCount('SIGINT')).toBe(1);
    s2.uninstallExitHandlers();
    expect([proc.listenerCount('exit'), proc.listenerCount('SIGINT'), proc.listenerCount('SIGTERM')]).toEqual([0, 0, 0]);
  });

  it('exit closes (flushes) every file', () => {
    const proc = new FakeProcess();
    const set = new CaptureSet();
    const f = set.open({ path: join(dir, 'x.pcap'), format: 'pcap', interfaceName: 'e0' });
    set.installExitHandlers(proc);
    f.write(1, frameOf(60));
    proc.emit('exit', 0);
    expect(f.capturing).toBe(false);
    expect(statSync(f.path).size).toBe(24 + 16 + 60);
    set.uninstallExitHandlers();
  });

  it('listens to every catchable terminating signal (SIGQUIT and SIGUSR2 included)', () => {
    const proc = new FakeProcess();
    const set = new CaptureSet();
    set.installExitHandlers(proc);
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR2', 'SIGALRM', 'SIGXCPU']) expect(proc.listenerCount(sig), sig).toBe(1);
    set.uninstallExitHandlers();
    expect(proc.listenerCount('SIGQUIT')).toBe(0);
  });

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGQUIT', 131],
    ['SIGUSR2', 140],
  ] as const)('%s closes the files, then re-raises the signal (exit %i as fallback)', (sig, code) => {
    const proc = new FakeProcess();
    const set = new CaptureSet();
    const f = set.open({ path: join(dir, 'x.pcapng'), format: 'pcapng', interfaceName: 'e0' });
    set.installExitHandlers(proc);
    f.write(1, frameOf(60));
    proc.emit(sig, sig);
    expect(f.capturing).toBe(false);
    expect(readBlocks(f.path)).toHaveLength(3);
    expect(proc.listenerCount(sig)).toBe(0); // default action restored before re-raising
    expect(proc.kill).toHaveBeenCalledWith(4242, sig);
    expect(proc.exit).toHaveBeenCalledWith(code);
    set.uninstallExitHandlers();
  });

  it('leaves the exit to another signal listener when there is one', () => {
    const proc = new FakeProcess();
    const other = vi.fn();
    proc.on('SIGINT', other);
    const set = new CaptureSet();
    const f = set.open({ path: join(dir, 'x.pcap'), format: 'pcap', interfaceName: 'e0' });
    set.installExitHandlers(proc);
    proc.emit('SIGINT', 'SIGINT');
    expect(f.capturing).toBe(false);
    expect(other).toHaveBeenCalled();
    expect(proc.kill).not.toHaveBeenCalled();
    expect(proc.exit).not.toHaveBeenCalled();
    set.uninstallExitHandlers();
  });
});

describe('requireTool (system-test gate)', () => {
  const missing = 'eop-no-such-tool-xyz';
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('finds an installed tool', () => {
    expect(requireTool('node')).toBe(true);
  });

  it('missing tool: logs the reason and returns false outside CI', () => {
    vi.stubEnv('CI', '');
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(requireTool(missing)).toBe(false);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining(missing));
  });

  it('missing tool with CI=true throws', () => {
    vi.stubEnv('CI', 'true');
    expect(() => requireTool(missing)).toThrow(/CI=true/);
  });
});
