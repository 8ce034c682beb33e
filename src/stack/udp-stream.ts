/**
 * `UdpStream` sends a numbered, self-checking datagram stream (format: payload-pattern.ts); the
 * receiving stack's `UdpSink` (udp-sink.ts) checks it.
 *
 * Sending: the frame is built once (headers, checksum aside); per datagram only the 16 header
 * bytes, the pattern and the UDP checksum are written. Paced streams space datagrams so that the
 * Ethernet frame bytes (no FCS, preamble or gap: EOP carries none) match `rateGbps`, bursting to
 * catch up when behind. Any stream sends only while the interface has room for the destination
 * (`txSpace`); when it has none it waits for `onTxDrained`, like a blocking socket, so a stream
 * never overruns the interface by itself.
 */
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
import type { GeneratorHost } from './generator-host.js';
import { MAX_MESSAGE_BYTES, pattern, patternStart, STREAM_HEADER_BYTES, STREAM_MAGIC } from './payload-pattern.js';
import { throughputGbps } from './stats.js';

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
    private readonly stack: GeneratorHost,
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

function isPort(p: number): boolean {
  return Number.isInteger(p) && p >= 0 && p <= 65535;
}

function usage(msg: string): EopError {
  return new EopError(ErrorCode.USAGE, msg);
}
