/**
 * One queue pair: this host's link with one peer. The transmit side holds a bounded queue of
 * staged frames and the producer index into the peer's receive ring; the receive side holds the
 * consumer index of our ring for that peer. Counters follow ntb_transport's debugfs names where
 * there is one.
 */
import type { Bytes, Ns } from '../time/units.js';

const NO_QUEUE_I32 = new Int32Array(0);
const NO_QUEUE_U8 = new Uint8Array(0);
/** Entries of a transmit queue's first arrays (then doubled as needed, up to the queue's bound). */
const TX_QUEUE_FIRST = 8;

export type QpState = 'down' | 'negotiating' | 'waiting-peer' | 'up' | 'mismatch';

export class QpCounters {
  rxBytes: Bytes = 0;
  rxFrames = 0;
  /** Interrupts that found nothing new in the ring. */
  rxRingEmpty = 0;
  rxErrSeq = 0;
  rxErrBadSlot = 0;
  rxInterrupts = 0;
  txBytes: Bytes = 0;
  txFrames = 0;
  txBatches = 0;
  txDmaFrames = 0;
  txCpuFrames = 0;
  /** Times the sender found the peer's ring full and had to wait for credits. */
  txRingFull = 0;
  /** Frames dropped because the transmit queue was full. */
  txQueueDrops = 0;
  /** Frames dropped because the link went down with them queued. */
  txLinkDownDrops = 0;
  /** Frames that had landed in our ring unread when the link went down (the ring is cleared). */
  rxLinkDownDrops = 0;
  txErrors = 0;
  /** HRDMA payload descriptors that failed (the frame then goes by CPU copy, or is dropped). */
  txDmaErrors = 0;
  /** Frames whose failed HRDMA copy the driver redid by CPU copy through the window. */
  txDmaRetries = 0;
  /** Frames lost after a failed HRDMA copy: the retry could not be made, or its writes were refused. */
  txDmaRetryDrops = 0;
  /** Frames of this peer's that never landed because the NTB path they took failed (receiver's count). */
  rxPathLost = 0;
  /** Times this queue pair moved to another NTB path (path-failover.ts). */
  pathFailovers = 0;
  interruptsSent = 0;
  creditUpdates = 0;
  creditInterrupts = 0;
  linkUps = 0;
  linkDowns = 0;
}

export class QueuePair {
  state: QpState = 'down';
  reason = '';
  /** The link went down on purpose (a clean stop on either side), not by a crash. */
  downClean = false;
  readonly c = new QpCounters();

  /** We agreed with the peer's parameters and granted it our ring. */
  localReady = false;
  peerGeneration = 0;

  // Where the peer's structures are, as local addresses through our NTB window.
  peerRingAddr = 0;
  peerCreditAddr = 0;
  peerRxVector = 0;
  peerCreditVector = 0;
  peerIrqMode = 0;

  // Transmit side: producer index into the peer's ring (free-running), and the queue. The queue's
  // arrays are made on first use and grow by doubling up to `txCapacity`: in a large rack most
  // peers are never sent to, and most that are never hold more than a few frames.
  prod = 0;
  txSlot = NO_QUEUE_I32;
  txLen = NO_QUEUE_I32;
  txAlign = NO_QUEUE_U8;
  readonly txCapacity: number;
  txHead = 0;
  txCount = 0;
  dirty = false;
  waitingCredit = false;
  /** Transmit held while the driver moves this queue pair to another NTB path (frames wait queued). */
  txPaused = false;

  // Receive side: consumer index of our ring for this peer.
  cons = 0;
  /** Which life of the link this is (bumped at every reset): work left from an earlier life is void. */
  epoch = 0;

  /** When this queue pair was opened (its first frame, or the peer's request), and first up (-1: never). */
  openedAtNs: Ns = -1;
  upAtNs: Ns = -1;

  constructor(
    readonly peer: number,
    readonly peerName: string,
    /** Our receive ring for this peer (local address). */
    readonly rxRingAddr: number,
    /** Our credit word for this peer: the peer writes its consumer index here. */
    readonly creditAddr: number,
    txQueueFrames: number,
  ) {
    this.txCapacity = txQueueFrames;
  }

  get up(): boolean {
    return this.state === 'up';
  }

  /**
   * Frames may be queued here: the link is up, or being set up (queue pairs open on first use, and
   * a frame that opened one waits in its queue until the link is up: it pays the setup).
   */
  get usable(): boolean {
    return this.state === 'up' || this.state === 'negotiating' || this.state === 'waiting-peer';
  }

  enqueue(slot: number, len: Bytes, align: number): boolean {
    if (this.txCount === this.txCapacity) return false;
    if (this.txCount === this.txSlot.length) this.growTx();
    const i = (this.txHead + this.txCount) % this.txSlot.length;
    this.txSlot[i] = slot;
    this.txLen[i] = len;
    this.txAlign[i] = align;
    this.txCount++;
    return true;
  }

  /** Array index of the `k`-th queued frame. */
  txIndex(k: number): number {
    return (this.txHead + k) % this.txSlot.length;
  }

  /** Take the frame at the head off the queue. */
  popTx(): void {
    this.txHead = (this.txHead + 1) % this.txSlot.length;
    this.txCount--;
  }

  private growTx(): void {
    const n = Math.min(this.txCapacity, Math.max(TX_QUEUE_FIRST, this.txSlot.length * 2));
    const slot = new Int32Array(n);
    const len = new Int32Array(n);
    const align = new Uint8Array(n);
    for (let k = 0; k < this.txCount; k++) {
      const i = this.txIndex(k);
      slot[k] = this.txSlot[i]!;
      len[k] = this.txLen[i]!;
      align[k] = this.txAlign[i]!;
    }
    this.txSlot = slot;
    this.txLen = len;
    this.txAlign = align;
    this.txHead = 0;
  }

  /** Reset indices for a fresh link. */
  resetIndices(): void {
    this.prod = 0;
    this.cons = 0;
    this.waitingCredit = false;
    this.epoch++;
  }
}
