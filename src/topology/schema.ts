/**
 * The rack description: a zod schema with defaults (so `hosts: [h1, h2]` is a complete rack), the
 * cross-field checks zod cannot express, and normalization into the fully resolved `Topology` that
 * the rest of the emulator consumes.
 *
 * Every problem is reported as a `ConfigProblem`: a field path (`hosts[1].link.gen`) and a sentence
 * saying what is allowed and what was found (`must be one of 1, 2, 3, 4, 5 (got 6)`). All problems
 * are collected in one pass (leaf checks, unknown keys and cross-field checks alike), so a user fixes
 * a file in one round. `load.ts` turns them into an `EopError(CONFIG_INVALID)`.
 *
 * Normalization choices (see `Topology`):
 * - `hosts` holds the compute hosts only (the ones with an EOP interface), in file order. The
 *   management host (declared with `role: management`, or added as "mh" by `management: true`) is
 *   `topology.management`; it has no EOP interface, so it has no MAC or IP addresses and cannot be a
 *   traffic endpoint.
 * - Default addresses come from a host's position among the compute hosts (n = index + 1):
 *   MAC 02:e0:00:00:HH:LL (n as 16 bits), IPv4 10.11.0.n/24 (n ≤ 254), IPv6 fd00:e0::n/64 (n in hex).
 * - Traffic is expanded so that every ping has one source and one destination: `ping` with
 *   `to: all` becomes one ping per other compute host, and `ping-all` one ping per ordered pair of
 *   compute hosts (file order). Every entry keeps `origin` (`traffic[0]`) to group results by.
 * - A section given as an empty value (`link:` with everything commented out, i.e. null) means
 *   "all defaults", like leaving it out; so does `traffic:` with no entries.
 */
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { DEFAULT_EOP } from '../eop/eop-nic.js';
import { DEFAULT_CPU } from '../host/cpu-copy.js';
import { DEFAULT_HRDMA } from '../host/hrdma.js';
import { DEFAULT_SWITCH } from '../pcie/fabric.js';
import { DEFAULT_LINK } from '../pcie/link.js';
import { DEFAULT_IRQ_HANDLER_NS } from './rack.js';

// ---------------------------------------------------------------------------------------------
// Defaults
// ---------------------------------------------------------------------------------------------

/** Every default, in one place (the schema and the docs read from here). */
export const DEFAULTS = {
  name: 'rack',
  seed: 1,
  durationMs: 100,
  mtu: DEFAULT_EOP.mtu,
  management: true,
  managementHostName: 'mh',
  // The model's own defaults, so the file format and the model cannot drift apart.
  link: { ...DEFAULT_LINK },
  switch: { ...DEFAULT_SWITCH },
  dma: {
    setupNs: DEFAULT_HRDMA.setupNs,
    peakGbps: DEFAULT_HRDMA.peakGbps,
    unalignedRateFactor: DEFAULT_HRDMA.unalignedRateFactor,
    alignmentBytes: DEFAULT_HRDMA.alignmentBytes,
    ringSlots: DEFAULT_HRDMA.ringSlots,
    copyThresholdBytes: DEFAULT_EOP.copyThresholdBytes,
  },
  cpu: { copyGbps: DEFAULT_CPU.copyGbps, copySetupNs: DEFAULT_CPU.copySetupNs },
  interrupts: {
    mode: DEFAULT_EOP.irqMode,
    msiHandlerNs: DEFAULT_IRQ_HANDLER_NS,
    doorbellExtraNs: DEFAULT_EOP.doorbellExtraNs,
    coalesceNs: 0,
    jitterNs: 0,
  },
  eop: {
    ringSlots: DEFAULT_EOP.ringSlots,
    batchFrames: DEFAULT_EOP.batchFrames,
    txQueueFrames: DEFAULT_EOP.txQueueFrames,
    version: DEFAULT_EOP.version,
  },
  captures: { enabled: true, dir: 'captures', format: 'pcapng', maxFileMiB: 64, maxFiles: 4 },
  host: { attach: 'builtin', role: 'compute' },
  ping: { count: 10, intervalUs: 100, payloadBytes: 56, ipv6: false },
  udp: { dstPort: 9, messageBytes: 1472, count: 1000, alignOffsetBytes: 0, startUs: 0 },
  pingAll: { count: 3, intervalUs: 100 },
} as const;

/** Limits that are not plain field ranges. */
export const LIMITS = {
  maxHosts: 256,
  /** Linux IFNAMSIZ - 1: an interface name has at most 15 characters. */
  maxIfNameChars: 15,
  ifNamePrefix: 'eop-',
  /** 15 - "eop-".length */
  maxHostNameChars: 11,
  minMtu: 68,
  /** ntb_netdev's limit. */
  maxMtu: 65510,
  /** Default IPv4 addresses are 10.11.0.1 .. 10.11.0.254. */
  maxDefaultIpv4Hosts: 254,
} as const;

// ---------------------------------------------------------------------------------------------
// Normalized types (what the emulator consumes)
// ---------------------------------------------------------------------------------------------

export type PcieGen = 1 | 2 | 3 | 4 | 5;
export type PcieWidth = 1 | 2 | 4 | 8 | 16;
export type MpsBytes = 128 | 256 | 512;
export type AttachMode = 'builtin' | 'tap' | 'websocket';
export type HostRole = 'compute' | 'management';
export type InterruptMode = 'msi' | 'doorbell';
export type CaptureFormat = 'pcap' | 'pcapng';

export interface LinkConfig {
  gen: PcieGen;
  width: PcieWidth;
  mpsBytes: MpsBytes;
  /** 64-bit TLP headers (16 B) vs 32-bit (12 B). */
  addr64: boolean;
  ecrc: boolean;
  /** DLLP (ACK, UpdateFC) and SKP share of the busy direction, 0..0.5. */
  linkLayerOverhead: number;
  /** PHY + data-link traversal per link. */
  latencyNs: number;
}

export interface SwitchConfig {
  /** Cut-through latency per hop. */
  hopLatencyNs: number;
  ntbTranslateNs: number;
}

export interface DmaConfig {
  setupNs: number;
  peakGbps: number;
  /** Rate multiplier (0 < x ≤ 1) for transfers not aligned to `alignmentBytes`. */
  unalignedRateFactor: number;
  alignmentBytes: number;
  ringSlots: number;
  /** Frames of at least this many bytes go by DMA, smaller ones by CPU copy. */
  copyThresholdBytes: number;
}

export interface CpuConfig {
  copyGbps: number;
  copySetupNs: number;
}

export interface InterruptConfig {
  mode: InterruptMode;
  msiHandlerNs: number;
  doorbellExtraNs: number;
  coalesceNs: number;
  /** Interrupt entry varies by up to this much (uniform, drawn from the seeded RNG); 0 = none. */
  jitterNs: number;
}

export interface EopConfig {
  ringSlots: number;
  batchFrames: number;
  txQueueFrames: number;
  version: number;
}

export interface CaptureConfig {
  enabled: boolean;
  dir: string;
  format: CaptureFormat;
  maxFileMiB: number;
  maxFiles: number;
}

export interface MacAddress {
  /** 48-bit integer, first octet most significant. */
  addr: number;
  bytes: Uint8Array;
  /** Lowercase, colon-separated: "02:e0:00:00:00:01". */
  text: string;
}

export interface Ipv4Cidr {
  /** 32-bit unsigned integer. */
  addr: number;
  prefix: number;
  /** The address alone: "10.11.0.1". */
  text: string;
  /** Address and prefix: "10.11.0.1/24". */
  cidr: string;
}

export interface Ipv6Cidr {
  bytes: Uint8Array;
  prefix: number;
  /** The address alone, RFC 5952 form: "fd00:e0::1". */
  text: string;
  /** Address and prefix: "fd00:e0::1/64". */
  cidr: string;
}

/** A compute host: it has an EOP interface. */
export interface HostConfig {
  /** Position among the compute hosts, 0-based; default addresses derive from it. */
  index: number;
  name: string;
  /** EOP interface name, `eop-<name>` (fits Linux's 15 characters). */
  ifName: string;
  mac: MacAddress;
  ipv4: Ipv4Cidr;
  ipv6: Ipv6Cidr;
  mtu: number;
  /** The rack's `link` with this host's overrides applied. */
  link: LinkConfig;
  attach: AttachMode;
}

/** The management host (MH): owns the global address space, has no EOP interface. */
export interface ManagementHostConfig {
  name: string;
  /** True if listed in `hosts` with `role: management`; false if added by `management: true`. */
  declared: boolean;
  link: LinkConfig;
}

export interface PingTraffic {
  kind: 'ping';
  /** The config entry this came from, e.g. "traffic[0]". */
  origin: string;
  from: string;
  to: string;
  count: number;
  intervalUs: number;
  payloadBytes: number;
  ipv6: boolean;
}

export interface UdpTraffic {
  kind: 'udp';
  origin: string;
  from: string;
  to: string;
  dstPort: number;
  messageBytes: number;
  /** null: as fast as the NIC accepts. */
  rateGbps: number | null;
  /** Exactly one of `count` and `durationUs` is non-null (count 1000 if the file gives neither). */
  count: number | null;
  durationUs: number | null;
  alignOffsetBytes: number;
  startUs: number;
}

export type TrafficSpec = PingTraffic | UdpTraffic;

/** The fully defaulted, normalized rack. */
export interface Topology {
  /** Where it came from: a file path, "<default>", or what the caller of parseTopology said. */
  source: string;
  name: string;
  seed: number;
  durationMs: number;
  /** Rack-wide default MTU (each host's resolved MTU is `hosts[i].mtu`). */
  mtu: number;
  /** Rack-wide link defaults (each host's resolved link is `hosts[i].link`). */
  link: LinkConfig;
  switch: SwitchConfig;
  dma: DmaConfig;
  cpu: CpuConfig;
  interrupts: InterruptConfig;
  eop: EopConfig;
  captures: CaptureConfig;
  /** Compute hosts, in file order. */
  hosts: HostConfig[];
  management: ManagementHostConfig | null;
  /** Expanded: every ping has one `to`; `ping-all` is gone. */
  traffic: TrafficSpec[];
}

// ---------------------------------------------------------------------------------------------
// Problems
// ---------------------------------------------------------------------------------------------

export type ConfigPath = (string | number)[];

export interface ConfigProblem {
  /** Path into the input as written (a host given as a bare string has no `.name` step). */
  path: ConfigPath;
  /** "hosts[1].link.gen", or "(top level)". */
  pathText: string;
  /** What is allowed and what was found: "must be one of 1, 2, 3, 4, 5 (got 6)". */
  message: string;
  /** The problem is the key itself (an unknown key), not its value: locate the key. */
  atKey: boolean;
}

export function formatPath(path: readonly (string | number | symbol)[]): string {
  if (path.length === 0) return '(top level)';
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else {
      const s = String(seg);
      if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(s)) out += out === '' ? s : `.${s}`;
      else out += `[${JSON.stringify(s)}]`;
    }
  }
  return out;
}

/** A value as a problem message shows it after "got". */
export function showValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') {
    const s = JSON.stringify(v);
    return s.length > 42 ? `${s.slice(0, 40)}…"` : s;
  }
  if (Array.isArray(v)) {
    if (v.length === 0) return 'an empty list';
    return `a list of ${v.length} ${v.length === 1 ? 'entry' : 'entries'}`;
  }
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    d.push(new Array<number>(b.length + 1).fill(0));
    d[i]![0] = i;
  }
  for (let j = 0; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      }
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest candidate within edit distance 2 (case-insensitive), or null. */
export function didYouMean(word: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = 3;
  const w = word.toLowerCase();
  for (const c of candidates) {
    const dist = editDistance(w, c.toLowerCase());
    if (dist < bestD && dist < Math.max(w.length, c.length)) {
      best = c;
      bestD = dist;
    }
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Leaf checks: each returns null when the value is fine, else what is allowed
// ---------------------------------------------------------------------------------------------

type Check = (v: unknown) => string | null;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function quoteList(values: readonly (string | number | boolean)[]): string {
  return values.map((v) => (typeof v === 'string' ? JSON.stringify(v) : String(v))).join(', ');
}

function oneOf(values: readonly (string | number)[]): Check {
  const allowed = `must be one of ${quoteList(values)}`;
  const strings = values.filter((v): v is string => typeof v === 'string');
  return (v) => {
    if ((typeof v === 'string' || typeof v === 'number') && values.includes(v)) return null;
    if (typeof v === 'string' && strings.length > 0) {
      const guess = didYouMean(v, strings);
      if (guess !== null) return `${allowed}; did you mean "${guess}"?`;
    }
    return allowed;
  };
}

const isBool: Check = (v) => (typeof v === 'boolean' ? null : 'must be true or false');

function integer(min: number, max?: number, why = ''): Check {
  const allowed =
    max === undefined ? `must be an integer >= ${min}${why}` : `must be an integer from ${min} to ${max}${why}`;
  return (v) =>
    typeof v === 'number' && Number.isSafeInteger(v) && v >= min && (max === undefined || v <= max)
      ? null
      : allowed;
}

function num(o: { gt?: number; ge?: number; le?: number }): Check {
  let allowed: string;
  if (o.ge !== undefined && o.le !== undefined) allowed = `must be a number from ${o.ge} to ${o.le}`;
  else if (o.gt !== undefined && o.le !== undefined) allowed = `must be a number > ${o.gt} and <= ${o.le}`;
  else if (o.gt !== undefined) allowed = `must be a number > ${o.gt}`;
  else allowed = `must be a number >= ${o.ge ?? 0}`;
  return (v) =>
    isFiniteNumber(v) &&
    (o.gt === undefined || v > o.gt) &&
    (o.ge === undefined || v >= o.ge) &&
    (o.le === undefined || v <= o.le)
      ? null
      : allowed;
}

function powerOf2(min: number, max: number): Check {
  const allowed = `must be a power of 2 from ${min} to ${max}`;
  return (v) =>
    typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max && (v & (v - 1)) === 0
      ? null
      : allowed;
}

function nonEmptyString(maxLen: number, extra?: { re: RegExp; desc: string }): Check {
  const allowed = `must be a non-empty string of at most ${maxLen} characters${extra ? ` ${extra.desc}` : ''}`;
  return (v) =>
    typeof v === 'string' && v.length > 0 && v.length <= maxLen && (!extra || extra.re.test(v)) ? null : allowed;
}

/** The host-name pattern of the file format; `checkHostName` also limits names to 11 characters. */
export const HOST_NAME_RE = /^[a-z][a-z0-9-]{0,14}$/;

/** Host names: the spec's pattern, plus the 11-character limit that `eop-<name>` imposes. */
export const checkHostName: Check = (v) => {
  // the spec's alphabet first; the length gets its own message, which says why the limit is 11, not 15
  if (typeof v !== 'string' || !/^[a-z][a-z0-9-]*$/.test(v)) {
    return `must be a host name: a lowercase letter, then lowercase letters, digits or "-" (at most ${LIMITS.maxHostNameChars} characters)`;
  }
  if (v.length > LIMITS.maxHostNameChars) {
    return (
      `must be at most ${LIMITS.maxHostNameChars} characters (this is ${v.length}): the interface name ` +
      `"${LIMITS.ifNamePrefix}<name>" must fit Linux's ${LIMITS.maxIfNameChars}-character limit`
    );
  }
  if (v === 'all') return 'must not be "all", which traffic entries use to mean every host';
  return null;
};

const checkHostRef: Check = (v) => (typeof v === 'string' && v.length > 0 ? null : 'must be a host name');
const checkPingTo: Check = (v) =>
  typeof v === 'string' && v.length > 0 ? null : 'must be a host name or "all"';

// --- addresses ---------------------------------------------------------------------------------

const MAC_RE = /^([0-9a-f]{2})([:-])([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})$/i;

export function macFromBytes(bytes: Uint8Array): MacAddress {
  let addr = 0;
  for (const b of bytes) addr = addr * 256 + b;
  const text = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
  return { addr, bytes, text };
}

/** Parses "02:e0:00:00:00:01" (or with "-"); null if malformed. Does not check unicast. */
export function parseMac(text: string): MacAddress | null {
  const m = MAC_RE.exec(text);
  if (!m) return null;
  const octets = [m[1], m[3], m[4], m[5], m[6], m[7]].map((h) => parseInt(h!, 16));
  return macFromBytes(Uint8Array.from(octets));
}

export const checkMac: Check = (v) => {
  const example = 'must be a MAC address like "02:e0:00:00:00:01"';
  if (typeof v !== 'string') return example;
  const mac = parseMac(v);
  if (mac === null) return example;
  if ((mac.bytes[0]! & 1) !== 0) return 'must be a unicast MAC address (the lowest bit of the first octet must be 0)';
  if (mac.addr === 0) return 'must not be the all-zero MAC address';
  return null;
};

/** Default MAC of the compute host at `index`: 02:e0:00:00:HH:LL with HHLL = index + 1. */
export function defaultMac(index: number): MacAddress {
  const n = index + 1;
  return macFromBytes(Uint8Array.from([0x02, 0xe0, 0, 0, (n >> 8) & 0xff, n & 0xff]));
}

const IPV4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

function ipv4FromParts(octets: number[], prefix: number): Ipv4Cidr {
  const addr = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
  const text = octets.join('.');
  return { addr, prefix, text, cidr: `${text}/${prefix}` };
}

/** Parses "10.11.0.5/24" strictly (four decimal octets, no leading zeros); null if malformed. */
export function parseIpv4Cidr(text: string): Ipv4Cidr | null {
  const m = IPV4_RE.exec(text);
  if (!m) return null;
  const parts = m.slice(1, 6);
  if (parts.some((p) => p!.length > 1 && p!.startsWith('0'))) return null;
  const octets = parts.slice(0, 4).map(Number);
  const prefix = Number(parts[4]);
  if (octets.some((o) => o > 255) || prefix > 32) return null;
  return ipv4FromParts(octets, prefix);
}

export const checkIpv4: Check = (v) => {
  const example = 'must be an IPv4 address with a prefix length, like "10.11.0.5/24"';
  if (typeof v !== 'string') return example;
  const c = parseIpv4Cidr(v);
  if (c === null) return example;
  const range = ipaddr.IPv4.parse(c.text).range();
  if (range === 'unspecified' || range === 'multicast' || range === 'loopback' || range === 'broadcast') {
    return `must be a unicast host address (this one is ${range})`;
  }
  if (c.prefix <= 30) {
    const hostBits = 32 - c.prefix;
    const hostPart = c.addr % 2 ** hostBits;
    if (hostPart === 0) return `must be a host address, not the network address of its /${c.prefix} subnet`;
    if (hostPart === 2 ** hostBits - 1) return `must be a host address, not the broadcast address of its /${c.prefix} subnet`;
  }
  return null;
};

/** Default IPv4 of the compute host at `index`: 10.11.0.(index+1)/24; null beyond 254 hosts. */
export function defaultIpv4(index: number): Ipv4Cidr | null {
  const n = index + 1;
  if (n > LIMITS.maxDefaultIpv4Hosts) return null;
  return ipv4FromParts([10, 11, 0, n], 24);
}

/** Parses "fd00:e0::5/64"; null if malformed (zone ids are rejected). */
export function parseIpv6Cidr(text: string): Ipv6Cidr | null {
  const slash = text.lastIndexOf('/');
  if (slash < 0) return null;
  const addrText = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = Number(prefixText);
  if (prefix > 128 || addrText.includes('%') || !ipaddr.IPv6.isValid(addrText)) return null;
  const a = ipaddr.IPv6.parse(addrText);
  const t = a.toRFC5952String();
  return { bytes: Uint8Array.from(a.toByteArray()), prefix, text: t, cidr: `${t}/${prefix}` };
}

export const checkIpv6: Check = (v) => {
  const example = 'must be an IPv6 address with a prefix length, like "fd00:e0::5/64"';
  if (typeof v !== 'string') return example;
  const c = parseIpv6Cidr(v);
  if (c === null) return example;
  const range = ipaddr.IPv6.parse(c.text).range();
  if (range === 'unspecified' || range === 'multicast' || range === 'loopback') {
    return `must be a unicast host address (this one is ${range})`;
  }
  return null;
};

/** Default IPv6 of the compute host at `index`: fd00:e0::(index+1)/64. */
export function defaultIpv6(index: number): Ipv6Cidr {
  return parseIpv6Cidr(`fd00:e0::${(index + 1).toString(16)}/64`)!;
}

function ipv6Key(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

// ---------------------------------------------------------------------------------------------
// Schema building blocks
// ---------------------------------------------------------------------------------------------

/** A leaf field validated by a `Check`; the issue message is what is allowed. */
function leaf<T>(check: Check): z.ZodCustom<T, T> {
  return z.custom<T>((v) => check(v) === null, { error: (iss) => check(iss.input) ?? 'is not allowed' });
}

function unknownKeyMessage(key: string, allowed: readonly string[]): string {
  const guess = didYouMean(key, allowed);
  return `unknown key${guess !== null ? `; did you mean "${guess}"?` : ''} (allowed here: ${allowed.join(', ')})`;
}

/**
 * Reports unknown keys, one issue per key with the key's own path, then hands the value on.
 * Unknown-key issues use the `unrecognized_keys` code because zod lets those pass through a pipe,
 * so the object's fields are still validated and every problem is listed at once.
 */
function keyCheck<S extends z.ZodType>(allowedFor: (v: Record<string, unknown>) => readonly string[] | null, schema: S) {
  return z.preprocess((v, ctx) => {
    if (isRecord(v)) {
      const allowed = allowedFor(v);
      if (allowed !== null) {
        for (const k of Object.keys(v)) {
          if (!allowed.includes(k)) {
            ctx.addIssue({ code: 'unrecognized_keys', keys: [k], path: [k], message: unknownKeyMessage(k, allowed), input: v });
          }
        }
      }
    }
    return v;
  }, schema);
}

/** A mapping with known keys only. `what` completes "must be …" when the value is not a mapping. */
function obj<S extends z.ZodRawShape>(shape: S, what: string) {
  const keys = Object.keys(shape);
  return keyCheck(() => keys, z.object(shape, { error: () => `must be ${what}` }));
}

type Defaulted<S extends Record<string, z.ZodType>> = { [K in keyof S]: z.ZodDefault<S[K]> };
type Optional<S extends Record<string, z.ZodType>> = { [K in keyof S]: z.ZodOptional<S[K]> };

function withDefaults<S extends Record<string, z.ZodType>>(shape: S, defaults: { [K in keyof S]: z.output<S[K]> }): Defaulted<S> {
  const out: Record<string, z.ZodType> = {};
  for (const k of Object.keys(shape)) out[k] = shape[k]!.default(defaults[k] as never);
  return out as Defaulted<S>;
}

function allOptional<S extends Record<string, z.ZodType>>(shape: S): Optional<S> {
  const out: Record<string, z.ZodType> = {};
  for (const k of Object.keys(shape)) out[k] = shape[k]!.optional();
  return out as Optional<S>;
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
  addr64: leaf<boolean>(isBool),
  ecrc: leaf<boolean>(isBool),
  linkLayerOverhead: leaf<number>(num({ ge: 0, le: 0.5 })),
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
  attach: leaf<AttachMode>(oneOf(['builtin', 'tap', 'websocket'])).default(DEFAULTS.host.attach),
  role: leaf<HostRole>(oneOf(['compute', 'management'])).default(DEFAULTS.host.role),
};

const hostSchema = z.preprocess(
  (v) => (typeof v === 'string' ? { name: v } : v),
  obj(hostShape, 'a host name or a mapping with at least "name"'),
);

const pingShape = {
  kind: z.literal('ping'),
  from: leaf<string>(checkHostRef),
  to: leaf<string>(checkPingTo),
  count: leaf<number>(integer(1)).default(DEFAULTS.ping.count),
  intervalUs: leaf<number>(num({ gt: 0 })).default(DEFAULTS.ping.intervalUs),
  payloadBytes: leaf<number>(integer(0, 65000)).default(DEFAULTS.ping.payloadBytes),
  ipv6: leaf<boolean>(isBool).default(DEFAULTS.ping.ipv6),
};

const udpShape = {
  kind: z.literal('udp'),
  from: leaf<string>(checkHostRef),
  to: leaf<string>(checkHostRef),
  dstPort: leaf<number>(integer(1, 65535)).default(DEFAULTS.udp.dstPort),
  messageBytes: leaf<number>(integer(1, 65000)).default(DEFAULTS.udp.messageBytes),
  rateGbps: leaf<number>(num({ gt: 0 })).optional(),
  count: leaf<number>(integer(1)).optional(),
  durationUs: leaf<number>(num({ gt: 0 })).optional(),
  alignOffsetBytes: leaf<number>(integer(0, 63)).default(DEFAULTS.udp.alignOffsetBytes),
  startUs: leaf<number>(num({ ge: 0 })).default(DEFAULTS.udp.startUs),
};

const pingAllShape = {
  kind: z.literal('ping-all'),
  count: leaf<number>(integer(1)).default(DEFAULTS.pingAll.count),
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

/** The rack file's schema: validates leaves and keys, fills defaults. Cross-field checks are separate. */
export const TopologySchema = obj(
  {
    name: leaf<string>(nonEmptyString(64, { re: /^[^/\\]*$/, desc: 'without "/" or "\\"' })).default(DEFAULTS.name),
    seed: leaf<number>(integer(0, 0xffff_ffff, ' (the generator takes a 32-bit seed)')).default(DEFAULTS.seed),
    durationMs: leaf<number>(num({ gt: 0 })).default(DEFAULTS.durationMs),
    mtu: mtuField.default(DEFAULTS.mtu),
    link: section(linkShape, DEFAULTS.link, 'a mapping of link settings'),
    switch: section(
      { hopLatencyNs: leaf<number>(num({ ge: 0 })), ntbTranslateNs: leaf<number>(num({ ge: 0 })) },
      DEFAULTS.switch,
      'a mapping of switch settings',
    ),
    dma: section(
      {
        setupNs: leaf<number>(num({ ge: 0 })),
        peakGbps: leaf<number>(num({ gt: 0 })),
        unalignedRateFactor: leaf<number>(num({ gt: 0, le: 1 })),
        alignmentBytes: leaf<number>(powerOf2(1, 4096)),
        ringSlots: leaf<number>(powerOf2(16, 65536)),
        copyThresholdBytes: leaf<number>(integer(0)),
      },
      DEFAULTS.dma,
      'a mapping of DMA engine settings',
    ),
    cpu: section(
      { copyGbps: leaf<number>(num({ gt: 0 })), copySetupNs: leaf<number>(num({ ge: 0 })) },
      DEFAULTS.cpu,
      'a mapping of CPU copy settings',
    ),
    interrupts: section(
      {
        mode: leaf<InterruptMode>(oneOf(['msi', 'doorbell'])),
        msiHandlerNs: leaf<number>(num({ ge: 0 })),
        doorbellExtraNs: leaf<number>(num({ ge: 0 })),
        coalesceNs: leaf<number>(num({ ge: 0 })),
        jitterNs: leaf<number>(num({ ge: 0 })),
      },
      DEFAULTS.interrupts,
      'a mapping of interrupt settings',
    ),
    eop: section(
      {
        ringSlots: leaf<number>(powerOf2(4, 4096)),
        batchFrames: leaf<number>(integer(1, 256)),
        txQueueFrames: leaf<number>(integer(1, 65536)),
        version: leaf<number>(integer(0, 0xffff_ffff, ' (it travels in a 32-bit scratchpad register)')),
      },
      DEFAULTS.eop,
      'a mapping of EOP driver settings',
    ),
    captures: section(
      {
        enabled: leaf<boolean>(isBool),
        dir: leaf<string>(nonEmptyString(4096)),
        format: leaf<CaptureFormat>(oneOf(['pcap', 'pcapng'])),
        maxFileMiB: leaf<number>(num({ gt: 0 })),
        maxFiles: leaf<number>(integer(1)),
      },
      DEFAULTS.captures,
      'a mapping of capture settings',
    ),
    hosts: z
      .array(hostSchema, { error: () => `must be a list of 1 to ${LIMITS.maxHosts} hosts` })
      .min(1, { error: () => `must be a list of 1 to ${LIMITS.maxHosts} hosts` })
      .max(LIMITS.maxHosts, { error: () => `must be a list of 1 to ${LIMITS.maxHosts} hosts` }),
    management: leaf<boolean>(isBool).default(DEFAULTS.management),
    traffic: z.preprocess(
      nullToUndefined,
      z.array(trafficSchema, { error: () => 'must be a list of traffic entries' }).default([]),
    ),
  },
  'a mapping of rack settings with at least "hosts"',
);

/** The schema's output: defaults filled in, not yet normalized. */
export type TopologyFile = z.output<typeof TopologySchema>;

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

interface RawProblem {
  path: ConfigPath;
  message: string;
  /** Append "(got X)" from the input, or "required; " when the value is absent. */
  appendGot: boolean;
  atKey: boolean;
}

/**
 * Walks `path` through the input. A host written as a bare string has no `name` key: a problem
 * with its name is reported at the string itself (`hosts[1]`, not `hosts[1].name`).
 */
function resolvePath(input: unknown, path: ConfigPath): { path: ConfigPath; value: unknown; present: boolean } {
  let cur: unknown = input;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    if (Array.isArray(cur) && typeof seg === 'number') {
      if (seg >= cur.length) return { path, value: undefined, present: false };
      cur = cur[seg];
    } else if (isRecord(cur)) {
      if (!Object.prototype.hasOwnProperty.call(cur, seg)) return { path, value: undefined, present: false };
      cur = cur[seg as string];
    } else if (i > 0 && seg === 'name' && typeof cur === 'string') {
      return { path: path.slice(0, i), value: cur, present: true };
    } else {
      return { path, value: undefined, present: false };
    }
  }
  return { path, value: cur, present: true };
}

function zodProblems(issues: readonly z.core.$ZodIssue[]): RawProblem[] {
  return issues.map((iss) => ({
    path: iss.path.filter((p): p is string | number => typeof p !== 'symbol'),
    message: iss.message,
    appendGot: iss.code !== 'unrecognized_keys',
    atKey: iss.code === 'unrecognized_keys',
  }));
}

function listNames(names: readonly string[]): string {
  const max = 16;
  if (names.length === 0) return 'there are none';
  const shown = names.slice(0, max).join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

interface HostFacts {
  i: number;
  raw: Record<string, unknown>;
  name: string | null;
  role: HostRole;
  computeIndex: number;
}

/** Cross-field checks, on the raw input, tolerant of anything the schema already rejects. */
function crossProblems(input: unknown): RawProblem[] {
  const out: RawProblem[] = [];
  const add = (path: ConfigPath, message: string): void => {
    out.push({ path, message, appendGot: false, atKey: false });
  };
  if (!isRecord(input)) return out;

  // ---- hosts ----
  const hostsRaw = Array.isArray(input.hosts) ? input.hosts : [];
  const hosts: HostFacts[] = [];
  const allRawNames = new Set<string>();
  let computeCount = 0;
  hostsRaw.forEach((h, i) => {
    const raw = typeof h === 'string' ? { name: h } : isRecord(h) ? h : null;
    if (raw === null) return;
    if (typeof raw.name === 'string') allRawNames.add(raw.name);
    const name = checkHostName(raw.name) === null ? (raw.name as string) : null;
    const role: HostRole = raw.role === 'management' ? 'management' : 'compute';
    hosts.push({ i, raw, name, role, computeIndex: role === 'compute' ? computeCount++ : -1 });
  });

  const byName = new Map<string, HostFacts>();
  for (const h of hosts) {
    if (h.name === null) continue;
    const first = byName.get(h.name);
    if (first) add(['hosts', h.i, 'name'], `duplicate host name "${h.name}" (hosts[${first.i}] has it too)`);
    else byName.set(h.name, h);
  }

  const mgmt = hosts.filter((h) => h.role === 'management');
  mgmt.slice(1).forEach((h) =>
    add(['hosts', h.i, 'role'], `only one host may be the management host (hosts[${mgmt[0]!.i}] already is)`),
  );
  for (const h of mgmt) {
    for (const k of ['mac', 'ipv4', 'ipv6', 'attach', 'mtu']) {
      if (h.raw[k] !== undefined) {
        add(['hosts', h.i, k], 'not allowed on the management host, which has no EOP interface');
      }
    }
  }
  const autoMgmt = input.management !== false && mgmt.length === 0;
  if (autoMgmt) {
    const clash = hosts.find((h) => h.name === DEFAULTS.managementHostName);
    if (clash) {
      add(
        ['hosts', clash.i, 'name'],
        `"${DEFAULTS.managementHostName}" is the management host that "management: true" adds; rename this host, give it role: management, or set management: false`,
      );
    }
  }
  if (hostsRaw.length > 0 && hosts.length === hostsRaw.length && computeCount === 0) {
    add(['hosts'], 'must include at least one compute host (every host listed has role: management)');
  }

  // ---- addresses: explicit or default, unique among compute hosts ----
  const compute = hosts.filter((h) => h.role === 'compute');
  const label = (h: HostFacts): string => `hosts[${h.i}]${h.name !== null ? ` (${h.name})` : ''}`;
  type Seen = { h: HostFacts; explicit: boolean };
  const uniq = (field: string, what: string, key: (h: HostFacts) => { key: string; text: string; explicit: boolean } | null): void => {
    const seen = new Map<string, Seen>();
    for (const h of compute) {
      const k = key(h);
      if (k === null) continue;
      const prev = seen.get(k.key);
      if (!prev) {
        seen.set(k.key, { h, explicit: k.explicit });
        continue;
      }
      // report at an explicitly written address when there is one: that is what the user can change
      const [at, other, otherExplicit] = !k.explicit && prev.explicit ? [prev.h, h, false] : [h, prev.h, prev.explicit];
      add(
        ['hosts', at.i, field],
        `duplicate ${what} ${k.text}: ${label(other)} has it too${otherExplicit ? '' : ' (by default)'}`,
      );
    }
  };
  uniq('mac', 'MAC', (h) => {
    if (h.raw.mac === undefined) {
      const m = defaultMac(h.computeIndex);
      return { key: m.text, text: m.text, explicit: false };
    }
    if (checkMac(h.raw.mac) !== null) return null;
    const m = parseMac(h.raw.mac as string)!;
    return { key: m.text, text: m.text, explicit: true };
  });
  uniq('ipv4', 'IPv4 address', (h) => {
    if (h.raw.ipv4 === undefined) {
      const a = defaultIpv4(h.computeIndex);
      if (a === null) {
        add(
          ['hosts', h.i, 'ipv4'],
          `required for compute host number ${h.computeIndex + 1}: default addresses stop at 10.11.0.${LIMITS.maxDefaultIpv4Hosts}/24`,
        );
        return null;
      }
      return { key: a.text, text: a.text, explicit: false };
    }
    if (checkIpv4(h.raw.ipv4) !== null) return null;
    const a = parseIpv4Cidr(h.raw.ipv4 as string)!;
    return { key: a.text, text: a.text, explicit: true };
  });
  uniq('ipv6', 'IPv6 address', (h) => {
    const explicit = h.raw.ipv6 !== undefined;
    if (explicit && checkIpv6(h.raw.ipv6) !== null) return null;
    const a = explicit ? parseIpv6Cidr(h.raw.ipv6 as string)! : defaultIpv6(h.computeIndex);
    return { key: ipv6Key(a.bytes), text: a.text, explicit };
  });

  // ---- traffic endpoints ----
  const computeNames = compute.map((h) => h.name).filter((n): n is string => n !== null);
  const computeSet = new Set(computeNames);
  const mgmtNames = new Set(mgmt.map((h) => h.name).filter((n): n is string => n !== null));
  if (autoMgmt) mgmtNames.add(DEFAULTS.managementHostName);
  const trafficRaw = Array.isArray(input.traffic) ? input.traffic : [];
  trafficRaw.forEach((t, i) => {
    if (!isRecord(t) || (t.kind !== 'ping' && t.kind !== 'udp')) return;
    const refs: { field: 'from' | 'to'; v: string }[] = [];
    for (const field of ['from', 'to'] as const) {
      const v = t[field];
      if (typeof v !== 'string' || v.length === 0) continue;
      if (v === 'all') {
        if (field === 'to' && t.kind === 'ping') continue;
        add(['traffic', i, field], `"all" is only allowed as the "to" of a ping (hosts are ${listNames(computeNames)})`);
        continue;
      }
      refs.push({ field, v });
      if (computeSet.has(v)) continue;
      if (mgmtNames.has(v)) {
        add(
          ['traffic', i, field],
          `"${v}" is the management host, which has no EOP interface (hosts are ${listNames(computeNames)})`,
        );
      } else if (!allRawNames.has(v)) {
        // a name that is listed but invalid is already reported at hosts[...]
        add(['traffic', i, field], `unknown host "${v}" (hosts are ${listNames(computeNames)})`);
      }
    }
    if (refs.length === 2 && refs[0]!.v === refs[1]!.v) {
      add(['traffic', i, 'to'], `must differ from "from" (both are "${refs[0]!.v}")`);
    }
    if (t.kind === 'udp' && t.dstPort === 7) {
      add(['traffic', i, 'dstPort'], 'port 7 is the echo service: the datagrams would come back, not be counted; use 9 (discard) or any other port');
    }
    // Sizes must fit the sender's MTU (IP + UDP/ICMP headers: 28 bytes over IPv4, 48 over IPv6).
    const sender = typeof t.from === 'string' ? byName.get(t.from) : undefined;
    const rawMtu = sender?.raw.mtu ?? input.mtu ?? DEFAULTS.mtu;
    if (typeof rawMtu === 'number' && Number.isInteger(rawMtu)) {
      const room = rawMtu - (t.kind === 'ping' && t.ipv6 === true ? 48 : 28);
      const field = t.kind === 'udp' ? 'messageBytes' : 'payloadBytes';
      const size = t[field] ?? (t.kind === 'udp' ? DEFAULTS.udp.messageBytes : DEFAULTS.ping.payloadBytes);
      if (typeof size === 'number' && size > room) {
        add(['traffic', i, field], `${size} bytes do not fit the MTU of "${String(t.from)}" (${rawMtu}): at most ${room}`);
      }
      if (t.kind === 'udp' && typeof size === 'number' && size < 16) {
        add(['traffic', i, field], `a UDP stream needs at least 16 bytes per message for its sequence header (got ${size})`);
      }
    }
    if (t.kind === 'udp' && t.count !== undefined && t.durationUs !== undefined) {
      add(
        ['traffic', i, 'durationUs'],
        `give either count or durationUs, not both (got count ${showValue(t.count)} and durationUs ${showValue(t.durationUs)})`,
      );
    }
  });

  // ---- EOP ring ----
  if (isRecord(input.eop)) {
    const ring = input.eop.ringSlots === undefined ? DEFAULTS.eop.ringSlots : input.eop.ringSlots;
    const batch = input.eop.batchFrames;
    if (typeof ring === 'number' && typeof batch === 'number' && batch > ring) {
      add(['eop', 'batchFrames'], `must be at most eop.ringSlots (${ring}) (got ${batch})`);
    }
  }
  return out;
}

export type ValidationResult =
  | { ok: true; topology: Topology; problems: [] }
  | { ok: false; topology: null; problems: ConfigProblem[] };

/** Validates and normalizes a parsed rack file. Never throws for bad input; lists every problem. */
export function validateTopology(input: unknown, source: string): ValidationResult {
  const parsed = TopologySchema.safeParse(input);
  const raw: RawProblem[] = [...(parsed.success ? [] : zodProblems(parsed.error.issues)), ...crossProblems(input)];
  if (raw.length > 0 || !parsed.success) {
    const seen = new Set<string>();
    const problems: ConfigProblem[] = [];
    for (const p of raw) {
      const r = resolvePath(input, p.path);
      let message = p.message;
      if (p.appendGot) message = r.present ? `${message} (got ${showValue(r.value)})` : `required; ${message}`;
      const pathText = formatPath(r.path);
      const dedupe = `${pathText}\u0000${message}`;
      if (seen.has(dedupe)) continue;
      seen.add(dedupe);
      problems.push({ path: r.path, pathText, message, atKey: p.atKey });
    }
    if (problems.length === 0) {
      // the schema failed without an issue we could place; should not happen, but never pass it
      problems.push({ path: [], pathText: formatPath([]), message: 'is not a valid rack description', atKey: false });
    }
    return { ok: false, topology: null, problems };
  }
  return { ok: true, topology: normalize(parsed.data, source), problems: [] };
}

// ---------------------------------------------------------------------------------------------
// Normalization (input already validated)
// ---------------------------------------------------------------------------------------------

function normalize(d: TopologyFile, source: string): Topology {
  const rackLink: LinkConfig = { ...d.link };
  const mergeLink = (over: Partial<LinkConfig> | undefined): LinkConfig => {
    const out = { ...rackLink };
    if (over) {
      for (const [k, v] of Object.entries(over)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
    }
    return out;
  };

  const hosts: HostConfig[] = [];
  let management: ManagementHostConfig | null = null;
  for (const h of d.hosts) {
    if (h.role === 'management') {
      management = { name: h.name, declared: true, link: mergeLink(h.link) };
      continue;
    }
    const index = hosts.length;
    hosts.push({
      index,
      name: h.name,
      ifName: `${LIMITS.ifNamePrefix}${h.name}`,
      mac: h.mac !== undefined ? parseMac(h.mac)! : defaultMac(index),
      ipv4: h.ipv4 !== undefined ? parseIpv4Cidr(h.ipv4)! : defaultIpv4(index)!,
      ipv6: h.ipv6 !== undefined ? parseIpv6Cidr(h.ipv6)! : defaultIpv6(index),
      mtu: h.mtu ?? d.mtu,
      link: mergeLink(h.link),
      attach: h.attach,
    });
  }
  if (management === null && d.management) {
    management = { name: DEFAULTS.managementHostName, declared: false, link: mergeLink(undefined) };
  }

  const names = hosts.map((h) => h.name);
  const traffic: TrafficSpec[] = [];
  d.traffic.forEach((t, i) => {
    const origin = `traffic[${i}]`;
    switch (t.kind) {
      case 'ping': {
        const targets = t.to === 'all' ? names.filter((n) => n !== t.from) : [t.to];
        for (const to of targets) {
          traffic.push({
            kind: 'ping',
            origin,
            from: t.from,
            to,
            count: t.count,
            intervalUs: t.intervalUs,
            payloadBytes: t.payloadBytes,
            ipv6: t.ipv6,
          });
        }
        break;
      }
      case 'ping-all':
        for (const from of names) {
          for (const to of names) {
            if (to === from) continue;
            traffic.push({
              kind: 'ping',
              origin,
              from,
              to,
              count: t.count,
              intervalUs: t.intervalUs,
              payloadBytes: DEFAULTS.ping.payloadBytes,
              ipv6: DEFAULTS.ping.ipv6,
            });
          }
        }
        break;
      case 'udp': {
        const byDuration = t.durationUs !== undefined;
        traffic.push({
          kind: 'udp',
          origin,
          from: t.from,
          to: t.to,
          dstPort: t.dstPort,
          messageBytes: t.messageBytes,
          rateGbps: t.rateGbps ?? null,
          count: byDuration ? null : (t.count ?? DEFAULTS.udp.count),
          durationUs: byDuration ? t.durationUs! : null,
          alignOffsetBytes: t.alignOffsetBytes,
          startUs: t.startUs,
        });
        break;
      }
    }
  });

  return {
    source,
    name: d.name,
    seed: d.seed,
    durationMs: d.durationMs,
    mtu: d.mtu,
    link: rackLink,
    switch: { ...d.switch },
    dma: { ...d.dma },
    cpu: { ...d.cpu },
    interrupts: { ...d.interrupts },
    eop: { ...d.eop },
    captures: { ...d.captures },
    hosts,
    management,
    traffic,
  };
}
