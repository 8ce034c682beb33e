/**
 * `path-down` / `path-up` in a rack file, run by `eop run`'s runner in virtual time: a UDP stream in
 * each direction across a host that loses its primary NTB path. Every datagram is received or
 * counted lost, the lost ones are exactly the frames the receivers counted lost on the failed path,
 * each failover is one fault and one recovery at the modeled times, and the report (text and JSON)
 * gives the switch-over time. Validation of the new fields at the end.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../src/errors.js';
import { buildReport, formatReport } from '../src/run/report.js';
import { runTopology, type RunResult } from '../src/run/run-rack.js';
import { parseTopologyText, TopologyError } from '../src/topology/load.js';
import { NS_PER_US } from '../src/time/units.js';

// Short detection so the test runs quickly; the default (24 ms) is checked in the report test below.
const TIMING = 'failover: {linkDownDetectUs: 300, aerHandlerUs: 20, remapUs: 2}';
const STREAMS = [
  'traffic:',
  '  - {kind: udp, from: h1, to: h2, messageBytes: 1472, rateGbps: 8, durationUs: 3000}',
  '  - {kind: udp, from: h2, to: h1, messageBytes: 1000, rateGbps: 4, durationUs: 3000, dstPort: 10}',
  '  - {kind: udp, from: h3, to: h2, messageBytes: 500, rateGbps: 1, durationUs: 3000, dstPort: 11}',
];

function run(lines: string[], timing = TIMING): RunResult {
  const text = ['name: paths', 'durationMs: 200', 'hosts: [{name: h1, backupPath: true}, h2, h3]', 'captures: {enabled: false}', timing, ...lines].join('\n');
  return runTopology(parseTopologyText(text, 'paths.yaml'));
}

describe('faults: path-down and path-up', () => {
  it('h1 loses its primary path under two UDP streams: each datagram received or counted lost, one fault, one recovery, the rest untouched', () => {
    const clean = run(STREAMS);
    const r = run([...STREAMS, 'faults:', '  - {atUs: 1000, kind: path-down, host: h1}']);
    const rep = buildReport(r);
    for (const s of buildReport(clean).streams) expect(s.lost).toBe(0);
    const [out, back, aside] = rep.streams;
    const h1 = r.rack.host('h1').index;
    const h2 = r.rack.host('h2').index;
    const lostAtH2 = r.rack.nic('h2').qp(h1)!.c.rxPathLost;
    const lostAtH1 = r.rack.nic('h1').qp(h2)!.c.rxPathLost;
    // Every datagram sent was received or lost, nothing corrupt or reordered, and what was lost is
    // exactly what the receiver counted lost on the failed path (no other loss anywhere).
    for (const s of [out!, back!]) {
      expect(s.sent).toBeGreaterThan(1000);
      expect(s.received + s.lost).toBe(s.sent);
      expect([s.corrupt, s.reordered, s.droppedByInterface]).toEqual([0, 0, 0]);
    }
    expect(lostAtH2).toBeGreaterThan(0);
    expect(lostAtH1).toBeGreaterThan(0);
    expect(out!.lost).toBe(lostAtH2);
    expect(back!.lost).toBe(lostAtH1);
    // h3 → h2 never crosses h1's links.
    expect(aside).toMatchObject({ lost: 0, corrupt: 0 });
    // h2 counts the frames it lost as a receiver, and its own writes into the failed path as a sender.
    expect(Object.keys(r.rack.nic('h2').drops.toJSON())).toEqual([ErrorCode.EOP_PATH_LOST, ErrorCode.NTB_PATH_DOWN]);
    expect(r.rack.nic('h2').drops.get(ErrorCode.EOP_PATH_LOST)).toBe(lostAtH2);
    expect(Object.keys(rep.fabricDrops)).toEqual([ErrorCode.NTB_PATH_DOWN]);
    // One fault and its recovery, at the modeled times.
    const t0 = r.rack.bootedAt;
    expect(rep.faults.injected).toEqual({ 'path-down': 1 });
    expect(rep.faults.recovered).toEqual({ 'path-down': 1 });
    const [fault, recovery] = r.faults.log.events;
    expect([fault!.phase, fault!.timeNs - t0]).toEqual(['fault', 1000 * NS_PER_US]);
    expect(recovery!.phase).toBe('recovery');
    const f = rep.failovers;
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ origin: 'faults[0]', host: 'h1', failed: 'primary', to: 'backup', failedAtUs: 1000, detectUs: 320, queuePairs: 4 });
    expect(f[0]!.framesLost).toBe(lostAtH1 + lostAtH2);
    // Switch-over: detection, then the peers hear of it (control latency) and remap, then the resyncs.
    expect(f[0]!.switchOverUs).toBeGreaterThan(320 + 10);
    expect(f[0]!.switchOverUs).toBeLessThan(320 + 40);
    expect((recovery!.timeNs - fault!.timeNs) / NS_PER_US).toBeCloseTo(f[0]!.switchOverUs!, 1);
    expect(Number(/switch-over ([\d.]+) µs/.exec(recovery!.detail)![1])).toBeCloseTo(f[0]!.switchOverUs!, 1);
    expect(recovery!.detail).toContain(`${f[0]!.framesLost} frames lost in flight`);
    // No problem but the lost datagrams themselves.
    expect(rep.problems).toEqual([`udp h1 → h2: ${lostAtH2} lost, 0 corrupt`, `udp h2 → h1: ${lostAtH1} lost, 0 corrupt`]);
  });

  it('down, up, then the backup down: traffic fails over and back, each move one recovery; the report gives both switch-overs', () => {
    const r = run([
      ...STREAMS,
      'faults:',
      '  - {atUs: 500, kind: path-down, host: h1}',
      '  - {atUs: 1200, kind: path-up, host: h1}',
      '  - {atUs: 2000, kind: path-down, host: h1, path: backup}',
    ]);
    const rep = buildReport(r);
    expect(rep.faults.injected).toEqual({ 'path-down': 2, 'path-up': 1 });
    expect(rep.faults.recovered).toEqual({ 'path-down': 2 });
    expect(rep.failovers.map((f) => [f.failed, f.to, f.failedAtUs, f.detectUs])).toEqual([
      ['primary', 'backup', 500, 320],
      ['backup', 'primary', 2000, 320],
    ]);
    const lost = rep.failovers.reduce((a, f) => a + f.framesLost, 0);
    const [out, back] = rep.streams;
    expect(out!.lost + back!.lost).toBe(lost);
    for (const s of [out!, back!]) expect(s.received + s.lost).toBe(s.sent);
    // The text report has the table; --json the same records.
    const text = formatReport(rep);
    expect(text).toMatch(/NTB path failovers/);
    expect(text).toMatch(/faults\[2\]\s+h1\s+backup\s+primary\s+320/);
    expect(JSON.parse(JSON.stringify(rep)).failovers).toHaveLength(2);
  });

  it('both paths down stops the traffic (a problem in the report) until a path-up moves it', () => {
    const stuck = run([...STREAMS, 'faults:', '  - {atUs: 500, kind: path-down, host: h1, path: backup}', '  - {atUs: 800, kind: path-down, host: h1}']);
    const rs = buildReport(stuck);
    expect(rs.failovers.map((f) => [f.failed, f.to, f.switchOverUs])).toEqual([
      ['backup', null, null],
      ['primary', null, null],
    ]);
    expect(rs.problems).toContain('faults[1]: h1 lost its primary NTB path with the other one down too: its traffic stopped');
    const saved = run([
      ...STREAMS,
      'faults:',
      '  - {atUs: 500, kind: path-down, host: h1, path: backup}',
      '  - {atUs: 800, kind: path-down, host: h1}',
      '  - {atUs: 1500, kind: path-up, host: h1, path: backup}',
    ]);
    const rv = buildReport(saved);
    // The stuck failover completes when the backup returns: its switch-over spans the whole outage.
    expect(rv.failovers.map((f) => [f.origin, f.failed, f.to])).toEqual([
      ['faults[0]', 'backup', null],
      ['faults[1]', 'primary', 'backup'],
    ]);
    expect(rv.failovers[1]!.switchOverUs).toBeGreaterThan(1500 - 800);
    expect(rv.failovers[1]!.detectUs).toBe(320);
    expect(rv.problems.filter((p) => /NTB path/.test(p))).toEqual([]);
    for (const s of rv.streams.slice(0, 2)) expect(s.received + s.lost).toBe(s.sent);
    // The idle backup failing first was a fault with nothing to move: recovered at once.
    expect(rv.faults.events.filter((e) => e.phase === 'recovery').map((e) => e.origin)).toEqual(['faults[0]', 'faults[1]']);
    expect(rv.faults.recovered).toEqual({ 'path-down': 2 });
  });

  it('a backup path on another top-of-rack switch: after the failover the traffic crosses the spine', () => {
    const text = [
      'name: tors',
      'durationMs: 200',
      'tors: [t1, t2]',
      'hosts: [{name: h1, tor: t1}, {name: h2, tor: t1, backupPath: {tor: t2}}]',
      'captures: {enabled: false}',
      TIMING,
      'traffic: [{kind: udp, from: h2, to: h1, messageBytes: 1472, rateGbps: 4, durationUs: 2000}]',
      'faults: [{atUs: 500, kind: path-down, host: h2}]',
    ].join('\n');
    const r = runTopology(parseTopologyText(text, 'tors.yaml'));
    const rep = buildReport(r);
    expect(rep.failovers[0]).toMatchObject({ failed: 'primary', to: 'backup' });
    expect(rep.streams[0]!.received + rep.streams[0]!.lost).toBe(rep.streams[0]!.sent);
    const [up1, up2] = r.rack.fabric.tiers!.uplinks;
    // Before: h2 and h1 share t1, nothing crosses the spine; after: h2's frames go up t2's uplink
    // and down t1's.
    expect(up2!.up.payloadBytes).toBeGreaterThan(300_000);
    expect(up1!.down.payloadBytes).toBeGreaterThan(300_000);
    const clean = runTopology(parseTopologyText(text.replace(/faults: .*/, ''), 'tors.yaml'));
    expect(clean.rack.fabric.tiers!.uplinks[1]!.up.payloadBytes).toBe(0);
    expect(rep.links.map((l) => l.host)).toEqual(['mh', 'h1', 'h2', 'h2 (backup)']);
  });

  it('with the default timing the switch-over is the 24 ms of link-down detection plus the AER handler, the remap and the resync', () => {
    const r = run(
      ['traffic:', '  - {kind: udp, from: h1, to: h2, messageBytes: 1472, rateGbps: 2, durationUs: 40000}', 'faults:', '  - {atUs: 1000, kind: path-down, host: h1}'],
      '',
    );
    const f = buildReport(r).failovers[0]!;
    expect(f.detectUs).toBe(24_050);
    expect(f.switchOverUs).toBeGreaterThan(24_050);
    expect(f.switchOverUs).toBeLessThan(24_100);
    expect(buildReport(r).streams[0]!.lost).toBe(f.framesLost);
  });
});

describe('multipath: validation', () => {
  const problems = (lines: string[]): readonly string[] => {
    try {
      parseTopologyText(['name: v', ...lines].join('\n'), 'rack.yaml');
    } catch (e) {
      if (e instanceof TopologyError) return e.problems;
      throw e;
    }
    return [];
  };

  it('names the field of each bad entry', () => {
    const p = problems([
      'tors: [t1, t2]',
      'hosts:',
      '  - {name: h1, backupPath: {tor: t3}}',
      '  - {name: h2, backupPath: {link: {gen: 9}}}',
      '  - {name: h3}',
      '  - {name: boss, role: management, backupPath: true}',
      '  - {name: h4, backupPath: 7}',
      'failover: {linkDownDetectUs: -1}',
      'faults:',
      '  - {atUs: 10, kind: path-down, host: h3}',
      '  - {atUs: 10, kind: link-down, host: h1, path: backup}',
      '  - {atUs: 10, kind: path-up, host: h1, path: middle}',
    ]);
    const want = [
      /hosts\[0\]\.backupPath\.tor: no switch named "t3"/,
      /hosts\[1\]\.backupPath\.link\.gen:/,
      /hosts\[3\]\.backupPath: not allowed on the management host/,
      /hosts\[4\]\.backupPath: .*true, or a mapping/,
      /failover\.linkDownDetectUs:/,
      /faults\[0\]\.host: "h3" has one NTB path: path-down needs a host with two/,
      /faults\[1\]\.path: only path-down, path-up/,
      /faults\[2\]\.path: .*"primary"/,
    ];
    for (const w of want) expect(p.some((x) => w.test(x)), `${w} in\n${p.join('\n')}`).toBe(true);
    expect(p).toHaveLength(want.length);
  });

  it('backupPath: true, a mapping, or another switch; a backup ToR places the path there', () => {
    const t = parseTopologyText(
      ['name: v', 'tors: [t1, t2]', 'hosts:', '  - {name: h1, backupPath: true}', '  - {name: h2, tor: t1, backupPath: {tor: t2, link: {width: 4}}}', '  - h3'].join('\n'),
      'rack.yaml',
    );
    expect(t.hosts[0]!.backupPath).toEqual({ tor: 't1', link: t.hosts[0]!.link });
    expect(t.hosts[1]!.backupPath).toEqual({ tor: 't2', link: { ...t.hosts[1]!.link, width: 4 } });
    expect(t.hosts[2]!.backupPath).toBeNull();
    expect(t.failover).toEqual({ linkDownDetectUs: 24_000, aerHandlerUs: 50, remapUs: 2 });
  });
});
