/**
 * Stream traffic (`udp` and `tcp`): one direction of traffic between two interfaces and, for TCP,
 * its ACKs. UDP and TCP share this sender and receiver because they differ only in the window, the
 * segment size and the ACKs; the differences are the `kind` branches below.
 *
 * - `udp`: the application writes messages as fast as the socket takes them; a message larger
 *   than MTU − 28 goes out as several datagrams (one send call each). No acknowledgements;
 *   a receiver whose socket buffer is full drops (counted as lost). As in Linux, where a
 *   datagram's buffer is charged to the socket's send buffer until the driver has transmitted it,
 *   at most `sndbufBytes` of datagrams sit below the socket at a time (released when they reach
 *   the receiving interface): the interface's queue does not grow without bound.
 * - `tcp`: a reliable stream: the message is cut into segments of MSS = MTU − 40 bytes (frames of
 *   MSS + 54), at most `windowBytes` unacknowledged; the receiver sends one ACK frame back across
 *   the fabric per `ackEverySegments` segments (2, delayed ACK) and at once for a segment with PSH
 *   (the sender sets PSH when a message ends and nothing else is ready, or the window is full).
 *   EOP never loses or reorders frames on a queue pair, so there is no retransmission.
 *
 * Alignment (Marlin's variants): `aligned` hands frames at offset 0 of a 64-byte line; `unaligned`
 * at a seeded random offset 1..63 per message (HRDMA then runs at `unalignedRateFactor`); `copy`
 * hands aligned frames after the sending core copied the payload into an aligned buffer
 * (`alignCopySetupNs` + bytes at `alignCopyGbps`).
 */
import type { EopNic } from '../eop/eop-nic.js';
import type { Rng } from '../time/rng.js';
import type { Scheduler } from '../time/scheduler.js';
import type { Bytes } from '../time/units.js';
import { Flag, Hdr, Kind, header, readU32, writeU32 } from './frames.js';
import { Recorder, copyNs } from './recorder.js';
import type { StackCpu } from './stack-cpu.js';
import type { Variant } from './scenario.js';
import { ACK_FRAME_BYTES, TCP_FRAME_OVERHEAD, UDP_FRAME_OVERHEAD, type StackModel } from './stack-model.js';

interface Segment {
  seq: number;
  msg: number;
  len: Bytes;
  align: number;
  last: boolean;
}

/** One direction of traffic between two interfaces, and (for TCP) its ACKs. */
export class StreamFlow {
  // sender state
  private nextMsg = 0;
  private writing = false;
  private readonly ready: Segment[] = [];
  private readyHead = 0;
  private unsentBytes: Bytes = 0;
  private inflightBytes: Bytes = 0;
  private nextSeq = 0;
  private acked = 0;
  private waitingDrain = false;
  /** A pump is scheduled (UDP: send-buffer space came back); one is enough. */
  private pumpQueued = false;
  private readonly segLen: number[] = [];
  private readonly sentAt: number[] = [];
  private readonly sendCallAt: number[] = [];
  /** Per message, when its first segment was handed to the interface (-1: not yet). */
  private readonly firstTxAt: Float64Array;
  // receiver state
  private readonly rxSegs: Uint32Array;
  private segsSinceAck = 0;
  private rxPendingBytes: Bytes = 0;
  private ackPending = -1;
  private ackWaiting = false;
  // frames
  private readonly buf: Uint8Array;
  private readonly ackBuf = new Uint8Array(ACK_FRAME_BYTES);
  readonly payloadMax: Bytes;
  readonly overhead: Bytes;
  readonly segsPerMsg: number;

  constructor(
    readonly id: number,
    readonly kind: 'udp' | 'tcp',
    private readonly tx: EopNic,
    private readonly rx: EopNic,
    private readonly txCpu: StackCpu,
    private readonly rxCpu: StackCpu,
    private readonly sched: Scheduler,
    private readonly rng: Rng,
    private readonly st: StackModel,
    private readonly alignment: Variant['alignment'],
    readonly messageBytes: Bytes,
    readonly messages: number,
    private readonly rec: Recorder,
    mtu: number,
  ) {
    this.overhead = kind === 'tcp' ? TCP_FRAME_OVERHEAD : UDP_FRAME_OVERHEAD;
    this.payloadMax = kind === 'tcp' ? mtu - 40 : mtu - 28;
    this.segsPerMsg = Math.ceil(messageBytes / this.payloadMax);
    this.rxSegs = new Uint32Array(messages);
    this.firstTxAt = new Float64Array(messages).fill(-1);
    this.buf = new Uint8Array(Math.min(messageBytes, this.payloadMax) + this.overhead);
    header(this.buf, rx.mac, tx.mac, Kind.DATA, id);
    header(this.ackBuf, tx.mac, rx.mac, Kind.ACK, id);
    rec.lastByFlow[id] = 0;
  }

  get frameBytes(): Bytes {
    return this.buf.length;
  }

  start(): void {
    this.startWrite();
  }

  // ------------------------------------------------------------------ sender

  /** The application's next write, if the socket takes it. */
  private startWrite(): void {
    if (this.writing || this.nextMsg >= this.messages) return;
    if (this.unsentBytes >= this.st.windowBytes) return; // socket send buffer full: the write blocks
    this.writing = true;
    const msg = this.nextMsg++;
    const M = this.messageBytes;
    // UDP: one send call per datagram; TCP: one per message.
    const calls = this.kind === 'udp' ? this.segsPerMsg : 1;
    let ns = calls * this.st.sendCallNs + copyNs(M, this.st.userCopyGbps);
    if (this.alignment === 'copy') ns += this.st.alignCopySetupNs + copyNs(M, this.st.alignCopyGbps);
    if (this.st.jitterNs > 0) ns += this.rng.next() * this.st.jitterNs;
    this.sendCallAt[msg] = this.sched.now;
    this.sched.at(this.txCpu.app(ns), this.writeDone, msg);
  }

  private readonly writeDone = (msg: number): void => {
    const align = this.alignment === 'unaligned' ? 1 + this.rng.int(63) : 0;
    let left = this.messageBytes;
    for (let s = 0; s < this.segsPerMsg; s++) {
      const len = Math.min(left, this.payloadMax);
      left -= len;
      this.ready.push({ seq: -1, msg, len, align, last: s === this.segsPerMsg - 1 });
    }
    this.unsentBytes += this.messageBytes;
    this.writing = false;
    if (!this.waitingDrain) this.pump(); // else the drain callback pumps (registering it twice would pump twice)
    this.startWrite();
  };

  private readonly pump = (): void => {
    this.waitingDrain = false;
    const dstMac = this.rx.mac;
    let room = this.tx.txSpace(dstMac);
    while (this.readyHead < this.ready.length) {
      const seg = this.ready[this.readyHead]!;
      const bound = this.kind === 'tcp' ? this.st.windowBytes : this.st.sndbufBytes;
      if (this.inflightBytes > 0 && this.inflightBytes + seg.len > bound) break;
      if (room <= 0) {
        room = this.tx.txSpace(dstMac);
        if (room <= 0) {
          this.waitingDrain = true;
          this.tx.onTxDrained(this.pump);
          break;
        }
      }
      this.readyHead++;
      const seq = this.nextSeq++;
      seg.seq = seq;
      const nextLen = this.readyHead < this.ready.length ? this.ready[this.readyHead]!.len : 0;
      const windowFull = this.kind === 'tcp' && this.inflightBytes + seg.len + nextLen > this.st.windowBytes;
      const psh = this.kind === 'tcp' && ((seg.last && this.readyHead === this.ready.length) || windowFull || (seg.last && seg.msg === this.messages - 1));
      const frameLen = seg.len + this.overhead;
      const f = this.buf.subarray(0, frameLen);
      f[Hdr.FLAGS] = (psh ? Flag.PSH : 0) | (seg.last ? Flag.LAST : 0);
      writeU32(f, Hdr.SEQ, seq);
      writeU32(f, Hdr.MSG, seg.msg);
      if (!this.tx.transmit(f, { alignOffset: seg.align })) throw new Error(`bench flow ${this.id}: interface dropped a frame it had room for`);
      room--;
      if (this.firstTxAt[seg.msg]! < 0) this.firstTxAt[seg.msg] = this.sched.now;
      this.segLen[seq] = seg.len;
      this.sentAt[seq] = this.sched.now;
      this.inflightBytes += seg.len;
      this.unsentBytes -= seg.len;
    }
    if (this.readyHead === this.ready.length) {
      this.ready.length = 0;
      this.readyHead = 0;
    }
    this.startWrite();
  };

  private readonly queuedPump = (): void => {
    this.pumpQueued = false;
    if (!this.waitingDrain) this.pump();
  };

  /** An ACK frame arrived at the sender: the kernel processes it (stack-cpu.ts), then the window opens. */
  onAck(cum: number): void {
    this.sched.at(this.txCpu.ack(this.st.ackRxNs), this.ackDone, cum);
  }

  private readonly ackDone = (cum: number): void => {
    const now = this.sched.now;
    for (let s = this.acked; s < cum; s++) {
      this.inflightBytes -= this.segLen[s]!;
      this.rec.rtt.push(now - this.sentAt[s]!);
    }
    if (cum > this.acked) this.acked = cum;
    if (!this.waitingDrain) this.pump();
  };

  // ------------------------------------------------------------------ receiver

  onData(frame: Uint8Array): void {
    const len = frame.length - this.overhead;
    if (this.kind === 'udp') {
      // The datagram reached the receiving interface: its send-buffer charge is released.
      this.inflightBytes -= len;
      if (!this.waitingDrain && !this.pumpQueued) {
        this.pumpQueued = true;
        this.sched.after(0, this.queuedPump);
      }
    }
    if (this.kind === 'udp' && this.rxPendingBytes + len > this.st.rcvbufBytes) {
      this.rec.lost++; // socket buffer full: the datagram is dropped (its message is incomplete)
      return;
    }
    this.rxPendingBytes += len;
    const seq = readU32(frame, Hdr.SEQ);
    const msg = readU32(frame, Hdr.MSG);
    const flags = frame[Hdr.FLAGS]!;
    const end = this.rxCpu.rxSegment(this.st.rxSegmentNs, copyNs(len, this.st.userCopyGbps));
    this.sched.at(end, this.segDelivered, { seq, msg, flags, len });
  }

  private readonly segDelivered = (s: { seq: number; msg: number; flags: number; len: number }): void => {
    this.rxPendingBytes -= s.len;
    const now = this.sched.now;
    if (++this.rxSegs[s.msg]! === this.segsPerMsg) {
      this.rec.deliveries.push({ t: now, firstTx: this.firstTxAt[s.msg]!, bytes: this.messageBytes, frames: this.segsPerMsg, flow: this.id });
      this.rec.oneWay.push(now - this.sendCallAt[s.msg]!);
      this.rec.lastByFlow[this.id] = now;
    }
    if (this.kind !== 'tcp') return;
    this.segsSinceAck++;
    if (this.segsSinceAck >= this.st.ackEverySegments || s.flags & Flag.PSH) {
      this.segsSinceAck = 0;
      this.sendAck(s.seq + 1);
    }
  };

  private sendAck(cum: number): void {
    this.ackPending = cum;
    if (this.ackWaiting) return;
    if (this.rx.txSpace(this.tx.mac) <= 0) {
      this.ackWaiting = true;
      this.rx.onTxDrained(this.retryAck);
      return;
    }
    writeU32(this.ackBuf, Hdr.SEQ, cum);
    this.ackPending = -1;
    if (!this.rx.transmit(this.ackBuf)) throw new Error(`bench flow ${this.id}: ACK dropped`);
  }

  private readonly retryAck = (): void => {
    this.ackWaiting = false;
    if (this.ackPending >= 0) this.sendAck(this.ackPending);
  };
}
