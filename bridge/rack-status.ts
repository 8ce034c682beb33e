/**
 * The machine-readable status of a live rack: what `GET /api/status` returns and `eop status`
 * prints. Totals come straight from the counters; rates and "behind now" come from a sampler that
 * takes the counters once per `periodMs` (default 1 s), so every reader sees the same rates however
 * many poll (the page, scripts, `eop status`) and `eop up --stats` keeps its own.
 *
 * "Behind now" is the live runner's sliding window (`LiveRunner.recent()`: late event batches in the
 * last 5 s, in 1-second buckets), beside the totals since start. TAP hosts carry the kernel-side
 * loss counters read inside their namespace (refreshed each period, off the event loop).
 * Fields are only ever added (version stays 1 while they are), so scripts can rely on them.
 */
import { offloadCountsOf, offloadWords, type OffloadCounts } from './offload-words.js';
import type { KernelCounters } from './kernel-counters.js';
import type { LiveRack } from './live-rack.js';
import type { WsPort } from './ws-port.js';

export const STATUS_VERSION = 1;

export interface QueuePairStatus {
  peer: string;
  state: string;
  txFrames: number;
  txBytes: number;
  rxFrames: number;
  rxBytes: number;
  txRingFull: number;
  txQueueDrops: number;
  txLinkDownDrops: number;
  rxLinkDownDrops: number;
  rxErrors: number;
  /** Receive interrupts that found the ring empty; credit returns to the sender. */
  rxRingEmpty: number;
  creditUpdates: number;
  /** Moves of this queue pair to the host's other NTB path. */
  pathFailovers: number;
  /** Rates over the last sampling period. */
  txGbps: number;
  rxGbps: number;
}

export interface WsPortStatus {
  kind: 'host' | 'uplink';
  held: boolean;
  remote: string | null;
  since: string | null;
  clientMac: string | null;
  paused: boolean;
  fromClientFrames: number;
  fromClientBytes: number;
  toClientFrames: number;
  toClientBytes: number;
  filtered: number;
  claims: number;
  refusedClaims: number;
  /** Times the connection was paused because the interface was full (back-pressure). */
  pauses: number;
  /** DHCP/DNS answers (host ports). */
  services: Record<string, number> | null;
}

export interface HostStatusJson {
  name: string;
  attach: string;
  mac: string;
  ipv4: string;
  ipv6: string;
  mtu: number;
  netns: string | null;
  txFrames: number;
  txBytes: number;
  rxFrames: number;
  rxBytes: number;
  txGbps: number;
  rxGbps: number;
  txFramesPerS: number;
  rxFramesPerS: number;
  drops: Record<string, number>;
  /** Frames the built-in stack ignored by design (not losses: e.g. frames for other hosts). */
  ignored: Record<string, number>;
  /** Queue pairs up, of those opened (queue pairs open on first use: a host that sent nothing has none). */
  linksUp: number;
  links: number;
  /** The host's EOP interface runs and its NTB link is up. */
  ntbUp: boolean;
  failure: string | null;
  /** TAP hosts: frames read from the TAP right after a frame was written into it (the answer picked up in the same turn); null otherwise. */
  pickedUp: number | null;
  /** Kernel-side losses inside the namespace (TAP hosts; null otherwise or before the first read). */
  kernel: KernelCounters | null;
  /**
   * TAP hosts (null otherwise): TCP super-frames read with TSO and the segments cut from them; TAP
   * writes that merged TCP segments (GRO) or UDP datagrams (UDP GSO), and the frames they carried;
   * segments and datagrams written unmerged because their checksum was wrong.
   */
  offloads: OffloadCounts | null;
  /** The host's interrupt controller: raised, merged into a pending one, held by moderation, with no handler. */
  interrupts: { raised: number; coalesced: number; moderated: number; spurious: number };
  queuePairs: QueuePairStatus[];
  ws: WsPortStatus | null;
}

export interface RackStatusJson {
  version: number;
  rack: string;
  pid: number;
  /** 'up' (TAP hosts only), 'serve' (WebSocket endpoints). */
  mode: 'up' | 'serve';
  uptimeS: number;
  link: { gen: number; width: number; mpsBytes: number };
  live: {
    /** Late event batches within the last `windowS` seconds: the emulator is behind the model now. */
    behindNow: boolean;
    lateBatchesWindow: number;
    batchesWindow: number;
    maxLagWindowMs: number;
    windowS: number;
    lateBatches: number;
    batches: number;
    maxLagMs: number;
    lastLagMs: number;
    lagToleranceMs: number;
    eventsRun: number;
    /** The live runner's turns of the event loop, those started by a timer, and busy-poll back-offs (preempted while polling). */
    wakeups: number;
    timerWakeups: number;
    pollBackoffs: number;
    /** The JIT warm-up before start (bridge/warm-up.ts): frames carried, ms spent, UDP datagrams among them and the GSO writes they made; null if none ran. */
    warmUp: { frames: number; ms: number; udpDatagrams: number; udpGsoWrites: number } | null;
  };
  captures: { enabled: boolean; frames: number; drops: number; paths: string[] };
  /**
   * The control plane and its faults: management hosts (master first; empty without one) and their
   * takeovers, NTB path failovers, and the faults injected and recovered so far by kind (the
   * rack file's `faults:` and `eop fault`; the events themselves are at GET /api/faults).
   */
  control: {
    managementHosts: { name: string; alive: boolean }[];
    takeovers: number;
    failovers: number;
    faultsInjected: Record<string, number>;
    faultsRecovered: Record<string, number>;
  };
  hosts: HostStatusJson[];
}

interface Sample {
  tMs: number;
  /** host → [txBytes, rxBytes, txFrames, rxFrames]; host/peer → [txBytes, rxBytes]. */
  counters: Map<string, number[]>;
}

export class RackStatusSampler {
  private readonly samples: Sample[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly live: LiveRack,
    private readonly mode: 'up' | 'serve',
    private readonly lagToleranceMs: number,
    private readonly periodMs = 1000,
  ) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.periodMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private sample(): void {
    const counters = new Map<string, number[]>();
    for (const nic of this.live.rack.nics) {
      counters.set(nic.host.name, [nic.c.txBytes, nic.c.rxBytes, nic.c.txFrames, nic.c.rxFrames]);
      for (const qp of nic.qps) if (qp) counters.set(`${nic.host.name}/${qp.peerName}`, [qp.c.txBytes, qp.c.rxBytes]);
    }
    this.samples.push({ tMs: performance.now(), counters });
    // Two samples give the rates; the first one is kept for the uptime.
    if (this.samples.length > 3) this.samples.splice(1, 1);
    void this.live.refreshKernelCounters();
  }

  /** Rates between the last two samples (0 before there are two). */
  private rate(key: string, i: number): number {
    const n = this.samples.length;
    if (n < 2) return 0;
    const a = this.samples[n - 2]!;
    const b = this.samples[n - 1]!;
    const dt = (b.tMs - a.tMs) / 1000;
    const va = a.counters.get(key)?.[i];
    const vb = b.counters.get(key)?.[i];
    return dt > 0 && va !== undefined && vb !== undefined ? (vb - va) / dt : 0;
  }

  snapshot(): RackStatusJson {
    const live = this.live;
    const topo = live.topo;
    const rs = live.runner.stats;
    const first = this.samples[0];
    const recent = live.runner.recent();
    let captureFrames = 0;
    let captureDrops = 0;
    for (const s of Object.values(live.captures?.stats() ?? {})) {
      captureFrames += s.frames;
      captureDrops += s.droppedFrames;
    }
    const hosts: HostStatusJson[] = topo.hosts.map((h) => {
      const nic = live.rack.nic(h.name);
      const th = live.tapHosts.find((t) => t.cfg.name === h.name);
      const port = live.wsPorts.get(h.name);
      const qps: QueuePairStatus[] = [];
      let up = 0;
      for (const qp of nic.qps) {
        if (!qp) continue;
        if (qp.up) up++;
        const key = `${h.name}/${qp.peerName}`;
        qps.push({
          peer: qp.peerName,
          state: qp.state,
          txFrames: qp.c.txFrames,
          txBytes: qp.c.txBytes,
          rxFrames: qp.c.rxFrames,
          rxBytes: qp.c.rxBytes,
          txRingFull: qp.c.txRingFull,
          txQueueDrops: qp.c.txQueueDrops,
          txLinkDownDrops: qp.c.txLinkDownDrops,
          rxLinkDownDrops: qp.c.rxLinkDownDrops,
          rxErrors: qp.c.rxErrSeq + qp.c.rxErrBadSlot,
          rxRingEmpty: qp.c.rxRingEmpty,
          creditUpdates: qp.c.creditUpdates,
          pathFailovers: qp.c.pathFailovers,
          txGbps: (this.rate(key, 0) * 8) / 1e9,
          rxGbps: (this.rate(key, 1) * 8) / 1e9,
        });
      }
      const { drops, ignored } = live.dropsOf(h.name);
      return {
        name: h.name,
        attach: th ? 'tap' : port ? h.attach : 'builtin',
        mac: h.mac.text,
        ipv4: h.ipv4.cidr,
        ipv6: h.ipv6.cidr,
        mtu: h.mtu,
        netns: th?.ns ?? null,
        txFrames: nic.c.txFrames,
        txBytes: nic.c.txBytes,
        rxFrames: nic.c.rxFrames,
        rxBytes: nic.c.rxBytes,
        txGbps: (this.rate(h.name, 0) * 8) / 1e9,
        rxGbps: (this.rate(h.name, 1) * 8) / 1e9,
        txFramesPerS: this.rate(h.name, 2),
        rxFramesPerS: this.rate(h.name, 3),
        drops,
        ignored,
        linksUp: up,
        links: qps.length,
        ntbUp: nic.running && !!nic.host.ntb?.linkUp,
        failure: th?.bridge.failure ?? null,
        pickedUp: th ? th.bridge.c.pickedUp : null,
        kernel: th ? live.kernelOf(h.name) : null,
        offloads: th ? offloadCountsOf(th.bridge) : null,
        interrupts: nic.host.irq.counts(),
        queuePairs: qps,
        ws: port ? portStatus(port) : null,
      };
    });
    const faults = live.faults.log.counts();
    return {
      version: STATUS_VERSION,
      rack: topo.name,
      pid: process.pid,
      mode: this.mode,
      uptimeS: first ? (performance.now() - first.tMs) / 1000 : 0,
      link: { gen: topo.link.gen, width: topo.link.width, mpsBytes: topo.link.mpsBytes },
      live: {
        behindNow: recent.behind,
        lateBatchesWindow: recent.lateBatches,
        batchesWindow: recent.batches,
        maxLagWindowMs: recent.maxLagNs / 1e6,
        windowS: recent.windowNs / 1e9,
        lateBatches: rs.lateBatches,
        batches: rs.batches,
        maxLagMs: rs.maxLagNs / 1e6,
        lastLagMs: rs.lastLagNs / 1e6,
        lagToleranceMs: this.lagToleranceMs,
        eventsRun: live.rack.sched.executed,
        wakeups: rs.wakeups,
        timerWakeups: rs.timerWakeups,
        pollBackoffs: rs.pollBackoffs,
        warmUp: live.warmUp ? { frames: live.warmUp.frames, ms: Math.round(live.warmUp.ms), udpDatagrams: live.warmUp.udpDatagrams, udpGsoWrites: live.warmUp.udpGsoWrites } : null,
      },
      captures: { enabled: live.captures !== null, frames: captureFrames, drops: captureDrops, paths: [...live.capturePaths] },
      control: {
        managementHosts: live.rack.management?.vs.switches.map((s) => ({ name: s.upstreamName, alive: s.alive })) ?? [],
        takeovers: live.rack.management?.takeovers.length ?? 0,
        failovers: live.rack.failover?.records.length ?? 0,
        faultsInjected: faults.injected,
        faultsRecovered: faults.recovered,
      },
      hosts,
    };
  }
}

function portStatus(p: WsPort): WsPortStatus {
  const d = p.describe();
  const svc = p.services;
  return {
    kind: p.kind,
    held: d.held,
    remote: d.remote,
    since: d.sinceMs === null ? null : new Date(d.sinceMs).toISOString(),
    clientMac: d.clientMac,
    paused: d.paused,
    fromClientFrames: p.c.fromClientFrames,
    fromClientBytes: p.c.fromClientBytes,
    toClientFrames: p.c.toClientFrames,
    toClientBytes: p.c.toClientBytes,
    filtered: p.c.filtered,
    claims: p.c.claims,
    refusedClaims: p.c.refusedClaims,
    pauses: p.c.pauses,
    services: svc ? { ...svc.c } : null,
  };
}

/** Human-readable form of a status (what `eop status` prints without --json). */
export function formatRackStatus(s: RackStatusJson): string {
  const g = (x: number): string => (x >= 10 ? x.toFixed(1) : x >= 0.01 ? x.toFixed(2) : x === 0 ? '0' : x.toFixed(4));
  const lines = [`rack "${s.rack}" (eop ${s.mode}, pid ${s.pid}), up ${s.uptimeS.toFixed(0)} s, Gen${s.link.gen} x${s.link.width}`];
  for (const h of s.hosts) {
    const drops = Object.entries(h.drops)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k}=${n}`)
      .join(' ');
    const who = h.attach === 'tap' ? `tap ${h.netns}` : h.ws ? `${h.attach} ${h.ws.held ? `held by ${h.ws.remote}` : h.attach === 'uplink' ? 'not connected' : 'free (built-in)'}` : 'built-in';
    lines.push(
      `  ${h.name.padEnd(8)} ${who.padEnd(30)} tx ${h.txFrames} fr ${g(h.txGbps)} Gb/s  rx ${h.rxFrames} fr ${g(h.rxGbps)} Gb/s  links ${h.linksUp}/${h.links} up  drops ${drops || '0'}` +
        (h.offloads ? offloadWords(h.offloads) : '') +
        (h.failure ? `  FAILED: ${h.failure}` : ''),
    );
  }
  const l = s.live;
  lines.push(
    `  live: ${l.behindNow ? `BEHIND now: ${l.lateBatchesWindow} late event batches in the last ${l.windowS} s` : `keeping up now (last ${l.windowS} s)`}; ` +
      `${l.lateBatches} of ${l.batches} batches late since start, max lag ${l.maxLagMs.toFixed(2)} ms; ` +
      `${l.wakeups} wake-ups (${l.timerWakeups} by timer)${l.pollBackoffs > 0 ? `, ${l.pollBackoffs} busy-poll back-off(s)` : ''}; captures ${s.captures.enabled ? `${s.captures.frames} frames` : 'off'}`,
  );
  const c = s.control;
  const counts = (d: Record<string, number>): string => Object.entries(d).map(([k, n]) => `${k}=${n}`).join(' ') || 'none';
  const mh = c.managementHosts.map((m, i) => `${m.name} (${i === 0 ? 'master' : 'backup'}, ${m.alive ? 'alive' : 'DOWN'})`).join(', ');
  lines.push(
    `  control: ${mh ? `management ${mh}, ${c.takeovers} takeover(s)` : 'no management host'}; ${c.failovers} path failover(s); ` +
      `faults injected ${counts(c.faultsInjected)}, recovered ${counts(c.faultsRecovered)}`,
  );
  return lines.join('\n');
}
