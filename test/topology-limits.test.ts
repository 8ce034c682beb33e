/**
 * Input limits (issue 8 item 3) and strict input (items 4-6): each bad input gets a stable code, a
 * message naming the limit or field and how to change it, and no work is started.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseScenarioText, loadScenario } from '../src/bench/scenario.js';
import { ErrorCode } from '../src/errors.js';
import { runTopology } from '../src/run/run-rack.js';
import { DEFAULT_INPUT_LIMITS, estimateRackMemory } from '../src/topology/limits.js';
import { checkTopologyLimits, loadTopology, parseTopology, parseTopologyText } from '../src/topology/load.js';
import { firstInvalidUtf8 } from '../src/topology/source.js';
import { expectEopError } from './helpers/eop-error.js';

const dir = mkdtempSync(join(tmpdir(), 'eop-limits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, data: string | Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
}

const failure = expectEopError;

const hosts = (n: number): string[] => Array.from({ length: n }, (_, i) => `h${i + 1}`);

describe('limits are checked before any work, name the limit and the flag that raises it', () => {
  it('input file size: /dev/zero is refused after maxInputBytes, not read until memory runs out', () => {
    const e = failure(() => loadTopology('/dev/zero'), ErrorCode.LIMIT_EXCEEDED);
    expect(e.message).toBe('/dev/zero: the topology file is larger than the input limit of 1024 KiB (maxInputBytes); raise it with --max-input-kib <KiB>');
    // a 1.5 MiB file (mostly comments) is refused by default and read with the limit raised
    const big = write('big.yaml', `${`#${'x'.repeat(1023)}\n`.repeat(1500)}hosts: [a, b]\n`);
    failure(() => loadTopology(big), ErrorCode.LIMIT_EXCEEDED);
    expect(loadTopology(big, { ...DEFAULT_INPUT_LIMITS, maxInputBytes: 2 * 1024 * 1024 }).hosts).toHaveLength(2);
    failure(() => loadScenario(big), ErrorCode.LIMIT_EXCEEDED);
  });

  it('simulated duration: durationMs 1e12 is refused at its line; the flag raises the limit', () => {
    const text = 'hosts: [a, b]\ndurationMs: 1e12\n';
    const e = failure(() => parseTopologyText(text, 'r.yaml'), ErrorCode.LIMIT_EXCEEDED);
    expect(e.message).toBe(
      'r.yaml:2:13: durationMs: 1000000000000 ms of virtual time is above the limit of 60000 ms (maxDurationMs); shorten durationMs or raise the limit with --max-duration-ms <ms>',
    );
    expect(parseTopologyText(text, 'r.yaml', 'yaml', { ...DEFAULT_INPUT_LIMITS, maxDurationMs: 1e12 }).durationMs).toBe(1e12);
    // a topology changed after loading (eop run --duration-ms) meets the same limit
    const t = parseTopologyText('hosts: [a, b]\n', 'r.yaml');
    expect(() => checkTopologyLimits({ ...t, durationMs: 60_001 })).toThrow(/--max-duration-ms/);
    expect(() => checkTopologyLimits({ ...t, durationMs: 60_000 })).not.toThrow();
  });

  it('estimated memory: 254 hosts with ping-all are refused up front, and fewer ring slots fix it', () => {
    const rack = (ringSlots: number) => ({ hosts: hosts(254), eop: { ringSlots }, traffic: [{ kind: 'ping-all' }] });
    // parseTopology builds nothing: the refusal comes from the estimate (the run took 82 s and 6 GB)
    const e = failure(() => parseTopology(rack(32), 'big'), ErrorCode.LIMIT_EXCEEDED);
    expect(e.message).toMatch(/^big: hosts: this rack needs an estimated [\d,]+ MiB \(receive rings [\d,]+ MiB/);
    expect(e.message).toContain('above the limit of 2,048 MiB (maxMemoryMiB)');
    // Every host floods its ARP requests: each opens its queue pairs with all 253 others.
    expect(e.message).toContain('its traffic opens 64,262 queue pair ends (254 compute hosts, 32 ring slots each;');
    expect(e.message).toContain('raise the limit with --max-memory-mib <MiB>');
    const small = parseTopology(rack(4), 'small');
    expect(estimateRackMemory(small).totalBytes).toBeLessThan(2048 * 1024 * 1024);
    expect(parseTopology(rack(32), 'big', { ...DEFAULT_INPUT_LIMITS, maxMemoryMiB: 16384 }).hosts).toHaveLength(254);
  });

  it('estimated memory follows the queue pairs the traffic opens: 256 hosts pinging all pairs with the ARP responder fit the default limit', () => {
    const many = (n: number, extra: object) =>
      parseTopology({ hosts: Array.from({ length: n }, (_, i) => ({ name: `c${i + 1}`, ipv4: `10.12.${(i + 1) >> 8}.${(i + 1) & 255}/16` })), ...extra }, 'm');
    const arpAll = many(256, { eop: { arpResponder: true }, traffic: [{ kind: 'ping-all', count: 1 }] });
    const e = estimateRackMemory(arpAll);
    expect(e.queuePairEnds).toBe(256 * 255);
    expect(e.totalBytes).toBeLessThan(2048 * 1024 * 1024);
    // One ping opens one pair with the responder, a flooding host's pairs with every host without it.
    const one = (arpResponder: boolean) => estimateRackMemory(many(256, { eop: { arpResponder }, traffic: [{ kind: 'ping', from: 'c1', to: 'c2' }] }));
    expect(one(true).queuePairEnds).toBe(2);
    expect(one(false).queuePairEnds).toBe(2 * 255);
    expect(one(true).totalBytes).toBeLessThan(e.totalBytes / 10);
    // IPv6 resolves by multicast neighbour discovery: the responder does not help there.
    expect(estimateRackMemory(many(256, { eop: { arpResponder: true }, traffic: [{ kind: 'ping', from: 'c1', to: 'c2', ipv6: true }] })).queuePairEnds).toBe(2 * 255);
    // A host attached to a TAP sends whatever its namespace sends: taken to flood.
    expect(estimateRackMemory(many(8, { hosts: [{ name: 'a', attach: 'tap' }, 'b', 'c'] })).queuePairEnds).toBe(4);
  });

  it('the memory estimate is not below what a real run of a 24-host ping-all rack costs', () => {
    const t = parseTopology({ hosts: hosts(24), captures: { enabled: false }, traffic: [{ kind: 'ping-all', count: 2 }] }, 'm');
    global.gc?.();
    const base = process.memoryUsage().rss;
    let peak = base;
    const r = runTopology(t, {
      captures: false,
      onSlice: () => {
        peak = Math.max(peak, process.memoryUsage().rss);
      },
    });
    expect(r.finished).toBe(true);
    const est = estimateRackMemory(t).totalBytes;
    expect(peak - base).toBeLessThanOrEqual(est * 1.25);
  });

  it('scenario matrix points: refused before expansion, naming the product and --max-points', () => {
    const variants = Array.from({ length: 40 }, (_, i) => `  - {name: v${i}}`).join('\n');
    const text = `name: huge\nmessageBytes: [64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536]\nvariants:\n${variants}\nmatrix:\n  gen: [1, 2, 3, 4, 5]\n  width: [1, 2, 4, 8, 16]\n  mpsBytes: [128, 256, 512]\n  flows: [1, 2, 4, 8, 16, 32, 64]\n  hosts: [2, 4, 8, 16]\n  alignment: [aligned, unaligned, copy]\n  irqMode: [msi, doorbell]\n`;
    // Refused from the product of the axis lengths: expanding 5.5 million points first would not
    // finish within the test timeout (907,200 points grew past 1.7 GB). No wall-clock bound here.
    const e = failure(() => parseScenarioText(text, 's.yaml'), ErrorCode.LIMIT_EXCEEDED);
    expect(e.message).toContain('s.yaml:');
    expect(e.message).toContain('s.yaml:44:1: matrix: this scenario expands to 5,544,000 points (variants × matrix values × messageBytes = 40 × 3 × 2 × 5 × 5 × 3 × 7 × 4 × 11)');
    expect(e.message).toContain('above the limit of 1000 (maxMatrixPoints); split the scenario or raise the limit with --max-points <n>');
    const small = 'name: ok\nmessageBytes: [64, 128]\nvariants: [{name: a}, {name: b}]\nmatrix: {gen: [1, 2, 3]}\n';
    expect(parseScenarioText(small, 'ok.yaml').variants).toHaveLength(6);
    failure(() => parseScenarioText(small, 'ok.yaml', { ...DEFAULT_INPUT_LIMITS, maxMatrixPoints: 11 }), ErrorCode.LIMIT_EXCEEDED);
  });
});

describe('what validate accepts, run runs (one validation)', () => {
  const bad = (text: string): string => failure(() => parseTopologyText(text, 'r.yaml'), ErrorCode.CONFIG_INVALID).message;

  it('ping count 70000 is refused at the field, not at run time', () => {
    expect(bad('hosts: [a, b]\ntraffic: [{kind: ping, from: a, to: b, count: 70000}]\n')).toContain(
      'traffic[0].count: must be an integer from 1 to 65535 (ICMP echo sequence numbers are 16 bits) (got 70000)',
    );
    expect(bad('hosts: [a, b]\ntraffic: [{kind: ping-all, count: 65536}]\n')).toContain('traffic[0].count: must be an integer from 1 to 65535');
  });

  it('a tiny or huge captures.maxFileMiB is refused', () => {
    expect(bad('hosts: [a]\ncaptures: {maxFileMiB: 0.000001}\n')).toContain('captures.maxFileMiB: must be a number from 0.0625 to 1048576 (got 0.000001)');
    expect(bad('hosts: [a]\ncaptures: {maxFileMiB: 1e300}\n')).toContain('captures.maxFileMiB: must be a number from 0.0625 to 1048576');
  });

  it('a ping or stream across subnets (no router) is refused, as is one between different MTUs', () => {
    expect(bad('hosts: [a, {name: b, ipv4: 10.12.0.2/24}]\ntraffic: [{kind: ping, from: a, to: b}]\n')).toContain(
      'r.yaml:2:37: traffic[0].to: "b" (10.12.0.2) is not in the subnet of "a" (10.11.0.1/24), and the hosts have no router',
    );
    expect(bad('hosts: [a, {name: b, ipv4: 10.12.0.2/24}]\ntraffic: [{kind: ping-all}]\n')).toContain('traffic[0].kind: ping-all needs every pair of hosts on one link');
    expect(bad('hosts: [a, {name: b, ipv6: "fd01::2/64"}]\ntraffic: [{kind: ping, from: a, to: all, ipv6: true}]\n')).toContain('is not in the prefix of "a" (fd00:e0::1/64)');
    // the sender's prefix decides: b's /16 holds a
    expect(parseTopologyText('hosts: [a, {name: b, ipv4: 10.11.0.255/16}]\ntraffic: [{kind: udp, from: b, to: a}]\n', 'r.yaml').traffic).toHaveLength(1);
    expect(bad('hosts: [a, {name: b, mtu: 9000}]\ntraffic: [{kind: ping-all}]\n')).toContain('"a" has MTU 1500 and "b" MTU 9000: an EOP link comes up only between equal MTUs');
    // IPv6 pings do not care about IPv4 subnets
    expect(parseTopologyText('hosts: [a, {name: b, ipv4: 10.12.0.2/24}]\ntraffic: [{kind: ping, from: a, to: b, ipv6: true}]\n', 'r.yaml').traffic).toHaveLength(1);
  });

  it('a capture directory or rack name with a NUL or control character is refused', () => {
    expect(bad('hosts: [a]\ncaptures: {dir: "cap\\0tures"}\n')).toContain('captures.dir: must be a non-empty string of at most 4096 characters without control characters (got "cap\\u0000tures")');
    expect(bad('name: "\\e[31mred\\a"\nhosts: [a]\n')).toContain('name: must be a non-empty string of at most 64 characters without "/", "\\" or control characters (got "\\u001b[31mred\\u0007")');
  });

  it('files that validate also run (the shipped default rack with every example uncommented)', async () => {
    const { defaultRackYaml } = await import('../src/topology/default-rack.js');
    const t = parseTopologyText(defaultRackYaml({ examples: 'active' }), 'active.yaml');
    const r = runTopology({ ...t, durationMs: 5 }, { captures: false });
    expect(r.pings.length + r.streams.length).toBe(t.traffic.length);
  });
});

describe('messages quote at most the offending line', () => {
  it('a file that is not a rack file (like /etc/shadow) gets one problem that quotes none of its lines', () => {
    const lines = Array.from({ length: 30 }, (_, i) => `user${i}:$6$salt$hash${i}:19000:0:99999:7:::`).join('\n');
    const e = failure(() => parseTopologyText(lines, 'shadow'), ErrorCode.CONFIG_INVALID);
    expect(e.message.split('\n')).toHaveLength(1);
    expect(e.message).toContain('shadow:1:1: (top level): this is not a rack file: none of its 30 top-level keys is a rack setting');
    expect(e.message).not.toContain('user');
  });

  it('at most 20 problems are listed', () => {
    const many = `hosts: [a]\n${Array.from({ length: 50 }, (_, i) => `mtux${i}: 1`).join('\n')}\n`;
    const e = failure(() => parseTopologyText(many, 'm.yaml'), ErrorCode.CONFIG_INVALID);
    const lines = e.message.split('\n');
    expect(lines).toHaveLength(21);
    expect(lines[20]).toBe('… and 30 more problems');
  });
});

describe('JSON duplicate keys and invalid UTF-8 are errors', () => {
  it('a duplicate key in JSON is refused at its line, as in YAML', () => {
    const p = write('dup.json', '{\n  "hosts": ["a"],\n  "mtu": 1500,\n  "mtu": 9000\n}\n');
    const e = failure(() => loadTopology(p), ErrorCode.CONFIG_INVALID);
    expect(e.message).toBe(`${p}:4:3: malformed JSON: keys must be unique (this one appears earlier in the same object)`);
    const nested = write('dup2.json', '{"hosts": [{"name": "a", "name": "b"}]}');
    expect(failure(() => loadTopology(nested), ErrorCode.CONFIG_INVALID).message).toContain(':1:26: malformed JSON: keys must be unique');
  });

  it('invalid UTF-8 is an error at the line and column of the first bad byte, never replaced silently', () => {
    const bytes = Buffer.concat([Buffer.from('hosts: [a]\nname: "ab'), Buffer.from([0xff]), Buffer.from('"\n')]);
    const e = failure(() => loadTopology(write('bad-utf8.yaml', bytes)), ErrorCode.CONFIG_INVALID);
    expect(e.message).toMatch(/bad-utf8\.yaml:2:10: not valid UTF-8 \(byte 0xff at offset 20\); save the file as UTF-8$/);
    failure(() => loadScenario(write('bad-utf8-scenario.yaml', bytes)), ErrorCode.CONFIG_INVALID);
    // the locator follows RFC 3629: overlong forms, surrogates and truncated sequences are invalid
    expect(firstInvalidUtf8(Buffer.from('héllo ✓ 😀'))).toBe(-1);
    expect(firstInvalidUtf8(Uint8Array.from([0x41, 0xc0, 0x80]))).toBe(1); // overlong NUL
    expect(firstInvalidUtf8(Uint8Array.from([0xed, 0xa0, 0x80]))).toBe(0); // surrogate
    expect(firstInvalidUtf8(Uint8Array.from([0x41, 0xe2, 0x9c]))).toBe(1); // truncated
    expect(firstInvalidUtf8(Uint8Array.from([0xf4, 0x90, 0x80, 0x80]))).toBe(0); // above U+10FFFF
  });
});
