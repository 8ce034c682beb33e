/**
 * The bench's traffic generators and the run of one point.
 *
 * A point is one variant at one message size, run in a freshly built and booted rack: hosts h1…hn
 * (plus the management host), the variant's link, interrupt mode and copy path. Generators sit
 * directly on the EOP interfaces (`FramePort`): they build real Ethernet frames whose first bytes
 * after the Ethernet header carry what the generators need (kind, flow, sequence, message), and
 * read those bytes back on arrival. The rest of a frame is padding of the right length; no IP or
 * checksum is computed (the host stack in src/stack does that; here only timing matters).
 *
 * Kinds:
 * - `udp`: the application writes messages as fast as the socket takes them; a message larger
 *   than MTU − 28 goes out as several datagrams (one send call each). No acknowledgements;
 *   a receiver whose socket buffer is full drops (counted as lost).
 * - `tcp`: a reliable stream: the message is cut into segments of MSS = MTU − 40 bytes (frames of
 *   MSS + 54), at most `windowBytes` unacknowledged; the receiver sends one ACK frame back across
 *   the fabric per `ackEverySegments` segments (2, delayed ACK) and at once for a segment with PSH
 *   (the sender sets PSH when a message ends and nothing else is ready, or the window is full).
 *   EOP never loses or reorders frames on a queue pair, so there is no retransmission.
 * - `pingpong`: one request of `messageBytes`, the peer answers with as many bytes, the next
 *   request `thinkNs` later: latency, not throughput.
 *
 * Alignment (Marlin's four variants): `aligned` hands frames at offset 0 of a 64-byte line;
 * `unaligned` at a seeded random offset 1..63 per message (HRDMA then runs at
 * `unalignedRateFactor`); `copy` hands aligned frames after the sending core copied the payload
 * into an aligned buffer (`alignCopySetupNs` + bytes at `alignCopyGbps`).
 *
 * Measures (see `PointResult`): throughput counts application bytes of complete messages delivered
 * to the receiving application, over the window in which every flow is past warm-up and still
 * running; latencies are per message, from the send call to the receiving application.
 */
import { EopError, ErrorCode } from '../errors.js';
import { DEFAULT_EOP, type EopNic } from '../eop/eop-nic.js';
import { DEFAULT_CPU } from '../host/cpu-copy.js';
import { DEFAULT_HRDMA } from '../host/hrdma.js';
import { DEFAULT_SWITCH } from '../pcie/fabric.js';
import { DEFAULT_LINK, effectiveWriteGbps, type LinkConfig } from '../pcie/link.js';
import { percentile } from '../stack/stats.js';
import type { Rng } from '../time/rng.js';
import type { Scheduler } from '../time/scheduler.js';
import type { Bytes, Ns } from '../time/units.js';
import { DEFAULT_IRQ_HANDLER_NS, Rack, rackSpec, type HostSpec, type RackSpec } from '../topology/rack.js';
import type { MeasureSettings, Variant } from './scenario.js';
import { ACK_FRAME_BYTES, TCP_FRAME_OVERHEAD, UDP_FRAME_OVERHEAD, type StackModel } from './stack-model.js';

/** Ethertype of bench frames (IEEE 802 local experimental). */
export const BENCH_ETHERTYPE = 0x88b5;
/** Frame kinds, at byte 14. */
export const Kind = { HELLO: 0, DATA: 1, ACK: 2, REQUEST: 3, RESPONSE: 4 } as const;
/** Bench header, right after the Ethernet header (inside the 20/28/40 bytes of IP + L4 header it stands for). */
export const Hdr = { KIND: 14, FLOW: 15, FLAGS: 16, SEQ: 20, MSG: 24 } as const;
export const Flag = { PSH: 1, LAST: 2 } as const;
/** The bench's default MTU: ntb_netdev's largest (a 64 KiB message is 2 frames). */
export const BENCH_DEFAULT_MTU = 65510;
/** A point that has not finished within this much virtual time is reported unfinished. */
export const POINT_LIMIT_NS: Ns = 5e9;

export interface PointSpec {
  scenario: string;
  variant: Variant;
  messageBytes: Bytes;
  seed: number;
  measure: MeasureSettings;
}

export interface Percentiles {
  p50: number;
  p99: number;
}

/** One line of `--json`. Deterministic: the same scenario and seed give the same object. */
export interface PointResult {
  scenario: string;
  variant: string;
  traffic: string;
  alignment: string;
  link: string;
  irqMode: string;
  copyPath: string;
  flows: number;
  hosts: number;
  messageBytes: number;
  /** Data frame size on the wire (Ethernet header included, no FCS). */
  frameBytes: number;
  messages: number;
  /** Application goodput, Gbit/s. */
  gbps: number;
  /**
   * The PCIe limit: a stream of full, aligned MPS-sized memory writes on the link
   * (`effectiveWriteGbps`), times the number of links the flows do not share.
   */
  limitGbps: number;
  /** gbps / limitGbps. */
  efficiency: number;
  framesPerSec: number;
  latencyUs: Percentiles;
  rttUs: Percentiles | null;
  lostMessages: number;
  finished: boolean;
  virtualUs: number;
  events: number;
}

// ----------------------------------------------------------------------------------- rack build

export function macOf(i: number): number {
  return 0x02e0_0000_0000 + i + 1;
}

/** The model's rack description for a variant (defaults from the model's own modules). */
export function rackSpecFor(v: Variant, seed: number): RackSpec {
  const r = v.rack;
  const link: LinkConfig = { ...DEFAULT_LINK, ...(r.link ?? {}), gen: v.gen, width: v.width, mpsBytes: v.mpsBytes } as LinkConfig;
  const hosts: HostSpec[] = [{ name: 'mh', mac: 0, management: true }];
  for (let i = 0; i < v.hosts; i++) hosts.push({ name: `h${i + 1}`, mac: macOf(i) });
  const eop = { ...DEFAULT_EOP, mtu: BENCH_DEFAULT_MTU, ...(r.mtu !== undefined ? { mtu: r.mtu } : {}), ...(r.eop ?? {}), irqMode: v.irqMode };
  if (v.copyPath === 'cpu') eop.copyThresholdBytes = Number.MAX_SAFE_INTEGER;
  return rackSpec(hosts, {
    seed,
    link,
    switch: { ...DEFAULT_SWITCH, ...(r.switch ?? {}) },
    dma: { ...DEFAULT_HRDMA, ...(r.dma ?? {}) },
    cpu: { ...DEFAULT_CPU, ...(r.cpu ?? {}) },
    eop,
    irqHandlerNs: r.irqHandlerNs ?? DEFAULT_IRQ_HANDLER_NS,
  });
}

export function linkLabel(v: Variant): string {
  return `Gen${v.gen} x${v.width} MPS ${v.mpsBytes}`;
}

// ----------------------------------------------------------------------------------- pieces

/** A host core's timeline: work is serialized on it. */
class Core {
  freeAt: Ns = 0;
  constructor(private readonly sched: Scheduler) {}
  /** Occupy the core for `ns` from now or when it frees; returns the end. */
  take(ns: Ns): Ns {
    const now = this.sched.now;
    const start = this.freeAt > now ? this.freeAt : now;
    this.freeAt = start + ns;
    return this.freeAt;
  }
}

interface Delivery {
  t: Ns;
  bytes: Bytes;
  frames: number;
  flow: number;
}

/** What every flow records; the point's numbers come from these. */
class Recorder {
  readonly deliveries: Delivery[] = [];
  readonly oneWay: number[] = [];
  readonly rtt: number[] = [];
  lost = 0;
  lastByFlow: Ns[] = [];
}

const copyNs = (bytes: Bytes, gbps: number): Ns => (bytes * 8) / gbps;

interface Segment {
  seq: number;
  msg: number;
  len: Bytes;
  align: number;
  last: boolean;
}

/** One direction of traffic between two interfaces, and (for TCP) its ACKs. */
class Flow {
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
  private readonly segLen: number[] = [];
  private readonly sentAt: number[] = [];
  private readonly sendCallAt: number[] = [];
  // receiver state
  private readonly rxSegs: Uint16Array;
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
    private readonly txCore: Core,
    private readonly rxCore: Core,
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
    this.rxSegs = new Uint16Array(messages);
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
    this.sched.at(this.txCore.take(ns), this.writeDone, msg);
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
      if (this.kind === 'tcp' && this.inflightBytes > 0 && this.inflightBytes + seg.len > this.st.windowBytes) break;
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
      this.segLen[seq] = seg.len;
      this.sentAt[seq] = this.sched.now;
      this.inflightBytes += seg.len;
      this.unsentBytes -= seg.len;
      if (this.kind === 'udp') this.inflightBytes = 0;
    }
    if (this.readyHead === this.ready.length) {
      this.ready.length = 0;
      this.readyHead = 0;
    }
    this.startWrite();
  };

  /** An ACK frame arrived at the sender: process it on the sender's core, then open the window. */
  onAck(cum: number): void {
    this.sched.at(this.txCore.take(this.st.ackRxNs), this.ackDone, cum);
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
    if (this.kind === 'udp' && this.rxPendingBytes + len > this.st.rcvbufBytes) {
      this.rec.lost++; // socket buffer full: the datagram is dropped (its message is incomplete)
      return;
    }
    this.rxPendingBytes += len;
    const seq = readU32(frame, Hdr.SEQ);
    const msg = readU32(frame, Hdr.MSG);
    const flags = frame[Hdr.FLAGS]!;
    const end = this.rxCore.take(this.st.rxSegmentNs + copyNs(len, this.st.userCopyGbps));
    this.sched.at(end, this.segDelivered, { seq, msg, flags, len });
  }

  private readonly segDelivered = (s: { seq: number; msg: number; flags: number; len: number }): void => {
    this.rxPendingBytes -= s.len;
    const now = this.sched.now;
    if (++this.rxSegs[s.msg]! === this.segsPerMsg) {
      this.rec.deliveries.push({ t: now, bytes: this.messageBytes, frames: this.segsPerMsg, flow: this.id });
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

/** Request/response of `messageBytes` each way, one at a time. */
class PingPong {
  private round = 0;
  private reqAt: Ns = 0;
  private readonly bufs: [Uint8Array, Uint8Array];
  private readonly payloadMax: Bytes;
  private readonly frames: number;
  private rxCount = [0, 0];

  constructor(
    readonly id: number,
    private readonly client: EopNic,
    private readonly server: EopNic,
    private readonly cores: [Core, Core],
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
    this.sched.at(this.cores[side].take(ns), side === 0 ? this.emitReq : this.emitResp);
  }

  private readonly emitReq = (): void => this.emit(0);
  private readonly emitResp = (): void => this.emit(1);

  private emit(side: 0 | 1): void {
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
    const core = this.cores[side];
    this.sched.at(core.take(this.st.rxSegmentNs + copyNs(len, this.st.userCopyGbps)), side === 1 ? this.reqSeg : this.respSeg);
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
    this.rec.deliveries.push({ t: now, bytes: 2 * this.messageBytes, frames: 2 * this.frames, flow: this.id });
    this.rec.lastByFlow[this.id] = now;
    if (++this.round < this.rounds) this.sched.after(this.st.thinkNs, () => this.send(0));
  };
}

function header(f: Uint8Array, dst: number, src: number, kind: number, flow: number): void {
  writeMac(f, 0, dst);
  writeMac(f, 6, src);
  f[12] = BENCH_ETHERTYPE >> 8;
  f[13] = BENCH_ETHERTYPE & 0xff;
  f[Hdr.KIND] = kind;
  f[Hdr.FLOW] = flow;
}

function writeMac(f: Uint8Array, off: number, mac: number): void {
  const hi = Math.floor(mac / 2 ** 32);
  const lo = mac >>> 0;
  f[off] = (hi >>> 8) & 0xff;
  f[off + 1] = hi & 0xff;
  f[off + 2] = lo >>> 24;
  f[off + 3] = (lo >>> 16) & 0xff;
  f[off + 4] = (lo >>> 8) & 0xff;
  f[off + 5] = lo & 0xff;
}

function writeU32(f: Uint8Array, off: number, v: number): void {
  f[off] = v >>> 24;
  f[off + 1] = (v >>> 16) & 0xff;
  f[off + 2] = (v >>> 8) & 0xff;
  f[off + 3] = v & 0xff;
}

function readU32(f: Uint8Array, off: number): number {
  return ((f[off]! << 24) | (f[off + 1]! << 16) | (f[off + 2]! << 8) | f[off + 3]!) >>> 0;
}

// ----------------------------------------------------------------------------------- the point

/** Messages per flow for a point: `bytes / size`, clamped, shared among the flows. */
export function messagesFor(m: MeasureSettings, messageBytes: Bytes, flows: number): number {
  const n = Math.ceil(m.bytes / messageBytes / flows);
  return Math.max(m.minMessages, Math.min(m.maxMessages, n));
}

/** Work estimate (frames) for progress and ETA. */
export function estimateFrames(p: PointSpec): number {
  const v = p.variant;
  const mtu = v.rack.mtu ?? BENCH_DEFAULT_MTU;
  if (v.traffic === 'pingpong') return 2 * p.measure.pingRounds * Math.ceil(p.messageBytes / (mtu - 28)) * v.flows;
  return messagesFor(p.measure, p.messageBytes, v.flows) * v.flows * Math.ceil(p.messageBytes / (mtu - 40)) * (v.traffic === 'tcp' ? 1.5 : 1);
}

/** (sender, receiver) host indices of flow `f`. */
export function flowEnds(v: Variant, f: number): [number, number] {
  if (v.pattern === 'incast') return [f % (v.hosts - 1), v.hosts - 1];
  const pairs = Math.max(1, Math.floor(v.hosts / 2));
  const p = f % pairs;
  return [2 * p, 2 * p + 1];
}

const round = (x: number, d: number): number => {
  const k = 10 ** d;
  return Math.round(x * k) / k;
};

function pct(values: number[]): Percentiles {
  const s = Float64Array.from(values).sort();
  return { p50: round(percentile(s, 50) / 1000, 3), p99: round(percentile(s, 99) / 1000, 3) };
}

/** Seed of a point: the scenario's seed mixed with the point's identity, so points are independent. */
export function pointSeed(seed: number, variant: string, messageBytes: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const ch of `${variant}/${messageBytes}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}

/** Build, boot, run and measure one point. */
export function runPoint(p: PointSpec): PointResult {
  const v = p.variant;
  const spec = rackSpecFor(v, pointSeed(p.seed, v.name, p.messageBytes));
  const rack = new Rack(spec);
  rack.boot();
  const sched = rack.sched;
  const nics = Array.from({ length: v.hosts }, (_, i) => rack.nic(`h${i + 1}`));
  // Everyone says hello once (broadcast), so every interface knows which peer owns which MAC.
  const hello = new Uint8Array(60);
  for (const n of nics) {
    header(hello, 0xffff_ffff_ffff, n.mac, Kind.HELLO, 0);
    n.transmit(hello);
  }
  sched.run();
  const t0 = sched.now;
  const events0 = sched.executed;
  // One core per flow end: each flow is its own application thread on its own core (iperf -P
  // style), while all flows between two hosts share that pair's queue pair, HRDMA engine and links.
  const core = (): Core => new Core(sched);
  const rec = new Recorder();
  const st = v.stack;
  const mtu = spec.eop.mtu;
  const rng = sched.rng;
  const flows: Flow[] = [];
  const pings: PingPong[] = [];
  // Per interface: flow id → handler.
  const handlers = nics.map(() => new Map<number, (f: Uint8Array) => void>());
  let frameBytes = 0;
  let messages = 0;
  for (let f = 0; f < v.flows; f++) {
    const [a, b] = flowEnds(v, f);
    if (v.traffic === 'pingpong') {
      const pp = new PingPong(f, nics[a]!, nics[b]!, [core(), core()], sched, rng, st, v.alignment, p.messageBytes, p.measure.pingRounds, rec, mtu);
      handlers[b]!.set(f, (fr) => pp.onFrame(fr, 1));
      handlers[a]!.set(f, (fr) => pp.onFrame(fr, 0));
      pings.push(pp);
      frameBytes = pp.frameBytes;
      messages += p.measure.pingRounds;
    } else {
      const n = messagesFor(p.measure, p.messageBytes, v.flows);
      const fl = new Flow(f, v.traffic, nics[a]!, nics[b]!, core(), core(), sched, rng, st, v.alignment, p.messageBytes, n, rec, mtu);
      handlers[b]!.set(f, (fr) => fl.onData(fr));
      handlers[a]!.set(f, (fr) => fl.onAck(readU32(fr, Hdr.SEQ)));
      flows.push(fl);
      frameBytes = fl.frameBytes;
      messages += n;
    }
  }
  nics.forEach((n, i) => {
    const hs = handlers[i]!;
    n.setReceiver((fr) => {
      if (fr.length < 28 || fr[12] !== BENCH_ETHERTYPE >> 8 || fr[13] !== (BENCH_ETHERTYPE & 0xff) || fr[Hdr.KIND] === Kind.HELLO) return;
      hs.get(fr[Hdr.FLOW]!)?.(fr);
    });
  });
  for (const f of flows) f.start();
  for (const pp of pings) pp.start();
  sched.runUntil(t0 + POINT_LIMIT_NS);
  const finished = sched.pending === 0;

  // Throughput window: from the end of warm-up to the moment the first flow finished.
  const d = rec.deliveries;
  const warm = Math.min(d.length - 2, Math.floor(d.length * p.measure.warmupFraction));
  let gbps = 0;
  let fps = 0;
  if (warm >= 0 && d.length >= 2) {
    const tStart = d[warm]!.t;
    let tEnd = Infinity;
    for (const t of rec.lastByFlow) if (t < tEnd) tEnd = t;
    let bytes = 0;
    let frames = 0;
    let last = tStart;
    for (let i = warm + 1; i < d.length; i++) {
      const x = d[i]!;
      if (x.t > tEnd) break;
      bytes += x.bytes;
      frames += x.frames;
      last = x.t;
    }
    if (last > tStart) {
      gbps = (bytes * 8) / (last - tStart);
      fps = (frames * 1e9) / (last - tStart);
    }
  }
  const oneWay = rec.oneWay.slice(Math.floor(rec.oneWay.length * p.measure.warmupFraction));
  const rtt = rec.rtt.slice(Math.floor(rec.rtt.length * p.measure.warmupFraction));
  // The best the links could do: one link's write limit per link that no other flow shares (4 pairs
  // side by side have 4 links' worth; 4 senders into one receiver share its down-link).
  const senders = new Set<number>();
  const receivers = new Set<number>();
  for (let f = 0; f < v.flows; f++) {
    const [a, b] = flowEnds(v, f);
    senders.add(a);
    receivers.add(b);
  }
  const limit = effectiveWriteGbps(spec.link) * Math.min(senders.size, receivers.size);
  return {
    scenario: p.scenario,
    variant: v.name,
    traffic: v.traffic,
    alignment: v.alignment,
    link: linkLabel(v),
    irqMode: v.irqMode,
    copyPath: v.copyPath,
    flows: v.flows,
    hosts: v.hosts,
    messageBytes: p.messageBytes,
    frameBytes,
    messages,
    gbps: round(gbps, 3),
    limitGbps: round(limit, 3),
    efficiency: round(gbps / limit, 4),
    framesPerSec: Math.round(fps),
    latencyUs: pct(oneWay),
    rttUs: v.traffic === 'udp' || rtt.length === 0 ? null : pct(rtt),
    lostMessages: v.traffic === 'udp' ? messages - d.length : 0,
    finished,
    virtualUs: round((Math.max(t0, ...rec.lastByFlow) - t0) / 1000, 3),
    events: sched.executed - events0,
  };
}
