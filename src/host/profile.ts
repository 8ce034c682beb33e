/**
 * How a host learns of received work, and what that costs its cores: the kernel-stack profile
 * (an interrupt, deferred processing, a sleeping thread woken) or the polling profile (busy-poll /
 * kernel-bypass: a core spins on the ring, nothing is interrupted, nobody sleeps).
 *
 * Kernel profile, per interrupt (src/host/interrupts.ts): the message lands, the interrupt is
 * delivered (`irqHandlerNs` − `irqEntryNs` of hardware: the MSI through the root complex to the
 * local APIC), then the IRQ core spends `irqEntryNs` entering and leaving the handler and
 * `softirqNs` in the deferred part (NAPI poll / ntb_transport's tasklet raised on interrupt exit).
 * Per received segment (the bench's stack, src/bench/stack-cpu.ts): protocol work on the IRQ core;
 * a receiving thread that was asleep costs `wakeNs` there (try_to_wake_up) and `contextSwitchNs`
 * on its own core before it copies the data out.
 * Polling profile: no interrupt is taken. A core that spins on the ring sees new work within one
 * iteration of its loop (`pollIntervalNs`); the protocol work and the copy run on the
 * application's core, which never sleeps.
 *
 * Sources (docs/model-vs-reality.md has the table):
 * - `irqEntryNs` 500 ns: estimate (x86 interrupt entry/exit with Linux's generic IRQ layer); it is
 *   part of `irqHandlerNs` (700 ns), which is fitted to Marlin's 1.2 µs cross-host MSI.
 * - `softirqNs` 300 ns: estimate (raising and running NET_RX / a tasklet on interrupt exit).
 * - `contextSwitchNs` 1,070 ns: a thread-to-thread switch measured through a pipe round trip on
 *   Linux 6.6 (ddumbying.vercel.app, "Context switch overhead": 2,140 ns per round trip, 2 switches).
 * - `wakeNs` 500 ns: estimate (try_to_wake_up and the IPI to the sleeping thread's core).
 * - `pollIntervalNs` 100 ns: estimate (one pass of a poll loop reading one slot header from local
 *   memory that a remote write just invalidated: an L3/DRAM miss).
 * - `localReadNs` 82 ns: one load that misses the caches and reads local DRAM, as a driver's look at
 *   a ring index or slot header it last touched a ring's length ago does. Intel Memory Latency
 *   Checker v3.5 on a Xeon Silver 4110 with DDR4-2666, lightest load (injection delay 20,000):
 *   81.96 ns (Intel community forum, "Intel Memory Latency Checker v3.5 test", message 1126268).
 */
import type { Ns } from '../time/units.js';

export const PROFILE_KINDS = ['kernel', 'polling'] as const;
export type ProfileKind = (typeof PROFILE_KINDS)[number];

export interface HostProfile {
  kind: ProfileKind;
  /** Kernel: CPU time of interrupt entry and exit on the IRQ core (part of `irqHandlerNs`). */
  irqEntryNs: Ns;
  /** Kernel: the deferred part (softirq / NAPI / tasklet) before the driver's poll runs. */
  softirqNs: Ns;
  /** Kernel: waking a sleeping receiver thread, on the core that wakes it. */
  wakeNs: Ns;
  /** Kernel: switching to the woken thread, on its core. */
  contextSwitchNs: Ns;
  /** Polling: one iteration of the spinning core's loop (the most it takes to see new work). */
  pollIntervalNs: Ns;
  /** A load from local DRAM that misses the caches (a look at a ring nobody wrote since). */
  localReadNs: Ns;
}

/** Intel MLC v3.5, idle local DRAM latency (see above). */
export const LOCAL_DRAM_READ_NS: Ns = 82;

export const KERNEL_PROFILE: HostProfile = {
  kind: 'kernel',
  irqEntryNs: 500,
  softirqNs: 300,
  wakeNs: 500,
  contextSwitchNs: 1070,
  pollIntervalNs: 0,
  localReadNs: LOCAL_DRAM_READ_NS,
};

export const POLLING_PROFILE: HostProfile = {
  kind: 'polling',
  irqEntryNs: 0,
  softirqNs: 0,
  wakeNs: 0,
  contextSwitchNs: 0,
  pollIntervalNs: 100,
  localReadNs: LOCAL_DRAM_READ_NS,
};

export function profileOf(kind: ProfileKind): HostProfile {
  return kind === 'polling' ? POLLING_PROFILE : KERNEL_PROFILE;
}

/**
 * Cores per host unless the rack says otherwise: 4, the low end of the Xeon E5 family whose
 * built-in DMA engine Marlin used (seed 002), so that the application, the transmit path and the
 * interrupt core need not all share one. Which core does what: src/host/cores.ts.
 */
export const DEFAULT_CORES = 4;
