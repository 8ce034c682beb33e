/**
 * Queue pairs open on first use (issue 9, scale): boot negotiates nothing; the first frame to a peer
 * (or a flood, or an ARP answered by the responder for that peer) opens the pair at both ends, and
 * that frame waits for the link setup the model says it costs.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../src/errors.js';
import { runTopology } from '../src/run/run-rack.js';
import { parseTopology } from '../src/topology/load.js';
import { BCAST, MAC, rawFrame } from './helpers/raw-frame.js';
import { bootedRack } from './helpers/rack.js';

const lazy = (n: number, eop = {}) => bootedRack(n, { openQueuePairs: false, eop });
const opened = (rack: ReturnType<typeof lazy>, name: string): string[] =>
  rack.nic(name).qps.filter((q) => q !== undefined).map((q) => q.peerName);

describe('queue pairs open on first use', () => {
  it('boot opens none: every interface knows its peers are up, no queue pair, ring or receive page exists', () => {
    const rack = lazy(4);
    for (const nic of rack.nics) {
      expect(nic.qps.filter(Boolean)).toEqual([]);
      for (const other of rack.nics) if (other !== nic) expect(nic.knowsPeerUp(other.host.index)).toBe(true);
    }
    // Boot is the management plane telling every interface about the others (controlLatencyNs), nothing per pair.
    expect(rack.bootedAt).toBeLessThanOrEqual(2 * rack.spec.eop.controlLatencyNs);
  });

  it('a 64-host rack boots without a single queue pair', () => {
    const rack = lazy(64);
    expect(rack.nics.reduce((a, n) => a + n.qps.filter(Boolean).length, 0)).toBe(0);
    expect(rack.nics.every((n) => n.anyPeerUp())).toBe(true);
  });

  it('a broadcast opens the sender’s pairs with every peer (both ends), and nothing between the others', () => {
    const rack = lazy(4);
    const got = [2, 3, 4].map((i) => {
      const fs: Uint8Array[] = [];
      rack.nic(`h${i}`).setReceiver((f) => fs.push(f.slice()));
      return fs;
    });
    const f = rawFrame(BCAST, MAC[1]!, 60, 7);
    expect(rack.nic('h1').transmit(f)).toBe(true);
    // Opened at once, negotiating: the frame waits in each queue.
    expect(rack.nic('h1').qps.filter(Boolean).map((q) => q!.state)).toEqual(['negotiating', 'negotiating', 'negotiating']);
    rack.sched.run();
    for (const fs of got) expect(fs).toEqual([f]);
    expect(opened(rack, 'h1')).toEqual(['h2', 'h3', 'h4']);
    for (const n of ['h2', 'h3', 'h4']) expect(opened(rack, n)).toEqual(['h1']);
    expect(rack.nic('h1').c.qpOpened).toBe(3);
    expect(rack.nics.slice(1).map((n) => n.c.qpAccepted)).toEqual([1, 1, 1]);
    for (const n of rack.nics) for (const q of n.qps) if (q) expect(q.state).toBe('up');
  });

  it('the first frame between two hosts pays the modelled setup, later frames do not', () => {
    const rack = lazy(2);
    const h1 = rack.nic('h1');
    const h2 = rack.nic('h2');
    const arrivals: number[] = [];
    h2.setReceiver(() => arrivals.push(rack.sched.now));
    const send = (): number => {
      const t0 = rack.sched.now;
      expect(h1.transmit(rawFrame(MAC[2]!, MAC[1]!, 200))).toBe(true);
      rack.sched.run();
      return arrivals[arrivals.length - 1]! - t0;
    };
    const first = send();
    const second = send();
    const qp = h1.qp(2)!;
    const setupNs = qp.upAtNs - qp.openedAtNs;
    // The setup is made of its mechanism: h1 reads h2's scratchpads, h2 reads h1's (after its
    // LINK doorbell), h1 reads h2's again (after its own): three round trips across the fabric at least.
    expect(setupNs).toBeGreaterThan(3 * rack.fabric.readRoundTripNs(h1.host, h2.host));
    // The first frame waited exactly that long in its queue, then went as any other.
    expect(first).toBeCloseTo(setupNs + second, 6);
    expect(first - second).toBeGreaterThan(1000);
  });

  it('a pair whose negotiation fails drops the frames that waited on it (counted); the flood still reaches the others', () => {
    const rack = bootedRack(3, { openQueuePairs: false, perHost: (i) => (i === 2 ? { eop: { version: 9 } } : {}) });
    const got3: Uint8Array[] = [];
    rack.nic('h3').setReceiver((f) => got3.push(f));
    expect(rack.nic('h1').transmit(rawFrame(BCAST, MAC[1]!, 60))).toBe(true);
    rack.sched.run();
    expect(rack.nic('h1').qp(2)!.state).toBe('mismatch');
    expect(rack.nic('h1').qp(2)!.c.txLinkDownDrops).toBe(1);
    expect(rack.nic('h1').drops.get(ErrorCode.EOP_LINK_DOWN)).toBe(1);
    expect(got3).toHaveLength(1);
  });

  it('with the ARP responder, a ping opens only the pair that talks', () => {
    const topo = parseTopology(
      { hosts: ['a', 'b', 'c', 'd'], captures: { enabled: false }, eop: { arpResponder: true }, traffic: [{ kind: 'ping', from: 'a', to: 'b', count: 3 }] },
      'lazy',
    );
    const r = runTopology(topo, { captures: false });
    expect(r.pings[0]!.pinger.result).toMatchObject({ sent: 3, received: 3 });
    const pairs = r.rack.nics.flatMap((n) => n.qps.filter((q) => q !== undefined).map((q) => `${n.host.name}-${q.peerName}`));
    expect(pairs).toEqual(['a-b', 'b-a']);
    // The first request waited for the setup: its round trip is longer than the others' by about that much.
    const [first, ...rest] = r.pings[0]!.pinger.result!.rttsNs;
    const setupNs = r.rack.nic('a').qp(r.rack.host('b').index)!.upAtNs - r.rack.nic('a').qp(r.rack.host('b').index)!.openedAtNs;
    for (const rtt of rest) expect(first! - rtt).toBeGreaterThan(setupNs * 0.5);
  });
});
