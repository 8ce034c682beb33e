/**
 * Capture files on a hostile machine (issue 8, item 2): a capture never writes through a planted
 * symlink, never truncates or replaces a file that is not ours, refuses a directory others can write
 * (unless sticky and ours), and a second run replaces the first run's files instead of mixing with them.
 */
import { chmodSync, chownSync, closeSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CaptureFile } from '../src/capture/capture-file.js';
import { createCaptureFile } from '../src/capture/safe-file.js';
import { main } from '../src/cli/main.js';
import { ErrorCode } from '../src/errors.js';
import { readEpbs } from './helpers/pcapng-reader.js';

const isRoot = process.geteuid?.() === 0;
const SECRET = 'root:secret-bytes-that-must-survive\n';

let dir: string;
let capDir: string;
let target: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'eop-capsafe-'));
  capDir = join(dir, 'captures');
  mkdirSync(capDir, { mode: 0o755 });
  chmodSync(capDir, 0o755);
  target = join(dir, 'target');
  writeFileSync(target, SECRET);
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const frame = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);
const open = (extra: Partial<ConstructorParameters<typeof CaptureFile>[0]> = {}): CaptureFile =>
  new CaptureFile({ path: join(capDir, 'eop-h1.pcapng'), format: 'pcapng', interfaceName: 'eop-h1', ...extra });

describe('planted symlinks', () => {
  it('captures/eop-h1.pcapng -> target: refused with ERR_CAPTURE_UNSAFE naming the link; the target is untouched', () => {
    symlinkSync(target, join(capDir, 'eop-h1.pcapng'));
    expect(() => open()).toThrow(
      expect.objectContaining({ code: ErrorCode.CAPTURE_UNSAFE, message: expect.stringMatching(/eop-h1\.pcapng is a symbolic link/) }),
    );
    expect(readFileSync(target, 'utf8')).toBe(SECRET);
    expect(lstatSync(join(capDir, 'eop-h1.pcapng')).isSymbolicLink()).toBe(true);
  });

  it('a link to a missing target (would be created through) is refused too, and nothing is created', () => {
    const ghost = join(dir, 'ghost');
    symlinkSync(ghost, join(capDir, 'eop-h1.pcapng'));
    expect(() => open()).toThrow(expect.objectContaining({ code: ErrorCode.CAPTURE_UNSAFE }));
    expect(existsSync(ghost)).toBe(false);
  });

  it('a planted rotated sibling link (eop-h1.pcapng.2 -> target) is refused at start', () => {
    symlinkSync(target, join(capDir, 'eop-h1.pcapng.2'));
    expect(() => open()).toThrow(expect.objectContaining({ code: ErrorCode.CAPTURE_UNSAFE, message: expect.stringContaining('eop-h1.pcapng.2') }));
    expect(readFileSync(target, 'utf8')).toBe(SECRET);
  });

  it('a link planted after the checks (the race) is replaced by the new file, never written through', () => {
    const path = join(capDir, 'race.pcapng');
    symlinkSync(target, path);
    const fd = createCaptureFile(path, new Uint8Array([1, 2, 3, 4]));
    expect(readFileSync(target, 'utf8')).toBe(SECRET);
    expect(lstatSync(path).isFile()).toBe(true);
    expect([...readFileSync(path)]).toEqual([1, 2, 3, 4]);
    expect(readdirSync(capDir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    closeSync(fd);
  });

  it('rotation onto links planted during the run replaces the links; the target is untouched', () => {
    const cf = open({ maxFileBytes: 600, maxFiles: 3 });
    symlinkSync(target, join(capDir, 'eop-h1.pcapng.1'));
    symlinkSync(target, join(capDir, 'eop-h1.pcapng.2'));
    for (let i = 0; i < 40; i++) cf.write(i, frame(100, i));
    cf.close();
    expect(cf.lastError).toBeUndefined();
    expect(readFileSync(target, 'utf8')).toBe(SECRET);
    for (const n of ['eop-h1.pcapng', 'eop-h1.pcapng.1', 'eop-h1.pcapng.2']) expect(lstatSync(join(capDir, n)).isFile()).toBe(true);
  });
});

describe('the capture directory', () => {
  it('world-writable without the sticky bit: refused, saying why', () => {
    chmodSync(capDir, 0o777);
    expect(() => open()).toThrow(
      expect.objectContaining({
        code: ErrorCode.CAPTURE_UNSAFE,
        message: expect.stringMatching(/captures is writable by every user \(mode 0777\) without the sticky bit: .*plant a symlink/),
      }),
    );
    expect(readdirSync(capDir)).toEqual([]);
  });

  it('group-writable: refused', () => {
    chmodSync(capDir, 0o775);
    expect(() => open()).toThrow(expect.objectContaining({ code: ErrorCode.CAPTURE_UNSAFE, message: expect.stringContaining('writable by its group') }));
  });

  it('world-writable, sticky and ours (a private /tmp): accepted', () => {
    chmodSync(capDir, 0o1777);
    const cf = open();
    cf.write(1, frame(60, 1));
    cf.close();
    expect(readEpbs(cf.path)).toHaveLength(1);
  });

  it.runIf(isRoot)('world-writable and sticky but owned by another user: refused', () => {
    chmodSync(capDir, 0o1777);
    chownSync(capDir, 65534, 65534);
    expect(() => open()).toThrow(expect.objectContaining({ code: ErrorCode.CAPTURE_UNSAFE, message: expect.stringContaining('owned by another user') }));
  });

  it('a missing directory is created (mode from the umask, not writable by others)', () => {
    const cf = new CaptureFile({ path: join(dir, 'new', 'sub', 'x.pcapng'), format: 'pcapng', interfaceName: 'e0' });
    cf.close();
    expect(lstatSync(join(dir, 'new', 'sub')).mode & 0o002).toBe(0);
  });
});

describe('files already there', () => {
  it("an earlier run's file and rotated siblings are replaced, never written into: the new file holds only the new run", () => {
    const first = open({ maxFileBytes: 600, maxFiles: 4 });
    for (let i = 0; i < 30; i++) first.write(i, frame(100, 1));
    first.close();
    expect(existsSync(join(capDir, 'eop-h1.pcapng.3'))).toBe(true);
    // A hard link to the first run's file (as a user might keep one) keeps its bytes: nothing truncated it.
    const kept = join(dir, 'kept.pcapng');
    linkSync(first.path, kept);
    const keptBytes = readFileSync(kept);

    const second = open({ maxFileBytes: 600, maxFiles: 4 });
    second.write(1000, frame(80, 2));
    second.close();
    expect(readdirSync(capDir).sort()).toEqual(['eop-h1.pcapng']);
    const recs = readEpbs(second.path);
    expect(recs.map((r) => [r.tsNs, r.capLen])).toEqual([[1000n, 80]]);
    expect(readFileSync(kept).equals(keptBytes)).toBe(true);
  });

  it.runIf(isRoot)("a regular file owned by another user is refused, not replaced", () => {
    const p = join(capDir, 'eop-h1.pcapng');
    writeFileSync(p, 'theirs');
    chownSync(p, 65534, 65534);
    expect(() => open()).toThrow(expect.objectContaining({ code: ErrorCode.CAPTURE_UNSAFE, message: expect.stringContaining('belongs to another user (uid 65534)') }));
    expect(readFileSync(p, 'utf8')).toBe('theirs');
  });

  it('a directory at the capture name is refused', () => {
    mkdirSync(join(capDir, 'eop-h1.pcapng'));
    expect(() => open()).toThrow(expect.objectContaining({ code: ErrorCode.CAPTURE_UNSAFE, message: expect.stringContaining('not a regular file') }));
  });

  it('other files in the directory are left alone', () => {
    writeFileSync(join(capDir, 'eop-h1.pcapng.old'), 'x');
    writeFileSync(join(capDir, 'eop-h10.pcapng.1'), 'y');
    open().close();
    expect(readdirSync(capDir).sort()).toEqual(['eop-h1.pcapng', 'eop-h1.pcapng.old', 'eop-h10.pcapng.1']);
  });
});

describe('eop run with a planted link in its capture directory', () => {
  it('exits 1 naming the link before any frame runs; the target is untouched; no capture file is left half-made', async () => {
    symlinkSync(target, join(capDir, 'eop-h2.pcapng'));
    let err = '';
    let out = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((c) => ((err += String(c)), true));
    vi.spyOn(process.stdout, 'write').mockImplementation((c) => ((out += String(c)), true));
    try {
      expect(await main(['node', 'eop', 'run', '--capture-dir', capDir])).toBe(1);
    } finally {
      vi.restoreAllMocks();
    }
    expect(err).toMatch(/^eop: .*eop-h2\.pcapng is a symbolic link; a capture never writes through links/m);
    expect(out).toBe('');
    expect(readFileSync(target, 'utf8')).toBe(SECRET);
    expect(readdirSync(capDir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});
