/**
 * UDP traffic: `UdpStream` sends a numbered, self-checking datagram stream; `UdpSink` (one per
 * host stack) receives datagrams on the sink ports and checks every one byte for byte.
 *
 * Datagram payload (`messageBytes`, at least 16):
 *   [0, 4)   magic 'EOPS' (0x454f5053), big-endian like every field here
 *   [4, 8)   stream id
 *   [8, 12)  sequence number, 0, 1, 2, … (one per datagram offered, sent or not)
 *   [12, 16) payload length (= messageBytes)
 *   [16, n)  pattern: byte i is PATTERN[patternStart(stream id, seq) + i]
 * PATTERN is a fixed pseudo-random 64 KiB table stored twice in a row, so the bytes of a datagram
 * are one contiguous, rotated slice of it: the sender copies it and the sink compares it with one
 * native call each (`Buffer#copy`, `Buffer#compare`), at any size up to 64 KiB, allocating nothing.
 *
 * Sending: the frame is built once (headers, checksum aside); per datagram only the 16 header
 * bytes, the pattern and the UDP checksum are written. Paced streams space datagrams so that the
 * Ethernet frame bytes (no FCS, preamble or gap: EOP carries none) match `rateGbps`, bursting to
 * catch up when behind. Any stream sends only while the interface has room for the destination
 * (`txSpace`); when it has none it waits for `onTxDrained`, like a blocking socket, so a stream
 * never overruns the interface by itself.
 */
import { Buffer } from 'node:buffer';
import { EopError, ErrorCode } from '../errors.js';
import type { EventId } from '../time/scheduler.js';
import type { Bytes, Gbps, Ns } from '../time/units.js';
import {
  buildUdp4,
  buildUdp6,
  finishUdp4Checksum,
  finishUdp6Checksum,
  IPV4_HEADER_LEN,
  IPV6_HEADER_LEN,
  UDP4_PAYLOAD_OFFSET,
  UDP6_PAYLOAD_OFFSET,
  UDP_HEADER_LEN,
  writeMac,
} from '../wire/index.js';
import type { HostStack } from './host-stack.js';
import { throughputGbps } from './stats.js';

export const STREAM_MAGIC = 0x454f5053;
export const STREAM_HEADER_BYTES: Bytes = 16;
/** Largest payload the pattern covers: a UDP datagram cannot exceed 65507 bytes over IPv4 anyway. */
export const MAX_MESSAGE_BYTES: Bytes = 65507;

const PATTERN_PERIOD = 65536;

/** The pattern table (period 64 KiB, stored twice); built on first use. */
let patternTable: Buffer | null = null;

export function pattern(): Buffer {
  if (patternTable) return patternTable;
  const t = Buffer.alloc(2 * PATTERN_PERIOD);
  let x = 0x2545f491;
  for (let i = 0; i < PATTERN_PERIOD; i++) {
    // xorshift32: cheap, fixed, and not a repeating ramp (a shifted copy must not match itself)
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    // Printable ASCII, like chargen's: random binary payloads now and then satisfy one of
    // Wireshark's UDP heuristic dissectors (R-GOOSE/CLTP), which then reports "malformed".
    t[i] = 0x20 + ((x >>> 0) % 95);
  }
  t.copy(t, PATTERN_PERIOD, 0, PATTERN_PERIOD);
  patternTable = t;
  return t;
}

/** Where in the pattern table the payload of (a, b) starts; [0, 65536). */
export function patternStart(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul((b + 0x7f4a7c15) | 0, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  return h & (PATTERN_PERIOD - 1);
}

// ------------------------------------------------------------------------------------------ sender

export interface UdpStreamOptions {
  /** IPv4 address as a number, or a 16-byte IPv6 address. Must be on-link. */
  dst: number | Uint8Array;
  dstPort: number;
  /** Default: the next ephemeral port of the stack (49152 up). */
  srcPort?: number;
  /** UDP payload bytes per datagram: 16 up to MTU − 28 (IPv4) or MTU − 48 (IPv6). */
  messageBytes: number;
  /** Ethernet frame bytes per second to aim for; omit to send as fast as the interface accepts. */
  rateGbps?: Gbps;
  /** Datagrams to offer. At least one of `count` and `durationNs` is needed; both: first reached. */
  count?: number;
  /** Offer datagrams for this long after the first one. */
  durationNs?: Ns;
  /** `meta.alignOffset` of every frame (0..63): models an unaligned packet buffer. */
  alignOffsetBytes?: number;
  /** Virtual time to start at (absolute; default now, never earlier). Resolution comes first. */
  startNs?: Ns;
  onDone?: (s: UdpStream) => void;
}

export class UdpStreamStats {
  /** Datagrams offered to the interface (sequence numbers used). */
  offered = 0;
  /** Of those, accepted by the interface. */
  sentFrames = 0;
  sentPayloadBytes: Bytes = 0;
  /** Ethernet frame bytes accepted (what pacing counts). */
  sentFrameBytes: Bytes = 0;
  /** `transmit` returned false (the interface counted why). */
  droppedByInterface = 0;
  /** Times the stream found no room and waited for the interface to drain. */
  drainWaits = 0;
  /** When the destination was resolved and the first datagram offered; -1 before. */
  startNs: Ns = -1;
  /** When the last datagram was offered; -1 before. */
  endNs: Ns = -1;
  /** Why the stream ended early (e.g. the destination did not resolve); null if it did not. */
  error: string | null = null;

  constructor(
    readonly streamId: number,
    readonly srcPort: number,
    readonly dstPort: number,
    readonly messageBytes: Bytes,
    readonly frameBytes: Bytes,
  ) {}

  /** Frame bytes accepted over [startNs, endNs]. */
  get offeredGbps(): Gbps {
    return this.sentFrames > 1 ? throughputGbps(this.sentFrameBytes - this.frameBytes, this.startNs, this.endNs) : 0;
  }
}

export class UdpStream {
  readonly stats: UdpStreamStats;
  readonly family: 4 | 6;
  done = false;
  onDone: ((s: UdpStream) => void) | null;

  private readonly frame: Uint8Array;
  private readonly hdr: DataView;
  private readonly payloadOff: number;
  private readonly table = pattern();
  private readonly count: number;
  private readonly durationNs: Ns;
  private readonly intervalNs: Ns;
  private readonly align: number;
  private dstMac = -1;
  private deadline: Ns = Infinity;
  private deadlineTimer: EventId = -1;
  private pumpTimer: EventId = -1;
  private waitingDrain = false;
  private lastFailNs: Ns = -1;
  /** The destination, copied (IPv6) so the caller may reuse its array. */
  private readonly dst: number | Uint8Array;

  constructor(
    private readonly stack: HostStack,
    readonly streamId: number,
    o: UdpStreamOptions,
  ) {
    const v6 = typeof o.dst !== 'number';
    this.family = v6 ? 6 : 4;
    const n = o.messageBytes;
    const headerBytes = (v6 ? IPV6_HEADER_LEN : IPV4_HEADER_LEN) + UDP_HEADER_LEN;
    const max = Math.min(stack.mtu - headerBytes, MAX_MESSAGE_BYTES);
    if (!Number.isInteger(n) || n < STREAM_HEADER_BYTES || n > max) {
      throw usage(
        `${stack.name}: UDP stream messageBytes ${n} must be an integer in ${STREAM_HEADER_BYTES}..${max}: ` +
          `MTU ${stack.mtu} minus ${headerBytes} bytes of IPv${v6 ? 6 : 4} and UDP headers ` +
          '(datagrams are never fragmented)',
      );
    }
    if (!isPort(o.dstPort)) throw usage(`${stack.name}: UDP stream dstPort ${o.dstPort} is not a port`);
    if (o.srcPort !== undefined && !isPort(o.srcPort)) {
      throw usage(`${stack.name}: UDP stream srcPort ${o.srcPort} is not a port`);
    }
    if (o.count === undefined && o.durationNs === undefined) {
      throw usage(`${stack.name}: UDP stream needs count or durationNs`);
    }
    if (o.count !== undefined && !(Number.isInteger(o.count) && o.count >= 0)) {
      throw usage(`${stack.name}: UDP stream count ${o.count} must be a whole number`);
    }
    if (o.durationNs !== undefined && !(o.durationNs >= 0)) {
      throw usage(`${stack.name}: UDP stream durationNs ${o.durationNs} must be >= 0`);
    }
    if (o.rateGbps !== undefined && !(o.rateGbps > 0 && Number.isFinite(o.rateGbps))) {
      throw usage(`${stack.name}: UDP stream rateGbps ${o.rateGbps} must be a positive number`);
    }
    const align = o.alignOffsetBytes ?? 0;
    if (!Number.isInteger(align) || align < 0 || align > 63) {
      throw usage(`${stack.name}: UDP stream alignOffsetBytes ${align} must be 0..63`);
    }
    stack.checkOnLink(o.dst, 'UDP stream');
    this.dst = typeof o.dst === 'number' ? o.dst >>> 0 : o.dst.slice(0, 16);
    this.align = align;
    this.count = o.count ?? Infinity;
    this.durationNs = o.durationNs ?? Infinity;
    this.onDone = o.onDone ?? null;
    const srcPort = o.srcPort ?? stack.ephemeralPort();

    this.payloadOff = v6 ? UDP6_PAYLOAD_OFFSET : UDP4_PAYLOAD_OFFSET;
    const frameLen = this.payloadOff + n;
    this.frame = new Uint8Array(frameLen);
    this.hdr = new DataView(this.frame.buffer, this.payloadOff, STREAM_HEADER_BYTES);
    if (v6) {
      const dst = this.dst as Uint8Array;
      buildUdp6(this.frame, {
        srcMac: stack.mac,
        dstMac: 0,
        srcIp: stack.ipv6SourceFor(dst),
        dstIp: dst,
        srcPort,
        dstPort: o.dstPort,
        payloadLen: n,
      });
    } else {
      buildUdp4(this.frame, {
        srcMac: stack.mac,
        dstMac: 0,
        srcIp: stack.ipv4Addr,
        dstIp: this.dst as number,
        srcPort,
        dstPort: o.dstPort,
        payloadLen: n,
      });
    }
    this.hdr.setUint32(0, STREAM_MAGIC);
    this.hdr.setUint32(4, streamId >>> 0);
    this.hdr.setUint32(12, n);
    this.intervalNs = o.rateGbps === undefined ? 0 : (frameLen * 8) / o.rateGbps;
    this.stats = new UdpStreamStats(streamId >>> 0, srcPort, o.dstPort, n, frameLen);
    stack.sched.at(o.startNs ?? stack.sched.now, this.begin);
  }

  get paced(): boolean {
    return this.intervalNs > 0;
  }

  /** Stop offering datagrams now (the stream is done; frames in flight still arrive). */
  stop(): void {
    this.finish();
  }

  private readonly begin = (): void => {
    if (this.done) return;
    this.stack.resolveNeighbor(this.dst, this.onResolved);
  };

  private readonly onResolved = (mac: number | null): void => {
    if (this.done) return;
    if (mac === null) {
      this.stats.error = 'destination did not resolve';
      this.finish();
      return;
    }
    this.dstMac = mac;
    writeMac(this.frame, 0, mac);
    const s = this.stack.sched;
    this.stats.startNs = s.now;
    if (this.durationNs !== Infinity) {
      this.deadline = s.now + this.durationNs;
      this.deadlineTimer = s.at(this.deadline, this.onDeadline);
    }
    // Not from inside the receive path that completed the resolution.
    this.pumpTimer = s.after(0, this.pumpEvent);
  };

  private readonly onDeadline = (): void => {
    this.deadlineTimer = -1;
    // A paced stream finishes from its own clock; an unpaced one may be waiting for a drain.
    if (!this.paced || this.waitingDrain) this.finish();
  };

  private readonly pumpEvent = (): void => {
    this.pumpTimer = -1;
    this.pump();
  };

  private readonly resume = (): void => {
    this.waitingDrain = false;
    if (this.done) return;
    if (this.stack.sched.now === this.lastFailNs) {
      // The interface refused a frame and says it has drained in the same instant (its staging
      // buffers, not its queues, are full): give it a microsecond rather than spin.
      this.pumpTimer = this.stack.sched.after(1_000, this.pumpEvent);
      return;
    }
    this.pump();
  };

  private pump(): void {
    const st = this.stats;
    const port = this.stack.port;
    const sched = this.stack.sched;
    while (!this.done) {
      if (st.offered >= this.count) {
        this.finish();
        return;
      }
      if (this.paced) {
        const t = st.startNs + st.offered * this.intervalNs;
        if (t >= this.deadline) {
          this.finish();
          return;
        }
        if (t > sched.now) {
          this.pumpTimer = sched.at(t, this.pumpEvent);
          return;
        }
      } else if (sched.now >= this.deadline) {
        this.finish();
        return;
      }
      if (port.txSpace(this.dstMac) <= 0) {
        this.waitDrain();
        return;
      }
      if (!this.sendOne()) {
        this.lastFailNs = sched.now;
        this.waitDrain();
        return;
      }
    }
  }

  private waitDrain(): void {
    if (this.waitingDrain) return;
    this.waitingDrain = true;
    this.stats.drainWaits++;
    this.stack.port.onTxDrained(this.resume);
  }

  private sendOne(): boolean {
    const st = this.stats;
    const seq = st.offered++;
    const n = st.messageBytes;
    const f = this.frame;
    this.hdr.setUint32(8, seq >>> 0);
    const start = patternStart(st.streamId, seq);
    this.table.copy(f, this.payloadOff + STREAM_HEADER_BYTES, start + STREAM_HEADER_BYTES, start + n);
    if (this.family === 4) finishUdp4Checksum(f, f.length);
    else finishUdp6Checksum(f, f.length);
    st.endNs = this.stack.sched.now;
    if (!this.stack.sendFrame(f, this.align)) {
      st.droppedByInterface++;
      return false;
    }
    st.sentFrames++;
    st.sentPayloadBytes += n;
    st.sentFrameBytes += f.length;
    return true;
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    const s = this.stack.sched;
    if (this.deadlineTimer >= 0) s.cancel(this.deadlineTimer);
    if (this.pumpTimer >= 0) s.cancel(this.pumpTimer);
    this.deadlineTimer = this.pumpTimer = -1;
    this.onDone?.(this);
  }
}

// ------------------------------------------------------------------------------------------ sink

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

function u32(p: Uint8Array, o: number): number {
  return ((p[o]! << 24) | (p[o + 1]! << 16) | (p[o + 2]! << 8) | p[o + 3]!) >>> 0;
}

function isPort(p: number): boolean {
  return Number.isInteger(p) && p >= 0 && p <= 65535;
}

function usage(msg: string): EopError {
  return new EopError(ErrorCode.USAGE, msg);
}
