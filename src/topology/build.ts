/**
 * From a validated topology file to the model's rack description. The file's vocabulary (rack-wide
 * defaults with per-host overrides, interrupt sections) maps onto the model's parameters here and
 * only here.
 */
import { DEFAULT_EOP } from '../eop/eop-nic.js';
import { DEFAULT_CPU } from '../host/cpu-copy.js';
import { DEFAULT_HRDMA } from '../host/hrdma.js';
import { DEFAULT_RAM_BYTES } from '../host/host.js';
import { DEFAULT_PAGE_BYTES } from '../mem/sparse-memory.js';
import { DEFAULT_LINK, type LinkConfig as ModelLink } from '../pcie/link.js';
import { NS_PER_US } from '../time/units.js';
import { CPU_COPY_FIELDS, HRDMA_FIELDS, pickFields } from './engine-fields.js';
import type { HostSpec, RackSpec } from './rack.js';
import type { LinkConfig, Topology } from './schema.js';

function link(l: LinkConfig): ModelLink {
  return { ...DEFAULT_LINK, gen: l.gen, width: l.width, mpsBytes: l.mpsBytes, ecrc: l.ecrc, latencyNs: l.latencyNs };
}

export function rackSpecFromTopology(t: Topology): RackSpec {
  const hosts: HostSpec[] = [];
  const tor = (name: string | null): { tor?: string } => (name === null ? {} : { tor: name });
  if (t.management) hosts.push({ name: t.management.name, mac: 0, management: true, link: link(t.management.link), ...tor(t.management.tor) });
  // The backup goes after the compute hosts: their indices (and so the address map) do not change.
  const backup = t.backupManagement;
  for (const h of t.hosts) {
    hosts.push({
      name: h.name,
      ifName: h.ifName,
      mac: h.mac.addr,
      link: link(h.link),
      eop: { mtu: h.mtu },
      cores: h.cores,
      profile: h.profile,
      dma: h.dma,
      cpu: h.cpu,
      ipv4: h.ipv4.addr,
      ...tor(h.tor),
      ...(h.backupPath ? { backupPath: { link: link(h.backupPath.link), ...tor(h.backupPath.tor) } } : {}),
    });
  }
  if (backup) hosts.push({ name: backup.name, mac: 0, management: true, link: link(backup.link), ...tor(backup.tor) });
  return {
    seed: t.seed,
    switch: { ...t.switch },
    ...(t.tors.length > 1 ? { tors: t.tors.map((x) => ({ name: x.name, spineLink: link(x.spineLink) })) } : {}),
    link: link(t.link),
    // Every field of the file's tables (engine-fields.ts) by the model's own name; the rest the model's defaults.
    dma: { ...DEFAULT_HRDMA, ...pickFields(HRDMA_FIELDS, t.dma) },
    cpu: { ...DEFAULT_CPU, ...pickFields(CPU_COPY_FIELDS, t.cpu) },
    eop: {
      ...DEFAULT_EOP,
      mtu: t.mtu,
      ringSlots: t.eop.ringSlots,
      batchFrames: t.eop.batchFrames,
      txQueueFrames: t.eop.txQueueFrames,
      version: t.eop.version,
      arpResponder: t.eop.arpResponder,
      driver: t.eop.driver,
      ntbWindowBytes: t.eop.ntbWindowBytes,
      ntbUseDma: t.eop.ntbUseDma,
      ntbHz: t.eop.ntbHz,
      irqMode: t.interrupts.mode,
      copyThresholdBytes: t.dma.copyThresholdBytes,
      doorbellExtraNs: t.interrupts.doorbellExtraNs,
    },
    cores: t.cpu.cores,
    profile: t.cpu.profile,
    // Moderation: at most one interrupt per vector per interval, so more messages share one run.
    irqModerationNs: t.interrupts.coalesceNs,
    irqHandlerNs: t.interrupts.msiHandlerNs,
    irqJitterNs: t.interrupts.jitterNs,
    failover: {
      linkDownDetectNs: t.failover.linkDownDetectUs * NS_PER_US,
      aerHandlerNs: t.failover.aerHandlerUs * NS_PER_US,
      remapNs: t.failover.remapUs * NS_PER_US,
    },
    ramBytes: DEFAULT_RAM_BYTES,
    pageBytes: DEFAULT_PAGE_BYTES,
    managementFailover: {
      heartbeatNs: t.managementFailover.heartbeatUs * NS_PER_US,
      missedHeartbeats: t.managementFailover.missedHeartbeats,
      takeoverBaseNs: t.managementFailover.takeoverBaseUs * NS_PER_US,
      portTakeoverNs: t.managementFailover.portTakeoverUs * NS_PER_US,
    },
    hosts,
  };
}
