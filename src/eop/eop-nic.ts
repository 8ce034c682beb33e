/**
 * The EOP pseudo-NIC: an Ethernet interface whose wire is the PCIe fabric.
 *
 * Transmit: a frame is staged in a buffer in this host's memory, queued on the queue pair of the
 * peer that owns its destination MAC (or on every queue pair, to flood), and moved in batches: for
 * each frame the payload (CPU copy below the copy threshold, else HRDMA) and then its slot header
 * with DONE; after the batch, one interrupt (an MSI written through the window, or an NTB
 * doorbell). A batch uses one path for all its frames, so its interrupt lands after all of them.
 * Receive: the interrupt handler walks our ring for that peer from its consumer index, checks each
 * header, hands the frame up as a view into our memory, clears the slot, and writes the new
 * consumer index back into the sender's memory (one remote write per batch). Only remote writes
 * cross the fabric on the fast path.
 * Back-pressure: with the peer's ring full, frames wait in a bounded queue; the frame that filled
 * the ring asks (WANT_CREDIT) for an interrupt with the next credits, so a stalled sender restarts
 * at once instead of waiting for a timer. Every drop is counted with its reason.
 */
import { DropCounters, ErrorCode } from '../errors.js';
import { MSI_BASE, ntbRegsBase, remoteAddr, viaWindow } from '../mem/address-map.js';
import { NtbReg } from '../pcie/ntb.js';
import type { Host } from '../host/host.js';
import { writeU32le } from '../wire/bytes.js';
import { BROADCAST_MAC, isMulticastMac, readMac } from '../wire/mac.js';
import { TX_CORE } from '../host/cores.js';
import { DescFlag, type Reaped } from '../host/hrdma.js';
import type { Bytes, Ns } from '../time/units.js';
import type { FramePort, FrameReceiver, TxMeta } from './frame-port.js';
import {
  DATA_DOORBELL_BITS,
  IrqMode,
  LINK_DOORBELL_BIT,
  MAX_EOP_HOSTS,
  Spad,
  hasQpLink,
  mismatch,
  publish,
  readParams,
  setQpLink,
} from './negotiation.js';
import { answerArp, type ArpDirectory } from './arp-responder.js';
import { DmaTxLedger } from './dma-tx.js';
import { QueuePair } from './queue-pair.js';
import { StagingPool } from './staging-pool.js';
import { NTB_DEFAULT_HZ, NTB_DEFAULT_USE_DMA, NTB_DEFAULT_WINDOW_BYTES } from './ntb-transport-layout.js';
import { lookAtRings } from './ring-looks.js';
import {
  CREDIT_BLOCK_BYTES,
  Credit,
  MAX_MTU,
  SLOT_HEADER_BYTES,
  SLOT_HEADER_USED,
  SlotFlag,
  SlotHdr,
  maxFrameBytes,
  slotBytesFor,
} from './ring-layout.js';

export interface EopConfig {
  mtu: number;
  ringSlots: number;
  batchFrames: number;
  txQueueFrames: number;
  version: number;
  irqMode: 'msi' | 'doorbell';
  /** Frames at or above this size go by HRDMA, smaller ones by CPU copy. */
  copyThresholdBytes: Bytes;
  /** Transmit staging buffers in host memory (shared by all queue pairs). */
  stagingSlots: number;
  /** Frames handled per interrupt-handler run before it yields (NAPI-style budget). */
  rxBudget: number;
  /** CPU time per received frame in the handler. */
  rxFrameNs: Ns;
  /**
   * Doorbell interrupts: delay added on top of the modeled path (the register write, the NTB's
   * interrupt, the handler's read-and-clear of the doorbell register across the link); default 0.
   */
  doorbellExtraNs: Ns;
  /** Management-plane delay for telling hosts about a link event. */
  controlLatencyNs: Ns;
  /**
   * Learned MACs kept per interface. When full, the oldest learned entry is evicted (counted in
   * `macEvictions`; its owner is relearned from its next frame, and frames to it flood meanwhile),
   * so a storm of random source MACs costs a bounded table, never memory for good.
   */
  macTableEntries: number;
  /** Answer ARP requests for the rack's known addresses instead of flooding them (arp-responder.ts). */
  arpResponder: boolean;
  /**
   * Which driver moves the frames: `eop` (this file) or `ntb-netdev`, Linux's ntb_transport +
   * ntb_netdev as they work (ntb-netdev.ts; two hosts only). The `ntb*` fields are that driver's.
   */
  driver: DriverKind;
  /** ntb-netdev: the memory window the peer's receive buffer sits behind (ntb-transport-layout.ts). */
  ntbWindowBytes: Bytes;
  /** ntb-netdev: ntb_transport's `use_dma` (DMA for copies of at least `copyThresholdBytes`, both ways). */
  ntbUseDma: boolean;
  /** ntb-netdev: the kernel's timer tick (CONFIG_HZ), which paces a stopped transmit queue's restart. */
  ntbHz: number;
}

export const DRIVER_KINDS = ['eop', 'ntb-netdev'] as const;
export type DriverKind = (typeof DRIVER_KINDS)[number];

/**
 * Defaults, and where they come from: `copyThresholdBytes` is Linux ntb_transport's `copy_bytes`
 * default; ring slots, batch and queue sizes are ours (ring memory grows with hosts² × slots);
 * `rxFrameNs` (driver work per received frame) is an estimate; a doorbell's cost follows from its
 * mechanism (onDoorbellIrq), `doorbellExtraNs` only adds to it; `controlLatencyNs` is the
 * management plane's reaction time, not on any data path. docs/model-vs-reality.md lists every parameter with its source.
 */
export const DEFAULT_EOP: EopConfig = {
  mtu: 1500,
  ringSlots: 32,
  batchFrames: 16,
  txQueueFrames: 256,
  version: 1,
  irqMode: 'msi',
  copyThresholdBytes: 1024,
  stagingSlots: 512,
  rxBudget: 64,
  rxFrameNs: 50,
  doorbellExtraNs: 0,
  controlLatencyNs: 10_000,
  macTableEntries: 4096,
  arpResponder: false,
  driver: 'eop',
  ntbWindowBytes: NTB_DEFAULT_WINDOW_BYTES,
  ntbUseDma: NTB_DEFAULT_USE_DMA,
  ntbHz: NTB_DEFAULT_HZ,
};

/**
 * Above this many hosts, receive-ring pages are given back as soon as their slots are consumed, so
 * ring memory follows the frames in flight rather than hosts² × ring size (every pair of a rack
 * that floods ARP touches every slot of its ring). Small racks keep their pages: reallocating them
 * per batch would cost the per-frame path for memory that is small anyway. Not observable either way.
 */
export const RELEASE_RX_PAGES_ABOVE_HOSTS = 16;

/**
 * How far ahead of the transmit core the driver may queue CPU copies. The model issues a copy with
 * its future start time at once (it queues behind the core's work, FIFO); without a bound, a
 * broadcast storm books the core milliseconds ahead and keeps a write in flight per copy (the
 * 64-host all-pairs rack held 200,000). A few µs cover every copy a normal batch makes, so only
 * storms wait.
 */
export const CPU_TX_AHEAD_NS: Ns = 10_000;

interface CpuBatch {
  qp: QueuePair;
  slots: number[];
}


export class NicCounters {
  txFrames = 0;
  txBytes: Bytes = 0;
  rxFrames = 0;
  rxBytes: Bytes = 0;
  floods = 0;
  dmaCompletions = 0;
  /** Frames refused because every transmit staging buffer was in use. */
  stagingFull = 0;
  /** Learned MACs forgotten because the table was full (oldest first). */
  macEvictions = 0;
  /** ARP requests answered by the interface's ARP responder (not flooded). */
  arpAnswered = 0;
  /** Queue pairs this interface opened because it had a frame for the peer (`openQp`). */
  qpOpened = 0;
  /** Queue pairs opened because a peer asked (its LINK doorbell, then its scratchpads). */
  qpAccepted = 0;
  /** Scratchpad reads of peers that shared a requester's doorbell bit but had not asked. */
  qpProbesIdle = 0;
}

/** What the NIC needs from the management plane. */
export interface PeerDirectory {
  /** Host by index (null if none or not running EOP). */
  host(index: number): Host | null;
  /** Tell every other running NIC that this host's NTB link changed. */
  linkChanged(index: number, up: boolean): void;
}

export class EopNic implements FramePort {
  readonly name: string;
  readonly mac: number;
  readonly mtu: number;
  readonly c = new NicCounters();
  readonly drops = new DropCounters();
  /** Failed HRDMA payloads by the engine's reason; the frame was then re-sent by CPU copy or dropped (see dma-tx.ts). */
  readonly dmaErrors = new DropCounters();
  readonly qps: (QueuePair | undefined)[] = [];
  readonly macTable = new Map<number, QueuePair>();
  running = false;
  /** How the interface last stopped (null: never); a crash left in place is a problem in the report. */
  lastStop: 'clean' | 'crash' | null = null;
  generation = 0;
  /** Called whenever one of this interface's queue pairs comes up (fault recovery watchers). */
  onQpUp: ((qp: QueuePair) => void) | null = null;
  private stoppedAt: Ns = -1;

  readonly slotBytes: Bytes;
  readonly ringBytes: Bytes;
  readonly maxFrame: Bytes;
  private readonly rxArea: number;
  private readonly creditArea: number;
  private readonly staging: StagingPool;
  private readonly rxVectorBase: number;
  private readonly creditVectorBase: number;
  private receiver: FrameReceiver = () => {};
  private dirty: QueuePair[] = [];
  private dirtySpare: QueuePair[] = [];
  private flushScheduled = false;
  /** When a flush waits for the transmit core (-1: none waits). */
  private coreFlushAt: Ns = -1;
  private dmaClean = 0;
  private dmaWaiting = false;
  private readonly hdr = new Uint8Array(SLOT_HEADER_USED);
  private readonly hdrView = new DataView(this.hdr.buffer);
  private readonly word = new Uint8Array(4);
  private readonly reaped: Reaped = { cookie: 0, error: null };
  private readonly cpuBatches: CpuBatch[] = [];
  private readonly scratch: Uint8Array;
  private readonly rxPending = new Set<QueuePair>();
  /** Large racks give consumed ring pages back (see RELEASE_RX_PAGES_ABOVE_HOSTS). */
  private readonly releaseRxPages: boolean;
  private drainWaiters: (() => void)[] = [];
  /** The NTB doorbell's vector (its handler reads and clears the register first). */
  protected readonly dbVector: number;
  private readonly dmaTx: DmaTxLedger;
  /** Peers whose NTB link the management plane reported up (1), by host index. */
  private readonly peerLink: Uint8Array;
  /** The rack's address directory, given by the rack builder when `cfg.arpResponder` is on. */
  arpDirectory: ArpDirectory | null = null;

  constructor(
    readonly host: Host,
    readonly cfg: EopConfig,
    mac: number,
    private readonly peers: PeerDirectory,
    /** Number of host indices in the rack (sizes the per-peer areas). */
    hostSlots: number,
    ifName = `eop-${host.name}`,
  ) {
    if (!host.ntb) throw new Error(`${host.name}: an EOP interface needs an NTB port`);
    if (cfg.mtu < 68 || cfg.mtu > MAX_MTU) throw new Error(`${host.name}: MTU ${cfg.mtu} outside 68..${MAX_MTU}`);
    if ((cfg.ringSlots & (cfg.ringSlots - 1)) !== 0) throw new Error('EOP ring slots must be a power of two');
    if (hostSlots > MAX_EOP_HOSTS) throw new Error(`EOP supports at most ${MAX_EOP_HOSTS} hosts`);
    this.name = ifName;
    this.mac = mac;
    this.mtu = cfg.mtu;
    this.maxFrame = maxFrameBytes(cfg.mtu);
    this.slotBytes = slotBytesFor(cfg.mtu);
    this.ringBytes = this.slotBytes * cfg.ringSlots;
    this.peerLink = new Uint8Array(hostSlots);
    // Slot-aligned areas: a slot then never straddles a memory page (see slotBytesFor).
    const areaAlign = Math.max(65536, this.slotBytes);
    this.rxArea = host.alloc(hostSlots * this.ringBytes, areaAlign, 'eop receive rings');
    this.releaseRxPages = hostSlots > RELEASE_RX_PAGES_ABOVE_HOSTS;
    this.creditArea = host.alloc(hostSlots * CREDIT_BLOCK_BYTES, 4096, 'eop credit words');
    this.staging = new StagingPool(
      host.alloc(cfg.stagingSlots * this.slotBytes, areaAlign, 'eop transmit staging'),
      this.slotBytes,
      cfg.stagingSlots,
    );
    this.scratch = new Uint8Array(this.maxFrame);
    this.rxVectorBase = host.irq.allocate(this.onRxIrq);
    for (let i = 1; i < hostSlots; i++) host.irq.allocate(this.onRxIrq);
    this.creditVectorBase = host.irq.allocate(this.onCreditIrq);
    for (let i = 1; i < hostSlots; i++) host.irq.allocate(this.onCreditIrq);
    host.dma.completionVector = host.irq.allocate(this.onDmaComplete);
    this.dmaTx = new DmaTxLedger(host.dma.cfg.ringSlots, {
      host,
      qp: (peer) => this.qps[peer],
      releaseStaging: (slot) => this.staging.release(slot),
      interruptPeer: (qp) => this.postInterrupt(qp, false, false),
      drops: this.drops,
      dmaErrors: this.dmaErrors,
    });
    const dbVector = (this.dbVector = host.irq.allocate(this.onDoorbellIrq));
    host.ntb.onDoorbell = () => host.irq.raise(dbVector, cfg.doorbellExtraNs);
  }

  setReceiver(fn: FrameReceiver): void {
    this.receiver = fn;
  }

  qp(peer: number): QueuePair | undefined {
    return this.qps[peer];
  }

  /**
   * Create the queue pair for a peer, not yet negotiating. Queue pairs are opened on first use
   * (`openQp`); this only makes the object (its ring's place is fixed by the layout, its pages are
   * made when frames land).
   */
  addPeer(peer: number, peerName: string): QueuePair {
    const qp = new QueuePair(
      peer,
      peerName,
      this.rxArea + peer * this.ringBytes,
      this.creditArea + peer * CREDIT_BLOCK_BYTES,
      this.cfg.txQueueFrames,
    );
    qp.openedAtNs = this.host.sched.now;
    this.qps[peer] = qp;
    return qp;
  }

  /** Whether a queue pair with `p` could be opened now: we run, both NTB links are up (as the management plane told). */
  reachable(p: number): boolean {
    return this.running && this.peerLink[p] === 1 && p !== this.host.index && this.host.ntb!.linkUp;
  }

  /** The management plane told us `p`'s NTB link state (the rack's boot waits for this). */
  knowsPeerUp(p: number): boolean {
    return this.peerLink[p] === 1;
  }

  /**
   * The queue pair with `p`, opened now if there is none and `p` is reachable: it starts
   * negotiating (a scratchpad read across the fabric first), and frames queued on it wait until it
   * is up. So the first frame between two hosts pays the link setup, as ntb_transport's first frame
   * after link-up would; a rack whose hosts never talk pays nothing (rings, windows, IOMMU grants).
   */
  openQp(p: number): QueuePair | undefined {
    const have = this.qps[p];
    if (have || !this.reachable(p)) return have;
    const peer = this.peers.host(p);
    if (!peer) return undefined;
    const qp = this.addPeer(p, peer.name);
    this.c.qpOpened++;
    qp.state = 'negotiating';
    this.host.sched.after(this.host.fabric.readRoundTripNs(this.host, peer), this.negotiate, qp);
    return qp;
  }

  // ---------------------------------------------------------------- link management

  /** Bring the interface up: publish parameters, raise the NTB link, negotiate with every peer. */
  start(): void {
    if (this.running) return;
    const h = this.host;
    // Peers must have seen us go before they see us come back, or they would keep stale state.
    const earliest = this.stoppedAt + 2 * this.cfg.controlLatencyNs;
    if (this.stoppedAt >= 0 && h.sched.now < earliest) {
      h.sched.at(earliest, () => this.start());
      return;
    }
    const ntb = h.ntb!;
    this.running = true;
    this.generation++;
    // A previous life may have left rings, credits and scratchpads behind.
    h.memory.fill(this.rxArea, this.qps.length * this.ringBytes, 0);
    h.memory.fill(this.creditArea, this.qps.length * CREDIT_BLOCK_BYTES, 0);
    publish(ntb.scratchpads, {
      version: this.cfg.version,
      hostIndex: h.index,
      mtu: this.cfg.mtu,
      ringSlots: this.cfg.ringSlots,
      slotBytes: this.slotBytes,
      rxBase: this.rxArea,
      creditBase: this.creditArea,
      rxVectorBase: this.rxVectorBase,
      creditVectorBase: this.creditVectorBase,
      irqMode: this.cfg.irqMode === 'msi' ? IrqMode.MSI : IrqMode.DOORBELL,
      generation: this.generation,
    });
    ntb.setLink(true);
    this.peers.linkChanged(h.index, true);
    // The management plane tells a newcomer which ports are up already.
    for (let p = 0; p < this.peerLink.length; p++) {
      if (p !== h.index && this.peers.host(p)?.ntb?.linkUp) this.onPeerLink(p, true);
    }
  }

  /**
   * Take the interface down. Clean: every peer gets a LINK_DOWN entry in its ring first and our
   * scratchpads are cleared. Not clean (a crash): the NTB link just drops and the scratchpads keep
   * their stale values, as on real hardware.
   */
  stop(clean: boolean): void {
    if (!this.running) return;
    const h = this.host;
    const ntb = h.ntb!;
    this.running = false;
    this.stoppedAt = h.sched.now;
    if (clean) {
      for (const qp of this.qps) {
        if (!qp || !qp.up) continue;
        this.writeHeader(qp.prod, 0, SlotFlag.DONE | SlotFlag.LINK_DOWN);
        h.cpu.store(qp.peerRingAddr + (qp.prod & (this.cfg.ringSlots - 1)) * this.slotBytes, this.hdr);
        this.postInterrupt(qp, false, false); // the data vector: the peer must read its ring
      }
    }
    this.lastStop = clean ? 'clean' : 'crash';
    for (const qp of this.qps) if (qp) this.peerDown(qp, clean ? 'interface stopped' : 'host crashed', true, clean);
    const drop = (): void => {
      if (clean) ntb.clearScratchpads();
      ntb.setLink(false);
      this.peers.linkChanged(h.index, false);
    };
    if (clean) h.cpu.commit(drop);
    else drop();
  }

  /** The management plane says peer `p`'s NTB link went up or down. */
  onPeerLink(p: number, up: boolean): void {
    this.peerLink[p] = up ? 1 : 0;
    const qp = this.qps[p];
    // A queue pair that exists was used: it comes back by itself. Others wait for their first use.
    if (!qp || !this.running) return;
    if (!up) {
      // Without a LINK_DOWN entry first: the peer crashed (or its link failed).
      if (qp.state !== 'down') this.peerDown(qp, `${qp.peerName}'s link went down`, false, false);
      return;
    }
    qp.state = 'negotiating';
    const peer = this.peers.host(p);
    if (!peer) return;
    this.host.sched.after(this.host.fabric.readRoundTripNs(this.host, peer), this.negotiate, qp);
  }

  private readonly negotiate = (qp: QueuePair): void => {
    if (!this.running || qp.state !== 'negotiating') return;
    const h = this.host;
    const peer = this.peers.host(qp.peer);
    const spads = peer ? h.fabric.readScratchpads(h, peer) : null;
    if (!peer || !spads) return; // the peer is gone again; its next link event restarts this
    const why = mismatch(h.name, h.ntb!.scratchpads, qp.peerName, spads);
    if (why) {
      qp.state = 'mismatch';
      qp.reason = why;
      this.dropQueued(qp);
      this.drops.add(ErrorCode.EOP_NEGOTIATION);
      h.fabric.log.warn(this.name, `link to ${qp.peerName} stays down: ${why}`, ErrorCode.EOP_NEGOTIATION);
      return;
    }
    const p = readParams(spads);
    qp.peerGeneration = p.generation;
    qp.peerRingAddr = remoteAddr(qp.peer, p.rxBase + h.index * this.ringBytes);
    qp.peerCreditAddr = remoteAddr(qp.peer, p.creditBase + h.index * CREDIT_BLOCK_BYTES);
    qp.peerRxVector = p.rxVectorBase + h.index;
    qp.peerCreditVector = p.creditVectorBase + h.index;
    qp.peerIrqMode = p.irqMode;
    // Fresh ring: forget what an earlier life of the link left.
    h.memory.fill(qp.rxRingAddr, this.ringBytes, 0);
    h.memory.writeU32(qp.creditAddr + Credit.CONS, 0);
    qp.resetIndices();
    // Let exactly the peer's structures in, nothing else.
    h.iommu.revokeAll(peer.rid);
    h.iommu.grant(peer.rid, qp.rxRingAddr, this.ringBytes, `eop ring from ${qp.peerName}`);
    h.iommu.grant(peer.rid, qp.creditAddr, CREDIT_BLOCK_BYTES, `eop credits from ${qp.peerName}`);
    h.iommu.grant(peer.rid, MSI_BASE, 0x10_0000, `MSI from ${qp.peerName}`);
    qp.localReady = true;
    qp.state = 'waiting-peer';
    setQpLink(h.ntb!.scratchpads, qp.peer, true);
    // Tell the peer to look at our QP_LINKS now rather than on a timer. Our own data bit goes with
    // it: a peer without a queue pair for us yet learns whose scratchpads to read.
    writeU32le(this.word, 0, ((1 << LINK_DOORBELL_BIT) | (1 << (h.index % DATA_DOORBELL_BITS))) >>> 0);
    h.cpu.store(viaWindow(ntbRegsBase(qp.peer) + NtbReg.DB_SET), this.word);
    h.cpu.commit();
    this.checkPeerReady(qp, spads);
  };

  private checkPeerReady(qp: QueuePair, spads: Uint32Array): void {
    if (!qp.localReady || qp.state === 'up') return;
    if (spads[Spad.GENERATION] !== qp.peerGeneration) {
      // The peer restarted since we negotiated: do it again.
      qp.state = 'negotiating';
      this.host.sched.after(0, this.negotiate, qp);
      return;
    }
    if (!hasQpLink(spads, this.host.index)) return;
    qp.state = 'up';
    qp.reason = '';
    qp.c.linkUps++;
    if (qp.upAtNs < 0) qp.upAtNs = this.host.sched.now;
    this.onQpUp?.(qp);
    this.qpUp(qp);
  }

  /** The queue pair just came up: send what waited (ntb-netdev.ts lays out its own ring here). */
  protected qpUp(qp: QueuePair): void {
    this.markDirty(qp);
  }

  /**
   * The queue pair was up and just went down, before its ring is cleared and its peer's access
   * revoked: a driver that keeps frames outside `qp`'s queue (ntb-netdev.ts) drops and counts them here.
   */
  protected qpDown(_qp: QueuePair): void {}

  private peerDown(qp: QueuePair, reason: string, local: boolean, clean: boolean): void {
    const h = this.host;
    const wasUp = qp.state === 'up';
    qp.state = 'down';
    qp.reason = reason;
    qp.downClean = clean;
    qp.localReady = false;
    if (wasUp) qp.c.linkDowns++;
    this.dropQueued(qp);
    if (wasUp) this.qpDown(qp);
    setQpLink(h.ntb!.scratchpads, qp.peer, false);
    const peer = this.peers.host(qp.peer);
    if (peer) h.iommu.revokeAll(peer.rid);
    this.dropUnread(qp);
    h.memory.fill(qp.rxRingAddr, this.ringBytes, 0);
    for (const [mac, owner] of this.macTable) if (owner === qp) this.macTable.delete(mac);
    if (wasUp && !local) h.fabric.log.warn(this.name, `link to ${qp.peerName} down: ${reason}`, ErrorCode.EOP_LINK_DOWN);
  }

  /**
   * Frames the peer had written into our ring that the handler had not read yet (its core busy,
   * its budget spent) when the link went down: the ring is cleared next, so each is dropped and
   * counted here, under the reason it would have had when read (the sender counted it sent).
   * ntb-netdev.ts lays out its own window and counts what it discards in qpDown.
   */
  protected dropUnread(qp: QueuePair): void {
    const m = this.host.memory;
    const mask = this.cfg.ringSlots - 1;
    for (let i = 0; i < this.cfg.ringSlots; i++) {
      const slotAddr = qp.rxRingAddr + ((qp.cons + i) & mask) * this.slotBytes;
      const dv = m.pageDataViewIfPresent(slotAddr);
      if (!dv) break;
      const flags = dv.getUint32(m.pageOffset(slotAddr) + SlotHdr.FLAGS, true);
      if (!(flags & SlotFlag.DONE) || flags & SlotFlag.LINK_DOWN) break;
      if (flags & SlotFlag.LOST) {
        qp.c.rxPathLost++;
        this.drops.add(ErrorCode.EOP_PATH_LOST);
      } else {
        qp.c.rxLinkDownDrops++;
        this.drops.add(ErrorCode.EOP_LINK_DOWN);
      }
    }
  }

  /** Frames queued on a queue pair whose link went (or stays) down: dropped and counted. */
  private dropQueued(qp: QueuePair): void {
    while (qp.txCount > 0) {
      this.staging.release(qp.txSlot[qp.txHead]!);
      qp.popTx();
      qp.c.txLinkDownDrops++;
      this.drops.add(ErrorCode.EOP_LINK_DOWN);
    }
  }

  /**
   * The doorbell register sits in the NTB port across our link: the handler reads and clears it
   * (a round trip its core waits for, Host.readDoorbell) before it knows which rings to look at.
   */
  protected readonly onDoorbellIrq = (): void => {
    const at = this.host.readDoorbell();
    if (at > this.host.sched.now) this.host.sched.at(at, this.onDoorbellRead);
    else this.onDoorbellRead();
  };

  private readonly onDoorbellRead = (): void => {
    const ntb = this.host.ntb!;
    const bits = (ntb.doorbell & ~ntb.doorbellMask) >>> 0;
    ntb.clearDoorbell(bits);
    if (!this.running) return;
    if (bits & (1 << LINK_DOORBELL_BIT)) {
      for (const qp of this.qps) {
        if (!qp || !qp.localReady || qp.state === 'up') continue;
        const peer = this.peers.host(qp.peer);
        if (!peer) continue;
        this.host.sched.after(this.host.fabric.readRoundTripNs(this.host, peer), this.recheckPeer, qp);
      }
      this.probeRequesters(bits);
    }
    // Data bits mean data only when peers signal us by doorbell; with MSI they only name requesters.
    if (this.cfg.irqMode === 'doorbell' && bits & ~(1 << LINK_DOORBELL_BIT)) this.onDataDoorbell(bits);
  };

  /**
   * Data doorbell bits, read and cleared. A bit is shared by every peer ≡ it mod 31: the handler
   * looks at each of their rings in turn, one read of local memory each (ring-looks.ts), and a
   * ring is walked when the core has got to it.
   */
  protected onDataDoorbell(bits: number): void {
    lookAtRings(this.host, this.qps, bits, this.lookedAt);
  }

  private readonly lookedAt = (qp: QueuePair): void => {
    this.processRx(qp);
    this.markDirty(qp);
  };

  /**
   * A LINK doorbell with data bits: some host whose bit is set wants a queue pair with us. Doorbell
   * bits are shared (host p rings bit p mod 31), so every reachable host on a set bit that has no
   * queue pair with us has its scratchpads read (a round trip each); those whose QP_LINKS names us
   * get one, opened at once with what was read.
   */
  private probeRequesters(bits: number): void {
    for (let p = 0; p < this.peerLink.length; p++) {
      if (!(bits & (1 << (p % DATA_DOORBELL_BITS))) || this.qps[p] || !this.reachable(p)) continue;
      const peer = this.peers.host(p);
      if (peer) this.host.sched.after(this.host.fabric.readRoundTripNs(this.host, peer), this.probe, p);
    }
  }

  private readonly probe = (p: number): void => {
    if (this.qps[p] || !this.reachable(p)) return;
    const peer = this.peers.host(p);
    const spads = peer ? this.host.fabric.readScratchpads(this.host, peer) : null;
    if (!peer || !spads || !hasQpLink(spads, this.host.index)) {
      this.c.qpProbesIdle++;
      return;
    }
    const qp = this.addPeer(p, peer.name);
    this.c.qpAccepted++;
    qp.state = 'negotiating';
    this.negotiate(qp);
  };

  private readonly recheckPeer = (qp: QueuePair): void => {
    const peer = this.peers.host(qp.peer);
    const spads = peer ? this.host.fabric.readScratchpads(this.host, peer) : null;
    if (spads) this.checkPeerReady(qp, spads);
  };

  // ---------------------------------------------------------------- transmit

  transmit(frame: Uint8Array, meta?: TxMeta): boolean {
    const len = frame.length;
    if (len < 14) return this.dropTx(ErrorCode.FRAME_TOO_SHORT);
    if (len > this.maxFrame) return this.dropTx(ErrorCode.FRAME_TOO_LONG);
    if (!this.running) return this.dropTx(ErrorCode.EOP_LINK_DOWN);
    // Group addresses (broadcast, multicast) always flood.
    const dst = readMac(frame, 0);
    if (this.arpDirectory && dst === BROADCAST_MAC && this.answerArpLocally(frame)) return true;
    const owner = isMulticastMac(dst) ? undefined : this.macTable.get(dst);
    if (owner && owner.usable && owner.txCount === owner.txCapacity) {
      // Full queue: count it before paying for the copy.
      owner.c.txQueueDrops++;
      return this.dropTx(ErrorCode.EOP_TX_QUEUE_FULL);
    }
    const align = meta?.alignOffset ? meta.alignOffset & 63 : 0;
    const slot = this.staging.alloc();
    if (slot < 0) {
      this.c.stagingFull++;
      return this.dropTx(ErrorCode.EOP_TX_QUEUE_FULL);
    }
    this.host.memory.write(this.staging.addr(slot) + align, frame);
    let queued = 0;
    let targets = 0;
    if (owner && owner.usable) {
      targets = 1;
      queued = this.queueOn(owner, slot, len, align);
    } else {
      // A flood must reach every peer: it opens the queue pairs not opened yet.
      for (let p = 0; p < this.peerLink.length; p++) {
        const qp = this.qps[p] ?? this.openQp(p);
        if (!qp || !qp.usable) continue;
        targets++;
        queued += this.queueOn(qp, slot, len, align);
      }
      if (queued > 0) this.c.floods++;
    }
    this.staging.unused(slot);
    if (queued === 0) {
      if (targets === 0) return this.dropTx(ErrorCode.EOP_NO_PEER);
      return false; // counted per queue pair already
    }
    this.c.txFrames++;
    this.c.txBytes += len;
    return true;
  }

  /**
   * Room for a bulk sender: queue and staging space, less a reserve kept for other traffic (like a
   * socket's send buffer being smaller than the device queue, so one busy socket cannot starve a
   * ping).
   */
  txSpace(dstMac: number): number {
    const owner = isMulticastMac(dstMac) ? undefined : this.macTable.get(dstMac);
    let space = Infinity;
    if (owner && owner.usable) space = owner.txCapacity - owner.txCount;
    else {
      for (let p = 0; p < this.peerLink.length; p++) {
        const qp = this.qps[p];
        // A peer with no queue pair yet gets an empty queue when the flood opens it.
        const room = qp ? (qp.usable ? qp.txCapacity - qp.txCount : Infinity) : this.reachable(p) ? this.cfg.txQueueFrames : Infinity;
        if (room < space) space = room;
      }
    }
    if (space === Infinity) return 0;
    // The reserve is small against both the queue and the staging pool, so an idle interface
    // always has room (a reserve ≥ the pool would report "full" forever).
    const reserve = Math.min(this.cfg.txQueueFrames >> 3, this.staging.slots >> 3);
    return Math.max(0, Math.min(space, this.staging.available) - reserve);
  }

  /** A frame could go somewhere: a queue pair is up or opening, or one can be opened. */
  anyPeerUp(): boolean {
    for (const qp of this.qps) if (qp && qp.usable) return true;
    for (let p = 0; p < this.peerLink.length; p++) if (!this.qps[p] && this.reachable(p)) return true;
    return false;
  }

  onTxDrained(fn: () => void): void {
    this.drainWaiters.push(fn);
    if (this.drainWaiters.length === 1) this.host.sched.after(0, this.checkDrained);
  }

  private readonly checkDrained = (): void => {
    if (this.drainWaiters.length === 0) return;
    let anyUp = false;
    if (this.staging.available < this.staging.slots / 2) return; // staging frees on DMA completion, which checks again
    for (const qp of this.qps) {
      if (!qp || !qp.usable) continue;
      if (qp.txCount > qp.txCapacity / 2) return;
      anyUp = true;
    }
    if (!anyUp && !this.anyPeerUp()) return; // a queue pair coming up flushes, and checks again
    const ws = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of ws) w();
  };

  /** The ARP responder: answer `frame` here when the directory knows its owner and the owner is reachable. */
  private answerArpLocally(frame: Uint8Array): boolean {
    const a = answerArp(frame, this.arpDirectory!);
    // The owner's queue pair opens now: the asker's next frame goes to it (and waits for its setup).
    const qp = a ? this.openQp(a.owner.hostIndex) : undefined;
    if (!a || !qp || !qp.usable) return false;
    // As if the owner had replied: its MAC is behind its queue pair from now on (no unknown-unicast flood).
    if (this.macTable.get(a.owner.mac) !== qp) this.learn(a.owner.mac, qp);
    this.c.arpAnswered++;
    // The driver's work for one frame, then the reply goes up like a received one (never from inside transmit).
    this.host.sched.after(this.cfg.rxFrameNs, this.deliverArpReply, a.reply);
    return true;
  }

  private readonly deliverArpReply = (reply: Uint8Array): void => {
    if (this.running) this.receiver(reply);
  };

  private dropTx(code: ErrorCode): false {
    this.drops.add(code);
    return false;
  }

  private queueOn(qp: QueuePair, slot: number, len: Bytes, align: number): number {
    if (!qp.enqueue(slot, len, align)) {
      qp.c.txQueueDrops++;
      this.drops.add(ErrorCode.EOP_TX_QUEUE_FULL);
      return 0;
    }
    this.staging.ref(slot);
    this.markDirty(qp);
    return 1;
  }


  private markDirty(qp: QueuePair): void {
    if (!qp.dirty) {
      qp.dirty = true;
      this.dirty.push(qp);
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // Frames handed over in the same instant go out as one batch.
      this.host.sched.after(0, this.flush);
    }
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    // Swap lists rather than copy: queue pairs marked dirty while flushing go on the other one.
    const list = this.dirty;
    this.dirty = this.dirtySpare;
    this.dirtySpare = list;
    for (let i = 0; i < list.length; i++) {
      const qp = list[i]!;
      qp.dirty = false;
      if (qp.up && qp.txCount > 0) this.flushQp(qp);
    }
    list.length = 0;
    if (this.drainWaiters.length > 0) this.checkDrained();
  };

  private flushQp(qp: QueuePair): void {
    if (qp.txPaused) return; // resumeTx flushes
    const h = this.host;
    const n = this.cfg.ringSlots;
    const mask = n - 1;
    const peerCons = h.memory.readU32(qp.creditAddr + Credit.CONS);
    while (qp.txCount > 0) {
      const inFlight = (qp.prod - peerCons) >>> 0;
      const credits = n - inFlight;
      if (credits <= 0 || inFlight > n) {
        if (!qp.waitingCredit) {
          qp.waitingCredit = true;
          qp.c.txRingFull++;
        }
        return;
      }
      qp.waitingCredit = false;
      let batch = Math.min(qp.txCount, credits, this.cfg.batchFrames);
      let useDma = false;
      for (let k = 0; k < batch; k++) {
        if (qp.txLen[qp.txIndex(k)]! >= this.cfg.copyThresholdBytes) {
          useDma = true;
          break;
        }
      }
      if (!useDma && h.cores.freeAt(TX_CORE) > h.sched.now + CPU_TX_AHEAD_NS) {
        // The transmit core is booked far ahead with earlier copies: a real driver's copy loop
        // cannot run ahead of itself, so this batch waits for the core (and meanwhile grows).
        this.flushWhenFree(qp, h.cores.freeAt(TX_CORE) - CPU_TX_AHEAD_NS);
        return;
      }
      if (useDma) {
        const room = (h.dma.space - 1) >> 1;
        if (room <= 0) {
          this.dmaWaiting = true;
          this.markDirtyLater(qp);
          return;
        }
        if (batch > room) batch = room;
      }
      const released = useDma ? null : this.cpuBatch(qp);
      for (let k = 0; k < batch; k++) {
        const slot = qp.txSlot[qp.txHead]!;
        const len = qp.txLen[qp.txHead]!;
        const src = this.staging.addr(slot) + qp.txAlign[qp.txHead]!;
        qp.popTx();
        const slotAddr = qp.peerRingAddr + (qp.prod & mask) * this.slotBytes;
        const fills = k === batch - 1 && credits === batch;
        const flags = SlotFlag.DONE | (fills ? SlotFlag.WANT_CREDIT : 0);
        this.writeHeader(qp.prod, len, flags);
        if (useDma) {
          // `room` above keeps the engine's ring from filling; should it fill anyway, the frame is
          // dropped here, never half-sent. The header is fenced behind the payload (dma-tx.ts).
          const posted = h.dma.space >= 2 ? h.dma.postCopy(src, slotAddr + SLOT_HEADER_BYTES, len, 0, 0) : -1;
          if (posted < 0) {
            this.staging.release(slot);
            qp.c.txErrors++;
            this.drops.add(ErrorCode.DMA_RING_FULL);
            continue;
          }
          h.dma.postImm(slotAddr, this.hdr, DescFlag.FENCE, 0);
          this.dmaTx.record(posted, qp, src, slotAddr, len, qp.prod, flags, slot);
          qp.c.txDmaFrames++;
        } else {
          h.cpu.copy(src, slotAddr + SLOT_HEADER_BYTES, len);
          h.cpu.store(slotAddr, this.hdr);
          released!.slots.push(slot);
          qp.c.txCpuFrames++;
        }
        qp.prod = (qp.prod + 1) >>> 0;
        qp.c.txFrames++;
        qp.c.txBytes += len;
      }
      this.postInterrupt(qp, useDma, false);
      if (useDma) h.dma.kick();
      else h.cpu.commit(this.cpuBatchLanded, released!);
      qp.c.txBatches++;
    }
  }

  private flushWhenFree(qp: QueuePair, atNs: Ns): void {
    this.markDirtyLater(qp);
    if (this.coreFlushAt >= 0 && this.coreFlushAt <= atNs) return;
    this.coreFlushAt = atNs;
    this.host.sched.at(atNs, this.coreFlush);
  }

  private readonly coreFlush = (): void => {
    if (this.host.sched.now < this.coreFlushAt) return; // superseded by an earlier one
    this.coreFlushAt = -1;
    this.flush();
  };

  private markDirtyLater(qp: QueuePair): void {
    if (!qp.dirty) {
      qp.dirty = true;
      this.dirty.push(qp);
    }
  }

  /** A record of the staging slots a CPU batch used, recycled (one per batch would be garbage). */
  private cpuBatch(qp: QueuePair): CpuBatch {
    const b = this.cpuBatches.pop() ?? { qp, slots: [] };
    b.qp = qp;
    return b;
  }

  private readonly cpuBatchLanded = (code: ErrorCode | null, b: CpuBatch): void => {
    for (const s of b.slots) this.staging.release(s);
    if (code) {
      b.qp.c.txErrors++;
      this.drops.add(code);
    }
    b.slots.length = 0;
    if (this.cpuBatches.length < 64) this.cpuBatches.push(b);
  };

  private writeHeader(seq: number, len: Bytes, flags: number): void {
    this.hdrView.setUint32(SlotHdr.LEN, len, true);
    this.hdrView.setUint32(SlotHdr.SEQ, seq >>> 0, true);
    this.hdrView.setUint32(SlotHdr.FLAGS, flags, true);
  }

  /** Signal the peer: data (its rx vector) or credits (its credit vector), by MSI or doorbell. */
  private postInterrupt(qp: QueuePair, viaDma: boolean, credit: boolean): void {
    const h = this.host;
    let addr: number;
    if (qp.peerIrqMode === IrqMode.MSI) {
      addr = remoteAddr(qp.peer, MSI_BASE);
      writeU32le(this.word, 0, credit ? qp.peerCreditVector : qp.peerRxVector);
    } else {
      addr = viaWindow(ntbRegsBase(qp.peer) + NtbReg.DB_SET);
      writeU32le(this.word, 0, 1 << (h.index % DATA_DOORBELL_BITS));
    }
    if (viaDma) h.dma.postImm(addr, this.word, DescFlag.INTERRUPT, 0);
    // Credit interrupts come from the receive handler, on the interrupt core.
    else h.cpu.store(addr, this.word, credit ? h.cores.irqCore : TX_CORE);
    if (credit) qp.c.creditInterrupts++;
    else qp.c.interruptsSent++;
  }

  private readonly onDmaComplete = (): void => {
    const dma = this.host.dma;
    const r = this.reaped;
    while (this.dmaClean !== dma.tail) {
      if (!dma.reap(this.dmaClean, r)) break;
      // Frees the frame's staging buffer, or re-sends a frame whose payload failed.
      this.dmaTx.reaped(this.dmaClean, r.error);
      this.dmaClean++;
      this.c.dmaCompletions++;
    }
    dma.release(this.dmaClean);
    this.dmaTx.flush();
    if (this.drainWaiters.length > 0) this.checkDrained();
    if (this.dmaWaiting) {
      this.dmaWaiting = false;
      for (const qp of this.dirty) if (qp.up && qp.txCount > 0) this.markDirty(qp);
    }
  };

  private readonly onCreditIrq = (vector: number): void => {
    const qp = this.qps[vector - this.creditVectorBase];
    if (qp && qp.up) this.markDirty(qp);
  };

  /** Let a queue pair's held frames go again (path-failover.ts holds them while it remaps). */
  resumeTx(qp: QueuePair): void {
    qp.txPaused = false;
    if (qp.up && qp.txCount > 0) this.markDirty(qp);
  }

  /** Walk a queue pair's receive ring now, as its interrupt would (path-failover.ts, after marking lost slots). */
  pollRx(qp: QueuePair): void {
    this.processRx(qp);
  }

  /**
   * Write our consumer index into the peer's credit word again, with a credit interrupt: after a
   * path failover the last credit may have been lost on the failed path, and a sender that waits
   * for credits would wait for good.
   */
  republishCredit(qp: QueuePair): void {
    if (!this.running || !qp.localReady) return;
    const h = this.host;
    writeU32le(this.word, 0, qp.cons);
    h.cpu.store(qp.peerCreditAddr + Credit.CONS, this.word, h.cores.irqCore);
    qp.c.creditUpdates++;
    this.postInterrupt(qp, false, true);
    h.cpu.commit();
  }

  // ---------------------------------------------------------------- receive

  private readonly onRxIrq = (vector: number): void => {
    const qp = this.qps[vector - this.rxVectorBase];
    if (!qp) return;
    qp.c.rxInterrupts++;
    this.processRx(qp);
  };

  private readonly rxContinue = (qp: QueuePair): void => {
    this.rxPending.delete(qp);
    this.processRx(qp);
  };

  private processRx(qp: QueuePair): void {
    if (!this.running || (qp.state !== 'up' && qp.state !== 'waiting-peer')) return;
    const h = this.host;
    const m = h.memory;
    const mask = this.cfg.ringSlots - 1;
    let n = 0;
    let wantCredit = false;
    let linkDown = false;
    const consStart = qp.cons;
    while (n < this.cfg.rxBudget) {
      const slotAddr = qp.rxRingAddr + (qp.cons & mask) * this.slotBytes;
      // Slot headers never straddle a page (slots are page-aligned powers of two or 4 KiB multiples).
      // A slot never written has no page: peeking at it must not make one.
      const dv = m.pageDataViewIfPresent(slotAddr);
      if (!dv) break;
      const o = m.pageOffset(slotAddr);
      const flags = dv.getUint32(o + SlotHdr.FLAGS, true);
      if (!(flags & SlotFlag.DONE)) break;
      if (flags & SlotFlag.LINK_DOWN) {
        linkDown = true;
        break;
      }
      const len = dv.getUint32(o + SlotHdr.LEN, true);
      const seq = dv.getUint32(o + SlotHdr.SEQ, true);
      if (flags & SlotFlag.LOST) {
        qp.c.rxPathLost++;
        this.drops.add(ErrorCode.EOP_PATH_LOST);
      } else if (seq !== qp.cons) {
        qp.c.rxErrSeq++;
        this.drops.add(ErrorCode.EOP_SEQ_GAP);
      } else if (len < 14 || len > this.maxFrame) {
        qp.c.rxErrBadSlot++;
        this.drops.add(ErrorCode.EOP_BAD_SLOT);
      } else {
        this.deliver(qp, slotAddr + SLOT_HEADER_BYTES, len);
      }
      if (flags & SlotFlag.WANT_CREDIT) wantCredit = true;
      m.pageDataView(slotAddr).setUint32(o + SlotHdr.FLAGS, 0, true);
      qp.cons = (qp.cons + 1) >>> 0;
      n++;
    }
    if (linkDown) {
      this.peerDown(qp, `${qp.peerName} went down cleanly`, false, true);
      return;
    }
    if (n === 0) {
      qp.c.rxRingEmpty++;
      return;
    }
    if (this.releaseRxPages) this.releaseConsumed(qp, consStart, n);
    // The handler's CPU time delays whatever this core does next, the credit write first.
    const cpu = h.cpu;
    const handlerDoneNs = h.cores.run(h.cores.irqCore, n * this.cfg.rxFrameNs);
    writeU32le(this.word, 0, qp.cons);
    if (qp.localReady) {
      cpu.store(qp.peerCreditAddr + Credit.CONS, this.word, h.cores.irqCore);
      qp.c.creditUpdates++;
      if (wantCredit) this.postInterrupt(qp, false, true);
      cpu.commit();
    }
    if (n === this.cfg.rxBudget && !this.rxPending.has(qp)) {
      this.rxPending.add(qp);
      h.sched.at(handlerDoneNs, this.rxContinue, qp);
    }
  }

  /** `mac` is behind `qp` now. A full table forgets its oldest entry first (a Map iterates in insertion order). */
  private learn(mac: number, qp: QueuePair): void {
    const t = this.macTable;
    if (t.size >= this.cfg.macTableEntries && !t.has(mac)) {
      t.delete(t.keys().next().value!);
      this.c.macEvictions++;
    }
    t.set(mac, qp);
  }

  /**
   * Give back the memory pages wholly made of the `count` slots consumed from `first` in this
   * handler run. Safe: the sender cannot write those slots again before the credit this run
   * writes reaches it, and nothing reads a consumed slot. The ring's contents are unchanged as far
   * as anyone can observe (consumed slots read as zero either way: their DONE was cleared).
   */
  private releaseConsumed(qp: QueuePair, first: number, count: number): void {
    const m = this.host.memory;
    const perPage = m.pageBytes / this.slotBytes; // both powers of two, pages ≥ slots
    const mask = this.cfg.ringSlots - 1;
    if (perPage > this.cfg.ringSlots) return;
    let pos = first & mask;
    let left = count;
    while (left > 0) {
      const into = pos & (perPage - 1);
      const step = Math.min(perPage - into, left);
      if (into === 0 && step === perPage) m.fill(qp.rxRingAddr + pos * this.slotBytes, m.pageBytes, 0);
      pos = (pos + step) & mask;
      left -= step;
    }
  }

  protected deliver(qp: QueuePair, addr: number, len: Bytes): void {
    const m = this.host.memory;
    let frame = m.view(addr, len);
    if (!frame) {
      m.read(addr, this.scratch, 0, len);
      frame = this.scratch.subarray(0, len);
    }
    const src = readMac(frame, 6);
    if (!isMulticastMac(src) && this.macTable.get(src) !== qp) this.learn(src, qp);
    qp.c.rxFrames++;
    qp.c.rxBytes += len;
    this.c.rxFrames++;
    this.c.rxBytes += len;
    this.receiver(frame);
  }
}
