/**
 * The rack assembly helpers (src/topology/install.ts): ports wrapped in install order, captures as a wrapper
 * around a port, and the file's traffic started the same way in virtual time and under the live
 * runner.
 */
import { describe, expect, it } from 'vitest';
import { CapturePort, type FrameRecorder } from '../src/capture/capture-port.js';
import type { FramePort } from '../src/eop/frame-port.js';
import { HostPorts, installStacks, installTraffic, trafficDone } from '../src/topology/install.js';
import { runTopology } from '../src/run/run-rack.js';
import { LiveRunner, type WallClock } from '../src/time/live-runner.js';
import { rackSpecFromTopology } from '../src/topology/build.js';
import { parseTopology } from '../src/topology/load.js';
import { Rack } from '../src/topology/rack.js';
import type { Topology } from '../src/topology/schema.js';

class Recorder implements FrameRecorder {
  readonly frames: { t: number; dir: string | undefined; len: number }[] = [];
  write(timeNs: number, frame: Uint8Array, direction?: 'in' | 'out'): void {
    this.frames.push({ t: timeNs, dir: direction, len: frame.length });
  }
}

const TRAFFIC = [
  { kind: 'ping', from: 'h1', to: 'h2', count: 3, intervalUs: 20 },
  { kind: 'ping', from: 'h2', to: 'h3', count: 2, ipv6: true },
  { kind: 'udp', from: 'h3', to: 'h1', dstPort: 5001, messageBytes: 1000, count: 40, startUs: 10 },
];

function topology(hosts: unknown[] = ['h1', 'h2', 'h3'], traffic: unknown[] = TRAFFIC): Topology {
  return parseTopology({ name: 't', hosts, captures: { enabled: false }, traffic }, '<test>');
}

function booted(topo: Topology): { rack: Rack; ports: HostPorts } {
  const rack = new Rack(rackSpecFromTopology(topo));
  return { rack, ports: new HostPorts(rack) };
}

describe('HostPorts', () => {
  it('wraps in install order (first installed is innermost) and refuses a wrapper after the endpoint', () => {
    const { rack, ports } = booted(topology());
    const order: string[] = [];
    const tag =
      (name: string) =>
      (inner: FramePort): FramePort => ({
        name: inner.name,
        mac: inner.mac,
        mtu: inner.mtu,
        transmit: (f, m) => (order.push(name), inner.transmit(f, m)),
        txSpace: (d) => inner.txSpace(d),
        anyPeerUp: () => inner.anyPeerUp(),
        onTxDrained: (fn) => inner.onTxDrained(fn),
        setReceiver: (fn) => inner.setReceiver(fn),
      });
    ports.wrap('h1', tag('inner'));
    ports.wrap('h1', tag('outer'));
    const p = ports.take('h1');
    p.transmit(new Uint8Array(60));
    expect(order).toEqual(['outer', 'inner']);
    expect(() => ports.wrap('h1', tag('late'))).toThrow(/after the endpoint/);
    expect(() => ports.take('mh')).toThrow(/no EOP interface/);
    expect([...ports.hosts()]).toEqual(rack.nics.map((n) => n.host.name));
  });
});

describe('CapturePort', () => {
  it('records accepted transmits as out and every delivered frame as in, stamped by the given clock', () => {
    const topo = topology(['h1', 'h2'], [{ kind: 'ping', from: 'h1', to: 'h2', count: 2 }]);
    const { rack, ports } = booted(topo);
    const rec = { h1: new Recorder(), h2: new Recorder() };
    for (const h of ['h1', 'h2'] as const) ports.wrap(h, (inner) => new CapturePort(inner, rec[h], () => 1e12 + rack.sched.now));
    const stacks = installStacks(rack, ports, topo.hosts);
    rack.boot();
    // A frame the interface refuses (too short) never reached the wire: not recorded.
    const h1Port = stacks.get('h1')!.port;
    expect(h1Port.transmit(new Uint8Array(10))).toBe(false);
    const runs = installTraffic(topo, stacks, rack.sched);
    rack.sched.run();
    expect(runs.pings[0]!.pinger.result).toMatchObject({ sent: 2, received: 2 });
    const nic1 = rack.nic('h1');
    const nic2 = rack.nic('h2');
    // ARP request + 2 echo requests out of h1; ARP reply + 2 echo replies in.
    expect(rec.h1.frames.filter((f) => f.dir === 'out')).toHaveLength(nic1.c.txFrames);
    expect(rec.h1.frames.filter((f) => f.dir === 'in')).toHaveLength(nic1.c.rxFrames);
    expect(rec.h2.frames.filter((f) => f.dir === 'in')).toHaveLength(nic2.c.rxFrames);
    expect(nic1.c.txFrames).toBe(3);
    expect(rec.h1.frames.every((f) => f.len >= 42 && f.t >= 1e12)).toBe(true);
  });

  it('captures what is delivered even with nothing attached on top', () => {
    const topo = topology(['h1', 'h2'], []);
    const { rack, ports } = booted(topo);
    const rec = new Recorder();
    ports.wrap('h2', (inner) => new CapturePort(inner, rec, () => rack.sched.now));
    rack.boot();
    const f = new Uint8Array(60);
    f.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0xe0, 0, 0, 0, 1, 0x88, 0xb5]);
    expect(rack.nic('h1').transmit(f)).toBe(true);
    rack.sched.run();
    expect(rec.frames).toEqual([{ t: expect.any(Number), dir: 'in', len: 60 }]);
  });
});

class FakeClock implements WallClock {
  t = 5_000_000;
  nowNs(): number {
    return this.t;
  }
}

describe('installTraffic', () => {
  it('gives the same results under the live runner as in virtual time', () => {
    const topo = topology();
    const virtual = runTopology(topo);
    expect(virtual.finished).toBe(true);

    const { rack, ports } = booted(topo);
    const stacks = installStacks(rack, ports, topo.hosts);
    rack.boot();
    const runs = installTraffic(topo, stacks, rack.sched);
    const clock = new FakeClock();
    const live = new LiveRunner(rack.sched, clock, 1e9);
    live.start();
    try {
      // The wall clock advances 1 µs at a time; the runner runs whatever is due.
      for (let i = 0; i < 100_000 && !trafficDone(runs); i++) {
        clock.t += 1_000;
        live.syncNow();
      }
    } finally {
      live.stop();
    }
    expect(trafficDone(runs)).toBe(true);
    const rtts = (ps: typeof runs.pings): number[][] => ps.map((p) => p.pinger.result!.rttsNs);
    expect(rtts(runs.pings)).toEqual(rtts(virtual.pings));
    expect(rtts(runs.pings).flat().length).toBe(5);
    const flow = (s: (typeof runs.streams)[number]) => s.dstStack!.sinkStats(topo.hosts[2]!.ipv4.addr, s.stream.stats.srcPort);
    expect(flow(runs.streams[0]!)).toMatchObject({ received: 40, corrupt: 0 });
    expect(flow(runs.streams[0]!)?.lastRxNs).toBe(flow(virtual.streams[0]!)?.lastRxNs);
  });

  it('starts nothing from a host without the built-in stack and says why; traffic to it has no sink', () => {
    const topo = topology(['h1', { name: 'h2', attach: 'tap' }], [
      { kind: 'ping', from: 'h2', to: 'h1', count: 1 },
      { kind: 'udp', from: 'h1', to: 'h2', count: 1, messageBytes: 100 },
    ]);
    const { rack, ports } = booted(topo);
    const stacks = installStacks(rack, ports, topo.hosts.filter((h) => h.attach !== 'tap'));
    const runs = installTraffic(topo, stacks, rack.sched);
    expect(runs.pings).toHaveLength(0);
    expect(runs.skipped).toHaveLength(1);
    expect(runs.skipped[0]!.reason).toMatch(/h2 does not run the built-in stack/);
    expect(runs.streams).toHaveLength(1);
    expect(runs.streams[0]!.dstStack).toBeNull();
  });
});
