/**
 * The CPU path: the sending core copies a small frame straight into the NTB window with stores,
 * cheaper than setting up a DMA below `copyThresholdBytes` (Linux ntb_transport uses DMA only
 * above its `copy_bytes` parameter, 1024 B by default).
 *
 * Stores to a write-combining window leave as 64-byte TLPs (one WC buffer each), whatever the
 * link's MPS: that is why CPU copies use the link less efficiently than DMA. A core has a few WC
 * buffers (`wcBuffers`); a full one stays allocated until the root complex has taken its posted
 * write (`wcDrainNs`), so one core's stores into a window run at most at
 * wcBuffers × 64 B / wcDrainNs (`wcStoreGbps`), and never faster than its own copy rate
 * (`copyGbps`, a cacheable destination). The core is busy for `copySetupNs` plus the copy at the
 * lower of the two (or until the link took the last TLP, when the link is slower); writes issued by
 * one core land in order.
 *
 * Reads go the other way, and slowly: a load from the window is an uncached, non-posted read that
 * the core waits for, one at a time (`readRemote`): a full round trip across the fabric per
 * `UC_LOAD_BYTES`. That is why the EOP driver never reads through the window on the fast path.
 */
import { ErrorCode } from '../errors.js';
import { newRoute, RouteKind, type Endpoint, type Fabric, type PathTimes } from '../pcie/fabric.js';
import type { Scheduler } from '../time/scheduler.js';
import type { Bytes, Gbps, Ns } from '../time/units.js';
import { TX_CORE, type Cores } from './cores.js';
import { JOB_POOL_MAX, WriteJob } from './posted-write.js';

export interface CpuConfig {
  /** One core's copy rate into cacheable memory (a local copy). */
  copyGbps: Gbps;
  copySetupNs: Ns;
  /** One uncached store of up to 16 bytes (a slot header, an index, an MSI). */
  storeNs: Ns;
  /** Write-combining buffers per core (each holds one 64-byte line in flight). */
  wcBuffers: number;
  /** A full WC buffer's time from eviction until the root complex accepted its posted write. */
  wcDrainNs: Ns;
}

/**
 * `wcBuffers` 10: Intel Core i5/i7 (Sandy Bridge era, Marlin's) have 10 WC buffers of 64 bytes
 * (Intel developer forum, "Write Combine Performance and Out of Order", topic 518062).
 * Estimates without a published source: `wcDrainNs` 100 ns (core → system agent → PCIe root port
 * for a posted write), `copyGbps` 100 (one core copying a cache-resident frame, ≈ 12.5 GB/s),
 * ~100 ns to start a copy, ~20 ns for one uncached store. Window copies then run at 51.2 Gb/s
 * (the WC bound). See docs/model-vs-reality.md.
 */
export const DEFAULT_CPU: CpuConfig = { copyGbps: 100, copySetupNs: 100, storeNs: 20, wcBuffers: 10, wcDrainNs: 100 };

/**
 * CPU generations whose write-combining store throughput differs: a WC line occupies one of the
 * core's L1D fill buffers until the uncore took it, so one core's stores into a window run at
 * fill buffers × 64 B per drain time. Fill buffers per core: Sandy Bridge (Core i5/i7 2nd gen,
 * Xeon E5 v1, Marlin's era) 10 (Intel forum topic 518062, as DEFAULT_CPU); Sunny Cove (Ice Lake)
 * 12 and Golden Cove (Alder Lake P-core, Sapphire Rapids) 16 (Intel Architecture Day 2021: Golden
 * Cove's L1D fill buffers went from 12 to 16; see docs/model-vs-reality.md). The drain time is
 * the same estimate for all (no published per-generation figure for a WC line's trip to the root
 * port): only what is sourced differs between them.
 */
export const CPU_GENERATIONS = {
  'sandy-bridge': { wcBuffers: 10 },
  'sunny-cove': { wcBuffers: 12 },
  'golden-cove': { wcBuffers: 16 },
} as const satisfies Record<string, Partial<CpuConfig>>;
export type CpuGeneration = keyof typeof CPU_GENERATIONS;
export const CPU_GENERATION_NAMES = Object.keys(CPU_GENERATIONS) as CpuGeneration[];

/** DEFAULT_CPU with a generation's fill buffers, then `over` (an explicit `wcBuffers` wins). */
export function cpuConfig(generation: CpuGeneration | undefined, over: Partial<CpuConfig> = {}): CpuConfig {
  return { ...DEFAULT_CPU, ...(generation ? CPU_GENERATIONS[generation] : {}), ...over };
}

/** Write-combining buffer size: the TLP size of CPU stores to a WC mapping. */
export const WC_TLP_BYTES: Bytes = 64;
/** One uncached load through the window (a 64-bit register load): one non-posted read each. */
export const UC_LOAD_BYTES: Bytes = 8;

/** Most one core's stores into a write-combining window can carry: wcBuffers × 64 B per drain time. */
export function wcStoreGbps(c: CpuConfig): Gbps {
  return (c.wcBuffers * WC_TLP_BYTES * 8) / c.wcDrainNs;
}

/** One core's copy rate into an NTB window: its own copy rate, bounded by its WC buffers. */
export function windowCopyGbps(c: CpuConfig): Gbps {
  const wc = wcStoreGbps(c);
  return wc < c.copyGbps ? wc : c.copyGbps;
}

/** Called when a committed group landed, with its first refusal (or null) and the argument given to `commit`. */
export type LandedFn<A = unknown> = (code: ErrorCode | null, arg: A) => void;

export class CpuCopier {
  copies = 0;
  stores = 0;
  bytes: Bytes = 0;
  errors = 0;
  /** Writes issued since the last `commit`, landing together. */
  private first: WriteJob | null = null;
  private last: WriteJob | null = null;
  private landAt: Ns = 0;
  private readonly route = newRoute();
  private readonly times: PathTimes = { leaveNs: 0, landNs: 0 };
  private readonly windowGbps: Gbps;
  /** Uncached loads wait for each other: one tag. */
  private readonly loadTag = new Float64Array(1);

  constructor(
    readonly host: Endpoint,
    readonly cfg: CpuConfig,
    private readonly sched: Scheduler,
    private readonly fabric: Fabric,
    /** The host's cores: copies and stores run on TX_CORE and queue behind other work there. */
    readonly cores: Cores,
  ) {
    this.windowGbps = windowCopyGbps(cfg);
  }

  /** Copy `len` bytes of local memory at `src` to local address `dst` (RAM or NTB window), on `core`. */
  copy(src: number, dst: number, len: Bytes, core: number = TX_CORE): void {
    const coreStart = this.cores.startNs(core);
    const start = coreStart + this.cfg.copySetupNs;
    const local = this.host.memory.contains(dst, len);
    const end = start + (len * 8) / (local ? this.cfg.copyGbps : this.windowGbps);
    this.copies++;
    this.bytes += len;
    this.issue(dst, len, src, null, core, coreStart, start, end, WC_TLP_BYTES);
  }

  /** One small store of `bytes` (≤ 16) to local address `dst`, on `core`. */
  store(dst: number, bytes: Uint8Array, core: number = TX_CORE): void {
    const start = this.cores.startNs(core);
    this.stores++;
    this.issue(dst, bytes.length, 0, bytes, core, start, start, start + this.cfg.storeNs, WC_TLP_BYTES);
  }

  /**
   * The core loads `len` bytes through the window from `target` (at target-local `addr`): one
   * uncached load of UC_LOAD_BYTES at a time, each a non-posted read that crosses the fabric and
   * back. The core is busy until the last completion arrived; returns that time. (Timing only: the
   * driver never reads remote memory for data.)
   */
  readRemote(target: Endpoint, addr: number, len: Bytes, core: number = TX_CORE): Ns {
    const start = this.cores.startNs(core);
    this.loadTag[0] = start;
    const pt = this.times;
    let t = start;
    for (let off = 0; off < len; off += UC_LOAD_BYTES) {
      const n = len - off < UC_LOAD_BYTES ? len - off : UC_LOAD_BYTES;
      this.fabric.reserveRead(this.host, target, addr + off, n, t, 0, this.loadTag, pt);
      t = pt.landNs;
    }
    this.cores.occupy(core, start, t);
    return t;
  }

  private issue(dst: number, len: Bytes, src: number, imm: Uint8Array | null, core: number, coreStart: Ns, start: Ns, end: Ns, tlpMax: Bytes): void {
    const r = this.fabric.resolve(this.host, dst, len, this.route);
    let job: WriteJob;
    let land = end;
    if (r.kind === RouteKind.ERROR) {
      job = this.job(RouteKind.ERROR, this.host, 0, 0, 0);
      job.failed = r.code;
      this.errors++;
    } else {
      job = this.job(r.kind, r.target!, r.addr, len, src);
      if (imm) {
        // Stores carry at most 16 bytes (headers, indices, interrupt words).
        job.setImm(imm, 0, len);
      }
      if (r.kind === RouteKind.REMOTE || r.kind === RouteKind.REMOTE_REG) {
        const pt = this.times;
        this.fabric.reservePath(this.host, r.target!, r.addr, len, start, tlpMax, pt);
        land = pt.landNs;
        // The core, not the link, is the bottleneck: the tail leaves when the stores are done.
        if (end > pt.leaveNs) land += end - pt.leaveNs;
        else end = pt.leaveNs;
      }
    }
    // The core is busy until the last store left: a WC copy waits for the link when the link is slower.
    this.cores.occupy(core, coreStart, end);
    if (this.last) this.last.next = job;
    else this.first = job;
    this.last = job;
    if (land > this.landAt) this.landAt = land;
  }

  /**
   * Close the group of writes issued since the last commit: they land together, in order, at the
   * time the last of them lands; `onLanded` then gets the first refusal code, if any.
   */
  commit<A>(onLanded?: LandedFn<A>, arg?: A): void {
    if (!this.first) {
      onLanded?.(null, arg as A);
      return;
    }
    // The group's callback rides on its first job: no object per group.
    this.first.onLanded = onLanded ?? null;
    this.first.landedArg = arg;
    this.sched.at(this.landAt, this.land, this.first);
    this.first = this.last = null;
    this.landAt = 0;
  }

  /** Jobs are recycled, as in the DMA engine: one per store would be garbage per frame. */
  private readonly pool: WriteJob[] = [];

  private job(kind: RouteKind, target: Endpoint, addr: number, len: Bytes, srcAddr: number): WriteJob {
    const j = this.pool.pop();
    return j ? j.reset(kind, target, addr, len, srcAddr) : new WriteJob(kind, target, addr, len, srcAddr);
  }

  private readonly land = (first: WriteJob): void => {
    const onLanded = first.onLanded;
    const arg = first.landedArg;
    first.onLanded = null;
    first.landedArg = undefined;
    let firstErr: ErrorCode | null = null;
    let next: WriteJob | null;
    for (let j: WriteJob | null = first; j; j = next) {
      next = j.next;
      const code = j.failed ?? this.fabric.land(this.host, j);
      if (code && !firstErr) firstErr = code;
      if (this.pool.length < JOB_POOL_MAX) this.pool.push(j);
    }
    onLanded?.(firstErr, arg as never);
  };
}
