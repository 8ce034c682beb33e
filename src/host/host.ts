/**
 * An emulated host: sparse memory, a link to the top-of-rack switch, an NTB port (compute hosts),
 * an IOMMU, an interrupt controller, an HRDMA engine and a CPU that can copy. Hosts are wired into
 * a fabric by the topology builder; the EOP driver runs on top (src/eop).
 */
import { EopError, ErrorCode } from '../errors.js';
import { Iommu } from '../pcie/iommu.js';
import { Link, type LinkConfig } from '../pcie/link.js';
import { Ntb } from '../pcie/ntb.js';
import type { Endpoint, Fabric, PathTimes } from '../pcie/fabric.js';
import { MSI_BASE } from '../mem/address-map.js';
import { SparseMemory, DEFAULT_PAGE_BYTES } from '../mem/sparse-memory.js';
import type { Scheduler } from '../time/scheduler.js';
import { GiB, MiB, type Bytes, type Ns } from '../time/units.js';
import { Cores } from './cores.js';
import { CpuCopier, type CpuConfig } from './cpu-copy.js';
import { DEFAULT_HRDMA, Desc, HrdmaEngine, type HrdmaConfig } from './hrdma.js';
import { InterruptController } from './interrupts.js';
import { DEFAULT_CORES, KERNEL_PROFILE, type HostProfile } from './profile.js';

export interface HostConfig {
  name: string;
  index: number;
  /** The management host owns the global space and has no NTB. */
  management: boolean;
  ramBytes: Bytes;
  pageBytes: Bytes;
  link: LinkConfig;
  dma: HrdmaConfig;
  cpu: CpuConfig;
  /** Interrupt entry: from the MSI landing to the handler running. */
  irqHandlerNs: Ns;
  /** Uniform variation added to each interrupt entry (seeded); 0 = deterministic without a seed. */
  irqJitterNs?: Ns;
  /**
   * CPU cores (default DEFAULT_CORES). Transmit work runs on core 0, interrupts on the last core;
   * with one core they share it and queue behind each other.
   */
  cores?: number;
  /** Kernel stack (interrupts, softirq, wake-ups) or polling (profile.ts); default kernel. */
  profile?: HostProfile;
  /** Interrupt moderation: at most one delivery per vector per this interval (0: none). */
  irqModerationNs?: Ns;
}

export const DEFAULT_RAM_BYTES: Bytes = 64 * GiB;
/** Allocations start above the first 16 MiB, which belongs to the (unmodeled) OS. */
const ALLOC_START: Bytes = 16 * MiB;

export function hostRid(index: number): number {
  return ((index + 1) << 8) >>> 0; // bus index+1, device 0, function 0
}

export class Host implements Endpoint {
  readonly index: number;
  readonly name: string;
  readonly memory: SparseMemory;
  readonly ntb: Ntb | null;
  readonly iommu = new Iommu();
  readonly link: Link;
  readonly rid: number;
  readonly irq: InterruptController;
  /** The HRDMA engine's first channel: the one the EOP driver drives. */
  readonly dma: HrdmaEngine;
  /** Every channel of the engine (`dma.channels`), each with its own ring and rate. */
  readonly dmaChannels: HrdmaEngine[] = [];
  readonly cores: Cores;
  readonly profile: HostProfile;
  readonly cpu: CpuCopier;
  private allocNext = ALLOC_START;

  constructor(
    readonly cfg: HostConfig,
    readonly sched: Scheduler,
    readonly fabric: Fabric,
  ) {
    this.index = cfg.index;
    this.name = cfg.name;
    this.rid = hostRid(cfg.index);
    this.memory = new SparseMemory(cfg.ramBytes, cfg.pageBytes || DEFAULT_PAGE_BYTES);
    this.link = new Link(cfg.name, cfg.link);
    this.ntb = cfg.management ? null : new Ntb(`${cfg.name}.ntb`, this.rid);
    this.cores = new Cores(cfg.cores ?? DEFAULT_CORES, sched);
    this.profile = cfg.profile ?? KERNEL_PROFILE;
    this.irq = new InterruptController(sched, cfg.irqHandlerNs, cfg.irqJitterNs ?? 0, this.cores, this.profile, cfg.irqModerationNs ?? 0);
    // The channels of an engine in the switch share its read tags.
    const readTags = new Float64Array(cfg.dma.readTags ?? DEFAULT_HRDMA.readTags);
    for (let c = 0; c < Math.max(1, cfg.dma.channels ?? 1); c++) {
      const ring = this.alloc(cfg.dma.ringSlots * Desc.BYTES, 4096, `hrdma channel ${c} descriptor ring`);
      this.dmaChannels.push(new HrdmaEngine(this, cfg.dma, sched, fabric, ring, readTags));
    }
    this.dma = this.dmaChannels[0]!;
    this.cpu = new CpuCopier(this, cfg.cpu, sched, fabric, this.cores);
    fabric.attach(this);
  }

  /** The doorbell read's tag (one uncached load at a time) and its result. */
  private readonly regTag = new Float64Array(1);
  private readonly regTimes: PathTimes = { leaveNs: 0, landNs: 0 };

  /**
   * The doorbell handler's first step: the IRQ core reads its NTB's doorbell register (a non-posted
   * read across its own link to the switch, fabric.ts `reserveOwnRegisterRead`), waits for the value
   * (an uncached load), then clears the bits it saw (one posted store). Returns when the core can go
   * on with the bits. A polling host reads nothing: its core looks at the rings themselves.
   */
  readDoorbell(): Ns {
    if (this.profile.kind === 'polling') return this.sched.now;
    const c = this.cores;
    const core = c.irqCore;
    const start = c.startNs(core);
    this.regTag[0] = start;
    const back = this.fabric.reserveOwnRegisterRead(this, start, this.regTag, this.regTimes);
    const end = back + this.cfg.cpu.storeNs;
    c.occupy(core, start, end);
    return end;
  }

  deliverMsi(vector: number): void {
    this.irq.raise(vector);
  }

  /** Reserve `bytes` of RAM (address space only: pages cost memory once written). */
  alloc(bytes: Bytes, align: Bytes, label: string): number {
    let base = Math.ceil(this.allocNext / align) * align;
    // Step over the MSI hole.
    if (base < MSI_BASE + 0x10_0000 && base + bytes > MSI_BASE) base = Math.ceil((MSI_BASE + 0x10_0000) / align) * align;
    if (base + bytes > this.memory.sizeBytes) {
      // Reachable from a valid-looking rack file (many hosts × jumbo MTU × many ring slots).
      throw new EopError(
        ErrorCode.CONFIG_INVALID,
        `${this.name}: ${label} need ${bytes} bytes at 0x${base.toString(16)}, beyond the host's ${this.memory.sizeBytes}-byte address space; use fewer eop.ringSlots, a smaller MTU or fewer hosts`,
      );
    }
    this.allocNext = base + bytes;
    return base;
  }
}

