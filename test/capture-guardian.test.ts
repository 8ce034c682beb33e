/**
 * The capture guardian (a real child process): when the process it guards goes away while a write
 * was torn, it cuts each file back to its last whole record, finds a file that rotation renamed,
 * never touches a newer file at the same name, leaves whole files alone, and removes the process's
 * half-created files. "Goes away" is simulated by closing the guardian's input, which is what the
 * kernel does when the emulator dies (the SIGKILL itself: test/system/capture-sigkill.test.ts).
 * A torn write is simulated by appending a prefix of a record, which is what a write() cut short by
 * SIGKILL leaves (Linux stops the copy between pages).
 */
import { appendFileSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CaptureFile } from '../src/capture/capture-file.js';
import { CaptureGuardian } from '../src/capture/capture-guardian.js';
import { CaptureThread } from '../src/capture/capture-thread.js';
import { readEpbs } from './helpers/pcapng-reader.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'eop-guardian-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const frame = (n: number, seed: number): Uint8Array => {
  const f = new Uint8Array(n);
  for (let i = 0; i < n; i++) f[i] = (i * 7 + seed) & 0xff;
  return f;
};

/** The first `n` bytes of a pcapng EPB of a `capLen`-byte frame: what a torn write leaves. */
function tornEpb(capLen: number, n: number): Buffer {
  const total = 32 + Math.ceil(capLen / 4) * 4;
  const b = Buffer.alloc(n, 0xab);
  b.writeUInt32LE(6, 0);
  b.writeUInt32LE(total, 4);
  return b;
}

/** Classic pcap records of a file (little-endian, as EOP writes them); throws on a torn tail. */
function pcapRecordLengths(path: string): number[] {
  const b = readFileSync(path);
  const out: number[] = [];
  let off = 24;
  while (off < b.length) {
    if (off + 16 > b.length) throw new Error(`${path}: torn record header at ${off}`);
    const cap = b.readUInt32LE(off + 8);
    if (off + 16 + cap > b.length) throw new Error(`${path}: torn record at ${off}`);
    out.push(cap);
    off += 16 + cap;
  }
  return out;
}

describe('capture guardian', () => {
  it('cuts a torn record off a synchronous pcapng file that rotation renamed, keeping every whole record', async () => {
    const guardian = new CaptureGuardian();
    const path = join(dir, 'eop-h1.pcapng');
    const cf = new CaptureFile({ path, format: 'pcapng', interfaceName: 'eop-h1', guardian, bufferBytes: 64 * 1024 });
    // 3 MiB in 64 KiB chunks: the guardian hears marks along the way.
    for (let i = 0; i < 1000; i++) cf.write(i * 1000, frame(3000, i), 'out');
    cf.flush();
    const whole = statSync(path).size;
    expect(readEpbs(path)).toHaveLength(1000);
    appendFileSync(path, tornEpb(1500, 700));
    renameSync(path, `${path}.1`);
    expect(() => readEpbs(`${path}.1`)).toThrow(/torn block/);
    await guardian.stop();
    expect(statSync(`${path}.1`).size).toBe(whole);
    expect(readEpbs(`${path}.1`).map((r) => r.capLen)).toEqual(new Array(1000).fill(3000));
    cf.close();
  });

  it('cuts a torn record header off a pcap file written by the worker thread', async () => {
    const guardian = new CaptureGuardian();
    const thread = new CaptureThread();
    const path = join(dir, 'eop-h2.pcap');
    const cf = new CaptureFile({ path, format: 'pcap', interfaceName: 'eop-h2', guardian, thread });
    for (let i = 0; i < 2000; i++) cf.write(i * 1000, frame(60 + (i % 1400), i), 'in');
    cf.flush();
    thread.drain();
    const whole = statSync(path).size;
    expect(pcapRecordLengths(path)).toHaveLength(2000);
    appendFileSync(path, Buffer.alloc(9, 0x11)); // not even a whole 16-byte record header
    await guardian.stop();
    expect(statSync(path).size).toBe(whole);
    expect(pcapRecordLengths(path)).toHaveLength(2000);
    cf.close();
    thread.terminate();
  });

  it('leaves a whole file, and a newer file at a watched name, untouched; removes only its own half-created files', async () => {
    const guardian = new CaptureGuardian();
    const kept = join(dir, 'kept.pcapng');
    const a = new CaptureFile({ path: kept, format: 'pcapng', interfaceName: 'k', guardian });
    for (let i = 0; i < 10; i++) a.write(i, frame(100, i), 'out');
    a.flush();
    const keptBytes = readFileSync(kept);

    const replaced = join(dir, 'replaced.pcapng');
    const b = new CaptureFile({ path: replaced, format: 'pcapng', interfaceName: 'r', guardian });
    b.write(1, frame(100, 1), 'out');
    b.flush();
    // Another file takes the name (a new run): its bytes, torn-looking or not, are not ours.
    const foreign = Buffer.concat([readFileSync(replaced), tornEpb(100, 40)]);
    rmSync(replaced);
    writeFileSync(replaced, foreign);

    const ours = join(dir, `.kept.pcapng.${process.pid}.0123456789ab.tmp`);
    const theirs = join(dir, `.kept.pcapng.${process.pid + 1}.0123456789ab.tmp`);
    writeFileSync(ours, '');
    writeFileSync(theirs, '');
    await guardian.stop();
    expect(readFileSync(kept).equals(keptBytes)).toBe(true);
    expect(readFileSync(replaced).equals(foreign)).toBe(true);
    expect(existsSync(ours)).toBe(false);
    expect(existsSync(theirs)).toBe(true);
    a.close();
    b.close();
  });

  it('a file closed normally is forgotten: nothing to repair, and the guardian exits when its input ends', async () => {
    const guardian = new CaptureGuardian();
    const path = join(dir, 'done.pcapng');
    const cf = new CaptureFile({ path, format: 'pcapng', interfaceName: 'd', guardian });
    cf.write(1, frame(64, 1), 'out');
    cf.close();
    // Bytes appended after the close are someone else's business (e.g. a tool merging files).
    appendFileSync(path, tornEpb(64, 20));
    const size = statSync(path).size;
    expect(guardian.pid).toBeGreaterThan(0);
    await guardian.stop();
    expect(statSync(path).size).toBe(size);
    expect(guardian.problem).toBe('capture guardian stopped');
  });
});
