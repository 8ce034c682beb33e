/**
 * The `ntb-netdev` driver profile: Linux's ntb_transport + ntb_netdev as they work, frame by frame,
 * on the same emulated hosts, links and NTBs as EOP's own driver (eop-nic.ts), so that what a
 * measurement of ntb_netdev shows comes out of its mechanism. Constants and layout:
 * ntb-transport-layout.ts (from drivers/ntb/ntb_transport.c and drivers/net/ntb_netdev.c).
 *
 * What differs from EOP's driver, and costs:
 * - One queue pair, one peer (ntb_transport supports two-port NTBs only). The peer's receive buffer
 *   is its window: `entries` fixed entries of `maxFrameBytes` (15 of 64 KiB in a 1 MiB window).
 * - Transmit, per frame, no batching (ntb_process_tx → ntb_async_tx): the CPU stores `len` and `ver`
 *   into the entry's header (at the entry's end), then the payload goes by CPU copy through the
 *   write-combining window (memcpy_toio; always below copy_bytes, or without `use_dma`) or by one DMA
 *   descriptor with a completion interrupt; after the payload (the copy, or the DMA's completion
 *   callback on the interrupt core) the CPU stores DONE and rings the peer's doorbell. One doorbell
 *   per frame.
 * - Flow control: the sender reads how far the receiver got from the `entry` word the receiver
 *   writes into the sender's window share after every frame. No interrupt tells the sender: the
 *   netdev queue stops when fewer than tx_stop (5) entries are free and restarts when a transmit
 *   completion sees tx_start (10) free, or else when its timer fires on the tick after next
 *   (4–8 ms at HZ 250). Frames wait meanwhile in the qdisc (`txQueueFrames`).
 * - Receive: the doorbell interrupt schedules a tasklet (no register read in the handler). The
 *   tasklet walks entries from rx_index, at most `entries` per pass: for each, it takes a posted skb
 *   (NTB_RXQ_SIZE), copies the payload out of its own window into it (memcpy on the interrupt core,
 *   or a DMA when `use_dma` and the frame has at least copy_bytes), then, in order
 *   (ntb_complete_rxc), clears the flags, writes the entry index into the sender's window (a remote
 *   posted write, one per frame), and hands the frame to the stack (netif_rx). Re-posting the skb
 *   schedules the tasklet again. A pass that stopped short reads the doorbell register (a non-posted
 *   read across the host's link), and if its bit is set, clears it, reads again, and runs another
 *   pass. An entry found without DONE is `rxRingEmpty`.
 * - No offloads: frames are at most the MTU (65,510 with the default transport_mtu); the stack's
 *   own work per segment is the bench's (src/bench/stack-model.ts).
 *
 * Link bring-up uses EOP's scratchpad negotiation (same result: the link comes up when both sides
 * agree); ntb_transport's own link_work polling is not modelled. The link-doorbell bit is EOP's.
 *
 * Link down (a `link-down` fault, a peer's crash or stop: `qpDown`), as Linux handles the NTB's
 * link event: ntb_transport_event_callback → ntb_transport_link_cleanup → ntb_qp_link_cleanup
 * (ntb_qp_link_down_reset: link_is_up and active off, indices back to 0) → ntb_netdev_event_handler
 * → netif_carrier_off, whose linkwatch work (linkwatch_do_dev → dev_deactivate) swaps in the noop
 * qdisc and resets the old one. Where each frame goes, and what this model counts that Linux frees
 * without a word (every frame here is delivered or counted, ERR_EOP_LINK_DOWN):
 * - waiting in the qdisc: freed by the qdisc reset — `QpCounters.txLinkDownDrops`;
 * - handed to the peer (DONE in an entry of the peer's window) but not yet taken by its tasklet:
 *   the peer discards it (its active qp schedules no more passes; ntb_transport_setup_qp_mw zeroes
 *   every header at the next link-up) — the peer's `QpCounters.rxLinkDownDrops`;
 * - a transmit DMA still under way: ntb_tx_copy_callback writes DONE and rings into the dead link
 *   and ntb_netdev_tx_handler counts it sent — here `txLinkDownDrops`; a CPU copy whose writes the
 *   fabric or the peer's IOMMU refuses: the refusal's code;
 * - a receive copy already out of the window: ntb_complete_rxc still hands it up (client_ready
 *   stays set), and so does this model when the copy was done; one still landing when the window
 *   is cleared (the copy here lands after its time, Linux's memcpy is synchronous) is counted, not
 *   handed up with cleared bytes — `rxLinkDownDrops`.
 * Frames offered while the link is down are refused (the noop qdisc drops them; ntb_transport_tx_
 * enqueue returns -EINVAL without link_is_up). At link-up the queue pair starts afresh (qpUp).
 */
import { EopError, ErrorCode } from '../errors.js';
import { ntbRegsBase, viaWindow } from '../mem/address-map.js';
import { NtbReg } from '../pcie/ntb.js';
import type { Host } from '../host/host.js';
import { TX_CORE } from '../host/cores.js';
import { DescFlag, type Reaped } from '../host/hrdma.js';
import type { PathTimes } from '../pcie/fabric.js';
import type { Bytes, Ns } from '../time/units.js';
import { writeU32le } from '../wire/bytes.js';
import { isMulticastMac, readMac } from '../wire/mac.js';
import { EopNic, type EopConfig, type PeerDirectory } from './eop-nic.js';
import { LINK_DOORBELL_BIT } from './negotiation.js';
import type { QueuePair } from './queue-pair.js';
import { slotBytesFor } from './ring-layout.js';
import { StagingPool } from './staging-pool.js';
import {
  NTB_MAX_WINDOW_BYTES,
  NTB_MIN_WINDOW_BYTES,
  NTB_RXQ_SIZE,
  NtbFlag,
  PAYLOAD_HEADER_BYTES,
  PayloadHdr,
  QP0_DB_BIT,
  TX_START,
  TX_STOP,
  qpGeometry,
  txFreeEntries,
  txTimerFiresAt,
  type QpGeometry,
} from './ntb-transport-layout.js';

/** ntb_transport's debugfs counters (the ones this model can reach), and ntb_netdev's queue events. */
export class NtbCounters {
  rxRingEmpty = 0;
  rxErrNoBuf = 0;
  rxErrOflow = 0;
  rxErrVer = 0;
  rxMemcpy = 0;
  rxAsync = 0;
  txMemcpy = 0;
  txAsync = 0;
  txRingFull = 0;
  txErrNoBuf = 0;
  /** Tasklet passes, and doorbell-register reads they made. */
  taskletRuns = 0;
  doorbellReads = 0;
  /** The netdev queue stopped; restarted by a transmit completion or by the timer. */
  queueStops = 0;
  wakesByCompletion = 0;
  wakesByTimer = 0;
  timerFires = 0;
  /** Virtual time the queue spent stopped. */
  stoppedNs: Ns = 0;
}

/** A frame waiting in the qdisc or on its way (a staging buffer holds its bytes). */
interface TxRec {
  slot: number;
  len: Bytes;
  align: number;
  entry: number;
  /** The link's life it was sent in (`NtbNetdevNic.life`): a completion from an older one frees no entry. */
  life: number;
}

/** A received entry between its copy out and its completion (ntb_complete_rxc walks them in order). */
interface RxRec {
  entry: number;
  skb: number;
  len: Bytes;
  done: boolean;
  /** Set on a copy that landed with a refusal, or an overflow: completed, not handed up. */
  failed: boolean;
  /** The link's life it was taken in: one from before a link-down has no entry or index to give back. */
  life: number;
}

const COOKIE_TX = 1;
const COOKIE_RX = 2;

/** The largest qdisc a rack may ask for stays the EOP queue's bound (`txQueueFrames`). */
export class NtbNetdevNic extends EopNic {
  readonly geo: QpGeometry;
  readonly nc = new NtbCounters();
  private peerQp: QueuePair | null = null;
  /** Times the queue pair went down: entries and DMA completions of an earlier life are stale. */
  private life = 0;
  // ------------------------------------------------------------ transmit state
  private txIndex = 0;
  private txPkts = 0;
  /** tx_free_q: entries not being copied (freed by the copy's completion). */
  private txFreeQ: number;
  private stopped = false;
  private stoppedSince: Ns = 0;
  private timerArmed = false;
  private qdiscScheduled = false;
  private readonly qdisc: TxRec[] = [];
  private qdiscHead = 0;
  private readonly txDma: TxRec[] = [];
  private readonly txStaging: StagingPool;
  private drainFns: (() => void)[] = [];
  // ------------------------------------------------------------ receive state
  private rxIndex = 0;
  private rxPkts = 0;
  private readonly skbs: StagingPool;
  private readonly rxPost: RxRec[] = [];
  private readonly rxDma: RxRec[] = [];
  private taskletQueued = false;
  private taskletBusy = false;
  private rerun = false;
  private passEntries = 0;
  private dmaDone = 0;
  private readonly reapedRec: Reaped = { cookie: 0, error: null };
  private readonly taskletVector: number;
  private readonly word4 = new Uint8Array(4);
  private readonly dbRegTag = new Float64Array(1);
  private readonly dbRegTimes: PathTimes = { leaveNs: 0, landNs: 0 };

  constructor(host: Host, cfg: EopConfig, mac: number, peers: PeerDirectory, hostSlots: number, ifName?: string) {
    const w = cfg.ntbWindowBytes;
    if (!Number.isInteger(w) || w < NTB_MIN_WINDOW_BYTES || w > NTB_MAX_WINDOW_BYTES || (w & (w - 1)) !== 0) {
      throw new EopError(ErrorCode.CONFIG_INVALID, `${host.name}: eop.ntbWindowBytes ${w} must be a power of two from ${NTB_MIN_WINDOW_BYTES} to ${NTB_MAX_WINDOW_BYTES} (an NTB BAR size)`);
    }
    const geo = qpGeometry(w);
    if (cfg.mtu > geo.maxMtu) {
      throw new EopError(
        ErrorCode.CONFIG_INVALID,
        `${host.name}: MTU ${cfg.mtu} is above ntb_netdev's ${geo.maxMtu} for a ${w}-byte window (entries of ${geo.maxFrameBytes} bytes less the 12-byte header and the Ethernet header)`,
      );
    }
    if (!(cfg.ntbHz > 0 && cfg.ntbHz <= 10_000)) throw new EopError(ErrorCode.CONFIG_INVALID, `${host.name}: eop.ntbHz ${cfg.ntbHz} must be a tick rate in (0, 10000]`);
    // The window is the first `w` bytes of the ring area EOP's negotiation sets up, grants and clears
    // for the peer: size that area to hold it.
    const slot = slotBytesFor(cfg.mtu);
    let ringSlots = 4;
    while (ringSlots * slot < w) ringSlots *= 2;
    super(host, { ...cfg, ringSlots }, mac, peers, hostSlots, ifName);
    this.geo = geo;
    this.txFreeQ = geo.entries;
    this.txStaging = new StagingPool(host.alloc(cfg.txQueueFrames * slot, Math.max(65536, slot), 'ntb_netdev transmit skbs'), slot, cfg.txQueueFrames);
    this.skbs = new StagingPool(host.alloc(NTB_RXQ_SIZE * slot, Math.max(65536, slot), 'ntb_netdev receive skbs'), slot, NTB_RXQ_SIZE);
    this.taskletVector = host.irq.allocate(this.taskletIrq);
    // ntb_transport's doorbell callback only schedules the tasklet; EOP's link bit keeps EOP's handler.
    host.ntb!.onDoorbell = (pending: number) => {
      if (pending & (1 << LINK_DOORBELL_BIT)) host.irq.raise(this.dbVector, cfg.doorbellExtraNs);
      if (pending & QP0_DB_BIT) host.irq.raise(this.taskletVector, cfg.doorbellExtraNs);
    };
    host.dma.completionVector = host.irq.allocate(this.onTransportDma);
  }

  /**
   * ntb_transport brings its queue pair up when the NTB link comes up (its link work), not on a
   * first frame as EOP's queue pairs open (EopNic.openQp): opened here at the peer's link-up.
   */
  override onPeerLink(p: number, up: boolean): void {
    super.onPeerLink(p, up);
    if (up) this.openQp(p);
  }

  override addPeer(peer: number, peerName: string): QueuePair {
    if (this.peerQp) {
      throw new EopError(
        ErrorCode.CONFIG_INVALID,
        `${this.host.name}: eop.driver ntb-netdev connects exactly two hosts (Linux ntb_transport supports two-port NTBs only); ${peerName} would be a second peer`,
      );
    }
    const qp = super.addPeer(peer, peerName);
    this.peerQp = qp;
    return qp;
  }

  private get mw(): number {
    return this.peerQp!.rxRingAddr;
  }

  /** The peer's last consumed entry, as it wrote it into our window share. */
  private remoteEntry(): number {
    return this.host.memory.readU32(this.mw + this.geo.rxInfoOffset);
  }

  /** ntb_transport_tx_free_entry. */
  freeEntries(): number {
    return txFreeEntries(this.txIndex, this.remoteEntry(), this.geo.entries);
  }

  protected override qpUp(qp: QueuePair): void {
    // ntb_transport_setup_qp_mw: headers zeroed (EOP's negotiation cleared the area), the peer's
    // entry index starts at entries − 1, indices and counts at 0.
    this.host.memory.writeU32(this.mw + this.geo.rxInfoOffset, this.geo.entries - 1);
    this.txIndex = 0;
    this.txPkts = 0;
    this.rxIndex = 0;
    this.rxPkts = 0;
    this.txFreeQ = this.geo.entries;
    this.setStopped(false);
    this.scheduleQdisc();
    if (qp.up) this.scheduleTasklet();
  }

  /** Its window holds ntb_transport entries, not EOP slots: what it discards is counted in qpDown. */
  protected override dropUnread(_qp: QueuePair): void {}

  /** The link went down (see the opening comment): every frame the driver held is counted. */
  protected override qpDown(qp: QueuePair): void {
    this.life++;
    // dev_deactivate's qdisc reset.
    while (this.qdiscHead < this.qdisc.length) {
      this.txStaging.release(this.qdisc[this.qdiscHead++]!.slot);
      qp.c.txLinkDownDrops++;
      this.drops.add(ErrorCode.EOP_LINK_DOWN);
    }
    this.qdisc.length = 0;
    this.qdiscHead = 0;
    // Copies out of the window still landing: their bytes are about to be cleared.
    for (const rec of this.rxPost) {
      if (rec.done || rec.failed) continue;
      rec.failed = true;
      this.rxLinkDown(qp);
    }
    // Entries the peer completed that no pass took yet, from rx_index on, in the order written.
    const m = this.host.memory;
    for (let i = 0, e = this.rxIndex; i < this.geo.entries; i++, e = (e + 1) % this.geo.entries) {
      const flags = m.readU32(this.mw + (e + 1) * this.geo.maxFrameBytes - PAYLOAD_HEADER_BYTES + PayloadHdr.FLAGS);
      if (!(flags & NtbFlag.DESC_DONE) || flags & NtbFlag.LINK_DOWN) break;
      this.rxLinkDown(qp);
    }
  }

  /** Entries found DONE in our window and not yet taken, and copies out of it still under way (Linux discards both without a counter). */
  private rxLinkDown(qp: QueuePair): void {
    qp.c.rxLinkDownDrops++;
    this.drops.add(ErrorCode.EOP_LINK_DOWN);
  }

  // ------------------------------------------------------------------------------ transmit

  override transmit(frame: Uint8Array, meta?: { alignOffset?: number }): boolean {
    const len = frame.length;
    if (len < 14) return this.refuse(ErrorCode.FRAME_TOO_SHORT);
    if (len > this.geo.maxPayloadBytes || len > this.maxFrame) return this.refuse(ErrorCode.FRAME_TOO_LONG);
    if (!this.running) return this.refuse(ErrorCode.EOP_LINK_DOWN);
    const qp = this.peerQp;
    if (!qp || !qp.up) return this.refuse(ErrorCode.EOP_NO_PEER);
    if (this.qdisc.length - this.qdiscHead >= this.cfg.txQueueFrames) {
      qp.c.txQueueDrops++;
      return this.refuse(ErrorCode.EOP_TX_QUEUE_FULL);
    }
    const slot = this.txStaging.alloc();
    if (slot < 0) {
      this.c.stagingFull++;
      return this.refuse(ErrorCode.EOP_TX_QUEUE_FULL);
    }
    this.txStaging.ref(slot);
    const align = meta?.alignOffset ? meta.alignOffset & 63 : 0;
    this.host.memory.write(this.txStaging.addr(slot) + align, frame);
    this.qdisc.push({ slot, len, align, entry: -1, life: 0 });
    if (isMulticastMac(readMac(frame, 0))) this.c.floods++;
    this.c.txFrames++;
    this.c.txBytes += len;
    // dev_queue_xmit: a running queue hands the frame to start_xmit at once, in the sender's
    // context (its core), before the sender goes on; a stopped one leaves it in the qdisc.
    if (!this.stopped) this.xmitFromQdisc(this.callerCore());
    return true;
  }

  /**
   * The core start_xmit runs on when a frame is handed over: the caller's context — the sending
   * thread's core, or softirq on the interrupt core (a TCP ACK sent from the receive path) —
   * whichever is free first (the model's cores do not say who the caller was).
   */
  private callerCore(): number {
    const c = this.host.cores;
    return c.freeAt(c.irqCore) < c.freeAt(TX_CORE) ? c.irqCore : TX_CORE;
  }

  override txSpace(_dstMac: number): number {
    const qp = this.peerQp;
    if (!qp || !qp.up) return 0;
    const room = this.cfg.txQueueFrames - (this.qdisc.length - this.qdiscHead);
    return Math.max(0, Math.min(room, this.txStaging.available) - (this.cfg.txQueueFrames >> 3));
  }

  override onTxDrained(fn: () => void): void {
    this.drainFns.push(fn);
    this.scheduleQdisc();
  }

  private refuse(code: ErrorCode): false {
    this.drops.add(code);
    return false;
  }

  private scheduleQdisc(): void {
    if (this.qdiscScheduled) return;
    this.qdiscScheduled = true;
    this.host.sched.after(0, this.runQdisc);
  }

  /**
   * A qdisc run scheduled by a transmit completion, the timer or a waiting sender: NET_TX softirq
   * work, on the interrupt core.
   */
  private readonly runQdisc = (): void => {
    this.qdiscScheduled = false;
    this.xmitFromQdisc(this.host.cores.irqCore);
    const qp = this.peerQp;
    if (this.drainFns.length > 0 && this.qdisc.length - this.qdiscHead <= this.cfg.txQueueFrames >> 1 && qp && qp.up) {
      const fns = this.drainFns;
      this.drainFns = [];
      for (const f of fns) f();
    }
  };

  /** The qdisc hands frames to ntb_netdev_start_xmit while the queue runs; the driver's stores run on `core`. */
  private xmitFromQdisc(core: number): void {
    const qp = this.peerQp;
    while (qp && qp.up && this.running && !this.stopped && this.qdiscHead < this.qdisc.length) {
      // ntb_netdev_maybe_stop_tx before the enqueue.
      if (this.freeEntries() < TX_STOP && this.stopQueue()) break;
      if (this.txFreeQ === 0) {
        this.nc.txErrNoBuf++; // NETDEV_TX_BUSY: requeued; the next transmit completion runs the qdisc
        break;
      }
      if (this.txIndex === this.remoteEntry()) {
        this.nc.txRingFull++;
        qp.c.txRingFull++;
        break;
      }
      const rec = this.qdisc[this.qdiscHead++]!;
      this.sendEntry(qp, rec, core);
      // ... and after it, for the next one.
      if (this.freeEntries() < TX_STOP) this.stopQueue();
    }
    if (this.qdiscHead === this.qdisc.length) {
      this.qdisc.length = 0;
      this.qdiscHead = 0;
    }
  }

  /** __ntb_netdev_maybe_stop_tx: stop, and unless entries came free meanwhile, arm the timer. True: stopped. */
  private stopQueue(): boolean {
    if (this.freeEntries() >= TX_STOP) return false;
    this.setStopped(true);
    this.nc.queueStops++;
    this.armTimer();
    return true;
  }

  private setStopped(on: boolean): void {
    const now = this.host.sched.now;
    if (this.stopped && !on) this.nc.stoppedNs += now - this.stoppedSince;
    if (on && !this.stopped) this.stoppedSince = now;
    this.stopped = on;
  }

  private armTimer(): void {
    if (this.timerArmed) return;
    this.timerArmed = true;
    this.host.sched.at(txTimerFiresAt(this.host.sched.now, this.cfg.ntbHz), this.txTimer);
  }

  /** ntb_netdev_tx_timer. */
  private readonly txTimer = (): void => {
    this.timerArmed = false;
    this.nc.timerFires++;
    if (!this.stopped) return;
    if (this.freeEntries() < TX_STOP) {
      this.armTimer();
      return;
    }
    this.nc.wakesByTimer++;
    this.setStopped(false);
    this.scheduleQdisc();
  };

  /** ntb_async_tx: the header's len and ver, the payload, then DONE and the doorbell. */
  private sendEntry(qp: QueuePair, rec: TxRec, core: number): void {
    const h = this.host;
    const e = this.txIndex;
    rec.entry = e;
    rec.life = this.life;
    const entryAddr = qp.peerRingAddr + e * this.geo.maxFrameBytes;
    const hdr = entryAddr + this.geo.maxFrameBytes - PAYLOAD_HEADER_BYTES;
    writeU32le(this.word4, 0, rec.len);
    h.cpu.store(hdr + PayloadHdr.LEN, this.word4, core);
    writeU32le(this.word4, 0, this.txPkts >>> 0);
    h.cpu.store(hdr + PayloadHdr.VER, this.word4, core);
    const src = this.txStaging.addr(rec.slot) + rec.align;
    this.txIndex = (e + 1) % this.geo.entries;
    this.txPkts++;
    this.txFreeQ--;
    qp.c.txFrames++;
    qp.c.txBytes += rec.len;
    // Every frame is its own batch: one header, one doorbell.
    qp.c.txBatches++;
    qp.c.interruptsSent++;
    if (this.cfg.ntbUseDma && rec.len >= this.cfg.copyThresholdBytes && h.dma.space >= 1) {
      h.cpu.commit();
      h.dma.postCopy(src, entryAddr, rec.len, DescFlag.INTERRUPT, COOKIE_TX);
      this.txDma.push(rec);
      h.dma.kick();
      this.nc.txAsync++;
      qp.c.txDmaFrames++;
      return;
    }
    this.memcpyTx(qp, rec, src, entryAddr, hdr, core);
    this.nc.txMemcpy++;
    qp.c.txCpuFrames++;
  }

  /** ntb_memcpy_tx: the CPU copies through the write-combining window, then ntb_tx_copy_callback. */
  private memcpyTx(qp: QueuePair, rec: TxRec, src: number, entryAddr: number, hdr: number, core: number): void {
    this.host.cpu.copy(src, entryAddr, rec.len, core);
    this.doneAndDoorbell(qp, hdr, core);
    this.host.cpu.commit(this.txLanded, rec);
  }

  /** DONE in the header's flags (after the payload), then BIT(qp_num) in the peer's doorbell. */
  private doneAndDoorbell(qp: QueuePair, hdr: number, core: number): void {
    const cpu = this.host.cpu;
    writeU32le(this.word4, 0, NtbFlag.DESC_DONE);
    cpu.store(hdr + PayloadHdr.FLAGS, this.word4, core);
    writeU32le(this.word4, 0, QP0_DB_BIT);
    cpu.store(viaWindow(ntbRegsBase(qp.peer) + NtbReg.DB_SET), this.word4, core);
  }

  /** DONE and the doorbell after a DMA: refused (the peer's link or IOMMU gone), the frame is lost. */
  private readonly doneLanded = (code: ErrorCode | null): void => {
    if (code) {
      this.peerQp!.c.txErrors++;
      this.drops.add(code);
    }
  };

  private readonly txLanded = (code: ErrorCode | null, rec: TxRec): void => {
    if (code) {
      this.peerQp!.c.txErrors++;
      this.drops.add(code);
    }
    this.txHandler(rec);
  };

  /** The entry is free again (tx_free_q) and ntb_netdev_tx_handler frees the skb and may wake the queue. */
  private txHandler(rec: TxRec): void {
    this.txStaging.release(rec.slot);
    if (rec.life === this.life) this.txFreeQ++;
    if (this.stopped && this.freeEntries() >= TX_START) {
      this.nc.wakesByCompletion++;
      this.setStopped(false);
    }
    if (this.qdiscHead < this.qdisc.length || this.drainFns.length > 0) this.scheduleQdisc();
  }

  // ------------------------------------------------------------------------------ receive

  protected override onDataDoorbell(bits: number): void {
    if (bits & QP0_DB_BIT) this.scheduleTasklet();
  }

  /** tasklet_schedule: one more pass after the softirq's own cost (a no-op while one is queued). */
  private scheduleTasklet(): void {
    if (this.taskletBusy) {
      this.rerun = true;
      return;
    }
    if (this.taskletQueued) return;
    this.taskletQueued = true;
    const c = this.host.cores;
    const at = c.run(c.irqCore, this.host.profile.softirqNs);
    this.host.sched.at(at, this.tasklet);
  }

  /** The doorbell's interrupt (entry and softirq already spent): tasklet_schedule. */
  private readonly taskletIrq = (): void => {
    if (this.taskletBusy) this.rerun = true;
    else if (!this.taskletQueued) this.runPass();
  };

  private readonly tasklet = (): void => {
    this.taskletQueued = false;
    this.runPass();
  };

  /** ntb_transport_rxc_db: one pass, entry by entry, on the interrupt core. */
  private runPass(): void {
    const qp = this.peerQp;
    if (!qp || !this.running || !qp.up || this.taskletBusy) return;
    this.taskletBusy = true;
    this.rerun = false;
    this.passEntries = 0;
    this.nc.taskletRuns++;
    this.step();
  }

  /** Process the next entry (ntb_process_rxc); go on when the core has done it. */
  private readonly step = (): void => {
    const qp = this.peerQp!;
    if (!this.running || !qp.up) {
      // The pass ends here: what it posted still goes (dma_async_issue_pending after the loop).
      if (this.rxDma.length > 0) this.host.dma.kick();
      this.taskletBusy = false;
      return;
    }
    if (this.passEntries === this.geo.entries) {
      this.endPass(true);
      return;
    }
    const h = this.host;
    const c = h.cores;
    const core = c.irqCore;
    const m = h.memory;
    const entryAddr = this.mw + this.rxIndex * this.geo.maxFrameBytes;
    const hdr = entryAddr + this.geo.maxFrameBytes - PAYLOAD_HEADER_BYTES;
    // Looking at the header: one read of local memory.
    c.run(core, h.profile.localReadNs);
    const flags = m.readU32(hdr + PayloadHdr.FLAGS);
    if (!(flags & NtbFlag.DESC_DONE)) {
      this.nc.rxRingEmpty++;
      qp.c.rxRingEmpty++;
      this.endPass(false);
      return;
    }
    if (flags & NtbFlag.LINK_DOWN) {
      m.writeU32(hdr + PayloadHdr.FLAGS, 0);
      this.endPass(false);
      return;
    }
    if (m.readU32(hdr + PayloadHdr.VER) !== this.rxPkts >>> 0) {
      // -EIO: the pass stops here, and so will every later one (as in the kernel).
      this.nc.rxErrVer++;
      qp.c.rxErrSeq++;
      this.drops.add(ErrorCode.EOP_SEQ_GAP);
      this.endPass(false);
      return;
    }
    const skb = this.skbs.alloc();
    if (skb < 0) {
      this.nc.rxErrNoBuf++;
      this.endPass(false);
      return;
    }
    this.skbs.ref(skb);
    const len = m.readU32(hdr + PayloadHdr.LEN);
    const rec: RxRec = { entry: this.rxIndex, skb, len, done: false, failed: false, life: this.life };
    this.rxPost.push(rec);
    this.rxIndex = (this.rxIndex + 1) % this.geo.entries;
    this.passEntries++;
    c.run(core, this.cfg.rxFrameNs);
    if (len > this.maxFrame || len < 14) {
      this.nc.rxErrOflow++;
      qp.c.rxErrBadSlot++;
      this.drops.add(ErrorCode.EOP_BAD_SLOT);
      rec.done = true;
      rec.failed = true;
      this.completeRx();
      this.continueAt(c.freeAt(core));
      return;
    }
    this.rxPkts++;
    if (this.cfg.ntbUseDma && len >= this.cfg.copyThresholdBytes && h.dma.space >= 1) {
      h.dma.postCopy(entryAddr, this.skbs.addr(skb), len, DescFlag.INTERRUPT, COOKIE_RX);
      this.rxDma.push(rec);
      this.nc.rxAsync++;
      this.continueAt(c.freeAt(core));
      return;
    }
    // ntb_memcpy_rx: the core copies out of its own window; the completion follows the copy.
    h.cpu.copy(entryAddr, this.skbs.addr(skb), len, core);
    h.cpu.commit(this.rxCopied, rec);
    this.nc.rxMemcpy++;
    this.continueAt(c.freeAt(core));
  };

  private continueAt(at: Ns): void {
    if (at > this.host.sched.now) this.host.sched.at(at, this.step);
    else this.step();
  }

  private readonly rxCopied = (code: ErrorCode | null, rec: RxRec): void => {
    if (code && !rec.failed) {
      rec.failed = true;
      this.drops.add(code);
    }
    rec.done = true;
    this.completeRx();
  };

  /**
   * ntb_complete_rxc: from the oldest, every entry whose copy is done: clear its flags, write its
   * index into the sender's window, hand the frame up (netif_rx), re-post the skb (which schedules
   * the tasklet again).
   */
  private completeRx(): void {
    const qp = this.peerQp!;
    const h = this.host;
    const m = h.memory;
    while (this.rxPost.length > 0 && this.rxPost[0]!.done) {
      const rec = this.rxPost.shift()!;
      // An entry of an earlier life: the window and the peer's index started afresh since (its
      // index written now would tell the peer entries are free that are not).
      if (rec.life === this.life) {
        m.writeU32(this.mw + rec.entry * this.geo.maxFrameBytes + this.geo.maxFrameBytes - PAYLOAD_HEADER_BYTES + PayloadHdr.FLAGS, 0);
        writeU32le(this.word4, 0, rec.entry);
        h.cpu.store(qp.peerRingAddr + this.geo.rxInfoOffset, this.word4, h.cores.irqCore);
        h.cpu.commit();
        qp.c.creditUpdates++;
      }
      if (!rec.failed && this.running) this.deliver(qp, this.skbs.addr(rec.skb), rec.len);
      this.skbs.release(rec.skb);
      this.scheduleTasklet();
    }
  }

  /**
   * The end of a pass: with the budget used up, run again; else read the doorbell register and,
   * with its bit set, clear it, read it again (so the clear is committed), and run again.
   */
  private endPass(budgetUsed: boolean): void {
    const h = this.host;
    if (this.rxDma.length > 0) h.dma.kick();
    if (budgetUsed) {
      this.taskletBusy = false;
      this.rerun = false;
      this.scheduleTasklet();
      return;
    }
    const back = this.readRegister();
    h.sched.at(back, this.afterDoorbellRead);
  }

  private readonly afterDoorbellRead = (): void => {
    const ntb = this.host.ntb!;
    if (ntb.doorbell & QP0_DB_BIT) {
      ntb.clearDoorbell(QP0_DB_BIT);
      const c = this.host.cores;
      c.run(c.irqCore, this.host.cpu.cfg.storeNs);
      this.host.sched.at(this.readRegister(), this.passDone, true);
      return;
    }
    this.passDone(false);
  };

  private readonly passDone = (again: boolean): void => {
    this.taskletBusy = false;
    const rerun = this.rerun || again;
    this.rerun = false;
    if (rerun) this.scheduleTasklet();
  };

  /** ntb_db_read: a load from the doorbell register in our NTB port, across our link; the core waits. */
  private readRegister(): Ns {
    const h = this.host;
    const c = h.cores;
    const core = c.irqCore;
    const start = c.startNs(core);
    this.dbRegTag[0] = start;
    const back = h.fabric.reserveOwnRegisterRead(h, start, this.dbRegTag, this.dbRegTimes);
    c.occupy(core, start, back);
    this.nc.doorbellReads++;
    return back;
  }

  // ------------------------------------------------------------------------------ DMA completions

  /** The DMA engine's completion interrupt: ntb_tx_copy_callback / ntb_rx_copy_callback, in order. */
  private readonly onTransportDma = (): void => {
    const h = this.host;
    const dma = h.dma;
    const r = this.reapedRec;
    const qp = this.peerQp;
    const core = h.cores.irqCore;
    while (this.dmaDone !== dma.tail) {
      if (!dma.reap(this.dmaDone, r)) break;
      this.dmaDone++;
      this.c.dmaCompletions++;
      if (r.cookie === COOKIE_TX) {
        const rec = this.txDma.shift()!;
        if (!qp || !qp.up || rec.life !== this.life) {
          // The link went down under the copy: no DONE will mark its entry (Linux writes it into
          // the dead link and counts the frame sent).
          if (qp) qp.c.txLinkDownDrops++;
          this.drops.add(ErrorCode.EOP_LINK_DOWN);
          this.txHandler(rec);
          continue;
        }
        const entryAddr = qp.peerRingAddr + rec.entry * this.geo.maxFrameBytes;
        const hdr = entryAddr + this.geo.maxFrameBytes - PAYLOAD_HEADER_BYTES;
        if (r.error) {
          // Resubmitted by CPU (the callback's DMA_TRANS_*_FAILED branch).
          qp.c.txDmaErrors++;
          this.dmaErrors.add(r.error);
          this.memcpyTx(qp, rec, this.txStaging.addr(rec.slot) + rec.align, entryAddr, hdr, core);
          continue;
        }
        this.doneAndDoorbell(qp, hdr, core);
        h.cpu.commit(this.doneLanded);
        this.txHandler(rec);
      } else if (r.cookie === COOKIE_RX) {
        const rec = this.rxDma.shift()!;
        if (r.error && qp) {
          this.dmaErrors.add(r.error);
          h.cpu.copy(this.mw + rec.entry * this.geo.maxFrameBytes, this.skbs.addr(rec.skb), rec.len, core);
          h.cpu.commit(this.rxCopied, rec);
          continue;
        }
        rec.done = true;
        this.completeRx();
      }
    }
    dma.release(this.dmaDone);
  };
}
