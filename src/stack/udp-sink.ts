/**
 * `UdpSink` (one per host stack) receives the datagrams of the sink ports and checks every one
 * byte for byte against the stream format of payload-pattern.ts, per source (`SinkFlowStats`).
 */
import type { Buffer } from 'node:buffer';
import type { Bytes, Gbps, Ns } from '../time/units.js';
import { MAX_MESSAGE_BYTES, pattern, patternStart, STREAM_HEADER_BYTES, STREAM_MAGIC } from './payload-pattern.js';
import { throughputGbps } from './stats.js';

/** Per (source address, source port): what the sink saw. */
export class SinkFlowStats {
  /** Datagrams that reached the sink from this source, good or not. */
  frames = 0;
  /** Their UDP payload bytes. */
  bytes: Bytes = 0;
  /** Distinct good datagrams (magic, length and pattern right; duplicates not counted). */
  received = 0;
  receivedBytes: Bytes = 0;
  /** Good datagrams carrying exactly the next sequence number. */
  inOrder = 0;
  /** Good datagrams that filled an earlier gap. */
  reordered = 0;
  duplicates = 0;
  /** Failed the magic, length or pattern check (not sequenced: their numbers cannot be trusted). */
  corrupt = 0;
  /** Older than the 64 Ki-datagram window the sink remembers: not classified further. */
  stale = 0;
  /** A different stream id arrived from the same source: sequencing restarted. */
  streamRestarts = 0;
  streamId = -1;
  firstRxNs: Ns = -1;
  lastRxNs: Ns = -1;
  /** The first good datagram: where the throughput interval starts. */
  private firstGoodBytes: Bytes = 0;
  private firstGoodRxNs: Ns = -1;
  /** The next in-order sequence number. */
  nextSeq = 0;
  /** Sequence numbers expected by earlier streams of this flow (see streamRestarts). */
  private expectedBefore = 0;
  private readonly seen = new Uint8Array(SEEN_WINDOW / 8);

  constructor(
    readonly family: 4 | 6,
    readonly srcIpv4: number,
    readonly srcIpv6: Uint8Array | null,
    readonly srcPort: number,
    /** Port of the first datagram. */
    readonly dstPort: number,
  ) {}

  /** Sequence numbers below the highest seen that never arrived (so far). */
  get lost(): number {
    return this.expectedBefore + this.nextSeq - this.received - this.stale;
  }

  /** Good payload bytes over (last − first arrival). */
  get throughputGbps(): Gbps {
    return this.received > 1 ? throughputGbps(this.receivedBytes - this.firstGoodBytes, this.firstGoodRxNs, this.lastRxNs) : 0;
  }

  /** @internal one datagram's payload, already past the UDP checksum. */
  accept(p: Uint8Array, table: Buffer, now: Ns): void {
    const n = p.length;
    this.frames++;
    this.bytes += n;
    if (this.firstRxNs < 0) this.firstRxNs = now;
    this.lastRxNs = now;
    if (n < STREAM_HEADER_BYTES || n > MAX_MESSAGE_BYTES) {
      this.corrupt++;
      return;
    }
    const magic = u32(p, 0);
    const id = u32(p, 4);
    const seq = u32(p, 8);
    const len = u32(p, 12);
    const start = patternStart(id, seq);
    if (
      magic !== STREAM_MAGIC ||
      len !== n ||
      table.compare(p, STREAM_HEADER_BYTES, n, start + STREAM_HEADER_BYTES, start + n) !== 0
    ) {
      this.corrupt++;
      return;
    }
    if (id !== this.streamId) {
      if (this.streamId >= 0) {
        this.streamRestarts++;
        this.expectedBefore += this.nextSeq;
        this.nextSeq = 0;
        this.seen.fill(0);
      }
      this.streamId = id;
    }
    const next = this.nextSeq;
    const seen = this.seen;
    if (seq >= next) {
      // Positions [next, seq] enter the window: forget what the same positions held before.
      if (seq - next + 1 >= SEEN_WINDOW) seen.fill(0);
      else for (let s = next; s < seq; s++) seen[(s & SEEN_MASK) >>> 3] &= ~(1 << (s & 7));
      seen[(seq & SEEN_MASK) >>> 3] |= 1 << (seq & 7);
      this.nextSeq = seq + 1;
      if (seq === next) this.inOrder++;
    } else if (next - seq > SEEN_WINDOW) {
      this.stale++;
      return;
    } else {
      const bit = 1 << (seq & 7);
      const i = (seq & SEEN_MASK) >>> 3;
      if (seen[i]! & bit) {
        this.duplicates++;
        return;
      }
      seen[i] |= bit;
      this.reordered++;
    }
    if (this.received === 0) {
      this.firstGoodBytes = n;
      this.firstGoodRxNs = now;
    }
    this.received++;
    this.receivedBytes += n;
  }
}

const SEEN_WINDOW = 65536;
const SEEN_MASK = SEEN_WINDOW - 1;

/**
 * The receiving side of every sink port of one stack, one SinkFlowStats per (source address,
 * source port). Anything that is not a stream datagram (too short, wrong magic or length, pattern
 * off) counts as corrupt in its flow. Flows are found without allocating: IPv4 by a numeric key
 * (address × 65536 + port), IPv6 through a small bucket compared byte by byte. At most `maxFlows`
 * flows; datagrams that would open one more are refused (the stack counts `sink-flows-full`).
 */
export class UdpSink {
  private readonly v4 = new Map<number, SinkFlowStats>();
  private readonly v6 = new Map<number, SinkFlowStats[]>();
  private readonly list: SinkFlowStats[] = [];
  private readonly table = pattern();

  constructor(readonly maxFlows = 4096) {}

  /** Every flow, in order of first arrival. */
  flows(): readonly SinkFlowStats[] {
    return this.list;
  }

  get(srcIp: number | Uint8Array, srcPort: number): SinkFlowStats | undefined {
    if (typeof srcIp === 'number') return this.v4.get((srcIp >>> 0) * 65536 + srcPort);
    return this.find6(srcIp, 0, srcPort);
  }

  /** Returns false if the datagram was not taken (too many flows). */
  receive4(srcIp: number, srcPort: number, dstPort: number, payload: Uint8Array, now: Ns): boolean {
    const key = (srcIp >>> 0) * 65536 + srcPort;
    let f = this.v4.get(key);
    if (!f) {
      if (this.list.length >= this.maxFlows) return false;
      f = new SinkFlowStats(4, srcIp >>> 0, null, srcPort, dstPort);
      this.v4.set(key, f);
      this.list.push(f);
    }
    f.accept(payload, this.table, now);
    return true;
  }

  /** `src` at `buf[srcOff..+16]` (read in place). */
  receive6(buf: Uint8Array, srcOff: number, srcPort: number, dstPort: number, payload: Uint8Array, now: Ns): boolean {
    let f = this.find6(buf, srcOff, srcPort);
    if (!f) {
      if (this.list.length >= this.maxFlows) return false;
      f = new SinkFlowStats(6, 0, buf.slice(srcOff, srcOff + 16), srcPort, dstPort);
      const k = bucket6(buf, srcOff, srcPort);
      const b = this.v6.get(k);
      if (b) b.push(f);
      else this.v6.set(k, [f]);
      this.list.push(f);
    }
    f.accept(payload, this.table, now);
    return true;
  }

  private find6(buf: Uint8Array, off: number, srcPort: number): SinkFlowStats | undefined {
    const b = this.v6.get(bucket6(buf, off, srcPort));
    if (!b) return undefined;
    for (const f of b) {
      if (f.srcPort !== srcPort) continue;
      const a = f.srcIpv6!;
      let i = 0;
      while (i < 16 && a[i] === buf[off + i]) i++;
      if (i === 16) return f;
    }
    return undefined;
  }
}

function bucket6(buf: Uint8Array, off: number, port: number): number {
  return (u32(buf, off + 12) ^ Math.imul(u32(buf, off + 8), 0x9e3779b1) ^ (port << 7)) >>> 0;
}

/** Big-endian u32 (the stream header's byte order). */
function u32(p: Uint8Array, o: number): number {
  return ((p[o]! << 24) | (p[o + 1]! << 16) | (p[o + 2]! << 8) | p[o + 3]!) >>> 0;
}
