/**
 * The CPU path: the sending core copies a small frame straight into the NTB window with stores,
 * cheaper than setting up a DMA below `copyThresholdBytes` (Linux ntb_transport uses DMA only
 * above its `copy_bytes` parameter, 1024 B by default).
 *
 * Stores to a write-combining window leave as 64-byte TLPs (one WC buffer each), whatever the
 * link's MPS: that is why CPU copies use the link less efficiently than DMA. The core is busy for
 * `copySetupNs` plus the copy at `copyGbps`; writes issued by one core land in order.
 */
import { ErrorCode } from '../errors.js';
import { newRoute, RouteKind, type Endpoint, type Fabric, type PathTimes } from '../pcie/fabric.js';
import type { Scheduler } from '../time/scheduler.js';
import type { Bytes, Gbps, Ns } from '../time/units.js';
import { TX_CORE, type Cores } from './cores.js';
import { JOB_POOL_MAX, WriteJob } from './posted-write.js';

export interface CpuConfig {
  copyGbps: Gbps;
  copySetupNs: Ns;
  /** One uncached store of up to 16 bytes (a slot header, an index, an MSI). */
  storeNs: Ns;
}

/**
 * Estimates, no published source: one core's memcpy into a write-combining mapping (≈ 5 GB/s) with
 * ~100 ns to start a copy, and ~20 ns for one uncached store. See docs/model-vs-reality.md.
 */
export const DEFAULT_CPU: CpuConfig = { copyGbps: 40, copySetupNs: 100, storeNs: 20 };

/** Write-combining buffer size: the TLP size of CPU stores to a WC mapping. */
export const WC_TLP_BYTES: Bytes = 64;

/** Called when a committed group landed, with its first refusal (or null) and the argument given to `commit`. */
export type LandedFn<A = any> = (code: ErrorCode | null, arg: A) => void;

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

  constructor(
    readonly host: Endpoint,
    readonly cfg: CpuConfig,
    private readonly sched: Scheduler,
    private readonly fabric: Fabric,
    /** The host's cores: copies and stores run on TX_CORE and queue behind other work there. */
    readonly cores: Cores,
  ) {}

  /** Copy `len` bytes of local memory at `src` to local address `dst` (RAM or NTB window), on `core`. */
  copy(src: number, dst: number, len: Bytes, core: number = TX_CORE): void {
    const coreStart = this.cores.startNs(core);
    const start = coreStart + this.cfg.copySetupNs;
    const end = start + (len * 8) / this.cfg.copyGbps;
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
    onLanded?.(firstErr, arg);
  };
}
