/**
 * The capture writer the emulator uses: one file (plus rotated siblings) per captured interface.
 *
 * Rules, and why:
 * - `write()` runs per frame (up to ~1M/s), so it encodes the record straight into a preallocated
 *   chunk (copying the frame: callers reuse their frame views) and hands the chunk on only when it is
 *   full or on `flush()`.
 * - Two ways to write a chunk. Synchronous (default; `eop run`, virtual time, where nothing may be
 *   lost): fs calls on the caller's thread. Threaded (`thread`: a CaptureThread; live mode): chunks go
 *   to a worker thread and come back for reuse, so a slow disk never blocks frames; the chunk pool
 *   (`bufferBytes`) is the bound, and a frame arriving with every chunk in flight is dropped and
 *   counted (`queueFullFrames`). Either way `close()` returns with everything on disk (it waits for
 *   the thread), so it works inside `process.on('exit')` and signal handlers.
 * - Files are created by safe-file.ts: never through a symlink, never into another user's file, in a
 *   directory others cannot write; a new capture replaces the earlier run's file of the same name and
 *   removes its rotated siblings, so one run's files never mix with another's. The header(s) are
 *   written at creation, so even an empty capture is a valid file.
 * - Opening errors throw `EopError` (CAPTURE_IO, or CAPTURE_UNSAFE for a refused directory or name).
 *   After that, I/O errors never throw out of `write()`/`flush()`/`close()`: a full disk must not
 *   crash the emulation. The writer stops, counts what it loses as drops, keeps the message in
 *   `lastError` and calls `onError` once.
 * - Size cap: a record that would push the current file past `maxFileBytes` first rotates logrotate
 *   style (path.N-1 deleted, path.k -> path.k+1, path -> path.1, new path with fresh headers), so every
 *   file opens on its own and the newest frames are always in `path`. The frames in the deleted file
 *   are counted (`rotatedOutFrames`): frames captured = frames in the surviving files + rotated out
 *   (+ frames of in-flight chunks lost to an I/O error, which move from `frames` to `droppedFrames`).
 *   With maxFiles 0/1 there is no rotation: the file stops growing when full and later frames are
 *   counted as drops. A single record larger than the cap is still written into an otherwise empty file.
 * - Frames longer than `snaplenBytes` are cut in the file; the record keeps the real length (orig_len).
 * - Timestamps: the caller's ns clock (`timeNs`, virtual time) plus `timeOriginNs` (a bigint, e.g. the
 *   Unix epoch ns of virtual time 0 in live mode), written as exact integer ns (see TimeOrigin).
 */
import { closeSync, ftruncateSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { EopError, ErrorCode } from '../errors.js';
import { MiB, type Bytes, type Ns } from '../time/units.js';
import type { CaptureGuardian, GuardedFile } from './capture-guardian.js';
import type { CaptureThread, ChunkReply } from './capture-thread.js';
import {
  DEFAULT_SNAPLEN,
  PCAP_RECORD_HEADER_BYTES,
  ZERO_ORIGIN,
  encodePcapGlobalHeader,
  timeOriginFromNs,
  writePcapRecordHeader,
  type TimeOrigin,
} from './pcap-format.js';
import {
  EPB_FLAG_INBOUND,
  EPB_FLAG_OUTBOUND,
  HOST_IS_LE,
  encodeInterfaceDescriptionBlock,
  encodeSectionHeaderBlock,
  MAX_COMMENT_BYTES,
  commentBytes,
  epbBytes,
  writeEpbHeader,
  writeEpbHeaderLE32,
  writeEpbTrailer,
  writeEpbTrailerLE32,
} from './pcapng-format.js';
import { clearEarlierRun, createCaptureFile, prepareCaptureDir, tmpNameFor, writeAll } from './safe-file.js';

export type CaptureFormat = 'pcap' | 'pcapng';
export type CaptureDirection = 'in' | 'out';

export interface CaptureOptions {
  /** e.g. captures/h1-eop0.pcapng; parent directories are created. */
  path: string;
  format: CaptureFormat;
  /** Goes into the pcapng IDB `if_name` (ignored by classic pcap, which has no such field). */
  interfaceName: string;
  /** pcapng IDB `if_description`. */
  description?: string;
  /** Default 262144; longer frames are truncated in the file with orig_len kept. */
  snaplenBytes?: Bytes;
  /** Size cap per file (headers included); default 64 MiB. */
  maxFileBytes?: Bytes;
  /** Files kept: path, path.1 … path.(maxFiles-1); default 4. 0/1 = single file, stop when full. */
  maxFiles?: number;
  /** Memory for records not yet on disk; default 1 MiB (synchronous) or 8 MiB (threaded). */
  bufferBytes?: Bytes;
  /** Write chunks from this worker thread instead of the caller's thread. */
  thread?: CaptureThread;
  /** Cuts the file back to its last whole record if the process dies mid-write (capture-guardian.ts). */
  guardian?: CaptureGuardian;
  /** What timeNs 0 stands for, in ns (e.g. Unix epoch ns); default 0. */
  timeOriginNs?: bigint;
  /** Called once, with a sentence, when an I/O error stops the capture. */
  onError?: (message: string) => void;
  /** Called when the first record goes into an empty buffer: a flush is due (CaptureSet's timer). */
  onBuffered?: () => void;
}

export interface CaptureStats {
  /** Frames accepted into the capture (buffered or written). */
  frames: number;
  /** Bytes emitted to capture files, headers and record framing included. */
  bytes: Bytes;
  /** Files opened so far (1 + rotations). */
  files: number;
  /** Frames not captured: single file full, writer busy, after an I/O error, or after close(). */
  droppedFrames: number;
  /** Of droppedFrames: every chunk was still with the writer thread (disk slower than the frames). */
  queueFullFrames: number;
  /** Frames captured, then deleted with the oldest file by rotation. */
  rotatedOutFrames: number;
  /** Frames cut to snaplen. */
  truncatedFrames: number;
  /** Message of the I/O error that stopped the capture, if any. */
  lastError?: string;
}

export const DEFAULT_MAX_FILE_BYTES: Bytes = 64 * MiB;
export const DEFAULT_MAX_FILES = 4;
export const DEFAULT_BUFFER_BYTES: Bytes = 1 * MiB;
/** Threaded: 8 chunks of 1 MiB, ~8 ms of a 1 GB/s capture stream while the disk hiccups. */
export const DEFAULT_THREAD_BUFFER_BYTES: Bytes = 8 * MiB;
/**
 * Each chunk handed over wakes the writer thread and its reply wakes the event loop; on a busy
 * machine every wake-up is a context switch. With 256 KiB chunks the hand-over (postMessage) was
 * 10 % of the event loop's busy time in a captures-on TCP run at MTU 1500. 1 MiB chunks are handed
 * over a quarter as often under load (full chunks; the once-a-second flush sends partial ones); the
 * cost per hand-over was not re-measured.
 */
const THREAD_CHUNK_BYTES: Bytes = 1 * MiB;
/** Smallest chunk: must hold any record's head and tail (EPB: 28 + 3 + 12 + 4). */
const MIN_CHUNK_BYTES: Bytes = 256;

function errMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function checkInt(name: string, v: number | undefined, min: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isSafeInteger(v) || v < min) {
    throw new EopError(ErrorCode.CONFIG_INVALID, `capture option ${name} must be an integer >= ${min}, got ${v}`);
  }
  return v;
}

export class CaptureFile {
  readonly path: string;
  readonly format: CaptureFormat;
  readonly interfaceName: string;
  readonly snaplen: Bytes;
  readonly maxFileBytes: Bytes;
  readonly maxFiles: number;

  private readonly ng: boolean;
  private readonly header: Uint8Array;
  private origin: TimeOrigin;
  private readonly thread: CaptureThread | null;
  private readonly guardian: CaptureGuardian | null;
  /** The guardian's view of the current file (synchronous mode reports to it here). */
  private guard: GuardedFile | null = null;
  private readonly onError: ((message: string) => void) | undefined;
  private readonly onBuffered: (() => void) | undefined;
  private readonly chunkBytes: Bytes;
  private readonly maxChunks: number;
  /** Chunks allocated so far (threaded), and the ones back from the thread. */
  private chunksMade = 0;
  private readonly free: Uint8Array[] = [];
  /** The chunk being filled (null: none taken yet, or all with the thread). */
  private chunk: Uint8Array | null = null;
  /** `chunk` as words (pcapng on little-endian hosts: records are written with word stores). */
  private chunk32: Uint32Array | null = null;
  private readonly words: boolean;
  private fd: number | null = null;
  /** Registration with the thread for the current fd. */
  private threadId = 0;
  /** Bytes waiting in `chunk`. */
  private len = 0;
  /** Frames whose records sit in `chunk` (lost, and re-counted as drops, if its write fails). */
  private bufferedFrames = 0;
  private bufferedBytes = 0;
  /** Size of the current file including what is still buffered. */
  private fileBytes = 0;
  private recordsInFile = 0;
  /** Frames in the current file ([0]) and in each rotated one (path.1, …). */
  private readonly framesPerFile: number[] = [0];
  /** File length up to the last record written whole (synchronous mode): a failed write is cut back to it. */
  private committedBytes = 0;
  /** False once closed, full (single-file mode) or failed. */
  private active = false;
  private closed = false;
  private readonly s: CaptureStats = {
    frames: 0,
    bytes: 0,
    files: 0,
    droppedFrames: 0,
    queueFullFrames: 0,
    rotatedOutFrames: 0,
    truncatedFrames: 0,
  };

  constructor(opts: CaptureOptions) {
    if (opts.format !== 'pcap' && opts.format !== 'pcapng') {
      throw new EopError(ErrorCode.CONFIG_INVALID, `capture format must be pcap or pcapng, got ${String(opts.format)}`);
    }
    if (!opts.path) throw new EopError(ErrorCode.CONFIG_INVALID, 'capture path is empty');
    this.path = opts.path;
    this.format = opts.format;
    this.interfaceName = opts.interfaceName;
    this.ng = opts.format === 'pcapng';
    this.words = this.ng && HOST_IS_LE;
    this.snaplen = checkInt('snaplenBytes', opts.snaplenBytes, 1, DEFAULT_SNAPLEN);
    if (this.snaplen > 0xffffffff) throw new EopError(ErrorCode.CONFIG_INVALID, 'capture snaplenBytes exceeds 2^32-1');
    this.maxFileBytes = checkInt('maxFileBytes', opts.maxFileBytes, 1, DEFAULT_MAX_FILE_BYTES);
    this.maxFiles = checkInt('maxFiles', opts.maxFiles, 0, DEFAULT_MAX_FILES);
    this.thread = opts.thread ?? null;
    this.guardian = opts.guardian ?? null;
    this.onError = opts.onError;
    this.onBuffered = opts.onBuffered;
    const bufferBytes = checkInt('bufferBytes', opts.bufferBytes, 1, this.thread ? DEFAULT_THREAD_BUFFER_BYTES : DEFAULT_BUFFER_BYTES);
    // Every record fits in one chunk (no write-through path): the largest is a snaplen frame.
    const maxRecord = this.ng ? epbBytes(this.snaplen, true, MAX_COMMENT_BYTES) : PCAP_RECORD_HEADER_BYTES + this.snaplen;
    // Threaded, a chunk is never larger than a file: rotation hands the chunk over, so small files
    // with big chunks would spend the pool's memory on a few nearly empty chunks.
    const threadChunk = Math.min(THREAD_CHUNK_BYTES, bufferBytes, this.maxFileBytes);
    this.chunkBytes = Math.max(this.thread ? threadChunk : bufferBytes, MIN_CHUNK_BYTES, maxRecord);
    this.maxChunks = this.thread ? Math.max(2, Math.ceil(bufferBytes / this.chunkBytes)) : 1;
    try {
      this.origin = opts.timeOriginNs === undefined ? ZERO_ORIGIN : timeOriginFromNs(opts.timeOriginNs);
    } catch (e) {
      throw new EopError(ErrorCode.CONFIG_INVALID, `capture option timeOriginNs: ${errMessage(e)}`);
    }

    this.header = this.ng
      ? Buffer.concat([
          encodeSectionHeaderBlock(),
          encodeInterfaceDescriptionBlock({
            name: opts.interfaceName,
            snaplen: this.snaplen,
            ...(opts.description ? { description: opts.description } : {}),
          }),
        ])
      : encodePcapGlobalHeader(this.snaplen);

    try {
      prepareCaptureDir(dirname(this.path));
      clearEarlierRun(this.path);
      this.openFile();
    } catch (e) {
      if (e instanceof EopError && e.code !== ErrorCode.CAPTURE_IO) throw e;
      throw new EopError(ErrorCode.CAPTURE_IO, `cannot open capture file ${this.path}: ${errMessage(e)}`);
    }
    this.active = true;
  }

  get stats(): Readonly<CaptureStats> {
    return this.s;
  }

  get lastError(): string | undefined {
    return this.s.lastError;
  }

  /** Changes what timeNs 0 stands for, for frames written from now on (live mode fixes it at start). */
  setTimeOrigin(originNs: bigint): void {
    this.origin = timeOriginFromNs(originNs);
  }

  /** True while frames are still being captured. */
  get capturing(): boolean {
    return this.active;
  }

  /**
   * Marks the next frame written with `text` (pcapng: an opt_comment on its record, which tshark
   * shows as `frame.comment`; notes made before that frame are joined with "; "). pcap has no place
   * for it: the note is counted in `notesLost` instead. Fault injection marks its events this way.
   */
  annotate(text: string): void {
    if (!this.ng) {
      this.notesLost++;
      return;
    }
    this.note = this.note === null ? text : `${this.note}; ${text}`;
  }

  /** A note waiting for the next frame (see `annotate`). */
  private note: string | null = null;
  /** Notes a pcap file could not hold. */
  notesLost = 0;

  write(timeNs: Ns, frame: Uint8Array, direction?: CaptureDirection): void {
    if (!this.active) {
      this.s.droppedFrames++;
      return;
    }
    const origLen = frame.length;
    let capLen = origLen;
    if (capLen > this.snaplen) capLen = this.snaplen;
    const flags = direction === 'in' ? EPB_FLAG_INBOUND : direction === 'out' ? EPB_FLAG_OUTBOUND : 0;
    // Rare (a fault was marked): the note's bytes are only made then.
    const comment = this.note === null ? undefined : commentBytes(this.note);
    const rec = this.ng ? epbBytes(capLen, flags !== 0, comment?.length ?? 0) : PCAP_RECORD_HEADER_BYTES + capLen;

    if (this.fileBytes + rec > this.maxFileBytes && this.recordsInFile > 0) {
      if (this.maxFiles <= 1) {
        // Single file and full: stop for good (cheaper and more honest than squeezing in small frames).
        this.active = false;
        this.flush();
        this.s.droppedFrames++;
        return;
      }
      if (!this.rotate()) {
        this.s.droppedFrames++;
        return;
      }
    }

    if (this.chunk !== null && rec > this.chunkBytes - this.len && !this.submitChunk()) {
      this.s.droppedFrames++;
      return;
    }
    const b = this.chunk ?? this.takeChunk();
    if (b === null) {
      this.s.droppedFrames++;
      this.s.queueFullFrames++;
      return;
    }
    if (capLen < origLen) this.s.truncatedFrames++;
    let off = this.len;
    const w = this.chunk32;
    if (w !== null) off = writeEpbHeaderLE32(w, off, rec, timeNs, capLen, origLen, this.origin);
    else if (this.ng) off = writeEpbHeader(b, off, rec, 0, timeNs, capLen, origLen, this.origin);
    else off = writePcapRecordHeader(b, off, timeNs, capLen, origLen, this.origin);
    // Common case copies the whole view: no subarray allocation.
    if (capLen === origLen) b.set(frame, off);
    else b.set(frame.subarray(0, capLen), off);
    off += capLen;
    if (w !== null && comment === undefined) off = writeEpbTrailerLE32(w, b, off, capLen, flags, rec);
    else if (this.ng) off = writeEpbTrailer(b, off, capLen, flags, rec, comment);
    this.len = off;
    this.note = null;

    if (this.bufferedFrames === 0) this.onBuffered?.();
    this.bufferedFrames++;
    this.bufferedBytes += rec;
    this.fileBytes += rec;
    this.recordsInFile++;
    this.framesPerFile[0]!++;
    this.s.frames++;
    this.s.bytes += rec;
  }

  /** Hands buffered records on to the file (threaded: to the writer thread). Never throws; see `lastError`. */
  flush(): void {
    if (this.fd !== null && this.len > 0) this.submitChunk();
  }

  /** Flushes and closes, waiting for the writer thread. Idempotent; never throws. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.active = false;
    this.closed = true;
    this.closeFd();
    this.thread?.drain();
  }

  // ---- internals ----

  private takeChunk(): Uint8Array | null {
    let c = this.free.pop() ?? null;
    if (c === null && this.chunksMade < this.maxChunks) {
      c = new Uint8Array(this.chunkBytes);
      this.chunksMade++;
    }
    this.chunk = c;
    // Chunks are whole ArrayBuffers whose length is a multiple of 4 (see chunkBytes).
    this.chunk32 = c !== null && this.words ? new Uint32Array(c.buffer, c.byteOffset, c.length >>> 2) : null;
    return c;
  }

  private openFile(): void {
    const fd = createCaptureFile(this.path, this.header);
    this.fd = fd;
    this.committedBytes = this.header.length;
    const guard = this.guardian?.watch(this.path, fd, this.header.length);
    if (this.thread) this.threadId = this.thread.open(fd, this.header.length, this.onReply, guard);
    else this.guard = guard ?? null;
    this.fileBytes = this.header.length;
    this.recordsInFile = 0;
    this.s.files++;
    this.s.bytes += this.header.length;
  }

  private closeFd(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    if (this.thread) {
      this.thread.close(this.threadId);
      return;
    }
    try {
      closeSync(fd);
      this.guard?.forget();
    } catch (e) {
      this.s.lastError ??= `capture ${this.path}: close failed: ${errMessage(e)}`;
    }
    this.guard = null;
  }

  /** Stops capturing after an I/O error; buffered frames become drops. */
  private fail(what: string, e: unknown): void {
    const first = this.s.lastError === undefined;
    this.s.lastError = `capture ${this.path}: ${what}: ${errMessage(e)}`;
    if (this.fd !== null && !this.thread) {
      try {
        // A torn last record would make the whole file unreadable to some tools: cut it off.
        ftruncateSync(this.fd, this.committedBytes);
      } catch {
        // best effort: the disk that failed the write may fail this too
      }
    }
    this.lose(this.bufferedFrames, this.bufferedBytes);
    this.len = 0;
    this.bufferedFrames = 0;
    this.bufferedBytes = 0;
    this.active = false;
    this.closeFd();
    if (first) this.onError?.(this.s.lastError);
  }

  /** Frames counted as captured that never reached the disk. */
  private lose(frames: number, bytes: number): void {
    this.s.frames -= frames;
    this.s.bytes -= bytes;
    this.s.droppedFrames += frames;
  }

  /** Sends the current chunk to the file. False if the capture failed (synchronous mode). */
  private submitChunk(): boolean {
    if (this.len === 0) return true;
    if (this.fd === null || this.chunk === null) return false;
    if (this.thread) {
      this.thread.write(this.threadId, this.chunk.buffer as ArrayBuffer, this.len, this.bufferedFrames);
      this.inflightFrames += this.bufferedFrames;
      this.inflightBytes += this.bufferedBytes;
      this.chunk = null;
      this.chunk32 = null;
    } else {
      try {
        writeAll(this.fd, this.chunk, 0, this.len);
      } catch (e) {
        this.fail('write failed', e);
        return false;
      }
      this.committedBytes += this.len;
      this.guard?.mark(this.committedBytes);
    }
    this.len = 0;
    this.bufferedFrames = 0;
    this.bufferedBytes = 0;
    return true;
  }

  /** Frames and bytes with the writer thread. */
  private inflightFrames = 0;
  private inflightBytes = 0;

  private readonly onReply = (r: ChunkReply): void => {
    if (r.buf !== undefined) {
      this.inflightFrames -= r.frames;
      this.inflightBytes -= r.bytes;
      if (!this.closed) this.free.push(new Uint8Array(r.buf));
      if (!r.ok) this.lose(r.frames, r.bytes);
    } else if (r.threadLost) {
      this.lose(this.inflightFrames, this.inflightBytes);
      this.inflightFrames = 0;
      this.inflightBytes = 0;
    }
    if (r.error !== undefined) {
      if (r.buf === undefined && !r.threadLost) this.s.lastError ??= `capture ${this.path}: ${r.error}`;
      else if (this.active) this.fail('write failed', r.error);
      else if (this.s.lastError === undefined) {
        this.s.lastError = `capture ${this.path}: write failed: ${r.error}`;
        this.onError?.(this.s.lastError);
      }
    }
  };

  /**
   * Deletes the file rotation drops. Threaded, the unlink (5–20 ms for a 64 MiB file, all of it
   * blocking) happens on the writer thread, after a rename out of the way here, so the name is free
   * at once.
   */
  private dropOldest(path: string): void {
    if (!this.thread) {
      rmSync(path, { force: true });
      return;
    }
    const doomed = tmpNameFor(path);
    try {
      renameSync(path, doomed);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    this.thread.unlink(doomed);
  }

  /** logrotate-style: drop path.(maxFiles-1), shift path.k -> path.(k+1), path -> path.1, reopen path. */
  private rotate(): boolean {
    if (!this.submitChunk()) return false;
    this.closeFd();
    try {
      const last = this.maxFiles - 1;
      this.dropOldest(`${this.path}.${last}`);
      for (let k = last - 1; k >= 1; k--) {
        try {
          renameSync(`${this.path}.${k}`, `${this.path}.${k + 1}`);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        }
      }
      renameSync(this.path, `${this.path}.1`);
      this.framesPerFile.unshift(0);
      while (this.framesPerFile.length > this.maxFiles) this.s.rotatedOutFrames += this.framesPerFile.pop()!;
      this.openFile();
    } catch (e) {
      this.fail('rotate failed', e);
      return false;
    }
    return true;
  }
}
