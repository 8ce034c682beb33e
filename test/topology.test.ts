import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EopError, ErrorCode } from '../src/errors.js';
import { expectEopError } from './helpers/eop-error.js';
import { DEFAULT_RACK, DEFAULT_RACK_YAML, defaultRack } from '../src/topology/default-rack.js';
import { loadTopology, parseTopology, parseTopologyText, TopologyError } from '../src/topology/load.js';
import { DEFAULTS, editDistance, type Topology } from '../src/topology/schema.js';
import { rackSpecFromTopology } from '../src/topology/build.js';
import { Rack } from '../src/topology/rack.js';
import { DEFAULT_HRDMA } from '../src/host/hrdma.js';

const dir = mkdtempSync(join(tmpdir(), 'eop-topology-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeTemp(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const failure = (fn: () => unknown, code: string = ErrorCode.CONFIG_INVALID): EopError => expectEopError(fn, code);

const yamlError = (text: string, source = 'rack.yaml'): EopError => failure(() => parseTopologyText(text, source));

describe('defaults', () => {
  it('a two-line YAML file is a complete rack', () => {
    const path = writeTemp('tiny.yaml', 'name: tiny\nhosts: [h1, h2]\n');
    const t = loadTopology(path);
    expect(t.source).toBe(path);
    expect(t.name).toBe('tiny');
    expect(t.seed).toBe(1);
    expect(t.durationMs).toBe(100);
    expect(t.mtu).toBe(1500);
    expect(t.link).toEqual({
      gen: 3,
      width: 8,
      mpsBytes: 256,
      ecrc: false,
      latencyNs: 100,
    });
    expect(t.switch).toEqual({ hopLatencyNs: 150, ntbTranslateNs: 50 });
    // Every HRDMA field the file takes defaults to the model's own value (src/topology/engine-fields.ts).
    expect(t.dma).toEqual({ ...DEFAULT_HRDMA, copyThresholdBytes: 1024 });
    expect([t.dma.setupNs, t.dma.peakGbps, t.dma.alignmentBytes, t.dma.ringSlots]).toEqual([400, 40, 64, 1024]);
    expect(t.cpu).toEqual({ copyGbps: 100, copySetupNs: 100, storeNs: 20, wcBuffers: 10, wcDrainNs: 100, cores: 4, profile: 'kernel' });
    expect(t.interrupts).toEqual({ mode: 'msi', msiHandlerNs: 700, doorbellExtraNs: 0, coalesceNs: 0, jitterNs: 0 });
    expect(t.eop).toEqual({ ringSlots: 32, batchFrames: 16, txQueueFrames: 256, version: 1, arpResponder: false, driver: 'eop', ntbWindowBytes: 1 << 20, ntbUseDma: false, ntbHz: 250 });
    expect(t.captures).toEqual({ enabled: true, dir: 'captures', format: 'pcapng', maxFileMiB: 64, maxFiles: 4 });
    expect(t.traffic).toEqual([]);
    expect(t.management).toEqual({ name: 'mh', declared: false, link: t.link, tor: null });
    expect(t.tors).toEqual([]);

    expect(t.hosts.map((h) => h.name)).toEqual(['h1', 'h2']);
    const [h1, h2] = t.hosts as [Topology['hosts'][0], Topology['hosts'][0]];
    expect(h1.index).toBe(0);
    expect(h1.ifName).toBe('eop-h1');
    expect(h1.mtu).toBe(1500);
    expect(h1.attach).toBe('builtin');
    expect(h1.link).toEqual(t.link);
    expect(h1.mac.text).toBe('02:e0:00:00:00:01');
    expect(h1.mac.addr).toBe(0x02e0_0000_0001);
    expect([...h1.mac.bytes]).toEqual([0x02, 0xe0, 0, 0, 0, 1]);
    expect(h2.mac.text).toBe('02:e0:00:00:00:02');
    expect(h1.ipv4).toEqual({ addr: 0x0a0b0001, prefix: 24, text: '10.11.0.1', cidr: '10.11.0.1/24' });
    expect(h2.ipv4.cidr).toBe('10.11.0.2/24');
    expect(h1.ipv6.text).toBe('fd00:e0::1');
    expect(h1.ipv6.prefix).toBe(64);
    expect([...h1.ipv6.bytes]).toEqual([0xfd, 0, 0, 0xe0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  });

  it('hosts may be strings or objects; per-host overrides merge with the rack defaults', () => {
    const t = parseTopologyText(
      [
        'mtu: 9000',
        'link: { gen: 4 }',
        'hosts:',
        '  - h1',
        '  - name: h2',
        '    mtu: 1500',
        '    link: { width: 16, ecrc: true }',
        '    mac: 02-AA-BB-CC-DD-EE',
        '    ipv4: 192.168.7.9/16',
        '    ipv6: FD00:0:0:0::abcd/48',
        '    attach: tap',
      ].join('\n'),
      'mix.yaml',
    );
    const [h1, h2] = t.hosts;
    expect(h1!.mtu).toBe(9000);
    expect(h1!.link.gen).toBe(4);
    expect(h1!.link.width).toBe(8);
    expect(h2!.mtu).toBe(1500);
    expect(h2!.link).toMatchObject({ gen: 4, width: 16, ecrc: true, mpsBytes: 256 });
    expect(h2!.mac.text).toBe('02:aa:bb:cc:dd:ee');
    expect(h2!.ipv4).toEqual({ addr: 0xc0a80709, prefix: 16, text: '192.168.7.9', cidr: '192.168.7.9/16' });
    expect(h2!.ipv6.cidr).toBe('fd00::abcd/48');
    expect(h2!.attach).toBe('tap');
  });

  it('cores and profile: rack-wide under cpu, per host overrides; reach the model; bad values name the field', () => {
    const text = ['cpu: { cores: 2, profile: polling }', 'hosts:', '  - h1', '  - { name: h2, cores: 8, profile: kernel }'].join('\n');
    const t = parseTopologyText(text, 'cpu.yaml');
    expect(t.hosts.map((h) => [h.cores, h.profile])).toEqual([
      [2, 'polling'],
      [8, 'kernel'],
    ]);
    const spec = rackSpecFromTopology(t);
    const rack = new Rack(spec);
    expect(rack.host('h1').cores.count).toBe(2);
    expect(rack.host('h1').profile.kind).toBe('polling');
    expect(rack.host('h2').cores.count).toBe(8);
    expect(rack.host('h2').profile.kind).toBe('kernel');
    expect(yamlError('cpu: { cores: 0 }\nhosts: [h1]').message).toMatch(/cpu\.cores: must be an integer from 1 to 1024 \(got 0\)/);
    expect(yamlError('hosts:\n  - { name: h1, profile: napi }').message).toMatch(/hosts\[0\]\.profile: must be one of "kernel", "polling"/);
    expect(yamlError('hosts:\n  - { name: m, role: management, cores: 2 }\n  - h1').message).toMatch(/cores: not allowed on the management host/);
  });

  it('empty sections mean defaults; the management host can be declared or left out', () => {
    const t = parseTopologyText('link:\ntraffic:\nhosts:\n  - {name: boss, role: management}\n  - a\n  - b\n', 'x.yaml');
    expect(t.link.gen).toBe(DEFAULTS.link.gen);
    expect(t.traffic).toEqual([]);
    expect(t.management).toMatchObject({ name: 'boss', declared: true });
    // default addresses count compute hosts only
    expect(t.hosts.map((h) => [h.name, h.index, h.ipv4.text])).toEqual([
      ['a', 0, '10.11.0.1'],
      ['b', 1, '10.11.0.2'],
    ]);
    expect(parseTopology({ hosts: ['a', 'b'], management: false }, 'obj').management).toBeNull();
  });

  it('traffic is expanded: ping to all and ping-all give one ping per pair, udp gets count or duration', () => {
    const t = parseTopology(
      {
        hosts: ['a', 'b', 'c'],
        traffic: [
          { kind: 'ping', from: 'a', to: 'all', count: 2 },
          { kind: 'ping-all' },
          { kind: 'udp', from: 'a', to: 'b' },
          { kind: 'udp', from: 'b', to: 'c', durationUs: 500, rateGbps: 10, alignOffsetBytes: 3 },
        ],
      },
      'obj',
    );
    const pings = t.traffic.filter((x) => x.kind === 'ping');
    expect(pings.filter((p) => p.origin === 'traffic[0]').map((p) => `${p.from}>${p.to}`)).toEqual(['a>b', 'a>c']);
    expect(pings.filter((p) => p.origin === 'traffic[1]').map((p) => `${p.from}>${p.to}`)).toEqual([
      'a>b',
      'a>c',
      'b>a',
      'b>c',
      'c>a',
      'c>b',
    ]);
    expect(pings[0]).toMatchObject({ count: 2, intervalUs: 100, payloadBytes: 56, ipv6: false });
    expect(pings[2]).toMatchObject({ count: 3, intervalUs: 100 });
    const udp = t.traffic.filter((x) => x.kind === 'udp');
    expect(udp[0]).toMatchObject({
      from: 'a',
      to: 'b',
      dstPort: 9,
      messageBytes: 1472,
      rateGbps: null,
      count: 1000,
      durationUs: null,
      alignOffsetBytes: 0,
      startUs: 0,
    });
    expect(udp[1]).toMatchObject({ count: null, durationUs: 500, rateGbps: 10, alignOffsetBytes: 3 });
  });

  it('reads JSON by extension', () => {
    const p = writeTemp('r.json', JSON.stringify({ hosts: ['x', { name: 'y', mtu: 4000 }] }));
    const t = loadTopology(p);
    expect(t.hosts.map((h) => h.mtu)).toEqual([1500, 4000]);
  });
});

describe('the default rack', () => {
  it('parses and is what the brief describes', () => {
    const t = DEFAULT_RACK;
    expect(t.name).toBe('default');
    expect(t.management?.name).toBe('mh');
    expect(t.hosts.map((h) => h.name)).toEqual(['h1', 'h2', 'h3', 'h4']);
    expect(t.hosts.map((h) => h.ipv4.cidr)).toEqual(['10.11.0.1/24', '10.11.0.2/24', '10.11.0.3/24', '10.11.0.4/24']);
    expect(t.hosts.every((h) => h.link.gen === 3 && h.link.width === 8)).toBe(true);
    expect(t.captures.enabled).toBe(true);
    const pings = t.traffic.filter((x) => x.kind === 'ping');
    expect(pings).toHaveLength(12); // ping-all over 4 hosts
    expect(pings.every((p) => p.count === 3)).toBe(true);
    const udp = t.traffic.filter((x) => x.kind === 'udp');
    expect(udp).toEqual([
      expect.objectContaining({ from: 'h1', to: 'h2', messageBytes: 1472, count: 2000, durationUs: null }),
    ]);
  });

  it('spells out the schema defaults, so it documents them correctly', () => {
    const plain = parseTopology({ hosts: ['h1'] }, 'plain');
    for (const k of ['seed', 'durationMs', 'mtu', 'link', 'switch', 'dma', 'cpu', 'interrupts', 'eop', 'captures'] as const) {
      expect(DEFAULT_RACK[k], k).toEqual(plain[k]);
    }
  });

  it('is the parse of the YAML it exports, frozen; defaultRack() gives a fresh copy', () => {
    expect(parseTopologyText(DEFAULT_RACK_YAML, 'copy.yaml').hosts).toEqual(DEFAULT_RACK.hosts);
    expect(Object.isFrozen(DEFAULT_RACK.hosts[0])).toBe(true);
    const mine = defaultRack();
    mine.durationMs = 5;
    expect(DEFAULT_RACK.durationMs).toBe(100);
  });
});

describe('invalid fields name the path and what is allowed', () => {
  const twoHosts = (h2: string): string => `hosts:\n  - h1\n  - name: h2\n${h2}\n`;

  it('PCIe generation', () => {
    const e = yamlError(twoHosts('    link:\n      gen: 6'));
    expect(e.message).toContain('hosts[1].link.gen: must be one of 1, 2, 3, 4, 5 (got 6)');
    expect(e.message).toContain('rack.yaml:5:12:');
  });

  it('link width', () => {
    const e = yamlError('link: {width: 3}\nhosts: [a]\n');
    expect(e.message).toContain('link.width: must be one of 1, 2, 4, 8, 16 (got 3)');
  });

  it('max payload size', () => {
    const e = yamlError(twoHosts('    link: {mpsBytes: 300}'));
    expect(e.message).toContain('hosts[1].link.mpsBytes: must be one of 128, 256, 512 (got 300)');
  });

  it('MAC addresses: malformed, multicast, duplicate', () => {
    expect(yamlError(twoHosts('    mac: 02:e0:00:00:01')).message).toMatch(
      /hosts\[1\]\.mac: must be a MAC address like .* \(got "02:e0:00:00:01"\)/,
    );
    expect(yamlError(twoHosts('    mac: "01:00:5e:00:00:01"')).message).toContain(
      'hosts[1].mac: must be a unicast MAC address',
    );
    expect(yamlError(twoHosts('    mac: 02:e0:00:00:00:01')).message).toContain(
      'hosts[1].mac: duplicate MAC 02:e0:00:00:00:01: hosts[0] (h1) has it too (by default)',
    );
  });

  it('IP addresses: duplicate (explicit or default), not CIDR, network address', () => {
    const dup = failure(() =>
      parseTopology({ hosts: [{ name: 'a', ipv4: '10.0.0.5/24' }, { name: 'b', ipv4: '10.0.0.5/16' }] }, 'obj'),
    );
    expect(dup.message).toContain('obj: hosts[1].ipv4: duplicate IPv4 address 10.0.0.5: hosts[0] (a) has it too');
    const dupDefault = failure(() => parseTopology({ hosts: ['a', 'b', { name: 'c', ipv4: '10.11.0.2/24' }] }, 'obj'));
    expect(dupDefault.message).toContain('hosts[2].ipv4: duplicate IPv4 address 10.11.0.2: hosts[1] (b) has it too (by default)');
    const dup6 = failure(() => parseTopology({ hosts: ['a', { name: 'b', ipv6: 'fd00:e0:0::1/64' }] }, 'obj'));
    expect(dup6.message).toContain('hosts[1].ipv6: duplicate IPv6 address fd00:e0::1');
    expect(failure(() => parseTopology({ hosts: [{ name: 'a', ipv4: '10.0.0.5' }] }, 'obj')).message).toContain(
      'hosts[0].ipv4: must be an IPv4 address with a prefix length, like "10.11.0.5/24" (got "10.0.0.5")',
    );
    expect(failure(() => parseTopology({ hosts: [{ name: 'a', ipv4: '10.0.0.0/24' }] }, 'obj')).message).toContain(
      'hosts[0].ipv4: must be a host address, not the network address',
    );
  });

  it('traffic naming a host that does not exist, itself, or the management host', () => {
    const e = yamlError('hosts: [h1, h2, h3]\ntraffic:\n  - {kind: ping, from: h1, to: h9}\n');
    expect(e.message).toBe('rack.yaml:3:32: traffic[0].to: unknown host "h9" (hosts are h1, h2, h3)');
    const self = failure(() => parseTopology({ hosts: ['a', 'b'], traffic: [{ kind: 'udp', from: 'a', to: 'a' }] }, 'o'));
    expect(self.message).toContain('traffic[0].to: must differ from "from" (both are "a")');
    const mh = failure(() => parseTopology({ hosts: ['a', 'b'], traffic: [{ kind: 'ping', from: 'mh', to: 'a' }] }, 'o'));
    expect(mh.message).toContain('traffic[0].from: "mh" is the management host, which has no EOP interface');
    const kind = failure(() => parseTopology({ hosts: ['a'], traffic: [{ kind: 'tcp' }] }, 'o'));
    expect(kind.message).toContain('traffic[0].kind: must be one of "ping", "udp", "ping-all"; did you mean "udp"? (got "tcp")');
  });

  it('unknown keys, with a suggestion when one is close', () => {
    const e = yamlError('hsots: [h1, h2]\n');
    expect(e.message).toContain('rack.yaml:1:1: hsots: unknown key; did you mean "hosts"?');
    expect(e.message).toContain('hosts: required; must be a list of 1 to 256 hosts');
    const nested = failure(() => parseTopology({ hosts: [{ name: 'a', link: { gne: 3 } }], dma: { bogus: 1 } }, 'o'));
    expect(nested.message).toContain('hosts[0].link.gne: unknown key; did you mean "gen"?');
    expect(nested.message).toMatch(/dma\.bogus: unknown key \(allowed here: setupNs, /);
    const traffic = failure(() =>
      parseTopology({ hosts: ['a', 'b'], traffic: [{ kind: 'udp', from: 'a', to: 'b', rate: 1 }] }, 'o'),
    );
    expect(traffic.message).toContain('traffic[0].rate: unknown key (allowed here: kind, from, to');
    expect(editDistance('hsots', 'hosts')).toBe(1);
  });

  it('durations and other numbers out of range', () => {
    expect(yamlError('durationMs: -5\nhosts: [a]\n').message).toContain('rack.yaml:1:13: durationMs: must be a number > 0 (got -5)');
    expect(yamlError('mtu: 70000\nhosts: [a]\n').message).toContain('mtu: must be an integer from 68 to 65510 (got 70000)');
    expect(yamlError('eop: {ringSlots: 48}\nhosts: [a]\n').message).toContain('eop.ringSlots: must be a power of 2 from 4 to 4096 (got 48)');
    expect(yamlError('interrupts: {mode: msix}\nhosts: [a]\n').message).toContain(
      'interrupts.mode: must be one of "msi", "doorbell"; did you mean "msi"? (got "msix")',
    );
    const both = failure(() =>
      parseTopology({ hosts: ['a', 'b'], traffic: [{ kind: 'udp', from: 'a', to: 'b', count: 5, durationUs: 10 }] }, 'o'),
    );
    expect(both.message).toContain('traffic[0].durationUs: give either count or durationUs, not both');
  });

  it('host names: too long for eop-<name>, bad characters, duplicates, reserved', () => {
    const long = yamlError('hosts: [h1, averylongname]\n');
    expect(long.message).toContain('hosts[1]: must be at most 11 characters (this is 13)');
    expect(long.message).toContain('"eop-<name>" must fit');
    expect(long.message).toContain('(got "averylongname")');
    expect(yamlError('hosts: [{name: H1}]\n').message).toContain('hosts[0].name: must be a host name: a lowercase letter');
    expect(yamlError('hosts: [a, b, a]\n').message).toContain('hosts[2]: duplicate host name "a" (hosts[0] has it too)');
    expect(yamlError('hosts: [mh, a]\n').message).toContain('hosts[0]: "mh" is the management host');
  });

  it('too many hosts, or none', () => {
    expect(failure(() => parseTopology({ hosts: [] }, 'o')).message).toBe(
      'o: hosts: must be a list of 1 to 256 hosts (got an empty list)',
    );
    const many = Array.from({ length: 257 }, (_, i) => `h${i}`);
    expect(failure(() => parseTopology({ hosts: many }, 'o')).message).toContain('hosts: must be a list of 1 to 256 hosts (got a list of 257 entries)');
    const big = Array.from({ length: 255 }, (_, i) => `h${i}`);
    expect(failure(() => parseTopology({ hosts: big, management: false }, 'o')).message).toContain(
      'hosts[254].ipv4: required for compute host number 255',
    );
    expect(failure(() => parseTopology(null, 'o')).message).toContain('o: (top level): must be a mapping of rack settings');
  });
});

describe('syntax errors and unreadable files', () => {
  it('malformed YAML gives the line number', () => {
    const e = yamlError('name: r\nhosts: [h1, h2\nmtu: 1500\n');
    expect(e).toBeInstanceOf(TopologyError);
    expect(e.message).toMatch(/^rack\.yaml:3:\d+: malformed YAML: /);
    const dup = yamlError('hosts: [a]\nmtu: 1\nmtu: 2\n');
    expect(dup.message).toContain('rack.yaml:3:1: malformed YAML: Map keys must be unique');
  });

  it('malformed JSON gives line and column', () => {
    const p = writeTemp('bad.json', '{\n  "hosts": ["a",\n}\n');
    const e = failure(() => loadTopology(p));
    expect(e.message).toContain(`${p}:3:1: malformed JSON`);
    const valid = writeTemp('bad-field.json', '{\n  "hosts": ["a"],\n  "mtu": 20\n}\n');
    expect(failure(() => loadTopology(valid)).message).toBe(`${valid}:3:10: mtu: must be an integer from 68 to 65510 (got 20)`);
  });

  it('an unreadable path names the path and the OS reason', () => {
    const missing = join(dir, 'nope.yaml');
    const e = failure(() => loadTopology(missing), ErrorCode.CONFIG_UNREADABLE);
    expect(e.message).toContain(missing);
    expect(e.message).toContain('ENOENT');
    expect(e.message).toContain('no such file or directory');
    expect(failure(() => loadTopology(dir), ErrorCode.CONFIG_UNREADABLE).message).toContain('EISDIR');
  });
});

describe('every problem is listed', () => {
  it('lists them all, one per line, in file order', () => {
    const text = [
      'durationMs: -1', // 1
      'hosts:', // 2
      '  - h1', // 3
      '  - name: h2', // 4
      '    link: {gen: 6, width: 3}', // 5
      '    mac: zz', // 6
      '  - name: waytoolonghost', // 7
      'interrupts: {mode: msix, coalsceNs: 1}', // 8
      'traffic:', // 9
      '  - {kind: ping, from: h1, to: h9}', // 10
    ].join('\n');
    const e = yamlError(text) as TopologyError;
    const expected = [
      'rack.yaml:1:13: durationMs:',
      'rack.yaml:5:17: hosts[1].link.gen:',
      'rack.yaml:5:27: hosts[1].link.width:',
      'rack.yaml:6:10: hosts[1].mac:',
      'rack.yaml:7:11: hosts[2].name:',
      'rack.yaml:8:20: interrupts.mode:',
      'rack.yaml:8:26: interrupts.coalsceNs: unknown key; did you mean "coalesceNs"?',
      'rack.yaml:10:32: traffic[0].to: unknown host "h9"',
    ];
    expect(e.problems).toHaveLength(expected.length);
    expected.forEach((start, i) => expect(e.problems[i]).toContain(start));
    expect(e.message.split('\n')).toEqual(e.problems);
  });
});

describe('traffic that cannot work is refused up front', () => {
  it('a UDP stream to the echo port, and sizes that do not fit the sender MTU, name the field', () => {
    const e = yamlError(
      'hosts: [a, {name: b, mtu: 9000}]\ntraffic:\n  - {kind: udp, from: a, to: b, dstPort: 7}\n  - {kind: udp, from: a, to: b, messageBytes: 2000}\n  - {kind: udp, from: b, to: a, messageBytes: 8972}\n  - {kind: ping, from: a, to: b, payloadBytes: 1460, ipv6: true}\n  - {kind: udp, from: a, to: b, messageBytes: 8}\n',
    );
    expect(e.code).toBe(ErrorCode.CONFIG_INVALID);
    expect(e.message).toContain('traffic[0].dstPort: port 7 is the echo service');
    expect(e.message).toContain('traffic[1].messageBytes: 2000 bytes do not fit the MTU of "a" (1500): at most 1472');
    expect(e.message).not.toContain('traffic[2].messageBytes'); // b has MTU 9000: 8972 fits
    // ...but a (MTU 1500) and b (9000) never bring their EOP link up: nothing between them can flow
    expect(e.message).toContain('traffic[2].to: "b" has MTU 9000 and "a" MTU 1500: an EOP link comes up only between equal MTUs');
    expect(e.message).toContain('traffic[3].payloadBytes: 1460 bytes do not fit the MTU of "a" (1500): at most 1452');
    expect(e.message).toContain('traffic[4].messageBytes: a UDP stream needs at least 16 bytes');
  });

  it('at the largest MTU (65,510) a message or ping fills it (65,482 bytes); one byte more is refused by the MTU rule', () => {
    const t = parseTopologyText('mtu: 65510\nhosts: [a, b]\ntraffic:\n  - {kind: udp, from: a, to: b, messageBytes: 65482, count: 3}\n  - {kind: ping, from: a, to: b, payloadBytes: 65482, count: 1}\n', 'jumbo.yaml');
    expect(t.traffic.map((x) => (x.kind === 'udp' ? x.messageBytes : x.kind === 'ping' ? x.payloadBytes : 0))).toEqual([65482, 65482]);
    const e = yamlError('mtu: 65510\nhosts: [a, b]\ntraffic:\n  - {kind: udp, from: a, to: b, messageBytes: 65483, count: 3}\n');
    expect(e.message).toContain('traffic[0].messageBytes: 65483 bytes do not fit the MTU of "a" (65510): at most 65482');
  });
});
