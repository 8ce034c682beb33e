/**
 * One bench point: one variant at one message size, run in a freshly built and booted rack
 * (variant-rack.ts). Generators sit directly on the EOP interfaces (`FramePort`): they build real
 * Ethernet frames whose first bytes after the Ethernet header carry what the generators need
 * (frames.ts), and read those bytes back on arrival. Traffic kinds: stream-flow.ts (`udp`,
 * `tcp`), ping-pong.ts (`pingpong`). The numbers come from measure.ts.
 */
import { installFaults, type InstalledFaults } from '../topology/install-faults.js';
import { Rack } from '../topology/rack.js';
import type { Bytes, Ns } from '../time/units.js';
import { Hdr, Kind, header, isBenchTraffic, readU32 } from './frames.js';
import { limitOf, percentilesUs, round, throughputOf, type Percentiles } from './measure.js';
import { PingPong } from './ping-pong.js';
import { Recorder } from './recorder.js';
import { StackCpu, appCoreOf } from './stack-cpu.js';
import type { MeasureSettings, Variant } from './scenario.js';
import { StreamFlow } from './stream-flow.js';
import { BENCH_DEFAULT_MTU, linkLabel, rackSpecFor } from './variant-rack.js';

export type { Percentiles } from './measure.js';

/** A point that has not finished within this much virtual time is reported unfinished. */
export const POINT_LIMIT_NS: Ns = 5e9;

export interface PointSpec {
  scenario: string;
  variant: Variant;
  messageBytes: Bytes;
  seed: number;
  measure: MeasureSettings;
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
   * The PCIe limit (measure.ts `limitOf`): a stream of full, aligned writes of the copy path's TLP
   * size (MPS for HRDMA, 64 B for CPU stores) on the link, times the number of links the flows do
   * not share. `gbps` never exceeds it, by construction of the measuring window.
   */
  limitGbps: number;
  /** TLP payload the limit assumes: the link's MPS, or 64 for CPU copies. */
  limitTlpBytes: number;
  /** How many links' limits `limitGbps` adds up (links not shared by the flows). */
  limitLinks: number;
  /** gbps / limitGbps. */
  efficiency: number;
  framesPerSec: number;
  latencyUs: Percentiles;
  rttUs: Percentiles | null;
  lostMessages: number;
  finished: boolean;
  virtualUs: number;
  events: number;
  /** Present when the scenario injects faults: what struck and recovered, by kind. */
  faults?: { injected: Record<string, number>; recovered: Record<string, number>; unstruck: string[] };
}

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

/** Seed of a point: the scenario's seed mixed with the point's identity, so points are independent. */
export function pointSeed(seed: number, variant: string, messageBytes: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const ch of `${variant}/${messageBytes}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}

/** Everyone says hello once (broadcast), so every interface knows which peer owns which MAC. */
function sayHello(rack: Rack, hosts: number): void {
  const hello = new Uint8Array(60);
  for (let i = 0; i < hosts; i++) {
    const n = rack.nic(`h${i + 1}`);
    header(hello, 0xffff_ffff_ffff, n.mac, Kind.HELLO, 0);
    n.transmit(hello);
  }
  rack.sched.run();
}

/** Build, boot, run and measure one point. */
export function runPoint(p: PointSpec): PointResult {
  const v = p.variant;
  const spec = rackSpecFor(v, pointSeed(p.seed, v.name, p.messageBytes));
  const rack = new Rack(spec);
  rack.boot();
  const sched = rack.sched;
  const nics = Array.from({ length: v.hosts }, (_, i) => rack.nic(`h${i + 1}`));
  sayHello(rack, v.hosts);
  const t0 = sched.now;
  // The scenario's faults, `atUs` after the traffic starts (a rack file's count from boot).
  const faults = v.faults.length > 0 ? installFaults({ faults: v.faults }, rack) : null;
  const events0 = sched.executed;
  // Each flow is its own application thread (iperf -P style) on one of its host's cores, shared
  // with the driver and the other flows (stack-cpu.ts); all flows between two hosts share that
  // pair's queue pair, HRDMA engine and links.
  const hostOf = (i: number) => rack.host(`h${i + 1}`);
  const cpu = (i: number, f: number): StackCpu => new StackCpu(hostOf(i), appCoreOf(f, hostOf(i).cores.count));
  const rec = new Recorder();
  const st = v.stack;
  const mtu = spec.eop.mtu;
  const rng = sched.rng;
  const starters: { start(): void }[] = [];
  // Per interface: flow id → handler.
  const handlers = nics.map(() => new Map<number, (f: Uint8Array) => void>());
  const ends: [number, number][] = [];
  let frameBytes = 0;
  let messages = 0;
  for (let f = 0; f < v.flows; f++) {
    const [a, b] = flowEnds(v, f);
    ends.push([a, b]);
    if (v.traffic === 'pingpong') {
      const pp = new PingPong(f, nics[a]!, nics[b]!, [cpu(a, f), cpu(b, f)], sched, rng, st, v.alignment, p.messageBytes, p.measure.pingRounds, rec, mtu);
      handlers[b]!.set(f, (fr) => pp.onFrame(fr, 1));
      handlers[a]!.set(f, (fr) => pp.onFrame(fr, 0));
      starters.push(pp);
      frameBytes = pp.frameBytes;
      messages += p.measure.pingRounds;
    } else {
      const n = messagesFor(p.measure, p.messageBytes, v.flows);
      const fl = new StreamFlow(f, v.traffic, nics[a]!, nics[b]!, cpu(a, f), cpu(b, f), sched, rng, st, v.alignment, p.messageBytes, n, rec, mtu);
      handlers[b]!.set(f, (fr) => fl.onData(fr));
      handlers[a]!.set(f, (fr) => fl.onAck(readU32(fr, Hdr.SEQ)));
      starters.push(fl);
      frameBytes = fl.frameBytes;
      messages += n;
    }
  }
  nics.forEach((n, i) => {
    const hs = handlers[i]!;
    n.setReceiver((fr) => {
      if (isBenchTraffic(fr)) hs.get(fr[Hdr.FLOW]!)?.(fr);
    });
  });
  for (const s of starters) s.start();
  sched.runUntil(t0 + POINT_LIMIT_NS);
  const finished = sched.pending === 0;

  const tp = throughputOf(rec, p.measure.warmupFraction);
  // The data frames go by CPU copy when the variant says so, or when even the largest is below
  // the copy threshold (the driver picks DMA for a batch holding any frame at or above it).
  const cpuOnly = v.copyPath === 'cpu' || frameBytes < spec.eop.copyThresholdBytes;
  const limit = limitOf(spec.link, ends, { cpuOnly });
  const rttKnown = v.traffic !== 'udp' && rec.rtt.length > 0;
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
    gbps: round(tp.gbps, 3),
    limitGbps: round(limit.gbps, 3),
    limitLinks: limit.links,
    limitTlpBytes: limit.tlpBytes,
    efficiency: round(tp.gbps / limit.gbps, 4),
    framesPerSec: Math.round(tp.framesPerSec),
    latencyUs: percentilesUs(rec.oneWay, p.measure.warmupFraction),
    rttUs: rttKnown ? percentilesUs(rec.rtt, p.measure.warmupFraction) : null,
    lostMessages: v.traffic === 'udp' ? messages - rec.deliveries.length : 0,
    finished,
    virtualUs: round((Math.max(t0, ...rec.lastByFlow) - t0) / 1000, 3),
    events: sched.executed - events0,
    ...(faults ? { faults: pointFaults(faults) } : {}),
  };
}

/** The point's faults as it saw them: counts by kind, and what was armed but never struck. */
function pointFaults(f: InstalledFaults): NonNullable<PointResult['faults']> {
  return { ...f.log.counts(), unstruck: f.unstruck().map((u) => `${u.origin}: ${u.kind} on ${u.host}, ${u.left} left`) };
}
