/**
 * Scenario files: the shipped ones load; a malformed one is refused with an error naming the
 * field (and the CLI exits 2).
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EopError, ErrorCode } from '../src/errors.js';
import { loadScenario, parseScenarioText } from '../src/bench/scenario.js';
import { resolveScenario } from '../src/cli/bench.js';
import { main } from '../src/cli/main.js';
import { captureCliOutput } from './helpers/cli-output.js';

const dir = fileURLToPath(new URL('../scenarios/', import.meta.url));

function problems(text: string, source = 'bad.yaml'): string {
  try {
    parseScenarioText(text, source);
  } catch (e) {
    expect(e).toBeInstanceOf(EopError);
    expect((e as EopError).code).toBe(ErrorCode.CONFIG_INVALID);
    return (e as EopError).message;
  }
  throw new Error('scenario was accepted');
}

describe('bench: scenario files', () => {
  it('every shipped scenario loads', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(files).toEqual(expect.arrayContaining(['marlin-inter-host.yaml', 'msi-vs-doorbell.yaml', 'gen-scaling.yaml']));
    for (const f of files) expect(loadScenario(join(dir, f)).variants.length).toBeGreaterThan(0);
  });

  it('a .json scenario is strict JSON, as a rack file: duplicate keys and comments are named as JSON errors', () => {
    const ok = '{"name": "j", "messageBytes": [4096], "variants": [{"name": "a", "traffic": "udp"}]}';
    expect(parseScenarioText(ok, 's.json').variants).toHaveLength(1);
    expect(problems('{"name": "a", "name": "b"}', 's.json')).toMatch(/^s\.json:1:\d+: malformed JSON: keys must be unique/);
    expect(problems('# a comment\n' + ok, 's.json')).toMatch(/^s\.json:\S* malformed JSON/);
  });

  it('a matrix multiplies the variants', () => {
    const s = loadScenario(join(dir, 'gen-scaling.yaml'));
    expect(s.variants.map((v) => v.name)).toContain('TCP aligned · Gen5');
    expect(s.variants.every((v) => v.width === 16)).toBe(true);
  });

  it('names the field of a bad value, with a suggestion', () => {
    const msg = problems('name: x\nmessageBytes: [1024]\nvariants:\n  - name: a\n  - name: b\n    alignment: unalinged\n');
    expect(msg).toContain('bad.yaml:6:16: variants[1].alignment: must be one of "aligned", "unaligned", "copy"; did you mean "unaligned"? (got "unalinged")');
  });

  it('names an unknown key, a bad number and a missing field, all at once', () => {
    const msg = problems('name: x\nmessageBytes: [1024, 20000000]\nrack:\n  link: {gen: 6}\nvariants:\n  - name: a\n    flowz: 2\n');
    expect(msg).toContain('messageBytes[1]: must be an integer from 1 to 16777216 (got 20000000)');
    expect(msg).toContain('rack.link.gen: must be one of 1, 2, 3, 4, 5 (got 6)');
    expect(msg).toContain('variants[0].flowz: unknown key; did you mean "flows"?');
    expect(problems('name: x\nvariants: [{name: a}]\n')).toContain('messageBytes: required');
  });

  describe('CLI', () => {
    const io = captureCliOutput();

    it('exits 2 on a malformed scenario, naming the field', async () => {
      const d = mkdtempSync(join(tmpdir(), 'eop-bench-'));
      const f = join(d, 'bad.yaml');
      writeFileSync(f, 'name: bad\nmessageBytes: [64]\nvariants:\n  - name: a\n    traffic: tcpp\n');
      expect(await main(['node', 'eop', 'bench', f, '--no-progress'])).toBe(2);
      expect(io.err).toContain('variants[0].traffic: must be one of "udp", "tcp", "pingpong"; did you mean "tcp"?');
    });

    it('exits 2 on a file that is not YAML', async () => {
      const d = mkdtempSync(join(tmpdir(), 'eop-bench-'));
      const f = join(d, 'broken.yaml');
      writeFileSync(f, 'name: [unclosed\n');
      expect(await main(['node', 'eop', 'bench', f, '--no-progress'])).toBe(2);
      expect(io.err).toContain('malformed YAML');
    });

    it('--list names every shipped scenario with its one-line description; extra arguments exit 2', async () => {
      expect(await main(['node', 'eop', 'bench', '--list'])).toBe(0);
      const lines = io.out.trim().split('\n');
      for (const f of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
        const name = f.replace(/\.yaml$/, '');
        const line = lines.find((l) => l.startsWith(`${name} `));
        expect(line, name).toBeDefined();
        expect(line!.slice(name.length).trim().length, `${name} has a description`).toBeGreaterThan(10);
      }
      expect(io.out).toMatch(/^marlin-inter-host .*\(the default\)$/m);
      expect(await main(['node', 'eop', 'bench', '--list', 'extra.yaml'])).toBe(2);
      expect(io.err).toContain('--list takes no scenario (got "extra.yaml")');
    });

    it('an unknown name exits 2 listing the shipped names', async () => {
      expect(await main(['node', 'eop', 'bench', 'marlin-inter-hots', '--no-progress'])).toBe(2);
      expect(io.err).toContain('"marlin-inter-hots" is neither a file nor a shipped scenario (shipped: copy-engines, flows-and-hosts, gen-scaling,');
      expect(io.out).toBe('');
    });

    it('output paths are refused before the run (nothing printed, nothing written)', async () => {
      const d = mkdtempSync(join(tmpdir(), 'eop-bench-'));
      const cases: [string[], string][] = [
        [['--svg', join(d, 'no-such-dir', 'x.svg')], `the folder ${join(d, 'no-such-dir')} does not exist (checked before the run)`],
        [['--csv', d], 'is a folder; give a file name'],
        [['--svg', '-'], '--svg needs a file name'],
        [['--csv', '--no-progress'], '--csv needs a file name (or - for stdout), got the option-like "--no-progress"'],
        [['--csv', '-', '--json'], '--json and --csv - both write to stdout'],
        [['--csv', join(d, 'a'), '--svg', join(d, 'a')], '--svg and --csv name the same file'],
      ];
      for (const [args, msg] of cases) {
        io.err = '';
        expect(await main(['node', 'eop', 'bench', 'marlin-inter-host', '--no-progress', ...args]), args.join(' ')).toBe(2);
        expect(io.err).toContain(msg);
      }
      expect(io.out).toBe('');
      expect(readdirSync(d)).toEqual([]);
    });

    it('names the files it wrote after the run; a shipped name resolves to its file', async () => {
      const d = mkdtempSync(join(tmpdir(), 'eop-bench-'));
      const f = join(d, 'tiny.yaml');
      writeFileSync(f, 'name: tiny\nmessageBytes: [4096]\nmeasure: {bytes: 65536}\nvariants:\n  - {name: a, traffic: udp}\n');
      const csv = join(d, 'p.csv');
      const svg = join(d, 'p.svg');
      expect(await main(['node', 'eop', 'bench', f, '--no-progress', '--csv', csv, '--svg', svg])).toBe(0);
      expect(io.out).toContain(`1 points in`);
      expect(io.out).toContain(`wrote ${csv} (CSV), ${svg} (plot)`);
      expect(readFileSync(csv, 'utf8')).toMatch(/^scenario,variant/);
      expect(readFileSync(svg, 'utf8')).toMatch(/^<svg/);
      expect(resolveScenario('msi-vs-doorbell')).toBe(join(dir, 'msi-vs-doorbell.yaml'));
      expect(resolveScenario('msi-vs-doorbell.yaml')).toBe(join(dir, 'msi-vs-doorbell.yaml'));
    });
  });
});

describe('scenario link settings', () => {
  it('rack.link gen and width apply when no variant sets them (and the limit follows)', async () => {
    const { runScenario } = await import('../src/bench/run.js');
    const s = parseScenarioText('name: slow\nmessageBytes: [8192]\nrack:\n  link: {gen: 1, width: 1}\nvariants:\n  - {name: a, traffic: udp}\n  - {name: b, traffic: udp, gen: 3, width: 8}\n', 'slow.yaml');
    expect(s.variants.map((v) => [v.gen, v.width])).toEqual([[1, 1], [3, 8]]);
    const run = runScenario(s, {});
    const [a, b] = run.points;
    // Gen1 x1, MPS 256, 4-DW headers upstream: 2 × 1534/1538 (SKP) × 256/280 = 1.824 Gb/s (link.ts)
    expect(a!.limitGbps).toBeCloseTo(1.824, 3);
    expect(a!.gbps).toBeLessThanOrEqual(a!.limitGbps);
    expect(b!.gbps).toBeGreaterThan(5 * a!.gbps);
  });
});
