/**
 * Capture writes off the event loop: one worker thread does the write() system calls for every
 * capture file that uses this `CaptureThread`, so a slow disk never stalls frames (live mode).
 *
 * Rules, and why:
 * - The event loop still encodes each record (a frame view is valid only during its callback, so the
 *   copy has to happen there), into chunks of a bounded pool owned by the file; full chunks are
 *   *transferred* (no copy) to the worker, which writes them and transfers them back. The pool's
 *   bound is the back-pressure: with every chunk in flight, the file drops and counts frames.
 * - Files are opened, rotated, renamed and closed on the event loop (rare, and the safety checks of
 *   safe-file.ts live there); the worker only appends to fds it is told about, deletes the file a
 *   rotation dropped (after the loop renamed it to a private name: an unlink of 64 MiB takes 5–20 ms), and says when it is
 *   done with one (the close reply comes after its last chunk). A failed write cuts the file back to its last whole record (a torn
 *   record makes some tools reject the whole file) and fails every later chunk for that fd.
 * - `drain()` blocks (Atomics.wait on a shared counter) until the worker processed everything posted,
 *   then takes its replies synchronously (receiveMessageOnPort): close() still leaves complete files
 *   from signal and `exit` handlers, where asynchronous work would never finish.
 * - The worker source is a plain string evaluated by the worker (`eval: true`): the same code runs
 *   from the TypeScript sources under the test runner and from the compiled CLI.
 * - Thread and port are unref'd: an idle capture never keeps the process alive.
 */
import { closeSync, rmSync } from 'node:fs';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { GuardedFile } from './capture-guardian.js';

/** What the worker says about each chunk (and each close). */
export interface ChunkReply {
  /** The registration (`open()`'s return), not the fd: fd numbers are reused after a close. */
  id: number;
  /** The chunk, back for reuse (absent for close replies). */
  buf?: ArrayBuffer;
  frames: number;
  bytes: number;
  ok: boolean;
  /** The I/O error, on the first failure for this fd only. */
  error?: string;
  /** The thread itself is gone: every chunk still in flight is lost. */
  threadLost?: boolean;
  /** Write replies: bytes of this fd on disk after this chunk (a record boundary). */
  committed?: number;
}

export type ChunkListener = (r: ChunkReply) => void;

const WORKER_SOURCE = `
'use strict';
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const port = workerData.port;
const processed = new Int32Array(workerData.counter);
const files = new Map();
function writeAll(fd, b, len) {
  let off = 0;
  while (off < len) off += fs.writeSync(fd, b, off, len - off);
}
function handle(m) {
  if (m.op === 'open') {
    files.set(m.id, { fd: m.fd, committed: m.committed, failed: false });
    return null;
  }
  if (m.op === 'write') {
    const f = files.get(m.id);
    const r = { id: m.id, buf: m.buf, frames: m.frames, bytes: m.len, ok: false };
    if (!f || f.failed) return r;
    try {
      writeAll(f.fd, new Uint8Array(m.buf, 0, m.len), m.len);
      f.committed += m.len;
      r.ok = true;
      r.committed = f.committed;
    } catch (e) {
      f.failed = true;
      r.error = String(e && e.message ? e.message : e);
      try { fs.ftruncateSync(f.fd, f.committed); } catch (e2) { /* the failing disk may refuse this too */ }
    }
    return r;
  }
  if (m.op === 'unlink') {
    // A file rotation deleted (renamed out of the way first): freeing a 64 MiB file's pages takes
    // milliseconds, which the event loop does not wait for. Gone already is fine.
    try { fs.rmSync(m.path, { force: true }); } catch (e) { /* the guardian removes it at exit */ }
    return null;
  }
  if (m.op === 'close') {
    // The fd was opened by the main thread, which closes it on this reply (Node warns when a
    // worker closes an fd it did not open).
    files.delete(m.id);
    return { id: m.id, frames: 0, bytes: 0, ok: true };
  }
  return null;
}
port.on('message', (m) => {
  let r = null;
  try {
    r = handle(m);
  } finally {
    if (r) port.postMessage(r, r.buf ? [r.buf] : []);
    Atomics.add(processed, 0, 1);
    Atomics.notify(processed, 0);
  }
});
`;

/** How long close() waits for the disk before giving up on the rest (a hung NFS mount…). */
const DRAIN_TIMEOUT_MS = 10_000;

export class CaptureThread {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly processed: Int32Array;
  private posted = 0;
  private readonly listeners = new Map<number, ChunkListener>();
  /** fd of each registration: closed here once the worker is done with it. */
  private readonly fds = new Map<number, number>();
  /** The crash guardian's view of each registration (told what is on disk, and when it is closed). */
  private readonly guards = new Map<number, GuardedFile>();
  private nextId = 1;
  private dead: string | null = null;

  constructor() {
    const { port1, port2 } = new MessageChannel();
    const counter = new SharedArrayBuffer(4);
    this.processed = new Int32Array(counter);
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { port: port2, counter }, transferList: [port2] });
    this.worker.unref();
    this.worker.on('error', (e) => this.die(`capture writer thread failed: ${e.message}`));
    this.port = port1;
    this.port.on('message', (m: ChunkReply) => this.deliver(m));
    this.port.unref();
  }

  /**
   * Starts writing chunks to `fd` (whose first `committedBytes` are already on disk); the thread
   * owns the fd from now on and closes it on `close(id)`. Returns the id to write with. `guard`, if
   * given, hears how far the file is whole after each write, and when it is closed.
   */
  open(fd: number, committedBytes: number, listener: ChunkListener, guard?: GuardedFile): number {
    const id = this.nextId++;
    this.listeners.set(id, listener);
    this.fds.set(id, fd);
    if (guard) this.guards.set(id, guard);
    this.post({ op: 'open', id, fd, committed: committedBytes });
    return id;
  }

  /** Hands bytes [0, len) of `buf` (ownership moves to the worker until the reply) to be appended. */
  write(id: number, buf: ArrayBuffer, len: number, frames: number): void {
    if (this.dead) {
      this.listeners.get(id)?.({ id, buf, frames, bytes: len, ok: false });
      return;
    }
    this.post({ op: 'write', id, buf, len, frames }, [buf]);
  }

  /**
   * Deletes `path` on the thread (a file rotation dropped: unlinking a big file blocks for
   * milliseconds). Name it so the guardian would remove it too (safe-file.ts' tmpNameFor).
   */
  unlink(path: string): void {
    if (this.dead) {
      rmSync(path, { force: true });
      return;
    }
    this.post({ op: 'unlink', path });
  }

  /** Closes the file after every chunk written to it so far. */
  close(id: number): void {
    if (this.dead) {
      this.listeners.delete(id);
      this.closeFd(id);
      return;
    }
    this.post({ op: 'close', id });
  }

  /**
   * Blocks until the worker has handled every message posted so far, then delivers its replies.
   * False if it did not finish within `timeoutMs`.
   */
  drain(timeoutMs = DRAIN_TIMEOUT_MS): boolean {
    const deadline = Date.now() + timeoutMs;
    let ok = true;
    while (!this.dead) {
      const done = Atomics.load(this.processed, 0);
      if (done >= this.posted) break;
      const left = deadline - Date.now();
      if (left <= 0) {
        ok = false;
        break;
      }
      Atomics.wait(this.processed, 0, done, left);
    }
    for (let m = receiveMessageOnPort(this.port); m; m = receiveMessageOnPort(this.port)) this.deliver(m.message as ChunkReply);
    return ok;
  }

  /** Drains, then ends the thread (closing any fd still registered). */
  terminate(): void {
    this.drain();
    for (const id of [...this.fds.keys()]) this.closeFd(id);
    void this.worker.terminate();
  }

  private post(m: object, transfer: ArrayBuffer[] = []): void {
    if (this.dead) return;
    this.posted++;
    this.port.postMessage(m, transfer);
  }

  private deliver(r: ChunkReply): void {
    const l = this.listeners.get(r.id);
    if (r.buf === undefined && !r.threadLost) {
      // close reply: the worker has written everything for this fd
      this.listeners.delete(r.id);
      const err = this.closeFd(r.id);
      if (err) l?.({ ...r, ok: false, error: err });
      return;
    }
    if (r.committed !== undefined) this.guards.get(r.id)?.mark(r.committed);
    l?.(r);
  }

  /** Closes the fd of a registration; returns the error message, if any. */
  private closeFd(id: number): string | undefined {
    const fd = this.fds.get(id);
    this.fds.delete(id);
    const guard = this.guards.get(id);
    this.guards.delete(id);
    if (fd === undefined) return undefined;
    try {
      closeSync(fd);
      guard?.forget();
      return undefined;
    } catch (e) {
      return `close failed: ${e instanceof Error ? e.message : String(e)}`;
    }
  }

  private die(msg: string): void {
    if (this.dead) return;
    this.dead = msg;
    // Chunks the thread held are lost with it: each file hears about it once and stops.
    for (const [id, l] of this.listeners) l({ id, frames: 0, bytes: 0, ok: false, error: msg, threadLost: true });
  }
}
