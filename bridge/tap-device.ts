/**
 * TAP devices for the host side of the emulator: real Ethernet frames in and out of Linux network
 * namespaces, through our own N-API addon (native/tap/tap.cc, built into build/Release/eop_tap.node
 * by `npm ci`).
 *
 * The addon never blocks: the TAP fd is non-blocking and watched by libuv on the main event loop.
 * Each wake-up reads up to `batchFrames` frames / `batchBytes` bytes into one reused buffer and calls
 * the `onFrames` callback once with a `FrameBatch`. **A batch's frames are views into that reused
 * buffer: valid only until the callback returns.** Copy what you keep (`batch.copyFrames()`), or hand
 * the batch straight to another TAP's `writeBatch` (which writes at once or copies into its queue).
 *
 * Writes go out at once; if the kernel says EAGAIN the frame is copied into a bounded queue (default
 * 1024 frames / 16 MiB, beyond that dropped and counted) drained when the fd turns writable.
 * `write(frame, head)` sends a header (the virtio_net_hdr) and a frame as one frame with writev(2),
 * so nobody has to copy them together first.
 *
 * `readNow(maxFrames)` reads what the kernel already queued, synchronously, and hands it to the
 * `onFrames` callback as a batch before it returns (no event-loop turn): after writing a frame into
 * a TAP, the namespace's answer is usually already queued (see native/tap/tap.cc). A wake-up long
 * after the previous one reads one frame only (a lone frame, no read that only says EAGAIN).
 *
 * `pause()`/`resume()` stop and restart reading without touching the callback (back-pressure can
 * pause thousands of times a second: that must not allocate).
 *
 * Errors (the interface was deleted underneath, write while the link is down, ...) never throw from
 * the event loop: they reach `onError` as a `TapIoError` (code ERR_TAP_IO, with errno and the
 * interface name), delivered on process.nextTick. A fatal one (`err.fatal`) means the fd lost its
 * interface: reading has stopped and you should `close()`.
 *
 * An open TAP whose reading is started keeps the process alive like a socket; `unref()` lets the
 * process exit anyway, `close()` releases everything at once.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EopError, ErrorCode } from '../src/errors.js';

export interface TapOpenOptions {
  /** Open with IFF_VNET_HDR: every frame in and out starts with a virtio_net_hdr (see below). */
  vnetHdr?: boolean;
  /** 10 (struct virtio_net_hdr, default) or 12 (virtio_net_hdr_mrg_rxbuf). Only with vnetHdr. */
  vnetHdrSize?: 10 | 12;
  /**
   * With vnetHdr: enable TUN_F_CSUM|TUN_F_TSO4|TUN_F_TSO6 (TUNSETOFFLOAD) so the kernel hands over
   * (and accepts) unchecksummed 64 KiB TCP super-frames. Default true.
   */
  offload?: boolean;
  /** Most frames read per wake-up (default 64, at most 4096). */
  batchFrames?: number;
  /** Most bytes read per wake-up (default 4 MiB; the buffer is this plus one 64 KiB frame). */
  batchBytes?: number;
  /** Write queue bounds (defaults 1024 frames, 16 MiB). */
  queueFrames?: number;
  queueBytes?: number;
}

export interface TapStats {
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Wake-ups that read at least one frame (framesIn / readBatches = mean batch size). */
  readBatches: number;
  /** Frames that met EAGAIN and went into the write queue. */
  writeQueued: number;
  /** Frames not sent: queue full, write error, TAP failed or closed, bad size. */
  writeDropped: number;
  writeErrors: number;
  readErrors: number;
  /** read(2) calls that found nothing queued (EAGAIN): the price of reading until empty. */
  emptyReads: number;
  /** Current write queue depth. */
  queueFrames: number;
  queueBytes: number;
}

/** An I/O error of an open TAP, as passed to `onError`. */
export class TapIoError extends EopError {
  constructor(
    message: string,
    /** Linux errno (e.g. 77). */
    readonly errno: number,
    /** Its symbolic name (e.g. 'EBADFD'). */
    readonly errnoCode: string,
    readonly syscall: string,
    /** Interface name. */
    readonly iface: string,
    /** True when the fd lost its interface: reading stopped, writes are dropped; close the TAP. */
    readonly fatal: boolean,
  ) {
    super(ErrorCode.TAP_IO, message);
    this.name = 'TapIoError';
  }
}

/** The frames of one wake-up, back to back in a reused buffer. Valid only during the callback. */
export class FrameBatch {
  /** Number of frames. */
  count = 0;
  /** Total bytes (the frames occupy buffer[0, bytes)). */
  bytes = 0;

  constructor(
    /** The reused read buffer (much longer than `bytes`). */
    readonly buffer: Buffer,
    /** lengths[i] is frame i's size, for i < count. */
    readonly lengths: Uint32Array,
  ) {}

  /** Calls fn with a view of each frame (valid only during the onFrames callback). */
  forEach(fn: (frame: Uint8Array, index: number) => void): void {
    let off = 0;
    for (let i = 0; i < this.count; i++) {
      const len = this.lengths[i]!;
      fn(this.buffer.subarray(off, off + len), i);
      off += len;
    }
  }

  /** Views of the frames (valid only during the onFrames callback). */
  frames(): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.forEach((f) => out.push(f));
    return out;
  }

  /** Copies of the frames, safe to keep: one copy of the batch, then views into it. */
  copyFrames(): Uint8Array[] {
    const copy = new Uint8Array(this.bytes);
    copy.set(this.buffer.subarray(0, this.bytes));
    const out: Uint8Array[] = [];
    let off = 0;
    for (let i = 0; i < this.count; i++) {
      const len = this.lengths[i]!;
      out.push(copy.subarray(off, off + len));
      off += len;
    }
    return out;
  }
}

// ---- the addon ----

interface NativeError extends Error {
  errno?: number;
  code?: string;
  syscall?: string;
  iface?: string;
  fatal?: boolean;
}

interface NativeTap {
  readonly name: string;
  readonly fd: number;
  readonly vnetHdrSize: number;
  /** Absent in an addon built before the USO probe. */
  readonly usoWrite?: boolean;
  readonly closed: boolean;
  readonly failed: boolean;
  /** Bytes of the last readNow() batch. */
  readonly lastBytes: number;
  /** Reads up to maxFrames queued frames into the shared buffer; returns how many. */
  readNow(maxFrames: number): number;
  readStart(cb: (count: number, bytes: number) => void): [Buffer, Uint32Array];
  readStop(): void;
  pause(): void;
  /** False if it cannot read (closed, failed, never started). */
  resume(): boolean;
  setOnError(cb: ((err: NativeError) => void) | null): void;
  /** 1 sent, 2 queued, 0 dropped. With head: head and frame as one frame (writev). */
  write(frame: Uint8Array, head?: Uint8Array): number;
  writeBatch(buffer: Uint8Array, lengths: Uint32Array, count: number): number;
  close(): void;
  ref(): void;
  unref(): void;
  hasRef(): boolean;
  stats(): TapStats;
}

interface NativeAddon {
  Tap: new (name: string, opts: TapOpenOptions) => NativeTap;
  maxFrame: number;
  supported: boolean;
  /** The Internet checksum's folded sum (native/checksum); absent in an addon built before it (fast-checksum.ts). */
  onesSum?: (buf: Uint8Array, start: number, end: number, initial?: number) => number;
}

/** The package root: the nearest folder above this file holding binding.gyp (src or dist layout). */
function packageRoot(): string {
  const start = dirname(fileURLToPath(import.meta.url));
  let firstPkg: string | null = null;
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) {
      if (existsSync(join(dir, 'binding.gyp'))) return dir;
      firstPkg ??= dir;
    }
    if (dirname(dir) === dir) return firstPkg ?? join(start, '..');
  }
}

let addon: NativeAddon | null = null;

/** Path of the compiled addon. */
/** How to build the addon (scripts/build-addon.mjs says the same when it skips the build). */
export const ADDON_BUILD_HINT = 'install a C++ toolchain (Debian/Ubuntu: apt-get install g++ make python3), then run npm run build:addon';

export function tapAddonPath(): string {
  return join(packageRoot(), 'build', 'Release', 'eop_tap.node');
}

/** Loads the addon once; EopError(TAP_ADDON_MISSING) if it is not built. */
export function loadTapAddon(): NativeAddon {
  if (addon) return addon;
  const path = tapAddonPath();
  if (!existsSync(path)) {
    throw new EopError(
      ErrorCode.TAP_ADDON_MISSING,
      `the TAP addon is not built (${path} is missing): ${ADDON_BUILD_HINT}`,
    );
  }
  const require = createRequire(import.meta.url);
  try {
    addon = require(path) as NativeAddon;
  } catch (e) {
    throw new EopError(
      ErrorCode.TAP_ADDON_MISSING,
      `the TAP addon at ${path} does not load (${(e as Error).message}): ${ADDON_BUILD_HINT}`,
    );
  }
  return addon;
}

/** True if the addon is built and loads. */
export function tapAddonAvailable(): boolean {
  try {
    loadTapAddon();
    return true;
  } catch {
    return false;
  }
}

const IFNAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/;

function openError(name: string, e: NativeError): EopError {
  const why =
    e.code === 'ENOENT' && e.syscall === 'open'
      ? '/dev/net/tun does not exist (load the tun module, or give the container /dev/net/tun)'
      : e.code === 'EPERM' || e.code === 'EACCES'
        ? 'permission denied: creating TAP devices needs root (or CAP_NET_ADMIN)'
        : e.code === 'EBUSY'
          ? 'the interface is already attached to another TAP file descriptor'
          : e.code === 'EINVAL' && e.syscall === 'ioctl(TUNSETIFF)'
            ? 'an interface of that name exists and is not a TAP'
            : e.message;
  return new EopError(ErrorCode.TAP_OPEN, `cannot open TAP '${name}': ${why}`);
}

export class TapDevice {
  private framesCb: ((batch: FrameBatch) => void) | null = null;
  private errorCb: ((err: TapIoError) => void) | null = null;
  private readBatch: FrameBatch | null = null;
  private warned = false;
  /** True while the onFrames callback runs (its batch's buffer is in use: readNow must not refill it). */
  private delivering = false;

  private constructor(private readonly native: NativeTap) {
    native.setOnError((e) => this.nativeError(e));
  }

  /**
   * Opens (creating if needed) the TAP `name` (at most 15 characters; '' lets the kernel pick
   * tapN). Throws EopError TAP_ADDON_MISSING if the addon is not built, TAP_OPEN if the TAP cannot
   * be opened (no /dev/net/tun, not root, name in use).
   */
  static open(name: string, opts: TapOpenOptions = {}): TapDevice {
    if (name !== '' && !IFNAME_RE.test(name)) {
      throw new EopError(
        ErrorCode.TAP_OPEN,
        `cannot open TAP '${name}': an interface name is 1-15 characters of letters, digits, '_', '.', '-'`,
      );
    }
    // The addon casts these to sizes: anything but a sane positive integer is refused here.
    const bounds: [keyof TapOpenOptions, number, number][] = [
      ['batchFrames', 1, 4096],
      ['batchBytes', 65536, 64 * 1024 * 1024],
      ['queueFrames', 1, 1 << 20],
      ['queueBytes', 65536, 1024 * 1024 * 1024],
    ];
    for (const [k, lo, hi] of bounds) {
      const v = opts[k];
      if (v !== undefined && !(typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi)) {
        throw new EopError(ErrorCode.CONFIG_INVALID, `TAP option ${k} must be an integer from ${lo} to ${hi} (got ${String(v)})`);
      }
    }
    if (opts.vnetHdrSize !== undefined && opts.vnetHdrSize !== 10 && opts.vnetHdrSize !== 12) {
      throw new EopError(ErrorCode.CONFIG_INVALID, `TAP option vnetHdrSize must be 10 or 12 (got ${String(opts.vnetHdrSize)})`);
    }
    const mod = loadTapAddon();
    if (!mod.supported) {
      throw new EopError(ErrorCode.TAP_OPEN, `cannot open TAP '${name}': TAP devices need Linux`);
    }
    let native: NativeTap;
    try {
      native = new mod.Tap(name, opts);
    } catch (e) {
      throw openError(name, e as NativeError);
    }
    return new TapDevice(native);
  }

  /** The interface name the kernel gave. */
  get name(): string {
    return this.native.name;
  }

  /** 0, or the virtio_net_hdr size (10/12) that prefixes every frame in and out. */
  get vnetHdrSize(): number {
    return this.native.vnetHdrSize;
  }

  /**
   * True if the kernel takes GSO_UDP_L4 super-packets written into this vnet-header TAP (Linux ≥
   * 6.2, probed at open; udp-coalesce.ts). False without a vnet header, on older kernels, or with an
   * addon built before the probe.
   */
  get usoWrite(): boolean {
    return this.native.usoWrite === true;
  }

  get closed(): boolean {
    return this.native.closed;
  }

  /** True after a fatal I/O error (the interface is gone). */
  get failed(): boolean {
    return this.native.failed;
  }

  get stats(): TapStats {
    return this.native.stats();
  }

  /**
   * Starts reading: cb gets each wake-up's frames as one batch (views valid only during the call).
   * `null` stops reading.
   */
  onFrames(cb: ((batch: FrameBatch) => void) | null): this {
    this.framesCb = cb;
    if (cb === null) {
      if (!this.native.closed) this.native.readStop();
      return this;
    }
    if (!this.readBatch) {
      const [buffer, lengths] = this.native.readStart((count, bytes) => this.deliver(count, bytes));
      this.readBatch = new FrameBatch(buffer, lengths);
    } else {
      this.native.readStart((count, bytes) => this.deliver(count, bytes));
    }
    return this;
  }

  /** Sets the I/O error handler (without one, errors become a process warning). */
  onError(cb: ((err: TapIoError) => void) | null): this {
    this.errorCb = cb;
    return this;
  }

  /**
   * Sends one frame: true if written or queued, false if dropped (see stats). With `head`, sends
   * head + frame as one frame (writev(2), no copy): e.g. a virtio_net_hdr in front of a frame.
   */
  write(frame: Uint8Array, head?: Uint8Array): boolean {
    return (head === undefined ? this.native.write(frame) : this.native.write(frame, head)) !== 0;
  }

  /**
   * Reads up to `maxFrames` frames the kernel has already queued and hands them to the onFrames
   * callback before returning (no event-loop turn). Returns the frames read: 0 if none were queued,
   * or reading is paused or stopped, or this TAP's own callback is running (its buffer is in use).
   */
  readNow(maxFrames = 1): number {
    if (this.delivering || this.framesCb === null || this.native.closed) return 0;
    const n = this.native.readNow(maxFrames);
    if (n > 0) this.deliver(n, this.native.lastBytes);
    return n;
  }

  /** Stops reading until `resume()`; the onFrames callback stays (no allocation either way). */
  pause(): void {
    if (!this.native.closed) this.native.pause();
  }

  /** Reads again after `pause()`; false if it cannot (closed, failed, or onFrames never set). */
  resume(): boolean {
    if (this.native.closed || this.framesCb === null) return false;
    return this.native.resume();
  }

  /** Sends the frames of a batch (typically another TAP's, from its onFrames); returns how many were taken. */
  writeBatch(batch: FrameBatch | { buffer: Uint8Array; lengths: Uint32Array; count: number }): number {
    if (batch.count === 0) return 0;
    return this.native.writeBatch(batch.buffer, batch.lengths, batch.count);
  }

  /** Stops the poll and closes the fd (a non-persistent TAP disappears). Idempotent. */
  close(): void {
    this.framesCb = null;
    this.native.close();
  }

  /** The TAP keeps the event loop alive while reading (default). */
  ref(): this {
    this.native.ref();
    return this;
  }

  /** The TAP no longer keeps the event loop alive. */
  unref(): this {
    this.native.unref();
    return this;
  }

  private deliver(count: number, bytes: number): void {
    const b = this.readBatch;
    const cb = this.framesCb;
    if (!b || !cb) return;
    b.count = count;
    b.bytes = bytes;
    this.delivering = true;
    try {
      cb(b);
    } finally {
      this.delivering = false;
    }
  }

  private nativeError(e: NativeError): void {
    const err = new TapIoError(
      e.message,
      e.errno ?? 0,
      e.code ?? 'EUNKNOWN',
      e.syscall ?? 'unknown',
      e.iface ?? this.native.name,
      e.fatal === true,
    );
    process.nextTick(() => {
      if (this.errorCb) {
        this.errorCb(err);
      } else if (!this.warned || err.fatal) {
        this.warned = true;
        process.emitWarning(err.message, { code: ErrorCode.TAP_IO });
      }
    });
  }
}

// virtio_net_hdr layout and helpers: virtio-net-hdr.ts (re-exported for the TAP's users).
export { parseVirtioNetHdr, VirtioNetHdr, writeVirtioNetHdr, type VirtioNetHdrFields } from './virtio-net-hdr.js';
