/**
 * `faults:` in bench scenarios: the entries and checks of rack files (scenario-wide and per
 * variant), injected in every point `atUs` after its traffic starts, and counted in the point's
 * result. Corrupted TLPs are replayed and corrupted HRDMA descriptors re-sent by CPU copy: nothing
 * lost; a management-host failure leaves the data alone; a receiver's link that goes down loses
 * the rest of the stream.
 */
import { describe, expect, it } from 'vitest';
import { EopError, ErrorCode } from '../src/errors.js';
import { runPoint } from '../src/bench/point.js';
import { parseScenarioText, type Scenario } from '../src/bench/scenario.js';
import { formatTable } from '../src/bench/report.js';

const SCENARIO = `
name: faulty
messageBytes: [8192]
measure: {bytes: 1048576}
faults:
  - {atUs: 20, kind: tlp-corrupt, host: h1, count: 3}
variants:
  - {name: clean, traffic: udp, faults: []}
  - name: dma
    traffic: udp
    faults:
      - {atUs: 10, kind: dma-error, host: h1, count: 2}
      - {atUs: 5, kind: mh-fail, host: mh}
  - name: down
    traffic: udp
    faults: [{atUs: 10, kind: link-down, host: h2}]
`;

const point = (s: Scenario, i: number) => runPoint({ scenario: s.name, seed: s.seed, variant: s.variants[i]!, messageBytes: 8192, measure: s.measure });

describe('bench scenarios: faults', () => {
  const s = parseScenarioText(SCENARIO, 'faulty.yaml');

  it('the scenario\'s faults come first, then the variant\'s, with defaults and origins', () => {
    expect(s.variants[0]!.faults).toEqual([{ origin: 'faults[0]', atUs: 20, kind: 'tlp-corrupt', host: 'h1', count: 3, pollUs: 1000, path: 'primary' }]);
    expect(s.variants[1]!.faults.map((f) => f.origin)).toEqual(['faults[0]', 'variants[1].faults[0]', 'variants[1].faults[1]']);
  });

  it('each point is hit by its faults: replays and re-sent descriptors lose nothing, a link down loses the rest', () => {
    const clean = point(s, 0);
    const dma = point(s, 1);
    expect(clean.faults).toEqual({ injected: { 'tlp-corrupt': 3 }, recovered: { 'tlp-corrupt': 3 }, unstruck: [] });
    expect(clean.lostMessages).toBe(0);
    expect(dma.faults!.injected).toEqual({ 'tlp-corrupt': 3, 'dma-error': 2, 'mh-fail': 1 });
    expect(dma.faults!.recovered).toEqual({ 'tlp-corrupt': 3, 'dma-error': 2 });
    expect(dma.lostMessages).toBe(0);
    const down = point(s, 2);
    // The link went down before the corrupted TLPs were due: they found nothing to hit, and say so.
    expect(down.faults).toEqual({ injected: { 'link-down': 1 }, recovered: {}, unstruck: ['faults[0]: tlp-corrupt on h1, 3 left'] });
    expect(down.lostMessages).toBeGreaterThan(0);
    expect(formatTable({ scenario: s, points: [clean, dma] } as never)).toMatch(/dma @ 8 KiB: injected dma-error=2 tlp-corrupt=3 mh-fail=1; recovered dma-error=2 tlp-corrupt=3$/m);
  });

  it('a point without faults has no faults field (results of fault-free scenarios are unchanged)', () => {
    const plain = parseScenarioText('name: p\nmessageBytes: [4096]\nmeasure: {bytes: 65536}\nvariants: [{name: a, traffic: udp}]', 'p.yaml');
    expect('faults' in point(plain, 0)).toBe(false);
  });

  it('refuses entries that would be refused in a rack file, naming the entry and the variant', () => {
    const bad = (text: string): string => {
      try {
        parseScenarioText(text, 'bad.yaml');
      } catch (e) {
        expect((e as EopError).code).toBe(ErrorCode.CONFIG_INVALID);
        return (e as EopError).message;
      }
      throw new Error('accepted');
    };
    const base = 'name: b\nmessageBytes: [4096]\n';
    expect(bad(base + 'faults: [{atUs: 1, kind: link-down, host: h3}]\nvariants: [{name: two, traffic: udp}]')).toMatch(
      /faults\[0\]\.host: unknown host "h3" \(compute hosts are h1, h2\) in variant "two" \(hosts: 2\)/,
    );
    expect(bad(base + 'variants: [{name: a, traffic: udp, faults: [{atUs: 1, kind: link-up, host: h1, count: 2}]}]')).toMatch(
      /variants\[0\]\.faults\[0\]\.count: only dma-error, tlp-corrupt, irq-lost/,
    );
    expect(bad(base + 'variants: [{name: a, traffic: udp, faults: [{atUs: 1, kind: mh-fail, host: h1}]}]')).toMatch(/"h1" is a compute host; mh-fail hits a management host \(management hosts: mh\)/);
    expect(bad(base + 'faults: [{kind: link-down, host: h1}]\nvariants: [{name: a}]')).toMatch(/faults\[0\]\.atUs: required/);
  });
});
