/**
 * Links are shared fairly between flows: two streams through one bottleneck direction each get
 * about half of it, whether they meet on the receiver's down-link or the sender's up-link.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_EOP } from '../src/eop/eop-nic.js';
import { effectiveWriteGbps, DEFAULT_LINK } from '../src/pcie/link.js';
import { Rack, rackSpec, type HostSpec } from '../src/topology/rack.js';
import { MAC, rawFrame } from './helpers/raw-frame.js';

const mac = (i: number): number => MAC[i]!;


/** Offer `n` frames from `from` to `to` as fast as the NIC takes them. */
function stream(rack: Rack, from: number, to: number, n: number, len: number): void {
  const nic = rack.nic(`h${from}`);
  const f = rawFrame(mac(to), mac(from), len);
  let sent = 0;
  const pump = (): void => {
    let room = nic.txSpace(mac(to));
    while (room-- > 0 && sent < n) if (nic.transmit(f)) sent++;
    if (sent < n) nic.onTxDrained(pump);
  };
  pump();
}

function build(slow: Record<number, boolean>): Rack {
  const hosts: HostSpec[] = [{ name: 'mh', mac: 0, management: true }];
  for (let i = 1; i <= 3; i++) {
    hosts.push({ name: `h${i}`, mac: mac(i), ...(slow[i] ? { link: { gen: 1, width: 1 } } : {}) });
  }
  const rack = new Rack(rackSpec(hosts, { eop: { ...DEFAULT_EOP } }));
  rack.boot();
  // Teach every NIC every MAC (one broadcast each), so the streams are unicast.
  for (let i = 1; i <= 3; i++) rack.nic(`h${i}`).transmit(rawFrame(0xffffffffffff, mac(i), 60));
  rack.sched.run();
  return rack;
}

/** Arrival times at `at`, per source host. */
function meter(rack: Rack, at: string): Map<number, number[]> {
  const seen = new Map<number, number[]>();
  rack.nic(at).setReceiver((f) => {
    const src = f[11]!;
    let a = seen.get(src);
    if (!a) seen.set(src, (a = []));
    a.push(rack.sched.now);
  });
  return seen;
}

function rateGbps(times: number[], lo: number, hi: number, len: number): number {
  const n = times.filter((t) => t >= lo && t < hi).length;
  return (n * len * 8) / (hi - lo);
}

/** Up to (and including) the last arrival of the stream that ends first. */
function bothActiveUntil(a: number[], b: number[]): number {
  return Math.min(a[a.length - 1]!, b[b.length - 1]!) + 1;
}

describe('fair sharing of a link', () => {
  // Gen1 x1, MPS 256, 4-DW headers upstream: 2.5 × 0.8 × 1 = 2 Gb/s of data; × 1534/1538 (SKP)
  // × 256/280 = 1.824 Gb/s of memory writes at best (one way; link.ts).
  const limit = effectiveWriteGbps({ ...DEFAULT_LINK, gen: 1, width: 1 });

  it('two senders into one slow receiver get about half each', () => {
    const rack = build({ 3: true });
    const got = meter(rack, 'h3');
    const t0 = rack.sched.now;
    stream(rack, 1, 3, 600, 1514);
    stream(rack, 2, 3, 600, 1514);
    rack.sched.run();
    // Measure while both are active: until the first stream ends. (Frames arrive in batches of up
    // to 20 per interrupt, ~270 µs apart here, so a window of a few batches would measure batching.)
    const end = bothActiveUntil(got.get(1)!, got.get(2)!);
    const a = rateGbps(got.get(1)!, t0, end, 1514);
    const b = rateGbps(got.get(2)!, t0, end, 1514);
    expect(a + b).toBeGreaterThan(0.85 * limit);
    expect(a + b).toBeLessThanOrEqual(limit * 1.01);
    expect(Math.abs(a - b) / (a + b)).toBeLessThan(0.1);
  });

  it('one slow sender with two flows splits its up-link between them', () => {
    const rack = build({ 1: true });
    const got2 = meter(rack, 'h2');
    const got3 = meter(rack, 'h3');
    const t0 = rack.sched.now;
    stream(rack, 1, 2, 600, 1514);
    stream(rack, 1, 3, 600, 1514);
    rack.sched.run();
    const end = bothActiveUntil(got2.get(1)!, got3.get(1)!);
    const a = rateGbps(got2.get(1)!, t0, end, 1514);
    const b = rateGbps(got3.get(1)!, t0, end, 1514);
    expect(a + b).toBeGreaterThan(0.85 * limit);
    expect(Math.abs(a - b) / (a + b)).toBeLessThan(0.1);
  });
});
