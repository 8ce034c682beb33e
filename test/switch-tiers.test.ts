/**
 * A rack of two top-of-rack switches joined by a spine: where hosts sit sets their path latency
 * (one switch hop or three) and which links their traffic shares (the ToR uplinks).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_EOP } from '../src/eop/eop-nic.js';
import { DEFAULT_CPU, type CpuConfig } from '../src/host/cpu-copy.js';
import { EopError } from '../src/errors.js';
import { DEFAULT_LINK, effectiveWriteGbps, type LinkConfig } from '../src/pcie/link.js';
import { Rack, rackSpec, type HostSpec } from '../src/topology/rack.js';
import { MAC, rawFrame } from './helpers/raw-frame.js';

const uplink: LinkConfig = { ...DEFAULT_LINK }; // Gen3 x8, as the hosts' links

function build(torOfHost: string[], up: LinkConfig = uplink, cpu: CpuConfig = DEFAULT_CPU): Rack {
  const hosts: HostSpec[] = [{ name: 'mh', mac: 0, management: true, tor: 'torA' }];
  torOfHost.forEach((tor, i) => hosts.push({ name: `h${i + 1}`, mac: MAC[i + 1]!, tor }));
  const rack = new Rack(
    rackSpec(hosts, {
      eop: { ...DEFAULT_EOP, ringSlots: 64 },
      cpu,
      tors: [
        { name: 'torA', spineLink: up },
        { name: 'torB', spineLink: up },
      ],
    }),
  );
  rack.boot();
  for (let i = 1; i <= torOfHost.length; i++) rack.nic(`h${i}`).transmit(rawFrame(0xffffffffffff, MAC[i]!, 60));
  rack.sched.run();
  return rack;
}

function oneFrame(rack: Rack, from: number, to: number): number {
  let at = -1;
  rack.nic(`h${to}`).setReceiver(() => (at = rack.sched.now));
  const t0 = rack.sched.now;
  rack.nic(`h${from}`).transmit(rawFrame(MAC[to]!, MAC[from]!, 100, 1));
  rack.sched.run();
  return at - t0;
}

describe('two switch tiers', () => {
  it('a frame between racks crosses three switches and two more links than one within a rack', () => {
    // A core slower than the links (7 WC buffers: 35.84 Gb/s against 45.7 Gb/s of 64-byte TLPs on
    // Gen3 x8): its writes leave spaced, cross idle links, and the last one alone decides.
    const rack = build(['torA', 'torA', 'torB', 'torB'], uplink, { ...DEFAULT_CPU, wcBuffers: 7 });
    expect(rack.fabric.path(rack.host('h1'), rack.host('h2')).hops).toBe(1);
    expect(rack.fabric.path(rack.host('h1'), rack.host('h3')).hops).toBe(3);
    // fixed latency: 100 + 150 + 2 × 50 + 100 = 450 within a rack;
    // across: 100 + 150 + 50 | 100 + 150 | 100 + 150 + 50 + 100 = 950
    expect(rack.fabric.pathLatencyNs(rack.host('h1'), rack.host('h2'))).toBe(450);
    expect(rack.fabric.pathLatencyNs(rack.host('h1'), rack.host('h3'))).toBe(950);
    const local = oneFrame(rack, 1, 2);
    const remote = oneFrame(rack, 1, 3);
    // The last write (the MSI: one 4-byte TLP) decides: 500 ns more fixed latency, plus its
    // serialization on the two uplinks it now crosses (4 + 24 B each at 0.1272926 ns/B = 3.5642 ns).
    expect(remote - local).toBeCloseTo(500 + 2 * 28 * (8 / (63.01538461538462 * (374 / 375))), 3);
  });

  it('two streams between the racks share the uplinks; two within their racks do not', () => {
    // A slow uplink (Gen2 x4: 14.6 Gb/s one way) against Gen3 x8 hosts (57.5 Gb/s).
    const slow: LinkConfig = { ...DEFAULT_LINK, gen: 2, width: 4 };
    const measure = (tors: string[], flows: [number, number][]): number => {
      const rack = build(tors, slow);
      let bytes = 0;
      let last = 0;
      for (const [, to] of flows) {
        rack.nic(`h${to}`).setReceiver((f) => {
          bytes += f.length;
          last = rack.sched.now;
        });
      }
      const t0 = rack.sched.now;
      for (const [from, to] of flows) {
        const nic = rack.nic(`h${from}`);
        const f = rawFrame(MAC[to]!, MAC[from]!, 1514);
        let sent = 0;
        const pump = (): void => {
          let room = nic.txSpace(MAC[to]!);
          while (room-- > 0 && sent < 2000) if (nic.transmit(f)) sent++;
          if (sent < 2000) nic.onTxDrained(pump);
        };
        pump();
      }
      rack.sched.run();
      return (bytes * 8) / (last - t0);
    };
    const limit = effectiveWriteGbps(slow); // 4 × 4 × 1534/1538 × 256/280 = 14.59 Gb/s
    // h1 → h3 and h2 → h4, both across: together at most one uplink's worth
    const across = measure(['torA', 'torA', 'torB', 'torB'], [
      [1, 3],
      [2, 4],
    ]);
    expect(across).toBeLessThanOrEqual(limit);
    expect(across).toBeGreaterThan(0.8 * limit);
    // h1 → h2 within torA and h3 → h4 within torB: the uplinks are not on their paths
    const within = measure(['torA', 'torA', 'torB', 'torB'], [
      [1, 2],
      [3, 4],
    ]);
    expect(within).toBeGreaterThan(2 * limit);
  });

  it('a host on an unknown ToR is a configuration error', () => {
    expect(() => build(['torA', 'torC'])).toThrow(EopError);
    expect(() => build(['torA', 'torC'])).toThrow(/no top-of-rack switch named "torC"/);
  });
});

describe('rack files with switch tiers', () => {
  it('tors and a host\'s tor reach the model: paths cross the spine between racks', async () => {
    const { parseTopologyText } = await import('../src/topology/load.js');
    const { rackSpecFromTopology } = await import('../src/topology/build.js');
    const t = parseTopologyText(
      'hosts:\n  - {name: h1, tor: a}\n  - {name: h2, tor: a}\n  - {name: h3, tor: b}\ntors:\n  - a\n  - name: b\n    spineLink: {gen: 4, width: 16}\n',
      'tiers.yaml',
    );
    expect(t.tors.map((x) => [x.name, x.spineLink.gen, x.spineLink.width])).toEqual([
      ['a', 3, 8],
      ['b', 4, 16],
    ]);
    expect(t.hosts.map((h) => h.tor)).toEqual(['a', 'a', 'b']);
    expect(t.management?.tor).toBe('a');
    const rack = new Rack(rackSpecFromTopology(t));
    expect(rack.fabric.path(rack.host('h1'), rack.host('h2')).hops).toBe(1);
    expect(rack.fabric.path(rack.host('h1'), rack.host('h3')).hops).toBe(3);
    expect(rack.fabric.tiers?.uplinks[1]!.cfg.gen).toBe(4);
  });

  it('"uplink" means one thing: the old tors[].uplink and an uplink key on a host or the rack say where it goes', async () => {
    const { parseTopologyText } = await import('../src/topology/load.js');
    const problem = (text: string): string => {
      try {
        parseTopologyText(text, 'u.yaml');
      } catch (e) {
        expect((e as EopError).code).toBe('ERR_CONFIG_INVALID');
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    expect(problem('hosts: [h1, {name: h2, tor: b}]\ntors:\n  - a\n  - {name: b, uplink: {gen: 4}}\n')).toMatch(
      /tors\[1\]\.uplink: unknown key: renamed "spineLink" \(this switch's PCIe link to the spine\); an Ethernet uplink to another rack is a host with "attach: uplink"/,
    );
    expect(problem('hosts:\n  - {name: h1, uplink: true}\n')).toMatch(/hosts\[0\]\.uplink: unknown key: an Ethernet uplink to another rack is a host with "attach: uplink"/);
    expect(problem('uplink: ws://b:8080\nhosts: [h1]\n')).toMatch(/uplink: unknown key: an Ethernet uplink to another rack is a host with "attach: uplink"/);
    // Other unknown keys still get their guess.
    expect(problem('hosts:\n  - {name: h1, lnk: {gen: 2}}\n')).toMatch(/did you mean "link"\?/);
  });

  it('a rack file without tors has one switch; a bad tor is a located problem', async () => {
    const { parseTopologyText } = await import('../src/topology/load.js');
    expect(parseTopologyText('hosts: [h1, h2]\n', 'one.yaml').tors).toEqual([]);
    const bad = (text: string): string => {
      try {
        parseTopologyText(text, 'bad.yaml');
      } catch (e) {
        return (e as Error).message;
      }
      return 'no error';
    };
    expect(bad('hosts:\n  - {name: h1, tor: tor1}\n')).toContain('hosts[0].tor: names a top-of-rack switch, but the rack lists none under "tors"');
    expect(bad('hosts:\n  - {name: h1, tor: torb}\ntors: [tora, torc]\n')).toContain('hosts[0].tor: no switch named "torb" in tors (have tora, torc); did you mean "tora"?');
    expect(bad('hosts: [h1]\ntors: [a, a]\n')).toContain('tors[1]: duplicate switch name "a" (tors[0] has it too)');
    expect(bad('hosts: [h1]\ntors:\n  - {name: a, spineLink: {gen: 9}}\n')).toContain('tors[0].spineLink.gen: must be one of 1, 2, 3, 4, 5 (got 9)');
  });
});
