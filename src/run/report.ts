/**
 * Turns a run into a report: a plain object (for --json) and aligned text tables (for people).
 */
import { effectiveWriteGbps } from '../pcie/link.js';
import { codeInfo, isByDesign } from '../errors.js';
import { formatNs, gbpsOf, type Ns } from '../time/units.js';
import type { RunResult } from './run-rack.js';
import { NtbNetdevNic, type NtbCounters } from '../eop/ntb-netdev.js';

export interface Report {
  rack: string;
  source: string;
  seed: number;
  hosts: number;
  bootUs: number;
  virtualUs: number;
  wallMs: number;
  events: number;
  finished: boolean;
  links: { host: string; config: string; writeLimitGbps: number; upUtil: number; downUtil: number }[];
  interfaces: {
    name: string;
    /** The host the interface belongs to (the `host` of its queue pairs). */
    host: string;
    txFrames: number;
    txBytes: number;
    rxFrames: number;
    rxBytes: number;
    floods: number;
    /** Learned MACs in the interface's table, and how many were forgotten because it was full. */
    macEntries: number;
    macEvictions: number;
    drops: Record<string, number>;
    /** Failed HRDMA payloads by reason; each frame was re-sent by CPU copy (`dmaRetries`) or is in `drops`. */
    dmaErrors: Record<string, number>;
    /** Frames the built-in stack refused as malformed (ERR_* codes). */
    stackDrops: Record<string, number>;
    /** Frames the stack ignored by design (not for it: another host's ARP, closed ports…). */
    stackIgnored: Record<string, number>;
    /** HRDMA descriptors the driver reaped (payload, header and immediate writes); frames refused because every staging buffer was busy (also in `drops`). */
    dmaCompletions: number;
    stagingFull: number;
    /** ARP requests the interface's ARP responder answered instead of flooding them. */
    arpAnswered: number;
    /** The host's interrupt controller: messages raised, merged into a pending one, held by moderation, with no handler. */
    interrupts: { raised: number; coalesced: number; moderated: number; spurious: number };
    /** The Linux driver profile's own counters (`eop.driver: ntb-netdev`; null for EOP's driver): see NtbCounters. */
    ntbNetdev: (Omit<NtbCounters, 'stoppedNs'> & { stoppedUs: number }) | null;
  }[];
  queuePairs: {
    host: string;
    peer: string;
    state: string;
    reason: string;
    /** Opening to up, in µs (null: never up). */
    setupUs: number | null;
    txFrames: number;
    txBytes: number;
    rxFrames: number;
    rxBytes: number;
    txDmaFrames: number;
    txCpuFrames: number;
    txBatches: number;
    txRingFull: number;
    txQueueDrops: number;
    /** Frames whose failed HRDMA copy was redone by CPU copy, and those lost because it could not be. */
    txDmaRetries: number;
    txDmaRetryDrops: number;
    interruptsSent: number;
    rxInterrupts: number;
    rxErrors: number;
    linkDowns: number;
    linkUps: number;
    /** Frames dropped because the link went down with them queued. */
    txLinkDownDrops: number;
    /** Frames that had landed in this side's ring unread when the link went down. */
    rxLinkDownDrops: number;
    /** HRDMA payload descriptors that failed (each then retried by CPU copy or dropped). */
    txDmaErrors: number;
    /** Receive interrupts that found the ring empty (e.g. a doorbell bit shared with other queue pairs). */
    rxRingEmpty: number;
    /** Credit returns to the sender, and the interrupts they raised. */
    creditUpdates: number;
    creditInterrupts: number;
    /** Frames of this peer's lost with a failed NTB path (receiver's count), and moves to the other path. */
    rxPathLost: number;
    pathFailovers: number;
  }[];
  pings: {
    from: string;
    to: string;
    family: number;
    sent: number;
    received: number;
    lost: number;
    rttUs: { min: number; avg: number; p50: number; p99: number; max: number } | null;
  }[];
  streams: {
    from: string;
    to: string;
    messageBytes: number;
    sent: number;
    received: number;
    lost: number;
    corrupt: number;
    reordered: number;
    droppedByInterface: number;
    gbps: number;
    offeredGbps: number;
  }[];
  fabricDrops: Record<string, number>;
  /** The `faults:` schedule as it happened: counts by kind, and every event with its virtual time. */
  faults: {
    injected: Record<string, number>;
    recovered: Record<string, number>;
    events: { timeUs: number; origin: string; kind: string; host: string; phase: 'fault' | 'recovery'; detail: string }[];
    /** Events beyond the listed ones (counted above). */
    unlisted: number;
  };
  /**
   * Every move of a host's traffic between its two NTB paths (src/eop/path-failover.ts): when the
   * path failed, when AER reported it, the modeled switch-over time (failure to the last queue pair
   * resynced; null while unfinished or with no path to move to) and the frames lost in flight.
   */
  failovers: {
    origin: string;
    host: string;
    failed: string;
    to: string | null;
    failedAtUs: number;
    detectUs: number | null;
    switchOverUs: number | null;
    queuePairs: number;
    framesLost: number;
  }[];
  /**
   * The management hosts (master first) and every takeover of the downstream ports, in virtual µs;
   * null for a rack without a management host.
   */
  controlPlane: {
    managementHosts: { name: string; alive: boolean; ports: number }[];
    takeovers: { from: string; to: string; failedAtUs: number; detectionUs: number; workUs: number; takeoverUs: number; ports: number }[];
    /** Link events that waited for a live management host; ports still waiting at the end. */
    heldLinkEvents: number;
    waitingPorts: number;
  } | null;
  captures: string[];
  /** Frames in the capture files, frames not captured (I/O error, full disk), frames deleted by rotation. */
  captureFrames: { captured: number; notCaptured: number; discardedByRotation: number };
  problems: string[];
}

const us = (ns: Ns): number => Math.round(ns / 10) / 100;

export function buildReport(r: RunResult): Report {
  const { rack, topology } = r;
  const span = Math.max(1, rack.sched.now);
  const problems: string[] = [];
  const report: Report = {
    rack: topology.name,
    source: topology.source,
    seed: topology.seed,
    hosts: rack.hosts.length,
    bootUs: us(r.bootNs),
    virtualUs: us(rack.sched.now),
    wallMs: Math.round(r.wallMs),
    events: rack.sched.executed,
    finished: r.finished,
    // A host with two NTB paths has a second row for its backup link ("h1 (backup)").
    links: rack.hosts.flatMap((h) => {
      const backup = rack.fabric.multipath?.paths(h.index)?.[1].link;
      return [[h.name, h.link] as const, ...(backup ? [[`${h.name} (backup)`, backup] as const] : [])].map(([host, l]) => ({
        host,
        config: `Gen${l.cfg.gen} x${l.cfg.width} MPS ${l.cfg.mpsBytes}`,
        writeLimitGbps: round2(effectiveWriteGbps(l.cfg)),
        upUtil: round3(l.up.busyNs / span),
        downUtil: round3(l.down.busyNs / span),
      }));
    }),
    interfaces: rack.nics.map((n) => ({
      name: n.name,
      host: n.host.name,
      txFrames: n.c.txFrames,
      txBytes: n.c.txBytes,
      rxFrames: n.c.rxFrames,
      rxBytes: n.c.rxBytes,
      floods: n.c.floods,
      macEntries: n.macTable.size,
      macEvictions: n.c.macEvictions,
      drops: n.drops.toJSON(),
      dmaErrors: n.dmaErrors.toJSON(),
      stackDrops: pick(r.stacks.get(n.host.name)?.drops.toJSON() ?? {}, true),
      stackIgnored: pick(r.stacks.get(n.host.name)?.drops.toJSON() ?? {}, false),
      dmaCompletions: n.c.dmaCompletions,
      stagingFull: n.c.stagingFull,
      arpAnswered: n.c.arpAnswered,
      interrupts: n.host.irq.counts(),
      ntbNetdev: n instanceof NtbNetdevNic ? ntbCounts(n.nc) : null,
    })),
    queuePairs: rack.nics.flatMap((n) =>
      n.qps
        .filter((q) => q !== undefined)
        .map((q) => ({
          host: n.host.name,
          peer: q.peerName,
          state: q.state,
          reason: q.reason,
          // Queue pairs open on first use: the virtual time from opening to up, paid by the first frame.
          setupUs: q.upAtNs >= 0 ? Math.round((q.upAtNs - q.openedAtNs) / 10) / 100 : null,
          txFrames: q.c.txFrames,
          txBytes: q.c.txBytes,
          rxFrames: q.c.rxFrames,
          rxBytes: q.c.rxBytes,
          txDmaFrames: q.c.txDmaFrames,
          txCpuFrames: q.c.txCpuFrames,
          txBatches: q.c.txBatches,
          txRingFull: q.c.txRingFull,
          txQueueDrops: q.c.txQueueDrops,
          txDmaRetries: q.c.txDmaRetries,
          txDmaRetryDrops: q.c.txDmaRetryDrops,
          interruptsSent: q.c.interruptsSent,
          rxInterrupts: q.c.rxInterrupts,
          rxErrors: q.c.rxErrSeq + q.c.rxErrBadSlot,
          linkDowns: q.c.linkDowns,
          linkUps: q.c.linkUps,
          txLinkDownDrops: q.c.txLinkDownDrops,
          rxLinkDownDrops: q.c.rxLinkDownDrops,
          txDmaErrors: q.c.txDmaErrors,
          rxRingEmpty: q.c.rxRingEmpty,
          creditUpdates: q.c.creditUpdates,
          creditInterrupts: q.c.creditInterrupts,
          rxPathLost: q.c.rxPathLost,
          pathFailovers: q.c.pathFailovers,
        })),
    ),
    pings: r.pings.map(({ spec, pinger }) => {
      const res = pinger.result;
      if (!res) {
        problems.push(`ping ${spec.from} → ${spec.to}: did not finish (${pinger.sent} sent, ${pinger.received} replies so far)`);
        return { from: spec.from, to: spec.to, family: pinger.family, sent: pinger.sent, received: pinger.received, lost: pinger.sent - pinger.received, rttUs: null };
      }
      if (res.lost > 0) problems.push(`ping ${spec.from} → ${spec.to}: ${res.lost} of ${res.sent} lost`);
      return {
        from: spec.from,
        to: spec.to,
        family: res.family,
        sent: res.sent,
        received: res.received,
        lost: res.lost,
        rttUs:
          res.received > 0
            ? { min: us(res.rtt.min), avg: us(res.rtt.avg), p50: us(res.rtt.p50), p99: us(res.rtt.p99), max: us(res.rtt.max) }
            : null,
      };
    }),
    streams: r.streams.map(({ spec, stream, dstStack }) => {
      const st = stream.stats;
      const srcIp = r.topology.hosts.find((h) => h.name === spec.from)!.ipv4.addr;
      const flow = dstStack?.sinkStats(srcIp, st.srcPort);
      const received = flow?.received ?? 0;
      const lost = st.sentFrames - received;
      if (lost > 0 || (flow?.corrupt ?? 0) > 0) problems.push(`udp ${spec.from} → ${spec.to}: ${lost} lost, ${flow?.corrupt ?? 0} corrupt`);
      // Both rates in Ethernet frame bytes, counted after the first frame over first → last.
      return {
        from: spec.from,
        to: spec.to,
        messageBytes: spec.messageBytes,
        sent: st.sentFrames,
        received,
        lost,
        corrupt: flow?.corrupt ?? 0,
        reordered: flow?.reordered ?? 0,
        droppedByInterface: st.droppedByInterface,
        gbps: round2(flow && received > 1 ? gbpsOf((received - 1) * st.frameBytes, flow.lastRxNs - flow.firstRxNs) : 0),
        offeredGbps: round2(st.offeredGbps),
      };
    }),
    fabricDrops: rack.fabric.drops.toJSON(),
    faults: {
      ...r.faults.log.counts(),
      events: r.faults.log.events.map((e) => ({ timeUs: us(e.timeNs), origin: e.origin, kind: e.kind, host: e.host, phase: e.phase, detail: e.detail })),
      unlisted: r.faults.log.unlisted,
    },
    failovers: (rack.failover?.records ?? []).map((f) => ({
      origin: f.origin,
      host: f.host,
      failed: f.failed,
      to: f.idle ? null : f.to,
      failedAtUs: us(f.failedAtNs - rack.bootedAt),
      detectUs: f.detectedAtNs < 0 ? null : us(f.detectedAtNs - f.failedAtNs),
      switchOverUs: f.doneAtNs < 0 || f.idle ? null : us(f.doneAtNs - f.failedAtNs),
      queuePairs: f.queuePairs,
      framesLost: f.framesLost,
    })),
    controlPlane: controlPlaneOf(r),
    captures: r.capturePaths,
    captureFrames: captureCounts(r),
    problems,
  };
  const cp = report.controlPlane;
  if (cp && cp.waitingPorts > 0) {
    problems.push(`control plane: ${cp.waitingPorts} port(s) changed link state and no live management host has told their peers`);
  }
  for (const q of report.queuePairs) if (q.state === 'mismatch') problems.push(`${q.host} ↔ ${q.peer}: ${q.reason}`);
  problems.push(...linksLeftDown(r));
  for (const u of r.faults.unstruck()) problems.push(`${u.origin}: ${u.kind} on ${u.host} had ${u.left} operation(s) left to hit when the run ended`);
  for (const f of rack.failover?.records ?? []) {
    if (f.detectedAtNs >= 0 && f.to === null && !f.idle && f.doneAtNs < 0) problems.push(`${f.origin}: ${f.host} lost its ${f.failed} NTB path with the other one down too: its traffic stopped`);
  }
  if (!r.finished) problems.push('traffic did not finish within durationMs');
  // A capture that lost frames (full disk, I/O error) is a problem: --strict must fail on it.
  if (r.captures) problems.push(...r.captures.problems());
  return report;
}


function ntbCounts(c: NtbCounters): NonNullable<Report['interfaces'][number]['ntbNetdev']> {
  const { stoppedNs, ...rest } = c;
  return { ...rest, stoppedUs: us(stoppedNs) };
}

function controlPlaneOf(r: RunResult): Report['controlPlane'] {
  const m = r.rack.management;
  if (!m) return null;
  return {
    managementHosts: m.vs.switches.map((s, i) => ({ name: s.upstreamName, alive: s.alive, ports: m.vs.portsOf(i).length })),
    takeovers: m.takeovers.map((t) => ({
      from: t.from,
      to: t.to,
      failedAtUs: us(t.failedAt - r.rack.bootedAt),
      detectionUs: us(t.detectedAt - t.failedAt),
      workUs: us(t.doneAt - t.detectedAt),
      takeoverUs: us(t.doneAt - t.failedAt),
      ports: t.ports,
    })),
    heldLinkEvents: r.rack.control.heldEvents,
    waitingPorts: r.rack.control.waiting,
  };
}

/**
 * Links a crash left down at the end of the run (a clean stop is deliberate and not listed): the
 * crashed interface once, and every queue pair of a running interface that is down without a
 * clean stop on either side, or never came up.
 */
function captureCounts(r: RunResult): Report['captureFrames'] {
  const out = { captured: 0, notCaptured: 0, discardedByRotation: 0 };
  for (const s of Object.values(r.captures?.stats() ?? {})) {
    out.captured += s.frames;
    out.notCaptured += s.droppedFrames;
    out.discardedByRotation += s.rotatedOutFrames;
  }
  return out;
}

function linksLeftDown(r: RunResult): string[] {
  const out: string[] = [];
  for (const n of r.rack.nics) {
    if (!n.running) {
      if (n.lastStop === 'crash') out.push(`${n.host.name}: crashed and not restarted; its links are down`);
      continue;
    }
    for (const q of n.qps) {
      if (!q || q.state === 'up' || q.state === 'mismatch' || (q.state === 'down' && q.downClean)) continue;
      out.push(`${n.host.name} ↔ ${q.peerName}: link ${q.state === 'down' ? `down (${q.reason})` : `not up (${q.state})`} at the end of the run`);
    }
  }
  return out;
}

function pick(d: Record<string, number>, errors: boolean): Record<string, number> {
  return Object.fromEntries(Object.entries(d).filter(([k]) => !isByDesign(k) === errors));
}

/**
 * A stack's counts split as both reports show them: `drops` (malformed or lost) and `ignored`
 * (frames meant for someone else, by design). `eop run` and `eop up` use this one split, so a
 * frame gets the same name in both.
 */
export function splitStackCounts(d: Record<string, number>): { drops: Record<string, number>; ignored: Record<string, number> } {
  return { drops: pick(d, true), ignored: pick(d, false) };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Aligned columns; numbers right-aligned. */
export function table(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmtNum(c) : c)))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  const numeric = head.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'));
  return cells
    .map((r, ri) =>
      r
        .map((c, i) => (numeric[i] && ri > 0 ? String(c).padStart(widths[i]!) : String(c).padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function fmtNum(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

/** Counts by their stable code (`ERR_EOP_RING_FULL=3 not-for-us=2`), '-' for none; shared with `eop up`. */
export function formatDropCounts(d: Record<string, number>): string {
  const e = Object.entries(d).filter(([, v]) => v > 0);
  return e.length === 0 ? '-' : e.map(([k, v]) => `${k}=${v}`).join(' ');
}

export function formatReport(rep: Report): string {
  const out: string[] = [];
  out.push(
    `EOP rack "${rep.rack}" (${rep.source}), seed ${rep.seed}: ${rep.hosts} hosts; links up after ${rep.bootUs} µs; ` +
      `${formatNs(rep.virtualUs * 1000)} virtual in ${rep.wallMs} ms wall, ${rep.events} events`,
  );
  out.push('', 'Links (host ↔ switch)');
  out.push(table(['host', 'link', 'write limit Gb/s', 'util up', 'util down'], rep.links.map((l) => [l.host, l.config, l.writeLimitGbps, l.upUtil, l.downUtil])));
  out.push('', 'Interfaces');
  out.push(
    table(
      ['interface', 'tx frames', 'tx bytes', 'rx frames', 'rx bytes', 'floods', 'drops', 'stack drops', 'stack ignored'],
      rep.interfaces.map((i) => [i.name, i.txFrames, i.txBytes, i.rxFrames, i.rxBytes, i.floods, formatDropCounts(i.drops), formatDropCounts(i.stackDrops), formatDropCounts(i.stackIgnored)]),
    ),
  );
  out.push('', 'Queue pairs');
  out.push(
    table(
      ['host', 'peer', 'state', 'setup µs', 'tx frames', 'rx frames', 'dma', 'cpu', 'batches', 'irq sent', 'ring full', 'q drops', 'rx err'],
      rep.queuePairs.map((q) => [
        q.host,
        q.peer,
        q.state + (q.reason && q.state !== 'up' ? ` (${q.reason})` : ''),
        q.setupUs ?? '-',
        q.txFrames,
        q.rxFrames,
        q.txDmaFrames,
        q.txCpuFrames,
        q.txBatches,
        q.interruptsSent,
        q.txRingFull,
        q.txQueueDrops,
        q.rxErrors,
      ]),
    ),
  );
  // Per host: empty ring looks and credit updates over its queue pairs (one pass, not one per interface).
  const qpSums = new Map<string, [number, number]>();
  for (const q of rep.queuePairs) {
    const t = qpSums.get(q.host) ?? [0, 0];
    t[0] += q.rxRingEmpty;
    t[1] += q.creditUpdates;
    qpSums.set(q.host, t);
  }
  out.push('', 'Interrupts and credits (per interface; empty looks: receive interrupts that found nothing new)');
  out.push(
    table(
      ['interface', 'irq raised', 'coalesced', 'moderated', 'spurious', 'empty looks', 'credit updates', 'dma descriptors', 'staging full', 'arp answered'],
      rep.interfaces.map((i) => {
        const [empty, credits] = qpSums.get(i.host) ?? [0, 0];
        return [i.name, i.interrupts.raised, i.interrupts.coalesced, i.interrupts.moderated, i.interrupts.spurious, empty, credits, i.dmaCompletions, i.stagingFull, i.arpAnswered];
      }),
    ),
  );
  const ntb = rep.interfaces.filter((i) => i.ntbNetdev);
  if (ntb.length > 0) {
    out.push('', 'ntb_netdev (Linux driver profile: queue stops and restarts, tasklet passes, copies by memcpy or DMA)');
    out.push(
      table(
        ['interface', 'queue stops', 'woken by completion', 'woken by timer', 'stopped µs', 'tasklet runs', 'doorbell reads', 'rx memcpy', 'rx dma', 'tx memcpy', 'tx dma', 'rx no buffer'],
        ntb.map((i) => {
          const c = i.ntbNetdev!;
          return [i.name, c.queueStops, c.wakesByCompletion, c.wakesByTimer, c.stoppedUs, c.taskletRuns, c.doorbellReads, c.rxMemcpy, c.rxAsync, c.txMemcpy, c.txAsync, c.rxErrNoBuf];
        }),
      ),
    );
  }
  if (rep.pings.length > 0) {
    out.push('', 'Ping');
    out.push(
      table(
        ['from', 'to', 'ip', 'sent', 'recv', 'lost', 'rtt min µs', 'avg', 'p50', 'p99', 'max'],
        rep.pings.map((p) => [
          p.from,
          p.to,
          `v${p.family}`,
          p.sent,
          p.received,
          p.lost,
          ...(p.rttUs ? [p.rttUs.min, p.rttUs.avg, p.rttUs.p50, p.rttUs.p99, p.rttUs.max] : ['-', '-', '-', '-', '-']),
        ]),
      ),
    );
  }
  if (rep.streams.length > 0) {
    out.push('', 'UDP streams');
    out.push(
      table(
        ['from', 'to', 'msg bytes', 'sent', 'received', 'lost', 'corrupt', 'reordered', 'achieved Gb/s (frames)', 'offered Gb/s'],
        rep.streams.map((s) => [s.from, s.to, s.messageBytes, s.sent, s.received, s.lost, s.corrupt, s.reordered, s.gbps, s.offeredGbps]),
      ),
    );
  }
  if (rep.faults.events.length > 0) {
    out.push('', `Faults: injected ${formatDropCounts(rep.faults.injected)}; recovered ${formatDropCounts(rep.faults.recovered)}`);
    out.push(table(['time µs', 'entry', 'phase', 'kind', 'host', 'what'], rep.faults.events.map((e) => [e.timeUs, e.origin, e.phase, e.kind, e.host, e.detail])));
    if (rep.faults.unlisted > 0) out.push(`  (${rep.faults.unlisted} more events counted, not listed)`);
  }
  if (rep.failovers.length > 0) {
    out.push('', 'NTB path failovers (switch-over: path failure to every queue pair resynced on the other path)');
    out.push(
      table(
        ['failed at µs', 'entry', 'host', 'failed path', 'moved to', 'detect µs', 'switch-over µs', 'queue pairs', 'frames lost'],
        rep.failovers.map((f) => [f.failedAtUs, f.origin, f.host, f.failed, f.to ?? '-', f.detectUs ?? '-', f.switchOverUs ?? '-', f.queuePairs, f.framesLost]),
      ),
    );
  }
  const cp = rep.controlPlane;
  if (cp && cp.takeovers.length > 0) {
    out.push('', 'Control plane takeovers');
    out.push(
      table(
        ['from', 'to', 'failed at µs', 'detection µs', 'work µs', 'takeover µs', 'ports'],
        cp.takeovers.map((t) => [t.from, t.to, t.failedAtUs, t.detectionUs, t.workUs, t.takeoverUs, t.ports]),
      ),
    );
  }
  out.push('', `Fabric drops: ${formatDropCounts(rep.fabricDrops)}`);
  const seen = new Set<string>(Object.keys(rep.fabricDrops));
  for (const i of rep.interfaces) for (const d of [i.drops, i.stackDrops, i.stackIgnored]) for (const k of Object.keys(d)) seen.add(k);
  if (seen.size > 0) out.push('Drop codes above:', ...[...seen].sort().map((k) => `  ${k}: ${codeInfo(k)?.meaning ?? 'unregistered code'}`));
  if (rep.captures.length > 0) {
    const c = rep.captureFrames;
    const lost = [c.notCaptured ? `${c.notCaptured} not captured` : '', c.discardedByRotation ? `${c.discardedByRotation} discarded by rotation` : ''].filter(Boolean);
    out.push(`Captures: ${rep.captures.join(', ')} (${c.captured} frames${lost.length ? `; ${lost.join(', ')}` : ''})`);
  }
  if (rep.problems.length > 0) out.push('', 'Problems:', ...rep.problems.map((p) => `  - ${p}`));
  return out.join('\n');
}
