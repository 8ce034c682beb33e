/**
 * A PCIe link: its parameters, the bandwidth they allow, and the time a transfer spends on each
 * direction, link-layer traffic included.
 *
 * The arithmetic, and where each number comes from (PCI Express Base Specification; the ACK and
 * UpdateFC tables as quoted by the public PCIe bandwidth model of Neugebauer et al., "Understanding
 * PCIe performance for end host networking", SIGCOMM 2018, github.com/pcie-bench/pcie-model,
 * model/pcie.py, citing Base Spec rev 5.0 Tables 3-7..3-9 and 2-46..2-48):
 *
 * Physical layer
 * - Rate per lane and line code: Gen1 2.5 GT/s and Gen2 5 GT/s use 8b/10b (a symbol is 10 bits:
 *   4 ns at Gen1, 2 ns at Gen2); Gen3 8, Gen4 16, Gen5 32 GT/s use 128b/130b (a block of 16
 *   symbols per lane costs 130 bits, so a symbol time is 8.125 UI).
 * - SKP ordered sets (clock compensation) go on every lane at once, whatever the traffic:
 *   8b/10b: one SKP OS (COM + 3 SKP = 4 symbols) scheduled every 1180–1538 symbol times (Base
 *   Spec 2.1 §4.2.7.1; MindShare "PCI Express Technology 3.0" ch. 11); 128b/130b: one SKP OS
 *   block (16 symbols) scheduled every 370–375 blocks (Base Spec 3.x §4.2.7.3, Errata B34;
 *   MindShare ch. 12). A limit is a best case, so the model takes the longest interval: 4/1538 =
 *   0.260 % of every direction at Gen1/2, 1/375 = 0.267 % at Gen3+. (Gen3's EDS token before a
 *   SKP block, 4 symbols per 375 × 16 × width, is below 0.01 % and left out.)
 *   Every byte put on a direction therefore takes 8 / (rate × (1 − skp)) ns (`nsPerByte`).
 *
 * Transaction layer
 * - A memory write becomes TLPs of at most MPS payload bytes. A requester starts a new TLP at each
 *   MPS-aligned address (which also keeps every TLP inside a 4 KiB boundary), so a transfer that
 *   does not start on an MPS boundary costs one extra, partly filled TLP. Payload is carried in
 *   whole dwords: a transfer not starting or ending on 4 bytes carries the padding too.
 * - The header is 3 dwords (12 B) for an address below 4 GiB and 4 dwords (16 B) above: the
 *   specification requires the 32-bit format below 4 GiB, so the header is chosen per TLP from the
 *   address it carries on that link (`headerBytesFor`), not per link.
 * - Each TLP also costs 8 B of framing, sequence number and LCRC (Gen1/2: STP 1 + seq 2 + LCRC 4 +
 *   END 1; Gen3+: 4 B STP token holding the sequence number + LCRC 4), and 4 B more with ECRC.
 *   Every TLP and DLLP is a whole number of dwords, so none needs lane padding on x8/x16 links.
 * - Reads are non-posted: a request is a header-only TLP (3 or 4 DW by address); data comes back
 *   in completions (CplD, always a 3-DW header) that the completer cuts at every Read Completion
 *   Boundary (RCB, 64 B for a root complex, 128 B otherwise) — what root complexes do, and
 *   the worst case the specification allows. A requester splits a read into requests of at most
 *   MRRS bytes (aligned to MRRS, so none crosses 4 KiB) and may have at most `tags` requests
 *   outstanding (5-bit Tag field: 32 unless Extended Tags are enabled).
 *
 * Data-link layer (the part that travels against the data)
 * - Every TLP received must be acknowledged by an ACK DLLP, and consumed receive-buffer credits
 *   are returned by UpdateFC DLLPs; each DLLP is 8 B on the wire (6 B + SDP/END framing at
 *   Gen1/2, 6 B + 2 B SDP token at Gen3+). Both travel on the *opposite* direction to the TLPs.
 * - The receiver may hold an ACK back at most `AckLimit` symbol times after the first
 *   unacknowledged TLP (the AckNak latency timer); UpdateFC has a guideline interval of the same
 *   value. The specification's formula is
 *     AckLimit = floor((MPS + 28) × AckFactor / width + InternalDelay)  symbol times,
 *   with AckFactor 1.4 (x1–x4), 2.5 (x8), 3.0 (x16) at MPS 128 and 256, 1.0 (x1–x8) and 2.0
 *   (x16) at MPS 512, and InternalDelay 19 (Gen1), 70 (Gen2), 115 (Gen3+) symbol times.
 *   A receiver that waits as long as allowed sends one ACK and one UpdateFC per window of AckLimit
 *   symbol times in which TLPs arrived: that is the model (the best case, hence the limit).
 *   Under saturation the opposite direction loses 2 × 8 B per window: a share of
 *   16 / (width × AckLimit) of its time (Gen3 x8 MPS 256: 16 / (8 × 203) = 0.99 %).
 *
 * Limits (all derived, never stored):
 *   one-way write limit      = rate × (1 − skp) × P / (P + H + 8 [+ 4])
 *   bidirectional, each way  = rate × (1 − skp − 16 / (width × AckLimit)) × P / (P + H + 8 [+ 4])
 * with P the TLP payload (MPS, or 64 B for write-combined CPU stores) and H the header.
 */
import type { Bytes, Gbps, Ns } from '../time/units.js';

export type PcieGen = 1 | 2 | 3 | 4 | 5;
export type PcieWidth = 1 | 2 | 4 | 8 | 16;
export type Mps = 128 | 256 | 512;

export interface LinkConfig {
  gen: PcieGen;
  width: PcieWidth;
  mpsBytes: Mps;
  ecrc: boolean;
  /** PHY and data-link traversal of this link, per crossing, ns. */
  latencyNs: Ns;
  /** Largest read request the requester issues (Max_Read_Request_Size). */
  mrrsBytes: 128 | 256 | 512 | 1024 | 2048 | 4096;
  /** Read Completion Boundary of the completer on the other side of this link. */
  rcbBytes: 64 | 128;
  /** Non-posted requests the requester may have outstanding (tags). */
  tags: number;
}

/**
 * Gen3 x8 with MPS 256 is a common server configuration. `latencyNs` (PHY and data-link traversal
 * per link crossing) is an estimate; Dolphin's < 300 ns one-way PIO through an NTB suggests it is
 * at most ~90 ns. MRRS 512 is the usual BIOS setting; RCB 64 B is a root complex's; 32 tags is the
 * 5-bit Tag field. See docs/model-vs-reality.md.
 */
export const DEFAULT_LINK: LinkConfig = {
  gen: 3,
  width: 8,
  mpsBytes: 256,
  ecrc: false,
  latencyNs: 100,
  mrrsBytes: 512,
  rcbBytes: 64,
  tags: 32,
};

/** Transfer rate per lane, GT/s (PCIe base specification). */
export const GT_PER_LANE: Record<PcieGen, number> = { 1: 2.5, 2: 5, 3: 8, 4: 16, 5: 32 };
/** Line-code efficiency per generation. */
export const ENCODING_EFFICIENCY: Record<PcieGen, number> = { 1: 8 / 10, 2: 8 / 10, 3: 128 / 130, 4: 128 / 130, 5: 128 / 130 };

/** Framing + sequence number + LCRC per TLP. */
export const TLP_FRAMING_BYTES: Bytes = 8;
export const ECRC_BYTES: Bytes = 4;
export const TLP_HEADER_32: Bytes = 12;
export const TLP_HEADER_64: Bytes = 16;
/** Completion-with-data header: always 3 dwords. */
export const CPLD_HEADER_BYTES: Bytes = 12;
/** One DLLP on the wire, framing included. */
export const DLLP_BYTES: Bytes = 8;
/** DLLPs per acknowledgement window: one ACK and one UpdateFC. */
export const DLLPS_PER_WINDOW = 2;
/** Addresses from here up need the 4-dword header. */
export const ADDR_4DW_FROM = 2 ** 32;

/** SKP ordered-set share of every direction, at the longest interval the specification allows. */
export function skpShare(gen: PcieGen): number {
  return gen <= 2 ? 4 / 1538 : 1 / 375;
}

/** Duration of one symbol on one lane, ns (8b/10b: 10 UI; 128b/130b: 130/16 UI). */
export function symbolTimeNs(gen: PcieGen): Ns {
  return (gen <= 2 ? 10 : 130 / 16) / GT_PER_LANE[gen];
}

const ACK_FACTOR: Record<Mps, Record<PcieWidth, number>> = {
  128: { 1: 1.4, 2: 1.4, 4: 1.4, 8: 2.5, 16: 3.0 },
  256: { 1: 1.4, 2: 1.4, 4: 1.4, 8: 2.5, 16: 3.0 },
  512: { 1: 1.0, 2: 1.0, 4: 1.0, 8: 1.0, 16: 2.0 },
};
const INTERNAL_DELAY_SYMBOLS: Record<PcieGen, number> = { 1: 19, 2: 70, 3: 115, 4: 115, 5: 115 };
/** TLP overhead the specification's formula assumes, symbols. */
const ACK_TLP_OVERHEAD_SYMBOLS = 28;

/** Ack transmission latency limit (= UpdateFC guideline interval), symbol times. */
export function ackLimitSymbols(cfg: Pick<LinkConfig, 'gen' | 'width' | 'mpsBytes'>): number {
  const f = ACK_FACTOR[cfg.mpsBytes][cfg.width];
  // The tables print the formula truncated to whole symbol times; a tiny epsilon keeps x.0 exact.
  return Math.floor(((cfg.mpsBytes + ACK_TLP_OVERHEAD_SYMBOLS) * f) / cfg.width + INTERNAL_DELAY_SYMBOLS[cfg.gen] + 1e-9);
}

/** The acknowledgement window in time. */
export function ackWindowNs(cfg: Pick<LinkConfig, 'gen' | 'width' | 'mpsBytes'>): Ns {
  return ackLimitSymbols(cfg) * symbolTimeNs(cfg.gen);
}

/** Share of a direction's time taken by ACK + UpdateFC when the opposite direction is saturated. */
export function dllpShare(cfg: Pick<LinkConfig, 'gen' | 'width' | 'mpsBytes'>): number {
  return (DLLPS_PER_WINDOW * DLLP_BYTES) / (cfg.width * ackLimitSymbols(cfg));
}

/** Data rate after line encoding, both directions alike (full duplex). */
export function dataRateGbps(cfg: Pick<LinkConfig, 'gen' | 'width'>): Gbps {
  return GT_PER_LANE[cfg.gen] * ENCODING_EFFICIENCY[cfg.gen] * cfg.width;
}

/** Time one byte (TLP or DLLP) occupies a direction, SKP ordered sets included. */
export function nsPerWireByte(cfg: Pick<LinkConfig, 'gen' | 'width'>): Ns {
  return 8 / (dataRateGbps(cfg) * (1 - skpShare(cfg.gen)));
}

/** TLP header for an address: 3 DW below 4 GiB, 4 DW above (the 32-bit format is mandatory below). */
export function headerBytesFor(addr: number): Bytes {
  return addr >= ADDR_4DW_FROM ? TLP_HEADER_64 : TLP_HEADER_32;
}

/** Per-TLP cost besides payload: header, framing, sequence number, LCRC and optional ECRC. */
export function tlpOverheadBytes(cfg: Pick<LinkConfig, 'ecrc'>, headerBytes: Bytes): Bytes {
  return headerBytes + TLP_FRAMING_BYTES + (cfg.ecrc ? ECRC_BYTES : 0);
}

/** Number of TLPs for a transfer of `len` bytes at `addr` cut at every `maxPayload` boundary. */
export function tlpCount(addr: number, len: Bytes, maxPayload: Bytes): number {
  if (len <= 0) return 0;
  return Math.ceil(((addr % maxPayload) + len) / maxPayload);
}

/** Payload bytes actually carried: whole dwords from the dword holding the first byte. */
export function dwordPayloadBytes(addr: number, len: Bytes): Bytes {
  if (len <= 0) return 0;
  const start = addr - (addr % 4);
  const end = addr + len;
  return Math.ceil((end - start) / 4) * 4;
}

/** TLP bytes a write of `len` at `addr` puts on a direction (header chosen from `addr`). */
export function wireBytes(cfg: Pick<LinkConfig, 'ecrc' | 'mpsBytes'>, addr: number, len: Bytes, maxPayload: Bytes = cfg.mpsBytes): Bytes {
  return dwordPayloadBytes(addr, len) + tlpCount(addr, len, maxPayload) * tlpOverheadBytes(cfg, headerBytesFor(addr));
}

/** Time a write spends on one direction (SKP share included, DLLPs are charged to the other). */
export function wireTimeNs(cfg: LinkConfig, addr: number, len: Bytes, maxPayload: Bytes = cfg.mpsBytes): Ns {
  return wireBytes(cfg, addr, len, maxPayload) * nsPerWireByte(cfg);
}

export interface WriteLimitOptions {
  /** TLP payload of the stream (default MPS; 64 for write-combined CPU stores). */
  tlpBytes?: Bytes;
  /** TLP header (default 16 B: the worst case, and what every remote write carries upstream). */
  headerBytes?: Bytes;
  /** Whether the direction also carries the ACKs and UpdateFCs of a saturated opposite stream. */
  bidirectional?: boolean;
}

/** Best sustained memory-write throughput on one direction: full, aligned TLPs back to back. */
export function effectiveWriteGbps(cfg: LinkConfig, o: WriteLimitOptions = {}): Gbps {
  const p = Math.min(o.tlpBytes ?? cfg.mpsBytes, cfg.mpsBytes);
  const share = 1 - skpShare(cfg.gen) - (o.bidirectional ? dllpShare(cfg) : 0);
  return (dataRateGbps(cfg) * share * p) / (p + tlpOverheadBytes(cfg, o.headerBytes ?? TLP_HEADER_64));
}

// ------------------------------------------------------------------------------------- reads

/** Read requests for `len` bytes at `addr`: cut at MRRS-aligned addresses. */
export function readRequestCount(cfg: Pick<LinkConfig, 'mrrsBytes'>, addr: number, len: Bytes): number {
  return tlpCount(addr, len, cfg.mrrsBytes);
}

/** Completions with data for `len` bytes at `addr`: cut at every RCB boundary. */
export function completionCount(cfg: Pick<LinkConfig, 'rcbBytes'>, addr: number, len: Bytes): number {
  return tlpCount(addr, len, cfg.rcbBytes);
}

/** Bytes the completions of a read put on the completer → requester direction. */
export function completionWireBytes(cfg: Pick<LinkConfig, 'rcbBytes' | 'ecrc'>, addr: number, len: Bytes): Bytes {
  return dwordPayloadBytes(addr, len) + completionCount(cfg, addr, len) * tlpOverheadBytes(cfg, CPLD_HEADER_BYTES);
}

/**
 * Best sustained read throughput: the lower of what the completion direction carries (full RCB
 * completions) and what the tags allow (tags × MRRS bytes per round trip `roundTripNs`).
 */
export function effectiveReadGbps(cfg: LinkConfig, roundTripNs: Ns): Gbps {
  const p = cfg.rcbBytes;
  const wire = (dataRateGbps(cfg) * (1 - skpShare(cfg.gen)) * p) / (p + tlpOverheadBytes(cfg, CPLD_HEADER_BYTES));
  const tagBound = (cfg.tags * cfg.mrrsBytes * 8) / roundTripNs;
  return Math.min(wire, tagBound);
}

// ------------------------------------------------------------------------------------- state

/**
 * One direction of a link. Transfers are reserved in order: each keeps the direction busy for its
 * wire time, so two flows through one port share its bandwidth and queue behind each other.
 * Callers reserve in bounded chunks (see path.ts) so that sharing stays fair.
 *
 * TLPs arriving on a direction are acknowledged on its `reverse` (`acknowledge`): one ACK and one
 * UpdateFC per acknowledgement window that saw TLPs. A DLLP due while the reverse direction is
 * busy pushes its queued transfers back; one due while it is idle fits in the idle time.
 */
export class LinkDirection {
  busyUntil: Ns = 0;
  /** Accumulated wire time (TLPs and DLLPs), for utilisation. */
  busyNs: Ns = 0;
  payloadBytes: Bytes = 0;
  tlps = 0;
  /** ACK and UpdateFC DLLPs sent on this direction (for the opposite direction's TLPs). */
  dllps = 0;
  /** The opposite direction of the same link (set by `Link`). */
  reverse: LinkDirection = this;
  /** End of the receiver's current acknowledgement window for TLPs on this direction. */
  private ackDueNs: Ns = -Infinity;

  constructor(
    readonly name: string,
    /** AckLimit in ns (Infinity: no link-layer traffic, for a bare direction in tests). */
    readonly ackWindowNs: Ns = Infinity,
    /** Time of one ACK + UpdateFC pair on this link. */
    readonly dllpPairNs: Ns = 0,
  ) {}

  /** Occupy the direction for `durationNs`, no earlier than `notBefore`. Returns the start time. */
  reserve(notBefore: Ns, durationNs: Ns): Ns {
    const start = notBefore > this.busyUntil ? notBefore : this.busyUntil;
    this.busyUntil = start + durationNs;
    this.busyNs += durationNs;
    return start;
  }

  /** TLPs occupied this direction over [s, e]: charge their ACKs and UpdateFCs to the reverse. */
  acknowledge(s: Ns, e: Ns): void {
    const w = this.ackWindowNs;
    if (w === Infinity) return;
    const due = this.ackDueNs;
    let n: number;
    if (s > due) {
      n = e > s ? Math.ceil((e - s) / w) : 1;
      this.ackDueNs = s + n * w;
    } else if (e > due) {
      n = Math.ceil((e - due) / w);
      this.ackDueNs = due + n * w;
    } else return;
    const r = this.reverse;
    const d = n * this.dllpPairNs;
    r.dllps += n * DLLPS_PER_WINDOW;
    r.busyNs += d;
    if (r.busyUntil > s) r.busyUntil += d;
  }
}

/** A host's link to its switch: `up` carries host → switch, `down` switch → host. */
export class Link {
  readonly up: LinkDirection;
  readonly down: LinkDirection;
  readonly rateGbps: Gbps;
  /** Per-TLP cost besides payload for 3-DW and 4-DW headers, and ns per wire byte, for the hot path. */
  readonly tlpOverhead32: Bytes;
  readonly tlpOverhead64: Bytes;
  readonly nsPerByte: number;

  constructor(
    readonly name: string,
    readonly cfg: LinkConfig,
  ) {
    this.rateGbps = dataRateGbps(cfg);
    this.nsPerByte = nsPerWireByte(cfg);
    const w = ackWindowNs(cfg);
    const pair = DLLPS_PER_WINDOW * DLLP_BYTES * this.nsPerByte;
    this.up = new LinkDirection(`${name}.up`, w, pair);
    this.down = new LinkDirection(`${name}.down`, w, pair);
    this.up.reverse = this.down;
    this.down.reverse = this.up;
    this.tlpOverhead32 = tlpOverheadBytes(cfg, TLP_HEADER_32);
    this.tlpOverhead64 = tlpOverheadBytes(cfg, TLP_HEADER_64);
  }

  /**
   * Same as wireTimeNs(this.cfg, …) for a TLP train whose low address bits are `lo32` and whose
   * header is `tlpOverhead` (one of the two above), without table lookups.
   */
  serNs(lo32: number, len: Bytes, maxPayload: Bytes, tlpOverhead: Bytes): Ns {
    if (len <= 0) return 0;
    // Offsets within a power-of-two TLP size only need the low 32 bits (a float `%` is slow).
    const head = (maxPayload & (maxPayload - 1)) === 0 ? lo32 & (maxPayload - 1) : lo32 % maxPayload;
    const n = Math.ceil((head + len) / maxPayload);
    const payload = Math.ceil(((lo32 & 3) + len) / 4) * 4;
    return (payload + n * tlpOverhead) * this.nsPerByte;
  }

  /** Same as wireTimeNs(this.cfg, addr, len, maxPayload). */
  wireTimeNs(addr: number, len: Bytes, maxPayload: Bytes): Ns {
    return this.serNs(addr >>> 0, len, maxPayload, addr >= ADDR_4DW_FROM ? this.tlpOverhead64 : this.tlpOverhead32);
  }

  describe(): string {
    const c = this.cfg;
    return `Gen${c.gen} x${c.width} MPS ${c.mpsBytes}${c.ecrc ? ' ECRC' : ''}: ${this.rateGbps.toFixed(2)} Gb/s data, ${effectiveWriteGbps(c).toFixed(2)} Gb/s writes`;
  }
}
