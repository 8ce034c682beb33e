/**
 * The capture writer the emulator uses: one file (plus rotated siblings) per captured interface.
 *
 * Rules, and why:
 * - `write()` runs per frame (up to ~1M/s), so it encodes the record straight into one preallocated
 *   write-behind Buffer (copying the frame: callers reuse their frame views) and calls fs only when
 *   that buffer is full. A frame bigger than the whole buffer is written through directly after a flush.
 * - All fs calls are synchronous so `flush()`/`close()` work inside `process.on('exit')` and signal
 *   handlers, where asynchronous I/O never completes.
 * - The header(s) are written at open, so even an empty capture is a valid file.
 * - Opening errors throw `EopError(CAPTURE_IO)` (the user named a bad path and should hear it). After
 *   that, I/O errors never throw out of `write()`/`flush()`/`close()`: a full disk must not crash the
 *   emulation. The writer stops, counts what it loses as drops and keeps the message in `lastError`.
 * - Size cap: a record that would push the current file past `maxFileBytes` first rotates logrotate
 *   style (path.N-1 deleted, path.k -> path.k+1, path -> path.1, new path with fresh headers), so every
 *   file opens on its own and the newest frames are always in `path`. With maxFiles 0/1 there is no
 *   rotation: the file stops growing when full and later frames are counted as drops. A single record
 *   larger than the cap is still written into an otherwise empty file (better than losing it silently).
 *   Stale siblings left by an earlier run are not deleted up front; rotation shifts them out.
 * - Frames longer than `snaplenBytes` are cut in the file; the record keeps the real length (orig_len).
 * - Timestamps are whatever ns clock the caller passes (virtual or wall). They are doubles: exact up to
 *   2^53 ns (~104 days of virtual time); wall-clock epoch ns are good to ~256 ns.
 */
import { closeSync, ftruncateSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { EopError, ErrorCode } from '../errors.js';
import { MiB, type Bytes, type Ns } from '../time/units.js';
import {
  DEFAULT_SNAPLEN,
  PCAP_RECORD_HEADER_BYTES,
  encodePcapGlobalHeader,
  writePcapRecordHeader,
} from './pcap-format.js';
import {
  EPB_FLAG_INBOUND,
  EPB_FLAG_OUTBOUND,
  EPB_HEADER_BYTES,
  encodeInterfaceDescriptionBlock,
  encodeSectionHeaderBlock,
  epbBytes,
  writeEpbHeader,
  writeEpbTrailer,
} from './pcapng-format.js';

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
  /** Write-behind buffer; default 1 MiB. */
  bufferBytes?: Bytes;
}

export interface CaptureStats {
  /** Frames accepted into the capture (buffered or written). */
  frames: number;
  /** Bytes emitted to capture files, headers and record framing included. */
  bytes: Bytes;
  /** Files opened so far (1 + rotations). */
  files: number;
  /** Frames not captured: single file full, after an I/O error, or after close(). */
  droppedFrames: number;
  /** Frames cut to snaplen. */
  truncatedFrames: number;
  /** Message of the I/O error that stopped the capture, if any. */
  lastError?: string;
}

export const DEFAULT_MAX_FILE_BYTES: Bytes = 64 * MiB;
export const DEFAULT_MAX_FILES = 4;
export const DEFAULT_BUFFER_BYTES: Bytes = 1 * MiB;
/** Smallest write-behind buffer: must hold any record's head and tail (EPB: 28 + 3 + 12 + 4). */
const MIN_BUFFER_BYTES: Bytes = 256;

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

/** Writes all of b[off, off+len), looping over short writes. Throws on I/O errors. */
function writeAll(fd: number, b: Uint8Array, off: number, len: number): void {
  while (len > 0) {
    const n = writeSync(fd, b, off, len);
    off += n;
    len -= n;
  }
}

export class CaptureFile {
  readonly path: string;
  readonly format: CaptureFormat;
  readonly interfaceName: string;
  readonly snaplen: Bytes;
  readonly maxFileBytes: Bytes;
  readonly maxFiles: number;

  private readonly ng: boolean;
  private readonly header: Buffer;
  private readonly buf: Buffer;
  private fd: number | null = null;
  /** Bytes waiting in `buf`. */
  private len = 0;
  /** Frames whose records sit in `buf` (lost, and re-counted as drops, if the flush fails). */
  private bufferedFrames = 0;
  private bufferedBytes = 0;
  /** Size of the current file including what is still buffered. */
  private fileBytes = 0;
  private recordsInFile = 0;
  /** False once closed, full (single-file mode) or failed. */
  private active = false;
  private closed = false;
  private readonly s: CaptureStats = { frames: 0, bytes: 0, files: 0, droppedFrames: 0, truncatedFrames: 0 };

  constructor(opts: CaptureOptions) {
    if (opts.format !== 'pcap' && opts.format !== 'pcapng') {
      throw new EopError(ErrorCode.CONFIG_INVALID, `capture format must be pcap or pcapng, got ${String(opts.format)}`);
    }
    if (!opts.path) throw new EopError(ErrorCode.CONFIG_INVALID, 'capture path is empty');
    this.path = opts.path;
    this.format = opts.format;
    this.interfaceName = opts.interfaceName;
    this.ng = opts.format === 'pcapng';
    this.snaplen = checkInt('snaplenBytes', opts.snaplenBytes, 1, DEFAULT_SNAPLEN);
    if (this.snaplen > 0xffffffff) throw new EopError(ErrorCode.CONFIG_INVALID, 'capture snaplenBytes exceeds 2^32-1');
    this.maxFileBytes = checkInt('maxFileBytes', opts.maxFileBytes, 1, DEFAULT_MAX_FILE_BYTES);
    this.maxFiles = checkInt('maxFiles', opts.maxFiles, 0, DEFAULT_MAX_FILES);
    const bufferBytes = checkInt('bufferBytes', opts.bufferBytes, 1, DEFAULT_BUFFER_BYTES);

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
    this.buf = Buffer.allocUnsafe(Math.max(bufferBytes, MIN_BUFFER_BYTES));

    try {
      mkdirSync(dirname(this.path), { recursive: true });
      this.openFile();
    } catch (e) {
      this.closeFd();
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

  /** True while frames are still being captured. */
  get capturing(): boolean {
    return this.active;
  }

  write(timeNs: Ns, frame: Uint8Array, direction?: CaptureDirection): void {
    if (!this.active) {
      this.s.droppedFrames++;
      return;
    }
    const origLen = frame.length;
    let capLen = origLen;
    if (capLen > this.snaplen) {
      capLen = this.snaplen;
      this.s.truncatedFrames++;
    }
    const flags = direction === 'in' ? EPB_FLAG_INBOUND : direction === 'out' ? EPB_FLAG_OUTBOUND : 0;
    const rec = this.ng ? epbBytes(capLen, flags !== 0) : PCAP_RECORD_HEADER_BYTES + capLen;

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

    if (rec > this.buf.length - this.len) {
      if (!this.flushBuffer()) {
        this.s.droppedFrames++;
        return;
      }
      if (rec > this.buf.length) {
        this.writeThrough(timeNs, frame, capLen, origLen, flags, rec);
        return;
      }
    }

    const b = this.buf;
    let off = this.len;
    if (this.ng) off = writeEpbHeader(b, off, rec, 0, timeNs, capLen, origLen);
    else off = writePcapRecordHeader(b, off, timeNs, capLen, origLen);
    // Common case copies the whole view: no subarray allocation.
    if (capLen === origLen) b.set(frame, off);
    else b.set(frame.subarray(0, capLen), off);
    off += capLen;
    if (this.ng) off = writeEpbTrailer(b, off, capLen, flags, rec);
    this.len = off;

    this.bufferedFrames++;
    this.bufferedBytes += rec;
    this.account(rec);
  }

  /** Writes buffered records to the file (synchronously). Never throws; see `lastError`. */
  flush(): void {
    if (this.fd !== null && this.len > 0) this.flushBuffer();
  }

  /** Flushes and closes. Idempotent; never throws. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.active = false;
    this.closed = true;
    this.closeFd();
  }

  // ---- internals ----

  private account(rec: number): void {
    this.fileBytes += rec;
    this.recordsInFile++;
    this.s.frames++;
    this.s.bytes += rec;
  }

  private openFile(): void {
    this.fd = openSync(this.path, 'w');
    writeAll(this.fd, this.header, 0, this.header.length);
    this.committedBytes = this.header.length;
    this.fileBytes = this.header.length;
    this.recordsInFile = 0;
    this.s.files++;
    this.s.bytes += this.header.length;
  }

  private closeFd(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    try {
      closeSync(fd);
    } catch (e) {
      this.s.lastError ??= `capture ${this.path}: close failed: ${errMessage(e)}`;
    }
  }

  /** File length up to the last record written whole: a failed write is cut back to it. */
  private committedBytes = 0;

  /** Stops capturing after an I/O error; buffered frames become drops. */
  private fail(what: string, e: unknown): void {
    this.s.lastError = `capture ${this.path}: ${what}: ${errMessage(e)}`;
    if (this.fd !== null) {
      try {
        // A torn last record would make the whole file unreadable to some tools: cut it off.
        ftruncateSync(this.fd, this.committedBytes);
      } catch {
        // best effort: the disk that failed the write may fail this too
      }
    }
    this.s.frames -= this.bufferedFrames;
    this.s.bytes -= this.bufferedBytes;
    this.s.droppedFrames += this.bufferedFrames;
    this.len = 0;
    this.bufferedFrames = 0;
    this.bufferedBytes = 0;
    this.active = false;
    this.closeFd();
  }

  private flushBuffer(): boolean {
    if (this.len === 0) return true;
    if (this.fd === null) return false;
    try {
      writeAll(this.fd, this.buf, 0, this.len);
    } catch (e) {
      this.fail('write failed', e);
      return false;
    }
    this.committedBytes += this.len;
    this.len = 0;
    this.bufferedFrames = 0;
    this.bufferedBytes = 0;
    return true;
  }

  /** A record larger than the whole buffer (buffer already flushed): head, frame, tail straight to fs. */
  private writeThrough(timeNs: Ns, frame: Uint8Array, capLen: number, origLen: number, flags: number, rec: number): void {
    const fd = this.fd!;
    const b = this.buf;
    try {
      if (this.ng) {
        writeEpbHeader(b, 0, rec, 0, timeNs, capLen, origLen);
        writeAll(fd, b, 0, EPB_HEADER_BYTES);
        writeAll(fd, frame, 0, capLen);
        const end = writeEpbTrailer(b, 0, capLen, flags, rec);
        writeAll(fd, b, 0, end);
      } else {
        writePcapRecordHeader(b, 0, timeNs, capLen, origLen);
        writeAll(fd, b, 0, PCAP_RECORD_HEADER_BYTES);
        writeAll(fd, frame, 0, capLen);
      }
    } catch (e) {
      this.s.droppedFrames++;
      this.fail('write failed', e);
      return;
    }
    this.committedBytes += rec;
    this.account(rec);
  }

  /** logrotate-style: drop path.(maxFiles-1), shift path.k -> path.(k+1), path -> path.1, reopen path. */
  private rotate(): boolean {
    if (!this.flushBuffer()) return false;
    this.closeFd();
    try {
      const last = this.maxFiles - 1;
      rmSync(`${this.path}.${last}`, { force: true });
      for (let k = last - 1; k >= 1; k--) {
        try {
          renameSync(`${this.path}.${k}`, `${this.path}.${k + 1}`);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        }
      }
      renameSync(this.path, `${this.path}.1`);
      this.openFile();
    } catch (e) {
      this.fail('rotate failed', e);
      return false;
    }
    return true;
  }
}
