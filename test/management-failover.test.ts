/**
 * Management-host failover (issue 12 item 3) in virtual time: a master and a backup management
 * host on two virtual switches. The master's failure moves the control plane (who owns the
 * downstream ports) after a modelled detection and takeover, while the data plane between compute
 * hosts never notices: a ping flood across the failure loses nothing. Configuration changes made
 * meanwhile (a host restarting) wait for the takeover, and the reported takeover time is the sum
 * of its modelled parts.
 */
import { describe, expect, it } from 'vitest';
import { VirtualSwitches } from '../src/pcie/virtual-switches.js';
import { buildReport } from '../src/run/report.js';
import { runTopology, type RunResult } from '../src/run/run-rack.js';
import { parseTopologyText, TopologyError } from '../src/topology/load.js';
import { NS_PER_US } from '../src/time/units.js';

// Heartbeat 1 ms, 3 missed; 1 ms of partition change and 100 µs per port: a 4 ms takeover, inside
// a 12 ms ping flood (a request every 10 µs).
const FAILOVER = 'managementFailover: {heartbeatUs: 1000, missedHeartbeats: 3, takeoverBaseUs: 1000, portTakeoverUs: 100}';

function run(opts: { backup?: boolean; faults: string[]; pings?: number }): RunResult {
  const text = [
    'name: failover',
    'durationMs: 40',
    'hosts:',
    '  - {name: mh, role: management}',
    ...(opts.backup === false ? [] : ['  - {name: mhb, role: management}']),
    '  - h1',
    '  - h2',
    '  - h3',
    'captures: {enabled: false}',
    FAILOVER,
    'traffic:',
    `  - {kind: ping, from: h1, to: h2, count: ${opts.pings ?? 1200}, intervalUs: 10}`,
    ...(opts.faults.length ? ['faults:', ...opts.faults] : []),
  ].join('\n');
  return runTopology(parseTopologyText(text, 'failover.yaml'));
}

describe('management-host failover', () => {
  it('the master fails during a ping flood: no ping lost, the backup owns every port after detection + work', () => {
    const r = run({ faults: ['  - {atUs: 1500, kind: mh-fail, host: mh}'] });
    const p = r.pings[0]!.pinger.result!;
    expect([p.sent, p.lost]).toEqual([1200, 0]);
    const mgmt = r.rack.management!;
    expect(mgmt.takeovers).toHaveLength(1);
    const t = mgmt.takeovers[0]!;
    const failedAt = r.rack.bootedAt + 1500 * NS_PER_US;
    // Detection: the backup's timer runs out 3 heartbeats after the last one before the failure.
    const lastBeat = Math.floor(failedAt / 1_000_000) * 1_000_000;
    expect(t).toMatchObject({ from: 'mh', to: 'mhb', failedAt, detectedAt: lastBeat + 3_000_000, ports: 3 });
    expect(t.doneAt - t.detectedAt).toBe(1_000_000 + 3 * 100_000);
    // The flood was still going when the control plane came back: the data plane ran throughout.
    expect(t.doneAt).toBeLessThan(r.rack.bootedAt + 1200 * 10 * NS_PER_US);
    for (const port of [1, 2, 3]) expect(mgmt.vs.ownerOf(port)!.upstreamName).toBe('mhb');
    const log = r.faults.log;
    expect(log.injected['mh-fail']).toBe(1);
    expect(log.recovered['mh-fail']).toBe(1);
    const rec = log.events.find((e) => e.phase === 'recovery')!;
    expect(rec.timeNs).toBe(t.doneAt);
    expect(rec.detail).toContain(`${((t.doneAt - failedAt) / 1e6).toFixed(3)} ms after mh failed`);
    const rep = buildReport(r);
    expect(rep.problems).toEqual([]);
    expect(rep.controlPlane!.takeovers).toEqual([
      { from: 'mh', to: 'mhb', failedAtUs: 1500, detectionUs: (t.detectedAt - failedAt) / 1000, workUs: 1300, takeoverUs: (t.doneAt - failedAt) / 1000, ports: 3 },
    ]);
    expect(rep.controlPlane!.managementHosts).toEqual([
      { name: 'mh', alive: false, ports: 0 },
      { name: 'mhb', alive: true, ports: 3 },
    ]);
  });

  it('a host restarting while no one manages the ports is told to its peers only after the takeover', () => {
    const r = run({
      faults: ['  - {atUs: 1500, kind: mh-fail, host: mh}', '  - {atUs: 1600, kind: host-crash, host: h3}', '  - {atUs: 1700, kind: host-restart, host: h3}'],
    });
    expect(r.pings[0]!.pinger.result!.lost).toBe(0);
    const t = r.rack.management!.takeovers[0]!;
    expect(t.portsWithHeldEvents).toBe(1);
    const back = r.faults.log.events.find((e) => e.phase === 'recovery' && e.kind === 'host-crash')!;
    // h3's peers renegotiate with its new life only once mhb tells them, after the takeover.
    expect(back.timeNs).toBeGreaterThan(t.doneAt);
    expect(r.rack.control.heldEvents).toBe(2); // the crash, then the restart: the latest state was told
    const h3 = r.rack.nic('h3');
    // h1's ARP flood opened its queue pair with h3 (h2 never sent to h3: queue pairs open on first use).
    expect(r.rack.nic('h2').qp(h3.host.index)).toBeUndefined();
    expect(r.rack.nic('h1').qp(h3.host.index)!.peerGeneration).toBe(h3.generation);
  });

  it('a restart that waits 150 ms for a slow takeover is still logged as recovered, at the instant its links are back', () => {
    const text = [
      'name: slow-takeover',
      'durationMs: 400',
      'hosts: [{name: mh, role: management}, {name: mhb, role: management}, h1, h2, h3]',
      'captures: {enabled: false}',
      'managementFailover: {heartbeatUs: 50000, missedHeartbeats: 3, takeoverBaseUs: 1000, portTakeoverUs: 100}',
      'traffic:',
      '  - {kind: ping, from: h1, to: h2, count: 30, intervalUs: 10000}',
      'faults:',
      '  - {atUs: 1500, kind: mh-fail, host: mh}',
      '  - {atUs: 1600, kind: host-crash, host: h3}',
      '  - {atUs: 1700, kind: host-restart, host: h3}',
    ].join('\n');
    const r = runTopology(parseTopologyText(text, 'slow.yaml'));
    const t = r.rack.management!.takeovers[0]!;
    expect(t.doneAt - t.failedAt).toBeGreaterThan(100_000 * NS_PER_US);
    const back = r.faults.log.events.find((e) => e.phase === 'recovery' && e.kind === 'host-crash');
    expect(back, 'the restart was never logged as recovered').toBeDefined();
    expect(back!.timeNs).toBeGreaterThan(t.doneAt);
    // Logged by the queue pair that came up last, not by a later poll: h3's last link was up then.
    const h3 = r.rack.nic('h3');
    expect(r.faults.log.recovered['host-crash']).toBe(1);
    expect(h3.qps.every((q) => !q || q.state === 'up')).toBe(true);
    expect(r.pings[0]!.pinger.result!.lost).toBe(0);
  });

  it('the same restart with a live master is told at once (the control plane is what waited)', () => {
    const r = run({ faults: ['  - {atUs: 1600, kind: host-crash, host: h3}', '  - {atUs: 1700, kind: host-restart, host: h3}'] });
    const back = r.faults.log.events.find((e) => e.phase === 'recovery' && e.kind === 'host-crash')!;
    expect(back.timeNs - r.rack.bootedAt).toBeLessThan(1800 * NS_PER_US);
    expect(r.rack.control.heldEvents).toBe(0);
  });

  it('without a backup the ports stay unmanaged (data still flows); the restarted master re-enumerates them', () => {
    const r = run({ backup: false, faults: ['  - {atUs: 1500, kind: mh-fail, host: mh}', '  - {atUs: 8000, kind: mh-restart, host: mh}'] });
    expect(r.pings[0]!.pinger.result!.lost).toBe(0);
    const t = r.rack.management!.takeovers[0]!;
    expect(t).toMatchObject({ from: 'mh', to: 'mh', detectedAt: r.rack.bootedAt + 8000 * NS_PER_US });
    expect(t.doneAt - t.detectedAt).toBe(1_000_000 + 3 * 100_000);
    expect(r.faults.log.events[0]!.detail).toMatch(/no live backup, so configuration changes wait/);
  });

  it('the failed master restarts as the backup, and takes the ports back when the new master fails', () => {
    const r = run({
      pings: 2500,
      faults: ['  - {atUs: 1500, kind: mh-fail, host: mh}', '  - {atUs: 7000, kind: mh-restart, host: mh}', '  - {atUs: 9000, kind: mh-fail, host: mhb}'],
    });
    expect(r.pings[0]!.pinger.result!.lost).toBe(0);
    const [first, second] = r.rack.management!.takeovers;
    expect([first!.to, second!.from, second!.to]).toEqual(['mhb', 'mhb', 'mh']);
    expect(r.faults.log.events.find((e) => e.kind === 'mh-restart')!.detail).toMatch(/restarted as the backup/);
    expect(r.faults.log.recovered['mh-fail']).toBe(2);
  });

  it('with no management host left, a crash is never told: the report says so, the other hosts keep talking', () => {
    const r = run({ backup: false, faults: ['  - {atUs: 1500, kind: mh-fail, host: mh}', '  - {atUs: 1600, kind: host-crash, host: h3}'] });
    expect(r.pings[0]!.pinger.result!.lost).toBe(0);
    const h3 = r.rack.host('h3').index;
    expect(r.rack.nic('h1').qp(h3)!.state).toBe('up'); // nobody told h1
    expect(buildReport(r).problems).toContain('control plane: 1 port(s) changed link state and no live management host has told their peers');
  });

  it('a backup that fails first leaves the ports unmanaged when the master fails too', () => {
    const r = run({ faults: ['  - {atUs: 500, kind: mh-fail, host: mhb}', '  - {atUs: 1500, kind: mh-fail, host: mh}'] });
    expect(r.pings[0]!.pinger.result!.lost).toBe(0);
    expect(r.rack.management!.takeovers).toHaveLength(0);
    expect(r.faults.log.events.map((e) => e.detail)).toEqual([
      expect.stringMatching(/mhb \(the backup, vs2\) failed/),
      expect.stringMatching(/no live backup/),
    ]);
  });
});

describe('rack files with two management hosts', () => {
  const parse = (hosts: string[], extra: string[] = []) => parseTopologyText(['hosts:', ...hosts, ...extra].join('\n'), 'r.yaml');
  it('the first is the master, the second the backup; the backup does not move the compute hosts', () => {
    const t = parse(['  - {name: a, role: management}', '  - h1', '  - {name: b, role: management}', '  - h2']);
    expect([t.management!.name, t.backupManagement!.name]).toEqual(['a', 'b']);
    expect(t.hosts.map((h) => h.index)).toEqual([0, 1]);
    expect(t.managementFailover).toEqual({ heartbeatUs: 100_000, missedHeartbeats: 3, takeoverBaseUs: 100_000, portTakeoverUs: 100 });
  });
  it('a third is refused, and so are bad failover settings', () => {
    let err: unknown;
    try {
      parse(['  - {name: a, role: management}', '  - {name: b, role: management}', '  - {name: c, role: management}', '  - h1'], ['managementFailover: {heartbeatUs: 0, missedHeartbeats: 0.5}']);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TopologyError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/hosts\[2\]\.role: at most two hosts may be management hosts/);
    expect(msg).toMatch(/managementFailover\.heartbeatUs: must be a number > 0/);
    expect(msg).toMatch(/managementFailover\.missedHeartbeats: must be an integer from 1 to 1000/);
  });
});

describe('VirtualSwitches', () => {
  it('a port is managed while its owner lives and is not re-enumerating it', () => {
    const vs = new VirtualSwitches([{ index: 0, name: 'mh' }, { index: 9, name: 'mhb' }], [1, 2]);
    expect([vs.managed(1), vs.ownerOf(1)!.name]).toEqual([true, 'vs1']);
    vs.switches[0]!.alive = false;
    expect(vs.managed(1)).toBe(false);
    vs.reassign(1, 1);
    expect([vs.managed(1), vs.managed(2), vs.portsOf(1)]).toEqual([true, false, [1]]);
    vs.enumerate(1);
    expect(vs.managed(1)).toBe(false);
    vs.enumerated(1);
    expect(vs.managed(1)).toBe(true);
    expect(() => vs.reassign(5, 0)).toThrow(/not a downstream port/);
    expect(vs.managed(7)).toBe(false);
  });
});
