/**
 * A PCIe link: its parameters, the bandwidth they allow, and the time a write of a given size
 * and alignment spends on each direction.
 *
 * The arithmetic, and where each number comes from:
 * - Raw rate per lane (GT/s) and line encoding per generation are PCIe specification facts:
 *   Gen1 2.5 GT/s and Gen2 5 GT/s use 8b/10b; Gen3 8, Gen4 16, Gen5 32 GT/s use 128b/130b.
 * - A memory write becomes TLPs of at most MPS payload bytes. A requester starts a new TLP at each
 *   MPS-aligned address (which also keeps every TLP inside a 4 KiB boundary), so a transfer that
 *   does not start on an MPS boundary costs one extra, partly filled TLP. Payload is carried in
 *   whole dwords: a transfer not starting or ending on 4 bytes carries the padding too.
 * - Each TLP costs its header (12 B with 32-bit addresses, 16 B with 64-bit), 8 B of framing,
 *   sequence number and LCRC (Gen1/2: STP 1 + seq 2 + LCRC 4 + END 1; Gen3+: 4 B STP token with
 *   the sequence number + LCRC 4), and 4 B more with ECRC.
 * - `linkLayerOverhead` is the share of the busy direction taken by data-link packets (ACK and
 *   UpdateFC DLLPs, 8 B each) and SKP ordered sets. It is a named, configurable factor (default
 *   4 %), applied as wire time × (1 + factor).
 * Effective bandwidth is always derived from these parameters, never stored.
 */
import { serializationNs, type Bytes, type Gbps, type Ns } from '../time/units.js';

export type PcieGen = 1 | 2 | 3 | 4 | 5;
export type PcieWidth = 1 | 2 | 4 | 8 | 16;
export type Mps = 128 | 256 | 512;

export interface LinkConfig {
  gen: PcieGen;
  width: PcieWidth;
  mpsBytes: Mps;
  /** 64-bit addresses need the 4-dword TLP header (16 B) instead of 3 dwords (12 B). */
  addr64: boolean;
  ecrc: boolean;
  /** DLLP and SKP share of the busy direction (0.04 = 4 %). */
  linkLayerOverhead: number;
  /** PHY and data-link traversal of this link, per crossing, ns. */
  latencyNs: Ns;
}

/**
 * Gen3 x8 with MPS 256 and 64-bit addressing is a common server configuration. `latencyNs` (PHY and
 * data-link traversal per link crossing) is an estimate; Dolphin's < 300 ns one-way PIO through an
 * NTB suggests it is at most ~90 ns. See docs/model-vs-reality.md.
 */
export const DEFAULT_LINK: LinkConfig = {
  gen: 3,
  width: 8,
  mpsBytes: 256,
  addr64: true,
  ecrc: false,
  linkLayerOverhead: 0.04,
  latencyNs: 100,
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

/** Data rate after line encoding, both directions alike (full duplex). */
export function dataRateGbps(cfg: Pick<LinkConfig, 'gen' | 'width'>): Gbps {
  return GT_PER_LANE[cfg.gen] * ENCODING_EFFICIENCY[cfg.gen] * cfg.width;
}

export function tlpOverheadBytes(cfg: Pick<LinkConfig, 'addr64' | 'ecrc'>): Bytes {
  return (cfg.addr64 ? TLP_HEADER_64 : TLP_HEADER_32) + TLP_FRAMING_BYTES + (cfg.ecrc ? ECRC_BYTES : 0);
}

/** Number of TLPs for a write of `len` bytes at `addr` with at most `maxPayload` bytes each. */
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

/** Bytes a write occupies on one direction of the link, link-layer share included. */
export function wireBytes(cfg: LinkConfig, addr: number, len: Bytes, maxPayload: Bytes = cfg.mpsBytes): Bytes {
  const n = tlpCount(addr, len, maxPayload);
  return (dwordPayloadBytes(addr, len) + n * tlpOverheadBytes(cfg)) * (1 + cfg.linkLayerOverhead);
}

/** Best sustained memory-write throughput: an endless stream of full, aligned MPS-sized TLPs. */
export function effectiveWriteGbps(cfg: LinkConfig, maxPayload: Bytes = cfg.mpsBytes): Gbps {
  return (dataRateGbps(cfg) * maxPayload) / (maxPayload + tlpOverheadBytes(cfg)) / (1 + cfg.linkLayerOverhead);
}

/** Time one write spends on a direction of this link. */
export function wireTimeNs(cfg: LinkConfig, addr: number, len: Bytes, maxPayload: Bytes = cfg.mpsBytes): Ns {
  return serializationNs(wireBytes(cfg, addr, len, maxPayload), dataRateGbps(cfg));
}

/**
 * One direction of a link. Transfers are reserved in order: each keeps the direction busy for its
 * wire time, so two flows through one port share its bandwidth and queue behind each other.
 * Callers reserve in bounded chunks (see fabric.ts) so that sharing stays fair.
 */
export class LinkDirection {
  busyUntil: Ns = 0;
  /** Accumulated wire time, for utilisation. */
  busyNs: Ns = 0;
  payloadBytes: Bytes = 0;
  tlps = 0;

  constructor(readonly name: string) {}

  /** Occupy the direction for `durationNs`, no earlier than `notBefore`. Returns the start time. */
  reserve(notBefore: Ns, durationNs: Ns): Ns {
    const start = notBefore > this.busyUntil ? notBefore : this.busyUntil;
    this.busyUntil = start + durationNs;
    this.busyNs += durationNs;
    return start;
  }
}

/** A host's link to the switch: `up` carries host → switch, `down` switch → host. */
export class Link {
  readonly up: LinkDirection;
  readonly down: LinkDirection;
  readonly rateGbps: Gbps;
  /** Per-TLP overhead and ns per wire byte (link-layer share included), precomputed for the hot path. */
  readonly tlpOverhead: Bytes;
  readonly nsPerByte: number;

  constructor(
    readonly name: string,
    readonly cfg: LinkConfig,
  ) {
    this.up = new LinkDirection(`${name}.up`);
    this.down = new LinkDirection(`${name}.down`);
    this.rateGbps = dataRateGbps(cfg);
    this.tlpOverhead = tlpOverheadBytes(cfg);
    this.nsPerByte = (8 * (1 + cfg.linkLayerOverhead)) / this.rateGbps;
  }

  /** Same as wireTimeNs(this.cfg, …), without the table lookups. */
  wireTimeNs(addr: number, len: Bytes, maxPayload: Bytes): Ns {
    if (len <= 0) return 0;
    // Offsets within a power-of-two TLP size only need the low 32 bits (a float `%` is slow).
    const lo = addr >>> 0;
    const head = (maxPayload & (maxPayload - 1)) === 0 ? lo & (maxPayload - 1) : addr % maxPayload;
    const n = Math.ceil((head + len) / maxPayload);
    const payload = Math.ceil(((lo & 3) + len) / 4) * 4;
    return (payload + n * this.tlpOverhead) * this.nsPerByte;
  }

  describe(): string {
    const c = this.cfg;
    return `Gen${c.gen} x${c.width} MPS ${c.mpsBytes} ${c.addr64 ? '64' : '32'}-bit${c.ecrc ? ' ECRC' : ''}: ${this.rateGbps.toFixed(2)} Gb/s data, ${effectiveWriteGbps(c).toFixed(2)} Gb/s writes`;
  }
}
