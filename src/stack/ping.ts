/**
 * Pinger: ICMP echo (IPv4) or ICMPv6 echo generator with RTT statistics, like `ping -c`.
 *
 * - Request n (n = 1..count) leaves at start + (n − 1) × interval. The first one may wait in the
 *   neighbour queue while the destination resolves, so its RTT includes the resolution, as with
 *   a real ping after an empty ARP cache.
 * - The identifier is unique per pinger on its stack. The payload is the send time (float64,
 *   big-endian, first 8 bytes) followed by the stream pattern of (identifier, sequence): a reply
 *   counts only if its payload is the request's, byte for byte; otherwise it is `corrupt`.
 * - A request is pending until its reply comes or `timeoutNs` passes (then it is lost; a reply
 *   after that counts as `late`, never as received). The pinger is done when every request has
 *   left and none is pending; `result` is set then and `onDone` called. Late replies that arrive
 *   after that still increment `result.late`.
 */
import { EopError, ErrorCode } from '../errors.js';
import type { EventId } from '../time/scheduler.js';
import { NS_PER_S, NS_PER_US, type Bytes, type Ns } from '../time/units.js';
import {
  buildIcmpv4Echo,
  buildIcmpv6Echo,
  formatIpv4,
  formatIpv6,
  ICMPV4_HEADER_LEN,
  ICMPV6_HEADER_LEN,
  IPV4_HEADER_LEN,
  IPV6_HEADER_LEN,
  type Icmpv4EchoOptions,
  type Icmpv6EchoOptions,
} from '../wire/index.js';
import type { GeneratorHost } from './generator-host.js';
import { pattern, patternStart } from './payload-pattern.js';
import { summarize, type Summary } from './stats.js';

export interface PingOptions {
  /** IPv4 address as a number, or a 16-byte IPv6 address (ping6). Must be on-link. */
  dst: number | Uint8Array;
  /** Requests to send, 1..65535 (default 10). */
  count?: number;
  /** Time between requests (default 100 µs). */
  intervalNs?: Ns;
  /** Echo data bytes after the ICMP header (default 56, as ping's). */
  payloadBytes?: Bytes;
  /** How long a request waits for its reply (default 1 s of virtual time). */
  timeoutNs?: Ns;
  onDone?: (p: Pinger) => void;
}

export interface PingResult {
  /** Destination as text. */
  dst: string;
  family: 4 | 6;
  id: number;
  sent: number;
  /** Distinct good replies within the timeout. */
  received: number;
  /** sent − received. */
  lost: number;
  duplicates: number;
  /** Replies whose payload or sequence number did not match a request. */
  corrupt: number;
  /** Good replies that came after their timeout. */
  late: number;
  /** Round-trip times of the received replies, in ns. */
  rtt: Summary;
  /** Every RTT in arrival order, in ns. */
  rttsNs: number[];
  /** When the first request was sent and when the pinger finished. */
  startNs: Ns;
  endNs: Ns;
}

// State of each sequence number (0: not sent yet).
const PENDING = 1;
const ANSWERED = 2;
const EXPIRED = 3;

export class Pinger {
  readonly family: 4 | 6;
  readonly count: number;
  readonly intervalNs: Ns;
  readonly payloadBytes: Bytes;
  readonly timeoutNs: Ns;
  result: PingResult | null = null;
  done = false;
  onDone: ((p: Pinger) => void) | null;

  sent = 0;
  received = 0;
  duplicates = 0;
  corrupt = 0;
  late = 0;
  private pending = 0;
  private startNs: Ns = -1;
  private readonly rtts: number[] = [];
  private readonly state: Uint8Array;
  private readonly sendTimes: Float64Array;
  private readonly timers: Float64Array;
  private readonly payload: Uint8Array;
  private readonly payloadView: DataView;
  private readonly expect: Uint8Array;
  private readonly expectView: DataView;
  private readonly frame: Uint8Array;
  private readonly opts4: Icmpv4EchoOptions | null = null;
  private readonly opts6: Icmpv6EchoOptions | null = null;
  private readonly t0: Ns;
  private sendTimer: EventId = -1;
  private stopped = false;

  /** The destination, copied (IPv6) so the caller may reuse its array. */
  private readonly dst: number | Uint8Array;

  constructor(
    private readonly stack: GeneratorHost,
    readonly id: number,
    o: PingOptions,
  ) {
    const dst = typeof o.dst === 'number' ? o.dst >>> 0 : o.dst.slice(0, 16);
    this.dst = dst;
    const v6 = typeof dst !== 'number';
    this.family = v6 ? 6 : 4;
    this.count = o.count ?? 10;
    this.intervalNs = o.intervalNs ?? 100 * NS_PER_US;
    this.payloadBytes = o.payloadBytes ?? 56;
    this.timeoutNs = o.timeoutNs ?? NS_PER_S;
    this.onDone = o.onDone ?? null;
    const headers = v6 ? IPV6_HEADER_LEN + ICMPV6_HEADER_LEN : IPV4_HEADER_LEN + ICMPV4_HEADER_LEN;
    const maxPayload = stack.mtu - headers;
    const bad = (what: string): EopError => new EopError(ErrorCode.USAGE, `${stack.name}: ping ${what}`);
    if (!Number.isInteger(this.count) || this.count < 1 || this.count > 65535) {
      throw bad(`count ${this.count} must be 1..65535`);
    }
    if (!(this.intervalNs >= 0) || !Number.isFinite(this.intervalNs)) throw bad(`intervalNs ${this.intervalNs} must be >= 0`);
    if (!(this.timeoutNs > 0)) throw bad(`timeoutNs ${this.timeoutNs} must be > 0`);
    if (!Number.isInteger(this.payloadBytes) || this.payloadBytes < 0 || this.payloadBytes > maxPayload) {
      throw bad(`payloadBytes ${this.payloadBytes} must be 0..${maxPayload} (MTU ${stack.mtu} minus ${headers} header bytes)`);
    }
    stack.checkOnLink(dst, 'ping');

    const n = this.count + 1;
    this.state = new Uint8Array(n);
    this.sendTimes = new Float64Array(n);
    this.timers = new Float64Array(n);
    this.payload = new Uint8Array(this.payloadBytes);
    this.payloadView = new DataView(this.payload.buffer);
    this.expect = new Uint8Array(this.payloadBytes);
    this.expectView = new DataView(this.expect.buffer);
    this.frame = new Uint8Array(14 + headers + this.payloadBytes);
    if (v6) {
      const d = dst as Uint8Array;
      this.opts6 = {
        srcMac: stack.mac,
        dstMac: 0,
        srcIp: stack.ipv6SourceFor(d),
        dstIp: d,
        type: 'request',
        id,
        seq: 0,
        payload: this.payload,
      };
    } else {
      this.opts4 = {
        srcMac: stack.mac,
        dstMac: 0,
        srcIp: stack.ipv4Addr,
        dstIp: dst as number,
        type: 'request',
        id,
        seq: 0,
        payload: this.payload,
      };
    }
    this.t0 = stack.sched.now;
    this.sendTimer = stack.sched.after(0, this.sendNext);
  }

  get dstText(): string {
    return typeof this.dst === 'number' ? formatIpv4(this.dst) : formatIpv6(this.dst);
  }

  /** Stop sending; pending requests still wait for their replies or timeouts. */
  stop(): void {
    if (this.sendTimer >= 0) {
      this.stack.sched.cancel(this.sendTimer);
      this.sendTimer = -1;
    }
    this.stopped = true;
    this.maybeFinish();
  }

  private readonly sendNext = (): void => {
    this.sendTimer = -1;
    if (this.stopped) return;
    const s = this.stack.sched;
    const seq = this.sent + 1;
    const now = s.now;
    if (this.startNs < 0) this.startNs = now;
    this.sendTimes[seq] = now;
    this.fillPayload(this.payload, this.payloadView, seq, now);
    let len: number;
    if (this.opts4) {
      this.opts4.seq = seq;
      len = buildIcmpv4Echo(this.frame, this.opts4);
    } else {
      this.opts6!.seq = seq;
      len = buildIcmpv6Echo(this.frame, this.opts6!);
    }
    this.sent = seq;
    this.state[seq] = PENDING;
    this.pending++;
    this.timers[seq] = s.after(this.timeoutNs, this.expire, seq);
    // A refused or queued frame is still a request sent: it times out if no reply comes.
    this.stack.sendIp(this.frame, len, this.dst);
    if (this.sent < this.count) this.sendTimer = s.at(this.t0 + this.sent * this.intervalNs, this.sendNext);
  };

  private readonly expire = (seq: number): void => {
    if (this.state[seq] !== PENDING) return;
    this.state[seq] = EXPIRED;
    this.pending--;
    this.maybeFinish();
  };

  /** @internal An echo reply with our identifier reached the stack. */
  onReply(seq: number, data: Uint8Array): void {
    if (seq < 1 || seq > this.sent || data.length !== this.payloadBytes) {
      this.corrupt++;
      return;
    }
    this.fillPayload(this.expect, this.expectView, seq, this.sendTimes[seq]!);
    for (let i = 0; i < data.length; i++) {
      if (data[i] !== this.expect[i]) {
        this.corrupt++;
        return;
      }
    }
    switch (this.state[seq]) {
      case PENDING: {
        const s = this.stack.sched;
        this.state[seq] = ANSWERED;
        this.pending--;
        this.received++;
        this.rtts.push(s.now - this.sendTimes[seq]!);
        s.cancel(this.timers[seq]!);
        this.maybeFinish();
        return;
      }
      case ANSWERED:
        this.duplicates++;
        if (this.result) this.result.duplicates = this.duplicates;
        return;
      case EXPIRED:
        this.late++;
        if (this.result) this.result.late = this.late;
        return;
    }
  }

  private maybeFinish(): void {
    if (this.done || this.pending > 0) return;
    if (this.sent < this.count && !this.stopped) return;
    this.done = true;
    const now = this.stack.sched.now;
    this.result = {
      dst: this.dstText,
      family: this.family,
      id: this.id,
      sent: this.sent,
      received: this.received,
      lost: this.sent - this.received,
      duplicates: this.duplicates,
      corrupt: this.corrupt,
      late: this.late,
      rtt: summarize(this.rtts),
      rttsNs: this.rtts.slice(),
      startNs: this.startNs,
      endNs: now,
    };
    this.onDone?.(this);
  }

  /** Send time, then the pattern of (id, seq); `buf` has at least payloadBytes bytes. */
  private fillPayload(buf: Uint8Array, view: DataView, seq: number, sentAt: Ns): void {
    const n = this.payloadBytes;
    const start = patternStart(this.id, seq);
    pattern().copy(buf, 0, start, start + n);
    // Below 8 bytes of payload there is no room for the time: the pattern alone is checked.
    if (n >= 8) view.setFloat64(0, sentAt);
  }
}
