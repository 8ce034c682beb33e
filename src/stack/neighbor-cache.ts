/**
 * Neighbour cache for ARP (IPv4) and NDP (IPv6): IP address → MAC, with resolution in progress.
 *
 * - An entry is `incomplete` from the first frame (or `resolve` call) for an unknown address until
 *   a reply arrives, then `reachable`. Reachable entries do not age: hosts in a rack do not move, and
 *   a run must not depend on timers nobody asked for (a drained scheduler means the run is over).
 * - While incomplete, frames wait in a bounded queue per destination (frames and bytes). A frame
 *   that does not fit is dropped (`neighbor-queue-full`). The request is retried every `retryNs`;
 *   after `maxTries` requests without an answer the entry is removed, its frames are dropped
 *   (`neighbor-unresolved`, one per frame) and its waiters are told `null`. The next frame for
 *   that address starts over, as Linux does after FAILED.
 * - The cache builds no frames: the owner's hooks send the request and transmit released frames.
 * - IPv4 keys are the address as a number; IPv6 keys are an 8-character string made from the
 *   address (one small string per lookup: senders that care keep the entry, not the address).
 */
import { NeighborDrop, type DropCounters } from '../errors.js';
import type { EventId, Scheduler } from '../time/scheduler.js';
import { NS_PER_MS, type Bytes, type Ns } from '../time/units.js';
import { formatIpv4, formatIpv6, formatMac, writeMac } from '../wire/index.js';

export type NeighborState = 'incomplete' | 'reachable';

/** Called once with the MAC when the address resolves, or null when resolution gives up. */
export type ResolveCallback = (mac: number | null) => void;

/** Drop reasons the cache counts in the owner's DropCounters (src/errors.ts). */
export { NeighborDrop };

export class NeighborEntry {
  state: NeighborState = 'incomplete';
  /** Valid when reachable; -1 before. */
  mac = -1;
  /** Requests sent for the current resolution. */
  tries = 0;
  /** When the state or MAC last changed. */
  updatedNs: Ns = 0;
  /** Frames waiting for the MAC (copies; their destination MAC is written on release). */
  readonly queue: Uint8Array[] = [];
  readonly queueAlign: number[] = [];
  queuedBytes: Bytes = 0;
  waiters: ResolveCallback[] | null = null;
  timer: EventId = -1;

  constructor(
    readonly family: 4 | 6,
    readonly key: number | string,
    /** The IPv4 address (family 4), else 0. */
    readonly ipv4: number,
    /** The IPv6 address (family 6, a private copy), else null. */
    readonly ipv6: Uint8Array | null,
  ) {}

  get reachable(): boolean {
    return this.state === 'reachable';
  }

  /** For logs and status: `10.11.0.2 02:e0:00:00:00:02 reachable`. */
  toString(): string {
    const ip = this.family === 4 ? formatIpv4(this.ipv4) : formatIpv6(this.ipv6!);
    return `${ip} ${this.mac >= 0 ? formatMac(this.mac) : '(incomplete)'} ${this.state}`;
  }
}

export interface NeighborCacheOptions {
  /** Time between requests while unresolved (default 1 ms). */
  retryNs?: Ns;
  /** Requests before giving up (default 3). */
  maxTries?: number;
  /** Frames that may wait per destination (default 64). */
  queueFrames?: number;
  /** Bytes that may wait per destination (default 256 KiB). */
  queueBytes?: Bytes;
  /** Entries per family (default 1024); beyond it nothing new is learnt or resolved. */
  maxEntries?: number;
}

export interface NeighborHooks {
  /** Send one ARP request (family 4) or neighbour solicitation (family 6) for the entry. */
  solicit(e: NeighborEntry): void;
  /** Send a frame that waited; its destination MAC is already written. */
  transmit(frame: Uint8Array, alignOffset: number): void;
}

export class NeighborCounters {
  /** Requests sent (first tries and retries). */
  solicitations = 0;
  retries = 0;
  resolved = 0;
  /** Resolutions given up. */
  failures = 0;
  /** Frames that waited for a resolution and were then sent. */
  released = 0;
  queueDrops = 0;
  unresolvedDrops = 0;
  /** Entries created by learning (without a resolution of ours). */
  learned = 0;
  /** A reachable entry whose MAC changed. */
  macChanges = 0;
}

export class NeighborCache {
  readonly c = new NeighborCounters();
  readonly retryNs: Ns;
  readonly maxTries: number;
  readonly queueFrames: number;
  readonly queueBytes: Bytes;
  readonly maxEntries: number;
  private readonly v4 = new Map<number, NeighborEntry>();
  private readonly v6 = new Map<string, NeighborEntry>();

  constructor(
    private readonly sched: Scheduler,
    private readonly drops: DropCounters,
    private readonly hooks: NeighborHooks,
    opts: NeighborCacheOptions = {},
  ) {
    this.retryNs = opts.retryNs ?? NS_PER_MS;
    this.maxTries = opts.maxTries ?? 3;
    this.queueFrames = opts.queueFrames ?? 64;
    this.queueBytes = opts.queueBytes ?? 256 * 1024;
    this.maxEntries = opts.maxEntries ?? 1024;
    if (!(this.retryNs > 0) || !(this.maxTries >= 1)) throw new Error('neighbor cache: retryNs and maxTries must be positive');
  }

  get size(): number {
    return this.v4.size + this.v6.size;
  }

  get4(ip: number): NeighborEntry | undefined {
    return this.v4.get(ip >>> 0);
  }

  get6(addr: Uint8Array, off = 0): NeighborEntry | undefined {
    return this.v6.get(key6(addr, off));
  }

  /** Every entry, IPv4 first, in insertion order. */
  entries(): NeighborEntry[] {
    return [...this.v4.values(), ...this.v6.values()];
  }

  /**
   * Queue `frame[0, len)` (a copy is kept) for `ip` and start resolving if nobody is. The caller
   * has checked that the address is not reachable. Returns false if the frame was dropped.
   */
  enqueue4(ip: number, frame: Uint8Array, len: number, alignOffset: number): boolean {
    return this.enqueue(this.pending4(ip), frame, len, alignOffset);
  }

  enqueue6(addr: Uint8Array, frame: Uint8Array, len: number, alignOffset: number): boolean {
    return this.enqueue(this.pending6(addr), frame, len, alignOffset);
  }

  /**
   * Call `cb` with the MAC of `ip` once known (at once if it is), or null if resolution fails.
   * Returns the entry, which stays valid while it is in the cache (senders keep it).
   */
  resolve4(ip: number, cb: ResolveCallback): NeighborEntry | null {
    const e = this.pending4(ip);
    return this.addWaiter(e, cb);
  }

  resolve6(addr: Uint8Array, cb: ResolveCallback): NeighborEntry | null {
    const e = this.pending6(addr);
    return this.addWaiter(e, cb);
  }

  /**
   * A reply or request told us `ip` is at `mac`. Updates an existing entry (completing a
   * resolution); creates one only if `create`. Returns the entry, if any.
   */
  learn4(ip: number, mac: number, create: boolean): NeighborEntry | undefined {
    ip >>>= 0;
    let e = this.v4.get(ip);
    if (!e) {
      if (!create || this.v4.size >= this.maxEntries) return undefined;
      e = new NeighborEntry(4, ip, ip, null);
      this.v4.set(ip, e);
      this.c.learned++;
    }
    this.complete(e, mac);
    return e;
  }

  learn6(addr: Uint8Array, mac: number, create: boolean): NeighborEntry | undefined {
    const k = key6(addr, 0);
    let e = this.v6.get(k);
    if (!e) {
      if (!create || this.v6.size >= this.maxEntries) return undefined;
      e = new NeighborEntry(6, k, 0, addr.slice(0, 16));
      this.v6.set(k, e);
      this.c.learned++;
    }
    this.complete(e, mac);
    return e;
  }

  /** Forget everything: pending resolutions fail (their frames are counted as unresolved). */
  clear(): void {
    for (const e of this.entries()) this.fail(e);
  }

  private pending4(ip: number): NeighborEntry | null {
    ip >>>= 0;
    let e = this.v4.get(ip);
    if (!e) {
      if (this.v4.size >= this.maxEntries) return null;
      e = new NeighborEntry(4, ip, ip, null);
      this.v4.set(ip, e);
      this.start(e);
    }
    return e;
  }

  private pending6(addr: Uint8Array): NeighborEntry | null {
    const k = key6(addr, 0);
    let e = this.v6.get(k);
    if (!e) {
      if (this.v6.size >= this.maxEntries) return null;
      e = new NeighborEntry(6, k, 0, addr.slice(0, 16));
      this.v6.set(k, e);
      this.start(e);
    }
    return e;
  }

  private enqueue(e: NeighborEntry | null, frame: Uint8Array, len: number, alignOffset: number): boolean {
    if (!e) {
      this.drops.add(NeighborDrop.CACHE_FULL);
      return false;
    }
    if (e.reachable) {
      // Completed between the caller's check and now (cannot happen on one thread, but cheap).
      writeMac(frame, 0, e.mac);
      this.hooks.transmit(frame.subarray(0, len), alignOffset);
      return true;
    }
    if (e.queue.length >= this.queueFrames || e.queuedBytes + len > this.queueBytes) {
      this.c.queueDrops++;
      this.drops.add(NeighborDrop.QUEUE_FULL);
      return false;
    }
    e.queue.push(frame.slice(0, len));
    e.queueAlign.push(alignOffset);
    e.queuedBytes += len;
    return true;
  }

  private addWaiter(e: NeighborEntry | null, cb: ResolveCallback): NeighborEntry | null {
    if (!e) {
      this.drops.add(NeighborDrop.CACHE_FULL);
      cb(null);
      return null;
    }
    if (e.reachable) {
      cb(e.mac);
      return e;
    }
    (e.waiters ??= []).push(cb);
    return e;
  }

  private start(e: NeighborEntry): void {
    e.state = 'incomplete';
    e.tries = 0;
    e.updatedNs = this.sched.now;
    this.solicit(e);
  }

  private solicit(e: NeighborEntry): void {
    e.tries++;
    this.c.solicitations++;
    this.hooks.solicit(e);
    e.timer = this.sched.after(this.retryNs, this.onRetry, e);
  }

  private readonly onRetry = (e: NeighborEntry): void => {
    e.timer = -1;
    if (e.reachable || this.map(e).get(e.key) !== e) return;
    if (e.tries < this.maxTries) {
      this.c.retries++;
      this.solicit(e);
      return;
    }
    this.c.failures++;
    this.fail(e);
  };

  private fail(e: NeighborEntry): void {
    this.map(e).delete(e.key);
    if (e.timer >= 0) {
      this.sched.cancel(e.timer);
      e.timer = -1;
    }
    const n = e.queue.length;
    if (n > 0) {
      this.c.unresolvedDrops += n;
      this.drops.add(NeighborDrop.UNRESOLVED, n);
      e.queue.length = 0;
      e.queueAlign.length = 0;
      e.queuedBytes = 0;
    }
    const ws = e.waiters;
    e.waiters = null;
    if (ws) for (const w of ws) w(null);
  }

  private complete(e: NeighborEntry, mac: number): void {
    if (e.reachable) {
      if (e.mac !== mac) {
        e.mac = mac;
        e.updatedNs = this.sched.now;
        this.c.macChanges++;
      }
      return;
    }
    e.state = 'reachable';
    e.mac = mac;
    e.updatedNs = this.sched.now;
    if (e.timer >= 0) {
      this.sched.cancel(e.timer);
      e.timer = -1;
    }
    if (e.tries > 0) this.c.resolved++;
    const q = e.queue;
    for (let i = 0; i < q.length; i++) {
      const f = q[i]!;
      writeMac(f, 0, mac);
      this.c.released++;
      this.hooks.transmit(f, e.queueAlign[i]!);
    }
    q.length = 0;
    e.queueAlign.length = 0;
    e.queuedBytes = 0;
    const ws = e.waiters;
    e.waiters = null;
    if (ws) for (const w of ws) w(mac);
  }

  private map(e: NeighborEntry): Map<number | string, NeighborEntry> {
    return (e.family === 4 ? this.v4 : this.v6) as Map<number | string, NeighborEntry>;
  }
}

/** The 16 address bytes at `addr[off..]` as 8 UTF-16 code units: a Map key without hex formatting. */
export function key6(addr: Uint8Array, off = 0): string {
  return String.fromCharCode(
    (addr[off]! << 8) | addr[off + 1]!,
    (addr[off + 2]! << 8) | addr[off + 3]!,
    (addr[off + 4]! << 8) | addr[off + 5]!,
    (addr[off + 6]! << 8) | addr[off + 7]!,
    (addr[off + 8]! << 8) | addr[off + 9]!,
    (addr[off + 10]! << 8) | addr[off + 11]!,
    (addr[off + 12]! << 8) | addr[off + 13]!,
    (addr[off + 14]! << 8) | addr[off + 15]!,
  );
}
