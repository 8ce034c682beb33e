/**
 * The settings of a host's two copy engines, defined once for every file that sets them: the HRDMA
 * engine (`dma`) and the CPU's copies and stores through a write-combining window (`cpu`). Rack
 * files take them rack-wide and per host (`hosts[i].dma`, `hosts[i].cpu`), bench scenarios per
 * variant; both get the same names (the model's: `HrdmaConfig`, `CpuConfig`), the same checks and
 * the same wording of problems, and the rack file's documentation line comes from here.
 *
 * To add a setting: add its field here (check + one line of documentation) and its default to the
 * model's `DEFAULT_HRDMA` / `DEFAULT_CPU`. Rack files, their per-host overrides, scenarios, the
 * printed default rack and the model then all have it; `satisfies` below keeps names and types
 * those of the model.
 */
import type { z } from 'zod';
import type { CpuConfig } from '../host/cpu-copy.js';
import type { HrdmaConfig } from '../host/hrdma.js';
import { integer, num, oneOf, powerOf2, type Check } from './checks.js';
import { leaf } from './zod-fields.js';

export interface Field<T> {
  schema: z.ZodCustom<T, T>;
  /** One line for `eop run --print-default` (src/topology/field-docs.ts). */
  doc: string;
}

function field<T>(check: Check, doc: string): Field<T> {
  return { schema: leaf<T>(check), doc };
}

type FieldsOf<C> = { [K in keyof C]?: Field<C[K]> };

/** HRDMA engine settings (src/host/hrdma.ts says where each default comes from). */
export const HRDMA_FIELDS = {
  setupNs: field<number>(num({ ge: 0 }), 'per-descriptor setup of the HRDMA engine'),
  immSetupNs: field<number>(num({ ge: 0 }), 'setup of an immediate-write descriptor (slot header, MSI: no source to fetch)'),
  peakGbps: field<number>(num({ gt: 0 }), 'HRDMA copy rate on aligned transfers'),
  unalignedRateFactor: field<number>(num({ gt: 0, le: 1 }), 'rate multiplier (0 < x <= 1) for payloads not aligned to alignmentBytes'),
  alignmentBytes: field<number>(powerOf2(1, 4096), 'alignment for full-rate DMA (power of 2, 1..4096)'),
  ringSlots: field<number>(powerOf2(16, 65536), 'HRDMA descriptor ring slots (power of 2, 16..65536)'),
  chunkBytes: field<number>(integer(64, 1 << 24), 'bytes a transfer moves before others sharing the link get their turn (64..16777216)'),
  engineAt: field<HrdmaConfig['engineAt']>(oneOf(['host', 'switch']), 'host (descriptors fetched from local memory) | switch (fetched across the link)'),
  memReadNs: field<number>(num({ ge: 0 }), "host memory's read latency (the completer's time of a descriptor fetch)"),
  prefetchDescs: field<number>(integer(1, 64), 'descriptors the engine fetches ahead of the one it works on (1..64)'),
  channels: field<number>(integer(1, 16), 'channels, each its own ring and peakGbps (1..16); the EOP driver uses the first'),
  readMrrsBytes: field<number>(oneOf([128, 256, 512, 1024, 2048, 4096]), 'an engine in the switch: its read request size (128..4096)'),
  readTags: field<number>(integer(1, 1024), 'an engine in the switch: reads it may have outstanding, shared by its channels (1..1024)'),
  completionBytes: field<number>(integer(4, 256), 'the completion element the engine writes back per descriptor (4..256 bytes)'),
} satisfies FieldsOf<HrdmaConfig>;

/** CPU copy and write-combining settings (src/host/cpu-copy.ts says where each default comes from). */
export const CPU_COPY_FIELDS = {
  copyGbps: field<number>(num({ gt: 0 }), "one core's copy rate into cacheable memory (a window copy is also bounded by wcBuffers)"),
  copySetupNs: field<number>(num({ ge: 0 }), 'per-copy setup'),
  storeNs: field<number>(num({ ge: 0 }), 'one uncached store of up to 16 bytes (a slot header, an index, an MSI)'),
  wcBuffers: field<number>(integer(1, 64), 'write-combining buffers per core (1..64): window copies carry at most wcBuffers × 64 B per wcDrainNs'),
  wcDrainNs: field<number>(num({ gt: 0 }), "a full WC buffer's time from eviction until the root complex accepted its posted write"),
} satisfies FieldsOf<CpuConfig>;

type Shape<F extends Record<string, Field<unknown>>> = { [K in keyof F]: F[K]['schema'] };

/** The zod fields of a table (required; wrap them as a file needs: defaults, optional). */
export function shapeOf<F extends Record<string, Field<unknown>>>(fields: F): Shape<F> {
  const out: Record<string, z.ZodType> = {};
  for (const [k, f] of Object.entries(fields)) out[k] = f.schema;
  return out as Shape<F>;
}

/** Documentation lines keyed like `FIELD_DOCS` (`dma.setupNs`). */
export function docsOf(section: string, fields: Record<string, Field<unknown>>): Record<string, string> {
  return Object.fromEntries(Object.entries(fields).map(([k, f]) => [`${section}.${k}`, f.doc]));
}

/** Settings of a table, resolved (every field has a value). */
export type Settings<F extends Record<string, Field<unknown>>> = { [K in keyof F]: z.output<F[K]['schema']> };
export type HrdmaSettings = Settings<typeof HRDMA_FIELDS>;
export type CpuCopySettings = Settings<typeof CPU_COPY_FIELDS>;

/** Only the table's fields of `from` (a rack file's `dma` also holds copyThresholdBytes, its `cpu` cores and profile). */
export function pickFields<F extends Record<string, Field<unknown>>>(fields: F, from: Settings<F>): Settings<F> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(fields)) out[k] = (from as Record<string, unknown>)[k];
  return out as Settings<F>;
}
