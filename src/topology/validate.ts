/**
 * Cross-field validation and normalization: from parsed input to the fully resolved `Topology`.
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
import { NTB_MAX_WINDOW_BYTES, NTB_MIN_WINDOW_BYTES, qpGeometry } from '../eop/ntb-transport-layout.js';
import type { z } from 'zod';
import {
  checkIpv4,
  checkIpv6,
  checkMac,
  defaultIpv4,
  defaultIpv6,
  defaultMac,
  ipv6Key,
  parseIpv4Cidr,
  parseIpv6Cidr,
  parseMacAddress,
} from './addresses.js';
import { checkHostName, isRecord } from './checks.js';
import { CPU_COPY_FIELDS, HRDMA_FIELDS, pickFields } from './engine-fields.js';
import { faultEntryProblems, listNames } from './fault-checks.js';
import { didYouMean, formatPath, showValue, type ConfigPath, type ConfigProblem } from './problems.js';
import { SCHEMA_KEYS, TopologySchema, type TopologyFile } from './shapes.js';
import {
  DEFAULTS,
  LIMITS,
  type HostConfig,
  type Ipv4Cidr,
  type Ipv6Cidr,
  type HostRole,
  type LinkConfig,
  type ManagementHostConfig,
  type Topology,
  type TrafficSpec,
  type FaultSpec,
  PATH_FAULT_KINDS,
} from './types.js';

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
  // The first management host is the master, a second the backup (on a second virtual switch).
  mgmt.slice(2).forEach((h) =>
    add(['hosts', h.i, 'role'], `at most two hosts may be management hosts, a master and its backup (hosts[${mgmt[0]!.i}] and hosts[${mgmt[1]!.i}] already are)`),
  );
  for (const h of mgmt) {
    for (const k of ['mac', 'ipv4', 'ipv6', 'attach', 'mtu', 'cores', 'profile', 'dma', 'cpu']) {
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
  // ---- top-of-rack switches: unique names; every host's `tor` names one ----
  const torsRaw = Array.isArray(input.tors) ? input.tors : [];
  const torNames = new Map<string, number>();
  torsRaw.forEach((t, i) => {
    const name = typeof t === 'string' ? t : isRecord(t) ? t.name : undefined;
    if (typeof name !== 'string' || checkHostName(name) !== null) return;
    const first = torNames.get(name);
    if (first !== undefined) add(['tors', i, 'name'], `duplicate switch name "${name}" (tors[${first}] has it too)`);
    else torNames.set(name, i);
  });
  for (const h of hosts) {
    const tor = h.raw.tor;
    if (typeof tor !== 'string' || checkHostName(tor) !== null) continue;
    if (torsRaw.length === 0) add(['hosts', h.i, 'tor'], 'names a top-of-rack switch, but the rack lists none under "tors"');
    else if (!torNames.has(tor)) {
      const guess = didYouMean(tor, [...torNames.keys()]);
      add(['hosts', h.i, 'tor'], `no switch named "${tor}" in tors (have ${[...torNames.keys()].join(', ')})${guess ? `; did you mean "${guess}"?` : ''}`);
    }
  }
  // ---- second NTB paths: compute hosts only; a named ToR must exist ----
  for (const h of hosts) {
    const bp = h.raw.backupPath;
    if (bp === undefined || bp === null || bp === false) continue;
    if (h.role === 'management') {
      add(['hosts', h.i, 'backupPath'], 'not allowed on the management host, which has no NTB port');
      continue;
    }
    const tor = isRecord(bp) ? bp.tor : undefined;
    if (typeof tor !== 'string' || checkHostName(tor) !== null) continue;
    if (torsRaw.length === 0) add(['hosts', h.i, 'backupPath', 'tor'], 'names a top-of-rack switch, but the rack lists none under "tors"');
    else if (!torNames.has(tor)) {
      const guess = didYouMean(tor, [...torNames.keys()]);
      add(['hosts', h.i, 'backupPath', 'tor'], `no switch named "${tor}" in tors (have ${[...torNames.keys()].join(', ')})${guess ? `; did you mean "${guess}"?` : ''}`);
    }
  }

  if (hostsRaw.length > 0 && hosts.length === hostsRaw.length && computeCount === 0) {
    add(['hosts'], 'must include at least one compute host (every host listed has role: management)');
  }

  // ---- the ntb-netdev driver: ntb_transport joins exactly two hosts; its window bounds the MTU ----
  const eopRaw = isRecord(input.eop) ? input.eop : {};
  if (eopRaw.driver === 'ntb-netdev') {
    if (hosts.length === hostsRaw.length && computeCount !== 2) {
      add(['eop', 'driver'], `ntb-netdev joins exactly two compute hosts (Linux ntb_transport supports two-port NTBs only); the rack has ${computeCount}`);
    }
    const w = eopRaw.ntbWindowBytes ?? DEFAULTS.eop.ntbWindowBytes;
    if (typeof w === 'number' && w >= NTB_MIN_WINDOW_BYTES && w <= NTB_MAX_WINDOW_BYTES && (w & (w - 1)) === 0) {
      const max = qpGeometry(w).maxMtu;
      const tooBig = (mtu: unknown): mtu is number => typeof mtu === 'number' && mtu > max;
      const why = (mtu: number): string => `MTU ${mtu} is above ntb_netdev's ${max} for a ${w}-byte eop.ntbWindowBytes (entries of ${qpGeometry(w).maxFrameBytes} bytes less its 12-byte header and the Ethernet header)`;
      if (tooBig(input.mtu)) add(['mtu'], why(input.mtu));
      for (const h of hosts) if (h.role === 'compute' && tooBig(h.raw.mtu)) add(['hosts', h.i, 'mtu'], why(h.raw.mtu));
      if (input.mtu === undefined && tooBig(DEFAULTS.mtu)) add(['eop', 'ntbWindowBytes'], why(DEFAULTS.mtu));
    }
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
    const m = parseMacAddress(h.raw.mac as string)!;
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
  const onLinkProblem = (fromName: string, toName: string, v6: boolean): string | null => {
    const a = byName.get(fromName);
    const b = byName.get(toName);
    if (!a || !b || a.role !== 'compute' || b.role !== 'compute') return null;
    const mtuA = a.raw.mtu ?? input.mtu ?? DEFAULTS.mtu;
    const mtuB = b.raw.mtu ?? input.mtu ?? DEFAULTS.mtu;
    if (typeof mtuA === 'number' && typeof mtuB === 'number' && mtuA !== mtuB) {
      // EOP negotiation (src/eop/negotiation.ts) keeps the link down between different MTUs
      return `"${fromName}" has MTU ${mtuA} and "${toName}" MTU ${mtuB}: an EOP link comes up only between equal MTUs, so nothing could flow; give both the same mtu`;
    }
    return v6 ? ipv6OffLink(a, b) : ipv4OffLink(a, b);
  };
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
    if (refs.length === 2 && refs[0]!.v !== refs[1]!.v) {
      const why = onLinkProblem(refs[0]!.v, refs[1]!.v, t.kind === 'ping' && t.ipv6 === true);
      if (why !== null) add(['traffic', i, 'to'], why);
    } else if (t.kind === 'ping' && t.to === 'all' && typeof t.from === 'string') {
      for (const other of computeNames) {
        const why = other === t.from ? null : onLinkProblem(t.from, other, t.ipv6 === true);
        if (why !== null) {
          add(['traffic', i, 'to'], why);
          break;
        }
      }
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

  trafficRaw.forEach((t, i) => {
    if (!isRecord(t) || t.kind !== 'ping-all') return;
    for (const a of computeNames) {
      for (const b of computeNames) {
        const why = a === b ? null : onLinkProblem(a, b, false);
        if (why !== null) return add(['traffic', i, 'kind'], `ping-all needs every pair of hosts on one link: ${why}`);
      }
    }
  });

  // ---- faults ----
  const faultsRaw = Array.isArray(input.faults) ? input.faults : [];
  faultsRaw.forEach((f, i) => {
    if (!isRecord(f)) return;
    for (const [field, message] of faultEntryProblems(f, { compute: computeNames, management: [...mgmtNames] })) add(['faults', i, field], message);
    const h = f.host;
    const pathKind = typeof f.kind === 'string' && (PATH_FAULT_KINDS as readonly string[]).includes(f.kind);
    if (pathKind && typeof h === 'string' && computeSet.has(h)) {
      const host = byName.get(h);
      const bp = host?.raw.backupPath;
      if (bp === undefined || bp === null || bp === false) {
        add(['faults', i, 'host'], `"${h}" has one NTB path: ${f.kind} needs a host with two (give hosts[${host?.i ?? '?'}] "backupPath: true")`);
      }
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

/** The address a compute host ends up with (explicit if valid, else its default); null if invalid. */
function ipv4Of(h: HostFacts): Ipv4Cidr | null {
  if (h.raw.ipv4 === undefined) return defaultIpv4(h.computeIndex);
  return checkIpv4(h.raw.ipv4) === null ? parseIpv4Cidr(h.raw.ipv4 as string) : null;
}

function ipv6Of(h: HostFacts): Ipv6Cidr | null {
  if (h.raw.ipv6 === undefined) return defaultIpv6(h.computeIndex);
  return checkIpv6(h.raw.ipv6) === null ? parseIpv6Cidr(h.raw.ipv6 as string) : null;
}

/** Why `b` cannot be reached from `a` over IPv4 (the stacks have no router), or null if it can. */
function ipv4OffLink(a: HostFacts, b: HostFacts): string | null {
  const src = ipv4Of(a);
  const dst = ipv4Of(b);
  if (src === null || dst === null) return null;
  const hostBits = 32 - src.prefix;
  const net = (x: number): number => Math.floor(x / 2 ** hostBits);
  if (net(src.addr) !== net(dst.addr)) {
    return `"${b.name}" (${dst.text}) is not in the subnet of "${a.name}" (${src.cidr}), and the hosts have no router: give them addresses in one subnet`;
  }
  if (src.prefix <= 30 && dst.addr % 2 ** hostBits === 2 ** hostBits - 1) {
    return `"${b.name}" (${dst.text}) is the broadcast address of the subnet of "${a.name}" (${src.cidr})`;
  }
  return null;
}

function ipv6OffLink(a: HostFacts, b: HostFacts): string | null {
  const src = ipv6Of(a);
  const dst = ipv6Of(b);
  if (src === null || dst === null) return null;
  for (let bit = 0; bit < src.prefix; bit++) {
    const mask = 0x80 >> (bit & 7);
    if ((src.bytes[bit >> 3]! & mask) !== (dst.bytes[bit >> 3]! & mask)) {
      return `"${b.name}" (${dst.text}) is not in the prefix of "${a.name}" (${src.cidr}), and the hosts have no router: give them addresses in one prefix`;
    }
  }
  return null;
}

/**
 * A mapping none of whose keys is a rack setting is some other file (`eop validate /etc/passwd`):
 * one problem, at its first key, instead of one per line quoting the whole file back.
 */
function notARackFile(input: unknown): ConfigProblem | null {
  if (!isRecord(input)) return null;
  const keys = Object.keys(input);
  if (keys.length < 2 || keys.some((k) => (SCHEMA_KEYS.rack as readonly string[]).includes(k))) return null;
  // no key quoted: the keys are the file's lines
  return {
    path: [],
    pathText: formatPath([]),
    message: `this is not a rack file: none of its ${keys.length} top-level keys is a rack setting (allowed: ${SCHEMA_KEYS.rack.join(', ')})`,
    atKey: false,
  };
}

export type ValidationResult =
  | { ok: true; topology: Topology; problems: [] }
  | { ok: false; topology: null; problems: ConfigProblem[] };

/** Validates and normalizes a parsed rack file. Never throws for bad input; lists every problem. */
export function validateTopology(input: unknown, source: string): ValidationResult {
  const foreign = notARackFile(input);
  if (foreign !== null) return { ok: false, topology: null, problems: [foreign] };
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

/** The keys of `o` whose value is set. */
function definedOnly<T extends object>(o: T | undefined): Partial<T> {
  return o ? (Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>) : {};
}

function normalize(d: TopologyFile, source: string): Topology {
  const rackLink: LinkConfig = { ...d.link };
  const mergeLink = (over: Partial<LinkConfig> | undefined): LinkConfig => {
    const out = { ...rackLink };
    if (over) {
      for (const [k, v] of Object.entries(over)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
    }
    return out;
  };

  const tors = d.tors.map((t) => ({ name: t.name, spineLink: mergeLink(t.spineLink) }));
  // With tiers, a host without `tor` sits on the first ToR.
  const torOf = (t: string | undefined): string | null => (tors.length > 0 ? (t ?? tors[0]!.name) : null);
  const hosts: HostConfig[] = [];
  let management: ManagementHostConfig | null = null;
  let backupManagement: ManagementHostConfig | null = null;
  for (const h of d.hosts) {
    if (h.role === 'management') {
      const m = { name: h.name, declared: true, link: mergeLink(h.link), tor: torOf(h.tor) };
      if (management === null) management = m;
      else backupManagement = m;
      continue;
    }
    const index = hosts.length;
    hosts.push({
      index,
      name: h.name,
      ifName: `${LIMITS.ifNamePrefix}${h.name}`,
      mac: h.mac !== undefined ? parseMacAddress(h.mac)! : defaultMac(index),
      ipv4: h.ipv4 !== undefined ? parseIpv4Cidr(h.ipv4)! : defaultIpv4(index)!,
      ipv6: h.ipv6 !== undefined ? parseIpv6Cidr(h.ipv6)! : defaultIpv6(index),
      mtu: h.mtu ?? d.mtu,
      link: mergeLink(h.link),
      attach: h.attach,
      tor: torOf(h.tor),
      cores: h.cores ?? d.cpu.cores,
      profile: h.profile ?? d.cpu.profile,
      dma: pickFields(HRDMA_FIELDS, { ...d.dma, ...definedOnly(h.dma) }),
      cpu: pickFields(CPU_COPY_FIELDS, { ...d.cpu, ...definedOnly(h.cpu) }),
      backupPath: h.backupPath ? { tor: h.backupPath.tor ?? torOf(h.tor), link: { ...mergeLink(h.link), ...definedOnly(h.backupPath.link) } } : null,
    });
  }
  if (management === null && d.management) {
    management = { name: DEFAULTS.managementHostName, declared: false, link: mergeLink(undefined), tor: torOf(undefined) };
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

  const faults: FaultSpec[] = d.faults.map((f, i) => ({ origin: `faults[${i}]`, atUs: f.atUs, kind: f.kind, host: f.host, count: f.count, pollUs: f.pollUs, path: f.path }));

  return {
    source,
    name: d.name,
    seed: d.seed,
    durationMs: d.durationMs,
    mtu: d.mtu,
    link: rackLink,
    switch: { ...d.switch },
    tors,
    dma: { ...d.dma },
    cpu: { ...d.cpu },
    interrupts: { ...d.interrupts },
    eop: { ...d.eop },
    captures: { ...d.captures },
    hosts,
    management,
    backupManagement,
    managementFailover: { ...d.managementFailover },
    traffic,
    faults,
    failover: { ...d.failover },
  };
}

