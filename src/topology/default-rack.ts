/**
 * The rack `eop run` uses when no file is given, as YAML (what `eop run --print-default` prints,
 * for the user to copy and edit) and parsed.
 *
 * The YAML is generated from the schema, so it cannot drift from it: every key of `SCHEMA_KEYS` is
 * printed with its default from `DEFAULTS` and its line from `FIELD_DOCS`, including every traffic
 * kind's options (the kinds the default rack does not run are printed commented out, ready to
 * uncomment). `test/default-rack.test.ts` checks that the printed file validates, that it names
 * every schema key, and that the commented examples validate too.
 */
import { parse } from 'yaml';
import { defaultIpv4, defaultIpv6, defaultMac } from './addresses.js';
import { FIELD_DOCS } from './field-docs.js';
import { parseTopologyText } from './load.js';
import { SCHEMA_KEYS } from './shapes.js';
import { DEFAULTS, type Topology } from './types.js';

export const DEFAULT_RACK_SOURCE = '<default rack>';

/** Where a value's comment starts, so the file reads as two columns. */
const COMMENT_COLUMN = 30;

type Scalar = string | number | boolean;

function scalar(v: Scalar): string {
  if (typeof v !== 'string') return String(v);
  // plain YAML when it reads back as the same string, else a double-quoted (JSON) string
  return /^[A-Za-z0-9][\w.:/-]*$/.test(v) && parse(v, { version: '1.2' }) === v ? v : JSON.stringify(v);
}

function doc(key: string): string {
  const d = FIELD_DOCS[key];
  if (d === undefined) throw new Error(`default rack: no FIELD_DOCS entry for "${key}"`);
  return d;
}

class Writer {
  readonly lines: string[] = [];
  line(text: string, comment?: string): void {
    this.lines.push(comment === undefined ? text : `${text.padEnd(COMMENT_COLUMN - 1)} # ${comment}`);
  }
  /** `key: value  # doc` at `indent`; `prefix` replaces the indent's last two spaces ("- " for a list entry). */
  kv(indent: string, key: string, value: Scalar | null, docKey: string, prefix = ''): void {
    const lead = prefix ? indent.slice(0, -2) + prefix : indent;
    this.line(`${lead}${key}:${value === null ? '' : ` ${scalar(value)}`}`, doc(docKey));
  }
}

/** Prints one section of rack-wide settings, every key with its default. */
function section(w: Writer, name: keyof typeof SCHEMA_KEYS & keyof typeof DEFAULTS): void {
  const values = DEFAULTS[name] as unknown as Record<string, Scalar>;
  w.kv('', name, null, `rack.${name}`);
  for (const k of SCHEMA_KEYS[name]) w.kv('  ', k, values[k]!, `${name}.${k}`);
  w.line('');
}

/** A traffic entry: `values` in schema order; keys without a value are left out. */
function trafficEntry(w: Writer, kind: 'ping' | 'udp' | 'ping-all', values: Record<string, Scalar>, commented: boolean): void {
  const c = commented ? '# ' : '';
  let first = true;
  for (const k of SCHEMA_KEYS[kind]) {
    const v = k === 'kind' ? kind : values[k];
    if (v === undefined) continue;
    w.kv(`  ${c}  `, k, v, `${kind}.${k}`, first ? '- ' : '');
    first = false;
  }
}

export interface DefaultRackYamlOptions {
  /** The example traffic entries the default rack does not run: commented out (printed) or active (tests). */
  examples: 'commented' | 'active';
}

/** The default rack as YAML, generated from the schema (see the file comment). */
export function defaultRackYaml(o: DefaultRackYamlOptions = { examples: 'commented' }): string {
  const w = new Writer();
  w.line('# EOP rack: Ethernet over a PCIe fabric. Generated from the schema: every setting is shown');
  w.line('# with its default value and what it means. Only "hosts" is required; delete what you keep at');
  w.line('# the default. Check a file with "eop validate FILE"; run it with "eop run FILE".');
  w.kv('', 'name', 'default', 'rack.name');
  w.kv('', 'seed', DEFAULTS.seed, 'rack.seed');
  w.kv('', 'durationMs', DEFAULTS.durationMs, 'rack.durationMs');
  w.kv('', 'mtu', DEFAULTS.mtu, 'rack.mtu');
  w.kv('', 'management', DEFAULTS.management, 'rack.management');
  w.line('');

  // Examples the default rack does not use (switch tiers, more traffic kinds) are commented out.
  const c = o.examples === 'commented' ? '# ' : '';
  // Three hosts by bare name, the fourth with every host key spelled out at its default value.
  w.kv('', 'hosts', null, 'rack.hosts');
  const m = defaultMac(0);
  w.line('  - h1', `defaults: mac ${m.text}, ipv4 ${defaultIpv4(0)!.cidr}, ipv6 ${defaultIpv6(0).cidr}`);
  w.line('  - h2');
  w.line('  - h3');
  const h4: Record<string, Scalar | null> = {
    name: 'h4',
    mac: defaultMac(3).text,
    ipv4: defaultIpv4(3)!.cidr,
    ipv6: defaultIpv6(3).cidr,
    mtu: DEFAULTS.mtu,
    link: null,
    cores: DEFAULTS.cpu.cores,
    profile: DEFAULTS.cpu.profile,
    attach: DEFAULTS.host.attach,
    role: DEFAULTS.host.role,
  };
  SCHEMA_KEYS.host.forEach((k, i) => {
    // One switch tier by default: a host's tor is shown as a commented example.
    if (k === 'tor') w.kv(`${c}    `, k, 'tor1', `host.${k}`);
    else if (k === 'dma' || k === 'cpu') {
      // Commented examples: an uncommented value would pin h4 when the rack-wide one is edited.
      w.kv(`${c}    `, k, null, `host.${k}`);
      if (k === 'dma') w.kv(`${c}      `, 'peakGbps', 60, 'dma.peakGbps');
      else w.kv(`${c}      `, 'wcBuffers', 12, 'cpu.wcBuffers');
    }
    else if (k === 'backupPath') {
      // One NTB path by default: a second one, on the other switch, as a commented example.
      w.kv(`${c}    `, k, null, `host.${k}`);
      w.kv(`${c}      `, 'tor', 'tor2', 'backupPath.tor');
      w.kv(`${c}      `, 'link', null, 'backupPath.link');
      w.kv(`${c}        `, 'width', 4, 'link.width');
    } else w.kv('    ', k, h4[k] ?? null, `host.${k}`, i === 0 ? '- ' : '');
    if (k === 'link') w.kv('      ', 'gen', DEFAULTS.link.gen, 'link.gen');

  });
  w.line('');

  for (const s of ['link', 'switch'] as const) section(w, s);
  // Switch tiers (commented: the default rack has one switch).
  w.kv(c, 'tors', null, 'rack.tors');
  w.kv(`${c}    `, 'name', 'tor1', 'tor.name', '- ');
  w.kv(`${c}    `, 'spineLink', null, 'tor.spineLink');
  w.kv(`${c}      `, 'width', 16, 'link.width');
  w.line(`${c}  - tor2`);
  w.line('');
  for (const s of ['dma', 'cpu', 'interrupts', 'eop', 'captures', 'failover', 'managementFailover'] as const) section(w, s);

  w.kv('', 'traffic', null, 'rack.traffic');
  trafficEntry(w, 'ping-all', { count: DEFAULTS.pingAll.count, intervalUs: DEFAULTS.pingAll.intervalUs }, false);
  trafficEntry(w, 'udp', { from: 'h1', to: 'h2', dstPort: DEFAULTS.udp.dstPort, messageBytes: DEFAULTS.udp.messageBytes, count: 2000, alignOffsetBytes: DEFAULTS.udp.alignOffsetBytes, startUs: DEFAULTS.udp.startUs }, false);
  const commented = c !== '';
  w.line(commented ? '  # More kinds and options (uncomment to use):' : '  # More kinds and options:');
  trafficEntry(w, 'ping', { from: 'h1', to: 'h3', ...DEFAULTS.ping }, commented);
  trafficEntry(w, 'udp', { from: 'h3', to: 'h4', dstPort: DEFAULTS.udp.dstPort, messageBytes: 1000, rateGbps: 5, durationUs: 500, alignOffsetBytes: 3, startUs: 10 }, commented);
  w.line('');
  // Faults (commented: the default rack runs without failures). h4 loses its link and gets it back;
  // h3 loses one interrupt, which its driver's poll finds.
  w.kv(c, 'faults', null, 'rack.faults');
  const fault = (values: Record<string, Scalar>): void => {
    SCHEMA_KEYS.fault.forEach((k, i) => {
      if (values[k] !== undefined) w.kv(`${c}    `, k, values[k]!, `fault.${k}`, i === 0 ? '- ' : '');
    });
  };
  fault({ atUs: 200, kind: 'link-down', host: 'h4' });
  fault({ atUs: 400, kind: 'link-up', host: 'h4' });
  fault({ atUs: 100, kind: 'irq-lost', host: 'h3', count: DEFAULTS.fault.count, pollUs: DEFAULTS.fault.pollUs });
  // h4's primary NTB path fails: its driver moves to the backup path declared above.
  fault({ atUs: 600, kind: 'path-down', host: 'h4', path: DEFAULTS.fault.path });
  return w.lines.join('\n') + '\n';
}

export const DEFAULT_RACK_YAML = defaultRackYaml();

/** A fresh, mutable copy of the default rack. */
export function defaultRack(): Topology {
  return parseTopologyText(DEFAULT_RACK_YAML, DEFAULT_RACK_SOURCE, 'yaml');
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !ArrayBuffer.isView(v) && !Object.isFrozen(v)) {
    for (const child of Object.values(v)) deepFreeze(child);
    Object.freeze(v);
  }
  return v;
}

/** The default rack, parsed once and frozen (its MAC and IPv6 byte arrays excepted); use `defaultRack()` to get one you may change. */
export const DEFAULT_RACK: Topology = deepFreeze(defaultRack());
