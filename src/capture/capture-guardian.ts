/**
 * Crash safety of capture files: a small process that outlives the emulator and, when the emulator
 * dies however it dies (SIGKILL included), cuts each open capture file back to its last whole record.
 *
 * Why a torn record can happen at all: a capture writes many records per write() (a 256 KiB or 1 MiB
 * chunk). Linux copies a write into the page cache page by page and checks for a fatal signal
 * between pages (generic_perform_write): a SIGKILL that lands inside the write ends it short, and the
 * file keeps a prefix of the chunk, usually ending inside a record. Nothing in the dying process can
 * fix that (no handler runs on SIGKILL), and no write discipline avoids it for records longer than a
 * page (a 64 KiB frame's record spans 17 pages, and a multi-write record can be cut between writes).
 * So the repair is done from outside, by a process that is still alive afterwards.
 *
 * How, and why it holds:
 * - One guardian per emulator process, spawned (detached, its own session: Ctrl-C and a kill of the
 *   emulator's process group do not reach it) when the first capture file is opened. It reads lines
 *   on its stdin, a socket whose only writer is the emulator; it holds no capture fd.
 * - The emulator tells it `watch` (path, device and inode of a new file, and its header length: a
 *   record boundary), `mark` (a larger boundary, sent after the bytes before it were written, so
 *   everything before a mark is whole) and `forget` (the file was closed after its last write).
 *   Marks are sent about every 4 MiB: the repair then reads at most that much plus what was in flight.
 * - When the emulator dies, the kernel closes the socket after every thread of the emulator has left
 *   its system calls, so no write is in progress any more: the guardian reads EOF, and for each
 *   watched file finds it (at its path or a rotated `path.N`, recognised by device and inode only, so a
 *   newer file at that name is never touched), walks the records from the last boundary using their
 *   own length fields, and truncates the file at the first record that does not end inside the file.
 *   Every record written whole before the kill stays; only the torn tail goes. Then it removes the
 *   emulator's half-created files (`.name.<pid>.<hex>.tmp`, see safe-file.ts) and exits.
 * - A line cut short by the kill is ignored (each message is one JSON line). Marks are skipped when
 *   the guardian is not reading (its socket backs up past 1 MiB): an older boundary is still a
 *   boundary, the repair only reads more.
 * - Normal exit is the same path with nothing to cut (every file was forgotten or is whole).
 * - If the guardian cannot start, captures go on unprotected (`problem` says why); the emulator never
 *   waits for it.
 * The guardian's source is a string run with `node -e` (like capture-thread.ts's worker): the same
 * code runs from the TypeScript sources under the test runner and from the compiled CLI.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fstatSync } from 'node:fs';
import { MiB, type Bytes } from '../time/units.js';

/** The guardian's process title (ps, /proc/PID/comm shows its first 15 characters). */
export const GUARDIAN_TITLE = 'eop-capture-guardian';

/**
 * A mark is sent once the boundary moved this far (bounds what the repair has to read). Each mark
 * is a write that wakes the guardian (a context switch on a busy machine): 1 MiB was 3 % of the event
 * loop's busy time in a captures-on TCP run; reading 4 MiB once after a crash costs nothing.
 */
const MARK_EVERY_BYTES: Bytes = 4 * MiB;
/** Marks are skipped while this much is waiting for the guardian to read it. */
const MAX_UNREAD_BYTES: Bytes = 1 * MiB;

const GUARDIAN_SOURCE = `
'use strict';
const fs = require('node:fs');
const path = require('node:path');
process.title = ${JSON.stringify(GUARDIAN_TITLE)};
// Only the end of its input ends it: signals meant for the emulator's terminal or group are ignored.
for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2']) process.on(s, () => {});
const parentPid = process.argv[1];
const files = new Map();
// Every directory a file was ever watched in: a rotation's half-created file can be the only one.
const dirs = new Set();
let text = '';
function handle(line) {
  let m;
  try { m = JSON.parse(line); } catch { return; }
  if (m.op === 'watch') {
    files.set(m.id, { path: m.path, dev: m.dev, ino: m.ino, boundary: m.boundary });
    dirs.add(path.dirname(m.path));
  }
  else if (m.op === 'mark') { const f = files.get(m.id); if (f && m.boundary > f.boundary) f.boundary = m.boundary; }
  else if (m.op === 'forget') files.delete(m.id);
}
function openSame(f) {
  const dir = path.dirname(f.path);
  const base = path.basename(f.path);
  let names = [];
  try { names = fs.readdirSync(dir).filter((n) => n === base || (n.startsWith(base + '.') && /^\\d{1,6}$/.test(n.slice(base.length + 1)))); } catch { return -1; }
  for (const n of names) {
    let fd = -1;
    try {
      fd = fs.openSync(path.join(dir, n), fs.constants.O_RDWR | fs.constants.O_NOFOLLOW);
      const st = fs.fstatSync(fd, { bigint: true });
      if (st.isFile() && String(st.dev) === f.dev && String(st.ino) === f.ino) return fd;
    } catch { /* gone or not ours: try the next name */ }
    if (fd >= 0) fs.closeSync(fd);
  }
  return -1;
}
// Length of the record at pos from its own header, or 0 when the bytes there are no record start.
function recordBytes(fd, fmt, pos, size) {
  const need = fmt.ng ? 8 : 16;
  if (size - pos < need) return 0;
  const h = Buffer.alloc(need);
  if (fs.readSync(fd, h, 0, need, pos) !== need) return 0;
  if (fmt.ng) {
    const n = fmt.le ? h.readUInt32LE(4) : h.readUInt32BE(4);
    return n >= 12 && n % 4 === 0 ? n : 0;
  }
  return 16 + (fmt.le ? h.readUInt32LE(8) : h.readUInt32BE(8));
}
function formatOf(fd) {
  const h = Buffer.alloc(12);
  if (fs.readSync(fd, h, 0, 12, 0) !== 12) return null;
  if (h.readUInt32LE(0) === 0x0a0d0d0a) return { ng: true, le: h.readUInt32LE(8) === 0x1a2b3c4d };
  const le = h.readUInt32LE(0);
  if (le === 0xa1b2c3d4 || le === 0xa1b23c4d) return { ng: false, le: true };
  const be = h.readUInt32BE(0);
  if (be === 0xa1b2c3d4 || be === 0xa1b23c4d) return { ng: false, le: false };
  return null;
}
function repair(f) {
  const fd = openSame(f);
  if (fd < 0) return;
  try {
    const size = Number(fs.fstatSync(fd).size);
    const fmt = formatOf(fd);
    if (!fmt || size <= f.boundary) return;
    let pos = f.boundary;
    for (;;) {
      const n = recordBytes(fd, fmt, pos, size);
      if (n === 0 || pos + n > size) break;
      pos += n;
    }
    if (pos < size) fs.ftruncateSync(fd, pos);
  } catch { /* a file we cannot repair stays as it is */ } finally {
    fs.closeSync(fd);
  }
}
function removeHalfCreated() {
  const re = new RegExp('^\\\\..+\\\\.' + parentPid + '\\\\.[0-9a-f]{12}\\\\.tmp$');
  for (const dir of dirs) {
    let names = [];
    try { names = fs.readdirSync(dir); } catch { continue; }
    for (const n of names) {
      if (!re.test(n)) continue;
      try {
        const p = path.join(dir, n);
        const st = fs.lstatSync(p);
        if (st.isFile() && (process.geteuid === undefined || st.uid === process.geteuid())) fs.unlinkSync(p);
      } catch { /* gone already */ }
    }
  }
}
let finished = false;
function finish() {
  if (finished) return;
  finished = true;
  for (const f of files.values()) repair(f);
  removeHalfCreated();
  process.exit(0);
}
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  text += d;
  let i;
  while ((i = text.indexOf('\\n')) >= 0) { handle(text.slice(0, i)); text = text.slice(i + 1); }
});
process.stdin.on('end', finish);
process.stdin.on('error', finish);
process.stdin.on('close', finish);
`;

/** One watched file: the writer reports its progress through it. */
export interface GuardedFile {
  /** Every byte before `committedBytes` is on disk (in the page cache) and ends on a record boundary. */
  mark(committedBytes: Bytes): void;
  /** The file was closed after its last write: nothing to repair any more. */
  forget(): void;
}

const NOT_GUARDED: GuardedFile = { mark: () => {}, forget: () => {} };

export class CaptureGuardian {
  private child: ChildProcess | null = null;
  private nextId = 1;
  /** Why files are not protected (the guardian could not start or died), if so. */
  problem: string | undefined;

  private static shared: CaptureGuardian | undefined;

  /** The process's guardian (one per process, however many capture sets). */
  static forProcess(): CaptureGuardian {
    CaptureGuardian.shared ??= new CaptureGuardian();
    return CaptureGuardian.shared;
  }

  /** The guardian's pid once it was started (tests wait for it). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts guarding the file open at `fd` (named `path`), whose first `boundaryBytes` are whole. */
  watch(path: string, fd: number, boundaryBytes: Bytes): GuardedFile {
    if (!this.start()) return NOT_GUARDED;
    let dev: string;
    let ino: string;
    try {
      const st = fstatSync(fd, { bigint: true });
      dev = String(st.dev);
      ino = String(st.ino);
    } catch (e) {
      this.problem ??= `capture guardian: cannot stat ${path}: ${e instanceof Error ? e.message : String(e)}`;
      return NOT_GUARDED;
    }
    const id = this.nextId++;
    if (!this.send({ op: 'watch', id, path, dev, ino, boundary: boundaryBytes }, true)) return NOT_GUARDED;
    let marked = boundaryBytes;
    let gone = false;
    return {
      mark: (committed) => {
        if (gone || committed - marked < MARK_EVERY_BYTES) return;
        if (this.send({ op: 'mark', id, boundary: committed }, false)) marked = committed;
      },
      forget: () => {
        if (gone) return;
        gone = true;
        this.send({ op: 'forget', id }, true);
      },
    };
  }

  /**
   * Ends the guardian as the emulator's death would: it repairs what it watches and exits; resolves
   * then (at once if it was not running).
   */
  stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    this.problem ??= 'capture guardian stopped';
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.stdin?.end();
    return exited;
  }

  private start(): boolean {
    if (this.child) return true;
    if (this.problem) return false;
    try {
      const child = spawn(process.execPath, ['-e', GUARDIAN_SOURCE, String(process.pid)], {
        detached: true,
        stdio: ['pipe', 'ignore', 'ignore'],
        // Options meant for the emulator (e.g. --max-old-space-size, loaders) are not the guardian's.
        env: { ...process.env, NODE_OPTIONS: '' },
      });
      child.on('error', (e) => this.lost(`capture guardian failed: ${e.message}`));
      child.on('exit', (code, sig) => this.lost(`capture guardian exited (${sig ?? code})`));
      child.stdin!.on('error', (e) => this.lost(`capture guardian unreachable: ${e.message}`));
      child.unref();
      (child.stdin as unknown as { unref?: () => void }).unref?.();
      this.child = child;
      return true;
    } catch (e) {
      this.problem = `capture guardian could not start: ${e instanceof Error ? e.message : String(e)}`;
      return false;
    }
  }

  private lost(why: string): void {
    if (this.child === null) return;
    this.problem ??= `${why}: capture files are no longer repaired after a crash`;
    this.child = null;
  }

  private send(m: object, always: boolean): boolean {
    const stdin = this.child?.stdin;
    if (!stdin || stdin.destroyed) return false;
    if (!always && stdin.writableLength > MAX_UNREAD_BYTES) return false;
    stdin.write(JSON.stringify(m) + '\n');
    return true;
  }
}
