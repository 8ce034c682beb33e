/**
 * Ping-pong traffic (`pingpong`): one request of `messageBytes`, the peer answers with as many
 * bytes, the next request `thinkNs` later. It measures latency, not throughput.
 */
import { EopError, ErrorCode } from '../errors.js';
import type { EopNic } from '../eop/eop-nic.js';
import type { Rng } from '../time/rng.js';
import type { Scheduler } from '../time/scheduler.js';
import type { Bytes, Ns } from '../time/units.js';
import { Hdr, Kind, header, writeU32 } from './frames.js';
import { Recorder, copyNs } from './recorder.js';
import type { StackCpu } from './stack-cpu.js';
import type { Variant } from './scenario.js';
import { UDP_FRAME_OVERHEAD, type StackModel } from './stack-model.js';

/** Request/response of `messageBytes` each way, one at a time. */
export class PingPong {
  private round = 0;
  private reqAt: Ns = 0;
  /** When the current request's first frame was handed to the interface. */
  private reqTxAt: Ns = 0;
  private readonly bufs: [Uint8Array, Uint8Array];
  private readonly payloadMax: Bytes;
  private readonly frames: number;
  private rxCount = [0, 0];

  constructor(
    readonly id: number,
    private readonly client: EopNic,
    private readonly server: EopNic,
    private readonly cpus: [StackCpu, StackCpu],
    private readonly sched: Scheduler,
    private readonly rng: Rng,
    private readonly st: StackModel,
    private readonly alignment: Variant['alignment'],
    readonly messageBytes: Bytes,
    readonly rounds: number,
    private readonly rec: Recorder,
    mtu: number,
  ) {
    this.payloadMax = mtu - 28;
    this.frames = Math.ceil(messageBytes / this.payloadMax);
    // A message is handed over in one go: it must fit the room the interface gives a sender.
    const room = client.cfg.txQueueFrames - (client.cfg.txQueueFrames >> 3);
    if (this.frames > room) {
      throw new EopError(
        ErrorCode.CONFIG_INVALID,
        `ping-pong: a ${messageBytes}-byte message is ${this.frames} frames at MTU ${mtu}, more than the ${room} a sender may queue; raise rack.mtu or rack.eop.txQueueFrames`,
      );
    }
    const fb = Math.min(messageBytes, this.payloadMax) + UDP_FRAME_OVERHEAD;
    this.bufs = [new Uint8Array(fb), new Uint8Array(fb)];
    header(this.bufs[0], server.mac, client.mac, Kind.REQUEST, id);
    header(this.bufs[1], client.mac, server.mac, Kind.RESPONSE, id);
    rec.lastByFlow[id] = 0;
  }

  get frameBytes(): Bytes {
    return this.bufs[0].length;
  }

  start(): void {
    this.send(0);
  }

  /** side 0: the client sends a request; side 1: the server sends the response. */
  private send(side: 0 | 1): void {
    const M = this.messageBytes;
    let ns = this.frames * this.st.sendCallNs + copyNs(M, this.st.userCopyGbps);
    if (this.alignment === 'copy') ns += this.st.alignCopySetupNs + copyNs(M, this.st.alignCopyGbps);
    if (this.st.jitterNs > 0) ns += this.rng.next() * this.st.jitterNs;
    if (side === 0) this.reqAt = this.sched.now;
    this.sched.at(this.cpus[side].app(ns), side === 0 ? this.emitReq : this.emitResp);
  }

  private readonly emitReq = (): void => this.emit(0);
  private readonly emitResp = (): void => this.emit(1);

  private emit(side: 0 | 1): void {
    if (side === 0) this.reqTxAt = this.sched.now;
    const nic = side === 0 ? this.client : this.server;
    const peer = side === 0 ? this.server : this.client;
    const align = this.alignment === 'unaligned' ? 1 + this.rng.int(63) : 0;
    let left = this.messageBytes;
    const buf = this.bufs[side];
    for (let k = 0; k < this.frames; k++) {
      const len = Math.min(left, this.payloadMax);
      left -= len;
      const f = buf.subarray(0, len + UDP_FRAME_OVERHEAD);
      writeU32(f, Hdr.SEQ, k);
      writeU32(f, Hdr.MSG, this.round);
      // A ping-pong message is at most 2 frames at MTU 65,510: the queue always has room.
      if (nic.txSpace(peer.mac) <= 0 || !nic.transmit(f, { alignOffset: align })) throw new Error('ping-pong: interface refused a frame');
    }
  }

  onFrame(frame: Uint8Array, side: 0 | 1): void {
    const len = frame.length - UDP_FRAME_OVERHEAD;
    const end = this.cpus[side].rxSegment(this.st.rxSegmentNs, copyNs(len, this.st.userCopyGbps));
    this.sched.at(end, side === 1 ? this.reqSeg : this.respSeg);
  }

  private readonly reqSeg = (): void => {
    if (++this.rxCount[1]! < this.frames) return;
    this.rxCount[1] = 0;
    this.rec.oneWay.push(this.sched.now - this.reqAt);
    this.send(1);
  };

  private readonly respSeg = (): void => {
    if (++this.rxCount[0]! < this.frames) return;
    this.rxCount[0] = 0;
    const now = this.sched.now;
    this.rec.rtt.push(now - this.reqAt);
    this.rec.deliveries.push({ t: now, firstTx: this.reqTxAt, bytes: 2 * this.messageBytes, frames: 2 * this.frames, flow: this.id });
    this.rec.lastByFlow[this.id] = now;
    if (++this.round < this.rounds) this.sched.after(this.st.thinkNs, () => this.send(0));
  };
}
