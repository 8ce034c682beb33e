/**
 * The rack file's zod schema: leaf fields wrap the checks of `checks.ts`, every mapping reports its
 * unknown keys one by one (with a "did you mean"), and defaults are filled from `DEFAULTS`. What
 * zod cannot express (names that must exist, addresses that must differ) is `validate.ts`'s job.
 */
import { z } from 'zod';
import { checkIpv4, checkIpv6, checkMac } from './addresses.js';
import {
  checkHostName,
  checkHostRef,
  checkPingTo,
  integer,
  isBool,
  isRecord,
  nonEmptyString,
  num,
  oneOf,
  powerOf2,
} from './checks.js';
import { quoteList } from './problems.js';
import {
  DEFAULTS,
  FAULT_KINDS,
  LIMITS,
  type AttachMode,
  type FaultKind,
  type CaptureFormat,
  type HostRole,
  type InterruptMode,
  type MpsBytes,
  type NtbPathName,
  type PcieGen,
  type PcieWidth,
} from './types.js';
import { allOptional, keyCheck, leaf, obj } from './zod-fields.js';
import { CPU_COPY_FIELDS, HRDMA_FIELDS, shapeOf } from './engine-fields.js';
import { PROFILE_KINDS, type ProfileKind } from '../host/profile.js';
import { DRIVER_KINDS, type DriverKind } from '../eop/eop-nic.js';
import { NTB_MAX_WINDOW_BYTES, NTB_MIN_WINDOW_BYTES } from '../eop/ntb-transport-layout.js';

type Defaulted<S extends Record<string, z.ZodType>> = { [K in keyof S]: z.ZodDefault<S[K]> };

function withDefaults<S extends Record<string, z.ZodType>>(shape: S, defaults: { [K in keyof S]: z.output<S[K]> }): Defaulted<S> {
  const out: Record<string, z.ZodType> = {};
  for (const k of Object.keys(shape)) out[k] = shape[k]!.default(defaults[k] as never);
  return out as Defaulted<S>;
}

const nullToUndefined = (v: unknown): unknown => (v === null ? undefined : v);

/** An optional section of defaulted fields; absent or empty (null) means all defaults. */
function section<S extends Record<string, z.ZodType>>(shape: S, defaults: { [K in keyof S]: z.output<S[K]> }, what: string) {
  return z.preprocess(nullToUndefined, obj(withDefaults(shape, defaults), what).prefault({}));
}

// ---------------------------------------------------------------------------------------------
// The schema
// ---------------------------------------------------------------------------------------------

const linkShape = {
  gen: leaf<PcieGen>(oneOf([1, 2, 3, 4, 5])),
  width: leaf<PcieWidth>(oneOf([1, 2, 4, 8, 16])),
  mpsBytes: leaf<MpsBytes>(oneOf([128, 256, 512])),
  ecrc: leaf<boolean>(isBool),
  latencyNs: leaf<number>(num({ ge: 0 })),
};

const mtuField = leaf<number>(integer(LIMITS.minMtu, LIMITS.maxMtu));

const hostShape = {
  name: leaf<string>(checkHostName),
  mac: leaf<string>(checkMac).optional(),
  ipv4: leaf<string>(checkIpv4).optional(),
  ipv6: leaf<string>(checkIpv6).optional(),
  mtu: mtuField.optional(),
  link: z.preprocess(nullToUndefined, obj(allOptional(linkShape), 'a mapping of link settings').optional()),
  /** The top-of-rack switch this host's link ends at (a name from `tors`; default the first). */
  tor: leaf<string>(checkHostName).optional(),
  /** This host's cores and profile (default: the rack's `cpu.cores`, `cpu.profile`). */
  cores: leaf<number>(integer(1, LIMITS.maxCores)).optional(),
  profile: leaf<ProfileKind>(oneOf([...PROFILE_KINDS])).optional(),
  /** This host's HRDMA engine and CPU copies, over the rack's `dma` / `cpu` (the fields scenarios take too). */
  dma: z.preprocess(
    nullToUndefined,
    obj(allOptional(shapeOf(HRDMA_FIELDS)), 'a mapping of HRDMA settings', {
      copyThresholdBytes: 'copyThresholdBytes is rack-wide only (dma.copyThresholdBytes at the top level)',
    }).optional(),
  ),
  cpu: z.preprocess(
    nullToUndefined,
    obj(allOptional(shapeOf(CPU_COPY_FIELDS)), 'a mapping of CPU copy settings', {
      cores: 'a host\'s cores are "cores" on the host entry itself',
      profile: 'a host\'s profile is "profile" on the host entry itself',
    }).optional(),
  ),
  /** A second NTB path: `true`, or a mapping naming its ToR and link overrides. */
  backupPath: z.preprocess(
    (v) => (v === true ? {} : v === null ? undefined : v),
    obj(
      {
        tor: leaf<string>(checkHostName).optional(),
        link: z.preprocess(nullToUndefined, obj(allOptional(linkShape), 'a mapping of link settings').optional()),
      },
      'true, or a mapping with "tor" and "link"',
    ).optional(),
  ),
  attach: leaf<AttachMode>(oneOf(['builtin', 'tap', 'websocket', 'uplink'])).default(DEFAULTS.host.attach),
  role: leaf<HostRole>(oneOf(['compute', 'management'])).default(DEFAULTS.host.role),
};

/**
 * "uplink" names one thing in a rack file: an Ethernet port to another rack (a host with
 * `attach: uplink`, served by eop serve). The PCIe link from a top-of-rack switch to the spine is
 * `tors[].spineLink` (it was `tors[].uplink`; the old name gets this hint, not a guess).
 */
const RACK_UPLINK_HINT = 'an Ethernet uplink to another rack is a host with "attach: uplink" (eop serve; eop attach --uplink joins two racks)';
const UPLINK_HINTS = { uplink: RACK_UPLINK_HINT } as const;

const hostSchema = z.preprocess(
  (v) => (typeof v === 'string' ? { name: v } : v),
  obj(hostShape, 'a host name or a mapping with at least "name"', UPLINK_HINTS),
);

const PING_COUNT_WHY = ' (ICMP echo sequence numbers are 16 bits)';

const pingShape = {
  kind: z.literal('ping'),
  from: leaf<string>(checkHostRef),
  to: leaf<string>(checkPingTo),
  count: leaf<number>(integer(1, LIMITS.maxPingCount, PING_COUNT_WHY)).default(DEFAULTS.ping.count),
  intervalUs: leaf<number>(num({ gt: 0 })).default(DEFAULTS.ping.intervalUs),
  payloadBytes: leaf<number>(integer(0, LIMITS.maxMtu - 28)).default(DEFAULTS.ping.payloadBytes),
  ipv6: leaf<boolean>(isBool).default(DEFAULTS.ping.ipv6),
};

const udpShape = {
  kind: z.literal('udp'),
  from: leaf<string>(checkHostRef),
  to: leaf<string>(checkHostRef),
  dstPort: leaf<number>(integer(1, 65535)).default(DEFAULTS.udp.dstPort),
  messageBytes: leaf<number>(integer(1, LIMITS.maxMtu - 28)).default(DEFAULTS.udp.messageBytes),
  rateGbps: leaf<number>(num({ gt: 0 })).optional(),
  count: leaf<number>(integer(1)).optional(),
  durationUs: leaf<number>(num({ gt: 0 })).optional(),
  alignOffsetBytes: leaf<number>(integer(0, 63)).default(DEFAULTS.udp.alignOffsetBytes),
  startUs: leaf<number>(num({ ge: 0 })).default(DEFAULTS.udp.startUs),
};

const pingAllShape = {
  kind: z.literal('ping-all'),
  count: leaf<number>(integer(1, LIMITS.maxPingCount, PING_COUNT_WHY)).default(DEFAULTS.pingAll.count),
  intervalUs: leaf<number>(num({ gt: 0 })).default(DEFAULTS.pingAll.intervalUs),
};

const TRAFFIC_KEYS: Record<string, readonly string[]> = {
  ping: Object.keys(pingShape),
  udp: Object.keys(udpShape),
  'ping-all': Object.keys(pingAllShape),
};
const TRAFFIC_KINDS = Object.keys(TRAFFIC_KEYS);

const trafficSchema = keyCheck(
  (v) => (typeof v.kind === 'string' ? (TRAFFIC_KEYS[v.kind] ?? null) : null),
  z.discriminatedUnion('kind', [z.object(pingShape), z.object(udpShape), z.object(pingAllShape)], {
    error: (iss) => {
      if (iss.code === 'invalid_union') {
        const kind = isRecord(iss.input) ? iss.input.kind : undefined;
        return oneOf(TRAFFIC_KINDS)(kind) ?? `must be one of ${quoteList(TRAFFIC_KINDS)}`;
      }
      return `must be a mapping with a "kind" of ${quoteList(TRAFFIC_KINDS)}`;
    },
  }),
);

/** A `faults:` entry: what strikes which host when (cross-field checks in fault-checks.ts). */
export const faultShape = {
  atUs: leaf<number>(num({ ge: 0 })),
  kind: leaf<FaultKind>(oneOf([...FAULT_KINDS])),
  host: leaf<string>(checkHostRef),
  count: leaf<number>(integer(1, LIMITS.maxFaultCount)).default(DEFAULTS.fault.count),
  pollUs: leaf<number>(num({ gt: 0 })).default(DEFAULTS.fault.pollUs),
  path: leaf<NtbPathName>(oneOf(['primary', 'backup'])).default(DEFAULTS.fault.path),
};

/** Timing of a failover between a host's two NTB paths. */
const failoverShape = {
  linkDownDetectUs: leaf<number>(num({ ge: 0 })),
  aerHandlerUs: leaf<number>(num({ ge: 0 })),
  remapUs: leaf<number>(num({ ge: 0 })),
};

/** Management-host failover (a second `role: management` host is the backup). */
const managementFailoverShape = {
  heartbeatUs: leaf<number>(num({ gt: 0 })),
  missedHeartbeats: leaf<number>(integer(1, 1000)),
  takeoverBaseUs: leaf<number>(num({ ge: 0 })),
  portTakeoverUs: leaf<number>(num({ ge: 0 })),
};

/** A top-of-rack switch: its name and its PCIe link to the spine (any link setting; default the rack's). */
const torShape = {
  name: leaf<string>(checkHostName),
  spineLink: z.preprocess(nullToUndefined, obj(allOptional(linkShape), 'a mapping of link settings').optional()),
};

const torSchema = z.preprocess(
  (v) => (typeof v === 'string' ? { name: v } : v),
  obj(torShape, 'a switch name or a mapping with at least "name"', {
    uplink: `renamed "spineLink" (this switch's PCIe link to the spine); ${RACK_UPLINK_HINT}`,
  }),
);

const switchShape = {
  hopLatencyNs: leaf<number>(num({ ge: 0 })),
  ntbTranslateNs: leaf<number>(num({ ge: 0 })),
};

// HRDMA and CPU copy settings are shared with bench scenarios and per-host overrides (engine-fields.ts).
const dmaShape = {
  ...shapeOf(HRDMA_FIELDS),
  copyThresholdBytes: leaf<number>(integer(0)),
};

const cpuShape = {
  ...shapeOf(CPU_COPY_FIELDS),
  cores: leaf<number>(integer(1, LIMITS.maxCores)),
  profile: leaf<ProfileKind>(oneOf([...PROFILE_KINDS])),
};

const interruptsShape = {
  mode: leaf<InterruptMode>(oneOf(['msi', 'doorbell'])),
  msiHandlerNs: leaf<number>(num({ ge: 0 })),
  doorbellExtraNs: leaf<number>(num({ ge: 0 })),
  coalesceNs: leaf<number>(num({ ge: 0 })),
  jitterNs: leaf<number>(num({ ge: 0 })),
};

const eopShape = {
  ringSlots: leaf<number>(powerOf2(4, 4096)),
  batchFrames: leaf<number>(integer(1, 256)),
  txQueueFrames: leaf<number>(integer(1, 65536)),
  version: leaf<number>(integer(0, 0xffff_ffff, ' (it travels in a 32-bit scratchpad register)')),
  arpResponder: leaf<boolean>(isBool),
  driver: leaf<DriverKind>(oneOf([...DRIVER_KINDS])),
  ntbWindowBytes: leaf<number>(powerOf2(NTB_MIN_WINDOW_BYTES, NTB_MAX_WINDOW_BYTES)),
  ntbUseDma: leaf<boolean>(isBool),
  ntbHz: leaf<number>(integer(1, 10_000)),
};

/** Control characters have no place in a name or a path (and a NUL cannot be in a path). */
const NO_CONTROLS = /^[^\u0000-\u001f\u007f-\u009f]*$/;

const capturesShape = {
  enabled: leaf<boolean>(isBool),
  dir: leaf<string>(nonEmptyString(4096, { re: NO_CONTROLS, desc: 'without control characters' })),
  format: leaf<CaptureFormat>(oneOf(['pcap', 'pcapng'])),
  maxFileMiB: leaf<number>(num({ ge: LIMITS.minCaptureFileMiB, le: LIMITS.maxCaptureFileMiB })),
  maxFiles: leaf<number>(integer(1)),
};

const rackShape = {
  name: leaf<string>(
    nonEmptyString(64, { re: /^[^/\\\u0000-\u001f\u007f-\u009f]*$/, desc: 'without "/", "\\" or control characters' }),
  ).default(DEFAULTS.name),
  seed: leaf<number>(integer(0, 0xffff_ffff, ' (the generator takes a 32-bit seed)')).default(DEFAULTS.seed),
  durationMs: leaf<number>(num({ gt: 0 })).default(DEFAULTS.durationMs),
  mtu: mtuField.default(DEFAULTS.mtu),
  link: section(linkShape, DEFAULTS.link, 'a mapping of link settings'),
  switch: section(switchShape, DEFAULTS.switch, 'a mapping of switch settings'),
  tors: z.preprocess(
    nullToUndefined,
    z
      .array(torSchema, { error: () => `must be a list of top-of-rack switches (at most ${LIMITS.maxHosts})` })
      .max(LIMITS.maxHosts, { error: () => `must be a list of top-of-rack switches (at most ${LIMITS.maxHosts})` })
      .default([]),
  ),
  dma: section(dmaShape, DEFAULTS.dma, 'a mapping of DMA engine settings'),
  cpu: section(cpuShape, DEFAULTS.cpu, 'a mapping of CPU copy settings'),
  interrupts: section(interruptsShape, DEFAULTS.interrupts, 'a mapping of interrupt settings'),
  eop: section(eopShape, DEFAULTS.eop, 'a mapping of EOP driver settings'),
  captures: section(capturesShape, DEFAULTS.captures, 'a mapping of capture settings'),
  failover: section(failoverShape, DEFAULTS.failover, 'a mapping of failover settings'),
  managementFailover: section(managementFailoverShape, DEFAULTS.managementFailover, 'a mapping of management-host failover settings'),
  hosts: z
    .array(hostSchema, { error: () => `must be a list of 1 to ${LIMITS.maxHosts} hosts` })
    .min(1, { error: () => `must be a list of 1 to ${LIMITS.maxHosts} hosts` })
    .max(LIMITS.maxHosts, { error: () => `must be a list of 1 to ${LIMITS.maxHosts} hosts` }),
  management: leaf<boolean>(isBool).default(DEFAULTS.management),
  traffic: z.preprocess(
    nullToUndefined,
    z.array(trafficSchema, { error: () => 'must be a list of traffic entries' }).default([]),
  ),
  faults: z.preprocess(
    nullToUndefined,
    z
      .array(obj(faultShape, 'a mapping with "atUs", "kind" and "host"'), { error: () => `must be a list of faults (at most ${LIMITS.maxFaults})` })
      .max(LIMITS.maxFaults, { error: () => `must be a list of faults (at most ${LIMITS.maxFaults})` })
      .default([]),
  ),
};

/** The rack file's schema: validates leaves and keys, fills defaults. Cross-field checks are separate. */
export const TopologySchema = obj(rackShape, 'a mapping of rack settings with at least "hosts"', UPLINK_HINTS);

/**
 * Every key of the file format, by where it may appear: `rack` (top level), one entry per section,
 * `host` (an entry of `hosts`) and one per traffic kind. The printed default rack and its test read
 * this, so a key added to the schema cannot be left out of the documentation.
 */
export const SCHEMA_KEYS = {
  rack: Object.keys(rackShape),
  link: Object.keys(linkShape),
  switch: Object.keys(switchShape),
  tor: Object.keys(torShape),
  dma: Object.keys(dmaShape),
  cpu: Object.keys(cpuShape),
  interrupts: Object.keys(interruptsShape),
  eop: Object.keys(eopShape),
  captures: Object.keys(capturesShape),
  failover: Object.keys(failoverShape),
  managementFailover: Object.keys(managementFailoverShape),
  host: Object.keys(hostShape),
  backupPath: ['tor', 'link'],
  ping: Object.keys(pingShape),
  udp: Object.keys(udpShape),
  'ping-all': Object.keys(pingAllShape),
  fault: Object.keys(faultShape),
} as const satisfies Record<string, readonly string[]>;

/** The schema's output: defaults filled in, not yet normalized. */
export type TopologyFile = z.output<typeof TopologySchema>;
