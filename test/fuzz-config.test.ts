/**
 * Property tests over the rack and scenario parsers (issue 8, fuzzing in CI): mutations of the
 * shipped files (every scenarios/*.yaml, the default rack printed by --print-default, in YAML and
 * JSON) must end in a topology/scenario or a typed EopError with a stable input code; never another
 * throw, never more than 21 lines of message. A mutated rack that validates must also run (what
 * validate accepts, run runs). Fixed seeds and bounded runs keep this deterministic and fast.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { parseScenarioText } from '../src/bench/scenario.js';
import { EopError, ErrorCode } from '../src/errors.js';
import { runTopology } from '../src/run/run-rack.js';
import { DEFAULT_RACK_YAML, defaultRackYaml } from '../src/topology/default-rack.js';
import { parseTopologyText } from '../src/topology/load.js';
import type { Topology } from '../src/topology/schema.js';

const SCENARIO_DIR = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', 'scenarios');
const SCENARIOS = readdirSync(SCENARIO_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => readFileSync(join(SCENARIO_DIR, f), 'utf8'));
const RACKS = [DEFAULT_RACK_YAML, defaultRackYaml({ examples: 'active' })];

const INPUT_CODES = new Set<string>([ErrorCode.CONFIG_INVALID, ErrorCode.LIMIT_EXCEEDED]);

/** Runs `fn`; a throw must be an EopError with an input code and a bounded message. */
function typedOutcome<T>(fn: () => T): T | null {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof EopError)) throw new Error(`untyped throw: ${e instanceof Error ? e.stack : String(e)}`);
    expect(INPUT_CODES.has(e.code), `code ${e.code}: ${e.message}`).toBe(true);
    expect(e.message.length).toBeGreaterThan(0);
    expect(e.message.split('\n').length).toBeLessThanOrEqual(21);
    return null;
  }
}

// ------------------------------------------------------------------------- mutations

/** Values that have broken parsers before: extremes, wrong types, controls, odd unicode. */
const nasty = fc.oneof(
  fc.constantFrom<unknown>(0, -1, 1, 2 ** 31, 2 ** 53, -(2 ** 53), 1e12, 1e300, -1e300, 0.5, 1e-9, 65535, 65536, 70000, 254, 255, 256, 257),
  fc.constantFrom<unknown>('', ' ', 'all', 'h1', 'mh', '\u0000', '\u001b[31m', 'ff:ff:ff:ff:ff:ff', '10.11.0.1/24', '10.12.0.1/24', 'fd00:e0::1/64', '::/0', '1e3', 'NaN', '-0', 'true'),
  fc.constantFrom<unknown>(null, true, false, [], {}, [null], { kind: 'ping' }, { kind: 'udp', from: 'h1', to: 'h2' }),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 6 }),
);

type Json = unknown;

/** Every path to a node of `v` (objects and arrays included). */
function paths(v: Json, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...prefix, i], out));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...prefix, k], out);
  return out;
}

type Edit = { op: 'set'; at: number; value: unknown } | { op: 'delete'; at: number } | { op: 'addKey'; at: number; key: string; value: unknown } | { op: 'dup'; at: number };

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: nasty }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('addKey' as const), at: fc.nat(), key: fc.oneof(fc.constantFrom('mtu', 'count', 'hosts', 'kind', 'gen', 'matrix', '<<', '__proto__', 'constructor'), fc.string({ maxLength: 8 })), value: nasty }),
  fc.record({ op: fc.constant('dup' as const), at: fc.nat() }),
);

/** Applies structural edits to a deep copy of `doc`. */
function applyEdits(doc: Json, edits: Edit[]): Json {
  let root = structuredClone(doc);
  for (const e of edits) {
    const ps = paths(root);
    const path = ps[e.at % ps.length]!;
    if (path.length === 0) {
      if (e.op === 'set') root = e.value;
      continue;
    }
    const parent = path.slice(0, -1).reduce<any>((n, k) => n[k], root);
    const key = path[path.length - 1]!;
    if (e.op === 'set') parent[key] = e.value;
    else if (e.op === 'delete') Array.isArray(parent) ? parent.splice(key as number, 1) : delete parent[key];
    else if (e.op === 'dup' && Array.isArray(parent)) parent.push(structuredClone(parent[key as number]));
    else if (e.op === 'addKey') {
      const target = parent[key];
      if (target !== null && typeof target === 'object' && !Array.isArray(target)) Object.defineProperty(target, e.key, { value: e.value, enumerable: true, writable: true, configurable: true });
    }
  }
  return root;
}

/** Byte-level damage: insert, delete or replace a character; cut; duplicate or drop a line. */
const textEdit = fc.oneof(
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), s: fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom(':', '- ', '{', '[', '"', "'", '&a ', '*a', '!!binary ', '---\n', '\t', '\u0000', '\uFFFD', '\\', '#')) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ op: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('dupLine' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('dropLine' as const), at: fc.nat() }),
);

function applyTextEdits(text: string, edits: { op: string; at: number; s?: string; n?: number }[]): string {
  let t = text;
  for (const e of edits) {
    const at = t.length === 0 ? 0 : e.at % t.length;
    const lines = t.split('\n');
    const li = lines.length === 0 ? 0 : e.at % lines.length;
    if (e.op === 'insert') t = t.slice(0, at) + e.s! + t.slice(at);
    else if (e.op === 'delete') t = t.slice(0, at) + t.slice(at + e.n!);
    else if (e.op === 'cut') t = t.slice(0, at);
    else if (e.op === 'dupLine') t = [...lines.slice(0, li + 1), lines[li]!, ...lines.slice(li + 1)].join('\n');
    else if (e.op === 'dropLine') t = [...lines.slice(0, li), ...lines.slice(li + 1)].join('\n');
  }
  return t;
}

/** A validated rack must run; short, without captures, so a run costs milliseconds. */
function mustRun(t: Topology): void {
  const r = runTopology({ ...t, durationMs: Math.min(t.durationMs, 1) }, { captures: false });
  expect(r.pings.length + r.streams.length).toBe(t.traffic.length);
}

const SEED = 0x5eed;

describe('fuzz: rack files (mutations of the printed default rack)', () => {
  it('structural mutations (YAML and JSON): a topology that runs, or a typed input error', () => {
    const heap0 = process.memoryUsage().heapUsed;
    let valid = 0;
    fc.assert(
      fc.property(fc.constantFrom(...RACKS), fc.array(edit, { minLength: 1, maxLength: 4 }), fc.boolean(), (text, edits, asJson) => {
        const doc = applyEdits(parse(text), edits);
        const out = asJson ? JSON.stringify(doc) ?? 'null' : stringify(doc);
        const t = typedOutcome(() => parseTopologyText(out, asJson ? 'm.json' : 'm.yaml', asJson ? 'json' : 'yaml'));
        if (t !== null) {
          valid++;
          mustRun(t);
        }
      }),
      { seed: SEED, numRuns: 60 },
    );
    expect(valid).toBeGreaterThan(5); // the property also exercised the run, not only rejections
    expect(process.memoryUsage().heapUsed - heap0).toBeLessThan(256 * 1024 * 1024);
  });

  it('text-level damage: never an untyped throw', () => {
    fc.assert(
      fc.property(fc.constantFrom(...RACKS), fc.array(textEdit, { minLength: 1, maxLength: 5 }), fc.boolean(), (text, edits, asJson) => {
        const src = asJson ? JSON.stringify(parse(text), null, 2) : text;
        const damaged = applyTextEdits(src, edits);
        const t = typedOutcome(() => parseTopologyText(damaged, 'd', asJson ? 'json' : 'yaml'));
        if (t !== null) expect(t.hosts.length).toBeGreaterThan(0);
      }),
      { seed: SEED + 1, numRuns: 150 },
    );
  });
});

describe('fuzz: bench scenarios (mutations of scenarios/*.yaml)', () => {
  it('structural and text mutations: a scenario, or a typed input error', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SCENARIOS), fc.array(edit, { minLength: 1, maxLength: 4 }), (text, edits) => {
        const s = typedOutcome(() => parseScenarioText(stringify(applyEdits(parse(text), edits)), 's.yaml'));
        if (s !== null) expect(s.variants.length * s.messageBytes.length).toBeLessThanOrEqual(1000);
      }),
      { seed: SEED + 2, numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.constantFrom(...SCENARIOS), fc.array(textEdit, { minLength: 1, maxLength: 5 }), (text, edits) => {
        typedOutcome(() => parseScenarioText(applyTextEdits(text, edits), 's.yaml'));
      }),
      { seed: SEED + 3, numRuns: 200 },
    );
  });
});
