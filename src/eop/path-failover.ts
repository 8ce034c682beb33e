/**
 * The EOP driver's NTB path failover, after Marlin's multipath (seed 002: two NTBs per host, "detect
 * failure by PCIe AER", "switch path by remap"). When a path's link fails:
 *
 * 1. Detection, the way AER reports it. The ports at both ends of the dead link see the data link
 *    layer leave DL_Active: the LTSSM goes from L0 to Recovery, and Recovery.RcvrLock gives up after
 *    its 24 ms timeout (PCIe Base Spec, §4.2.6.4.1) and goes to Detect; the port is then DL_Down and
 *    signals Surprise Down, an uncorrectable (fatal) AER error (`linkDownDetectNs`). The ERR_FATAL
 *    message raises the root port's AER interrupt; the AER driver's handler queues the recovery,
 *    which calls each driver's `error_detected` callback (Linux Documentation/PCI/pcieaer-howto.rst
 *    and pci-error-recovery.rst: interrupt → aer_isr → pcie_do_recovery → error_detected)
 *    (`aerHandlerNs`, an estimate: no source gives the software path's time). The host whose link
 *    failed hears it from its own root port; the management host, which owns the switch, hears it
 *    from the switch's downstream port and tells every other host (`controlLatencyNs` later).
 * 2. Each driver holds the queue pairs that use the failed path (frames wait in their bounded
 *    queues), repoints its NTB window onto the other port (`remapNs`: translation registers written,
 *    then read back so the writes have taken effect), and lets them go. The failed host moves its own
 *    way out; every peer moves its window onto the failed host's aperture to that host's backup port.
 * 3. Resync, per queue pair and direction. Frames that were on the failed link when it died, or sent
 *    into it before detection, never landed: their slots in the receiver's ring stay empty, and the
 *    receiver would wait at the first hole for good. The sender tells the receiver (through the
 *    management plane) its producer index as it was when it stopped using the old route; once the
 *    receiver has remapped too, it walks its ring up to that index, delivers every slot that did land,
 *    and marks every empty one LOST (counted, ERR_EOP_PATH_LOST), then writes its consumer index back
 *    with a credit interrupt (the last credit may have died on the failed link too).
 *    Nothing is resent: a frame either landed (delivered) or is counted lost by the receiver. A frame
 *    whose credit came back had been consumed, so it was delivered before the failure was even seen.
 *
 * The switch-over time of a failover is from the link failing to the last resync of the host's
 * queue pairs: traffic in both directions flows on the other path from then on.
 */
import type { Host } from '../host/host.js';
import { PATH_NAMES, drainedNs, type NtbPaths, type PathIndex, type PathName } from '../pcie/ntb-paths.js';
import type { Scheduler } from '../time/scheduler.js';
import type { Ns } from '../time/units.js';
import type { ControlPlane } from './control-plane.js';
import type { EopNic } from './eop-nic.js';
import type { QueuePair } from './queue-pair.js';
import { SlotFlag, SlotHdr } from './ring-layout.js';

export interface FailoverConfig {
  /** Link failure to Surprise Down at both ports: the LTSSM's Recovery.RcvrLock timeout (24 ms). */
  linkDownDetectNs: Ns;
  /** ERR_FATAL → AER interrupt → AER driver → the EOP driver's error_detected (estimate). */
  aerHandlerNs: Ns;
  /** Reprogram the NTB window's translation onto the other port and read it back (estimate). */
  remapNs: Ns;
}

/**
 * 24 ms is the spec's Recovery.RcvrLock timeout (above); 50 µs for the kernel's AER path (an
 * interrupt, a threaded handler, a work item) and 2 µs for a few MMIO writes and a read-back are
 * estimates, listed in docs/model-vs-reality.md.
 */
export const DEFAULT_FAILOVER: FailoverConfig = {
  linkDownDetectNs: 24_000_000,
  aerHandlerNs: 50_000,
  remapNs: 2_000,
};

export interface FailoverRecord {
  /** What caused it (a `faults:` entry, e.g. "faults[0]", or a caller's label). */
  origin: string;
  host: string;
  /** The path that failed. */
  failed: PathName;
  /** The path traffic moved to; null: the other path was down too, nothing to move to. */
  to: PathName | null;
  failedAtNs: Ns;
  /** When the drivers' error_detected ran (AER), -1 before. */
  detectedAtNs: Ns;
  /** When the last queue pair resynced on the other path, -1 before (or never). */
  doneAtNs: Ns;
  /** Frames that were on, or sent into, the failed path and never landed (receivers' count). */
  framesLost: number;
  /** Queue pairs (one per direction) moved. */
  queuePairs: number;
  /** No route used the failed path (its host had moved off it already): nothing to move. */
  idle: boolean;
}

/** How often a driver waiting for its DMA descriptors to complete looks again. */
const DMA_QUIESCE_STEP_NS: Ns = 1_000;

export type FailoverListener = (rec: FailoverRecord, phase: 'detected' | 'done') => void;

/** One direction of one host pair, from its sender's queue pair to its receiver's. */
interface Direction {
  rec: FailoverRecord;
  sender: EopNic;
  receiver: EopNic;
  /** The sender's producer index when it moved off the old route (null: not yet). */
  prod: number | null;
  /** The receiver's window has moved too (its credits take the new route). */
  receiverMoved: boolean;
  done: boolean;
}

export class PathFailover {
  readonly records: FailoverRecord[] = [];
  private readonly listeners: FailoverListener[] = [];

  constructor(
    private readonly sched: Scheduler,
    private readonly paths: NtbPaths,
    private readonly control: ControlPlane,
    readonly cfg: FailoverConfig,
    private readonly controlLatencyNs: Ns,
  ) {}

  onEvent(fn: FailoverListener): void {
    this.listeners.push(fn);
  }

  /**
   * Path `p` of `host` fails now. Returns the failover's record, or null if that path had failed
   * already. When no host routes over it (the host already uses its other path), the record says
   * so: nothing moves.
   */
  fail(host: Host, p: PathIndex, origin: string): FailoverRecord | null {
    const h = host.index;
    if (!this.paths.fail(h, p, this.sched.now)) return null;
    const rec: FailoverRecord = {
      origin,
      host: host.name,
      failed: PATH_NAMES[p],
      to: null,
      failedAtNs: this.sched.now,
      detectedAtNs: -1,
      doneAtNs: -1,
      framesLost: 0,
      queuePairs: 0,
      idle: false,
    };
    this.records.push(rec);
    this.sched.after(this.cfg.linkDownDetectNs + this.cfg.aerHandlerNs, () => this.detected(host, p, rec));
    return rec;
  }

  /**
   * Path `p` of `host` works again (a link retrained, a cable replaced). Traffic stays where it is,
   * unless every route to the host was on a failed path: then it moves here now.
   */
  restore(host: Host, p: PathIndex, origin: string): { restored: boolean; record: FailoverRecord | null } {
    const h = host.index;
    if (!this.paths.restore(h, p)) return { restored: false, record: null };
    const other: PathIndex = p === 0 ? 1 : 0;
    if (!this.paths.failed(h, other) || !this.anyRouteOn(h, other)) return { restored: true, record: null };
    // Every route was stuck on the other, dead path: the link-up event moves them here, completing
    // the failover that found no path to move to (or, for a rack built by hand, a new one).
    const stuck = this.records.find((r) => r.host === host.name && r.failed === PATH_NAMES[other] && r.to === null && !r.idle && r.doneAtNs < 0);
    const rec: FailoverRecord = stuck ?? {
      origin,
      host: host.name,
      failed: PATH_NAMES[other],
      to: null,
      failedAtNs: this.paths.paths(h)![other].failedAtNs,
      detectedAtNs: -1,
      doneAtNs: -1,
      framesLost: 0,
      queuePairs: 0,
      idle: false,
    };
    if (!stuck) this.records.push(rec);
    this.detected(host, other, rec);
    return { restored: true, record: rec };
  }

  private anyRouteOn(h: number, p: PathIndex): boolean {
    for (const hh of this.control.hosts) if (hh && this.paths.view(hh.index, h) === p) return true;
    return false;
  }

  /** error_detected on the failed host and, `controlLatencyNs` later, on every peer. */
  private detected(host: Host, p: PathIndex, rec: FailoverRecord): void {
    const h = host.index;
    const other: PathIndex = p === 0 ? 1 : 0;
    // A failover completed by a path-up keeps the time AER first reported the failure.
    if (rec.detectedAtNs < 0) rec.detectedAtNs = this.sched.now;
    if (!this.anyRouteOn(h, p)) {
      rec.idle = true;
      rec.doneAtNs = this.sched.now;
      this.emit(rec, 'detected');
      return;
    }
    if (this.paths.failed(h, other)) {
      // Both ports dead: nothing to move to. Traffic stays stopped; a path-up moves it.
      this.emit(rec, 'detected');
      return;
    }
    rec.to = PATH_NAMES[other];
    const nic = this.control.nics[h];
    const dirs: Direction[] = [];
    if (nic && nic.running) {
      for (const qp of nic.qps) {
        if (!qp || qp.state !== 'up') continue;
        const peer = this.control.nics[qp.peer];
        if (!peer || !peer.running || peer.qp(h)?.state !== 'up') continue;
        dirs.push({ rec, sender: nic, receiver: peer, prod: null, receiverMoved: false, done: false });
        dirs.push({ rec, sender: peer, receiver: nic, prod: null, receiverMoved: false, done: false });
      }
    }
    rec.queuePairs = dirs.length;
    this.emit(rec, 'detected');
    const finishIfDone = (): void => {
      if (rec.doneAtNs < 0 && dirs.every((d) => d.done)) {
        rec.doneAtNs = this.sched.now;
        this.emit(rec, 'done');
      }
    };
    // The failed host's own driver: its way out moves to the other port.
    this.move(h, h, other, p, dirs, finishIfDone);
    // Every other host, told by the management host: its window onto h moves to h's other port.
    for (const peerHost of this.control.hosts) {
      if (!peerHost || peerHost.index === h) continue;
      this.sched.after(this.controlLatencyNs, () => this.move(peerHost.index, h, other, p, dirs, finishIfDone));
    }
    if (dirs.length === 0) finishIfDone();
  }

  /**
   * Host `v` holds its queue pairs that involve `h`, repoints its window (onto `h`'s port `to`;
   * v = h: its own way out), then lets them go and starts the resyncs it takes part in.
   */
  private move(v: number, h: number, to: PathIndex, from: PathIndex, dirs: Direction[], finishIfDone: () => void): void {
    const nic = this.control.nics[v];
    const held: QueuePair[] = [];
    if (nic) {
      for (const qp of nic.qps) {
        if (!qp || (v !== h && qp.peer !== h)) continue;
        qp.txPaused = true;
        held.push(qp);
      }
    }
    // Writes that took the old route must all have landed (or died) before the new one is used: they
    // crossed the failed link and then, for the failed host, any peer's link, for a peer only its
    // own. The control latency is a margin longer than any path's own latency.
    const links = [this.paths.paths(h)![from].link];
    for (const hh of this.control.hosts) {
      if (!hh || (v !== h && hh.index !== v)) continue;
      links.push(hh.link);
      const two = this.paths.paths(hh.index);
      if (two) links.push(two[1].link);
    }
    // So must the DMA descriptors the driver posted before it held them: they are fetched and issued
    // later, and one that failed is redone by CPU copy from its completion handler (dma-tx.ts). The
    // driver waits until they completed, then lets its handler run (`controlLatencyNs`, a margin).
    const dma = this.control.hosts[v]?.dma;
    const postedBefore = dma ? dma.tail : 0;
    let waitedForDma = false;
    const remapWhenQuiet = (): void => {
      if (dma && dma.completed - postedBefore < 0) {
        waitedForDma = true;
        this.sched.after(DMA_QUIESCE_STEP_NS, remapWhenQuiet);
        return;
      }
      if (waitedForDma) {
        waitedForDma = false;
        this.sched.after(this.controlLatencyNs, remapWhenQuiet);
        return;
      }
      // Everything of this pair's old route is reserved on its links by now: wait for that once
      // (other traffic keeps those links busy, and is not this pair's business).
      const drained = drainedNs(links, this.controlLatencyNs);
      if (drained > this.sched.now) this.sched.at(drained, remap);
      else remap();
    };
    const remap = (): void => {
      this.paths.remap(v, h, to);
      for (const d of dirs) {
        if (d.sender === nic) {
          // This host sends on the new route from now on: tell the receiver where it stopped.
          const qp = nic.qp(d.receiver.host.index)!;
          d.prod = qp.prod;
          qp.c.pathFailovers++;
          this.sched.after(this.controlLatencyNs, () => this.tryResync(d, finishIfDone));
        }
        if (d.receiver === nic) {
          d.receiverMoved = true;
          this.tryResync(d, finishIfDone);
        }
      }
      for (const qp of held) nic!.resumeTx(qp);
    };
    this.sched.after(this.cfg.remapNs, remapWhenQuiet);
  }

  /** Once the sender's index has arrived and the receiver has moved: walk, mark, credit. */
  private tryResync(d: Direction, finishIfDone: () => void): void {
    if (d.done || d.prod === null || !d.receiverMoved) return;
    d.done = true;
    d.rec.framesLost += markLost(d.receiver, d.sender.host.index, d.prod);
    finishIfDone();
  }

  private emit(rec: FailoverRecord, phase: 'detected' | 'done'): void {
    for (const fn of this.listeners) fn(rec, phase);
  }
}

/**
 * The receiver's side of a resync: slots from its consumer index up to the sender's producer index
 * `prod` that never landed are marked LOST (its own ring, written by its own driver), then the ring
 * is walked (landed frames delivered, lost ones counted) and the credit written back. Returns the
 * number of slots marked lost.
 */
export function markLost(receiver: EopNic, senderIndex: number, prod: number): number {
  const qp = receiver.qp(senderIndex);
  if (!receiver.running || !qp || qp.state !== 'up') return 0;
  const m = receiver.host.memory;
  const slots = receiver.cfg.ringSlots;
  const span = (prod - qp.cons) >>> 0;
  // More than a ring apart: the sender's index belongs to an earlier life of the link.
  if (span > slots) return 0;
  let lost = 0;
  for (let i = 0; i < span; i++) {
    const seq = (qp.cons + i) >>> 0;
    const a = qp.rxRingAddr + (seq & (slots - 1)) * receiver.slotBytes;
    const flags = m.readU32(a + SlotHdr.FLAGS);
    if (flags & SlotFlag.DONE && m.readU32(a + SlotHdr.SEQ) === seq) continue;
    m.writeU32(a + SlotHdr.LEN, 0);
    m.writeU32(a + SlotHdr.SEQ, seq);
    m.writeU32(a + SlotHdr.FLAGS, SlotFlag.DONE | SlotFlag.LOST);
    lost++;
  }
  receiver.pollRx(qp);
  receiver.republishCredit(qp);
  return lost;
}
