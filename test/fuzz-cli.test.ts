/**
 * Property tests over the command line (issue 8, fuzzing in CI): random argument vectors for every
 * command end with exit 0, 1 or 2 and a message, never an internal error or a stack trace, and bad
 * input (an unknown option, a bad value, a bad file) exits 2.
 *
 * Safety: `up`, `down` and `exec` change the machine's namespaces, so their vectors always carry an
 * unknown option: commander rejects them before any action (their parsing is what is fuzzed here;
 * their live behaviour is tested in test/system under the isolation wrapper). `run` never writes
 * captures (--no-captures first) and `bench` is held to one point (--max-points 1) so a vector
 * cannot start a sweep; both only read files made here.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { DEFAULT_RACK_YAML } from '../src/topology/default-rack.js';
import { captureCliOutput } from './helpers/cli-output.js';

const dir = mkdtempSync(join(tmpdir(), 'eop-fuzz-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string | Buffer): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

const FILES = [
  file('rack.yaml', DEFAULT_RACK_YAML.replace('durationMs: 100', 'durationMs: 1')),
  file('bad.yaml', 'hosts: [a, a]\n'),
  file('broken.json', '{"hosts": ['),
  file('dup.json', '{"hosts": ["a"], "hosts": ["b"]}'),
  file('binary.yaml', Buffer.from([0xff, 0xfe, 0x00, 0x1b, 0x5b])),
  file('scenario.yaml', 'name: s\nmessageBytes: [64]\nvariants: [{name: a}, {name: b}]\n'),
  join(dir, 'missing.yaml'),
  dir,
  '/dev/zero',
  '',
];

const VALUES = fc.oneof(
  fc.constantFrom('0', '1', '-1', '1e12', 'NaN', 'abc', '', ' ', '65536', '4294967296', '0.5', '--', '-', '\u001b[31m', 'a\u0000b'),
  fc.constantFrom(...FILES),
  fc.string({ maxLength: 6 }),
);

const FLAGS: Record<string, readonly string[]> = {
  run: ['--duration-ms', '--seed', '--capture-dir', '--json', '--strict', '--log-level', '--print-default', '--max-input-kib', '--max-duration-ms', '--max-memory-mib', '--help'],
  validate: ['--max-input-kib', '--max-duration-ms', '--max-memory-mib', '--help'],
  bench: ['--json', '--csv', '--svg', '--seed', '--progress', '--no-progress', '--list', '--max-input-kib', '--help'],
  up: ['--no-captures', '--capture-dir', '--no-gro', '--stats', '--lag-tolerance-ms', '--log-level', '--max-input-kib'],
  down: ['--force'],
  exec: [],
};

/** A token: a flag of the command, a value, a file, or junk. */
const token = (cmd: string): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 3, arbitrary: FLAGS[cmd]!.length > 0 ? fc.constantFrom(...FLAGS[cmd]!) : fc.constant('--') },
    { weight: 3, arbitrary: VALUES },
    { weight: 1, arbitrary: fc.constantFrom('--nope', '-x', '--json=1', 'run', 'extra') },
  );

/** Commands whose action would touch the machine get an unknown option, so only parsing runs. */
const LIVE = new Set(['up', 'down', 'exec']);
const UNKNOWN_OPTION = '--fuzz-unknown-option';

const vector = fc.constantFrom('run', 'validate', 'bench', 'up', 'down', 'exec', 'nosuch').chain((cmd) =>
  fc.array(token(cmd in FLAGS ? cmd : 'down'), { maxLength: 6 }).map((rest) => {
    if (LIVE.has(cmd)) return [cmd, UNKNOWN_OPTION, ...rest];
    if (cmd === 'run') return [cmd, '--no-captures', ...rest];
    if (cmd === 'bench') return [cmd, '--max-points', '1', '--no-progress', ...rest.filter((t) => t !== '--csv' && t !== '--svg')];
    return [cmd, ...rest];
  }),
);

const io = captureCliOutput();

describe('fuzz: command-line argument vectors for every command', () => {
  it('exit 0, 1 or 2 with a message; never an internal error; bad input exits 2', async () => {
    const heap0 = process.memoryUsage().heapUsed;
    const codes = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(vector, async (argv) => {
        io.clear();
        process.exitCode = undefined;
        const code = await main(['node', 'eop', ...argv]);
        codes.set(code, (codes.get(code) ?? 0) + 1);
        const why = `eop ${JSON.stringify(argv)} → ${code}\n${io.err.slice(0, 500)}`;
        expect([0, 1, 2], why).toContain(code);
        expect(io.err, why).not.toContain('internal error');
        expect(io.err, why).not.toMatch(/\n {4}at /); // no stack trace
        // eslint-disable-next-line no-control-regex
        expect(io.err.replace(/\n/g, ''), why).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
        if (code === 2) expect(io.err.trim().length, why).toBeGreaterThan(0);
        if (argv.includes(UNKNOWN_OPTION) || argv[0] === 'nosuch' || argv.includes('--nope')) expect(code, why).toBe(2);
      }),
      { seed: 0xc11, numRuns: 150 },
    );
    // the vectors reached more than the parser: some ran, some were refused
    expect(codes.get(2) ?? 0).toBeGreaterThan(20);
    expect(codes.get(0) ?? 0).toBeGreaterThan(5);
    expect(process.memoryUsage().heapUsed - heap0).toBeLessThan(256 * 1024 * 1024);
  });
});
