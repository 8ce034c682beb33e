/**
 * HRDMA: a host's DMA engine (modeled on the Xeon's built-in engine, as Marlin used), driven by
 * a descriptor ring in host memory.
 *
 * The driver writes 64-byte descriptors into the ring and moves the tail (`kick`). The engine reads
 * each descriptor from memory, pays a setup cost, moves the bytes as posted writes through the
 * fabric at the lower of its own rate and the links', writes a status into the descriptor, and
 * raises its completion interrupt when the descriptor asks for one. A bad descriptor (length out of
 * range, a source outside local RAM, a destination no window maps) completes with an error status
 * and a counted drop; the engine goes on with the next one.
 *
 * Timing knobs and where they come from:
 * - `setupNs` per descriptor (fetch, decode, start): order of 0.3–0.5 µs for I/OAT-class engines.
 * - `peakGbps`: the engine's own copy rate.
 * - `unalignedRateFactor`: Marlin found payloads not aligned to 64 B far slower; unaligned
 *   transfers run at this fraction of the peak rate.
 * - Large descriptors are issued in chunks of `chunkBytes` so flows sharing a link interleave.
 * - The descriptor itself is fetched with a read before the engine can start on it: a read of
 *   local memory for an engine beside the CPU (`engineAt: 'host'`, the Xeon's, Marlin's:
 *   `memReadNs`), a non-posted read across the host's link for an engine in the switch
 *   (`engineAt: 'switch'`, a Switchtec-style engine: request down the link, the host's memory
 *   answers after `memReadNs`, the 64-byte completion up). The engine fetches up to
 *   `prefetchDescs` descriptors ahead: descriptor k's fetch starts when the engine starts on
 *   descriptor k − prefetchDescs (or when the doorbell woke it), so a busy engine hides the fetches
 *   and an idle one pays for the first.
 *
 * Channels and rates: a host's engine has `channels` channels (the I/OAT and Switchtec engines
 * both do), each with its own descriptor ring (one `HrdmaEngine` each); `peakGbps` is one
 * channel's copy rate. An engine beside the CPU reads its source from local memory (not modelled
 * beyond that rate). An engine in the switch has no rate of its own: it reads its source across
 * the host's link with non-posted reads of `readMrrsBytes`, at most `readTags` outstanding for all
 * channels, and writes the bytes on from the switch (src/pcie/switch-dma.ts); its throughput
 * follows from the read size, the completions, the tags and the round trip. When a descriptor is
 * done it writes a `completionBytes` completion element back into host memory: local for an engine
 * beside the CPU, a posted write down the host's link for one in the switch (Switchtec's CE is
 * 32 B: switchtec-dma, struct switchtec_dma_hw_ce), and the driver sees DONE when it landed.
 *
 * Fence: a descriptor with `DescFlag.FENCE` executes only once the descriptor before it completed,
 * and only if that one succeeded; otherwise it completes with ERR_DMA_FENCE_ABORTED and writes
 * nothing (the I/OAT "fence" control bit, with the channel going on instead of halting). A driver
 * puts it on the slot header that follows a payload, so a failed payload never lets its header (and
 * DONE) land: the receiver would hand up whatever bytes the slot held before.
 */
import { DropCounters, ErrorCode } from '../errors.js';
import { newRoute, RouteKind, type Endpoint, type Fabric, type PathTimes } from '../pcie/fabric.js';
import { reserveSwitchCopy, type SwitchCopyTimes } from '../pcie/switch-dma.js';
import type { Scheduler } from '../time/scheduler.js';
import type { Bytes, Gbps, Ns } from '../time/units.js';
import { JOB_POOL_MAX, MAX_IMM_BYTES, WriteJob } from './posted-write.js';

export interface HrdmaConfig {
  setupNs: Ns;
  /** Setup of an immediate-write descriptor (no source fetch). */
  immSetupNs: Ns;
  peakGbps: Gbps;
  unalignedRateFactor: number;
  alignmentBytes: Bytes;
  ringSlots: number;
  chunkBytes: Bytes;
  /** Where the engine sits: beside the CPU (descriptor fetch from local memory) or in the switch (across the link). */
  engineAt: 'host' | 'switch';
  /** Host memory's read latency (the completer's time of a descriptor fetch). */
  memReadNs: Ns;
  /** Descriptors the engine fetches ahead of the one it works on. */
  prefetchDescs: number;
  /** Channels (each its own ring and `peakGbps`); the EOP driver uses the first. */
  channels: number;
  /** An engine in the switch: its read request size (Max_Read_Request_Size). */
  readMrrsBytes: Bytes;
  /** An engine in the switch: reads it may have outstanding (tags), shared by its channels. */
  readTags: number;
  /** The completion element the engine writes back per descriptor. */
  completionBytes: Bytes;
}

/**
 * `setupNs` and `peakGbps` are estimates for an I/OAT-class engine (no published figure for
 * Marlin's); Marlin's 19.6 Gb/s TCP suggests ~22 Gb/s for that generation (scenarios/
 * marlin-inter-host.yaml). `unalignedRateFactor` is fitted to Marlin's qualitative "much slower".
 */
export const DEFAULT_HRDMA: HrdmaConfig = {
  setupNs: 400,
  immSetupNs: 50,
  peakGbps: 40,
  unalignedRateFactor: 0.35,
  alignmentBytes: 64,
  ringSlots: 1024,
  chunkBytes: 8192,
  engineAt: 'host',
  // Estimate: idle DRAM read latency of a Xeon E5-class server (≈ 80–100 ns).
  memReadNs: 90,
  // Estimate: a few descriptors (one 256-byte read's worth) ahead.
  prefetchDescs: 4,
  // One channel: the EOP driver, like ntb_transport per queue pair, drives one.
  channels: 1,
  // Switchtec's per-channel MRRS default, encoding 3 = 1024 B (switchtec-dma README, "mrrs").
  readMrrsBytes: 1024,
  // The 5-bit Tag field without Extended Tags (PCIe Base Spec), as every requester in the model
  // (link.tags). The engine's own limit (its `tag_limit` capability register, switchtec_dma.c)
  // is not published.
  readTags: 32,
  // Switchtec's completion element (struct switchtec_dma_hw_ce: 8 dwords).
  completionBytes: 32,
};

/** Descriptor layout (64 bytes, little-endian). */
export const Desc = {
  BYTES: 64,
  CONTROL: 0, // u32: op in bits 0-3, flags above
  LEN: 4, // u32
  SRC: 8, // u64 local address (COPY)
  DST: 16, // u64 local address (RAM, MSI range, or inside an NTB window)
  STATUS: 24, // u32, written by the engine
  ERROR: 28, // u32 DescError id, written by the engine
  IMM: 32, // up to 16 immediate bytes (WRITE_IMM)
  COOKIE: 48, // u64, the driver's tag, untouched by the engine
} as const;

export const DescOp = { COPY: 0, WRITE_IMM: 1 } as const;
export const DescFlag = { INTERRUPT: 1 << 8, FENCE: 1 << 9 } as const;
export const DescStatus = { PENDING: 0, DONE: 1, ERROR: 2 } as const;
/** The engine's TLPs are bounded only by the path's MPS (PCIe's largest MPS is 4096 bytes). */
const MAX_TLP_BYTES: Bytes = 4096;
/** Largest COPY the engine accepts in one descriptor. */
export const MAX_DMA_BYTES: Bytes = 1 << 24;

/**
 * Values of a descriptor's ERROR field. They are part of the descriptor format in emulated memory,
 * so each is a fixed number, never derived from the order of a table: add new ones at the end.
 * 0 means no error; OTHER stands for a code that has no id of its own.
 */
export const DescError = {
  NONE: 0,
  BAD_DESCRIPTOR: 1,
  NTB_OUT_OF_WINDOW: 2,
  NTB_LINK_DOWN: 3,
  NTB_LUT_DENIED: 4,
  IOMMU_BLOCKED: 5,
  ADDR_UNMAPPED: 6,
  ADDR_OUT_OF_RANGE: 7,
  NTB_BAD_REGISTER: 8,
  FENCE_ABORTED: 9,
  NTB_PATH_DOWN: 10,
  OTHER: 255,
} as const;
export type DescError = (typeof DescError)[keyof typeof DescError];

/** The stable code behind each DescError id (the id OTHER reads back as DMA_BAD_DESCRIPTOR). */
const DESC_ERROR_CODES: readonly (readonly [DescError, ErrorCode])[] = [
  [DescError.BAD_DESCRIPTOR, ErrorCode.DMA_BAD_DESCRIPTOR],
  [DescError.NTB_OUT_OF_WINDOW, ErrorCode.NTB_OUT_OF_WINDOW],
  [DescError.NTB_LINK_DOWN, ErrorCode.NTB_LINK_DOWN],
  [DescError.NTB_LUT_DENIED, ErrorCode.NTB_LUT_DENIED],
  [DescError.IOMMU_BLOCKED, ErrorCode.IOMMU_BLOCKED],
  [DescError.ADDR_UNMAPPED, ErrorCode.ADDR_UNMAPPED],
  [DescError.ADDR_OUT_OF_RANGE, ErrorCode.ADDR_OUT_OF_RANGE],
  [DescError.NTB_BAD_REGISTER, ErrorCode.NTB_BAD_REGISTER],
  [DescError.FENCE_ABORTED, ErrorCode.DMA_FENCE_ABORTED],
  [DescError.NTB_PATH_DOWN, ErrorCode.NTB_PATH_DOWN],
];
const ID_OF = new Map<ErrorCode, DescError>(DESC_ERROR_CODES.map(([id, code]) => [code, id]));
const CODE_OF = new Map<number, ErrorCode>(DESC_ERROR_CODES.map(([id, code]) => [id, code]));

/** The id written into a descriptor for `code`. */
export function descErrorId(code: ErrorCode): DescError {
  return ID_OF.get(code) ?? DescError.OTHER;
}

/** The code behind an id read from a descriptor (any unknown id reads as a bad descriptor). */
export function descErrorCode(id: number): ErrorCode {
  return CODE_OF.get(id) ?? ErrorCode.DMA_BAD_DESCRIPTOR;
}

/** What `reap` found in a completed descriptor, in a struct the driver owns and reuses. */
export interface Reaped {
  cookie: number;
  /** Null when the descriptor completed without error. */
  error: ErrorCode | null;
}

function getU64(dv: DataView, o: number): number {
  return dv.getUint32(o, true) + dv.getUint32(o + 4, true) * 4294967296;
}

function setU64(dv: DataView, o: number, v: number): void {
  dv.setUint32(o, v >>> 0, true);
  dv.setUint32(o + 4, Math.floor(v / 4294967296), true);
}

class DmaJob extends WriteJob {
  descIndex = -1;
  last = false;
  interrupt = false;
  /** Its descriptor carries DescFlag.FENCE (set on every chunk of it). */
  fenced = false;
}

export class HrdmaEngine {
  /** Descriptors the engine has taken (head) and the driver has posted (tail), free-running. */
  head = 0;
  tail = 0;
  completed = 0;
  /** Counters. */
  descriptors = 0;
  bytes: Bytes = 0;
  unaligned = 0;
  errors = 0;
  /** Posts refused because the ring was full. */
  refusedFull = 0;
  readonly drops = new DropCounters();
  completionVector = -1;

  private freeAt: Ns = 0;
  private issuing = false;
  private readonly route = newRoute();
  private readonly times: PathTimes = { leaveNs: 0, landNs: 0 };
  /** Progress inside a chunked COPY. */
  private chunkOffset = 0;
  /** Land time of the last group scheduled: a fenced descriptor opening a group lands no earlier. */
  private lastLandAt: Ns = 0;
  /** First refusal among the landed chunks of the COPY now landing (its status is that of all chunks). */
  private chunkError: ErrorCode | null = null;
  /** When the fetches of the next `prefetchDescs` descriptors started, by descriptor number mod that. */
  private readonly fetchFrom: Float64Array;
  /** Descriptors the engine has started on (numbers the fetches). */
  private fetchSeq = 0;
  /** Engine in the switch: which descriptor's fetch each prefetch slot holds (-1: none), and when it is done. */
  private readonly fetchFor: Float64Array;
  private readonly fetchReady: Float64Array;
  /** Its fetches' tags (one per prefetch slot). */
  private readonly fetchTag: Float64Array;
  private readonly fetchTimes: PathTimes = { leaveNs: 0, landNs: 0 };
  /** Descriptor fetches that made the engine wait (it was idle, or the fetch outlasted a copy). */
  fetchStalls = 0;
  private readonly copyTimes: SwitchCopyTimes = { lastIssueNs: 0, landNs: 0 };
  private readonly switchRead: { mrrsBytes: Bytes; memReadNs: Ns };

  constructor(
    readonly host: Endpoint,
    readonly cfg: HrdmaConfig,
    private readonly sched: Scheduler,
    private readonly fabric: Fabric,
    /** Host-local address of the descriptor ring (ringSlots × 64 bytes). */
    readonly ringBase: number,
    /** An engine in the switch: the read tag table (free times) its channels share. */
    private readonly readTagFree: Float64Array = new Float64Array(cfg.readTags ?? DEFAULT_HRDMA.readTags),
  ) {
    if ((cfg.ringSlots & (cfg.ringSlots - 1)) !== 0) throw new Error('HRDMA ring slots must be a power of two');
    this.fetchFrom = new Float64Array(Math.max(1, cfg.prefetchDescs ?? 1));
    this.fetchFor = new Float64Array(this.fetchFrom.length).fill(-1);
    this.fetchReady = new Float64Array(this.fetchFrom.length);
    this.fetchTag = new Float64Array(this.fetchFrom.length);
    this.switchRead = { mrrsBytes: cfg.readMrrsBytes ?? DEFAULT_HRDMA.readMrrsBytes, memReadNs: cfg.memReadNs };
  }

  /** Free descriptor slots the driver may still fill. */
  get space(): number {
    return this.cfg.ringSlots - (this.tail - this.completedTail);
  }
  /** Slots are reusable once their descriptor completed. */
  private completedTail = 0;

  descAddr(index: number): number {
    return this.ringBase + (index & (this.cfg.ringSlots - 1)) * Desc.BYTES;
  }

  /** Counted refusal of a post into a full ring: -1. */
  private ringFull(): number {
    this.refusedFull++;
    this.drops.add(ErrorCode.DMA_RING_FULL);
    return -1;
  }

  /**
   * Write a COPY descriptor at the tail (not yet visible to the engine until `kick`). Returns its
   * index, or -1 (counted as DMA_RING_FULL) when every slot is still in use.
   */
  postCopy(src: number, dst: number, len: Bytes, flags: number, cookie: number): number {
    if (this.space <= 0) return this.ringFull();
    const i = this.tail++;
    const a = this.descAddr(i);
    const m = this.host.memory;
    const dv = m.pageDataView(a);
    const o = m.pageOffset(a);
    dv.setUint32(o + Desc.CONTROL, DescOp.COPY | flags, true);
    dv.setUint32(o + Desc.LEN, len, true);
    setU64(dv, o + Desc.SRC, src);
    setU64(dv, o + Desc.DST, dst);
    dv.setUint32(o + Desc.STATUS, DescStatus.PENDING, true);
    setU64(dv, o + Desc.COOKIE, cookie);
    return i;
  }

  /** Write a WRITE_IMM descriptor carrying `bytes` (≤ 16) for `dst`; -1 as `postCopy`. */
  postImm(dst: number, bytes: Uint8Array, flags: number, cookie: number): number {
    if (this.space <= 0) return this.ringFull();
    const i = this.tail++;
    const a = this.descAddr(i);
    const m = this.host.memory;
    const dv = m.pageDataView(a);
    const o = m.pageOffset(a);
    dv.setUint32(o + Desc.CONTROL, DescOp.WRITE_IMM | flags, true);
    dv.setUint32(o + Desc.LEN, bytes.length, true);
    setU64(dv, o + Desc.DST, dst);
    const n = bytes.length > MAX_IMM_BYTES ? MAX_IMM_BYTES : bytes.length;
    for (let k = 0; k < n; k++) dv.setUint8(o + Desc.IMM + k, bytes[k]!);
    dv.setUint32(o + Desc.STATUS, DescStatus.PENDING, true);
    setU64(dv, o + Desc.COOKIE, cookie);
    return i;
  }

  /** What the engine wrote back into descriptor `i` (DescStatus). */
  status(i: number): number {
    const a = this.descAddr(i);
    const m = this.host.memory;
    return m.pageDataView(a).getUint32(m.pageOffset(a) + Desc.STATUS, true);
  }

  /** The error code the engine wrote into descriptor `i` (meaningful when its status is ERROR). */
  errorCode(i: number): ErrorCode {
    const a = this.descAddr(i);
    const m = this.host.memory;
    return descErrorCode(m.pageDataView(a).getUint32(m.pageOffset(a) + Desc.ERROR, true));
  }

  /**
   * For the driver's completion walk: false while descriptor `i` is pending; else true, with its
   * cookie and error (if any) in `out`. One page lookup for all three fields.
   */
  reap(i: number, out: Reaped): boolean {
    const a = this.descAddr(i);
    const m = this.host.memory;
    const dv = m.pageDataView(a);
    const o = m.pageOffset(a);
    const status = dv.getUint32(o + Desc.STATUS, true);
    if (status === DescStatus.PENDING) return false;
    out.cookie = getU64(dv, o + Desc.COOKIE);
    out.error = status === DescStatus.ERROR ? descErrorCode(dv.getUint32(o + Desc.ERROR, true)) : null;
    return true;
  }

  /** The driver's tag in descriptor `i`. */
  cookie(i: number): number {
    const a = this.descAddr(i);
    const m = this.host.memory;
    return getU64(m.pageDataView(a), m.pageOffset(a) + Desc.COOKIE);
  }

  /** The driver's doorbell to the engine: new descriptors up to `tail` are ready. */
  kick(): void {
    const now = this.sched.now;
    // An engine in the switch fetches what the doorbell announced at once (up to its prefetch
    // depth): its reads must be on the link before the data reads it is about to issue.
    if (this.cfg.engineAt === 'switch') {
      if (this.freeAt <= now && !this.issuing) this.fetchFrom.fill(now);
      const end = Math.min(this.tail, this.fetchSeq + this.fetchFrom.length);
      for (let s = this.fetchSeq; s < end; s++) this.prefetch(s, now);
    }
    if (this.issuing || this.head === this.tail) return;
    this.issuing = true;
    // The doorbell wakes an idle engine: it starts fetching the first new descriptors now (a busy
    // one is already fetching ahead).
    if (this.freeAt <= now) this.fetchFrom.fill(now);
    this.sched.at(this.freeAt > this.sched.now ? this.freeAt : this.sched.now, this.issue);
  }

  /** The driver hands back completed slots (after reading their status). */
  release(upTo: number): void {
    this.completedTail = upTo;
  }

  private readonly issue = (): void => {
    const now = this.sched.now;
    let t = now;
    let first: DmaJob | null = null;
    let lastJob: DmaJob | null = null;
    let landAt = now;
    let groupBytes = 0;
    // Descriptors are issued in groups of up to `chunkBytes` of payload per event, each with its
    // own timing on the links; the group lands in one event at the time its last write lands.
    // Nothing can observe the frames of a group before the interrupt that ends it.
    while (this.head !== this.tail) {
      const a = this.descAddr(this.head);
      const m = this.host.memory;
      const dv = m.pageDataView(a);
      const o = m.pageOffset(a);
      const control = dv.getUint32(o + Desc.CONTROL, true);
      const op = control & 0xf;
      const fenced = (control & DescFlag.FENCE) !== 0;
      const len = dv.getUint32(o + Desc.LEN, true);
      if (first && op === DescOp.COPY && groupBytes + len > this.cfg.chunkBytes) break;
      if (this.chunkOffset === 0) t = this.fetched(t);
      const dst = getU64(dv, o + Desc.DST);
      let job: DmaJob;
      let jobLand: Ns;
      if (op === DescOp.COPY) {
        const src = getU64(dv, o + Desc.SRC);
        const bad = len === 0 || len > MAX_DMA_BYTES ? 'length out of range' : !m.contains(src, len) ? 'source outside local RAM' : null;
        if (bad) {
          job = this.errorJob(ErrorCode.DMA_BAD_DESCRIPTOR, `descriptor ${this.head}: ${bad} (src 0x${src.toString(16)}, len ${len})`);
          jobLand = t + this.cfg.setupNs;
          t = jobLand;
        } else {
          const off = this.chunkOffset;
          const n = Math.min(this.cfg.chunkBytes, len - off);
          const start = t + (off === 0 ? this.cfg.setupNs : 0);
          const r = this.fabric.resolve(this.host, dst + off, n, this.route);
          if (r.kind === RouteKind.ERROR) {
            job = this.errorJob(r.code!, `descriptor ${this.head}: destination 0x${dst.toString(16)} refused`);
            jobLand = start;
            t = start;
            this.chunkOffset = 0;
          } else {
            const al = this.cfg.alignmentBytes;
            const aligned = (al & (al - 1)) === 0
              ? (((src + off) >>> 0) & (al - 1)) === 0 && (((dst + off) >>> 0) & (al - 1)) === 0
              : (src + off) % al === 0 && (dst + off) % al === 0;
            if (!aligned && off === 0) this.unaligned++;
            const rate = aligned ? this.cfg.peakGbps : this.cfg.peakGbps * this.cfg.unalignedRateFactor;
            const engineEnd = start + (n * 8) / rate;
            job = this.job(r.kind, r.target!, r.addr, n, src + off);
            if (this.cfg.engineAt === 'switch' && (r.kind === RouteKind.REMOTE || r.kind === RouteKind.LOCAL_MEM)) {
              // Reads across the host's link, writes on from the switch: no rate of its own.
              const ct = this.copyTimes;
              reserveSwitchCopy(this.fabric, this.host, r.target!, src + off, r.addr, n, start, r.kind === RouteKind.REMOTE, this.switchRead, this.readTagFree, ct, this.times);
              jobLand = ct.landNs;
              t = ct.lastIssueNs;
            } else if (r.kind === RouteKind.REMOTE) {
              const pt = this.times;
              this.fabric.reservePath(this.host, r.target!, r.addr, n, start, MAX_TLP_BYTES, pt);
              jobLand = pt.landNs;
              const leave = pt.leaveNs;
              // The engine, not the link, is the bottleneck: the tail leaves when the engine is done.
              if (engineEnd > leave) {
                jobLand += engineEnd - leave;
                t = engineEnd;
              } else t = leave;
            } else {
              jobLand = engineEnd;
              t = engineEnd;
            }
            this.bytes += n;
            groupBytes += n;
            if (off + n < len) {
              // More chunks to go: this descriptor stays at the head.
              this.chunkOffset = off + n;
              job.descIndex = this.head;
              job.fenced = fenced;
              if (fenced && !first) landAt = Math.max(landAt, this.lastLandAt);
              if (lastJob) lastJob.next = job;
              else first = job;
              lastJob = job;
              if (jobLand > landAt) landAt = jobLand;
              break;
            }
            this.chunkOffset = 0;
          }
        }
      } else if (op === DescOp.WRITE_IMM) {
        const start = t + this.cfg.immSetupNs;
        if (len === 0 || len > MAX_IMM_BYTES) {
          job = this.errorJob(ErrorCode.DMA_BAD_DESCRIPTOR, `descriptor ${this.head}: immediate length ${len}`);
          jobLand = start;
        } else {
          const r = this.fabric.resolve(this.host, dst, len, this.route);
          if (r.kind === RouteKind.ERROR) {
            job = this.errorJob(r.code!, `descriptor ${this.head}: destination 0x${dst.toString(16)} refused`);
            jobLand = start;
          } else {
            job = this.job(r.kind, r.target!, r.addr, len, 0);
            // The descriptor's IMM field is 16 bytes: whole words can be read past `len`.
            job.imm = true;
            job.imm0 = dv.getUint32(o + Desc.IMM, true);
            job.imm1 = len > 4 ? dv.getUint32(o + Desc.IMM + 4, true) : 0;
            job.imm2 = len > 8 ? dv.getUint32(o + Desc.IMM + 8, true) : 0;
            job.imm3 = len > 12 ? dv.getUint32(o + Desc.IMM + 12, true) : 0;
            if (this.cfg.engineAt === 'switch' && r.kind === RouteKind.REMOTE) {
              // From the switch: only the target's link (the bytes were in the descriptor).
              this.fabric.reserveFromSwitch(r.target!, r.addr, len, start, MAX_TLP_BYTES, true, this.times);
              jobLand = this.times.landNs;
            } else if (r.kind === RouteKind.REMOTE || r.kind === RouteKind.REMOTE_REG) {
              this.fabric.reservePath(this.host, r.target!, r.addr, len, start, MAX_TLP_BYTES, this.times);
              jobLand = this.times.landNs;
            } else jobLand = start;
          }
        }
        t = start;
      } else {
        job = this.errorJob(ErrorCode.DMA_BAD_DESCRIPTOR, `descriptor ${this.head}: unknown op ${op}`);
        jobLand = t + this.cfg.setupNs;
        t = jobLand;
      }
      // An engine in the switch writes its completion element down the host's link.
      if (this.cfg.engineAt === 'switch') {
        this.fabric.reserveFromSwitch(this.host, this.descAddr(this.head), this.cfg.completionBytes ?? DEFAULT_HRDMA.completionBytes, jobLand, MAX_TLP_BYTES, false, this.times);
        jobLand = this.times.landNs;
      }
      job.descIndex = this.head;
      job.last = true;
      job.interrupt = (control & DescFlag.INTERRUPT) !== 0;
      job.fenced = fenced;
      // Its predecessor is in an earlier group: the fence waits for that group to land.
      if (fenced && !first) landAt = Math.max(landAt, this.lastLandAt);
      this.head++;
      this.descriptors++;
      if (lastJob) lastJob.next = job;
      else first = job;
      lastJob = job;
      if (jobLand > landAt) landAt = jobLand;
    }
    this.freeAt = t;
    if (first) {
      this.sched.at(landAt, this.land, first);
      this.lastLandAt = landAt;
    }
    if (this.head !== this.tail) this.sched.at(t, this.issue);
    else this.issuing = false;
  };

  /**
   * The engine is ready for the head descriptor at `t`: returns when its fetch is done; the fetch
   * of the descriptor `prefetchDescs` further on starts then.
   */
  private fetched(t: Ns): Ns {
    const seq = this.fetchSeq++;
    const n = this.fetchFrom.length;
    const k = seq % n;
    const from = this.fetchFrom[k]!;
    const sw = this.cfg.engineAt === 'switch';
    let done: Ns;
    if (sw) {
      // Not fetched ahead (posted after the engine passed its slot): fetched now.
      if (this.fetchFor[k] !== seq) this.prefetch(seq, from);
      done = this.fetchReady[k]!;
      this.fetchFor[k] = -1;
    } else done = from + this.cfg.memReadNs;
    if (done > t) {
      this.fetchStalls++;
      t = done;
    }
    this.fetchFrom[k] = t; // descriptor k + prefetchDescs is fetched from now on
    // Across the link the fetch is reserved now, ahead of this descriptor's data reads.
    if (sw && seq + n < this.tail) this.prefetch(seq + n, t);
    return t;
  }

  /** Engine in the switch: reserve the fetch of descriptor `seq` across the host's link from `at` (once). */
  private prefetch(seq: number, at: Ns): void {
    const k = seq % this.fetchFrom.length;
    if (this.fetchFor[k] === seq) return;
    this.fetchFor[k] = seq;
    this.fetchReady[k] = this.fabric.reserveHostRead(this.host, at, Desc.BYTES, this.cfg.memReadNs, this.fetchTag, this.fetchTimes);
  }

  private errorJob(code: ErrorCode, detail: string): DmaJob {
    const j = this.job(RouteKind.ERROR, this.host, 0, 0, 0);
    j.failed = code;
    this.drops.add(code);
    this.fabric.log.warn(`${this.host.name}.hrdma`, detail, code);
    return j;
  }

  /** Jobs are recycled: one per descriptor would otherwise be garbage per frame. */
  private job(kind: RouteKind, target: Endpoint, addr: number, len: Bytes, srcAddr: number): DmaJob {
    const j = this.pool.pop();
    if (!j) return new DmaJob(kind, target, addr, len, srcAddr);
    j.reset(kind, target, addr, len, srcAddr);
    j.last = false;
    j.interrupt = false;
    j.fenced = false;
    j.descIndex = -1;
    return j;
  }

  private readonly pool: DmaJob[] = [];

  private readonly land = (first: DmaJob): void => {
    const m = this.host.memory;
    let raise = false;
    let next: DmaJob | null;
    for (let j: DmaJob | null = first; j; j = next) {
      next = j.next as DmaJob | null;
      let code = j.fenced && !this.predecessorDone(j.descIndex) ? ErrorCode.DMA_FENCE_ABORTED : (j.failed ?? this.fabric.land(this.host, j));
      if (this.pool.length < JOB_POOL_MAX) this.pool.push(j);
      if (!j.last) {
        if (code && !this.chunkError) this.chunkError = code;
        continue;
      }
      if (this.chunkError) {
        code ??= this.chunkError;
        this.chunkError = null;
      }
      const a = this.descAddr(j.descIndex);
      const dv = m.pageDataView(a);
      const o = m.pageOffset(a);
      if (code) {
        this.errors++;
        if (!j.failed) this.drops.add(code);
        dv.setUint32(o + Desc.STATUS, DescStatus.ERROR, true);
        dv.setUint32(o + Desc.ERROR, descErrorId(code), true);
      } else {
        dv.setUint32(o + Desc.STATUS, DescStatus.DONE, true);
      }
      this.completed++;
      if (j.interrupt || code) raise = true;
    }
    if (raise && this.completionVector >= 0) this.host.deliverMsi(this.completionVector);
  };

  /**
   * Whether descriptor `i - 1` completed without error (true for the very first descriptor). Its
   * slot cannot have been reused yet: the driver releases slots only up to the first pending one.
   */
  private predecessorDone(i: number): boolean {
    if (i === 0) return true;
    return this.status(i - 1) === DescStatus.DONE;
  }
}
