/**
 * `installFaults`: the rack file's `faults:` schedule, injected in virtual time by wrapping the
 * model's objects from outside (smoltcp's FaultInjector wraps a device the same way). No model code
 * checks for faults; each kind below either calls an entry point the model already has or replaces
 * one method of one object with a wrapper around it:
 *
 * - `link-down` / `link-up`: the host's NTB link drops or returns. The NTB's link state is set; the
 *   management plane tells every peer (`ControlPlane.linkChanged`, after its control latency) and
 *   the host's own driver hears it from its NTB at once (`EopNic.onPeerLink` for every peer).
 *   Frames queued meanwhile are dropped and counted by the driver (ERR_EOP_LINK_DOWN). Recovery:
 *   every queue pair between the host and its running peers has renegotiated and is up.
 * - `host-crash` / `host-restart`: the driver's own abrupt stop (`EopNic.stop(false)`: no LINK_DOWN
 *   entry, stale scratchpads) and its start. Recovery as for link-up.
 * - `dma-error`: the next `count` COPY descriptors the driver posts to the host's HRDMA engine are
 *   written with a length beyond the engine's maximum (what a corrupted descriptor looks like to
 *   the engine): it completes them with ERR_DMA_BAD_DESCRIPTOR and goes on. The frame's slot
 *   header, fenced behind the payload, is not executed; the driver re-sends the frame by CPU copy
 *   (as ntb_transport does) or, when it cannot, drops and counts it (src/eop/dma-tx.ts). Recovery:
 *   the driver reaped the failed descriptor and handed its slot back (`HrdmaEngine.release`).
 * - `tlp-corrupt`: the next `count` TLP trains leaving the host on its up-link arrive with a bad
 *   LCRC. The switch port NAKs and the host replays the train from its replay buffer (PCIe's
 *   data-link retry): the direction is busy for the bad train, the NAK's return (the link's latency
 *   both ways plus one DLLP) and the train again, and the train lands that much later. Nothing is
 *   lost. The corrupted TLP is taken to be the train's first, so the whole train is replayed (the
 *   worst case). Recovery: the replayed train has left the link.
 * - `irq-lost`: the next `count` interrupt messages to the host vanish. The driver's poll timer
 *   (every `pollUs`) then runs the vector's handler as the interrupt would have: the poll is modelled
 *   here, as the timer of a driver that guards against lost MSIs (ntb_transport itself has none).
 *   Recovery: the poll ran the handler.
 * - `path-down` / `path-up`: the link of one of the two NTB paths of a host with `backupPath` fails
 *   or returns (`PathFailover.fail` / `restore`, src/eop/path-failover.ts: the drivers hear of it
 *   through AER, move their windows to the other path and resync their rings). Recovery: every
 *   queue pair of the host carries traffic on the other path again; its detail gives the modeled
 *   switch-over time and the frames lost in flight. A path-up that finds traffic stuck (both paths
 *   were down) moves it, and that move is the path-down's recovery.
 *
 * - `mh-fail` / `mh-restart`: a management host stops or starts (`ManagementFailover.fail` and
 *   `.restart`, src/eop/management-failover.ts). The data plane is untouched; link events of ports
 *   without a live manager wait. Recovery: the backup (or the restarted master) manages every
 *   downstream port again; its detail gives the takeover time, detection and work apart.
 *
 * Entries take effect `atUs` after the call (the caller calls once the rack has booted). Counted
 * kinds that found nothing to hit before the run ended are listed by `unstruck()`.
 */
import { MAX_DMA_BYTES } from '../host/hrdma.js';
import type { Host } from '../host/host.js';
import type { PathFailover } from '../eop/path-failover.js';
import { DLLP_BYTES, type LinkDirection } from '../pcie/link.js';
import type { PathIndex } from '../pcie/ntb-paths.js';
import { takeoverNs, type ManagementFailover } from '../eop/management-failover.js';
import { NS_PER_MS, NS_PER_US, type Ns } from '../time/units.js';
import { FaultLog, type FaultMarker } from './fault-log.js';
import type { Rack } from './rack.js';
import type { FaultSpec, Topology } from './types.js';

export interface InstalledFaults {
  log: FaultLog;
  /** One more fault, `spec.atUs` after now (`eop fault` through a running rack's control endpoint). */
  inject(spec: FaultSpec): void;
  /** Mark every later fault and recovery in these capture files. */
  markCaptures(files: Iterable<FaultMarker>): void;
  /** Counted faults (dma-error, tlp-corrupt, irq-lost) that had operations left to hit at the end. */
  unstruck(): { origin: string; kind: string; host: string; left: number }[];
}

/** Schedules every entry of `topo.faults` on `rack`, `atUs` after now. */
export function installFaults(topo: Pick<Topology, 'faults'>, rack: Rack): InstalledFaults {
  const sched = rack.sched;
  const log = new FaultLog(rack.log, () => sched.now);
  const t0 = sched.now;
  const armed: { spec: FaultSpec; left: () => number }[] = [];
  // One wrapper per host and object, however many entries hit it: their budgets add up.
  const dmaBudget = new Map<Host, Budget>();
  const tlpBudget = new Map<Host, Budget>();
  const irqBudget = new Map<Host, Budget>();
  let failoverWatched = false;

  const mh = rack.management ? watchTakeovers(rack.management, log) : null;
  const schedule = (spec: FaultSpec, at: Ns): void => {
    switch (spec.kind) {
      case 'link-down':
        sched.at(at, () => linkDown(rack, log, spec));
        break;
      case 'link-up':
        sched.at(at, () => linkUp(rack, log, spec));
        break;
      case 'host-crash':
        sched.at(at, () => {
          const nic = rack.nic(spec.host);
          if (!nic.running) return log.fault(spec.origin, spec.kind, spec.host, 'no effect: the host is already down');
          nic.stop(false);
          log.fault(spec.origin, spec.kind, spec.host, 'host crashed: its NTB link dropped without a LINK_DOWN entry, scratchpads left stale');
        });
        break;
      case 'host-restart':
        sched.at(at, () => {
          const nic = rack.nic(spec.host);
          if (nic.running) return log.fault(spec.origin, spec.kind, spec.host, 'no effect: the host is running');
          nic.start();
          log.fault(spec.origin, spec.kind, spec.host, 'host restarted: its driver publishes its parameters and negotiates again');
          watchRecovery(rack, log, spec, 'host-crash');
        });
        break;
      case 'dma-error': {
        const b = budgetFor(dmaBudget, rack.host(spec.host), (h, bud) => wrapDma(log, h, bud));
        sched.at(at, () => b.arm(spec));
        armed.push({ spec, left: () => b.leftOf(spec) });
        break;
      }
      case 'tlp-corrupt': {
        const b = budgetFor(tlpBudget, rack.host(spec.host), (h, bud) => wrapUpLink(rack, log, h, bud));
        sched.at(at, () => b.arm(spec));
        armed.push({ spec, left: () => b.leftOf(spec) });
        break;
      }
      case 'path-down':
      case 'path-up':
        if (!failoverWatched) {
          failoverWatched = true;
          watchFailovers(rack, log);
        }
        sched.at(at, () => (spec.kind === 'path-down' ? pathDown(rack, log, spec) : pathUp(rack, log, spec)));
        break;
      case 'irq-lost': {
        const b = budgetFor(irqBudget, rack.host(spec.host), (h, bud) => wrapInterrupts(rack, log, h, bud));
        sched.at(at, () => b.arm(spec));
        armed.push({ spec, left: () => b.leftOf(spec) });
        break;
      }
      case 'mh-fail':
      case 'mh-restart':
        sched.at(at, () => mh?.strike(spec));
        break;
    }
  };
  for (const spec of topo.faults) schedule(spec, t0 + spec.atUs * NS_PER_US);
  return {
    log,
    inject: (spec) => schedule(spec, sched.now + spec.atUs * NS_PER_US),
    markCaptures: (files) => log.markIn(files),
    unstruck: () =>
      armed.filter((a) => a.left() > 0).map((a) => ({ origin: a.spec.origin, kind: a.spec.kind, host: a.spec.host, left: a.left() })),
  };
}

/** Armed counted faults of one host and object, used up oldest entry first. */
class Budget {
  private readonly queue: { spec: FaultSpec; left: number }[] = [];
  private readonly bySpec = new Map<FaultSpec, { spec: FaultSpec; left: number }>();

  arm(spec: FaultSpec): void {
    const e = { spec, left: spec.count };
    this.queue.push(e);
    this.bySpec.set(spec, e);
  }

  /** The entry the next operation is hit by (its budget taken), or null: let it through. */
  take(): FaultSpec | null {
    while (this.queue.length > 0 && this.queue[0]!.left === 0) this.queue.shift();
    const e = this.queue[0];
    if (!e) return null;
    e.left--;
    return e.spec;
  }

  leftOf(spec: FaultSpec): number {
    return this.bySpec.get(spec)?.left ?? spec.count;
  }
}

function budgetFor(m: Map<Host, Budget>, h: Host, install: (h: Host, b: Budget) => void): Budget {
  let b = m.get(h);
  if (!b) {
    b = new Budget();
    m.set(h, b);
    install(h, b);
  }
  return b;
}

// ------------------------------------------------------------------------------ link and host

function linkDown(rack: Rack, log: FaultLog, spec: FaultSpec): void {
  const host = rack.host(spec.host);
  const ntb = host.ntb!;
  if (!ntb.linkUp) return log.fault(spec.origin, spec.kind, spec.host, 'no effect: its NTB link is already down');
  ntb.setLink(false);
  rack.control.linkChanged(host.index, false);
  const nic = rack.nic(spec.host);
  for (const qp of nic.qps) if (qp) nic.onPeerLink(qp.peer, false);
  log.fault(spec.origin, spec.kind, spec.host, `${ntb.name} link down: every queue pair of ${spec.host} goes down, queued frames are dropped`);
}

function linkUp(rack: Rack, log: FaultLog, spec: FaultSpec): void {
  const host = rack.host(spec.host);
  const ntb = host.ntb!;
  if (ntb.linkUp) return log.fault(spec.origin, spec.kind, spec.host, 'no effect: its NTB link is up');
  ntb.setLink(true);
  rack.control.linkChanged(host.index, true);
  const nic = rack.nic(spec.host);
  // Every peer whose link is up: queue pairs that exist negotiate again, the others open on first use.
  for (const peer of rack.hosts) if (peer !== host && rack.control.host(peer.index)?.ntb?.linkUp) nic.onPeerLink(peer.index, true);
  log.fault(spec.origin, spec.kind, spec.host, `${ntb.name} link up: ${spec.host} and its peers negotiate again`);
  watchRecovery(rack, log, spec, 'link-down');
}

/** True when every queue pair between `name` and a running, linked peer is up (both ends). */
function linksBack(rack: Rack, name: string): { ok: boolean; peers: number } {
  const nic = rack.nic(name);
  if (!nic.running) return { ok: false, peers: 0 };
  let peers = 0;
  for (const other of rack.nics) {
    if (other === nic || !other.running || !other.host.ntb?.linkUp) continue;
    const mine = nic.qp(other.host.index);
    const theirs = other.qp(nic.host.index);
    if (!mine || !theirs) continue;
    if (mine.state === 'mismatch') continue; // never comes up; the report lists it
    if (mine.state !== 'up' || theirs.state !== 'up') return { ok: false, peers };
    // A peer that never heard of the restart (no management host told it) still has the old life.
    if (theirs.peerGeneration !== nic.generation) return { ok: false, peers };
    peers++;
  }
  return { ok: true, peers };
}

function watchRecovery(rack: Rack, log: FaultLog, spec: FaultSpec, recovers: 'link-down' | 'host-crash'): void {
  const sched = rack.sched;
  const from = sched.now;
  // Looked at once now, then whenever a queue pair anywhere comes up: the recovery is logged at the
  // instant the last link is back, however long that takes (a restart may wait for a management
  // takeover), and a link that never returns costs nothing (the report lists it as left down).
  const look = (): boolean => {
    const s = linksBack(rack, spec.host);
    if (s.ok) log.recovery(spec.origin, recovers, spec.host, `links to ${s.peers} peers up again ${((sched.now - from) / NS_PER_US).toFixed(3)} µs after ${spec.kind}`);
    return s.ok;
  };
  sched.after(0, () => {
    if (!look()) onLinkUps(rack).add(look);
  });
}

/** Watchers waiting for queue pairs to come up, by rack (each removed once it returns true). */
const linkUpWatchers = new WeakMap<Rack, Set<() => boolean>>();

function onLinkUps(rack: Rack): Set<() => boolean> {
  let set = linkUpWatchers.get(rack);
  if (set) return set;
  const watchers = new Set<() => boolean>();
  set = watchers;
  linkUpWatchers.set(rack, watchers);
  for (const nic of rack.nics) {
    const before = nic.onQpUp;
    nic.onQpUp = (qp) => {
      before?.(qp);
      for (const w of watchers) if (w()) watchers.delete(w);
    };
  }
  return set;
}

// ------------------------------------------------------------------------------ management hosts

/** Strikes mh-fail / mh-restart and logs every completed takeover as the recovery of the failure. */
function watchTakeovers(mgmt: ManagementFailover, log: FaultLog): { strike(spec: FaultSpec): void } {
  // The entry whose failure a takeover recovers from, by the failed host's name.
  const origins = new Map<string, string>();
  mgmt.onTakeover((t) => {
    const ms = (ns: Ns): string => `${(ns / NS_PER_MS).toFixed(3)} ms`;
    const detect = t.from === t.to ? 'restart' : `detection ${ms(t.detectedAt - t.failedAt)}`;
    log.recovery(
      origins.get(t.from) ?? 'mh-fail',
      'mh-fail',
      t.to,
      `control plane back: ${t.to} manages all ${t.ports} downstream ports ${ms(takeoverNs(t))} after ${t.from} failed (${detect}, takeover work ${ms(t.doneAt - t.detectedAt)}); ` +
        `${t.portsWithHeldEvents} port(s) had link changes that waited`,
    );
  });
  return {
    strike(spec) {
      const what = spec.kind === 'mh-fail' ? mgmt.fail(spec.host) : mgmt.restart(spec.host);
      if (spec.kind === 'mh-fail' && !what.startsWith('no effect')) origins.set(spec.host, spec.origin);
      log.fault(spec.origin, spec.kind, spec.host, what);
    },
  };
}

// ------------------------------------------------------------------------------ NTB paths

const pathIndex = (spec: FaultSpec): PathIndex => (spec.path === 'backup' ? 1 : 0);

function failoverOf(rack: Rack, spec: FaultSpec): PathFailover {
  // Validation refuses path faults on hosts with one path; a rack built by hand may still ask.
  if (!rack.failover || !rack.fabric.multipath?.has(rack.host(spec.host).index)) {
    throw new Error(`${spec.origin}: ${spec.host} has one NTB path (no backupPath)`);
  }
  return rack.failover;
}

function pathDown(rack: Rack, log: FaultLog, spec: FaultSpec): void {
  const fo = failoverOf(rack, spec);
  const host = rack.host(spec.host);
  const rec = fo.fail(host, pathIndex(spec), spec.origin);
  if (!rec) return log.fault(spec.origin, spec.kind, spec.host, `no effect: its ${spec.path} NTB path has failed already`);
  const d = fo.cfg;
  log.fault(
    spec.origin,
    spec.kind,
    spec.host,
    `the link of its ${spec.path} NTB path failed; AER reports it in ${fmtUs(d.linkDownDetectNs + d.aerHandlerNs)} µs (Surprise Down after ${fmtUs(d.linkDownDetectNs)} µs, driver handler ${fmtUs(d.aerHandlerNs)} µs)`,
  );
}

function pathUp(rack: Rack, log: FaultLog, spec: FaultSpec): void {
  const fo = failoverOf(rack, spec);
  const { restored, record } = fo.restore(rack.host(spec.host), pathIndex(spec), spec.origin);
  if (!restored) return log.fault(spec.origin, spec.kind, spec.host, `no effect: its ${spec.path} NTB path works`);
  log.fault(spec.origin, spec.kind, spec.host, `the link of its ${spec.path} NTB path works again${record ? '; traffic stuck on the other, failed path moves here' : ''}`);
}

/** The drivers' side of every path fault: its detection and, once traffic moved, its recovery. */
function watchFailovers(rack: Rack, log: FaultLog): void {
  rack.failover?.onEvent((rec, phase) => {
    if (phase === 'detected') {
      // With both paths down nothing moves until a path-up (the report's failover table says so).
      if (rec.idle) log.recovery(rec.origin, 'path-down', rec.host, `AER reported the ${rec.failed} path down; no traffic used it, nothing moved`);
      return;
    }
    log.recovery(
      rec.origin,
      'path-down',
      rec.host,
      `moved to the ${rec.to} path: switch-over ${fmtUs(rec.doneAtNs - rec.failedAtNs)} µs (detected after ${fmtUs(rec.detectedAtNs - rec.failedAtNs)} µs), ${rec.queuePairs} queue pairs, ${rec.framesLost} frames lost in flight`,
    );
  });
}

const fmtUs = (ns: Ns): string => (ns / NS_PER_US).toFixed(3);

// ------------------------------------------------------------------------------ HRDMA

function wrapDma(log: FaultLog, host: Host, budget: Budget): void {
  const dma = host.dma;
  const post = dma.postCopy.bind(dma);
  const failed: { index: number; spec: FaultSpec }[] = [];
  dma.postCopy = (src, dst, len, flags, cookie): number => {
    const spec = budget.take();
    if (!spec) return post(src, dst, len, flags, cookie);
    const i = post(src, dst, MAX_DMA_BYTES + 1, flags, cookie);
    if (i >= 0) failed.push({ index: i, spec });
    log.fault(spec.origin, 'dma-error', host.name, `descriptor ${i} of ${len} bytes written with length ${MAX_DMA_BYTES + 1} (beyond the engine's maximum)`);
    return i;
  };
  // The driver hands completed slots back after reading their status: a failed descriptor below
  // that point has been seen by the driver, which counted the frame's loss.
  const release = dma.release.bind(dma);
  dma.release = (upTo: number): void => {
    release(upTo);
    while (failed.length > 0 && failed[0]!.index < upTo) {
      const f = failed.shift()!;
      log.recovery(f.spec.origin, 'dma-error', host.name, `descriptor ${f.index} completed with ${dma.errorCode(f.index)}; the driver reaped it (its frame re-sent by CPU copy, or dropped and counted) and the engine went on`);
    }
  };
}

// ------------------------------------------------------------------------------ PCIe link

function wrapUpLink(rack: Rack, log: FaultLog, host: Host, budget: Budget): void {
  const dir: LinkDirection = host.link.up;
  const reserve = dir.reserve.bind(dir);
  // The NAK's way back: the bad TLP reaches the switch port, its NAK returns (one DLLP).
  const nakNs = 2 * host.link.cfg.latencyNs + DLLP_BYTES * host.link.nsPerByte;
  dir.reserve = (notBefore: Ns, durationNs: Ns): Ns => {
    const spec = budget.take();
    if (!spec) return reserve(notBefore, durationNs);
    const bad = reserve(notBefore, durationNs + nakNs + durationNs);
    dir.busyNs -= nakNs; // waiting for the NAK is idle time, not wire time
    const replay = bad + durationNs + nakNs;
    const costNs = durationNs + nakNs;
    log.fault(spec.origin, 'tlp-corrupt', host.name, `TLP train of ${durationNs.toFixed(1)} ns on ${dir.name} arrived with a bad LCRC; NAKed`);
    rack.sched.at(replay + durationNs, () =>
      log.recovery(spec.origin, 'tlp-corrupt', host.name, `train replayed on ${dir.name}, ${costNs.toFixed(1)} ns late (train + NAK round trip)`),
    );
    return replay;
  };
}

// ------------------------------------------------------------------------------ interrupts

function wrapInterrupts(rack: Rack, log: FaultLog, host: Host, budget: Budget): void {
  const irq = host.irq;
  const raise = irq.raise.bind(irq);
  irq.raise = (vector: number, extraNs: Ns = 0): void => {
    const spec = budget.take();
    if (!spec) return raise(vector, extraNs);
    log.fault(spec.origin, 'irq-lost', host.name, `interrupt message for vector ${vector} lost`);
    rack.sched.after(spec.pollUs * NS_PER_US, () => {
      log.recovery(spec.origin, 'irq-lost', host.name, `the driver's poll (every ${spec.pollUs} µs) ran vector ${vector}'s handler`);
      raise(vector, 0);
    });
  };
}
