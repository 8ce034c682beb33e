/**
 * The rack a bench point runs in: hosts h1…hn (plus the management host) with the variant's link,
 * interrupt mode and copy path, every other setting from the model's own defaults.
 */
import { DEFAULT_EOP } from '../eop/eop-nic.js';
import { cpuConfig, type CpuConfig, type CpuGeneration } from '../host/cpu-copy.js';
import { DEFAULT_HRDMA } from '../host/hrdma.js';
import { DEFAULT_SWITCH } from '../pcie/fabric.js';
import { DEFAULT_LINK, type LinkConfig } from '../pcie/link.js';
import { DEFAULT_IRQ_HANDLER_NS, rackSpec, type HostSpec, type RackSpec } from '../topology/rack.js';
import type { Variant } from './scenario.js';

/** The bench's default MTU: ntb_netdev's largest (a 64 KiB message is 2 frames). */
export const BENCH_DEFAULT_MTU = 65510;

export function macOf(i: number): number {
  return 0x02e0_0000_0000 + i + 1;
}

/** The model's rack description for a variant (defaults from the model's own modules). */
export function rackSpecFor(v: Variant, seed: number): RackSpec {
  const r = v.rack;
  const link: LinkConfig = { ...DEFAULT_LINK, ...(r.link ?? {}), gen: v.gen, width: v.width, mpsBytes: v.mpsBytes } as LinkConfig;
  const hosts: HostSpec[] = [{ name: 'mh', mac: 0, management: true }];
  for (let i = 0; i < v.hosts; i++) hosts.push({ name: `h${i + 1}`, mac: macOf(i) });
  const eop = { ...DEFAULT_EOP, mtu: BENCH_DEFAULT_MTU, ...(r.mtu !== undefined ? { mtu: r.mtu } : {}), ...(r.eop ?? {}), irqMode: v.irqMode };
  if (v.copyPath === 'cpu') eop.copyThresholdBytes = Number.MAX_SAFE_INTEGER;
  return rackSpec(hosts, {
    seed,
    link,
    switch: { ...DEFAULT_SWITCH, ...(r.switch ?? {}) },
    dma: { ...DEFAULT_HRDMA, ...(r.dma ?? {}) },
    cpu: cpuOf(r.cpu),
    eop,
    irqHandlerNs: r.irqHandlerNs ?? DEFAULT_IRQ_HANDLER_NS,
    ...(r.irqModerationNs !== undefined ? { irqModerationNs: r.irqModerationNs } : {}),
    ...(r.cores !== undefined ? { cores: r.cores } : {}),
    ...(r.profile !== undefined ? { profile: r.profile } : {}),
  });
}

/** A CPU generation's fill buffers first, then the scenario's explicit values. */
export function cpuOf(over: (Partial<CpuConfig> & { generation?: CpuGeneration }) | undefined): CpuConfig {
  const { generation, ...rest } = over ?? {};
  return cpuConfig(generation, rest);
}

export function linkLabel(v: Variant): string {
  return `Gen${v.gen} x${v.width} MPS ${v.mpsBytes}`;
}
