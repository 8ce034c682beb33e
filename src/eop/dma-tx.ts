/**
 * The frames the driver handed to HRDMA, by descriptor index, and what it does when one fails.
 *
 * A frame is two descriptors: the payload COPY into the peer's ring slot, then the slot header
 * (WRITE_IMM with DONE) fenced behind it (`DescFlag.FENCE`), so a failed payload never lets its
 * header land: the receiver would hand up whatever bytes the slot held before. When the completion
 * walk reaps a failed header (fence-aborted behind a failed payload, or refused itself), the driver
 * does what Linux ntb_transport does when a DMA fails (`ntb_tx_copy_callback`: "copy again using
 * CPU"): it copies the frame again with the CPU through the NTB window (the CPU copy's modeled time
 * on the transmit core), then stores the header, then interrupts the peer once per walk. Until
 * then the receiver stops at the slot without DONE, so nothing behind it is handed up out of order
 * and nothing stale is.
 *
 * When the retry cannot be made (the queue pair went down, or is up again as a new life of the link
 * with a fresh ring) or its writes are refused, the frame is dropped and counted with the reason.
 * A refused retry means the path itself is gone: the link-down that follows resets both ends of the
 * ring, so the slot left without DONE never blocks it for good.
 */
import type { DropCounters } from '../errors.js';
import { ErrorCode } from '../errors.js';
import type { Host } from '../host/host.js';
import type { Bytes } from '../time/units.js';
import type { QueuePair } from './queue-pair.js';
import { SLOT_HEADER_BYTES, SLOT_HEADER_USED, SlotHdr } from './ring-layout.js';

const Role = { NONE: 0, PAYLOAD: 1, HEADER: 2 } as const;

/** What the ledger needs from the driver. */
export interface DmaTxDriver {
  readonly host: Host;
  qp(peer: number): QueuePair | undefined;
  /** One sender of staging buffer `slot` is done with it. */
  releaseStaging(slot: number): void;
  /** Signal `qp`'s peer that its ring has new slots (the data interrupt, by CPU store). */
  interruptPeer(qp: QueuePair): void;
  /** Frames lost, by reason. */
  readonly drops: DropCounters;
  /** Failed HRDMA payloads, by the engine's reason (whether the retry then saved the frame or not). */
  readonly dmaErrors: DropCounters;
}

interface Retry {
  qp: QueuePair;
  staging: number;
}

export class DmaTxLedger {
  private readonly mask: number;
  private readonly role: Uint8Array;
  private readonly peer: Int32Array;
  private readonly epoch: Int32Array;
  private readonly src: Float64Array;
  /** The slot's address through our window: header there, payload SLOT_HEADER_BYTES after. */
  private readonly slotAddr: Float64Array;
  private readonly len: Int32Array;
  private readonly seq: Uint32Array;
  private readonly flags: Uint32Array;
  private readonly staging: Int32Array;
  /** The payload's error, kept on its header's entry until the header is reaped. */
  private readonly payloadError: (ErrorCode | null)[];
  private readonly hdr = new Uint8Array(SLOT_HEADER_USED);
  private readonly hdrView = new DataView(this.hdr.buffer);
  private readonly toInterrupt: QueuePair[] = [];

  constructor(
    /** The HRDMA ring's size: descriptor indices are kept modulo it (a slot is reused only after its reap). */
    ringSlots: number,
    private readonly d: DmaTxDriver,
  ) {
    this.mask = ringSlots - 1;
    this.role = new Uint8Array(ringSlots);
    this.peer = new Int32Array(ringSlots);
    this.epoch = new Int32Array(ringSlots);
    this.src = new Float64Array(ringSlots);
    this.slotAddr = new Float64Array(ringSlots);
    this.len = new Int32Array(ringSlots);
    this.seq = new Uint32Array(ringSlots);
    this.flags = new Uint32Array(ringSlots);
    this.staging = new Int32Array(ringSlots);
    this.payloadError = new Array<ErrorCode | null>(ringSlots).fill(null);
  }

  /** The frame whose payload is descriptor `payload` and whose header is `payload + 1`. */
  record(payload: number, qp: QueuePair, src: number, slotAddr: number, len: Bytes, seq: number, flags: number, stagingSlot: number): void {
    const m = this.mask;
    this.role[payload & m] = Role.PAYLOAD;
    const k = (payload + 1) & m;
    this.role[k] = Role.HEADER;
    this.peer[k] = qp.peer;
    this.epoch[k] = qp.epoch;
    this.src[k] = src;
    this.slotAddr[k] = slotAddr;
    this.len[k] = len;
    this.seq[k] = seq;
    this.flags[k] = flags;
    this.staging[k] = stagingSlot;
    this.payloadError[k] = null;
  }

  /** The completion walk reaped descriptor `i`, with `error` (null: it succeeded). */
  reaped(i: number, error: ErrorCode | null): void {
    const k = i & this.mask;
    const role = this.role[k];
    if (role === Role.NONE) return;
    this.role[k] = Role.NONE;
    if (role === Role.PAYLOAD) {
      if (error) this.payloadError[(i + 1) & this.mask] = error;
      return;
    }
    const cause = this.payloadError[k] ?? error;
    this.payloadError[k] = null;
    if (!error) {
      this.d.releaseStaging(this.staging[k]!);
      return;
    }
    this.retry(k, cause ?? error);
  }

  /** After the walk: one interrupt per queue pair whose ring got retried slots. */
  flush(): void {
    if (this.toInterrupt.length === 0) return;
    for (const qp of this.toInterrupt) if (qp.up) this.d.interruptPeer(qp);
    this.toInterrupt.length = 0;
    this.d.host.cpu.commit();
  }

  private retry(k: number, cause: ErrorCode): void {
    const d = this.d;
    const qp = d.qp(this.peer[k]!);
    const staging = this.staging[k]!;
    d.dmaErrors.add(cause);
    if (qp) qp.c.txDmaErrors++;
    if (!qp || !qp.up || qp.epoch !== this.epoch[k]) {
      // Its ring is gone (or fresh): nothing to complete, and writing into it would corrupt it.
      this.lose(qp, staging, ErrorCode.EOP_LINK_DOWN);
      return;
    }
    const cpu = d.host.cpu;
    const slotAddr = this.slotAddr[k]!;
    cpu.copy(this.src[k]!, slotAddr + SLOT_HEADER_BYTES, this.len[k]!);
    this.hdrView.setUint32(SlotHdr.LEN, this.len[k]!, true);
    this.hdrView.setUint32(SlotHdr.SEQ, this.seq[k]!, true);
    this.hdrView.setUint32(SlotHdr.FLAGS, this.flags[k]!, true);
    cpu.store(slotAddr, this.hdr);
    // Its own group: a refusal is then this frame's, and its staging buffer is free once it landed.
    cpu.commit(this.retryLanded, { qp, staging } satisfies Retry);
    qp.c.txDmaRetries++;
    if (!this.toInterrupt.includes(qp)) this.toInterrupt.push(qp);
  }

  private readonly retryLanded = (code: ErrorCode | null, r: Retry): void => {
    if (code) this.lose(r.qp, r.staging, code);
    else this.d.releaseStaging(r.staging);
  };

  private lose(qp: QueuePair | undefined, staging: number, code: ErrorCode): void {
    this.d.releaseStaging(staging);
    if (qp) qp.c.txDmaRetryDrops++;
    this.d.drops.add(code);
  }
}
