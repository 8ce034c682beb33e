/**
 * The `faults:` schedule of a rack file, run by `eop run`'s runner in virtual time: each kind
 * produces exactly the drops and recoveries it describes, compared against the same rack without
 * the fault where that is the clearest statement. Validation of the entries is at the end.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../src/errors.js';
import { buildReport } from '../src/run/report.js';
import { runTopology, type RunResult } from '../src/run/run-rack.js';
import { parseTopologyText, TopologyError } from '../src/topology/load.js';
import { NS_PER_US } from '../src/time/units.js';

const BASE = ['name: faults', 'durationMs: 3000', 'hosts: [h1, h2, h3]', 'captures: {enabled: false}'];

function run(lines: string[]): RunResult {
  return runTopology(parseTopologyText([...BASE, ...lines].join('\n'), 'faults.yaml'));
}

/** Pings h1 → h2 every 100 µs, 10 of them, plus `faults`. */
function pingRun(faults: string[]): RunResult {
  return run(['traffic:', '  - {kind: ping, from: h1, to: h2, count: 10, intervalUs: 100}', ...(faults.length ? ['faults:', ...faults] : [])]);
}

const stackIgnored = (r: RunResult, host: string, code: string): number => buildReport(r).interfaces.find((i) => i.name === `eop-${host}`)!.stackIgnored[code] ?? 0;

describe('faults: link and host', () => {
  // Requests leave at 0, 100, …, 900 µs after boot. Down at 250, up at 550: the requests of 300,
  // 400 and 500 µs find h2 unreachable; the one of 600 µs finds the links renegotiated.
  it('link-down then link-up of h2 loses exactly the pings sent while it was down, and recovers', () => {
    const clean = pingRun([]);
    const r = pingRun(['  - {atUs: 250, kind: link-down, host: h2}', '  - {atUs: 550, kind: link-up, host: h2}']);
    const p = r.pings[0]!.pinger.result!;
    expect(clean.pings[0]!.pinger.result!.lost).toBe(0);
    expect(p.sent).toBe(10);
    expect(p.lost).toBe(3);
    const log = r.faults.log;
    expect(log.injected).toMatchObject({ 'link-down': 1, 'link-up': 1, 'host-crash': 0 });
    expect(log.recovered['link-down']).toBe(1);
    const t0 = r.rack.bootedAt;
    const [down, up, back] = log.events;
    expect([down!.phase, down!.kind, down!.timeNs - t0]).toEqual(['fault', 'link-down', 250 * NS_PER_US]);
    expect([up!.phase, up!.kind, up!.timeNs - t0]).toEqual(['fault', 'link-up', 550 * NS_PER_US]);
    expect(back!.phase).toBe('recovery');
    expect(back!.timeNs).toBeGreaterThan(up!.timeNs);
    expect(back!.timeNs - t0).toBeLessThan(600 * NS_PER_US);
    // Every queue pair of h2 went down once and is up again.
    for (const n of r.rack.nics) {
      const toH2 = n.host.name === 'h2' ? null : n.qp(r.rack.host('h2').index)!;
      if (toH2) expect([toH2.state, toH2.c.linkDowns]).toEqual(['up', 1]);
    }
    // The three requests h1 sent while h2's queue pair was down flooded to h3, which ignored them;
    // so did the first one after, as h1 had forgotten h2's MAC with the queue pair (relearned from the reply).
    expect(stackIgnored(r, 'h3', 'not-for-us') - stackIgnored(clean, 'h3', 'not-for-us')).toBe(3 + 1);
    expect(buildReport(r).problems).toEqual(['ping h1 → h2: 3 of 10 lost']);
  });

  it('host-crash then host-restart of h2: the same three pings lost, the crash recovered by the restart', () => {
    const r = pingRun(['  - {atUs: 250, kind: host-crash, host: h2}', '  - {atUs: 550, kind: host-restart, host: h2}']);
    expect(r.pings[0]!.pinger.result!.lost).toBe(3);
    expect(r.faults.log.injected).toMatchObject({ 'host-crash': 1, 'host-restart': 1 });
    expect(r.faults.log.recovered).toMatchObject({ 'host-crash': 1, 'link-down': 0 });
    expect(r.rack.nic('h2').running).toBe(true);
  });

  it('a link-down never followed by link-up stays down and the report says so', () => {
    const r = pingRun(['  - {atUs: 250, kind: link-down, host: h2}']);
    expect(r.pings[0]!.pinger.result!.lost).toBe(7);
    expect(r.faults.log.recovered['link-down']).toBe(0);
    expect(buildReport(r).problems.some((p) => /h1 ↔ h2: link down/.test(p))).toBe(true);
  });
});

describe('faults: counted kinds', () => {
  const udp = (faults: string[]): RunResult =>
    run(['traffic:', '  - {kind: udp, from: h1, to: h2, messageBytes: 1472, count: 300, rateGbps: 2}', ...(faults.length ? ['faults:', ...faults] : [])]);

  it('tlp-corrupt: every corrupted train is replayed, nothing is lost, and the stream ends later by the replays', () => {
    const clean = udp([]);
    const r = udp(['  - {atUs: 50, kind: tlp-corrupt, host: h1, count: 5}']);
    const rep = buildReport(r);
    expect(rep.streams[0]).toMatchObject({ sent: 300, received: 300, lost: 0, corrupt: 0 });
    expect(r.faults.log.injected['tlp-corrupt']).toBe(5);
    expect(r.faults.log.recovered['tlp-corrupt']).toBe(5);
    // Each replay costs the train again plus the NAK's round trip on h1's link.
    const link = r.rack.host('h1').link;
    const nakNs = 2 * link.cfg.latencyNs;
    for (const e of r.faults.log.events.filter((x) => x.phase === 'recovery')) {
      const late = Number(/(\d+\.\d) ns late/.exec(e.detail)![1]);
      expect(late).toBeGreaterThan(nakNs);
    }
    expect(link.up.busyNs).toBeGreaterThan(clean.rack.host('h1').link.up.busyNs);
    expect(Object.keys(rep.fabricDrops)).toEqual([]);
  });

  it('irq-lost: the lost interrupt is found by the driver poll pollUs later; no ping lost, one ping that much slower', () => {
    const r = run([
      'traffic:',
      '  - {kind: ping, from: h1, to: h2, count: 4, intervalUs: 2000}',
      'faults:',
      '  - {atUs: 1500, kind: irq-lost, host: h2, count: 1, pollUs: 700}',
    ]);
    const p = r.pings[0]!.pinger.result!;
    expect(p.lost).toBe(0);
    expect(r.faults.log.injected['irq-lost']).toBe(1);
    expect(r.faults.log.recovered['irq-lost']).toBe(1);
    const [lost, found] = r.faults.log.events;
    expect(found!.timeNs - lost!.timeNs).toBeCloseTo(700 * NS_PER_US, 6);
    // One request waited for the poll; the others did not.
    expect(p.rtt.max).toBeGreaterThan(700 * NS_PER_US);
    expect(p.rtt.min).toBeLessThan(20 * NS_PER_US);
  });

  it('dma-error: each failed payload descriptor is re-sent by CPU copy: nothing lost, nothing corrupt, each counted as a DMA error and reaped', () => {
    const r = udp(['  - {atUs: 50, kind: dma-error, host: h1, count: 2}']);
    const rep = buildReport(r);
    // The sink checks every datagram's bytes and order: a stale slot handed up would be corrupt or reordered.
    expect(rep.streams[0]).toMatchObject({ sent: 300, received: 300, lost: 0, corrupt: 0, reordered: 0 });
    const nic = r.rack.nic('h1');
    expect(nic.dmaErrors.toJSON()).toEqual({ [ErrorCode.DMA_BAD_DESCRIPTOR]: 2 });
    expect(nic.drops.toJSON()).toEqual({});
    expect(nic.qp(r.rack.host('h2').index)!.c).toMatchObject({ txDmaErrors: 2, txDmaRetries: 2, txDmaRetryDrops: 0 });
    // The report (--json) says the same.
    expect(rep.interfaces.find((i) => i.name === 'eop-h1')!.dmaErrors).toEqual({ [ErrorCode.DMA_BAD_DESCRIPTOR]: 2 });
    expect(rep.queuePairs.find((q) => q.host === 'h1' && q.peer === 'h2')).toMatchObject({ txDmaRetries: 2, txDmaRetryDrops: 0 });
    // The fenced headers behind the failed payloads were not executed.
    expect(r.rack.host('h1').dma.drops.toJSON()).toEqual({ [ErrorCode.DMA_BAD_DESCRIPTOR]: 2, [ErrorCode.DMA_FENCE_ABORTED]: 2 });
    expect(r.faults.log.injected['dma-error']).toBe(2);
    expect(r.faults.log.recovered['dma-error']).toBe(2);
  });

  it('a counted fault with nothing left to hit is a problem in the report', () => {
    // h3 sends nothing by DMA: the armed descriptor errors never strike.
    const r = udp(['  - {atUs: 50, kind: dma-error, host: h3, count: 4}']);
    expect(r.faults.log.injected['dma-error']).toBe(0);
    expect(buildReport(r).problems).toContain('faults[0]: dma-error on h3 had 4 operation(s) left to hit when the run ended');
  });

  it('the report lists each event with its time and counts by kind (text and JSON)', () => {
    const r = udp(['  - {atUs: 50, kind: tlp-corrupt, host: h1, count: 1}']);
    const rep = buildReport(r);
    expect(rep.faults.injected).toEqual({ 'tlp-corrupt': 1 });
    expect(rep.faults.recovered).toEqual({ 'tlp-corrupt': 1 });
    expect(rep.faults.events.map((e) => [e.origin, e.phase, e.kind, e.host])).toEqual([
      ['faults[0]', 'fault', 'tlp-corrupt', 'h1'],
      ['faults[0]', 'recovery', 'tlp-corrupt', 'h1'],
    ]);
    expect(JSON.parse(JSON.stringify(rep)).faults.events[0].timeUs).toBeGreaterThanOrEqual(50);
  });
});

describe('faults: validation', () => {
  const problems = (lines: string[]): readonly string[] => {
    try {
      parseTopologyText([...BASE, 'faults:', ...lines].join('\n'), 'rack.yaml');
    } catch (e) {
      if (e instanceof TopologyError) return e.problems;
      throw e;
    }
    return [];
  };

  it('says what is wrong with each bad entry, with its path', () => {
    const p = problems([
      '  - {atUs: 10, kind: link-flap, host: h1}',
      '  - {atUs: 10, kind: link-down, host: h9}',
      '  - {atUs: 10, kind: host-crash, host: mh}',
      '  - {atUs: 10, kind: link-down, host: h1, count: 2}',
      '  - {atUs: 10, kind: dma-error, host: h1, pollUs: 5}',
      '  - {atUs: -1, kind: link-up, host: h1}',
      '  - {kind: link-up, host: h1}',
      '  - {atUs: 10, kind: mh-fail, host: h1}',
      '  - {atUs: 10, kind: mh-restart, host: mx}',
    ]);
    const want = [
      /faults\[0\]\.kind: .*"link-down"/,
      /faults\[1\]\.host: unknown host "h9"/,
      /faults\[2\]\.host: "mh" is a management host, which only mh-fail and mh-restart hit/,
      /faults\[3\]\.count: only dma-error, tlp-corrupt, irq-lost/,
      /faults\[4\]\.pollUs: only irq-lost/,
      /faults\[5\]\.atUs:/,
      /faults\[6\]\.atUs: required/,
      /faults\[7\]\.host: "h1" is a compute host; mh-fail hits a management host \(management hosts: mh\)/,
      /faults\[8\]\.host: unknown management host "mx"/,
    ];
    for (const w of want) expect(p.some((x) => w.test(x)), `${w} in\n${p.join('\n')}`).toBe(true);
    expect(p).toHaveLength(want.length);
  });

  it('an empty or absent faults: means none', () => {
    expect(parseTopologyText([...BASE, 'faults:'].join('\n'), 'a.yaml').faults).toEqual([]);
    expect(parseTopologyText(BASE.join('\n'), 'b.yaml').faults).toEqual([]);
  });
});
