import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEFAULT_RACK, DEFAULT_RACK_YAML, defaultRackYaml } from '../src/topology/default-rack.js';
import { FIELD_DOCS } from '../src/topology/field-docs.js';
import { parseTopologyText } from '../src/topology/load.js';
import { SCHEMA_KEYS } from '../src/topology/shapes.js';

type Rec = Record<string, unknown>;

/** Every key the file uses, as `SCHEMA_KEYS` groups them (`rack`, sections, `host`, traffic kinds). */
function keysUsed(file: Rec): Map<string, Set<string>> {
  const used = new Map<string, Set<string>>();
  const add = (group: string, keys: string[]): void => {
    const s = used.get(group) ?? new Set<string>();
    for (const k of keys) s.add(k);
    used.set(group, s);
  };
  add('rack', Object.keys(file));
  for (const [k, v] of Object.entries(file)) {
    if (k in SCHEMA_KEYS && k !== 'rack' && v !== null && typeof v === 'object' && !Array.isArray(v)) add(k, Object.keys(v as Rec));
  }
  for (const h of file.hosts as unknown[]) {
    if (typeof h !== 'object' || h === null) continue;
    add('host', Object.keys(h as Rec));
    const bp = (h as Rec).backupPath;
    if (typeof bp === 'object' && bp !== null) add('backupPath', Object.keys(bp as Rec));
  }
  for (const t of (file.tors ?? []) as unknown[]) if (typeof t === 'object' && t !== null) add('tor', Object.keys(t as Rec));
  for (const t of file.traffic as Rec[]) add(String(t.kind), Object.keys(t));
  for (const f of (file.faults ?? []) as Rec[]) add('fault', Object.keys(f));
  return used;
}

describe('eop run --print-default is generated from the schema', () => {
  it('the printed file validates and is the rack eop run uses', () => {
    const t = parseTopologyText(DEFAULT_RACK_YAML, 'printed.yaml');
    expect(t.hosts).toEqual(DEFAULT_RACK.hosts);
    expect(t.traffic).toEqual(DEFAULT_RACK.traffic);
  });

  it('every schema key appears in the printed file, with its one-line description', () => {
    for (const [group, keys] of Object.entries(SCHEMA_KEYS)) {
      for (const k of keys) {
        const d = FIELD_DOCS[`${group}.${k}`];
        expect(d, `${group}.${k} has no description`).toMatch(/\S/);
        // the key, then its description on the same line (commented-out examples count)
        const line = DEFAULT_RACK_YAML.split('\n').find((l) => new RegExp(`^[ #-]*${k}:.*# ${d!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`).test(l));
        expect(line, `${group}.${k} is not printed with its description`).toBeDefined();
      }
    }
    // and no description of a key that no longer exists
    const all = new Set(Object.entries(SCHEMA_KEYS).flatMap(([g, ks]) => ks.map((k) => `${g}.${k}`)));
    expect(Object.keys(FIELD_DOCS).filter((k) => !all.has(k))).toEqual([]);
  });

  it('with the examples uncommented the file still validates and uses every key of every traffic kind', () => {
    const active = defaultRackYaml({ examples: 'active' });
    // uncommenting by hand gives the same file as generating it active
    const uncommented = DEFAULT_RACK_YAML.split('\n')
      .map((l) => (l.startsWith('  # - ') || l.startsWith('  #   ') ? `  ${l.slice(4)}` : /^# ( |tors:|faults:)/.test(l) ? l.slice(2) : l))
      .join('\n')
      .replace(' (uncomment to use):', ':');
    const columns = (text: string): string => text.replace(/ +# /g, ' # '); // comment columns shift by the "# "
    expect(columns(uncommented)).toBe(columns(active));
    const t = parseTopologyText(active, 'active.yaml');
    expect(t.traffic.some((x) => x.kind === 'ping' && x.origin === 'traffic[2]')).toBe(true);
    expect(t.traffic.some((x) => x.kind === 'udp' && x.durationUs === 500 && x.rateGbps === 5)).toBe(true);
    const used = keysUsed(parse(active) as Rec);
    for (const [group, keys] of Object.entries(SCHEMA_KEYS)) {
      expect([...(used.get(group) ?? [])].sort(), group).toEqual([...keys].sort());
    }
  });
});
