/**
 * The counters the model keeps are reported, not only kept: interrupts (raised, merged, moderated,
 * spurious), empty ring looks, credit returns, reaped HRDMA descriptors and staging exhaustion reach
 * `eop run`'s report, and the control plane (management hosts, failovers, faults) reaches the live
 * status that `eop status` prints.
 */
import { describe, expect, it } from 'vitest';
import { formatRackStatus, type RackStatusJson } from '../bridge/rack-status.js';
import { buildReport, formatReport } from '../src/run/report.js';
import { runTopology } from '../src/run/run-rack.js';
import { DEFAULT_RACK } from '../src/topology/default-rack.js';
import { parseTopologyText } from '../src/topology/load.js';

describe('report counters', () => {
  const rep = buildReport(runTopology(DEFAULT_RACK, { captures: false }));

  it('each interface reports its interrupts, at least one per receive interrupt its queue pairs took', () => {
    const r = runTopology(DEFAULT_RACK, { captures: false });
    const full = buildReport(r);
    for (const i of full.interfaces) {
      const nic = r.rack.nics.find((n) => n.name === i.name)!;
      const rxIrqs = nic.qps.reduce((a, q) => a + (q?.c.rxInterrupts ?? 0), 0);
      expect(i.interrupts.raised, i.name).toBeGreaterThanOrEqual(rxIrqs);
      expect(i.interrupts.raised, i.name).toBeGreaterThan(0);
      expect(i.interrupts.spurious).toBe(0);
    }
  });

  it('the receiver of the stream returns credits, the sender reaps its HRDMA descriptors', () => {
    const h2 = rep.queuePairs.find((q) => q.host === 'h2' && q.peer === 'h1')!;
    expect(h2.rxFrames).toBeGreaterThan(1000);
    expect(h2.creditUpdates).toBeGreaterThan(0);
    expect(h2.creditUpdates).toBeLessThanOrEqual(h2.rxInterrupts + 10);
    const h1 = rep.interfaces.find((i) => i.host === 'h1')!;
    expect(h1.dmaCompletions).toBeGreaterThanOrEqual(rep.queuePairs.filter((q) => q.host === 'h1').reduce((a, q) => a + q.txDmaFrames, 0));
    expect(h1.stagingFull).toBe(0);
  });

  it('the text report has the interrupts and credits table, one row per interface', () => {
    const text = formatReport(rep);
    const at = text.indexOf('Interrupts and credits');
    expect(at).toBeGreaterThan(0);
    const rows = text.slice(at).split('\n').slice(2, 2 + rep.interfaces.length);
    expect(rows.map((r) => r.split(/\s+/)[0])).toEqual(rep.interfaces.map((i) => i.name));
  });

  it('eop status prints the control plane (a master that is down, takeovers, failovers, faults by kind) and the runner wake-ups', () => {
    const s: RackStatusJson = {
      version: 1,
      rack: 'r',
      pid: 1,
      mode: 'up',
      uptimeS: 3,
      link: { gen: 3, width: 8, mpsBytes: 256 },
      live: { behindNow: false, lateBatchesWindow: 0, batchesWindow: 1, maxLagWindowMs: 0, windowS: 5, lateBatches: 0, batches: 1, maxLagMs: 0, lastLagMs: 0, lagToleranceMs: 1, eventsRun: 1, wakeups: 42, timerWakeups: 3, pollBackoffs: 0, warmUp: null },
      captures: { enabled: false, frames: 0, drops: 0, paths: [] },
      control: { managementHosts: [{ name: 'mh', alive: false }, { name: 'mh2', alive: true }], takeovers: 1, failovers: 2, faultsInjected: { 'mh-fail': 1, 'link-down': 2 }, faultsRecovered: { 'link-down': 1 } },
      hosts: [],
    };
    const line = formatRackStatus(s).split('\n').find((l) => l.includes('control:'))!;
    expect(line).toContain('management mh (master, DOWN), mh2 (backup, alive), 1 takeover(s)');
    expect(line).toContain('2 path failover(s)');
    expect(line).toContain('faults injected mh-fail=1 link-down=2, recovered link-down=1');
    expect(formatRackStatus(s)).toMatch(/live: .*; 42 wake-ups \(3 by timer\); captures off/);
    expect(formatRackStatus({ ...s, live: { ...s.live, pollBackoffs: 2 } })).toMatch(/42 wake-ups \(3 by timer\), 2 busy-poll back-off\(s\); captures off/);
    const none = formatRackStatus({ ...s, control: { managementHosts: [], takeovers: 0, failovers: 0, faultsInjected: {}, faultsRecovered: {} } });
    expect(none).toContain('control: no management host; 0 path failover(s); faults injected none, recovered none');
  });

  it('eop status shows a TAP host\'s offload work (TSO reads, GRO and UDP GSO writes, bad checksums passed on) in eop up\'s words; other hosts none', () => {
    const host: RackStatusJson['hosts'][number] = {
      name: 'h1', attach: 'tap', mac: '02:e0:00:00:00:01', ipv4: '10.11.0.1/24', ipv6: 'fd00:e0::1/64', mtu: 1500, netns: 'eop-h1',
      txFrames: 1, txBytes: 1, rxFrames: 1, rxBytes: 1, txGbps: 0, rxGbps: 0, txFramesPerS: 0, rxFramesPerS: 0, drops: {}, ignored: {},
      linksUp: 1, links: 1, ntbUp: true, failure: null, pickedUp: 0, kernel: null,
      offloads: { tsoReads: 10, tsoFrames: 450, groWrites: 20, groFrames: 800, udpGsoWrites: 3, udpGsoFrames: 90, udpGsoUnsupported: 0, badChecksumToKernel: 2 },
      interrupts: { raised: 0, coalesced: 0, moderated: 0, spurious: 0 }, queuePairs: [], ws: null,
    };
    const s: RackStatusJson = {
      version: 1, rack: 'r', pid: 1, mode: 'up', uptimeS: 3, link: { gen: 3, width: 8, mpsBytes: 256 },
      live: { behindNow: false, lateBatchesWindow: 0, batchesWindow: 1, maxLagWindowMs: 0, windowS: 5, lateBatches: 0, batches: 1, maxLagMs: 0, lastLagMs: 0, lagToleranceMs: 1, eventsRun: 1, wakeups: 1, timerWakeups: 0, pollBackoffs: 0, warmUp: { frames: 4800, ms: 120, udpDatagrams: 800, udpGsoWrites: 100 } },
      captures: { enabled: false, frames: 0, drops: 0, paths: [] },
      control: { managementHosts: [], takeovers: 0, failovers: 0, faultsInjected: {}, faultsRecovered: {} },
      hosts: [host, { ...host, name: 'h2', attach: 'builtin', netns: null, offloads: null }],
    };
    const [l1, l2] = formatRackStatus(s).split('\n').filter((l) => /^ {2}h\d/.test(l));
    expect(l1).toContain('  tso 450 fr from 10 reads  gro 800 fr in 20 writes  udp-gso 90 dg in 3 writes  bad-csum-to-kernel 2');
    expect(l2).not.toMatch(/tso|gro|udp-gso|bad-csum/);
    const zero = formatRackStatus({ ...s, hosts: [{ ...host, offloads: { tsoReads: 0, tsoFrames: 0, groWrites: 0, groFrames: 0, udpGsoWrites: 0, udpGsoFrames: 0, udpGsoUnsupported: 0, badChecksumToKernel: 0 } }] });
    expect(zero).not.toMatch(/tso|gro |udp-gso|bad-csum/);
  });

  it('a rack on the ntb-netdev driver reports its queue stops, timer restarts and copies; EOP racks have none', () => {
    const text = ['name: ntb', 'hosts: [a, b]', 'eop: {driver: ntb-netdev}', 'captures: {enabled: false}', 'traffic:', '  - {kind: udp, from: a, to: b, messageBytes: 1000, count: 200}'].join('\n');
    const r = buildReport(runTopology(parseTopologyText(text, 'ntb.yaml')));
    const a = r.interfaces.find((i) => i.host === 'a')!.ntbNetdev!;
    const b = r.interfaces.find((i) => i.host === 'b')!.ntbNetdev!;
    // Small frames fill the 15 entries faster than they drain: the queue stops, the timer restarts it.
    expect(a.queueStops).toBeGreaterThan(0);
    expect(a.wakesByTimer + a.wakesByCompletion).toBeGreaterThan(0);
    expect(a.stoppedUs).toBeGreaterThan(0);
    expect(a.txMemcpy + a.txAsync).toBe(r.queuePairs.find((q) => q.host === 'a')!.txFrames);
    expect(b.rxMemcpy + b.rxAsync).toBeGreaterThan(0);
    expect(formatReport(r)).toContain('ntb_netdev (Linux driver profile');
    expect(rep.interfaces.every((i) => i.ntbNetdev === null)).toBe(true);
    expect(formatReport(rep)).not.toContain('ntb_netdev');
  });
});
