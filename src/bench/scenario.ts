/**
 * Bench scenarios: a YAML file (kept in `scenarios/`) that says which points `eop bench` measures.
 *
 * A scenario is a list of variants (a traffic kind, an alignment, a link, an interrupt mode, …)
 * times a list of message sizes, optionally multiplied by a `matrix` of axes. Each (variant,
 * message size) pair is one point, run in its own freshly booted rack in virtual time, so a point's
 * numbers depend only on the scenario and its seed.
 *
 * Validation is zod's, with problems reported like rack files (`src/topology/load.ts`): every
 * problem at once, each naming its field path (`variants[2].alignment`) and what is allowed, with a
 * "did you mean" for misspelt keys and values. A bad file is an `EopError(CONFIG_INVALID)`: the CLI
 * exits 2.
 */
import { z } from 'zod';
import { EopError, ErrorCode } from '../errors.js';
import { CPU_GENERATION_NAMES } from '../host/cpu-copy.js';
import { DEFAULT_INPUT_LIMITS, LIMIT_FLAGS, type InputLimits } from '../topology/limits.js';
import { integer, isBool, num as checkNum, oneOf } from '../topology/checks.js';
import { formatPath, shownProblems, showValue } from '../topology/problems.js';
import { parseSourceText, readSourceFile, type Locator } from '../topology/source.js';
import { allOptional, leaf, obj } from '../topology/zod-fields.js';
import { CPU_COPY_FIELDS, HRDMA_FIELDS, shapeOf } from '../topology/engine-fields.js';
import { faultFieldProblems, faultHostProblems } from '../topology/fault-checks.js';
import { faultShape } from '../topology/shapes.js';
import { LIMITS, type FaultSpec } from '../topology/types.js';
import { DEFAULT_STACK, type StackModel } from './stack-model.js';
import { PROFILE_KINDS } from '../host/profile.js';
import { DRIVER_KINDS } from '../eop/eop-nic.js';
import { BENCH_DEFAULT_MTU } from './variant-rack.js';
import { NTB_DEFAULT_WINDOW_BYTES, NTB_MAX_WINDOW_BYTES, NTB_MIN_WINDOW_BYTES, qpGeometry } from '../eop/ntb-transport-layout.js';

/** ntb-netdev window sizes: the powers of two an NTB BAR can have, within the model's bounds. */
const NTB_WINDOW_SIZES = Array.from({ length: Math.log2(NTB_MAX_WINDOW_BYTES / NTB_MIN_WINDOW_BYTES) + 1 }, (_, k) => NTB_MIN_WINDOW_BYTES * 2 ** k);

export const TRAFFIC_KINDS = ['udp', 'tcp', 'pingpong'] as const;
export type TrafficKind = (typeof TRAFFIC_KINDS)[number];
/** aligned: payload at a 64-byte line; unaligned: at 1..63 past one; copy: unaligned, then copied by the CPU into an aligned buffer. */
export const ALIGNMENTS = ['aligned', 'unaligned', 'copy'] as const;
export type Alignment = (typeof ALIGNMENTS)[number];
/** hrdma: EOP's default (CPU copy below copyThresholdBytes, HRDMA above); cpu: every frame by CPU copy. */
export const COPY_PATHS = ['hrdma', 'cpu'] as const;
export type CopyPath = (typeof COPY_PATHS)[number];
export const PATTERNS = ['pairs', 'incast'] as const;
export type Pattern = (typeof PATTERNS)[number];

/**
 * Message sizes: an application's send size, segmented into MTU-sized frames (ntb_netdev's MTU is
 * at most 65,510, so anything above is several frames). 16 MiB bounds one point's memory
 * (per-segment bookkeeping) and time; the point's message count is clamped separately.
 */
export const MIN_MESSAGE_BYTES = 1;
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

// ------------------------------------------------------------------------------------- helpers

// The leaf checks and strict mappings of rack files, so both kinds of file word problems alike.
const enumOf = <T extends string>(values: readonly T[]) => leaf<T>(oneOf(values));
const oneOfNums = <T extends number>(values: readonly T[]) => leaf<T>(oneOf(values));
const int = (min: number, max: number) => leaf<number>(integer(min, max));
const bool = leaf<boolean>(isBool);
const strict = obj;

function num(min: number, max = Infinity, exclusiveMin = false) {
  const upper = max === Infinity ? {} : { le: max };
  return leaf<number>(checkNum(exclusiveMin ? { gt: min, ...upper } : { ge: min, ...upper }));
}

// ------------------------------------------------------------------------------------- schema

const linkShape = {
  gen: oneOfNums([1, 2, 3, 4, 5] as const).optional(),
  width: oneOfNums([1, 2, 4, 8, 16] as const).optional(),
  mpsBytes: oneOfNums([128, 256, 512] as const).optional(),
  ecrc: bool.optional(),
  latencyNs: num(0).optional(),
};

/** Model parameters a scenario or a variant may override (names as in the model's configs). */
const rackShape = {
  mtu: int(68, 65510).optional(),
  link: strict(linkShape, 'a mapping of link settings').optional(),
  switch: strict({ hopLatencyNs: num(0).optional(), ntbTranslateNs: num(0).optional() }, 'a mapping of switch settings').optional(),
  // The same fields, checks and wording as a rack file's `dma` / `cpu` (one definition).
  dma: strict(allOptional(shapeOf(HRDMA_FIELDS)), 'a mapping of HRDMA settings').optional(),
  // `generation` is a preset (a core generation's fill buffers, under explicit values): scenarios only.
  cpu: strict({ ...allOptional(shapeOf(CPU_COPY_FIELDS)), generation: enumOf(CPU_GENERATION_NAMES).optional() }, 'a mapping of CPU copy settings').optional(),
  eop: strict(
    {
      ringSlots: oneOfNums([4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096] as const).optional(),
      batchFrames: int(1, 256).optional(),
      txQueueFrames: int(1, 65536).optional(),
      copyThresholdBytes: int(0, 1 << 30).optional(),
      rxBudget: int(1, 4096).optional(),
      rxFrameNs: num(0).optional(),
      doorbellExtraNs: num(0).optional(),
      driver: enumOf(DRIVER_KINDS).optional(),
      ntbWindowBytes: oneOfNums(NTB_WINDOW_SIZES).optional(),
      ntbUseDma: bool.optional(),
      ntbHz: int(1, 10_000).optional(),
    },
    'a mapping of EOP driver settings',
  ).optional(),
  irqHandlerNs: num(0).optional(),
  /** Interrupt moderation per vector (src/host/interrupts.ts). */
  irqModerationNs: num(0).optional(),
  /** Cores per host and how hosts take received work (src/host/profile.ts). */
  cores: int(1, 1024).optional(),
  profile: enumOf(PROFILE_KINDS).optional(),
};

const stackShape = {
  sendCallNs: num(0).optional(),
  rxSegmentNs: num(0).optional(),
  ackRxNs: num(0).optional(),
  userCopyGbps: num(0, Infinity, true).optional(),
  alignCopyGbps: num(0, Infinity, true).optional(),
  alignCopySetupNs: num(0).optional(),
  jitterNs: num(0).optional(),
  windowBytes: int(1024, 1 << 30).optional(),
  ackEverySegments: int(1, 64).optional(),
  rcvbufBytes: int(1024, 1 << 30).optional(),
  sndbufBytes: int(1024, 1 << 30).optional(),
  thinkNs: num(0).optional(),
};

const variantFields = {
  traffic: enumOf(TRAFFIC_KINDS).optional(),
  alignment: enumOf(ALIGNMENTS).optional(),
  copyPath: enumOf(COPY_PATHS).optional(),
  irqMode: enumOf(['msi', 'doorbell'] as const).optional(),
  gen: oneOfNums([1, 2, 3, 4, 5] as const).optional(),
  width: oneOfNums([1, 2, 4, 8, 16] as const).optional(),
  mpsBytes: oneOfNums([128, 256, 512] as const).optional(),
  flows: int(1, 64).optional(),
  hosts: int(2, 64).optional(),
  pattern: enumOf(PATTERNS).optional(),
};

/** A `faults:` list, entries as in rack files (host names h1…hn of the bench rack, and "mh"). */
const faultsSchema = z
  .array(strict(faultShape, 'a mapping with "atUs", "kind" and "host"'), { error: () => `must be a list of faults (at most ${LIMITS.maxFaults})` })
  .max(LIMITS.maxFaults, { error: () => `must be a list of faults (at most ${LIMITS.maxFaults})` });

const variantSchema = strict(
  {
    name: z.custom<string>((v) => typeof v === 'string' && v.length > 0 && v.length <= 60, {
      error: () => 'must be a non-empty string of at most 60 characters',
    }),
    ...variantFields,
    rack: strict(rackShape, 'a mapping of model parameters').optional(),
    stack: strict(stackShape, 'a mapping of host-stack costs').optional(),
    /** Faults of this variant's points, after the scenario's own. */
    faults: faultsSchema.optional(),
    /** Why this variant differs from the defaults (shown in the docs, not used). */
    note: z.string().optional(),
  },
  'a mapping with at least "name"',
);

const matrixShape = Object.fromEntries(
  Object.entries(variantFields).map(([k, s]) => [k, z.array((s as z.ZodOptional<z.ZodType>).unwrap(), { error: () => 'must be a list of values' }).min(1, { error: () => 'must be a non-empty list' }).optional()]),
) as { [K in keyof typeof variantFields]: z.ZodOptional<z.ZodArray<(typeof variantFields)[K] extends z.ZodOptional<infer T> ? T : never>> };

export const ScenarioSchema = strict(
  {
    name: z.custom<string>((v) => typeof v === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(v), {
      error: () => 'must be 1 to 64 letters, digits, ".", "_" or "-"',
    }),
    description: z.string().optional(),
    seed: int(0, 0xffff_ffff).default(1),
    messageBytes: z
      .array(int(MIN_MESSAGE_BYTES, MAX_MESSAGE_BYTES), { error: () => `must be a list of message sizes (${MIN_MESSAGE_BYTES} to ${MAX_MESSAGE_BYTES} bytes)` })
      .min(1, { error: () => 'must list at least one message size' }),
    measure: strict(
      {
        /** Application bytes to move per point (message count = bytes / size, clamped). */
        bytes: int(1024, 1 << 30).optional(),
        minMessages: int(4, 1_000_000).optional(),
        maxMessages: int(4, 1_000_000).optional(),
        /** Share of the messages run before measuring starts (slow start, ring fill). */
        warmupFraction: num(0, 0.9).optional(),
        /** Round trips per ping-pong point. */
        pingRounds: int(2, 100_000).optional(),
      },
      'a mapping of measurement settings',
    ).optional(),
    rack: strict(rackShape, 'a mapping of model parameters').optional(),
    stack: strict(stackShape, 'a mapping of host-stack costs').optional(),
    defaults: strict(variantFields, 'a mapping of variant fields').optional(),
    /** Faults in every point, `atUs` after its traffic starts (as a rack file's after boot). */
    faults: faultsSchema.optional(),
    variants: z.array(variantSchema, { error: () => 'must be a list of variants' }).min(1, { error: () => 'must list at least one variant' }),
    matrix: strict(matrixShape, 'a mapping from variant fields to lists of values').optional(),
  },
  'a mapping with at least "name", "messageBytes" and "variants"',
);

export type ScenarioFile = z.output<typeof ScenarioSchema>;
export type RackOverrides = NonNullable<ScenarioFile['rack']>;
export type StackOverrides = NonNullable<ScenarioFile['stack']>;

// ------------------------------------------------------------------------------------- resolved

export interface MeasureSettings {
  bytes: number;
  minMessages: number;
  maxMessages: number;
  warmupFraction: number;
  pingRounds: number;
}

/** Measurement defaults: 32 MiB a point (512 messages of 64 KiB) keeps the default sweep to seconds. */
export const DEFAULT_MEASURE: MeasureSettings = { bytes: 32 * 1024 * 1024, minMessages: 64, maxMessages: 20000, warmupFraction: 0.2, pingRounds: 200 };

export interface Variant {
  name: string;
  traffic: TrafficKind;
  alignment: Alignment;
  copyPath: CopyPath;
  irqMode: 'msi' | 'doorbell';
  gen: 1 | 2 | 3 | 4 | 5;
  width: 1 | 2 | 4 | 8 | 16;
  mpsBytes: 128 | 256 | 512;
  flows: number;
  hosts: number;
  pattern: Pattern;
  /** Scenario-wide overrides merged with the variant's (variant wins). */
  rack: RackOverrides;
  stack: StackModel;
  /** The scenario's faults, then the variant's (origins `faults[i]`, `variants[j].faults[i]`). */
  faults: FaultSpec[];
}

export interface Scenario {
  name: string;
  description: string;
  source: string;
  seed: number;
  messageBytes: number[];
  measure: MeasureSettings;
  variants: Variant[];
}

export const VARIANT_DEFAULTS = {
  traffic: 'tcp',
  alignment: 'aligned',
  copyPath: 'hrdma',
  irqMode: 'msi',
  gen: 3,
  width: 8,
  mpsBytes: 256,
  flows: 1,
  hosts: 2,
  pattern: 'pairs',
} as const satisfies Omit<Variant, 'name' | 'rack' | 'stack' | 'faults'>;

function mergeRack(a: RackOverrides | undefined, b: RackOverrides | undefined): RackOverrides {
  const out: RackOverrides = { ...(a ?? {}), ...(b ?? {}) };
  for (const k of ['link', 'switch', 'dma', 'cpu', 'eop'] as const) {
    if (a?.[k] || b?.[k]) (out as Record<string, unknown>)[k] = { ...(a?.[k] ?? {}), ...(b?.[k] ?? {}) };
  }
  return out;
}

const MATRIX_LABEL: Record<string, (v: unknown) => string> = {
  gen: (v) => `Gen${v}`,
  width: (v) => `x${v}`,
  mpsBytes: (v) => `MPS ${v}`,
  flows: (v) => `${v} flow${v === 1 ? '' : 's'}`,
  hosts: (v) => `${v} hosts`,
};

function expand(file: ScenarioFile, source: string): Scenario {
  const axes = Object.entries(file.matrix ?? {}).filter(([, vs]) => vs !== undefined) as [string, unknown[]][];
  let combos: Record<string, unknown>[] = [{}];
  for (const [k, vs] of axes) combos = combos.flatMap((c) => vs.map((v) => ({ ...c, [k]: v })));
  const variants: Variant[] = [];
  const specs = (list: ScenarioFile['faults'], at: string): FaultSpec[] =>
    (list ?? []).map((f, i) => ({ origin: `${at}[${i}]`, atUs: f.atUs, kind: f.kind, host: f.host, count: f.count, pollUs: f.pollUs, path: f.path }));
  for (const [vi, v] of file.variants.entries()) {
    for (const c of combos) {
      const suffix = axes
        .filter(([, vs]) => vs.length > 1)
        .map(([k]) => (MATRIX_LABEL[k] ?? String)(c[k]))
        .join(' ');
      const { name, rack, stack, note: _note, faults, ...fields } = v;
      const merged = mergeRack(file.rack, rack);
      // A link given under `rack.link` counts, below anything the variant, defaults or matrix say.
      const rl = merged.link ?? {};
      variants.push({
        ...VARIANT_DEFAULTS,
        ...stripUndef({ gen: rl.gen, width: rl.width, mpsBytes: rl.mpsBytes }),
        ...(file.defaults ?? {}),
        ...stripUndef(fields),
        ...c,
        name: suffix ? `${name} · ${suffix}` : name,
        rack: merged,
        stack: { ...DEFAULT_STACK, ...stripUndef(file.stack ?? {}), ...stripUndef(stack ?? {}) },
        faults: [...specs(file.faults, 'faults'), ...specs(faults, `variants[${vi}].faults`)],
      } as Variant);
    }
  }
  const wrong = new Set<string>();
  for (const v of variants) {
    // The bench rack: h1…hn and the management host "mh" (variant-rack.ts).
    const targets = { compute: Array.from({ length: v.hosts }, (_, i) => `h${i + 1}`), management: ['mh'], twoPaths: [] };
    for (const f of v.faults) {
      for (const [field, msg] of faultHostProblems({ kind: f.kind, host: f.host }, targets)) wrong.add(`${f.origin}.${field}: ${msg} in variant "${v.name}" (hosts: ${v.hosts})`);
    }
    const eop = v.rack.eop;
    if (eop?.driver === 'ntb-netdev') {
      if (v.hosts !== 2) wrong.add(`variant "${v.name}": eop.driver ntb-netdev joins exactly two hosts (Linux ntb_transport supports two-port NTBs only); it has hosts: ${v.hosts}`);
      const w = eop.ntbWindowBytes ?? NTB_DEFAULT_WINDOW_BYTES;
      const mtu = v.rack.mtu ?? BENCH_DEFAULT_MTU;
      if (mtu > qpGeometry(w).maxMtu) wrong.add(`variant "${v.name}": MTU ${mtu} is above ntb_netdev's ${qpGeometry(w).maxMtu} for a ${w}-byte eop.ntbWindowBytes`);
    }
  }
  if (wrong.size > 0) throw invalid(source, [...wrong]);
  const names = new Set<string>();
  for (const v of variants) {
    if (names.has(v.name)) throw invalid(source, [`variants: two variants are both called "${v.name}"; names must differ`]);
    names.add(v.name);
  }
  return {
    name: file.name,
    description: file.description ?? '',
    source,
    seed: file.seed,
    messageBytes: file.messageBytes,
    measure: { ...DEFAULT_MEASURE, ...stripUndef(file.measure ?? {}) },
    variants,
  };
}

function stripUndef<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function invalid(source: string, lines: string[]): EopError {
  // `source:line:col: path: what` when the position is known (as for rack files), else `source: path: what`.
  return new EopError(ErrorCode.CONFIG_INVALID, shownProblems(lines.map((l) => (/^\d+:\d+: /.test(l) ? `${source}:${l}` : `${source}: ${l}`))).join('\n'));
}

/** Value at `path` in the raw input, for "(got …)". */
function valueAt(input: unknown, path: readonly PropertyKey[]): { present: boolean; value: unknown } {
  let cur: unknown = input;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object' || !Object.prototype.hasOwnProperty.call(cur, seg)) return { present: false, value: undefined };
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return { present: true, value: cur };
}

/** Validate an already parsed scenario (from YAML or JSON). Throws EopError(CONFIG_INVALID). */
export function parseScenario(input: unknown, source: string, locate?: Locator, limits: InputLimits = DEFAULT_INPUT_LIMITS): Scenario {
  const r = ScenarioSchema.safeParse(input);
  if (!r.success) {
    const seen = new Set<string>();
    const lines: string[] = [];
    for (const iss of r.error.issues) {
      const path = iss.path.filter((p): p is string | number => typeof p !== 'symbol');
      const at = valueAt(input, path);
      let msg = iss.message;
      if (iss.code !== 'unrecognized_keys') msg = at.present ? `${msg} (got ${showValue(at.value)})` : `required; ${msg}`;
      const pos = locate?.(path, iss.code === 'unrecognized_keys');
      const line = `${pos ? `${pos.line}:${pos.col}: ` : ''}${formatPath(path)}: ${msg}`;
      if (!seen.has(line)) lines.push(line);
      seen.add(line);
    }
    throw invalid(source, lines);
  }
  const file = r.data;
  // Fields a fault's kind does not take, judged on the entries as written (before defaults).
  const raw = input as { faults?: unknown[]; variants?: { faults?: unknown[] }[] };
  const lists: [string, unknown[] | undefined][] = [['faults', raw.faults], ...(raw.variants ?? []).map((v, j): [string, unknown[] | undefined] => [`variants[${j}].faults`, v?.faults])];
  const extra = lists.flatMap(([at, list]) =>
    (list ?? []).flatMap((f, i) => faultFieldProblems(f as Record<string, unknown>).map(([field, msg]) => `${at}[${i}].${field}: ${msg}`)),
  );
  if (extra.length > 0) throw invalid(source, extra);
  const m = file.measure;
  if (m?.minMessages !== undefined && m.maxMessages !== undefined && m.minMessages > m.maxMessages) {
    throw invalid(source, [`measure.maxMessages: must be at least measure.minMessages (${m.minMessages}) (got ${m.maxMessages})`]);
  }
  checkPoints(file, source, locate, limits.maxMatrixPoints);
  return expand(file, source);
}

/** Refuses a scenario whose expansion exceeds `maxPoints`, before expanding anything. */
function checkPoints(file: ScenarioFile, source: string, locate: Locator | undefined, maxPoints: number): void {
  const axes = (Object.values(file.matrix ?? {}) as (readonly unknown[] | undefined)[]).filter((vs) => vs !== undefined);
  const factors = [file.variants.length, ...axes.map((vs) => vs!.length), file.messageBytes.length];
  const points = factors.reduce((a, b) => a * b, 1);
  if (points <= maxPoints) return;
  const at = file.matrix !== undefined ? 'matrix' : 'variants';
  const pos = locate?.([at], true);
  throw new EopError(
    ErrorCode.LIMIT_EXCEEDED,
    `${source}:${pos ? `${pos.line}:${pos.col}:` : ''} ${at}: this scenario expands to ${points.toLocaleString('en-US')} points ` +
      `(variants × matrix values × messageBytes = ${factors.join(' × ')}), above the limit of ${maxPoints} (maxMatrixPoints); ` +
      `split the scenario or raise the limit with ${LIMIT_FLAGS.maxMatrixPoints} <n>`,
  );
}

/** Parse scenario text: a `.json` source as strict JSON (as rack files), anything else as YAML. */
export function parseScenarioText(text: string, source: string, limits: InputLimits = DEFAULT_INPUT_LIMITS): Scenario {
  const format = source.toLowerCase().endsWith('.json') ? 'json' : 'yaml';
  const parsed = parseSourceText(text, source, format, { what: 'a scenario' });
  if (!parsed.ok) throw new EopError(ErrorCode.CONFIG_INVALID, shownProblems(parsed.problems).join('\n'));
  return parseScenario(parsed.value, source, parsed.locate, limits);
}

export function loadScenario(path: string, limits: InputLimits = DEFAULT_INPUT_LIMITS): Scenario {
  return parseScenarioText(readSourceFile(path, 'scenario file', limits.maxInputBytes), path, limits);
}
